"""Serving the emulator over real HTTP on loopback."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tenantguard.emulator import GraphEmulator
from tenantguard.emulator.server import parse_tenant_spec, serve_app


def test_serve_on_loopback_answers_graph_requests(emu: GraphEmulator) -> None:
    """Emulator: a threaded WSGI server on 127.0.0.1 (port 0 = any free port) answers Graph
    requests; @odata.context names the server's own address."""
    emu.add_tenant(tenant_id="t", token="tok")
    server = serve_app(emu, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        response = httpx.get(f"{base}/v1.0/groups", headers={"Authorization": "Bearer tok"})
        assert response.status_code == 200
        assert response.json()["@odata.context"] == f"{base}/v1.0/$metadata#groups"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_parse_tenant_spec() -> None:
    """CLI: --tenant ID:TOKEN:SEED_DIR (SEED_DIR optional, may contain ':')."""
    assert parse_tenant_spec("contoso:tok:/seed/dir") == ("contoso", "tok", Path("/seed/dir"))
    assert parse_tenant_spec("contoso:tok:") == ("contoso", "tok", None)
    assert parse_tenant_spec("contoso:tok") == ("contoso", "tok", None)
    assert parse_tenant_spec("c:t:C:/seeds").seed_dir == Path("C:/seeds")
    with pytest.raises(ValueError, match="ID:TOKEN"):
        parse_tenant_spec("only-an-id")


def test_concurrent_writes_over_http_are_all_kept(emu: GraphEmulator) -> None:
    """Emulator: the threaded server serialises state changes; concurrent POSTs all land."""
    tenant = emu.add_tenant(tenant_id="t", token="tok")
    server = serve_app(emu, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    failures: list[int] = []

    def worker(index: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": "Bearer tok"}) as c:
            for j in range(10):
                status = c.post("/v1.0/groups", json={"displayName": f"G{index}-{j}"}).status_code
                if status != 201:
                    failures.append(status)

    try:
        workers = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=30)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert failures == []
    groups = tenant.list_objects("groups")
    assert len(groups) == 60 and len({g["id"] for g in groups}) == 60
