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
     "note": str}

- Settings catalog, endpoint security, compliance settings catalog and reusable settings
  (``settings[<settingDefinitionId>]...``, ``children[<id>]``): the innermost setting by its
  display name from ``labels`` (``catalog.selectors.setting_labels``), its parents as context,
  choice values by the option's display name (``option N`` when the definition is unknown).
- Administrative templates (``definitionValues[<definition id>]...``): the definition's
  display name and category path from the backup payload (``source_payload``: its expanded
  ``definition`` and ``presentation``), ``enabled`` as Enabled / Disabled, presentation values
  by the presentation's label.
- Any other path: each property by ``property_labels.property_label`` (curated admin-center
  words, else a humanized camelCase name), list elements by their identity (OMA-URI settings by
  URI and name, actions for noncompliance by action).

Nothing here reads the database: callers load the labels and payloads (once per page).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from tenantguard.intune.property_labels import action_type_label, property_label

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
    if value is None or isinstance(value, str):
        return value
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
    """A choice value by its option's display name (and description); unknown options of a
    known setting id as ``option N`` (what follows the id), anything else as it is."""
    if not isinstance(value, str):
        return readable_value(value), ""
    if label is not None and value in label.options:
        option = label.options[value]
        return option.display_name or value, option.description
    if setting_id and value.startswith(setting_id + "_"):
        return "option " + value[len(setting_id) + 1 :], ""
    return value, ""


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
            chain.append(property_label(text))
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
    reader = _action_type if last == "actionType" else _plain
    return setting, SEPARATOR.join(chain[:-1]), raw, "", technical, reader


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
                (element.get("definition") or {}).get("id"),
                (element.get("presentation") or {}).get("id"),
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


def readable_diff_rows(
    diff: Mapping[str, Any],
    *,
    labels: Mapping[str, SettingLabel],
    source_payload: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``diff["changes"]`` (see the module docstring), in the diff's order.

    ``labels``: setting definition id -> ``SettingLabel`` (empty: settings by their raw id,
    choices as ``option N``). ``source_payload``: the backup item's payload (administrative
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
