"""Per-user limits on the actions that read a live tenant, and per-address limits on bad tokens.

One fixed window per key, counted in the database (:class:`RateLimitCounter`): every web
process of an installation shares the counts, and tests start each with none. A fixed window
lets a burst of up to twice the limit straddle a window boundary; for actions that cost Graph
requests and minutes, not money, that is enough.

The API and the web pages call :func:`rate_limit_user_action` before they call the service, so
the same counter limits both; the CLI (someone on the server) is not limited.
"""

from __future__ import annotations

import enum
import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from tenantguard.security.models import RateLimitCounter
from tenantguard.security.rates import Rate, period_text


class RateLimitScope(enum.StrEnum):
    """What is limited; the value is the key in ``settings.TENANTGUARD_RATE_LIMITS``."""

    CONNECTION_TEST = "connection_test"
    CHECKS = "checks"
    PREVIEW = "preview"
    BACKUP = "backup"
    API_TOKEN_FAILURE = "api_token_failure"

    @property
    def noun(self) -> str:
        return _NOUNS[self]


_NOUNS = {
    RateLimitScope.CONNECTION_TEST: "connection tests",
    RateLimitScope.CHECKS: "check runs",
    RateLimitScope.PREVIEW: "preview runs",
    RateLimitScope.BACKUP: "backups started",
    RateLimitScope.API_TOKEN_FAILURE: "requests with an invalid API token",
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


def rate_limit_hit(*, scope: RateLimitScope, subject: str, now: datetime | None = None) -> None:
    """Count one action of ``subject`` (a user or address) in ``scope``; raise
    :class:`RateLimited` instead when the window's limit is already used up."""
    rate = rate_for(scope)
    if rate is None:
        return
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
        if created:
            RateLimitCounter.objects.filter(expires_at__lte=now).delete()
    if count > rate.limit:
        # Another process took the last one between the read and the increment.
        raise RateLimited(scope=scope, rate=rate, retry_at=window.end, now=now)


def rate_limit_check(*, scope: RateLimitScope, subject: str, now: datetime | None = None) -> None:
    """Raise :class:`RateLimited` if ``subject`` used up ``scope``'s limit, without counting."""
    rate = rate_for(scope)
    if rate is None:
        return
    now = now or timezone.now()
    window = _window(rate, now)
    _refuse_if_used_up(scope=scope, rate=rate, key=_key(scope, subject), window=window, now=now)


def rate_limit_user_action(*, scope: RateLimitScope, user: Any) -> None:
    """Count one ``scope`` action of ``user`` (one counter per user, for the API and the web)."""
    rate_limit_hit(scope=scope, subject=f"user:{user.pk}")


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
