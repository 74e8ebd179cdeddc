"""Test doubles for code that uses the Graph client (no network, no real waiting).

``FakeClock`` stands in for the client's ``clock``: time moves only when something sleeps, so a
test can run through minutes of throttling back-off instantly and assert on every wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

__all__ = ["FakeClock", "RecordingTokenProvider", "graph_error_response", "sequence_handler"]


class FakeClock:
    """Monotonic time that advances only through ``sleep`` (or ``advance``); records sleeps.

    Safe to share between threads (time never goes back): each sleeping thread moves time on
    by what it sleeps, so concurrent waits add up instead of overlapping, which is harmless
    for checking that limits hold."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"asked to sleep a negative time ({seconds}): a timing bug")
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without a sleep (work that took a while)."""
        with self._lock:
            self.now += seconds

    @property
    def slept(self) -> float:
        """Total seconds slept."""
        return sum(self.sleeps)


class RecordingTokenProvider:
    """Hands out ``tokens[n]`` after ``n`` invalidations; records how often it was asked."""

    def __init__(self, tokens: list[str]) -> None:
        if not tokens:
            raise ValueError("RecordingTokenProvider needs at least one token")
        self.tokens = tokens
        self.issued = 0
        self.invalidations = 0

    def get_token(self) -> str:
        self.issued += 1
        return self.tokens[min(self.invalidations, len(self.tokens) - 1)]

    def invalidate(self) -> None:
        self.invalidations += 1


def graph_error_response(
    status: int,
    code: str,
    message: str = "Something happened.",
    *,
    headers: dict[str, str] | None = None,
    request_id: str = "req-123",
) -> httpx.Response:
    """An error answer shaped like Graph's, for ``httpx.MockTransport`` handlers."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"request-id": request_id, "date": "2026-01-01T00:00:00"},
        }
    }
    return httpx.Response(status, json=body, headers=headers or {})


def sequence_handler(
    *answers: httpx.Response | Exception,
) -> Callable[[httpx.Request], httpx.Response]:
    """An ``httpx.MockTransport`` handler answering (or raising) ``answers`` in order;
    ``handler.seen`` lists the requests it received."""
    remaining = list(answers)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = remaining.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    handler.seen = seen  # type: ignore[attr-defined]
    return handler
