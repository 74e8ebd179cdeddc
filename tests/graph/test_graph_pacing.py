"""Pacing: never more than N requests (or N writes) in any T-second window, no needless waiting.

Every request counts against the request pacer (a ``$batch`` for each sub-request), writes also
against the write pacer. Time is a ``FakeClock``: a request "starts" when the handler sees it.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantguard.graph import (
    BatchRequest,
    RequestPacer,
    RetryPolicy,
    SlidingWindowPacer,
    WritePacer,
)
from tenantguard.graph.pacing import acquire_together
from tenantguard.graph.testing import FakeClock, graph_error_response


def assert_window_respected(
    timestamps: list[float], *, max_writes: int, per_seconds: float
) -> None:
    ordered = sorted(timestamps)
    for first, later in zip(ordered, ordered[max_writes:], strict=False):
        # the (max_writes+1)-th write after any write starts at least per_seconds later
        assert later - first >= per_seconds - 1e-9


def test_250_patches_never_exceed_100_in_any_20_seconds(make_client, clock):
    sent_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            sent_at.append(clock.monotonic())
        return httpx.Response(204)

    client = make_client(handler)
    for index in range(250):
        client.patch(f"deviceManagement/deviceConfigurations/{index}", json={"x": index})

    assert len(sent_at) == 250
    assert_window_respected(sent_at, max_writes=100, per_seconds=20.0)
    # and no needless waiting: 3 bursts at 0 s, 20 s and 40 s
    assert sent_at[-1] - sent_at[0] == pytest.approx(40.0)
    assert sent_at[99] == sent_at[0]


def test_reads_do_not_wait_for_the_write_pacer(make_client, clock):
    client = make_client(lambda request: httpx.Response(200, json={}), pacer=WritePacer(1, 20.0))
    for _ in range(50):
        client.get("deviceManagement/deviceConfigurations")
    assert clock.sleeps == []


def test_every_write_verb_counts(make_client, clock):
    client = make_client(lambda request: httpx.Response(204), pacer=WritePacer(2, 10.0))
    client.post("a", json={})
    client.put("a", json={})
    client.delete("a")  # third write in the window: waits
    assert clock.slept == pytest.approx(10.0)


def test_writes_spread_over_time_do_not_wait(clock):
    pacer = WritePacer(max_writes=3, per_seconds=10.0)
    for _ in range(10):
        pacer.acquire(clock)
        clock.advance(4.0)
    assert clock.sleeps == []


def test_a_batch_of_writes_acquires_all_its_slots_at_once(clock):
    pacer = WritePacer(max_writes=5, per_seconds=10.0)
    pacer.acquire(clock, 3)
    pacer.acquire(clock, 3)  # 6 > 5: waits for the first three to leave the window
    assert clock.sleeps == [10.0]
    with pytest.raises(ValueError, match="split the request"):
        pacer.acquire(clock, 6)


def test_invalid_limits_are_rejected():
    with pytest.raises(ValueError):
        WritePacer(max_writes=0)
    with pytest.raises(ValueError):
        WritePacer(per_seconds=0)


@settings(max_examples=200, deadline=None)
@given(
    max_writes=st.integers(min_value=1, max_value=8),
    per_seconds=st.floats(min_value=0.5, max_value=30.0),
    steps=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=15.0), st.integers(min_value=1, max_value=8)),
        max_size=60,
    ),
)
def test_window_is_never_exceeded_and_waits_are_minimal(max_writes, per_seconds, steps):
    clock = FakeClock()
    pacer = WritePacer(max_writes=max_writes, per_seconds=per_seconds)
    sent_at: list[float] = []
    for pause, writes in steps:
        writes = min(writes, max_writes)
        clock.advance(pause)
        before = clock.monotonic()
        waited = pacer.acquire(clock, writes)
        now = clock.monotonic()
        assert now - before == pytest.approx(waited)
        if waited > 1e-6:
            # it only waited because, just before now, the window was too full
            recent = [t for t in sent_at if t > now - per_seconds - 1e-3]
            assert len(recent) + writes > max_writes
        sent_at.extend([now] * writes)
    assert_window_respected(sent_at, max_writes=max_writes, per_seconds=per_seconds)


# -- request pacing (reads and writes alike) ------------------------------------------------


def _read_server(clock: FakeClock, sent_at: list[float], *, takes: float = 0.0):
    """Answers every request 200 and records when it started; each answer takes ``takes`` s."""

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.monotonic())
        clock.advance(takes)
        return httpx.Response(200, json={"value": []})

    return handler


def test_the_1001st_read_waits_until_the_window_frees(make_client, clock):
    # Intune: 1000 requests of any kind per app per tenant in any 20 s. Each read takes 5 ms.
    sent_at: list[float] = []
    client = make_client(_read_server(clock, sent_at, takes=0.005))
    assert client.request_pacer.limit == 1000 and client.request_pacer.per_seconds == 20.0
    start = clock.monotonic()

    for index in range(1200):
        client.get(f"deviceManagement/deviceConfigurations/{index}")

    assert len(sent_at) == 1200  # every read completed
    assert sent_at[999] == pytest.approx(start + 999 * 0.005)  # the first 1000 did not wait
    # the 1001st waited until the 1st left the window, not a moment longer: the 1st is stamped
    # when its answer came (5 ms after it was sent), since Graph counts it somewhere in between
    assert sent_at[1000] == pytest.approx(start + 0.005 + 20.0)
    assert clock.slept == pytest.approx(0.005 + 20.0 - 1000 * 0.005)
    assert_window_respected(sent_at, max_writes=1000, per_seconds=20.0)


def test_the_request_window_holds_under_a_burst(make_client, clock):
    sent_at: list[float] = []
    client = make_client(_read_server(clock, sent_at))
    start = clock.monotonic()
    for index in range(2500):
        client.get(f"x/{index}")
    assert len(sent_at) == 2500
    assert_window_respected(sent_at, max_writes=1000, per_seconds=20.0)
    # and no needless waiting: bursts of 1000, 1000 and 500 at 0 s, 20 s and 40 s
    assert [sent_at[i] - start for i in (0, 999, 1000, 1999, 2000, 2499)] == pytest.approx(
        [0.0, 0.0, 20.0, 20.0, 40.0, 40.0]
    )


def test_the_request_window_holds_under_a_burst_of_batches(make_client, clock):
    posts: list[tuple[float, int]] = []
    client = make_client(_batch_answering_200(clock, posts))
    for round_number in range(120):  # 2400 sub-requests in $batch envelopes of 20
        client.batch(
            [BatchRequest(id=str(i), method="GET", url=f"/x/{round_number}/{i}") for i in range(20)]
        )
    sub_requests_at = [at for at, size in posts for _ in range(size)]
    assert len(sub_requests_at) == 2400
    assert_window_respected(sub_requests_at, max_writes=1000, per_seconds=20.0)
    assert sub_requests_at[-1] - sub_requests_at[0] == pytest.approx(40.0)


def test_a_shared_request_pacer_holds_the_window_across_clients(make_client, clock):
    sent_at: list[float] = []
    shared = RequestPacer(max_requests=10, per_seconds=20.0)
    first = make_client(_read_server(clock, sent_at), request_pacer=shared)
    second = make_client(_read_server(clock, sent_at), request_pacer=shared)
    for index in range(15):
        (first if index % 2 else second).get("x")
    assert_window_respected(sent_at, max_writes=10, per_seconds=20.0)
    assert clock.slept == pytest.approx(20.0)


def _batch_answering_200(clock: FakeClock, posts: list[tuple[float, int]]):
    def handler(request: httpx.Request) -> httpx.Response:
        subs = json.loads(request.content)["requests"]
        posts.append((clock.monotonic(), len(subs)))
        answers = [{"id": sub["id"], "status": 200, "body": {}} for sub in subs]
        return httpx.Response(200, json={"responses": answers})

    return handler


def test_a_batch_of_20_reads_counts_20_requests(make_client, clock):
    posts: list[tuple[float, int]] = []
    requests = RequestPacer(max_requests=30, per_seconds=20.0)
    writes = WritePacer(max_writes=100, per_seconds=20.0)
    client = make_client(_batch_answering_200(clock, posts), request_pacer=requests, pacer=writes)
    reads = [BatchRequest(id=str(i), method="GET", url=f"/x/{i}") for i in range(20)]

    client.batch(reads)
    assert requests.in_window(clock) == 20  # not 1: Graph counts each sub-request
    assert writes.in_window(clock) == 0
    assert clock.sleeps == []

    client.batch(reads)  # 20 + 20 > 30: waits for the first batch to leave the window
    assert clock.sleeps == [pytest.approx(20.0)]
    assert [size for _, size in posts] == [20, 20]


def test_batch_chunks_fit_a_request_window_smaller_than_20(make_client, clock):
    posts: list[tuple[float, int]] = []
    client = make_client(
        _batch_answering_200(clock, posts),
        request_pacer=RequestPacer(max_requests=5, per_seconds=20.0),
    )
    client.batch([BatchRequest(id=str(i), method="GET", url=f"/x/{i}") for i in range(12)])
    assert [size for _, size in posts] == [5, 5, 2]
    assert [at - posts[0][0] for at, _ in posts] == pytest.approx([0.0, 20.0, 40.0])


def test_writes_count_against_both_pacers(make_client, clock):
    requests = RequestPacer(max_requests=50, per_seconds=20.0)
    writes = WritePacer(max_writes=50, per_seconds=20.0)
    client = make_client(lambda r: httpx.Response(204), request_pacer=requests, pacer=writes)
    client.patch("x", json={})
    client.post("x", json={})
    client.get("x")
    assert (requests.in_window(clock), writes.in_window(clock)) == (3, 2)

    posts: list[tuple[float, int]] = []
    batching = make_client(_batch_answering_200(clock, posts), request_pacer=requests, pacer=writes)
    batching.batch(
        [BatchRequest(id=f"w{i}", method="PATCH", url=f"/x/{i}", body={}) for i in range(3)]
        + [BatchRequest(id=f"r{i}", method="GET", url=f"/x/{i}") for i in range(2)]
    )
    assert (requests.in_window(clock), writes.in_window(clock)) == (3 + 5, 2 + 3)


def test_a_write_waits_for_a_full_request_window_and_reads_not_for_a_full_write_window(
    make_client, clock
):
    sent_at: list[float] = []
    client = make_client(
        _read_server(clock, sent_at),
        request_pacer=RequestPacer(max_requests=4, per_seconds=20.0),
        pacer=WritePacer(max_writes=1, per_seconds=20.0),
    )
    client.patch("x", json={})  # the write window is now full for 20 s
    client.get("x")
    client.get("x")  # reads go on meanwhile
    assert clock.sleeps == []
    client.get("x")  # 4th request: the request window is full now
    client.patch("x", json={})  # needs a slot in both: the request window frees first
    assert clock.slept == pytest.approx(20.0)
    assert sent_at == pytest.approx([1000.0] * 4 + [1020.0])


def test_a_write_takes_both_slots_when_it_is_sent(make_client, clock):
    # A write that took its write slot first and then waited for a request slot would be
    # stamped too early in the write window and let the next write out too soon.
    writes_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            writes_at.append(clock.monotonic())
        return httpx.Response(204)

    client = make_client(
        handler,
        request_pacer=RequestPacer(max_requests=2, per_seconds=20.0),
        pacer=WritePacer(max_writes=1, per_seconds=20.0),
    )
    client.get("x")
    client.get("x")  # request window full until +20 s; write window empty
    client.patch("x", json={})  # waits for the request window: sent at +20 s
    client.patch("x", json={})  # the write window holds the previous write until +40 s
    assert writes_at == pytest.approx([1020.0, 1040.0])


def test_pacing_waits_are_logged_at_debug_with_the_request_id_and_no_token(
    make_client, clock, caplog, token
):
    client = make_client(
        lambda r: httpx.Response(200, json={}, headers={"request-id": "srv-1"}),
        request_pacer=RequestPacer(max_requests=1, per_seconds=20.0),
    )
    with caplog.at_level(logging.DEBUG, logger="tenantguard.graph"):
        client.get("deviceManagement/deviceConfigurations")
        assert not [r for r in caplog.records if "paced" in r.getMessage()]
        client.get("deviceManagement/deviceConfigurations")
    paced = [r for r in caplog.records if "paced" in r.getMessage()]
    assert len(paced) == 1
    assert paced[0].levelno == logging.DEBUG
    message = paced[0].getMessage()
    assert "20.000 s" in message and "client-request-id=" in message
    # the id logged is the one the request carried
    sent_ids = [
        r.getMessage().split("client-request-id=")[1].split(",")[0]
        for r in caplog.records
        if "-> 200" in r.getMessage()
    ]
    assert sent_ids and sent_ids[-1] in message
    assert all(token not in r.getMessage() for r in caplog.records)


def test_waiting_for_the_pacers_is_not_taken_from_the_retry_budget(make_client, clock):
    answers = iter(
        [
            httpx.Response(200, json={}),
            graph_error_response(429, "TooManyRequests", headers={"Retry-After": "1"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    client = make_client(
        lambda r: next(answers),
        request_pacer=RequestPacer(max_requests=1, per_seconds=20.0),
        retry=RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=5.0, budget_seconds=5),
    )
    client.get("x")
    # waits 20 s for the window, is throttled, waits 1 s, waits for the window again: the
    # retry budget of 5 s only counts the 1 s
    assert client.get("x") == {"ok": True}
    assert clock.slept == pytest.approx(20.0 + 1.0 + 19.0)


def test_waiting_for_the_pacers_is_not_taken_from_a_batch_retry_budget(make_client, clock):
    rounds: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        subs = json.loads(request.content)["requests"]
        rounds.append(len(subs))
        answers = [{"id": sub["id"], "status": 200, "body": {}} for sub in subs]
        if len(rounds) == 2:  # the second batch: one sub-request throttled once
            answers[0] = {"id": subs[0]["id"], "status": 429, "headers": {"Retry-After": "1"}}
        return httpx.Response(200, json={"responses": answers})

    client = make_client(
        handler,
        request_pacer=RequestPacer(max_requests=20, per_seconds=20.0),
        retry=RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=5.0, budget_seconds=5),
    )
    reads = [BatchRequest(id=str(i), method="GET", url=f"/x/{i}") for i in range(20)]
    client.batch(reads)
    responses = client.batch(reads)  # waits 20 s, one 429, 1 s, waits 19 s for its retry
    assert [r.status for r in responses] == [200] * 20
    assert rounds == [20, 20, 1]
    assert responses[0].attempts == 2


def test_request_pacer_defaults_and_limits():
    pacer = RequestPacer()
    assert (pacer.max_requests, pacer.limit, pacer.per_seconds) == (1000, 1000, 20.0)
    assert isinstance(pacer, SlidingWindowPacer) and isinstance(WritePacer(), SlidingWindowPacer)
    assert repr(pacer) == "RequestPacer(max_requests=1000, per_seconds=20.0)"
    assert repr(WritePacer()) == "WritePacer(max_writes=100, per_seconds=20.0)"
    with pytest.raises(ValueError):
        RequestPacer(max_requests=0)
    with pytest.raises(ValueError):
        RequestPacer(per_seconds=-1)
    with pytest.raises(ValueError, match="21 requests at once"):
        RequestPacer(max_requests=20).acquire(FakeClock(), 21)


def test_one_pacer_named_twice_counts_both_demands(clock):
    pacer = SlidingWindowPacer(limit=3, per_seconds=10.0)
    acquire_together(clock, [(pacer, 2), (pacer, 1)])
    assert pacer.in_window(clock) == 3
    with pytest.raises(ValueError, match="split the request"):
        acquire_together(clock, [(pacer, 2), (pacer, 2)])


@settings(max_examples=200, deadline=None)
@given(
    max_requests=st.integers(min_value=1, max_value=8),
    max_writes=st.integers(min_value=1, max_value=8),
    per_seconds=st.floats(min_value=0.5, max_value=30.0),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=15.0),
            st.integers(min_value=1, max_value=8),
            st.integers(min_value=0, max_value=8),
        ),
        max_size=60,
    ),
)
def test_both_windows_hold_and_waits_are_minimal(max_requests, max_writes, per_seconds, steps):
    clock = FakeClock()
    requests = RequestPacer(max_requests=max_requests, per_seconds=per_seconds)
    writes = WritePacer(max_writes=max_writes, per_seconds=per_seconds)
    request_times: list[float] = []
    write_times: list[float] = []
    for pause, count, write_count in steps:
        count = min(count, max_requests)
        write_count = min(write_count, count, max_writes)
        clock.advance(pause)
        before = clock.monotonic()
        waited = acquire_together(clock, [(requests, count), (writes, write_count)])
        now = clock.monotonic()
        assert now - before == pytest.approx(waited)
        if waited > 1e-6:
            # it only waited because, just before now, one of the windows was too full
            recent_requests = [t for t in request_times if t > now - per_seconds - 1e-3]
            recent_writes = [t for t in write_times if t > now - per_seconds - 1e-3]
            assert (
                len(recent_requests) + count > max_requests
                or len(recent_writes) + write_count > max_writes
            )
        request_times.extend([now] * count)
        write_times.extend([now] * write_count)
    assert_window_respected(request_times, max_writes=max_requests, per_seconds=per_seconds)
    assert_window_respected(write_times, max_writes=max_writes, per_seconds=per_seconds)
