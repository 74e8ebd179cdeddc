"""Retries: Retry-After, exponential back-off, retry budget, POST safety, token refresh."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tenantguard.graph import (
    GraphTransportError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RetryPolicy,
    ServerError,
    ThrottledError,
)
from tenantguard.graph.retry import parse_retry_after
from tenantguard.graph.testing import RecordingTokenProvider, graph_error_response, sequence_handler

STATIC_TOKEN = "tok-3f9a1c-never-log-me"  # what make_client uses


def throttled(retry_after: str | None = None, status: int = 429) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return graph_error_response(status, "TooManyRequests", "Too many requests", headers=headers)


def test_retry_after_is_honoured(make_client, clock):
    handler = sequence_handler(
        throttled("7"), throttled("3"), httpx.Response(200, json={"id": "a"})
    )
    client = make_client(handler)

    assert client.get("deviceManagement/deviceConfigurations/a") == {"id": "a"}
    assert clock.sleeps == [7.0, 3.0]
    assert client.request_count == 3


@pytest.mark.parametrize("status", [503, 504])
def test_503_and_504_are_retried_like_429(make_client, clock, status):
    handler = sequence_handler(throttled("2", status=status), httpx.Response(200, json={}))
    make_client(handler).get("x")
    assert clock.sleeps == [2.0]


def test_without_retry_after_back_off_is_exponential_with_full_jitter_and_bounded(
    make_client, clock
):
    handler = sequence_handler(*[throttled() for _ in range(7)], httpx.Response(200, json={}))
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=8.0, budget_seconds=1000)
    make_client(handler, retry=policy).get("x")

    assert len(clock.sleeps) == 7
    for attempt, slept in enumerate(clock.sleeps, start=1):
        assert 0 <= slept <= min(8.0, 2 ** (attempt - 1))


def test_back_off_caps_grow_exponentially():
    policy = RetryPolicy(base_delay=0.5, max_delay=60.0, rng=random.Random(7))
    for attempt in range(1, 12):
        cap = min(60.0, 0.5 * 2 ** (attempt - 1))
        draws = [policy.backoff_delay(attempt) for _ in range(200)]
        assert all(0 <= d <= cap for d in draws)
        assert max(draws) > cap * 0.8  # full jitter really reaches towards the cap


def test_attempts_exhausted_raise_throttled_error_that_says_how_long_was_tried(make_client, clock):
    handler = sequence_handler(*[throttled("5") for _ in range(3)])
    policy = RetryPolicy(max_attempts=3, budget_seconds=300)
    client = make_client(handler, retry=policy)

    with pytest.raises(ThrottledError) as caught:
        client.patch("deviceManagement/deviceConfigurations/a", json={"x": 1})

    error = caught.value
    assert error.status == 429
    assert error.attempts == 3
    assert error.waited_seconds == 10.0
    assert "3 attempt(s)" in str(error)
    assert "10.0 s" in str(error)
    assert "beyond the retry budget" not in str(error)  # attempts, not time, ran out
    assert "PATCH /beta/deviceManagement/deviceConfigurations/a" in str(error)
    assert client.request_count == 3


def test_time_budget_stops_retrying_before_a_wait_would_cross_it(make_client, clock):
    handler = sequence_handler(throttled("40"), throttled("40"), throttled("40"))
    policy = RetryPolicy(max_attempts=10, budget_seconds=60)

    with pytest.raises(ThrottledError) as caught:
        make_client(handler, retry=policy).get("x")

    assert clock.sleeps == [40.0]  # a second 40 s wait would end at 80 s > 60 s budget
    assert caught.value.attempts == 2


def test_503_after_the_budget_is_a_server_error(make_client, clock):
    handler = sequence_handler(throttled("1", status=503), throttled("1", status=503))
    with pytest.raises(ServerError, match=r"Gave up after 2 attempt\(s\)"):
        make_client(handler, retry=RetryPolicy(max_attempts=2)).get("x")


def test_post_is_not_retried_after_a_transport_error(make_client, clock):
    handler = sequence_handler(
        httpx.ReadTimeout("timed out"), httpx.Response(201, json={"id": "dup"})
    )
    client = make_client(handler)

    with pytest.raises(OutcomeUnknownError) as caught:
        client.post("deviceManagement/deviceConfigurations", json={"displayName": "x"})

    assert len(handler.seen) == 1  # a second POST could create a duplicate
    assert "POST /beta/deviceManagement/deviceConfigurations" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_post_is_retried_on_429(make_client, clock):
    handler = sequence_handler(throttled("2"), httpx.Response(201, json={"id": "once"}))
    client = make_client(handler)

    assert client.post("deviceManagement/deviceConfigurations", json={}) == {"id": "once"}
    assert len(handler.seen) == 2
    assert clock.sleeps == [2.0]


def test_get_is_retried_after_a_transport_error(make_client, clock):
    handler = sequence_handler(
        httpx.ConnectError("refused"), httpx.Response(200, json={"ok": True})
    )
    client = make_client(handler)

    assert client.get("x") == {"ok": True}
    assert client.request_count == 2
    assert len(clock.sleeps) == 1


def test_transport_errors_exhausting_the_budget_raise_graph_transport_error(make_client):
    handler = sequence_handler(*[httpx.ConnectError("refused") for _ in range(3)])
    with pytest.raises(GraphTransportError, match="after 3 attempts"):
        make_client(handler, retry=RetryPolicy(max_attempts=3)).get("x")


def test_401_refreshes_the_token_once_and_retries(make_client):
    provider = RecordingTokenProvider(["old-token", "new-token"])
    handler = sequence_handler(
        graph_error_response(401, "InvalidAuthenticationToken", "Access token has expired."),
        httpx.Response(200, json={"id": "a"}),
    )

    assert make_client(handler, token_provider=provider).get("x") == {"id": "a"}
    assert provider.invalidations == 1
    assert [r.headers["Authorization"] for r in handler.seen] == [
        "Bearer old-token",
        "Bearer new-token",
    ]


def test_a_second_401_is_permission_denied(make_client):
    provider = RecordingTokenProvider(["old-token", "new-token"])
    handler = sequence_handler(
        graph_error_response(401, "InvalidAuthenticationToken", "Access token has expired."),
        graph_error_response(401, "InvalidAuthenticationToken", "Access token validation failure."),
    )

    with pytest.raises(PermissionDeniedError) as caught:
        make_client(handler, token_provider=provider).get("x")

    assert provider.invalidations == 1
    assert caught.value.status == 401
    assert STATIC_TOKEN not in str(caught.value)
    assert "new-token" not in str(caught.value)


def test_retry_after_beyond_the_budget_gives_up_at_once_and_says_so(make_client, clock):
    handler = sequence_handler(throttled("900"))
    with pytest.raises(ThrottledError) as caught:
        make_client(handler, retry=RetryPolicy(budget_seconds=300)).get("x")

    assert clock.sleeps == []
    assert "Graph asked to wait 900 s more, beyond the retry budget" in str(caught.value)


def test_retry_after_as_an_http_date():
    moment = datetime.now(UTC) + timedelta(seconds=120)
    seconds = parse_retry_after({"Retry-After": format_datetime(moment, usegmt=True)})
    assert seconds is not None
    assert 100 < seconds <= 120


@pytest.mark.parametrize("value", ["", "soon", "Mon, 32 Foo 2026"])
def test_unreadable_retry_after_falls_back_to_back_off(value):
    assert parse_retry_after({"Retry-After": value}) is None


def test_retry_after_header_name_is_case_insensitive():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({}) is None
