"""``{% load tg_time %}``: ``{{ moment|until }}`` ("in 5 hours", "in less than a minute") for
times to come, e.g. the next scheduled backup. Past times: ``tg_words``' ``ago`` and ``utc``."""

from __future__ import annotations

from datetime import datetime

from django import template

from tenantguard.dashboard.presentation import until_words

register = template.Library()


@register.filter
def until(moment: datetime | None) -> str:
    return until_words(moment) if moment else ""
