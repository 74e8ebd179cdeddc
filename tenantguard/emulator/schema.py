"""Graph's type schema and the write-body check built on it.

``graph_schema.json`` is generated from Microsoft's own SDK models by
``tools/generate_graph_schema.py`` (``make schema``) and checked in; nothing here imports the
SDK. A write body naming a property its type does not declare is answered 400 the way Graph
does (see README "Schema"); a type the schema does not know at all is logged and accepted, so
types added to the emulator before the schema is regenerated keep working.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantguard.emulator.errors import EmulatorHTTPError

logger = logging.getLogger(__name__)

SCHEMA_FILE = Path(__file__).with_name("graph_schema.json")
_GRAPH = "microsoft.graph."
# Intune's services name their EDM namespace this way in validation messages.
_INTUNE_NAMESPACE = "microsoft.management.services.api."
# Open types take (and serve) properties they do not declare. The SDK's models do not say which
# types are open; Graph's resource pages do ("group resource type": "This resource is an open
# type that allows other properties to be passed in").
OPEN_TYPES = frozenset({"microsoft.graph.group"})


@dataclass(frozen=True)
class GraphSchema:
    """Types by full name (``microsoft.graph.windows10GeneralConfiguration``): ``kind``
    (entity / complex), ``base``, own ``properties`` (name -> OData type) and ``readOnly``."""

    collections: dict[str, str]
    types: dict[str, dict[str, Any]]
    enums: frozenset[str]
    source: str = ""
    _cache: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def knows(self, type_name: str) -> bool:
        return type_name in self.types

    def properties(self, type_name: str) -> dict[str, str]:
        """Every property of the type, inherited ones included."""
        if type_name not in self._cache:
            entry = self.types[type_name]
            inherited = self.properties(entry["base"]) if entry.get("base") in self.types else {}
            self._cache[type_name] = {**inherited, **entry["properties"]}
        return self._cache[type_name]

    def read_only(self, type_name: str) -> frozenset[str]:
        names: set[str] = set()
        current: str | None = type_name
        while current in self.types:
            names.update(self.types[current].get("readOnly", ()))
            current = self.types[current].get("base")
        return frozenset(names)

    def is_a(self, type_name: str, base: str) -> bool:
        current: str | None = type_name
        while current is not None:
            if current == base:
                return True
            current = self.types.get(current, {}).get("base")
        return False

    def collection_type(self, collection: str) -> str | None:
        return self.collections.get(collection)

    def property_type(self, type_name: str, prop: str) -> str | None:
        """The element type of a (navigation or structural) property, collections unwrapped."""
        if not self.knows(type_name):
            return None
        declared = self.properties(type_name).get(prop)
        if declared is None:
            return None
        return declared.removeprefix("Collection(").removesuffix(")")


@functools.cache
def load_schema() -> GraphSchema:
    data = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return GraphSchema(
        collections=data["collections"],
        types=data["types"],
        enums=frozenset(data["enums"]),
        source=data.get("source", ""),
    )


class SchemaValidationError(EmulatorHTTPError):
    """Graph's model validation answer; its ``innerError`` repeats the message, as Graph's
    does for these (``{"code": "ModelValidationFailure", "message": m, "innerError":
    {"message": m, "date", "request-id", "client-request-id"}}``)."""

    def body(self, *, request_id: str, client_request_id: str, url: str) -> dict[str, object]:
        out = super().body(request_id=request_id, client_request_id=client_request_id, url=url)
        error = out["error"]
        assert isinstance(error, dict)
        error["innerError"] = {"message": self.message, **error["innerError"]}
        return out


def _type_of(raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw:
        return None
    return raw.removeprefix("#")


def _short(type_name: str) -> str:
    return type_name.removeprefix(_GRAPH)


def unknown_property_error(type_name: str, prop: str, *, directory: bool) -> EmulatorHTTPError:
    if directory:
        return EmulatorHTTPError(400, "Request_BadRequest", f"Invalid property '{prop}'.")
    return SchemaValidationError(
        400,
        "ModelValidationFailure",
        f"The property '{prop}' does not exist on type '{_INTUNE_NAMESPACE}{_short(type_name)}'. "
        "Make sure to only use property names that are defined by the type.",
    )


def not_assignable_error(sent: str, expected: str) -> EmulatorHTTPError:
    return SchemaValidationError(
        400,
        "ModelValidationFailure",
        f"An entry with type '{_INTUNE_NAMESPACE}{_short(sent)}' was found, but it is not "
        f"assignable to the expected type '{_INTUNE_NAMESPACE}{_short(expected)}'. The type "
        "specified in the entry must be equal to either the expected type or a derived type.",
    )


def check_value(
    value: Any, expected: str | None, *, directory: bool, where: str, schema: GraphSchema
) -> None:
    """Check one JSON value against ``expected`` (a full type name, or None when unknown)."""
    if isinstance(value, list):
        for item in value:
            check_value(item, expected, directory=directory, where=where, schema=schema)
        return
    if not isinstance(value, dict):
        return
    raw_type = value.get("@odata.type")
    if raw_type is not None and not isinstance(raw_type, str):
        raise SchemaValidationError(
            400,
            "ModelValidationFailure",
            "The value of the 'odata.type' annotation must be a string naming a type, such as "
            f"'#{_GRAPH}{_short(expected or 'entity')}'.",
        )
    # A type name this schema (a pinned SDK) does not know may be newer than the pin: real
    # exports carry such types and Graph accepts them, so it is logged, not refused.
    sent = _type_of(raw_type)
    if sent is not None and sent.startswith(_GRAPH) and schema.knows(sent):
        if expected is not None and schema.knows(expected) and not schema.is_a(sent, expected):
            raise not_assignable_error(sent, expected)
        type_name = sent
    elif sent is not None:
        logger.info("schema: %s carries @odata.type %r the schema does not know", where, sent)
        return
    elif expected is not None and schema.knows(expected):
        type_name = expected
    else:
        if expected is not None and not expected.startswith("Edm."):
            logger.info("schema: %s has type %r the schema does not know", where, expected)
        return
    declared = schema.properties(type_name)
    for key, item in value.items():
        if "@" in key:  # instance annotations: @odata.type, x@odata.bind, @odata.context ...
            continue
        if key not in declared:
            if type_name in OPEN_TYPES:
                continue
            raise unknown_property_error(type_name, key, directory=directory)
        inner = declared[key].removeprefix("Collection(").removesuffix(")")
        if schema.knows(inner):
            check_value(item, inner, directory=directory, where=f"{where}.{key}", schema=schema)


def check_write_body(
    body: Any,
    *,
    collection: str,
    object_type: str | None = None,
    navigation: str | None = None,
    directory: bool = False,
) -> None:
    """Validate a create / update body for ``collection`` (or its ``navigation`` child, e.g.
    ``definitionValues``). ``object_type`` is the stored object's ``@odata.type`` for updates
    and child writes; else the collection's type is expected."""
    schema = load_schema()
    expected = _type_of(object_type) or schema.collection_type(collection)
    where = collection if navigation is None else f"{collection}/{navigation}"
    if expected is None:
        logger.info("schema: no type known for %s; write accepted unchecked", where)
        return
    if navigation is not None:
        parent = expected if schema.knows(expected) else schema.collection_type(collection)
        expected = schema.property_type(parent, navigation) if parent else None
        if expected is None:
            logger.info("schema: no type known for %s; write accepted unchecked", where)
            return
    check_value(body, expected, directory=directory, where=where, schema=schema)
