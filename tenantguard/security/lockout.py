"""Sign-in lockout (django-axes): the page a locked-out person sees, and its audit event.

Axes counts failed sign-ins per username and client address (``AXES_LOCKOUT_PARAMETERS``) in
the database and refuses further attempts during the cool-off. Here:

- :func:`lockout_response` answers a refused sign-in with the admin login page itself, status
  429 and ``Retry-After``, saying how many minutes are left;
- :func:`_audit_lockout` writes ``auth.login_locked_out`` once per lockout (when the failure
  that reaches the limit happens, not for every attempt during it, so an attacker cannot fill
  the trail).
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
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tenantguard.audit.services import audit_event_record

LOCKED_OUT_ACTION = "auth.login_locked_out"


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


def lockout_message(minutes: int) -> str:
    return (
        "Too many failed sign-ins for this username from your address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
        "or ask a TenantGuard superuser to unlock it."
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
    """``AXES_LOCKOUT_CALLABLE``: the login page with the lockout message, 429, Retry-After."""
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
    failures = getattr(request, "axes_failures_since_start", None)
    credentials = getattr(request, "axes_credentials", None)
    if failures != get_failure_limit(request, credentials):
        return  # an attempt during a lockout already audited
    cool_off = get_cool_off(request)
    with transaction.atomic():
        audit_event_record(
            actor=None,
            action=LOCKED_OUT_ACTION,
            subject_label=(username or "")[:150],
            details={
                "username": (username or "")[:150],
                "ip_address": ip_address or "",
                "failures": failures,
                "locked_for_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
            },
        )
