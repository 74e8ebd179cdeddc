"""Rates such as ``10/10m``, read from the environment by the settings (no Django models here).

A rate is a number of actions per period: ``N/S`` with the period in seconds (``30s``), minutes
(``10m``), hours (``1h``) or days (``1d``); a bare number is seconds. ``off`` (or ``0``) turns
the limit off.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_OFF = {"off", "0", "none", "unlimited"}


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.limit} per {period_text(self.seconds)}"


def period_text(seconds: int) -> str:
    """``600`` -> ``10 minutes``: the period as people say it."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def rate_parse(text: str, *, name: str) -> Rate | None:
    """``"10/10m"`` -> ``Rate(10, 600)``; ``"off"`` -> ``None``. ``name`` is the variable, for
    the error message."""
    if text.strip().lower() in _OFF:
        return None
    match = _RATE.match(text)
    if match is None or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ImproperlyConfigured(
            f"{name} must be a rate like '10/10m' (10 per 10 minutes; units s, m, h, d) "
            f"or 'off', not {text!r}."
        )
    limit, amount, unit = int(match.group(1)), int(match.group(2)), match.group(3).lower() or "s"
    return Rate(limit=limit, seconds=amount * _UNITS[unit])


def rate_from_env(name: str, default: str) -> Rate | None:
    value = os.environ.get(name, "")
    return rate_parse(value if value.strip() else default, name=name)
