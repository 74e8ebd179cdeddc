"""Build step: write ``tenantguard/emulator/graph_schema.json`` from Microsoft's generated models.

Run by hand (``make schema``) after changing the pinned ``msgraph-beta-sdk``; the output is
checked in and shipped as package data. Never run at test or run time.

For every ``microsoft.graph.*`` type the emulator can serve or receive the file holds its base
type, whether it is an entity (navigation target) or a complex type, its own declared
properties (inherited ones live on the base) with their OData type, and which of them Microsoft's
generated comments call read-only. Which types: the types of every collection (and complex
singleton such as ``deviceManagement/settings``) under ``deviceManagement``,
``deviceAppManagement``, ``identity/conditionalAccess`` and ``policies`` (all of them, so
collections the emulator adds later are covered without regenerating), of ``groups`` and
``organization``, all their derived types, and every type reachable from their properties
(with derived types). Navigation properties are followed up to ``NAV_DEPTH`` hops from an
Intune collection's type (the served navigation trees) and not at all from directory types
(they reach most of Graph); types beyond are recorded as names only.

Usage: python tools/generate_graph_schema.py [--output PATH]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import re
from collections import deque
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "tenantguard" / "emulator" / "graph_schema.json"
SDK = "msgraph-beta-sdk"

# Collections outside deviceManagement / deviceAppManagement that the emulator serves:
# collection path -> (owning class, navigation property) or a type name.
DIRECTORY_COLLECTIONS = {
    "groups": "microsoft.graph.group",
    "organization": "microsoft.graph.organization",
    "identity/conditionalAccess/policies": "microsoft.graph.conditionalAccessPolicy",
}
# Singletons whose navigation properties are served as collections "<prefix>/<nav>" (all of
# them, so collections the emulator adds later are covered without regenerating).
SINGLETONS = {
    "deviceManagement": "microsoft.graph.deviceManagement",
    "deviceAppManagement": "microsoft.graph.deviceAppManagement",
    "identity/conditionalAccess": "microsoft.graph.conditionalAccessRoot",
    "policies": "microsoft.graph.policyRoot",
}

NAV_DEPTH = 3
_PRIMITIVES = {
    "get_str_value": "Edm.String",
    "get_bool_value": "Edm.Boolean",
    "get_int_value": "Edm.Int32",
    "get_float_value": "Edm.Double",
    "get_datetime_value": "Edm.DateTimeOffset",
    "get_date_value": "Edm.Date",
    "get_time_value": "Edm.TimeOfDay",
    "get_timedelta_value": "Edm.Duration",
    "get_uuid_value": "Edm.Guid",
    "get_bytes_value": "Edm.Binary",
}
_PRIMITIVE_CLASSES = {
    "str": "Edm.String",
    "bool": "Edm.Boolean",
    "int": "Edm.Int32",
    "float": "Edm.Double",
    "datetime": "Edm.DateTimeOffset",
    "date": "Edm.Date",
    "time": "Edm.TimeOfDay",
    "timedelta": "Edm.Duration",
    "UUID": "Edm.Guid",
    "bytes": "Edm.Binary",
}
_READ_ONLY = re.compile(r"read-?only", re.IGNORECASE)


class _Recorder:
    """A stand-in ParseNode: each deserializer lambda calls one getter; remember which."""

    def __init__(self) -> None:
        self.call: tuple[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        def getter(arg: Any = None, *_: Any) -> None:
            self.call = (name, arg)

        return getter


def _model_modules(package: Any) -> list[Any]:
    """Every module under the models package (sub-namespaces have no ``__init__``, so
    ``pkgutil.walk_packages`` does not descend into them)."""
    root = Path(package.__path__[0])
    modules = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        dotted = ".".join(path.relative_to(root).with_suffix("").parts)
        modules.append(importlib.import_module(f"{package.__name__}.{dotted}"))
    return modules


def _import_all_models() -> list[type]:
    package = importlib.import_module("msgraph_beta.generated.models")
    from kiota_abstractions.serialization import Parsable

    classes: list[type] = []
    for module in _model_modules(package):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and issubclass(value, Parsable)
                and hasattr(value, "get_field_deserializers")
            ):
                classes.append(value)
    return classes


def _discriminator_names(classes: Iterable[type]) -> dict[str, str]:
    """Class name -> OData type name, from the bases' discriminator mappings."""
    names: dict[str, str] = {}
    pattern = re.compile(
        r'casefold\(\) == "#([\w.]+)"\.casefold\(\):\s*from (\S+) import (\w+)', re.MULTILINE
    )
    for cls in classes:
        factory = vars(cls).get("create_from_discriminator_value")
        if factory is None:
            continue
        source = inspect.getsource(factory.__func__ if hasattr(factory, "__func__") else factory)
        package = cls.__module__.rsplit(".", 1)[0]
        for odata, module, class_name in pattern.findall(source):
            absolute = importlib.util.resolve_name(module, package)
            names.setdefault(f"{absolute}.{class_name}", odata)
    return names


def _type_name(cls: type, mapped: dict[str, str]) -> str:
    default = getattr(cls, "__dataclass_fields__", {}).get("odata_type")
    value = getattr(default, "default", None)
    if isinstance(value, str) and value.startswith("#microsoft.graph."):
        return value[1:]
    if f"{cls.__module__}.{cls.__name__}" in mapped:
        return mapped[f"{cls.__module__}.{cls.__name__}"]
    module = cls.__module__.removeprefix("msgraph_beta.generated.models.")
    parts = module.split(".")[:-1]  # sub-namespace packages, e.g. security, windows_updates
    namespace = ".".join(["microsoft.graph", *(_camel(p) for p in parts)])
    return f"{namespace}.{cls.__name__[0].lower()}{cls.__name__[1:]}"


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p.title() for p in rest)


def _read_only_fields(cls: type) -> set[str]:
    """Python attribute names whose generated comment says the property is read-only (one model
    class per generated module, so the module's text is the class's)."""
    out = set()
    comment = ""
    for line in Path(inspect.getfile(cls)).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = stripped
            continue
        match = re.match(r"(\w+): Optional\[", stripped)
        if match and _READ_ONLY.search(comment):
            out.add(match.group(1))
        comment = ""
    return out


def _describe(cls: type, names: dict[type, str]) -> tuple[dict[str, str], set[str]]:
    """Own declared properties of ``cls`` -> OData type, and the set of read-only ones."""
    instance = cls()
    own = dict(instance.get_field_deserializers())
    base = cls.__mro__[1]
    if base in names:
        for inherited in base().get_field_deserializers():
            own.pop(inherited, None)
    read_only_attrs = _read_only_fields(cls)
    properties: dict[str, str] = {}
    read_only: set[str] = set()
    for name, deserializer in sorted(own.items()):
        if "@" in name:
            continue  # instance annotations (@odata.type) are not properties
        recorder = _Recorder()
        deserializer(recorder)
        assert recorder.call is not None, (cls, name)
        getter, arg = recorder.call
        if getter in _PRIMITIVES:
            odata = _PRIMITIVES[getter]
        elif getter == "get_collection_of_primitive_values":
            odata = (
                f"Collection({_PRIMITIVE_CLASSES.get(getattr(arg, '__name__', ''), 'Edm.Untyped')})"
            )
        elif getter in ("get_object_value", "get_enum_value"):
            odata = names.get(arg, "Edm.Untyped")
        elif getter in ("get_collection_of_object_values", "get_collection_of_enum_values"):
            odata = f"Collection({names.get(arg, 'Edm.Untyped')})"
        else:
            odata = "Edm.Untyped"
        properties[name] = odata
        attr = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        if attr in read_only_attrs or name in read_only_attrs:
            read_only.add(name)
    return properties, read_only


def build() -> dict[str, Any]:
    from enum import Enum

    classes = _import_all_models()
    mapped = _discriminator_names(classes)
    names: dict[type, str] = {cls: _type_name(cls, mapped) for cls in classes}
    for module in _model_modules(importlib.import_module("msgraph_beta.generated.models")):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Enum) and value is not Enum:
                names.setdefault(value, _type_name(value, mapped))
    by_name = {name: cls for cls, name in names.items()}
    entity = by_name["microsoft.graph.entity"]
    derived: dict[str, set[str]] = {}
    for cls, name in names.items():
        if isinstance(cls, type) and hasattr(cls, "get_field_deserializers"):
            for base in cls.__mro__[1:]:
                if base in names:
                    derived.setdefault(names[base], set()).add(name)

    described: dict[str, tuple[dict[str, str], set[str]]] = {}

    def describe(name: str) -> tuple[dict[str, str], set[str]]:
        if name not in described:
            described[name] = _describe(by_name[name], names)
        return described[name]

    def all_properties(name: str) -> dict[str, str]:
        cls = by_name[name]
        out: dict[str, str] = {}
        for base in reversed(cls.__mro__):
            if base in names and hasattr(base, "get_field_deserializers"):
                out.update(describe(names[base])[0])
        return out

    collections: dict[str, str] = dict(DIRECTORY_COLLECTIONS)
    for prefix, singleton in SINGLETONS.items():
        for prop, odata in all_properties(singleton).items():
            inner = odata.removeprefix("Collection(").removesuffix(")")
            # entity collections, and complex singletons served as one object (settings)
            if inner in by_name and not issubclass(by_name[inner], Enum):
                collections[f"{prefix}/{prop}"] = inner

    # Breadth first; ``depth`` counts navigation hops from a collection's entity type. Served
    # navigation trees are at most 3 deep (definitionValues/presentationValues/presentation);
    # deeper hops (managedDevice -> users -> ...) would pull in most of Graph.
    # A type reached as a declared type (collection element, property) brings its derived types
    # (a body may carry any of them); one reached only as a base does not (every entity derives
    # from microsoft.graph.entity).
    seen: dict[tuple[str, bool], int] = {}
    included: set[str] = set()
    queue: deque[tuple[str, int, bool]] = deque(
        (t, 0 if c.rsplit("/", 1)[0] in SINGLETONS else NAV_DEPTH, True)
        for c, t in collections.items()
    )
    while queue:
        name, hops, declared = queue.popleft()
        if name not in by_name or seen.get((name, declared), NAV_DEPTH + 1) <= hops:
            continue
        seen[(name, declared)] = hops
        included.add(name)
        cls = by_name[name]
        if issubclass(cls, Enum):
            continue
        related = [(names[b], hops, False) for b in cls.__mro__[1:] if b in names]
        if declared:
            related += [(d, hops, False) for d in sorted(derived.get(name, ()))]
        for prop_type in all_properties(name).values():
            inner = prop_type.removeprefix("Collection(").removesuffix(")")
            if inner not in by_name:
                continue
            if issubclass(by_name[inner], entity):
                if hops < NAV_DEPTH:
                    related.append((inner, hops + 1, True))
            else:
                related.append((inner, hops, True))
        queue.extend(related)

    types: dict[str, Any] = {}
    enums: list[str] = []
    for name in sorted(included):
        cls = by_name[name]
        if issubclass(cls, Enum):
            enums.append(name)
            continue
        properties, read_only = describe(name)
        base = next((names[b] for b in cls.__mro__[1:] if b in names), None)
        entry: dict[str, Any] = {"kind": "entity" if issubclass(cls, entity) else "complex"}
        if base:
            entry["base"] = base
        entry["properties"] = properties
        if read_only:
            entry["readOnly"] = sorted(read_only)
        types[name] = entry
    return {
        "source": f"{SDK} {metadata.version(SDK)} (generated models), "
        "by tools/generate_graph_schema.py",
        "collections": dict(sorted(collections.items())),
        "types": types,
        "enums": enums,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    schema = build()
    text = json.dumps(schema, indent=None, separators=(",", ":"), sort_keys=False)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(
        f"wrote {args.output}: {len(schema['types'])} types, {len(schema['enums'])} enums, "
        f"{len(schema['collections'])} collections, {len(text)} bytes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
