"""Per-user limits on the actions that read a live tenant, per-address limits on bad tokens and
on failed sign-ins.

One fixed window per key, counted in the database (:class:`RateLimitCounter`): every web
process of an installation shares the counts, and tests start each with none. A fixed window
lets a burst of up to twice the limit straddle a window boundary; for actions that cost Graph
requests and minutes, not money, that is enough.

The API and the web pages call the service inside :func:`rate_limited_user_action`, so the same
counter limits both; the CLI (someone on the server) is not limited. A hit is counted before the
action (so concurrent requests cannot overrun the limit) and given back when the action is then
refused (the policy says no, checks already pending, ...): only actions that happened count.
"""

from __future__ import annotations

import enum
import ipaddress
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from tenantguard.graph.client import graph_requests_counted
from tenantguard.graph.errors import GraphError
from tenantguard.security.models import RateLimitCounter
from tenantguard.security.rates import Rate, period_text


class RateLimitScope(enum.StrEnum):
    """What is limited; the value is the key in ``settings.TENANTGUARD_RATE_LIMITS``."""

    CONNECTION_TEST = "connection_test"
    CHECKS = "checks"
    PREVIEW = "preview"
    BACKUP = "backup"
    API_TOKEN_FAILURE = "api_token_failure"
    SIGN_IN_FAILURE = "sign_in_failure"

    @property
    def noun(self) -> str:
        return _NOUNS[self]


_NOUNS = {
    RateLimitScope.CONNECTION_TEST: "connection tests",
    RateLimitScope.CHECKS: "check runs",
    RateLimitScope.PREVIEW: "preview runs",
    RateLimitScope.BACKUP: "backups started",
    RateLimitScope.API_TOKEN_FAILURE: "requests with an invalid API token",
    RateLimitScope.SIGN_IN_FAILURE: "failed sign-ins",
}


class RateLimited(Exception):
    """Refused: ``scope`` was used ``rate.limit`` times in this window; retry after
    ``retry_after`` seconds (at ``retry_at``)."""

    def __init__(self, *, scope: RateLimitScope, rate: Rate, retry_at: datetime, now: datetime):
        self.scope, self.rate, self.retry_at = scope, rate, retry_at
        self.retry_after = max(1, math.ceil((retry_at - now).total_seconds()))
        super().__init__(self.message)

    @property
    def message(self) -> str:
        wait = (
            f"{self.retry_after} seconds"
            if self.retry_after < 120
            else f"{math.ceil(self.retry_after / 60)} minutes"
        )
        return (
            f"Too many {self.scope.noun}: at most {self.rate.limit} per "
            f"{period_text(self.rate.seconds)}. Try again in {wait} "
            f"(after {self.retry_at:%H:%M:%S} UTC)."
        )


@dataclass(frozen=True)
class RateLimitHit:
    """One counted action: its counter, and how many the window has counted with it."""

    key: str
    window_start: datetime
    count: int
    rate: Rate


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime


def _window(rate: Rate, now: datetime) -> _Window:
    epoch = int(now.timestamp())
    start = epoch - epoch % rate.seconds
    start_at = datetime.fromtimestamp(start, tz=UTC)
    return _Window(start=start_at, end=start_at + timedelta(seconds=rate.seconds))


def rate_for(scope: RateLimitScope) -> Rate | None:
    """The configured rate of ``scope`` (``None``: not limited)."""
    rates: dict[str, Rate | None] = getattr(settings, "TENANTGUARD_RATE_LIMITS", {})
    return rates.get(scope.value)


def _key(scope: RateLimitScope, subject: str) -> str:
    return f"{scope.value}:{subject}"[:200]


def _refuse_if_used_up(
    *, scope: RateLimitScope, rate: Rate, key: str, window: _Window, now: datetime
) -> None:
    used = (
        RateLimitCounter.objects.filter(key=key, window_start=window.start)
        .values_list("count", flat=True)
        .first()
    )
    if (used or 0) >= rate.limit:
        raise RateLimited(scope=scope, rate=rate, retry_at=window.end, now=now)


def rate_limit_hit(
    *, scope: RateLimitScope, subject: str, now: datetime | None = None
) -> RateLimitHit | None:
    """Count one action of ``subject`` (a user or address) in ``scope``; raise
    :class:`RateLimited` instead when the window's limit is already used up. Returns the hit
    (``None`` when ``scope`` is not limited), for :func:`rate_limit_release`."""
    rate = rate_for(scope)
    if rate is None:
        return None
    now = now or timezone.now()
    window, key = _window(rate, now), _key(scope, subject)
    # Refused hits are not counted: a client that keeps trying writes nothing.
    _refuse_if_used_up(scope=scope, rate=rate, key=key, window=window, now=now)
    current = RateLimitCounter.objects.filter(key=key, window_start=window.start)
    with transaction.atomic():
        _, created = RateLimitCounter.objects.get_or_create(
            key=key, window_start=window.start, defaults={"expires_at": window.end}
        )
        current.update(count=F("count") + 1)
        count = current.values_list("count", flat=True).get()
        if count > rate.limit:
            # Another process took the last one between the read and the increment: raising
            # here rolls this increment back, so the refused hit is not counted either.
            raise RateLimited(scope=scope, rate=rate, retry_at=window.end, now=now)
        if created:
            RateLimitCounter.objects.filter(expires_at__lte=now).delete()
    return RateLimitHit(key=key, window_start=window.start, count=count, rate=rate)


def rate_limit_release(hit: RateLimitHit | None) -> None:
    """Give back a counted hit whose action was then refused (no-op for ``None``, or when its
    window is already over and deleted)."""
    if hit is None:
        return
    RateLimitCounter.objects.filter(key=hit.key, window_start=hit.window_start, count__gt=0).update(
        count=F("count") - 1
    )


def rate_limit_check(*, scope: RateLimitScope, subject: str, now: datetime | None = None) -> None:
    """Raise :class:`RateLimited` if ``subject`` used up ``scope``'s limit, without counting."""
    rate = rate_for(scope)
    if rate is None:
        return
    now = now or timezone.now()
    window = _window(rate, now)
    _refuse_if_used_up(scope=scope, rate=rate, key=_key(scope, subject), window=window, now=now)


@contextmanager
def rate_limited_user_action(*, scope: RateLimitScope, user: Any) -> Iterator[None]:
    """Count one ``scope`` action of ``user`` (one counter per user, for the API and the web),
    raising :class:`RateLimited` past the limit; run the action in the ``with`` block.

    If the block raises before any Graph request was sent (the action was refused or never
    happened), the hit is given back. Once the live tenant was read, which is what the limit is
    for, the hit counts whatever happened after (a Graph error, a refusal when recording the
    results, a database error)."""
    hit = rate_limit_hit(scope=scope, subject=f"user:{user.pk}")
    with graph_requests_counted() as sent:
        try:
            yield
        except Exception as exc:
            if not sent[0] and not isinstance(exc, GraphError):
                rate_limit_release(hit)
            raise


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address (``None`` when there is no valid one, e.g. a request built in
    code). Behind the reverse proxy (``TENANTGUARD_BEHIND_PROXY``) that is the last address in
    ``X-Forwarded-For``, the one the proxy itself appended: earlier ones are whatever the client
    sent. Also django-axes' ``AXES_CLIENT_IP_CALLABLE``."""
    candidate = str(request.META.get("REMOTE_ADDR") or "")
    if getattr(settings, "TENANTGUARD_BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        candidate = forwarded[-1].strip() or candidate
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None
