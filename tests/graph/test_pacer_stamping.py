"""Pacing on what Graph counts: a slot is reserved when a request is sent and stamped when its
answer arrives, so a server that counts requests on arrival (the emulator's ``Throttle``,
sliding window, refused requests not counted) never answers 429 at the edge of a window when
client and server have the same limit, whatever the latency, with batches and with threads.
"""

from __future__ import annotations

import itertools
import json
import threading

import httpx
import pytest

from tenantguard.emulator.config import ThrottleConfig
from tenantguard.emulator.throttle import Throttle
from tenantguard.graph import (
    BatchRequest,
    GraphClient,
    RequestPacer,
    RetryPolicy,
    StaticTokenProvider,
    WritePacer,
)
from tenantguard.graph.pacing import reserve_together
from tenantguard.graph.testing import FakeClock

LIMIT = 5
WINDOW = 20.0


def _server_throttle(clock: FakeClock, *, limit: int = LIMIT) -> Throttle:
    config = ThrottleConfig(
        window_seconds=WINDOW,
        app_request_limit=limit,
        tenant_request_limit=10 * limit,
        app_write_limit=limit,
        tenant_write_limit=10 * limit,
    )
    return Throttle(config, clock)


def _throttled(retry_after: int) -> httpx.Response:
    body = {"error": {"code": "TooManyRequests", "message": "Too many requests."}}
    return httpx.Response(429, json=body, headers={"Retry-After": str(retry_after)})


def test_varying_latency_draws_no_429_at_window_edges(make_client, clock):
    # The way in takes 0.3 s for every 6th request and 0.05 s for the others; the answer 0.2 s
    # more. Stamped when sent, the 6th request left as the 1st's slot freed and arrived 0.25 s
    # before the server's window let the 1st go: 429. Stamped on the answer, never.
    throttle = _server_throttle(clock)
    inbound = itertools.cycle([0.3, 0.05, 0.05, 0.05, 0.05, 0.05])
    answers: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        clock.advance(next(inbound))
        retry_after = throttle.check(tenant_id="t", app_id="a", is_write=False)
        clock.advance(0.2)
        status = 200 if retry_after is None else 429
        answers.append(status)
        return _throttled(retry_after or 1) if status == 429 else httpx.Response(200, json={})

    client = make_client(handler, request_pacer=RequestPacer(LIMIT, WINDOW))
    for index in range(4 * LIMIT):
        client.get(f"x/{index}")
    assert answers == [200] * (4 * LIMIT)
    # and no needless waiting: each window's first request waits for the previous window's
    # first answer (+20 s), not for a whole extra round of latency
    assert clock.slept < 3 * WINDOW + 3.0


def test_batch_parts_counted_as_they_arrive_draw_no_429(make_client, clock):
    # Graph counts each sub-request of a $batch when it gets to it: later parts arrive later
    # than the envelope was sent. $batch of 5 under a limit of 5 per window, the parts of one
    # handled 0.1 s apart, of the next 0.01 s apart: stamped when sent, the next batch's first
    # part arrived while the previous batch's were all still in the server's window.
    throttle = _server_throttle(clock)
    statuses: list[int] = []
    spacing = itertools.cycle([0.1, 0.01])

    def handler(request: httpx.Request) -> httpx.Response:
        answers = []
        step = next(spacing)
        for sub in json.loads(request.content)["requests"]:
            clock.advance(step)  # each part is handled a little later
            retry_after = throttle.check(tenant_id="t", app_id="a", is_write=False)
            status = 200 if retry_after is None else 429
            statuses.append(status)
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            answers.append({"id": sub["id"], "status": status, "headers": headers, "body": {}})
        return httpx.Response(200, json={"responses": answers})

    client = make_client(handler, request_pacer=RequestPacer(LIMIT, WINDOW))
    for round_number in range(4):
        client.batch(
            [BatchRequest(id=str(i), method="GET", url=f"/x/{round_number}/{i}") for i in range(5)]
        )
    assert statuses == [200] * 20


def test_threads_sharing_a_pacer_never_exceed_the_window_on_arrival():
    clock = FakeClock()
    throttle = _server_throttle(clock, limit=10)
    lock = threading.Lock()
    statuses: list[int] = []
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        clock.advance(0.05)
        with lock:  # the server counts one request at a time
            retry_after = throttle.check(tenant_id="t", app_id="a", is_write=False)
            arrivals.append(clock.monotonic())
            statuses.append(200 if retry_after is None else 429)
        clock.advance(0.05)
        return httpx.Response(200, json={}) if retry_after is None else _throttled(retry_after)

    pacer = RequestPacer(10, WINDOW)
    client = GraphClient(
        graph_url="https://graph.example.test",
        token_provider=StaticTokenProvider("t"),
        transport=httpx.MockTransport(handler),
        request_pacer=pacer,
        retry=RetryPolicy(max_attempts=1),
        clock=clock,
    )

    def worker(offset: int) -> None:
        for index in range(12):
            client.get(f"x/{offset}/{index}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 48 and set(statuses) == {200}
    ordered = sorted(arrivals)
    assert all(later - first >= WINDOW for first, later in zip(ordered, ordered[10:], strict=False))
    assert pacer.in_flight() == 0


def test_a_request_that_fails_still_gives_its_slot_a_stamp(make_client, clock):
    pacer = RequestPacer(2, WINDOW)

    def handler(request: httpx.Request) -> httpx.Response:
        clock.advance(1.0)
        raise httpx.ReadTimeout("no answer", request=request)

    client = make_client(
        handler, request_pacer=pacer, retry=RetryPolicy(max_attempts=1, base_delay=0.0)
    )
    with pytest.raises(Exception, match="Could not reach Graph"):
        client.get("x")
    # not left in flight (that would block the pacer for good), and counted: Graph may have
    # received it
    assert pacer.in_flight() == 0
    assert pacer.in_window(clock) == 1


def test_in_flight_slots_count_and_a_waiter_looks_again_after_a_window():
    clock = FakeClock()
    requests = RequestPacer(3, WINDOW)
    writes = WritePacer(3, WINDOW)
    _, slow = reserve_together(clock, [(requests, 3), (writes, 1)])
    assert (requests.in_window(clock), requests.in_flight()) == (3, 3)
    assert (writes.in_window(clock), writes.in_flight()) == (1, 1)
    clock.advance(2.0)
    slow.release()  # the answer came after 2 s: stamped then
    slow.release()  # releasing twice changes nothing
    assert requests.in_flight() == 0 and requests.in_window(clock) == 3
    waited, slots = reserve_together(clock, [(requests, 1)])
    assert waited == pytest.approx(WINDOW)  # from the answer, not from the send
    slots.release()
