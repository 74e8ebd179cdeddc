"""At Intune's limits the capture sends its next request as soon as the request pacer has room
for it, not only once another answer came (issue 10, target 2): in the second and later windows
slots free up one by one as the first window's answers age, and a capture that waited for an
answer before looking again sent one request after another there, each waiting for the last."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any

from tenantguard.graph import RequestPacer
from tenantguard.graph.pacing import reserve_together
from tenantguard.graph.retry import SystemClock
from tenantguard.graph.workers import RequestWorkers
from tenantguard.intune import capture, registry


class _Client:
    """What the schedule reads of a client: its request pacer and clock."""

    def __init__(self, pacer: RequestPacer, clock: Any) -> None:
        self.request_pacer = pacer
        self.clock = clock


def _blocked_schedule(pacer: RequestPacer, clock: Any) -> tuple[capture._Capture, Future[Any]]:
    """A schedule with one request running (never answered) and one unit of per-item reads
    (one ``$batch`` of 20) that the pacer has no room for yet."""
    scripts = [p for p in registry.all_types() if p.key == "powershell_script"]
    workers = RequestWorkers(4)
    schedule = capture._Capture(
        _Client(pacer, clock),  # type: ignore[arg-type]
        workers,
        [scripts],
        wanted=lambda ptype: True,
        lookahead=400,
    )
    listing = schedule.listings[0]
    listing.next_url = None  # listed already
    items = [
        capture._Item(scripts[0], {"id": f"ps-{index}", "displayName": f"S{index}"})
        for index in range(20)
    ]
    unit = next(iter(capture._units_of(items)))
    assert len(unit.jobs) == 20
    listing.units.append(unit)
    listing.unsent.append(unit)
    running: Future[Any] = Future()  # a request whose answer has not come
    schedule.running[running] = (None, 1)
    return schedule, running


def test_the_next_request_goes_out_when_the_pacer_has_room_while_another_still_runs(
    monkeypatch,
):
    submitted: list[Any] = []
    pacer = RequestPacer(max_requests=30, per_seconds=0.3)
    clock = SystemClock()
    # the window is full of answers stamped now: room for 20 more in 0.3 s
    pacer.acquire(clock, 30)
    schedule, running = _blocked_schedule(pacer, clock)
    monkeypatch.setattr(
        schedule.workers, "submit", lambda fn, *args: submitted.append(args) or Future()
    )

    schedule.send_more()
    assert submitted == [] and schedule.blocked_cost == 20  # no room yet

    def wait_then_send() -> None:
        schedule.wait()
        schedule.send_more()

    started = time.monotonic()
    waiter = threading.Thread(target=wait_then_send, daemon=True)
    waiter.start()
    waiter.join(timeout=5)

    assert not waiter.is_alive(), "waited for the running request's answer instead"
    assert not running.done()
    assert len(submitted) == 1  # the 20 reads went out while the other request still ran
    assert 0.2 <= time.monotonic() - started < 3


def test_without_room_in_sight_it_waits_for_an_answer():
    """Slots held by requests still in flight free up only when they are answered: nothing
    to time, so the schedule waits for an answer (no busy loop)."""
    pacer = RequestPacer(max_requests=30, per_seconds=0.3)
    clock = SystemClock()
    _, slots = reserve_together(clock, [(pacer, 30)])  # in flight: not answered yet
    schedule, _ = _blocked_schedule(pacer, clock)
    schedule.send_more()
    assert schedule.blocked_cost == 20
    assert schedule._until_room() is None
    slots.release()
    assert 0 < schedule._until_room() <= 0.3
