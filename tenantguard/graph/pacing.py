"""Client-side pacing of Graph requests, so backups and restores stay under Intune's limits.

Intune allows, per app per tenant in any 20 seconds, 1000 requests of any kind and 100 of them
POST/PUT/PATCH/DELETE (2000 and 200 for all apps together). Graph counts every sub-request of a
``$batch`` against these limits. Waiting before a limit is hit is cheaper than being answered
429 and backing off: a throttled burst can stall a tenant's requests for minutes.

One ``SlidingWindowPacer`` class does the counting; ``RequestPacer`` (every request) and
``WritePacer`` (writes only) are it with Intune's per-app limits as defaults. A request that
counts against several pacers (a write counts against both) takes its slots from all of them at
the same instant through ``reserve_together``.

When a slot is stamped: Graph counts a request when it arrives (or at some moment before it
answers; its documentation does not say, nor whether the window slides), and the client cannot
know when that was. A slot is therefore *reserved* when the request is sent (it counts as in
the window from then on, so concurrent senders never exceed the limit) and *stamped* when the
answer has arrived (``PacerSlots.release``): whatever moment Graph counted it at lies between
the two, so by the time the client's window lets the slot go, Graph's window has let it go too.
Stamping at sending let a request out a few milliseconds before Graph's window had freed the
one it replaced (429s at window edges with equal limits). A window that the client keeps
sliding is also never exceeded by a server that counts in fixed windows.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from contextlib import ExitStack

from tenantguard.graph.retry import Clock

__all__ = [
    "INTUNE_APP_REQUEST_LIMIT",
    "INTUNE_APP_WRITE_LIMIT",
    "INTUNE_WINDOW_SECONDS",
    "WRITE_METHODS",
    "PacerSlots",
    "RequestPacer",
    "SlidingWindowPacer",
    "WritePacer",
    "acquire_together",
    "reserve_together",
]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

INTUNE_WINDOW_SECONDS = 20.0
INTUNE_APP_REQUEST_LIMIT = 1000
INTUNE_APP_WRITE_LIMIT = 100

# a clock that rounds could otherwise make a waiter spin without time advancing
_MIN_WAIT = 1e-6


class SlidingWindowPacer:
    """Sliding window: at most ``limit`` units (requests, writes, ...) start in any
    ``per_seconds`` seconds.

    Share one pacer between the clients that talk to the same tenant with the same app
    registration: Intune's limits are per app per tenant. Thread-safe: a slot is taken under a
    lock at the moment the request may start, and waiting happens outside the lock, so a
    waiting thread does not hold up requests of other threads that fit (threads are therefore
    not served strictly in arrival order). A slot taken with ``reserve_together`` is in flight
    (it counts, with no time yet) until released, then stamped with the release time.
    """

    def __init__(self, *, limit: int, per_seconds: float, unit: str = "requests") -> None:
        name = type(self).__name__
        if limit < 1:
            raise ValueError(f"{name} must allow at least 1 of its {unit} per window, not {limit}")
        if per_seconds <= 0:
            raise ValueError(f"{name}.per_seconds must be positive, not {per_seconds}")
        self.limit = limit
        self.per_seconds = per_seconds
        self.unit = unit
        self._sent_at: deque[float] = deque()
        # units reserved by requests still waiting for their answer (stamped when released)
        self._in_flight = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(limit={self.limit}, per_seconds={self.per_seconds}, "
            f"unit={self.unit!r})"
        )

    def acquire(self, clock: Clock, count: int = 1) -> float:
        """Wait (through ``clock``) until ``count`` more units fit, record them, return the wait.

        A ``$batch`` acquires all its sub-requests together: Graph counts each one.
        """
        return acquire_together(clock, [(self, count)])

    def in_window(self, clock: Clock) -> int:
        """How many units count now: stamped in the last ``per_seconds`` (as of ``clock``) or
        still in flight."""
        with self._lock:
            self._forget_before(clock.monotonic())
            return len(self._sent_at) + self._in_flight

    def in_flight(self) -> int:
        """Units reserved by requests that have not been answered yet."""
        with self._lock:
            return self._in_flight

    def seconds_until_room(self, clock: Clock, count: int) -> float:
        """Seconds from now (``clock``) until ``count`` more units fit, if nothing else is
        reserved meanwhile: 0.0 when they fit now; ``per_seconds`` when units still in flight
        must be answered first (their stamps are not known yet)."""
        with self._lock:
            return self._delay_for(clock.monotonic(), count)

    # -- used by acquire_together, with self._lock held -------------------------------------

    def _check_count(self, count: int) -> None:
        if count > self.limit:
            raise ValueError(
                f"cannot send {count} {self.unit} at once under a limit of {self.limit} "
                f"per {self.per_seconds:g} s; split the request"
            )

    def _forget_before(self, now: float) -> None:
        while self._sent_at and self._sent_at[0] <= now - self.per_seconds:
            self._sent_at.popleft()

    def _delay_for(self, now: float, count: int) -> float:
        """Seconds from ``now`` until ``count`` more units fit (0.0 when they fit now)."""
        self._forget_before(now)
        overflow = len(self._sent_at) + self._in_flight + count - self.limit
        if overflow <= 0:
            return 0.0
        if overflow > len(self._sent_at):
            # A unit still in flight must leave the window too: it will be stamped when its
            # answer arrives (not before now), so it leaves no sooner than per_seconds from now.
            # Sleep that long, then look again.
            return self.per_seconds
        # the overflow-th oldest unit must leave the window first
        free_at = self._sent_at[overflow - 1] + self.per_seconds
        return max(free_at - now, _MIN_WAIT)

    def _reserve(self, count: int) -> None:
        self._in_flight += count

    def _stamp(self, clock: Clock, count: int) -> None:
        """Turn ``count`` in-flight units into units stamped now (``self._lock`` held)."""
        # read the time under the lock, so stamps stay in order across threads
        now = clock.monotonic()
        self._in_flight -= count
        self._sent_at.extend([now] * count)


class RequestPacer(SlidingWindowPacer):
    """Every request counts (reads and writes alike); default: Intune's 1000 per app per 20 s."""

    def __init__(
        self,
        max_requests: int = INTUNE_APP_REQUEST_LIMIT,
        per_seconds: float = INTUNE_WINDOW_SECONDS,
    ) -> None:
        super().__init__(limit=max_requests, per_seconds=per_seconds, unit="requests")

    @property
    def max_requests(self) -> int:
        return self.limit

    def __repr__(self) -> str:
        return f"RequestPacer(max_requests={self.limit}, per_seconds={self.per_seconds})"


class WritePacer(SlidingWindowPacer):
    """POST/PUT/PATCH/DELETE count; default: Intune's 100 writes per app per 20 s."""

    def __init__(
        self,
        max_writes: int = INTUNE_APP_WRITE_LIMIT,
        per_seconds: float = INTUNE_WINDOW_SECONDS,
    ) -> None:
        super().__init__(limit=max_writes, per_seconds=per_seconds, unit="writes")

    @property
    def max_writes(self) -> int:
        return self.limit

    def __repr__(self) -> str:
        return f"WritePacer(max_writes={self.limit}, per_seconds={self.per_seconds})"


class PacerSlots:
    """Slots reserved in one or more pacers by one request (see ``reserve_together``).

    ``release()`` stamps them with the time it is called: call it once the answer has arrived
    (or the request failed), in a ``finally``. Releasing twice does nothing.
    """

    __slots__ = ("_clock", "_demands", "_released")

    def __init__(self, clock: Clock, demands: list[tuple[SlidingWindowPacer, int]]) -> None:
        self._clock = clock
        self._demands = demands
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        for pacer, count in self._demands:
            with pacer._lock:
                pacer._stamp(self._clock, count)

    def __enter__(self) -> PacerSlots:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def reserve_together(
    clock: Clock, demands: Iterable[tuple[SlidingWindowPacer, int]]
) -> tuple[float, PacerSlots]:
    """Wait until every ``(pacer, count)`` fits at the same instant and reserve them all then.

    Returns the seconds waited and the reserved ``PacerSlots``; release them when the answer
    has arrived, which stamps them (see the module docstring). Taking the slots at one instant
    matters: a write that took its write slot and then waited for a request slot would hold
    its write slot longer than needed.
    """
    needed: dict[int, tuple[SlidingWindowPacer, int]] = {}
    for pacer, count in demands:
        if count <= 0:
            continue
        previous = needed.get(id(pacer))
        needed[id(pacer)] = (pacer, count + (previous[1] if previous else 0))
    # a fixed lock order, so two threads taking the same pacers cannot deadlock
    ordered = [needed[key] for key in sorted(needed)]
    if not ordered:
        return 0.0, PacerSlots(clock, [])
    for pacer, count in ordered:
        pacer._check_count(count)
    waited = 0.0
    while True:
        with ExitStack() as stack:
            for pacer, _ in ordered:
                stack.enter_context(pacer._lock)
            now = clock.monotonic()
            delay = max(pacer._delay_for(now, count) for pacer, count in ordered)
            if delay <= 0.0:
                for pacer, count in ordered:
                    pacer._reserve(count)
                return waited, PacerSlots(clock, ordered)
        clock.sleep(delay)
        waited += delay


def acquire_together(clock: Clock, demands: Iterable[tuple[SlidingWindowPacer, int]]) -> float:
    """Wait until every ``(pacer, count)`` fits at the same instant and stamp them all now.

    For work that is done the moment its slot is taken; a request uses ``reserve_together``
    and releases its slots when the answer arrives. Returns the seconds waited.
    """
    waited, slots = reserve_together(clock, demands)
    slots.release()
    return waited
