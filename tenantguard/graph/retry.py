"""When and how long to wait before retrying a Graph request.

Graph asks clients to honour ``Retry-After`` on 429/503/504 and, without it, to back off
exponentially with jitter. "Full jitter" (a uniform delay between 0 and the exponential cap)
spreads retries of many workers apart instead of having them retry in lockstep.

Time is read and spent through a ``Clock`` so tests can run hours of back-off instantly.

Which requests may be sent again (``GraphClient`` applies it, docs/architecture.md §1):

- Idempotent requests (GET, PUT, PATCH, DELETE, and POST actions marked ``idempotent=True``
  such as ``assign``, which replaces the whole list) are retried on ``RETRYABLE_STATUSES`` and
  on transport errors.
- A non-idempotent POST (a create) is retried only when Graph cannot have processed it: on
  429 (Graph's throttling documentation: the request failed and is to be sent again after
  ``Retry-After``), on 401 before the token refresh, and on a connection that was never
  established. On ``UNCLEAR_STATUSES`` (Graph documents 503 only as "temporarily unavailable,
  you may repeat the request", not as "not processed"; a 502/504 comes from a gateway that
  may have forwarded it) and on a timeout or dropped connection after sending, its outcome is
  unknown and the client raises ``OutcomeUnknownError`` instead of sending it again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

__all__ = [
    "NOT_PROCESSED_STATUSES",
    "RETRYABLE_STATUSES",
    "UNCLEAR_STATUSES",
    "Clock",
    "RetryPolicy",
    "SystemClock",
    "parse_retry_after",
]

#: Statuses an idempotent request is sent again after (within the retry policy).
RETRYABLE_STATUSES = frozenset({429, 503, 504})
#: Statuses that say the request was not processed: a create may be sent again after them.
NOT_PROCESSED_STATUSES = frozenset({429})
#: Statuses after which a create may or may not have been applied (never resent blindly).
UNCLEAR_STATUSES = frozenset({502, 503, 504})


class Clock(Protocol):
    """Source of monotonic time that can also wait."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds on retrying: attempts per request and seconds one request may spend retrying.

    ``max_attempts`` counts every send, the first included. ``budget_seconds`` bounds the time
    from the first send until the last retry starts; a wait that would cross it is not taken.
    ``GraphClient`` leaves the time it waits for its pacers out of that count.
    """

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    budget_seconds: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.budget_seconds < 0:
            raise ValueError("RetryPolicy delays and budget must not be negative")

    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter delay after the ``attempt``-th failed send (1-based)."""
        cap = min(self.max_delay, self.base_delay * (2 ** max(attempt - 1, 0)))
        return self.rng.uniform(0.0, cap)

    def delay_for(self, *, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait: ``Retry-After`` when the server gave one, else back-off."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        return self.backoff_delay(attempt)

    def allows_retry(self, *, attempts_made: int, elapsed: float, delay: float) -> bool:
        """True while another send fits in both the attempt count and the time budget."""
        return attempts_made < self.max_attempts and elapsed + delay <= self.budget_seconds


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), else ``None``."""
    if not headers:
        return None
    value = None
    for key, candidate in headers.items():
        if key.lower() == "retry-after":
            value = str(candidate).strip()
            break
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)
