"""OData query options: ``$expand``, ``$select``, ``$filter``, ``$top``, ``$skiptoken``."""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from typing import Any

from tenantguard.emulator import traits_apps
from tenantguard.emulator.errors import EmulatorHTTPError, bad_request
from tenantguard.emulator.resources import NavTree

ExpandTree = dict[str, "ExpandTree"]


def _split_top_level(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0 or quoted:
        raise bad_request(f"Syntax error in query option '{text}'.", intune=False)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_expand(text: str | None) -> ExpandTree:
    """``a,b($expand=c,d($expand=e))`` -> ``{"a": {}, "b": {"c": {}, "d": {"e": {}}}}``."""
    tree: ExpandTree = {}
    if not text:
        return tree
    for item in _split_top_level(text, ","):
        name, _, rest = item.partition("(")
        name = name.strip()
        children: ExpandTree = {}
        if rest:
            if not rest.endswith(")"):
                raise bad_request(f"Syntax error in $expand near '{item}'.", intune=False)
            for option in _split_top_level(rest[:-1], ";"):
                key, _, value = option.partition("=")
                if key.strip().lstrip("$").lower() == "expand":
                    children = parse_expand(value)
        tree[name] = children
    return tree


def check_expand(expand: ExpandTree, navigation: NavTree, type_name: str) -> None:
    """Graph rejects an unknown navigation property with 400."""
    for name, children in expand.items():
        if name == "*":
            continue
        if name not in navigation:
            raise EmulatorHTTPError(
                400,
                "BadRequest",
                f"Could not find a property named '{name}' on type '{type_name}'.",
            )
        check_expand(children, navigation[name], type_name)


def project(obj: dict[str, Any], navigation: NavTree, expand: ExpandTree) -> dict[str, Any]:
    """The object as Graph shows it: navigation properties only when expanded, recursively."""
    out: dict[str, Any] = {}
    expand_all = "*" in expand
    for key, value in obj.items():
        if key.startswith("__"):
            continue
        if key in navigation:
            if key not in expand and not expand_all:
                continue
            sub_nav = navigation[key]
            sub_expand = expand.get(key, {})
            if isinstance(value, list):
                out[key] = [
                    project(item, sub_nav, sub_expand) if isinstance(item, dict) else item
                    for item in value
                ]
            elif isinstance(value, dict):
                out[key] = project(value, sub_nav, sub_expand)
            else:
                out[key] = value
        else:
            out[key] = copy.deepcopy(value)
    for key in expand:
        if key in navigation and key not in out and key != "*":
            out[key] = []
    return out


def apply_select(
    obj: dict[str, Any], select: list[str], expand: ExpandTree, *, keep_id: bool = True
) -> dict[str, Any]:
    """The selected properties (plus expanded navigations and ``@odata.type``).

    ``keep_id``: Intune answers ``id`` whatever ``$select`` names (clients such as IntuneCD
    read ``id`` after ``$select=displayName``); Entra directory objects do not (Graph's "Get
    user" example: ``$select=displayName,givenName`` answers only those)."""
    if not select:
        return obj
    # Property names in $select are not case-sensitive (IntuneCD selects "displayname").
    wanted = {name.lower() for name in (*select, *expand)}
    if keep_id:
        wanted.add("id")
    return {k: v for k, v in obj.items() if k.lower() in wanted or k == "@odata.type"}


def parse_select(text: str | None) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


# --- $filter -----------------------------------------------------------------------------

_LITERAL = r"'(?:[^']|'')*'|-?\d+(?:\.\d+)?|true|false|null"
# A property path may start with a type cast (``microsoft.graph.managedApp/appAvailability``)
# and stand in parentheses, as IntuneCD writes it: ``(microsoft.graph.managedApp/x) eq null``.
_COMPARE = re.compile(rf"^\(?\s*([\w/.]+?)\s*\)?\s+(eq|ne)\s+({_LITERAL})$", re.IGNORECASE)
_STARTSWITH = re.compile(rf"^startswith\(\s*([\w/]+)\s*,\s*({_LITERAL})\s*\)$", re.IGNORECASE)
_IN = re.compile(r"^([\w/]+)\s+in\s+\((.*)\)$", re.IGNORECASE)
# isof('microsoft.graph.iosVppApp'): the object is of that type or derived from it.
_ISOF = re.compile(r"^isof\(\s*'([\w.#]+)'\s*\)$", re.IGNORECASE)
# p has 'member': a flags enum (Graph serializes it "a,b") holds that member.
_HAS = re.compile(r"^([\w/]+)\s+has\s+('(?:[^']|'')*')$", re.IGNORECASE)


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return float(text) if "." in text else int(text)


def _value(obj: dict[str, Any], path: str) -> Any:
    current: Any = obj
    for part in path.split("/"):
        if "." in part:  # a type cast: null for objects of another type
            if not isinstance(current, dict) or not traits_apps.cast_matches(current, part):
                return None
            continue
        current = current.get(part) if isinstance(current, dict) else None
    return current


def _flags(value: Any) -> set[str]:
    """The members of a flags enum value: ``"a,b"`` (Graph's JSON form) or a list."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return {str(item).strip().casefold() for item in items}


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return bool(left == right)


def _split_logical(text: str, word: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    token = f" {word} "
    lowered = text.lower()
    while i < len(text):
        char = text[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and lowered.startswith(token, i):
            parts.append(text[start:i])
            i += len(token)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def parse_filter(text: str | None) -> Callable[[dict[str, Any]], bool] | None:
    """Supports ``eq``/``ne`` against literals, ``startswith(p,'x')``, ``p in ('a','b')``,
    ``isof('microsoft.graph.T')``, ``p has 'member'`` (flags enums), combined with
    ``and``/``or``. Anything else is answered 400 like an unsupported filter."""
    if not text:
        return None
    text = text.strip()
    alternatives = _split_logical(text, "or")
    if len(alternatives) > 1:
        preds = [parse_filter(alt) for alt in alternatives]
        return lambda obj: any(p(obj) for p in preds if p)
    conjuncts = _split_logical(text, "and")
    if len(conjuncts) > 1:
        preds = [parse_filter(part) for part in conjuncts]
        return lambda obj: all(p(obj) for p in preds if p)
    if text.startswith("(") and text.endswith(")"):
        return parse_filter(text[1:-1])
    if match := _COMPARE.match(text):
        prop, op, raw = match.group(1), match.group(2).lower(), match.group(3)
        wanted = _literal(raw)
        if op == "eq":
            return lambda obj: _same(_value(obj, prop), wanted)
        return lambda obj: not _same(_value(obj, prop), wanted)
    if match := _STARTSWITH.match(text):
        prop, prefix = match.group(1), str(_literal(match.group(2))).casefold()
        return lambda obj: str(_value(obj, prop) or "").casefold().startswith(prefix)
    if match := _IN.match(text):
        prop = match.group(1)
        options = [_literal(part) for part in _split_top_level(match.group(2), ",")]
        return lambda obj: any(_same(_value(obj, prop), option) for option in options)
    if match := _ISOF.match(text):
        cast = match.group(1)
        return lambda obj: traits_apps.cast_matches(obj, cast)
    if match := _HAS.match(text):
        prop, member = match.group(1), str(_literal(match.group(2))).casefold()
        return lambda obj: member in _flags(_value(obj, prop))
    raise EmulatorHTTPError(
        400, "BadRequest", f"Invalid filter clause: unsupported expression '{text}'."
    )


# --- paging ------------------------------------------------------------------------------


def encode_skiptoken(offset: int) -> str:
    raw = json.dumps({"offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = int(json.loads(base64.urlsafe_b64decode(padded))["offset"])
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request("The $skiptoken value is not valid.", intune=False) from exc
    if offset < 0:
        raise bad_request("The $skiptoken value is not valid.", intune=False)
    return offset


def strip_annotations(value: Any) -> Any:
    """Drop OData annotations a Graph GET adds (``@odata.context``, ``prop@odata.type``,
    ``#microsoft.graph.action`` links...), keeping ``@odata.type`` and ``...@odata.bind``."""
    if isinstance(value, list):
        return [strip_annotations(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key.startswith("#"):
            continue
        if "@" in key and key != "@odata.type" and not key.endswith("@odata.bind"):
            continue
        out[key] = strip_annotations(item)
    return out
