"""``SlidingWindowPacer.seconds_until_room``: when the capture may send its next request
without waiting in the pacer (issue 10, target 2)."""

from __future__ import annotations

from tenantguard.graph import RequestPacer
from tenantguard.graph.pacing import reserve_together
from tenantguard.graph.testing import FakeClock


def test_room_comes_when_the_oldest_stamps_leave_the_window():
    clock = FakeClock()
    pacer = RequestPacer(max_requests=3, per_seconds=10)
    pacer.acquire(clock, 2)  # stamped at 1000
    clock.advance(4)
    pacer.acquire(clock, 1)  # stamped at 1004

    assert pacer.seconds_until_room(clock, 0) == 0.0
    assert pacer.seconds_until_room(clock, 1) == 6.0  # the two of t=1000 leave at 1010
    assert pacer.seconds_until_room(clock, 2) == 6.0
    assert pacer.seconds_until_room(clock, 3) == 10.0  # and the one of t=1004 at 1014
    clock.advance(6)
    assert pacer.seconds_until_room(clock, 2) == 0.0
    assert clock.sleeps == []  # asking never waits


def test_units_in_flight_have_no_stamp_yet_so_no_time_is_known():
    clock = FakeClock()
    pacer = RequestPacer(max_requests=3, per_seconds=10)
    _, slots = reserve_together(clock, [(pacer, 3)])

    assert pacer.seconds_until_room(clock, 1) == 10.0  # the whole window: answered first
    clock.advance(2)
    slots.release()  # answered: stamped at 1002
    assert pacer.seconds_until_room(clock, 1) == 10.0
    clock.advance(3)
    assert pacer.seconds_until_room(clock, 1) == 7.0
