"""A preview diff's changes in the admin center's words.

``readable_diff_rows(diff, labels=, source_payload=)`` turns the ``changes`` of a preview diff
(``restores.services.diff``: ``{"path", "before", "after"}`` leaf by leaf, list elements
addressed by their identity) into rows a person reads::

    {"setting": str,        # the setting's display name, or a readable label of the path
     "detail": str,         # where it sits: parent settings, entry, category, inner property
     "path": str,           # the raw path, as compared
     "raw_setting_id": str, # settingDefinitionId / definition id / property name
     "description": str,    # the setting's description (shown on hover), "" when unknown
     "before": Any, "after": Any,          # shown values (None: absent)
     "before_raw": Any, "after_raw": Any,  # the values as compared
     "before_json": str, "after_json": str,  # ... as JSON text (the "Graph ids" view)
     "before_title": str, "after_title": str,  # the chosen option's description, if any
     "technical": bool,     # Graph plumbing (@odata.type, template references): shown apart
     "note": str,
     "script": dict | None} # a base64 script's line diff (``script_diff``); before / after
                            # then hold the changed lines, the raw base64 stays in *_raw

- Settings catalog, endpoint security, compliance settings catalog and reusable settings
  (``settings[<settingDefinitionId>]...``, ``children[<id>]``): the innermost setting by its
  display name from ``labels`` (``catalog.selectors.setting_labels``), its parents as context,
  choice values by the option's display name (the raw option id when the definition does not
  name it).
- Administrative templates (``definitionValues[<definition id>]...``): the definition's
  display name and category path from the backup payload (``source_payload``: its expanded
  ``definition`` and ``presentation``), ``enabled`` as Enabled / Disabled, presentation values
  by the presentation's label.
- Any other path: each property by ``property_labels.property_label`` (curated admin-center
  words, else a humanized camelCase name), list elements by their identity (OMA-URI settings by
  URI and name, actions for noncompliance by action), values by ``property_labels.value_label``
  (the admin center's words for common enum members, ISO-8601 durations in words).
- Scripts (``SCRIPT_PROPERTIES``: Graph's base64 ``scriptContent``, ``detectionScriptContent``,
  ``remediationScriptContent``) that decode to UTF-8 / UTF-16 text: a bounded line diff.

Nothing here reads the database: callers load the labels and payloads (once per page).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import difflib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from tenantguard.intune.property_labels import (
    action_type_label,
    duration_label,
    property_label,
    value_label,
)

if TYPE_CHECKING:
    from tenantguard.intune.setting_definitions import SettingLabel

__all__ = [
    "DiffRows",
    "change_setting_ids",
    "diff_rows_for_page",
    "payload_place_label",
    "readable_diff_rows",
    "readable_kept",
    "readable_path",
    "readable_places",
    "readable_value",
    "split_path",
]

#: Containers of a settings catalog setting instance: structure, not something to read.
_INSTANCE_CONTAINERS: Final = frozenset(
    {
        "settingInstance",
        "choiceSettingValue",
        "simpleSettingValue",
        "groupSettingValue",
        "groupSettingCollectionValue",
        "simpleSettingCollectionValue",
        "choiceSettingCollectionValue",
    }
)
_SETTING_LISTS: Final = frozenset({"settings", "children"})
#: Leaves that are Graph plumbing rather than a setting's value.
_TECHNICAL_LEAVES: Final = frozenset(
    {
        "@odata.type",
        "settingDefinitionId",
        "settingInstanceTemplateReference",
        "settingInstanceTemplateId",
        "settingValueTemplateReference",
        "settingValueTemplateId",
        "useTemplateDefault",
        "children",
    }
)
_TECHNICAL_WORDS: Final = {
    "@odata.type": "Graph type",
    "settingDefinitionId": "setting id",
    "settingInstanceTemplateReference": "template reference",
    "settingInstanceTemplateId": "template reference",
    "settingValueTemplateReference": "value template reference",
    "settingValueTemplateId": "value template reference",
    "useTemplateDefault": "use the template's default",
    "children": "child settings",
}
#: Leaves that only say "the value of" the element before them.
_VALUE_LEAVES: Final = frozenset({"value", "values", "valueJson"})
#: Between a setting's context parts (a single right-pointing angle quotation mark).
SEPARATOR: Final = " \u203a "


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


def split_path(path: str) -> list[tuple[str, str]]:
    """A diff path as tokens: ``("prop", name)`` and ``("key", element label)``.

    ``settings[a.b].settingInstance.@odata.type`` ->
    ``[("prop", "settings"), ("key", "a.b"), ("prop", "settingInstance"),
    ("prop", "@odata.type")]``. Element labels may hold dots and brackets (OMA-URIs); an
    annotation (``@odata.type``) stays one name.
    """
    tokens: list[tuple[str, str]] = []
    buffer = ""
    index = 0
    while index < len(path):
        char = path[index]
        if char == "[":
            if buffer:
                tokens.append(("prop", buffer))
                buffer = ""
            depth, end = 1, index + 1
            while end < len(path) and depth:
                if path[end] == "[":
                    depth += 1
                elif path[end] == "]":
                    depth -= 1
                end += 1
            tokens.append(("key", path[index + 1 : end - 1] if depth == 0 else path[index + 1 :]))
            index = end
            continue
        if char == "." and not buffer.startswith("@"):
            if buffer:
                tokens.append(("prop", buffer))
            buffer = ""
        elif char == "." and "." in buffer:  # "@odata.type.x": the annotation ends at "type"
            tokens.append(("prop", buffer))
            buffer = ""
        else:
            buffer += char
        index += 1
    if buffer:
        tokens.append(("prop", buffer))
    return tokens


def _is_setting_path(tokens: Sequence[tuple[str, str]]) -> bool:
    """A settings catalog path: through a setting instance, or a ``settings[<id>]`` element
    (an intent's ``settings[<definitionId>]`` ids hold "--" and are read as properties)."""
    if any(kind == "prop" and text in _INSTANCE_CONTAINERS for kind, text in tokens):
        return True
    return (
        len(tokens) >= 2
        and tokens[0] == ("prop", "settings")
        and tokens[1][0] == "key"
        and not tokens[1][1].isdigit()
        and "--" not in tokens[1][1]
    )


def change_setting_ids(diff: Mapping[str, Any]) -> set[str]:
    """The ``settingDefinitionId``s a diff's changes (and kept elements) name in their paths:
    what to load labels for."""
    found: set[str] = set()
    paths = [str(c.get("path", "")) for c in diff.get("changes") or []]
    paths += [str(k.get("path", "")) for k in diff.get("kept") or []]
    for path in paths:
        tokens = split_path(path)
        if not _is_setting_path(tokens):
            continue
        for (kind, text), (next_kind, key) in itertools.pairwise(tokens):
            if kind == "prop" and text in _SETTING_LISTS and next_kind == "key":
                if not key.isdigit():
                    found.add(key)
    return found


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def readable_value(value: Any) -> Any:
    """A compared value as shown: None stays None (absent), booleans and structures as JSON
    (``true``, ``["a", "b"]``), a list of plain values joined with ", ", an omitted large
    value as how big it was."""
    if value is None:
        return value
    if isinstance(value, str):
        return duration_label(value) or value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Mapping) and value.get("omitted") is True:
        return f"(not shown: {value.get('bytes', '?')} bytes)"
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return ", ".join(str(v) for v in value) if value else "(empty list)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _option(value: Any, setting_id: str, label: SettingLabel | None) -> tuple[Any, str]:
    """A choice value by its option's display name (and description); an option the
    definition does not name by its raw option id (never a made-up "option N": the suffix of
    an id says nothing of what the option means), anything else as ``readable_value``."""
    if not isinstance(value, str):
        return readable_value(value), ""
    if label is not None and value in label.options:
        option = label.options[value]
        return option.display_name or value, option.description
    return readable_value(value), ""


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _setting_reading(
    tokens: Sequence[tuple[str, str]],
    labels: Mapping[str, SettingLabel],
    source_payload: Mapping[str, Any] | None,
) -> tuple[str, str, str, str, bool, Any]:
    """(setting, detail, raw id, description, technical, value reader) of a settings catalog
    path."""
    stack: list[list[str]] = []  # [setting id, entry]
    leaf: list[str] = []
    value_index = ""
    previous = ""
    for kind, text in tokens:
        if kind == "key":
            if previous in _SETTING_LISTS:
                stack.append([text if not text.isdigit() else "", ""])
                leaf, value_index = [], ""
            elif previous == "groupSettingCollectionValue" and stack and text.isdigit():
                stack[-1][1] = f"entry {int(text) + 1}"
            elif previous in ("simpleSettingCollectionValue", "choiceSettingCollectionValue"):
                value_index = f"value {int(text) + 1}" if text.isdigit() else text
            else:
                leaf.append(text)
            continue
        previous = text
        if text == "settingInstance" and not stack:
            top = (source_payload or {}).get("settingDefinitionId")
            stack.append([top if isinstance(top, str) else "", ""])
            continue
        if text in _INSTANCE_CONTAINERS:
            continue
        if text in _SETTING_LISTS:
            continue
        leaf.append(text)
    if tokens and tokens[-1][0] == "prop" and tokens[-1][1] in _SETTING_LISTS:
        leaf.append(tokens[-1][1])  # the list itself changed (e.g. no child settings)
    if not stack:
        stack.append(["", ""])
    setting_id, entry = stack[-1]
    label = labels.get(setting_id) if setting_id else None
    setting = (label.display_name if label else "") or setting_id or "Setting"
    context: list[str] = []
    for parent_id, parent_entry in stack[:-1]:
        parent = labels.get(parent_id) if parent_id else None
        name = (parent.display_name if parent else "") or parent_id or "Setting"
        context.append(f"{name} ({parent_entry})" if parent_entry else name)
    if entry:
        context.append(entry)
    if value_index:
        context.append(value_index)
    technical = bool(leaf) and leaf[-1] in _TECHNICAL_LEAVES
    words: list[str] = []
    for word in (_TECHNICAL_WORDS.get(w) or property_label(w) for w in leaf if w != "value"):
        if word not in words:
            words.append(word)
    if words:
        context.append(" ".join(words))
    description = label.description if label else ""

    def reader(value: Any) -> tuple[Any, str]:
        if technical or (leaf and leaf[-1] != "value"):
            return readable_value(value), ""
        return _option(value, setting_id, label)

    return setting, SEPARATOR.join(context), setting_id, description, technical, reader


def _definition_values(source_payload: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for value in (source_payload or {}).get("definitionValues") or []:
        definition = value.get("definition") if isinstance(value, Mapping) else None
        if isinstance(definition, Mapping) and isinstance(definition.get("id"), str):
            found[definition["id"]] = value
    return found


def category_path(value: Any) -> str:
    r"""An ADMX category path as the admin center reads it: ``\Windows Components\OneDrive`` ->
    "Windows Components / OneDrive" (joined by ``SEPARATOR``)."""
    if not isinstance(value, str):
        return ""
    return SEPARATOR.join(part for part in value.split("\\") if part)


def _template_reading(
    tokens: Sequence[tuple[str, str]],
    definitions: Mapping[str, Mapping[str, Any]],
    names_in_diff: Mapping[str, str],
) -> tuple[str, str, str, str, bool, Any]:
    """(setting, detail, raw id, description, technical, value reader) of an administrative
    template path ``definitionValues[<definition id>]...``."""
    definition_id = tokens[1][1]
    value = definitions.get(definition_id) or {}
    definition = value.get("definition") or {}
    name = str(definition.get("displayName") or names_in_diff.get(definition_id) or definition_id)
    category = category_path(definition.get("categoryPath"))
    description = str(definition.get("explainText") or "")
    rest = list(tokens[2:])
    context = [category] if category else []
    if rest == [("prop", "enabled")]:

        def enabled(v: Any) -> tuple[Any, str]:
            if v is True:
                return "Enabled", ""
            if v is False:
                return "Disabled", ""
            return readable_value(v), ""

        return name, SEPARATOR.join(context), definition_id, description, False, enabled
    if len(rest) >= 2 and rest[0] == ("prop", "presentationValues") and rest[1][0] == "key":
        presentation_id = rest[1][1]
        label = ""
        for presented in value.get("presentationValues") or []:
            presentation = presented.get("presentation") if isinstance(presented, Mapping) else {}
            if isinstance(presentation, Mapping) and presentation.get("id") == presentation_id:
                label = str(presentation.get("label") or "").strip().rstrip(":").strip()
        inner = [text for _, text in rest[2:]]
        technical = bool(inner) and inner[-1] in ("@odata.type", "id", "presentation")
        words = [
            f"entry {int(w) + 1}" if w.isdigit() else property_label(w)
            for w in inner
            if w not in _VALUE_LEAVES
        ]
        setting = label or f"Option {presentation_id}"
        detail = SEPARATOR.join([name, *context, *words])
        return setting, detail, definition_id, description, technical, _plain
    inner = [text for _, text in rest]
    technical = not inner or inner[0] in (
        "definition",
        "@odata.type",
        "configurationType",
        "presentationValues",  # the list as a whole: its elements are their own rows
    )
    words = [property_label(w) for w in inner]
    return name, SEPARATOR.join([*context, *words]), definition_id, description, technical, _plain


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _plain(value: Any) -> tuple[Any, str]:
    return readable_value(value), ""


def _oma_names(source_payload: Mapping[str, Any] | None) -> dict[str, str]:
    names: dict[str, str] = {}
    for setting in (source_payload or {}).get("omaSettings") or []:
        if isinstance(setting, Mapping) and isinstance(setting.get("omaUri"), str):
            names[setting["omaUri"]] = str(setting.get("displayName") or "")
    return names


def _intent_setting(definition_id: str) -> str:
    """An intent setting ``deviceConfiguration--windows10EndpointProtectionConfiguration_x``
    by its property (``x``)."""
    tail = definition_id.rsplit("_", 1)[-1] if "_" in definition_id else definition_id
    return property_label(tail)


def _property_reading(
    tokens: Sequence[tuple[str, str]], source_payload: Mapping[str, Any] | None
) -> tuple[str, str, str, str, bool, Any]:
    """(setting, detail, raw id, description, technical, value reader) of a property path."""
    chain: list[str] = []
    previous = ""
    raw = ""
    for kind, text in tokens:
        if kind == "prop":
            # the enclosing property names what this one means (installExperience.runAsAccount)
            chain.append(property_label(text, parent=previous))
            previous, raw = text, text
            continue
        if text.isdigit():
            chain[-1:] = [f"{chain[-1] if chain else 'Entry'} #{int(text) + 1}"]
        elif previous == "omaSettings":
            name = _oma_names(source_payload).get(text, "")
            chain[-1:] = [f"{name} (OMA-URI {text})" if name else f"OMA-URI {text}"]
            raw = text
        elif previous == "scheduledActionConfigurations":
            chain[-1:] = [action_type_label(text)]
        elif previous == "scheduledActionsForRule":
            pass  # one rule ("PasswordRequired") per policy: its name says nothing more
        elif previous == "settings":
            chain[-1:] = [_intent_setting(text)]
            raw = text
        else:
            chain[-1:] = [f"{chain[-1]}: {text}" if chain else text]
    last = tokens[-1][1] if tokens else ""
    technical = last == "@odata.type"
    if len(chain) > 1 and tokens[-1][0] == "prop" and last in _VALUE_LEAVES:
        chain.pop()
    setting = chain[-1] if chain else ""
    if last == "actionType":
        reader = _action_type
    else:
        # the value as the admin center reads it: a list element's own property names it
        # (``allowedDataStorageLocations``), else the last property before a value leaf
        named = [text for kind, text in tokens if kind == "prop" and text not in _VALUE_LEAVES]
        reader = _property_value(
            named[-1] if named else "", parent=named[-2] if len(named) > 1 else ""
        )
    return setting, SEPARATOR.join(chain[:-1]), raw, "", technical, reader


def _property_value(name: str, *, parent: str = "") -> Any:
    def reader(value: Any) -> tuple[Any, str]:
        return readable_value(value_label(name, value, parent=parent)), ""

    return reader


def _action_type(value: Any) -> tuple[Any, str]:
    if isinstance(value, str) and value:
        return action_type_label(value), ""
    return readable_value(value), ""


def _definition_names_in(changes: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Definition display names a diff itself carries (a created template's definitions)."""
    names: dict[str, str] = {}
    for change in changes:
        tokens = split_path(str(change.get("path", "")))
        if (
            len(tokens) == 4
            and tokens[0] == ("prop", "definitionValues")
            and tokens[2:] == [("prop", "definition"), ("prop", "displayName")]
        ):
            shown = change.get("after") or change.get("before")
            if isinstance(shown, str):
                names[tokens[1][1]] = shown
    return names


def readable_path(
    path: str,
    *,
    labels: Mapping[str, SettingLabel],
    source_payload: Mapping[str, Any] | None = None,
    names_in_diff: Mapping[str, str] | None = None,
) -> tuple[str, str, str, str, bool, Any]:
    """(setting, detail, raw setting id, description, technical, value reader) of one path."""
    tokens = split_path(path)
    if not tokens:
        return path, "", "", "", False, _plain
    if (
        len(tokens) >= 2
        and tokens[0] == ("prop", "definitionValues")
        and tokens[1][0] == "key"
        and not tokens[1][1].isdigit()
    ):
        return _template_reading(tokens, _definition_values(source_payload), names_in_diff or {})
    if _is_setting_path(tokens):
        return _setting_reading(tokens, labels, source_payload)
    return _property_reading(tokens, source_payload)


def _element(node: Any, key: str) -> Any:
    """Element ``key`` of a list (by position, or by its identity: settingDefinitionId,
    omaUri, definition id, presentation id) or of a mapping."""
    if isinstance(node, list):
        if key.isdigit():
            return node[int(key)] if int(key) < len(node) else None
        for element in node:
            if not isinstance(element, Mapping):
                continue
            instance = element.get("settingInstance")
            candidates = (
                element.get("settingDefinitionId"),
                instance.get("settingDefinitionId") if isinstance(instance, Mapping) else None,
                element.get("omaUri"),
                *(
                    reference.get("id")
                    for reference in (element.get("definition"), element.get("presentation"))
                    # a string here (an odd or hand-edited payload) is no reference: the
                    # checks that label places must never fail on it
                    if isinstance(reference, Mapping)
                ),
            )
            if key in candidates:
                return element
        return None
    return node.get(key) if isinstance(node, Mapping) else None


def payload_place_label(
    payload: Mapping[str, Any] | None, path: str, *, labels: Mapping[str, SettingLabel]
) -> str:
    """A readable name for a place in a raw payload (``path`` by position or identity, as
    ``tenant_identity`` reports where it found a source tenant identifier): the setting (with
    its parents), the administrative template definition and presentation, or the OMA-URI
    setting it sits in; otherwise the path read like a diff path."""
    node: Any = payload or {}
    settings: list[str] = []
    definition = presentation = oma = ""
    last_prop = ""
    for kind, text in split_path(path):
        node = _element(node, text)
        if kind == "prop":
            last_prop = text
        if not isinstance(node, Mapping):
            continue
        setting_id = node.get("settingDefinitionId")
        if isinstance(setting_id, str) and setting_id and setting_id not in settings:
            settings.append(setting_id)
        if isinstance(node.get("definition"), Mapping):
            definition = str(node["definition"].get("displayName") or "")
        if isinstance(node.get("presentation"), Mapping):
            label = str(node["presentation"].get("label") or "")
            presentation = label.strip().rstrip(":").strip()
        if isinstance(node.get("omaUri"), str):
            name = str(node.get("displayName") or "")
            oma = f"{name} (OMA-URI {node['omaUri']})" if name else f"OMA-URI {node['omaUri']}"
    if settings:
        return SEPARATOR.join((labels[i].display_name if i in labels else i) or i for i in settings)
    if definition:
        return SEPARATOR.join(part for part in (definition, presentation) if part)
    if oma:
        leaf = (
            "" if last_prop in _VALUE_LEAVES or last_prop == "omaUri" else property_label(last_prop)
        )
        return SEPARATOR.join(part for part in (oma, leaf) if part)
    setting, detail, *_ = readable_path(path, labels=labels, source_payload=payload)
    return SEPARATOR.join(part for part in (detail, setting) if part)


def readable_places(
    diff: Mapping[str, Any],
    *,
    labels: Mapping[str, SettingLabel],
    source_payload: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """``diff["tenant_identifiers"]["places"]`` each with ``label`` (``payload_place_label``)."""
    places = (diff.get("tenant_identifiers") or {}).get("places") or []
    return [
        {
            **place,
            "label": payload_place_label(source_payload, str(place.get("path", "")), labels=labels),
        }
        for place in places
        if isinstance(place, Mapping)
    ]


# --------------------------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------------------------

#: Properties whose value is a script that Graph holds base64-encoded: ``scriptContent``
#: (PowerShell and macOS shell scripts, custom attribute scripts, Win32 app detection and
#: requirement rules, macOS app pre/post-install scripts), ``detectionScriptContent`` and
#: ``remediationScriptContent`` (remediations, custom compliance discovery scripts).
SCRIPT_PROPERTIES: Final = frozenset(
    {"scriptContent", "detectionScriptContent", "remediationScriptContent"}
)
#: Unchanged lines shown around each change of a script.
SCRIPT_CONTEXT_LINES: Final = 3
#: At most this many lines of a script's line diff are shown (the rest counted as hidden).
SCRIPT_DIFF_MAX_LINES: Final = 60
#: A longer script line is cut (with "…").
SCRIPT_LINE_MAX_CHARS: Final = 200
_SUMMARY_LINES: Final = 3
_ALLOWED_CONTROLS: Final = frozenset("\t\n\r\f\v")


def _decoded_text(raw: bytes) -> str | None:
    """``raw`` as text: UTF-8 (with or without BOM) or UTF-16 (BOM, or the NUL bytes of
    mostly-ASCII text); None for binary content."""
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif len(raw) >= 2 and len(raw) % 2 == 0 and raw[1::2].count(0) * 2 > len(raw) // 2:
        encoding = "utf-16-le"
    elif len(raw) >= 2 and len(raw) % 2 == 0 and raw[0::2].count(0) * 2 > len(raw) // 2:
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for char in text if char < " " and char not in _ALLOWED_CONTROLS)
    if "\x00" in text or controls > len(text) // 100:
        return None
    return text


def script_text(value: Any) -> str | None:
    """The text of a script property's value when it is valid base64 of UTF-8 / UTF-16 text;
    None otherwise (not a string, an omitted large value, not base64, binary)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _decoded_text(raw) if raw else None


def _script_line(kind: str, number: int | None, text: str) -> dict[str, Any]:
    if len(text) > SCRIPT_LINE_MAX_CHARS:
        text = text[: SCRIPT_LINE_MAX_CHARS - 1] + "…"
    sign = {"removed": "-", "added": "+", "context": " ", "gap": "…"}[kind]
    return {"kind": kind, "sign": sign, "number": number, "text": text}


def _line_ranges(numbers: Sequence[int]) -> str:
    """``[3, 4, 5, 9]`` -> "lines 3-5, 9" (with an en dash; at most four ranges, then "…")."""
    ranges: list[list[int]] = []
    for number in sorted(set(numbers)):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    parts = [f"{a}" if a == b else f"{a}\u2013{b}" for a, b in ranges[:4]]
    if len(ranges) > 4:
        parts.append("…")
    single = len(ranges) == 1 and ranges[0][0] == ranges[0][1]
    return ("line " if single else "lines ") + ", ".join(parts)


def _summary(lines: Sequence[str], *, side_absent: bool) -> str | None:
    """A side's changed lines on one line (for one-line readers: the CLI)."""
    if side_absent:
        return None
    if not lines:
        return "(no line)"
    shown = [line.strip() or "(empty line)" for line in lines[:_SUMMARY_LINES]]
    more = f" (+{len(lines) - _SUMMARY_LINES} more)" if len(lines) > _SUMMARY_LINES else ""
    return " \u23ce ".join(shown) + more


def script_diff(before: str | None, after: str | None) -> dict[str, Any]:
    """The line diff of two script texts (None: absent): changed lines with
    ``SCRIPT_CONTEXT_LINES`` of context, at most ``SCRIPT_DIFF_MAX_LINES`` lines.

    ``{"lines": [{"kind": "context"|"removed"|"added"|"gap", "sign", "number", "text"}],
    "hidden": int (changed lines not shown), "where": "line 3" | "lines 3-5, 9" | "",
    "before_summary", "after_summary": the changed lines of each side on one line,
    "same_text": bool (only the encoding differs), "same_lines": bool (the lines are equal,
    their endings or the final newline are not)}``. ``number`` is the line's number in the
    backup's script (the target's for a removed line); ``where`` lists the changed places as
    line numbers of the backup's script only (the script the restore writes).
    """
    old = before.splitlines() if before is not None else []
    new = after.splitlines() if after is not None else []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    lines: list[dict[str, Any]] = []
    removed: list[str] = []
    added: list[str] = []
    where: list[int] = []
    hidden = 0
    for group in matcher.get_grouped_opcodes(SCRIPT_CONTEXT_LINES):
        gap = group and (lines or group[0][1] > 0 or group[0][3] > 0)
        if gap and len(lines) < SCRIPT_DIFF_MAX_LINES:
            lines.append(_script_line("gap", None, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                batch = [_script_line("context", j1 + k + 1, new[j1 + k]) for k in range(j2 - j1)]
            else:
                removed += old[i1:i2]
                added += new[j1:j2]
                # where, in the backup's script (the one the restore writes): the added lines,
                # or for lines only removed the place they were removed at
                where += [*range(j1 + 1, j2 + 1)] if j2 > j1 else [max(j1, 1)]
                batch = [_script_line("removed", i1 + k + 1, old[i1 + k]) for k in range(i2 - i1)]
                batch += [_script_line("added", j1 + k + 1, new[j1 + k]) for k in range(j2 - j1)]
            room = SCRIPT_DIFF_MAX_LINES - len(lines)
            hidden += sum(1 for line in batch[max(room, 0) :] if line["kind"] != "context")
            lines += batch[: max(room, 0)]
    if (
        lines
        and len(lines) < SCRIPT_DIFF_MAX_LINES
        and lines[-1]["kind"] == "context"
        and lines[-1]["number"] < len(new)
    ):
        lines.append(_script_line("gap", None, ""))
    return {
        "lines": lines,
        "hidden": hidden,
        "where": _line_ranges(where) if where else "",
        "before_summary": _summary(removed, side_absent=before is None),
        "after_summary": _summary(added, side_absent=after is None),
        # only the encoding (UTF-16, BOM) differs: the decoded texts are equal
        "same_text": before is not None and after is not None and before == after,
        # the lines are equal but not the texts: line endings (CRLF / LF) or the final newline
        "same_lines": before is not None and after is not None and old == new and before != after,
    }


def _script_change(
    tokens: Sequence[tuple[str, str]], before: Any, after: Any
) -> dict[str, Any] | None:
    """``script_diff`` of a change of a script property whose sides (each absent or) decode
    to text; None for anything else. Nothing under ``omaSettings`` is ever decoded (an
    encrypted OMA-URI value is a secret and never reaches a diff anyway)."""
    if not tokens or tokens[-1][0] != "prop" or tokens[-1][1] not in SCRIPT_PROPERTIES:
        return None
    if ("prop", "omaSettings") in tokens or (before is None and after is None):
        return None
    before_text = script_text(before) if before is not None else None
    after_text = script_text(after) if after is not None else None
    if (before is not None and before_text is None) or (after is not None and after_text is None):
        return None
    return script_diff(before_text, after_text)


def readable_diff_rows(
    diff: Mapping[str, Any],
    *,
    labels: Mapping[str, SettingLabel],
    source_payload: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``diff["changes"]`` (see the module docstring), in the diff's order.

    ``labels``: setting definition id -> ``SettingLabel`` (empty: settings and choices by their
    raw ids). ``source_payload``: the backup item's payload (administrative
    template definitions and presentations, OMA-URI setting names, a reusable setting's id).
    """
    changes = [c for c in diff.get("changes") or [] if isinstance(c, Mapping)]
    names_in_diff = _definition_names_in(changes)
    rows = []
    for change in changes:
        path = str(change.get("path", ""))
        setting, detail, raw_id, description, technical, reader = readable_path(
            path, labels=labels, source_payload=source_payload, names_in_diff=names_in_diff
        )
        before, before_title = reader(change.get("before"))
        after, after_title = reader(change.get("after"))
        note = str(change.get("note") or "")
        script = _script_change(split_path(path), change.get("before"), change.get("after"))
        if script is not None:
            # the changed lines, not base64 (the raw values stay in the raw view)
            before, after = script["before_summary"], script["after_summary"]
            detail = SEPARATOR.join(part for part in (detail, script["where"]) if part)
            if script["same_text"]:
                note = note or "Same script text; only its encoding differs (see the raw values)."
            elif script["same_lines"]:
                note = note or (
                    "Same lines, but the line endings (CRLF / LF) or the final newline differ: "
                    "a script with Windows line endings can fail on macOS (see the raw values)."
                )
        rows.append(
            {
                "setting": setting,
                "detail": detail,
                "path": path,
                "raw_setting_id": raw_id,
                "description": description,
                "before": before,
                "after": after,
                "before_raw": change.get("before"),
                "after_raw": change.get("after"),
                "before_json": _json_text(change.get("before")),
                "after_json": _json_text(change.get("after")),
                "before_title": before_title,
                "after_title": after_title,
                "technical": technical,
                "note": note,
                "script": script,
            }
        )
    return rows


def readable_kept(
    diff: Mapping[str, Any],
    *,
    labels: Mapping[str, SettingLabel],
    source_payload: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """``diff["kept"]`` (elements a merge keeps in the target) with readable names:
    ``{"setting", "detail", "path", "note"}``."""
    rows = []
    for kept in diff.get("kept") or []:
        if not isinstance(kept, Mapping):
            continue
        path = str(kept.get("path", ""))
        setting, detail, *_ = readable_path(path, labels=labels, source_payload=source_payload)
        rows.append(
            {"setting": setting, "detail": detail, "path": path, "note": kept.get("note", "")}
        )
    return rows


class DiffRows(list[dict[str, Any]]):
    """``readable_diff_rows`` for a page: the rows, the readable ``kept`` elements, and how
    many rows are shown in the main table (``shown``) or only with the raw view
    (``technical_count``)."""

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        kept: Sequence[dict[str, Any]] = (),
        places: Sequence[dict[str, Any]] = (),
    ):
        super().__init__(rows)
        self.kept = list(kept)
        self.places = list(places)
        self.technical_count = sum(1 for row in rows if row["technical"])
        self.shown = len(rows) - self.technical_count


def diff_rows_for_page(
    diff: Mapping[str, Any],
    *,
    labels: Mapping[str, SettingLabel],
    source_payload: Mapping[str, Any] | None = None,
) -> DiffRows:
    """``readable_diff_rows`` and ``readable_kept`` of one diff, as the preview page shows
    them (``restores/_diff.html``)."""
    return DiffRows(
        readable_diff_rows(diff, labels=labels, source_payload=source_payload),
        kept=readable_kept(diff, labels=labels, source_payload=source_payload),
        places=readable_places(diff, labels=labels, source_payload=source_payload),
    )
