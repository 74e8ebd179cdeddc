"""Seed loader: a directory of JSON files, one Graph object per file (see README.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tenantguard.emulator.credentials import APPLICATION_TYPE, APPLICATIONS
from tenantguard.emulator.resources import BY_COLLECTION, RESOURCES
from tenantguard.intune import registry


class SeedError(ValueError):
    """A seed file that cannot be loaded; the message names the file and the fix."""


_CONTEXT = re.compile(r"\$metadata#(?P<path>[^?]*)$")


def _type_collections() -> dict[str, str]:
    """Fallback for objects without ``@odata.context``: exact ``@odata.type`` -> collection,
    from each collection's entity type and each registered type's ``@odata.type`` values (a
    value two collections share places nothing)."""
    found: dict[str, set[str]] = {}
    for spec in RESOURCES:
        if spec.entity_type:
            found.setdefault(spec.entity_type, set()).add(spec.collection)
    for ptype in registry.all_types():
        for odata_type in (*ptype.odata_types, ptype.default_odata_type):
            if odata_type:
                found.setdefault(odata_type, set()).add(ptype.collection)
    mapping = {name: next(iter(places)) for name, places in found.items() if len(places) == 1}
    mapping[APPLICATION_TYPE] = APPLICATIONS  # an app registration: its credentials (README.md)
    return mapping


_TYPE_COLLECTIONS = _type_collections()


def collection_from_context(context: str) -> str | None:
    """``…/beta/$metadata#deviceManagement/configurationPolicies(assignments(),settings())/$entity``
    -> ``deviceManagement/configurationPolicies``."""
    match = _CONTEXT.search(context)
    if not match:
        return None
    segments = []
    for segment in match.group("path").split("/"):
        name = segment.split("(", 1)[0]
        if not name or name.startswith("$") or name.startswith("microsoft.graph."):
            continue
        segments.append(name)
    path = "/".join(segments)
    return path if path in BY_COLLECTION or path == APPLICATIONS else None


def collection_of(obj: dict[str, Any], *, source: str) -> str:
    context = obj.get("@odata.context")
    if isinstance(context, str):
        collection = collection_from_context(context)
        if collection:
            return collection
    odata_type = str(obj.get("@odata.type", ""))
    if odata_type in _TYPE_COLLECTIONS:
        return _TYPE_COLLECTIONS[odata_type]
    if odata_type.endswith("CompliancePolicy"):
        return "deviceManagement/deviceCompliancePolicies"
    if odata_type.endswith("Configuration") and odata_type.startswith("#microsoft.graph."):
        return "deviceManagement/deviceConfigurations"
    raise SeedError(
        f"{source}: cannot tell the Graph collection of this object (@odata.context "
        f"{context!r}, @odata.type {odata_type!r}); add the @odata.context Graph returned, "
        "e.g. 'https://graph.microsoft.com/beta/$metadata#deviceManagement/"
        "deviceConfigurations/$entity'."
    )


def load_seed_file(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SeedError(f"{path}: not a UTF-8 JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise SeedError(f"{path}: expected one JSON object, got {type(data).__name__}")
    if isinstance(data.get("value"), list) and "id" not in data:
        # A collection response: every item belongs to the collection of the context.
        context = str(data.get("@odata.context", ""))
        collection = collection_from_context(context)
        out = []
        for index, item in enumerate(data["value"]):
            item_collection = collection or collection_of(item, source=f"{path}[{index}]")
            out.append((item_collection, item))
        return out
    return [(collection_of(data, source=str(path)), data)]


def load_seed_dir(seed_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every ``*.json`` file below ``seed_dir`` (sorted by path, so loading is deterministic)."""
    seed_dir = Path(seed_dir)
    if not seed_dir.is_dir():
        raise SeedError(f"seed directory {seed_dir} does not exist")
    objects: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(seed_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() == ".json":
            objects.extend(load_seed_file(path))
    return objects
