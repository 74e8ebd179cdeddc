"""Fakes for the Graph client tests: a clock that only moves when slept, and fake Graph servers.

No test here touches the network: every client gets an ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

GRAPH = "https://graph.example.test"
TOKEN = "tok-3f9a1c-never-log-me"


class FakeClock:
    """Monotonic time that advances only through ``sleep`` (or ``advance``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, "a negative sleep means a timing bug"
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingTokenProvider:
    """A token provider that records refreshes and hands out a new token after each one."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.issued = 0
        self.invalidations = 0

    def get_token(self) -> str:
        self.issued += 1
        return self.tokens[min(self.invalidations, len(self.tokens) - 1)]

    def invalidate(self) -> None:
        self.invalidations += 1


def graph_error(
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    request_id: str = "req-123",
) -> httpx.Response:
    """An error answer shaped like Graph's."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"request-id": request_id, "date": "2026-01-01T00:00:00"},
        }
    }
    return httpx.Response(status, json=body, headers=headers or {})


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None
