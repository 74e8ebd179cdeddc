"""The demo tenant in the in-process Graph emulator, read by the real GraphClient, and a backup
of it taken with ``iter_capture`` before each test changes anything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tenantguard.emulator import EmulatorConfig, GraphEmulator, Tenant, ThrottleConfig
from tenantguard.emulator.demo import collection_of, demo_tenant_objects
from tenantguard.graph import GraphClient, StaticTokenProvider
from tenantguard.intune import registry
from tenantguard.intune.capture import CapturedItem, CaptureWarning, iter_capture

TOKEN = "restore-side-token"
OTHER_TOKEN = "restore-side-other-token"


@dataclass
class Env:
    emu: GraphEmulator
    tenant: Tenant
    client: GraphClient
    objects: list[dict[str, Any]]
    backup: list[CapturedItem] = field(default_factory=list)

    def items(self, type_key: str) -> list[CapturedItem]:
        return [item for item in self.backup if item.type_key == type_key]

    def item(self, type_key: str, index: int = 0) -> CapturedItem:
        items = self.items(type_key)
        assert items, f"the demo tenant has no {type_key}"
        return items[index]

    def groups(self) -> list[dict[str, Any]]:
        return [o for o in self.objects if collection_of(o) == "groups"]

    def collection(self, type_key: str) -> str:
        return registry.get(type_key).collection

    def live(self, type_key: str, object_id: str) -> dict[str, Any] | None:
        return self.tenant.get_object(self.collection(type_key), object_id)

    def log_mark(self) -> int:
        return len(self.emu.request_log)

    def requests_since(self, mark: int) -> list[tuple[str, str, int]]:
        return [(e.method, e.path, e.status) for e in self.emu.request_log[mark:]]


def make_client(emu: GraphEmulator, token: str) -> GraphClient:
    return GraphClient(
        graph_url="https://graph.microsoft.com",
        token_provider=StaticTokenProvider(token),
        transport=emu.transport(),
    )


@pytest.fixture
def env() -> Iterator[Env]:
    objects = demo_tenant_objects(tenant_label="Contoso Test", seed=101)
    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    tenant = emu.add_tenant(tenant_id="contoso-test", token=TOKEN, seed_objects=objects)
    client = make_client(emu, TOKEN)
    entries = list(iter_capture(client))
    assert not [e for e in entries if isinstance(e, CaptureWarning)]
    backup = [e for e in entries if isinstance(e, CapturedItem)]
    with client:
        yield Env(emu=emu, tenant=tenant, client=client, objects=objects, backup=backup)
    assert not [e for e in emu.request_log if e.method == "DELETE"], "a DELETE was sent"
