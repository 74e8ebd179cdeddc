"""Sign-in lockout: the page a locked-out person sees, and its audit event.

Two limits, both counted in the database and both checked before the password is:

- django-axes counts failed sign-ins per username and client address
  (``AXES_LOCKOUT_PARAMETERS``) and refuses that pair during the cool-off;
- :class:`SignInAddressLimitBackend` counts failed sign-ins per client address across all
  usernames (``TENANTGUARD_RATE_LIMIT_SIGN_IN_FAILURES``, the fixed-window limiter of
  :mod:`tenantguard.security.ratelimit`), so one address cannot spray a password over many
  usernames; past the limit that address is refused whatever it sends until the window ends.

Here:

- :func:`lockout_response` answers a refused sign-in with the admin login page itself, status
  429 and ``Retry-After``, saying how many minutes are left;
- :func:`_lockout_audit_record` writes ``auth.login_locked_out`` once per lockout (when the
  failure that reaches the limit happens, not for every attempt during it, so an attacker cannot
  fill the trail).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.signals import user_locked_out
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tenantguard.audit.services import audit_event_record
from tenantguard.security.ratelimit import (
    RateLimited,
    RateLimitScope,
    client_address,
    rate_limit_check,
    rate_limit_hit,
)

LOCKED_OUT_ACTION = "auth.login_locked_out"
# On the request: the RateLimited that refuses (or just locked) its address, and whether the
# address limit let the attempt through to the password check.
_ADDRESS_REFUSAL = "tenantguard_sign_in_refusal"
_ADDRESS_ALLOWED = "tenantguard_sign_in_address_allowed"


def _address_subject(request: HttpRequest) -> str:
    return f"address:{client_address(request) or 'unknown'}"


class SignInAddressLimitBackend:
    """Refuses a sign-in, before the password is checked, from an address that used up its
    failed sign-ins (``TENANTGUARD_RATE_LIMIT_SIGN_IN_FAILURES``). Authenticates nobody: it goes
    after django-axes' backend and before the one that checks the password."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        if request is None:
            return None
        try:
            rate_limit_check(
                scope=RateLimitScope.SIGN_IN_FAILURE, subject=_address_subject(request)
            )
        except RateLimited as refused:
            setattr(request, _ADDRESS_REFUSAL, refused)
            request.axes_locked_out = True  # type: ignore[attr-defined]  # AxesMiddleware's page
            raise PermissionDenied(refused.message) from None
        setattr(request, _ADDRESS_ALLOWED, True)
        return None


@receiver(user_login_failed)
def _count_address_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Count a failed sign-in against its address, if its password was checked (an attempt
    refused by either lockout is not a guess); audit and show the lockout when it uses up the
    limit."""
    if request is None or not getattr(request, _ADDRESS_ALLOWED, False):
        return
    try:
        hit = rate_limit_hit(
            scope=RateLimitScope.SIGN_IN_FAILURE, subject=_address_subject(request)
        )
    except RateLimited:
        return  # another process used up the limit meanwhile: its failure audited the lockout
    if hit is None or hit.count < hit.rate.limit:
        return
    now = timezone.now()
    locked = RateLimited(
        scope=RateLimitScope.SIGN_IN_FAILURE,
        rate=hit.rate,
        retry_at=hit.window_start + timedelta(seconds=hit.rate.seconds),
        now=now,
    )
    setattr(request, _ADDRESS_REFUSAL, locked)
    request.axes_locked_out = True  # type: ignore[attr-defined]
    _lockout_audit_record(
        username=get_client_username(request, credentials),
        ip_address=client_address(request),
        failures=hit.count,
        locked_for_minutes=math.ceil(locked.retry_after / 60),
        locked="address",
    )


def lockout_ends_at(request: HttpRequest, credentials: dict[str, Any] | None) -> datetime:
    """When the lockout of this request's username and address ends: the cool-off after the
    latest failed attempt (each attempt during the lockout starts it again)."""
    cool_off = get_cool_off(request) or timedelta(0)
    now = timezone.now()
    handler = AxesProxyHandler.get_implementation()
    times = [
        attempt_time
        for attempts in getattr(handler, "get_user_attempts", lambda *_: [])(request, credentials)
        for attempt_time in attempts.values_list("attempt_time", flat=True)
    ]
    return max(max(times, default=now) + cool_off, now)


def lockout_message(minutes: int, *, address_only: bool = False) -> str:
    wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}"
    if address_only:
        return f"Too many failed sign-ins from your address. {wait}."
    return (
        "Too many failed sign-ins for this username from your address. "
        f"{wait}, or ask a TenantGuard superuser to unlock it."
    )


def _locked_out_form(request: HttpRequest, *, username: str, message: str) -> Any:
    """The site's login form (unfold's), empty, showing only the lockout, not "wrong password"."""
    form = (admin.site.login_form or AdminAuthenticationForm)(
        request, initial={"username": username}
    )
    form.non_field_errors = lambda: form.error_class([message])  # type: ignore[method-assign]
    return form


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any]
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the login page with the lockout message, 429, Retry-After;
    for either lockout (the address's, when that is what refused)."""
    address_refusal: RateLimited | None = getattr(request, _ADDRESS_REFUSAL, None)
    if address_refusal is not None:
        retry_after = address_refusal.retry_after
        message = lockout_message(math.ceil(retry_after / 60), address_only=True)
    else:
        retry_after = max(
            1, math.ceil((lockout_ends_at(request, credentials) - timezone.now()).total_seconds())
        )
        message = lockout_message(math.ceil(retry_after / 60))
    form = _locked_out_form(
        request, username=get_client_username(request, credentials) or "", message=message
    )
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "app_path": request.get_full_path(),
        "form": form,
        REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME, ""),
        "username": request.user.get_username() if request.user.is_authenticated else "",
    }
    response = render(request, "admin/login.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


@receiver(user_locked_out)
def _audit_lockout(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    if getattr(request, _ADDRESS_REFUSAL, None) is not None and not getattr(
        request, _ADDRESS_ALLOWED, False
    ):
        # Refused by the address limit before any password was checked: not a guess, and its
        # lockout was audited once already (else every made-up username would add an event).
        return
    failures = getattr(request, "axes_failures_since_start", None)
    credentials = getattr(request, "axes_credentials", None)
    if failures != get_failure_limit(request, credentials):
        return  # an attempt during a lockout already audited
    cool_off = get_cool_off(request)
    _lockout_audit_record(
        username=username,
        ip_address=ip_address,
        failures=failures,
        locked_for_minutes=int(cool_off.total_seconds() // 60) if cool_off else None,
        locked="username_and_address",
    )


def _lockout_audit_record(
    *,
    username: str | None,
    ip_address: str | None,
    failures: int | None,
    locked_for_minutes: int | None,
    locked: str,
) -> None:
    """``auth.login_locked_out``, once per lockout; ``locked`` says what: the username and
    address pair (django-axes), or the ``address`` across all usernames (its subject then)."""
    subject = (ip_address if locked == "address" else username) or ""
    with transaction.atomic():
        audit_event_record(
            actor=None,
            action=LOCKED_OUT_ACTION,
            subject_label=subject[:150],
            details={
                "locked": locked,
                "username": (username or "")[:150],
                "ip_address": ip_address or "",
                "failures": failures,
                "locked_for_minutes": locked_for_minutes,
            },
        )
