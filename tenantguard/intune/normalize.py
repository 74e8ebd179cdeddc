"""Canonical forms of captured Intune objects: for compare / diff / hash, and for writing.

Everything type-specific comes from the registry record (read-only fields, child ids, unordered
lists, create-only navigation properties); this module holds only the generic mechanics.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from tenantguard.intune import reference_kinds, registry
from tenantguard.intune.references import is_reference
from tenantguard.intune.registry import EMPTY_GUID, PolicyType
from tenantguard.intune.typespec import CreateLimit, deep_filter, deep_matches, path_segments

FILTER_ID_KEY: Final = "deviceAndAppManagementAssignmentFilterId"
FILTER_TYPE_KEY: Final = "deviceAndAppManagementAssignmentFilterType"

#: Assignment properties that Graph adds on read and that a write must not send.
ASSIGNMENT_READ_ONLY_FIELDS: Final = frozenset(
    {"id", "source", "sourceId", "intent", "@odata.type"}
)
#: ``intent`` values that are the admin's choice (Graph's ``installIntent`` of app assignments),
#: compared and written; other types' ``intent`` (``apply`` / ``remove``) is Graph's own.
INSTALL_INTENTS: Final = frozenset(
    {"required", "available", "uninstall", "availableWithoutEnrollment"}
)


def is_read_only_assignment_field(key: str, value: Any) -> bool:
    """``key`` of an assignment is Graph's, not the admin's (``intent`` only when it is not an
    app's install intent)."""
    if key == "intent":
        return value not in INSTALL_INTENTS
    return key in ASSIGNMENT_READ_ONLY_FIELDS


#: Server-maintained values dropped at any depth for compare (children carry them too).
NESTED_SERVER_FIELDS: Final = frozenset(
    {"createdDateTime", "lastModifiedDateTime", "secretReferenceValueId"}
)

#: Group targets carry ``groupId``; these are the ones whose group must exist in the target.
GROUP_TARGET_TYPES: Final = frozenset(
    {
        "#microsoft.graph.groupAssignmentTarget",
        "#microsoft.graph.exclusionGroupAssignmentTarget",
        "#microsoft.graph.configurationManagerCollectionAssignmentTarget",
    }
)


class MissingSecretError(KeyError):
    """``strip_for_write`` was given secrets, but not the one an encrypted OMA-URI needs."""


# --------------------------------------------------------------------------------------------
# OData annotations
# --------------------------------------------------------------------------------------------


def is_annotation_key(key: str) -> bool:
    """True for every OData control key except ``@odata.type``: ``@odata.context``/``id``/
    ``editLink``/``etag``/``nextLink``, ``<prop>@odata.*`` (type, navigationLink,
    associationLink, context, bind) and ``#microsoft.graph.<action>`` advertisements."""
    if key == "@odata.type":
        return False
    return key.startswith(("@", "#")) or "@" in key


#: JSON scalars: returned as they are by the copies below (checked before the slower
#: ``Mapping`` ABC test, which dominated the capture's CPU profile).
_SCALAR_TYPES: Final = frozenset({str, int, float, bool, type(None)})


def _drops(key: Any, dropped: frozenset[str]) -> bool:
    """``key`` is an annotation (``is_annotation_key``) or one of ``dropped``."""
    if not isinstance(key, str):
        return False
    if key in dropped:
        return True
    return ("@" in key or key[:1] == "#") and key != "@odata.type"


def _clean_copy(obj: Any, dropped: frozenset[str]) -> Any:
    """A deep copy of ``obj`` without annotations and without keys in ``dropped`` at any
    depth; other mappings become dicts and tuples lists (as JSON would have them)."""
    cls = type(obj)
    if cls in _SCALAR_TYPES:
        return obj
    if cls is dict and dropped.isdisjoint(obj) and not _annotation_keys(obj):
        return {  # the usual case: every key kept
            key: value if type(value) in _SCALAR_TYPES else _clean_copy(value, dropped)
            for key, value in obj.items()
        }
    if cls is dict or (cls is not list and isinstance(obj, Mapping)):
        return {
            key: value if type(value) in _SCALAR_TYPES else _clean_copy(value, dropped)
            for key, value in obj.items()
            if not (
                isinstance(key, str)
                and (key in dropped or (("@" in key or key[:1] == "#") and key != "@odata.type"))
            )
        }
    if cls is list or isinstance(obj, list | tuple):
        return [item if type(item) in _SCALAR_TYPES else _clean_copy(item, dropped) for item in obj]
    return obj


_NOTHING: Final[frozenset[str]] = frozenset()


def strip_annotations(obj: Any) -> Any:
    """A deep copy of ``obj`` without OData annotations, keeping ``@odata.type`` everywhere
    (polymorphic values need it)."""
    return _clean_copy(obj, _NOTHING)


def _annotation_keys(node: dict[Any, Any]) -> list[Any]:
    """The annotation keys of ``node`` (``is_annotation_key``); most objects have none, which
    one join of the keys tells without looking at each key in Python."""
    try:
        joined = "\x00" + "\x00".join(node) + "\x00"
    except TypeError:  # a key that is not a string
        pass
    else:
        joined = joined.replace("\x00@odata.type\x00", "\x00")
        if "@" not in joined and "\x00#" not in joined:
            return []
    return [
        key
        for key in node
        if isinstance(key, str) and ("@" in key or key[:1] == "#") and key != "@odata.type"
    ]


def strip_annotations_in_place(obj: Any) -> Any:
    """``strip_annotations`` without the copy, for data the caller owns (a freshly decoded
    Graph response): removes annotations from every dict in ``obj`` and returns ``obj``.
    Tuples and mappings that are not dicts inside it are replaced by stripped copies; ``obj``
    itself must be a dict or a list to be stripped in place (anything else is copied)."""
    if type(obj) is not dict and type(obj) is not list:
        return strip_annotations(obj)
    pending: list[Any] = [obj]
    while pending:
        node = pending.pop()
        if type(node) is dict:
            for key in _annotation_keys(node):
                del node[key]
            entries: Iterable[tuple[Any, Any]] = node.items()
        else:
            entries = enumerate(node)
        for key, value in entries:
            kind = type(value)
            if kind is dict or kind is list:
                pending.append(value)
            elif kind not in _SCALAR_TYPES:
                node[key] = strip_annotations(value)
    return obj


# --------------------------------------------------------------------------------------------
# Paths: dotted keys, "name[]" = each element of the list "name"
# --------------------------------------------------------------------------------------------


def _walk(node: Any, segments: Sequence[str]) -> Iterator[tuple[dict[str, Any], str]]:
    """Yield ``(container, key)`` for every place the path's last segment names."""
    if not segments or not isinstance(node, dict):
        return
    head, rest = segments[0], segments[1:]
    condition = deep_filter(head)
    if condition is not None:
        for _, match in deep_matches(node, condition, ""):
            yield from _walk(match, rest)
        return
    name = head.removesuffix("[]")
    if not rest:
        if name in node:
            yield node, name
        return
    child = node.get(name)
    if head.endswith("[]"):
        if isinstance(child, list):
            for element in child:
                yield from _walk(element, rest)
    else:
        yield from _walk(child, rest)


def values_at(obj: Any, path: str) -> Iterator[Any]:
    """Every value at ``path`` (a trailing ``[]`` yields the list's elements)."""
    segments = path_segments(path)
    each = segments[-1].endswith("[]")
    for container, key in _walk(obj, segments):
        value = container[key]
        if each:
            if isinstance(value, list):
                yield from value
        else:
            yield value


def _delete_at(obj: Any, path: str) -> None:
    for container, key in list(_walk(obj, path.split("."))):
        container.pop(key, None)


def _dotted_get(obj: Any, path: str) -> Any:
    current = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


# --------------------------------------------------------------------------------------------
# Canonical JSON
# --------------------------------------------------------------------------------------------


#: ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` without
#: building an encoder per call (tens of calls per object when sorting lists).
_CANONICAL_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 text."""
    return _CANONICAL_ENCODER.encode(value)


#: ``canonical_json`` of a string, without the encoder's per-call overhead (same C function).
_encode_string: Final = json.encoder.encode_basestring


def _key_json(value: Any) -> str:
    """``canonical_json(value)``, with a shortcut for the usual sort keys (strings, None)."""
    if type(value) is str:
        return _encode_string(value)
    if value is None:
        return "null"
    return canonical_json(value)


def _sort_elements(values: list[Any], keys: Sequence[str]) -> None:
    """Sort ``values`` in place by the canonical JSON of each key, then of the whole element.

    The same order as sorting by ``(*key JSONs, element JSON)``; the whole element (which
    makes the result independent of the input order) is encoded only where keys tie.
    """
    if len(values) < 2:
        return
    if not keys:
        values.sort(key=canonical_json)
        return
    decorated = [
        (tuple(_key_json(_dotted_get(element, key)) for key in keys), index)
        for index, element in enumerate(values)
    ]
    decorated.sort()
    ordered: list[Any] = []
    start = 0
    while start < len(decorated):
        end = start + 1
        while end < len(decorated) and decorated[end][0] == decorated[start][0]:
            end += 1
        group = [values[index] for _, index in decorated[start:end]]
        if len(group) > 1:
            group.sort(key=canonical_json)
        ordered.extend(group)
        start = end
    values[:] = ordered


_SETTING_CHILD_KEYS: Final = ("settingDefinitionId",)


def _sort_setting_children(node: Any) -> None:
    """Sort settings catalog ``children`` by ``settingDefinitionId``, innermost first."""
    cls = type(node)
    if cls is dict:
        for value in node.values():
            if type(value) not in _SCALAR_TYPES:
                _sort_setting_children(value)
        children = node.get("children")
        if isinstance(children, list) and all(isinstance(child, dict) for child in children):
            _sort_elements(children, _SETTING_CHILD_KEYS)
    elif cls is list:
        for item in node:
            if type(item) not in _SCALAR_TYPES:
                _sort_setting_children(item)


def _sort_lists(obj: Any, ptype: PolicyType) -> None:
    # Deeper lists first so that an outer tie-break sees sorted inner lists.
    for rule in sorted(ptype.unordered_lists, key=lambda rule: -rule.path.count(".")):
        for container, key in _walk(obj, rule.path.split(".")):
            value = container[key]
            if isinstance(value, list):
                _sort_elements(value, rule.keys)


def _drop_nested(node: Any, keys: frozenset[str]) -> None:
    cls = type(node)
    if cls is dict:
        for key in keys & node.keys():
            del node[key]
        for value in node.values():
            if type(value) not in _SCALAR_TYPES:
                _drop_nested(value, keys)
    elif cls is list:
        for item in node:
            if type(item) not in _SCALAR_TYPES:
                _drop_nested(item, keys)


def _ptype(type_key: str) -> PolicyType:
    return registry.get(type_key)


# --------------------------------------------------------------------------------------------
# Compare form
# --------------------------------------------------------------------------------------------


_CREATE_LIMITS: dict[tuple[str, str], tuple[PolicyType, CreateLimit | None]] = {}


def _create_limit(ptype: PolicyType, data: Mapping[str, Any]) -> CreateLimit | None:
    """``ptype.create_limit_for(data)``, remembered per ``@odata.type`` (the only property a
    ``CreateLimit`` looks at)."""
    if not ptype.create_limits:
        return None
    odata_type = data.get("@odata.type")
    if not isinstance(odata_type, str):
        return ptype.create_limit_for(data)
    cached = _CREATE_LIMITS.get((ptype.key, odata_type))
    if cached is not None and cached[0] is ptype:
        return cached[1]
    limit = ptype.create_limit_for(data)
    if len(_CREATE_LIMITS) > 4096:  # odata types come from Graph: a bound all the same
        _CREATE_LIMITS.clear()
    _CREATE_LIMITS[(ptype.key, odata_type)] = (ptype, limit)
    return limit


def _written_part(ptype: PolicyType, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` reduced to what TenantGuard writes when a ``CreateLimit`` of the type limits
    it to some properties (objects synced from another service: the rest is that service's)."""
    limit = _create_limit(ptype, data)
    if limit is None or limit.written_properties is None:
        return data
    kept = limit.written_properties | {"@odata.type", "id"}
    return {key: value for key, value in data.items() if key in kept}


_COMPARE_EXCLUDED: dict[str, tuple[PolicyType, frozenset[str]]] = {}


def _compare_excluded(ptype: PolicyType) -> frozenset[str]:
    """Top-level properties the compare form leaves out: read-only ones, ``assignments`` and
    the scope tag property (both compared separately). Remembered per type record (hashing a
    record would cost more than building the set)."""
    cached = _COMPARE_EXCLUDED.get(ptype.key)
    if cached is not None and cached[0] is ptype:
        return cached[1]
    excluded = set(ptype.all_read_only_fields) | {"assignments"}
    if ptype.scope_tag_property:
        excluded.add(ptype.scope_tag_property)
    _COMPARE_EXCLUDED[ptype.key] = (ptype, frozenset(excluded))
    return frozenset(excluded)


def normalize_payload(type_key: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form of a payload for compare / diff / hash.

    Annotations, read-only and server fields (ids, timestamps, versions, counters, secret
    references, ids of child objects) are removed; assignments and scope tags are excluded
    (compared separately); settings and other child lists whose order Graph does not guarantee
    are sorted by a stable key. Idempotent; the input is not modified.
    """
    ptype = _ptype(type_key)
    excluded = _compare_excluded(ptype)
    # One copy: annotations and server fields (any depth) dropped while copying, and excluded
    # top-level properties never copied. ``_written_part`` decides on ``@odata.type``, which
    # the copy keeps.
    data: dict[str, Any] = {
        key: value if type(value) in _SCALAR_TYPES else _clean_copy(value, NESTED_SERVER_FIELDS)
        for key, value in payload.items()
        if not _drops(key, NESTED_SERVER_FIELDS) and (key not in excluded or key == "@odata.type")
    }
    data = _written_part(ptype, data)
    if "@odata.type" in excluded:
        data.pop("@odata.type", None)
    for path in ptype.child_id_paths:
        _delete_at(data, path)
    if ptype.has_oma_secrets:
        # Encrypted values are references here; the plaintext lives in CapturedItem.secrets.
        for setting in _oma_settings(data):
            if setting.get("isEncrypted") is True:
                setting.pop("value", None)
    for path, keep in ptype.reduce_expanded:
        for container, key in list(_walk(data, path.split("."))):
            value = container[key]
            if isinstance(value, dict):
                container[key] = {k: v for k, v in value.items() if k in keep}
    if ptype.sort_setting_children:
        _sort_setting_children(data)
    _sort_lists(data, ptype)
    return data


def _is_empty_ref(value: Any) -> bool:
    return value is None or value == "" or value == EMPTY_GUID


def normalize_assignments(assignments: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Assignments as a sorted list of ``{"target": {...}, <type-specific settings>}``.

    The target keeps ``@odata.type``, ``groupId``, the filter id and type (both dropped when
    there is no filter) and any other target property; ``id``, ``source``, ``sourceId``,
    ``intent`` (except an app's install intent), server timestamps and the assignment's own
    ``@odata.type`` are dropped.
    """
    result: list[dict[str, Any]] = []
    for assignment in assignments:
        # Copied once, without annotations, without what the compare form drops.
        target: Any = None
        entry: dict[str, Any] = {}
        for key, value in assignment.items():
            if isinstance(key, str) and is_annotation_key(key):
                continue
            if key == "target":
                target = value
            elif not is_read_only_assignment_field(key, value) and key not in NESTED_SERVER_FIELDS:
                entry[key] = value if type(value) in _SCALAR_TYPES else strip_annotations(value)
        canonical_target: dict[str, Any] = (
            strip_annotations(target) if isinstance(target, Mapping) else {}
        )
        odata_type = canonical_target.get("@odata.type")
        if isinstance(odata_type, str) and odata_type and not odata_type.startswith("#"):
            canonical_target["@odata.type"] = "#" + odata_type
        if _is_empty_ref(canonical_target.get(FILTER_ID_KEY)):
            canonical_target.pop(FILTER_ID_KEY, None)
            canonical_target.pop(FILTER_TYPE_KEY, None)
        entry["target"] = canonical_target
        result.append(entry)
    result.sort(key=canonical_json)
    return result


def content_hash(
    type_key: str,
    payload: Mapping[str, Any],
    assignments: Iterable[Mapping[str, Any]] | None,
    scope_tag_ids: Iterable[str] | None,
) -> str:
    """sha256 hex of the canonical JSON of the normalized payload, the normalized assignments
    (``None`` = not captured, distinct from ``[]``) and the sorted scope tag ids."""
    document = {
        "type": type_key,
        "payload": normalize_payload(type_key, payload),
        "assignments": None if assignments is None else normalize_assignments(assignments),
        "scopeTagIds": None
        if scope_tag_ids is None
        else sorted({str(tag) for tag in scope_tag_ids}),
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------


def foundation_refs(
    type_key: str,
    payload: Mapping[str, Any],
    assignments: Iterable[Mapping[str, Any]] | None,
) -> dict[str, set[str]]:
    """Ids of foundation objects the object refers to, by the key of the reference kind
    (``reference_kinds`` kinds backed by a foundation type: ``scope_tag``,
    ``assignment_filter``, ``notification_template``, ...; always every such key).

    Not references: what the kind says (empty values, the all-zero GUID, the built-in scope
    tag ``"0"``) and the foundation type's built-in objects (``references.is_reference``).
    """
    ptype = _ptype(type_key)
    refs: dict[str, set[str]] = {kind.key: set() for kind in reference_kinds.foundation_kinds()}
    assignment_list = list(assignments or [])
    for ref in ptype.foundation_refs:
        sources: list[Any] = assignment_list if ref.in_assignments else [payload]
        for source in sources:
            for value in values_at(source, ref.path):
                if _is_empty_ref(value) or not is_reference(str(ref.foundation), value):
                    continue
                refs.setdefault(str(ref.foundation), set()).add(str(value))
    return refs


def group_refs(assignments: Iterable[Mapping[str, Any]] | None) -> set[str]:
    """Group ids the assignments target (include and exclude)."""
    groups: set[str] = set()
    for assignment in assignments or []:
        target = assignment.get("target")
        if not isinstance(target, Mapping):
            continue
        group_id = target.get("groupId")
        if isinstance(group_id, str) and group_id:
            groups.add(group_id)
    return groups


# --------------------------------------------------------------------------------------------
# OMA-URI secrets
# --------------------------------------------------------------------------------------------


def _oma_settings(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    settings = payload.get("omaSettings")
    if not isinstance(settings, list):
        return []
    return [setting for setting in settings if isinstance(setting, dict)]


def encrypted_oma_settings(payload: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(secret_key, setting)`` for each ``isEncrypted`` OMA-URI setting of ``payload``.

    The key is ``omaSettings[<omaUri>]`` (a second setting with the same URI gets ``#2``...),
    stable across captures because it does not depend on list position or server ids.
    """
    result: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for setting in _oma_settings(payload):
        if setting.get("isEncrypted") is not True:
            continue
        base = f"omaSettings[{setting.get('omaUri') or setting.get('displayName') or ''}]"
        seen[base] = seen.get(base, 0) + 1
        key = base if seen[base] == 1 else f"{base}#{seen[base]}"
        result.append((key, setting))
    return result


def missing_secrets(
    type_key: str, payload: Mapping[str, Any], secrets: Mapping[str, str] | None
) -> list[str]:
    """Secret keys the payload needs for a faithful write that ``secrets`` does not hold."""
    if not _ptype(type_key).has_oma_secrets:
        return []
    held = secrets or {}
    return [key for key, _ in encrypted_oma_settings(payload) if key not in held]


# --------------------------------------------------------------------------------------------
# Write form
# --------------------------------------------------------------------------------------------


def strip_for_write(
    type_key: str,
    payload: Mapping[str, Any],
    *,
    for_update: bool = False,
    secrets: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The body for POST (create) or PATCH/PUT (update, ``for_update=True``).

    Keeps the root ``@odata.type`` and polymorphic ``@odata.type`` values and the scope tag
    property (the restore engine rewrites it); removes annotations, read-only and server
    fields, ``assignments``, navigation properties written separately
    (``write_excluded_fields``) and, on update, create-only ones (compliance
    ``scheduledActionsForRule``, app protection ``apps``), and ids of child objects.

    With ``secrets`` (from ``CapturedItem.secrets``), encrypted OMA-URI values are sent as
    plaintext with ``isEncrypted: false`` and ``secretReferenceValueId: null``; a needed
    secret that is absent raises ``MissingSecretError``. Without ``secrets`` the references
    are left as captured (useful for previews only: Graph cannot use them).
    """
    ptype = _ptype(type_key)
    # strip_annotations copies every dict and list: the body never shares them with payload.
    body: dict[str, Any] = _written_part(ptype, strip_annotations(payload))
    excluded = set(ptype.all_read_only_fields) | {"assignments"} | set(ptype.write_excluded_fields)
    if for_update:
        excluded |= set(ptype.create_only_fields)
    for key in excluded:
        body.pop(key, None)
    for path in ptype.child_id_paths:
        _delete_at(body, path)
    _drop_nested(body, frozenset({"createdDateTime", "lastModifiedDateTime"}))
    if ptype.has_oma_secrets and secrets is not None:
        for key, setting in encrypted_oma_settings(body):
            if key not in secrets:
                raise MissingSecretError(
                    f"The backup holds no plaintext for encrypted OMA-URI setting {key}; "
                    "capture the source again with permission to read secrets, or skip this item."
                )
            setting["value"] = secrets[key]
            setting["isEncrypted"] = False
            setting["secretReferenceValueId"] = None
    return body


def definition_value_bodies(
    payload: Mapping[str, Any], *, graph_base_url: str
) -> list[dict[str, Any]]:
    """Administrative templates: the POST bodies for ``{id}/definitionValues`` (or the
    ``added`` list of ``updateDefinitionValues``), binding definitions and presentations by
    URL under ``graph_base_url`` (e.g. ``https://graph.microsoft.com/beta``)."""
    base = graph_base_url.rstrip("/")
    bodies: list[dict[str, Any]] = []
    for value in strip_annotations(payload.get("definitionValues") or []):
        definition = value.get("definition") or {}
        definition_id = definition.get("id")
        if not definition_id:
            continue
        definition_url = f"{base}/deviceManagement/groupPolicyDefinitions('{definition_id}')"
        body = {
            key: item
            for key, item in value.items()
            if key not in {"id", "definition", "presentationValues", *NESTED_SERVER_FIELDS}
        }
        body["definition@odata.bind"] = definition_url
        presentations: list[dict[str, Any]] = []
        for presentation_value in value.get("presentationValues") or []:
            presentation = presentation_value.get("presentation") or {}
            presentation_id = presentation.get("id")
            if not presentation_id:
                continue
            item = {
                key: field
                for key, field in presentation_value.items()
                if key not in {"id", "presentation", *NESTED_SERVER_FIELDS}
            }
            item["presentation@odata.bind"] = f"{definition_url}/presentations('{presentation_id}')"
            presentations.append(item)
        body["presentationValues"] = presentations
        bodies.append(body)
    return bodies


__all__ = [
    "FILTER_ID_KEY",
    "FILTER_TYPE_KEY",
    "MissingSecretError",
    "canonical_json",
    "content_hash",
    "definition_value_bodies",
    "encrypted_oma_settings",
    "foundation_refs",
    "group_refs",
    "is_annotation_key",
    "is_read_only_assignment_field",
    "missing_secrets",
    "normalize_assignments",
    "normalize_payload",
    "strip_annotations",
    "strip_annotations_in_place",
    "strip_for_write",
    "values_at",
]
