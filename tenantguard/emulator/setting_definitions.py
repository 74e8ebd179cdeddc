"""Settings catalog setting definitions: ``deviceManagement/configurationSettings``,
``complianceSettings``, ``reusableSettings``.

Graph describes every setting a settings catalog policy (configuration, endpoint security,
compliance, reusable setting) can hold by a ``deviceManagementConfigurationSettingDefinition``
(choice, simple, group, and their collection forms), served read-only under
``/beta/deviceManagement/configurationSettings`` (compliance ones under ``complianceSettings``,
reusable ones under ``reusableSettings``) and, per policy setting, by
``…/settings?$expand=settingDefinitions``. Microsoft's catalogue is the same in every tenant.

The emulator learns its catalogue from the settings it holds (as ``GroupPolicyCatalog`` does
for administrative templates): each setting instance gives the definition's kind (its
``@odata.type``), the choice options seen (``choiceSettingValue.value``), the value type of a
simple setting, and its children (group children, option children). The packaged demo seed is
learnt once per process: it is the emulator's built-in part of Microsoft's catalogue, served in
every tenant. Names and descriptions come from ``data/setting_definitions.json`` (the names the
Intune admin center shows); an id the file does not hold gets a name derived from the id
(README.md, "Setting definitions").

Memory: one shared ``_Definition`` record per id for the whole process (a few hundred), each
tenant keeps only the set of ids its own objects name (``TenantDefinitions``).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from tenantguard.emulator.errors import EmulatorHTTPError, no_route
from tenantguard.emulator.odata import (
    ExpandTree,
    apply_select,
    decode_skiptoken,
    encode_skiptoken,
    parse_filter,
    parse_select,
)
from tenantguard.emulator.resources import BY_COLLECTION, RESOURCES

if TYPE_CHECKING:  # messages imports tenant, which imports this module
    from tenantguard.emulator.messages import GraphRequest, GraphResponse, Segment

#: The definition collections (lower-case segment -> (collection, the ``settingUsage`` of the
#: definitions it holds)): settings catalog and endpoint security settings, compliance
#: settings catalog settings, reusable settings (firewall address objects, scripts).
COLLECTIONS: dict[str, tuple[str, str]] = {
    "configurationsettings": ("deviceManagement/configurationSettings", "configuration"),
    "compliancesettings": ("deviceManagement/complianceSettings", "compliance"),
    "reusablesettings": ("deviceManagement/reusableSettings", "reusableSetting"),
}
DATA_FILE = Path(__file__).parent / "data" / "setting_definitions.json"
DEMO_SEED = Path(__file__).parent / "seeds" / "demo"
EXPAND_NAME = "settingDefinitions"
#: Collections whose objects hold setting instances (trait names in ``resources``).
TRAITS = frozenset({"settings_catalog", "reusable_settings"})
#: Page size of the list (emulator's choice: Graph documents none) and the most ``$top`` gives.
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_GRAPH = "#microsoft.graph.deviceManagementConfiguration"
#: Setting instance ``@odata.type`` -> definition kind.
INSTANCE_KINDS: dict[str, str] = {
    f"{_GRAPH}ChoiceSettingInstance": "choice",
    f"{_GRAPH}ChoiceSettingCollectionInstance": "choiceCollection",
    f"{_GRAPH}SimpleSettingInstance": "simple",
    f"{_GRAPH}SimpleSettingCollectionInstance": "simpleCollection",
    f"{_GRAPH}GroupSettingInstance": "group",
    f"{_GRAPH}GroupSettingCollectionInstance": "groupCollection",
}
#: Category collections (lower-case segment -> (collection, the usages of the definitions whose
#: categories it lists)); reusable settings have no category collection of their own.
CATEGORY_COLLECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "configurationcategories": (
        "deviceManagement/configurationCategories",
        ("configuration", "reusableSetting"),
    ),
    "compliancecategories": ("deviceManagement/complianceCategories", ("compliance",)),
}
CATEGORY_SEPARATOR = " > "
#: Definition kind -> the definition's ``@odata.type``.
DEFINITION_TYPES: dict[str, str] = {
    "choice": f"{_GRAPH}ChoiceSettingDefinition",
    "choiceCollection": f"{_GRAPH}ChoiceSettingCollectionDefinition",
    "simple": f"{_GRAPH}SimpleSettingDefinition",
    "simpleCollection": f"{_GRAPH}SimpleSettingCollectionDefinition",
    "group": f"{_GRAPH}SettingGroupDefinition",
    "groupCollection": f"{_GRAPH}SettingGroupCollectionDefinition",
}
_COLLECTION_KINDS = frozenset({"choiceCollection", "simpleCollection", "groupCollection"})
_INTEGER = f"{_GRAPH}IntegerSettingValue"
_STRING = f"{_GRAPH}StringSettingValue"
_SECRET = f"{_GRAPH}SecretSettingValue"
_REFERENCE = f"{_GRAPH}ReferenceSettingValue"


# --- curated names ---------------------------------------------------------------------


@cache
def curated() -> dict[str, dict[str, Any]]:
    """``{definition id: {displayName, description, category, options?: {itemId:
    {displayName, description?}}}}`` from the packaged data file (read once)."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    settings: dict[str, dict[str, Any]] = data["settings"]
    return settings


_POLICY_PREFIXES = (
    ("device_vendor_msft_policy_config_", "./Device/Vendor/MSFT/Policy"),
    ("user_vendor_msft_policy_config_", "./User/Vendor/MSFT/Policy"),
)
_CSP_PREFIXES = (
    ("device_vendor_msft_", "./Device/Vendor/MSFT/"),
    ("user_vendor_msft_", "./User/Vendor/MSFT/"),
    ("vendor_msft_", "./Vendor/MSFT/"),
)


def _last_segment(definition_id: str) -> str:
    """The part of an id that names the setting itself: after the last ``~`` (ADMX-backed
    ids), then after the last ``_`` (``com.apple.x_enablefirewall`` -> ``enablefirewall``)."""
    return definition_id.rsplit("~", 1)[-1].rsplit("_", 1)[-1]


def derived_display_name(definition_id: str) -> str:
    """A readable name for an id the data file does not hold: its last segment, split at
    ``.``, ``-`` and camel case, each word capitalized (``…_daysbeforeforcedquit`` gives
    "Daysbeforeforcedquit", ``…_updatedeadline.daysbeforeforcedquit`` "Updatedeadline
    Daysbeforeforcedquit"). Graph ids are lower case, so words run together: documented."""
    segment = _last_segment(definition_id).strip("{}$") or definition_id
    words = re.split(r"[.\-\s]+|(?<=[a-z])(?=[A-Z])", segment)
    return " ".join(word[:1].upper() + word[1:] for word in words if word) or definition_id


def _suffix(definition_id: str, item_id: str) -> str:
    """What an option's item id adds to its definition id (``<id>_1`` -> ``1``); for item ids
    of another form (``com.apple.extensiblesso_ignored_0``), their last ``_`` part."""
    if item_id.startswith(definition_id + "_"):
        return item_id[len(definition_id) + 1 :]
    return item_id.rsplit("_", 1)[-1]


def derived_option_name(definition_id: str, item_id: str) -> str:
    """``<id>_true`` -> "True", ``<id>_false`` -> "False", else the suffix as it is."""
    suffix = _suffix(definition_id, item_id)
    if suffix.lower() in ("true", "false"):
        return suffix.capitalize()
    return suffix


def _uris(definition_id: str) -> tuple[str, str]:
    """``baseUri`` and ``offsetUri`` derived from the id: the CSP node path, in lower case
    (Graph's are mixed case; the id is not, so these are the emulator's derivation)."""
    for prefix, base in _POLICY_PREFIXES:
        if definition_id.startswith(prefix):
            rest = definition_id[len(prefix) :]
            if "~" in rest:  # ADMX-backed: <app>~policy~<category path>_<policy>
                head, _, tail = rest.rpartition("_")
                return base, f"/Config/{head}/{tail}"
            area, _, tail = rest.partition("_")
            return base, f"/Config/{area}/{tail}"
    for prefix, base in _CSP_PREFIXES:
        if definition_id.startswith(prefix):
            csp, _, tail = definition_id[len(prefix) :].partition("_")
            return base + csp, "/" + tail.replace("_", "/")
    if definition_id.startswith("com."):
        domain, _, key = definition_id.partition("_")
        return domain, key
    return "", definition_id


def _platform(definition_id: str) -> tuple[str, str, str]:
    """(applicability ``@odata.type``, ``platform``, ``technologies``) from the id's family."""
    if definition_id.startswith("linux_"):
        return f"{_GRAPH}LinuxSettingApplicability", "linux", "linuxMdm"
    if definition_id.startswith("com."):
        return f"{_GRAPH}SettingApplicability", "macOS", "mdm,appleRemoteManagement"
    return f"{_GRAPH}WindowsSettingApplicability", "windows10", "mdm"


def category_path(definition_id: str) -> str:
    """The admin center's category path of a definition (``"Microsoft Edge > SmartScreen
    settings"``) from the data file; else derived: the CSP base URI or the id's first part."""
    names = curated().get(definition_id) or {}
    if names.get("category"):
        return str(names["category"])
    return _uris(definition_id)[0] or definition_id.split("_", 1)[0]


def category_id(category: str) -> str:
    """A stable id for a category path (Graph's category ids are GUIDs of its catalogue)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tenantguard-emulator:category:{category}"))


# --- the shared catalogue --------------------------------------------------------------


@dataclass
class _Definition:
    """What the emulator knows of one definition (shared by every tenant)."""

    kind: str
    value_type: str | None = None  # simple settings: the value's @odata.type
    options: dict[str, list[str]] = field(default_factory=dict)  # itemId -> child ids
    option_values: dict[str, Any] = field(default_factory=dict)  # itemId -> optionValue
    children: list[str] = field(default_factory=list)  # group children
    parent: str | None = None
    parent_option: str | None = None  # the option itemId this setting depends on
    usage: str = "configuration"


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


class SettingCatalog:
    """Microsoft's setting definitions as far as the emulator has seen them."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._definitions: dict[str, _Definition] = {}
        self._builtin: frozenset[str] | None = None

    # --- learning ----------------------------------------------------------------------

    def learn(self, obj: dict[str, Any], *, usage: str = "configuration") -> set[str]:
        """Learn every setting instance of a settings catalog policy (``settings[]``) or a
        reusable policy setting (``settingInstance``); returns the definition ids seen."""
        seen: set[str] = set()
        with self._lock:
            for setting in obj.get("settings") or []:
                if isinstance(setting, dict):
                    self._learn_instance(setting.get("settingInstance"), None, None, usage, seen)
            if isinstance(obj.get("settingInstance"), dict):
                self._learn_instance(obj["settingInstance"], None, None, "reusableSetting", seen)
        return seen

    def _learn_instance(
        self,
        instance: Any,
        parent: str | None,
        parent_option: str | None,
        usage: str,
        seen: set[str],
    ) -> None:
        if not isinstance(instance, dict):
            return
        definition_id = instance.get("settingDefinitionId")
        kind = INSTANCE_KINDS.get(str(instance.get("@odata.type", "")))
        if not isinstance(definition_id, str) or not definition_id or kind is None:
            return
        seen.add(definition_id)
        record = self._definitions.get(definition_id)
        if record is None:
            record = _Definition(kind=kind, parent=parent, parent_option=parent_option)
            record.usage = usage
            self._definitions[definition_id] = record
        if parent is not None:
            parent_record = self._definitions[parent]
            if parent_option is not None:
                _add(parent_record.options.setdefault(parent_option, []), definition_id)
            else:
                _add(parent_record.children, definition_id)
        choices = []
        if isinstance(instance.get("choiceSettingValue"), dict):
            choices.append(instance["choiceSettingValue"])
        choices += [c for c in instance.get("choiceSettingCollectionValue") or [] if c]
        for choice in choices:
            item_id = choice.get("value")
            if not isinstance(item_id, str) or not item_id:
                continue
            record.options.setdefault(item_id, [])
            for child in choice.get("children") or []:
                self._learn_instance(child, definition_id, item_id, usage, seen)
        values = [instance.get("simpleSettingValue")]
        values += list(instance.get("simpleSettingCollectionValue") or [])
        for value in values:
            if isinstance(value, dict) and value.get("@odata.type") and record.value_type is None:
                record.value_type = str(value["@odata.type"])
        groups = [instance.get("groupSettingValue")]
        groups += list(instance.get("groupSettingCollectionValue") or [])
        for group in groups:
            if isinstance(group, dict):
                for child in group.get("children") or []:
                    self._learn_instance(child, definition_id, None, usage, seen)

    def builtin_ids(self) -> frozenset[str]:
        """The definitions every tenant serves: the packaged demo seed's (learnt on first use,
        once per process)."""
        with self._lock:
            if self._builtin is None:
                # The data file names more ids (the corpus'): those are served where an
                # object names them, like any other.
                ids: set[str] = set()
                for obj, usage in _demo_seed_objects():
                    ids |= self.learn(obj, usage=usage)
                self._builtin = frozenset(ids)
            return self._builtin

    # --- rendering ---------------------------------------------------------------------

    def render(self, definition_id: str) -> dict[str, Any] | None:
        """The definition as Graph shows it, or None when the emulator never saw the id."""
        with self._lock:
            record = self._definitions.get(definition_id)
            if record is None:
                return None
            names = curated().get(definition_id) or {}
            return _render(definition_id, record, names, self._root(definition_id))

    def usage(self, definition_id: str) -> str | None:
        """The ``settingUsage`` of a known definition (which collection serves it)."""
        with self._lock:
            record = self._definitions.get(definition_id)
            return None if record is None else record.usage

    def _root(self, definition_id: str) -> str:
        current = definition_id
        for _ in range(32):  # guards a malformed cycle
            record = self._definitions.get(current)
            if record is None or record.parent is None:
                return current
            current = record.parent
        return current

    def tree_ids(self, instance: Any) -> list[str]:
        """The definition ids of a setting instance and all its nested children, in order
        (what ``$expand=settingDefinitions`` answers for one setting)."""
        ids: list[str] = []
        _walk_ids(instance, ids)
        return ids


def _walk_ids(instance: Any, ids: list[str]) -> None:
    if not isinstance(instance, dict):
        return
    definition_id = instance.get("settingDefinitionId")
    if isinstance(definition_id, str) and definition_id:
        _add(ids, definition_id)
    choices = [
        instance.get("choiceSettingValue"),
        *(instance.get("choiceSettingCollectionValue") or []),
    ]
    groups = [
        instance.get("groupSettingValue"),
        *(instance.get("groupSettingCollectionValue") or []),
    ]
    for value in (*choices, *groups):
        if isinstance(value, dict):
            for child in value.get("children") or []:
                _walk_ids(child, ids)


def _demo_seed_objects() -> Iterator[tuple[dict[str, Any], str]]:
    # Imported here: seed.py imports the type registry, which is heavier than this module.
    from tenantguard.emulator.seed import load_seed_dir

    for name in ("configurationPolicies", "compliancePolicies", "reusablePolicySettings"):
        folder = DEMO_SEED / "deviceManagement" / name
        if folder.is_dir():
            for collection, obj in load_seed_dir(folder):
                yield obj, usage_of(collection)


def usage_of(collection: str) -> str:
    """The ``settingUsage`` of the definitions a collection's objects name."""
    if collection.endswith("compliancePolicies"):
        return "compliance"
    if collection.endswith("reusablePolicySettings"):
        return "reusableSetting"
    return "configuration"


def _version(definition_id: str) -> str:
    """A stable version string (Graph's look like tick counts)."""
    digest = hashlib.sha256(definition_id.encode()).hexdigest()
    return str(638_000_000_000_000_000 + int(digest[:12], 16) % 10**15)


def _option_value(suffix: str) -> dict[str, Any]:
    """An option's value: an integer for a numeric suffix (CSP and ADMX-backed options), else
    the suffix as a string (``true``, ``block``)."""
    if suffix.isdigit():
        return {
            "@odata.type": _INTEGER,
            "settingValueTemplateReference": None,
            "value": int(suffix),
        }
    return {"@odata.type": _STRING, "settingValueTemplateReference": None, "value": suffix}


def _render(
    definition_id: str, record: _Definition, names: dict[str, Any], root: str
) -> dict[str, Any]:
    kind = record.kind
    base_uri, offset_uri = _uris(definition_id)
    applicability_type, platform, technologies = _platform(definition_id)
    applicability: dict[str, Any] = {
        "@odata.type": applicability_type,
        "description": None,
        "platform": platform,
        "deviceMode": "none",
        "technologies": technologies,
    }
    if platform == "windows10":
        applicability |= {
            "configurationServiceProviderVersion": "1.0",
            "maximumSupportedVersion": "10.0.99999.9999",
            "minimumSupportedVersion": "10.0.10240",
            "windowsSkus": [],
            "requiresAzureAd": False,
            "requiredAzureAdTrustType": "none",
        }
    category = str(names.get("category") or "")
    display_name = str(names.get("displayName") or derived_display_name(definition_id))
    description = str(names.get("description") or "")
    depends = []
    if record.parent is not None:
        depends = [
            {
                "dependentOn": record.parent_option or record.parent,
                "parentSettingId": record.parent,
            }
        ]
    ux = {"choice": "dropdown", "choiceCollection": "dropdown", "simple": "smallTextBox"}
    body: dict[str, Any] = {
        "@odata.type": DEFINITION_TYPES[kind],
        "id": definition_id,
        "name": _last_segment(definition_id),
        "displayName": display_name,
        "description": description,
        "helpText": description,
        "categoryId": category_id(category_path(definition_id)),
        "baseUri": base_uri,
        "offsetUri": offset_uri,
        "rootDefinitionId": root,
        "applicability": applicability,
        "accessTypes": "none" if kind.startswith("group") else "add,copy,delete,get,replace",
        "keywords": [w for w in (category, display_name) if w],
        "infoUrls": [],
        "occurrence": {
            "minDeviceOccurrence": 0,
            "maxDeviceOccurrence": 100 if kind in _COLLECTION_KINDS else 1,
        },
        "referredSettingInformationList": [],
        "settingUsage": record.usage,
        "uxBehavior": ux.get(kind, "default"),
        "version": _version(definition_id),
        "visibility": "settingsCatalog,template",
    }
    if kind in ("choice", "choiceCollection"):
        body |= _choice_properties(definition_id, record, names, depends)
    elif kind in ("simple", "simpleCollection"):
        body |= _simple_properties(record, depends)
    else:
        body["childIds"] = list(record.children)
        body["dependentOn"] = depends
        body["dependedOnBy"] = [{"dependedOnBy": c, "required": False} for c in record.children]
    if kind in _COLLECTION_KINDS:
        body["minimumCount"] = 0
        body["maximumCount"] = 600 if kind == "simpleCollection" else 100
    return body


def _choice_properties(
    definition_id: str, record: _Definition, names: dict[str, Any], depends: list[dict[str, Any]]
) -> dict[str, Any]:
    """``options`` (curated ones first, in the data file's order, then every other option
    seen) and ``defaultOptionId``. A choice setting has no ``dependentOn`` of its own: each
    of its options depends on the parent (its option, for an option's child)."""
    curated_options: dict[str, dict[str, Any]] = dict(names.get("options") or {})
    item_ids = list(curated_options)
    item_ids += sorted(i for i in record.options if i not in curated_options)
    options = []
    for item_id in item_ids:
        label = curated_options.get(item_id) or {}
        option_name = str(label.get("displayName") or derived_option_name(definition_id, item_id))
        suffix = _suffix(definition_id, item_id)
        children = record.options.get(item_id, [])
        options.append(
            {
                "itemId": item_id,
                "description": label.get("description"),
                "helpText": None,
                "name": option_name,
                "displayName": option_name,
                "optionValue": _option_value(suffix),
                "dependentOn": [dict(d) for d in depends],
                "dependedOnBy": [{"dependedOnBy": c, "required": True} for c in children],
            }
        )
    return {"defaultOptionId": item_ids[0] if item_ids else None, "options": options}


def _simple_properties(record: _Definition, depends: list[dict[str, Any]]) -> dict[str, Any]:
    value_type = record.value_type or _STRING
    value_definition: dict[str, Any]
    default: dict[str, Any]
    if value_type == _INTEGER:
        value_definition = {
            "@odata.type": f"{_GRAPH}IntegerSettingValueDefinition",
            "maximumValue": 2147483647,
            "minimumValue": 0,
        }
        default = {"@odata.type": _INTEGER, "settingValueTemplateReference": None, "value": 0}
    else:
        value_definition = {
            "@odata.type": f"{_GRAPH}StringSettingValueDefinition",
            "fileTypes": [],
            "format": "none",
            "inputValidationSchema": None,
            "isSecret": value_type == _SECRET,
            "maximumLength": 87516,
            "minimumLength": 0,
        }
        default = {"@odata.type": _STRING, "settingValueTemplateReference": None, "value": ""}
    if value_type == _REFERENCE:
        value_definition["format"] = "guid"  # the id of a reusable policy setting
    return {
        "defaultValue": default,
        "valueDefinition": value_definition,
        "dependentOn": depends,
        "dependedOnBy": [],
    }


CATALOG = SettingCatalog()


# --- per tenant ------------------------------------------------------------------------


class TenantDefinitions:
    """The definitions one tenant serves: the built-in ones plus those its own objects name
    (learnt on first use from its stored objects, then on every write). A tenant's custom
    definitions (its ADMX ingestions) are therefore served only in that tenant; the records
    themselves are shared (``CATALOG``), so a tenant costs one set of ids."""

    def __init__(self) -> None:
        self._served: frozenset[str] | None = None

    def forget(self) -> None:
        self._served = None

    def learn(self, obj: dict[str, Any], *, usage: str) -> None:
        if self._served is not None:  # before the first read, the first read scans the store
            seen = CATALOG.learn(obj, usage=usage)
            if not seen <= self._served:
                self._served = self._served | seen

    def ids(self, stored: Iterable[tuple[dict[str, Any], str]]) -> frozenset[str]:
        if self._served is None:
            own: set[str] = set()
            for obj, usage in stored:
                own |= CATALOG.learn(obj, usage=usage)
            self._served = CATALOG.builtin_ids() | own
        return self._served


def _tenant_ids(req: GraphRequest) -> frozenset[str]:
    return req.tenant.setting_definitions.ids(_stored_objects(req))


def _stored_objects(req: GraphRequest) -> Iterator[tuple[dict[str, Any], str]]:
    for spec in RESOURCES:
        if TRAITS & spec.traits:
            usage = usage_of(spec.collection)
            for obj in req.tenant.stored_list(spec):
                yield obj, usage


# --- requests --------------------------------------------------------------------------


def serves(segments: list[str]) -> bool:
    """Whether ``deviceManagement/<segments[0]>`` (lower case) is served here."""
    return bool(segments) and (segments[0] in COLLECTIONS or segments[0] in CATEGORY_COLLECTIONS)


def handle(req: GraphRequest, name: str, rest: list[Segment]) -> GraphResponse:
    """``GET deviceManagement/{name}`` (list) and ``…/{id}`` for the three definition
    collections (``COLLECTIONS``); anything else is answered like Intune answers a route it
    does not have (400)."""
    from tenantguard.emulator.permissions import authorize  # imports tenant, which imports us

    authorize(
        BY_COLLECTION["deviceManagement/configurationPolicies"],
        req.tenant,
        write=req.method != "GET",
    )
    if req.method != "GET" or len(rest) > 1:
        raise no_route(req.path)
    if name.lower() in CATEGORY_COLLECTIONS:
        return _categories(req, *CATEGORY_COLLECTIONS[name.lower()], rest)
    collection, usage = COLLECTIONS[name.lower()]
    if rest:
        return _get(req, collection, usage, rest[0].name)
    return _list(req, collection, usage)


def _categories(
    req: GraphRequest, collection: str, usages: tuple[str, ...], rest: list[Segment]
) -> GraphResponse:
    """``configurationCategories`` / ``complianceCategories``: the categories of the
    definitions the tenant serves, one per level of their category paths."""
    from tenantguard.emulator.messages import GraphResponse

    categories = category_tree(i for i in _tenant_ids(req) if CATALOG.usage(i) in usages)
    select = parse_select(req.option("select"))
    if rest:
        wanted = rest[0].name.casefold()
        found = next((c for c in categories if str(c["id"]).casefold() == wanted), None)
        if found is None:
            raise EmulatorHTTPError(
                404,
                "ResourceNotFound",
                f"No configuration category with id '{rest[0].name}' was found.",
                intune=True,
            )
        body = apply_select(found, select, {})
        return GraphResponse(200, {"@odata.context": req.context(f"{collection}/$entity"), **body})
    predicate = parse_filter(req.option("filter"))
    items = [c for c in categories if predicate is None or predicate(c)]
    fragment = collection + (f"({','.join(select)})" if select else "")
    return GraphResponse(
        200,
        {
            "@odata.context": req.context(fragment),
            "value": [apply_select(item, select, {}) for item in items],
        },
    )


def category_tree(definition_ids: Iterable[str]) -> list[dict[str, Any]]:
    """``deviceManagementConfigurationCategory`` objects for the category paths of
    ``definition_ids``: every level of each path, sorted by path; a level's parent and root are
    the levels before it (a root's are itself, the emulator's choice)."""
    by_path: dict[str, dict[str, Any]] = {}
    for definition_id in definition_ids:
        body = CATALOG.render(definition_id)
        if body is None:
            continue
        parts = category_path(definition_id).split(CATEGORY_SEPARATOR)
        root = category_id(parts[0])
        for depth in range(1, len(parts) + 1):
            path = CATEGORY_SEPARATOR.join(parts[:depth])
            parent = category_id(CATEGORY_SEPARATOR.join(parts[: depth - 1])) if depth > 1 else None
            entry = by_path.setdefault(
                path,
                {
                    "id": category_id(path),
                    "name": parts[depth - 1],
                    "displayName": parts[depth - 1],
                    "description": "",
                    "categoryDescription": None,
                    "helpText": "",
                    "platforms": set(),
                    "technologies": set(),
                    "settingUsage": set(),
                    "parentCategoryId": parent or category_id(path),
                    "rootCategoryId": root,
                    "childCategoryIds": [],
                },
            )
            entry["platforms"].add(body["applicability"]["platform"])
            entry["technologies"].update(body["applicability"]["technologies"].split(","))
            entry["settingUsage"].add(body["settingUsage"])
            if depth > 1:
                _add(
                    by_path[CATEGORY_SEPARATOR.join(parts[: depth - 1])]["childCategoryIds"],
                    category_id(path),
                )
    out = []
    for path in sorted(by_path):
        entry = dict(by_path[path])
        for key in ("platforms", "technologies", "settingUsage"):
            entry[key] = ",".join(sorted(entry[key]))
        out.append(entry)
    return out


def _not_found(definition_id: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(
        404,
        "ResourceNotFound",
        f"No setting definition with id '{definition_id}' was found.",
        intune=True,
    )


def _get(req: GraphRequest, collection: str, usage: str, definition_id: str) -> GraphResponse:
    from tenantguard.emulator.messages import GraphResponse

    ids = _tenant_ids(req)
    if definition_id not in ids:
        # Ids are matched as Graph keys are: exactly, and failing that without regard to case.
        folded = {i.casefold(): i for i in ids}
        definition_id = folded.get(definition_id.casefold(), definition_id)
    body = None
    if definition_id in ids and CATALOG.usage(definition_id) == usage:
        body = CATALOG.render(definition_id)
    if body is None:
        raise _not_found(definition_id)
    body = apply_select(body, parse_select(req.option("select")), {})
    return GraphResponse(200, {"@odata.context": req.context(f"{collection}/$entity"), **body})


def _searched(req: GraphRequest, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    text = (req.option("search") or "").strip().strip('"').casefold()
    if not text:
        return items
    return [
        item
        for item in items
        if any(
            text in str(item.get(key) or "").casefold()
            for key in ("id", "displayName", "description", "name")
        )
        or any(text in str(k).casefold() for k in item.get("keywords") or [])
    ]


def _list(req: GraphRequest, collection: str, usage: str) -> GraphResponse:
    from tenantguard.emulator.messages import GraphResponse

    predicate = parse_filter(req.option("filter"))
    ids = sorted(i for i in _tenant_ids(req) if CATALOG.usage(i) == usage)
    rendered = [CATALOG.render(i) for i in ids]
    items = [item for item in rendered if item is not None]
    if predicate is not None:
        items = [item for item in items if predicate(item)]
    items = _searched(req, items)
    size = _page_size(req.option("top"))
    token = req.option("skiptoken")
    offset = decode_skiptoken(token) if token else 0
    select = parse_select(req.option("select"))
    fragment = collection + (f"({','.join(select)})" if select else "")
    body: dict[str, Any] = {"@odata.context": req.context(fragment)}
    if (req.option("count") or "").lower() == "true":
        body["@odata.count"] = len(items)
    if offset + size < len(items):
        params = {k: v for k, v in req.query.items() if k.lstrip("$").lower() != "skiptoken"}
        params["$skiptoken"] = encode_skiptoken(offset + size)
        query = urlencode(params, safe="$(),='/")
        body["@odata.nextLink"] = f"{req.base_url}/{req.version}/{collection}?{query}"
    body["value"] = [apply_select(item, select, {}) for item in items[offset : offset + size]]
    return GraphResponse(200, body)


def _page_size(top: str | None) -> int:
    if top is None:
        return PAGE_SIZE
    try:
        size = int(top)
    except ValueError:
        size = 0
    if size < 1:
        raise EmulatorHTTPError(
            400,
            "BadRequest",
            f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_PAGE_SIZE} "
            "inclusive.",
        )
    return min(size, MAX_PAGE_SIZE)


# --- $expand=settingDefinitions on a policy's settings ---------------------------------


def split_expand(expand: ExpandTree) -> tuple[ExpandTree, bool]:
    """``expand`` without ``settingDefinitions`` (any case), and whether it was asked."""
    rest = {k: v for k, v in expand.items() if k.lower() != EXPAND_NAME.lower()}
    return rest, len(rest) != len(expand)


def strip_nested(expand: ExpandTree, navigation: str = "settings") -> tuple[ExpandTree, bool]:
    """For a policy read: ``settings($expand=settingDefinitions)`` -> (``settings``, True)."""
    if navigation not in expand:
        return expand, False
    inner, asked = split_expand(expand[navigation])
    return {**expand, navigation: inner}, asked


def with_definitions(req: GraphRequest, setting: dict[str, Any]) -> dict[str, Any]:
    """A policy setting (as shown) with ``settingDefinitions``: the definitions of its
    instance and of every nested child instance, in tree order."""
    ids = _tenant_ids(req)
    definitions = []
    for definition_id in CATALOG.tree_ids(setting.get("settingInstance")):
        body = CATALOG.render(definition_id) if definition_id in ids else None
        if body is not None:
            definitions.append(body)
    return {**setting, EXPAND_NAME: definitions}
