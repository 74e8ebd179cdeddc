"""Template filters for the words an admin reads (``restores.check_words``) and for times.

``{% load tg_words %}``, then:

- ``{{ code|check_title }}``: a check code as a sentence; ``{{ code|skip_title }}`` the same
  for a preview or outcome skip code.
- ``{{ policy_type|type_label }}``: one item's type as the admin center names it.
- ``{{ value|platform_label }}``: "Windows", "iOS/iPadOS", "Windows, macOS"...
- ``{{ when|ago }}``: "just now" under a minute, else Django's ``timesince`` + " ago"
  ("3 minutes ago"); never "0 minutes ago".
- ``{{ when|utc }}``: the absolute time in UTC ("2026-12-07 15:58 UTC"), shown beside ``ago``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from tenantguard.restores import check_words

register = template.Library()

#: Below this age a time reads "just now".
JUST_NOW = timedelta(minutes=1)


@register.filter
def check_title(code: str) -> str:
    return check_words.check_title(str(code or ""))


@register.filter
def skip_title(code: str) -> str:
    return check_words.skip_title(str(code or ""))


@register.filter
def type_label(policy_type: str) -> str:
    return check_words.type_label(str(policy_type or "")) if policy_type else ""


@register.filter
def platform_label(value: str) -> str:
    return check_words.platform_label(str(value or ""))


def relative_time(value: datetime | None, *, now: datetime | None = None) -> str:
    """``value`` relative to ``now``: "just now" (under a minute, or a clock slightly ahead),
    else "5 minutes ago", "2 days, 3 hours ago"; ``""`` for no time."""
    if not isinstance(value, datetime):
        return ""
    now = now or timezone.now()
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    if now - value < JUST_NOW:
        return "just now"
    return f"{timesince(value, now)} ago"


@register.filter
def ago(value: Any) -> str:
    return relative_time(value)


@register.filter
def utc(value: Any) -> str:
    if not isinstance(value, datetime):
        return ""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
