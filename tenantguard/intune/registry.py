"""The Intune type registry: every supported type, looked up by key, collection or object.

The types themselves live in ``tenantguard.intune.types``, one module per family (each defines
``FAMILY``, a ``TypeFamily``); this module discovers them, checks that they fit together, and
answers the questions capture, normalize, the restore engine and the emulator ask. The
vocabulary of a type (``PolicyType`` and friends) is in ``typespec`` and re-exported here.

Graph facts used by the types are in ``../shared/reference/graph-intune.md``.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any, Final

from tenantguard.intune import types as _types_package
from tenantguard.intune.typespec import (
    BUILTIN_SCOPE_TAG_ID,
    COMMON_READ_ONLY_FIELDS,
    EMPTY_GUID,
    ODATA_PREFIX,
    PERMISSION_APPS,
    PERMISSION_CONFIGURATION,
    PERMISSION_RBAC,
    PERMISSION_SERVICE_CONFIG,
    AssignContract,
    AssignSpec,
    CollectionRules,
    FetchKind,
    FoundationKey,
    FoundationRef,
    ListParams,
    PerItemFetch,
    Platform,
    PlatformRule,
    PolicyType,
    PropertyPrefix,
    RestoreMode,
    SortRule,
    TypeFamily,
    WriteMethod,
    _odata_type_of,
    odata,
)


class TypeModuleError(ImportError):
    """A module of ``tenantguard.intune.types`` that does not describe a family correctly; the
    message names the module and what to fix."""


def _load_families() -> tuple[TypeFamily, ...]:
    families: list[TypeFamily] = []
    for info in pkgutil.iter_modules(_types_package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_types_package.__name__}.{info.name}")
        family = getattr(module, "FAMILY", None)
        if not isinstance(family, TypeFamily):
            raise TypeModuleError(
                f"tenantguard.intune.types.{info.name} defines no FAMILY = TypeFamily(...); "
                "every module of that package describes one family of Intune types."
            )
        families.append(dataclasses.replace(family, name=info.name))
    families.sort(key=lambda family: (family.order, family.name))
    _check_families(families)
    return tuple(families)


def _check_families(families: list[TypeFamily]) -> None:
    """Keys and collections are unique; every type's collection has Graph rules."""
    keys: dict[str, str] = {}
    collections: dict[str, str] = {}
    for family in families:
        for rules in family.collections:
            if rules.collection in collections:
                raise TypeModuleError(
                    f"Collection {rules.collection} is described by both the "
                    f"{collections[rules.collection]} and the {family.name} type modules; "
                    "describe it in one."
                )
            collections[rules.collection] = family.name
        for ptype in family.types:
            if ptype.key in keys or ptype.key == "unsupported":
                raise TypeModuleError(
                    f"Type key {ptype.key!r} of the {family.name} type module is already used "
                    f"by {keys.get(ptype.key, 'the registry')}; choose another key."
                )
            keys[ptype.key] = family.name
    for family in families:
        for ptype in family.types:
            if ptype.parent is not None and ptype.parent.collection in collections:
                continue  # nested: served as a navigation of its parent collection
            if ptype.collection not in collections:
                raise TypeModuleError(
                    f"Type {ptype.key!r} ({family.name}) lives in {ptype.collection}, which no "
                    "type module describes with CollectionRules; add them to its family."
                )


FAMILIES: Final[tuple[TypeFamily, ...]] = _load_families()
_TYPES: tuple[PolicyType, ...] = tuple(ptype for family in FAMILIES for ptype in family.types)

UNSUPPORTED: Final = PolicyType(
    key="unsupported",
    label="Unsupported objects",
    category="Unsupported",
    collection="",
    assign=None,
    scope_tag_property="roleScopeTagIds",
    foundation_refs=(),
    per_item_fetch=(),
    restore_mode="preview-only",
    preview_only_reason=(
        "TenantGuard does not know this kind of object, so it backs it up and shows it but never "
        "writes it; recreate it in the admin center if you need it."
    ),
    description="Objects of a type TenantGuard does not know how to restore: preview only.",
)

POLICY_TYPES: Final[dict[str, PolicyType]] = {ptype.key: ptype for ptype in _TYPES}

# The platform an @odata.type implies, by lower-case prefix of the name after
# "#microsoft.graph." (first match wins; more specific prefixes first).
_ODATA_PLATFORM_PREFIXES: Final[tuple[tuple[str, Platform], ...]] = (
    ("windows", "windows"),
    ("win32", "windows"),
    ("editionupgrade", "windows"),
    ("sharedpc", "windows"),
    ("azureadwindowsautopilot", "windows"),
    ("activedirectorywindowsautopilot", "windows"),
    ("macos", "macOS"),
    ("ios", "iOS"),
    ("android", "android"),
    ("aosp", "android"),
)

# Values of settings catalog ``platforms`` / filter ``platform`` (lower-case prefix match).
_PROPERTY_PLATFORM_PREFIXES: Final[tuple[tuple[str, Platform], ...]] = (
    ("windows", "windows"),
    ("macos", "macOS"),
    ("ios", "iOS"),
    ("android", "android"),
    ("aosp", "android"),
    ("linux", "linux"),
)


def get(key: str) -> PolicyType:
    """The type registered under ``key`` (``"unsupported"`` gives ``UNSUPPORTED``)."""
    if key == UNSUPPORTED.key:
        return UNSUPPORTED
    try:
        return POLICY_TYPES[key]
    except KeyError:
        known = ", ".join(sorted(POLICY_TYPES))
        raise KeyError(f"Unknown policy type {key!r}; known types: {known}") from None


def collection_rules() -> list[CollectionRules]:
    """Graph's rules for every Intune collection a type module describes (family order)."""
    return [rules for family in FAMILIES for rules in family.collections]


def builtin_objects() -> list[tuple[str, dict[str, Any]]]:
    """``(collection, object)`` every fresh tenant holds before anything is created."""
    return [entry for family in FAMILIES for entry in family.builtin_objects]


def list_identity_keys() -> tuple[str, ...]:
    """Every type's list identity properties, in registry order, once each (for diffs that do
    not know the type of what they compare)."""
    keys: list[str] = []
    for ptype in _TYPES:
        for key in ptype.list_identities:
            if key not in keys:
                keys.append(key)
    return tuple(keys)


def foundations() -> list[PolicyType]:
    """Foundation types in restore order (scope tags, filters, notification templates)."""
    return [ptype for ptype in _TYPES if ptype.is_foundation]


def policies() -> list[PolicyType]:
    """Non-foundation types in registry order (preview-only ones included)."""
    return [ptype for ptype in _TYPES if not ptype.is_foundation]


def all_types() -> list[PolicyType]:
    """Every registered type, foundations first (the capture and restore order)."""
    return [*foundations(), *policies()]


def types_for_collection(collection: str) -> list[PolicyType]:
    collection = collection.strip("/")
    return [ptype for ptype in _TYPES if ptype.collection == collection]


def unsupported_for(collection: str) -> PolicyType:
    """The fail-safe preview-only type for an object of ``collection`` (same ``key`` as
    ``UNSUPPORTED``; collection, API version and permissions taken from that collection)."""
    collection = collection.strip("/")
    siblings = types_for_collection(collection)
    if not siblings:
        return dataclasses.replace(UNSUPPORTED, collection=collection)
    sibling = siblings[0]
    return dataclasses.replace(
        UNSUPPORTED,
        collection=collection,
        api_version=sibling.api_version,
        required_permission=sibling.required_permission,
        write_permission=sibling.write_permission,
        scope_tag_property=sibling.scope_tag_property,
    )


def is_unsupported(ptype: PolicyType) -> bool:
    return ptype.key == UNSUPPORTED.key


def classify(collection: str, obj: Mapping[str, Any]) -> PolicyType:
    """The type of ``obj`` read from ``collection``; never raises.

    Types that list their ``@odata.type`` values (and discriminator) are tried first; a type
    with no ``odata_types`` takes whatever remains of its collection. An object nothing claims
    (unknown ``@odata.type``, unknown collection, not a dict) gets the preview-only
    ``UNSUPPORTED`` type for that collection.
    """
    candidates = types_for_collection(collection)
    if not isinstance(obj, Mapping):
        return unsupported_for(collection)
    specific = [ptype for ptype in candidates if ptype.odata_types]
    catch_all = [ptype for ptype in candidates if not ptype.odata_types]
    for ptype in (*specific, *catch_all):
        if ptype.matches(obj):
            return ptype
    return unsupported_for(collection)


def platform_of(ptype: PolicyType, obj: Mapping[str, Any]) -> Platform:
    """``windows`` / ``macOS`` / ``iOS`` / ``android`` / ``linux``, or ``all`` when unknown or
    several (settings catalog ``platforms`` is a flags value such as ``"windows10,macOS"``)."""
    rule = ptype.platform
    if rule.fixed is not None:
        return rule.fixed
    if rule.property is not None:
        value = obj.get(rule.property)
        if isinstance(value, str) and value:
            found = {
                _platform_by_prefix(part.strip(), _PROPERTY_PLATFORM_PREFIXES)
                for part in value.split(",")
                if part.strip()
            }
            found.discard(None)
            if len(found) == 1:
                return found.pop()  # type: ignore[return-value]
            return "all"
    if rule.from_odata_type:
        odata_type = _odata_type_of(obj)
        if odata_type is not None:
            name = odata_type.removeprefix("#").removeprefix("microsoft.graph.")
            platform = _platform_by_prefix(name, _ODATA_PLATFORM_PREFIXES)
            if platform is not None:
                return platform
    return "all"


def _platform_by_prefix(value: str, table: tuple[tuple[str, Platform], ...]) -> Platform | None:
    lowered = value.lower()
    for prefix, platform in table:
        if lowered.startswith(prefix):
            return platform
    return None


def display_name_of(ptype: PolicyType, obj: Mapping[str, Any]) -> str:
    """The name an admin sees (``displayName``, settings catalog ``name``), never empty."""
    for key in (ptype.display_name_property, "displayName", "name"):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value
    object_id = obj.get("id")
    return f"(unnamed {ptype.label.lower()} {object_id})" if object_id else "(unnamed)"


def modified_at_of(ptype: PolicyType, obj: Mapping[str, Any]) -> str | None:
    if ptype.modified_property is None:
        return None
    value = obj.get(ptype.modified_property)
    return value if isinstance(value, str) and value else None


def scope_tag_ids_of(ptype: PolicyType, obj: Mapping[str, Any]) -> list[str]:
    """Scope tag ids held by ``obj`` (as strings, in Graph's order); ``[]`` when it has none."""
    if ptype.scope_tag_property is None:
        return []
    value = obj.get(ptype.scope_tag_property)
    if not isinstance(value, list):
        return []
    return [str(item) for item in value if item is not None and str(item) != ""]


__all__ = [
    "BUILTIN_SCOPE_TAG_ID",
    "COMMON_READ_ONLY_FIELDS",
    "EMPTY_GUID",
    "FAMILIES",
    "ODATA_PREFIX",
    "PERMISSION_APPS",
    "PERMISSION_CONFIGURATION",
    "PERMISSION_RBAC",
    "PERMISSION_SERVICE_CONFIG",
    "POLICY_TYPES",
    "UNSUPPORTED",
    "AssignContract",
    "AssignSpec",
    "CollectionRules",
    "FetchKind",
    "FoundationKey",
    "FoundationRef",
    "ListParams",
    "PerItemFetch",
    "Platform",
    "PlatformRule",
    "PolicyType",
    "PropertyPrefix",
    "RestoreMode",
    "SortRule",
    "TypeFamily",
    "TypeModuleError",
    "WriteMethod",
    "all_types",
    "builtin_objects",
    "classify",
    "collection_rules",
    "display_name_of",
    "foundations",
    "get",
    "is_unsupported",
    "list_identity_keys",
    "modified_at_of",
    "odata",
    "platform_of",
    "policies",
    "scope_tag_ids_of",
    "types_for_collection",
    "unsupported_for",
]
