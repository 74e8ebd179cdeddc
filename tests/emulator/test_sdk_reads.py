"""Microsoft's own SDK models read everything the emulator serves without unknown properties.

Every collection the emulator serves, seeded with the demo tenant, is listed (all pages) over
real HTTP on loopback and every object is read by id; each answer is parsed by kiota's JSON
parse node into the ``msgraph_beta`` model of the collection's type (polymorphic through
``@odata.type``, as the SDK does). A property the SDK's model does not declare lands in the
model's ``additional_data``; none may, at any depth, besides instance annotations.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

import httpx
import pytest

pytest.importorskip(
    "msgraph_beta",
    reason="msgraph-beta-sdk (Microsoft's Graph beta models) is not installed; "
    "it is pinned in requirements.lock",
)
from kiota_serialization_json.json_parse_node_factory import (
    JsonParseNodeFactory,
)

from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.demo import demo_tenant_objects
from tenantguard.emulator.resources import MANAGED_APP_POLICIES, RESOURCES
from tenantguard.emulator.schema import OPEN_TYPES, load_schema
from tenantguard.emulator.server import serve_app

TOKEN = "sdk-token"
_FACTORY = JsonParseNodeFactory()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    emulator = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    emulator.add_tenant(
        tenant_id="contoso-sdk",
        token=TOKEN,
        seed_objects=demo_tenant_objects(tenant_label="Contoso", seed=0),
    )
    server = serve_app(emulator)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        emulator.close()


def _model_class(type_name: str) -> type:
    """The SDK class of a ``microsoft.graph.*`` type (kiota's module and class naming)."""
    parts = type_name.removeprefix("microsoft.graph.").split(".")
    *namespaces, name = parts
    module = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    package = ".".join(re.sub(r"(?<!^)(?=[A-Z])", "_", n).lower() for n in namespaces)
    dotted = f"msgraph_beta.generated.models.{package + '.' if package else ''}{module}"
    return getattr(importlib.import_module(dotted), name[0].upper() + name[1:])


def _unknown_properties(obj: Any, path: str) -> list[str]:
    found: list[str] = []
    open_type = str(getattr(obj, "odata_type", None) or "").removeprefix("#") in OPEN_TYPES
    for key in getattr(obj, "additional_data", None) or {}:
        # instance annotations (@odata.context, x@odata.type) are fine; so are undeclared
        # properties of an open type (schema.OPEN_TYPES: Graph serves e.g. creationOptions)
        if "@" not in key and not open_type:
            found.append(f"{path}.{key}")
    if is_dataclass(obj):
        for f in fields(obj):
            if f.name != "additional_data":
                found += _unknown_properties(getattr(obj, f.name), f"{path}.{f.name}")
    elif isinstance(obj, list):
        for index, item in enumerate(obj):
            found += _unknown_properties(item, f"{path}[{index}]")
    return found


def _parse(payload: bytes, model: type, *, many: bool) -> list[Any]:
    root = _FACTORY.get_root_parse_node("application/json", payload)
    if many:
        values = root.get_child_node("value")
        assert values is not None
        return list(values.get_collection_of_object_values(model) or [])
    return [root.get_object_value(model)]


def _served_collections() -> list[str]:
    collections = [spec.collection for spec in RESOURCES]
    return [*collections, MANAGED_APP_POLICIES]


@pytest.mark.parametrize("collection", _served_collections())
def test_the_sdk_lists_and_reads_the_collection_without_unknown_properties(
    base_url: str, collection: str
) -> None:
    schema = load_schema()
    type_name = schema.collection_type(collection)
    assert type_name is not None, f"graph_schema.json has no type for {collection}"
    model = _model_class(type_name)
    problems: list[str] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        response = client.get(f"/beta/{collection}")
        assert response.status_code == 200, response.text
        if "value" not in response.json():  # a singleton (deviceManagement/settings)
            for obj in _parse(response.content, model, many=False):
                problems += _unknown_properties(obj, collection)
            assert problems == []
            return
        ids: list[str] = []
        url: str | None = f"/beta/{collection}"
        while url:
            page = client.get(url)
            assert page.status_code == 200, page.text
            for obj in _parse(page.content, model, many=True):
                assert isinstance(obj, model), (collection, type(obj))
                problems += _unknown_properties(obj, f"{collection}('{obj.id}')")
                ids.append(str(obj.id))
            url = page.json().get("@odata.nextLink")
        for object_id in ids:
            single = client.get(f"/beta/{collection}/{object_id}")
            assert single.status_code == 200, single.text
            (obj,) = _parse(single.content, model, many=False)
            assert isinstance(obj, model), (collection, object_id, type(obj))
            problems += _unknown_properties(obj, f"GET {collection}/{object_id}")
    assert problems == [], "properties the SDK's models do not declare:\n" + "\n".join(problems)
