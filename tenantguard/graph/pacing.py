"""Client-side pacing of Graph writes, so restores stay under Intune's write limit.

Intune allows 100 POST/PUT/PATCH/DELETE per app per tenant in any 20 seconds (200 for all apps).
Waiting before the limit is hit is cheaper than being answered 429 and backing off: a throttled
burst can stall a tenant's writes for minutes.
"""

from __future__ import annotations

import threading
from collections import deque

from tenantguard.graph.retry import Clock

__all__ = ["WRITE_METHODS", "WritePacer"]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class WritePacer:
    """Sliding window: at most ``max_writes`` writes start in any ``per_seconds`` seconds.

    Share one pacer between the clients that write to the same tenant with the same app
    registration: the limit is per app per tenant. Thread-safe; waiting threads queue up.
    """

    def __init__(self, max_writes: int = 100, per_seconds: float = 20.0) -> None:
        if max_writes < 1:
            raise ValueError("WritePacer.max_writes must be at least 1")
        if per_seconds <= 0:
            raise ValueError("WritePacer.per_seconds must be positive")
        self.max_writes = max_writes
        self.per_seconds = per_seconds
        self._sent_at: deque[float] = deque()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WritePacer(max_writes={self.max_writes}, per_seconds={self.per_seconds})"

    def acquire(self, clock: Clock, writes: int = 1) -> float:
        """Wait (through ``clock``) until ``writes`` more writes fit, record them, return wait.

        A ``$batch`` holding several writes acquires them together: Graph counts each
        sub-request against the limit.
        """
        if writes <= 0:
            return 0.0
        if writes > self.max_writes:
            raise ValueError(
                f"cannot send {writes} writes at once under a limit of {self.max_writes} "
                f"per {self.per_seconds:g} s; split the request"
            )
        waited = 0.0
        with self._lock:
            while True:
                now = clock.monotonic()
                while self._sent_at and self._sent_at[0] <= now - self.per_seconds:
                    self._sent_at.popleft()
                overflow = len(self._sent_at) + writes - self.max_writes
                if overflow <= 0:
                    self._sent_at.extend([now] * writes)
                    return waited
                # the overflow-th oldest write must leave the window first
                free_at = self._sent_at[overflow - 1] + self.per_seconds
                delay = max(free_at - now, 0.0)
                # a clock that rounds could otherwise spin without advancing
                delay = max(delay, 1e-6)
                clock.sleep(delay)
                waited += delay
