"""The demo tenant in the in-process Graph emulator, read by the real GraphClient, and a backup
of it taken with ``iter_capture`` before each test changes anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tenantguard.emulator import EmulatorConfig, GraphEmulator, Tenant, ThrottleConfig
from tenantguard.emulator.demo import collection_of, demo_tenant_objects
from tenantguard.graph import GraphClient, StaticTokenProvider
from tenantguard.intune import registry
from tenantguard.intune.capture import CapturedItem, CaptureWarning, iter_capture

TOKEN = "restore-side-token"


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to the emulator and keeps ``(method, path, json body)`` of each, so
    tests can check what a write sent (the emulator's request log has no bodies)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        body = json.loads(content) if content else None
        self.sent.append((request.method, request.url.path, body))
        return self.inner.handle_request(request)


@dataclass
class Env:
    emu: GraphEmulator
    tenant: Tenant
    client: GraphClient
    objects: list[dict[str, Any]]
    recorder: RecordingTransport
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

    def writes_since(self, mark: int) -> list[tuple[str, str, int]]:
        """Requests other than reads (``$batch`` only carries capture's GETs here)."""
        return [r for r in self.requests_since(mark) if r[0] != "GET" and r[1] != "/beta/$batch"]


def make_client(
    emu: GraphEmulator,
    token: str,
    *,
    transport: httpx.BaseTransport | None = None,
    graph_url: str = "https://graph.microsoft.com",
) -> GraphClient:
    return GraphClient(
        graph_url=graph_url,
        token_provider=StaticTokenProvider(token),
        transport=transport if transport is not None else emu.transport(),
    )


@pytest.fixture
def env() -> Iterator[Env]:
    objects = demo_tenant_objects(tenant_label="Contoso Test", seed=101)
    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    tenant = emu.add_tenant(tenant_id="contoso-test", token=TOKEN, seed_objects=objects)
    recorder = RecordingTransport(emu.transport())
    client = make_client(emu, TOKEN, transport=recorder)
    entries = list(iter_capture(client))
    assert not [e for e in entries if isinstance(e, CaptureWarning)]
    backup = [e for e in entries if isinstance(e, CapturedItem)]
    with client:
        yield Env(
            emu=emu, tenant=tenant, client=client, objects=objects, recorder=recorder, backup=backup
        )
    assert not [e for e in emu.request_log if e.method == "DELETE"], "a DELETE was sent"
