"""Fixtures for the Graph client tests. No test here touches the network: every client gets an
``httpx.MockTransport`` and a ``FakeClock``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tenantguard.graph import (
    GraphClient,
    RequestPacer,
    RetryPolicy,
    StaticTokenProvider,
    WritePacer,
)
from tenantguard.graph.testing import FakeClock

GRAPH_ROOT = "https://graph.example.test"
STATIC_TOKEN = "tok-3f9a1c-never-log-me"


@pytest.fixture
def graph_root() -> str:
    return GRAPH_ROOT


@pytest.fixture
def token() -> str:
    return STATIC_TOKEN


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Callable[..., GraphClient]:
    """``make_client(handler, **overrides)`` -> a GraphClient talking to ``handler``."""

    def factory(
        handler: Callable[[httpx.Request], httpx.Response], **overrides: Any
    ) -> GraphClient:
        options: dict[str, Any] = {
            "graph_url": GRAPH_ROOT,
            "token_provider": StaticTokenProvider(STATIC_TOKEN),
            "transport": httpx.MockTransport(handler),
            "retry": RetryPolicy(
                max_attempts=6, base_delay=1.0, max_delay=60.0, budget_seconds=300
            ),
            "pacer": WritePacer(max_writes=100, per_seconds=20.0),
            "request_pacer": RequestPacer(max_requests=1000, per_seconds=20.0),
            "clock": clock,
        }
        options.update(overrides)
        return GraphClient(**options)

    return factory
