"""Serve the emulator over HTTP (threaded, persistent HTTP/1.1 connections; loopback by default)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from tenantguard.emulator.app import GraphEmulator
from tenantguard.emulator.config import EmulatorConfig
from tenantguard.emulator.http11 import (
    CLOSE_TIMEOUT,
    IDLE_TIMEOUT,
    HTTP11RequestHandler,
    HTTP11WSGIServer,
)

logger = logging.getLogger("tenantguard.emulator")


class TenantSpec(NamedTuple):
    tenant_id: str
    token: str
    seed_dir: Path | None


def parse_tenant_spec(spec: str) -> TenantSpec:
    """``ID:TOKEN[:SEED_DIR]`` (an empty or missing SEED_DIR means no seed). The seed path
    may itself contain ``:``; ID and TOKEN may not."""
    parts = spec.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"tenant spec {spec!r} must look like ID:TOKEN:SEED_DIR")
    seed = parts[2] if len(parts) == 3 and parts[2] else None
    return TenantSpec(parts[0], parts[1], Path(seed) if seed else None)


# The server class's former name (a wsgiref server answering HTTP/1.0, one request per
# connection); kept for callers that name it.
ThreadingWSGIServer = HTTP11WSGIServer


def serve_app(
    emulator: GraphEmulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    idle_timeout: float = IDLE_TIMEOUT,
    close_timeout: float = CLOSE_TIMEOUT,
) -> HTTP11WSGIServer:
    """A threaded HTTP/1.1 server for ``emulator`` (connections kept alive like Graph's, a
    thread per connection, idle ones closed after ``idle_timeout`` seconds), bound but not
    started: call ``serve_forever()`` (e.g. in a thread), then ``shutdown()`` and
    ``server_close()`` (which closes idle kept-alive connections and waits up to
    ``close_timeout`` seconds for requests still running to answer, so the emulator can be
    closed after it); ``server_port`` is the port actually bound (useful with ``port=0``)."""
    server = HTTP11WSGIServer(
        (host, port),
        HTTP11RequestHandler,
        idle_timeout=idle_timeout,
        close_timeout=close_timeout,
    )
    server.set_app(emulator)
    return server


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    tenants: Iterable[tuple[str, str, Path | str | None]] = (),
    state_dir: Path | None = None,
    config: EmulatorConfig | None = None,
    throttle: bool | None = None,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Run the emulator until interrupted. ``throttle`` (when given) switches Intune
    throttling on or off over what ``config`` says. Seeds are loaded and the port is bound
    before ``on_ready(port)`` is called, so a bad seed (``SeedError``) or a busy port
    (``OSError``) is raised before anything claims to be serving."""
    config = config or EmulatorConfig()
    if throttle is not None:
        config.throttle.enabled = throttle
    emulator = GraphEmulator(config=config, state_dir=state_dir)
    try:
        for tenant_id, token, seed_dir in tenants:
            emulator.add_tenant(
                tenant_id=tenant_id, token=token, seed_dir=Path(seed_dir) if seed_dir else None
            )
        if host not in ("127.0.0.1", "::1", "localhost"):
            logger.warning("the Graph emulator is listening on %s, not only on loopback", host)
        server = serve_app(emulator, host=host, port=port)
    except BaseException:
        emulator.close()
        raise
    logger.info("Graph emulator on http://%s:%s", host, server.server_port)
    if on_ready is not None:
        on_ready(server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()  # waits (bounded) for requests still running to answer
        emulator.close()
