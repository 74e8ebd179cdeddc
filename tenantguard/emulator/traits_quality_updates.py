"""Trait ``quality_update_release`` (Windows quality update profiles, the expedite policies).

A ``windowsQualityUpdateProfile`` carries two display strings Intune derives from the release it
expedites (``expeditedUpdateSettings.qualityUpdateRelease``, an ISO date-time):
``releaseDateDisplayName`` and ``deployableContentDisplayName``. A client that leaves them out of
a POST (TenantGuard does: they are display text) still reads back a profile that looks like one
made in the portal. The wording is the emulator's choice, modelled on the Windows Update catalog
name of a Patch Tuesday release ("01/10/2023 - 2023.01 B Security Updates for Windows 10 and
later", a quality update catalog entry in Graph's "deploy an expedited quality update"
documentation); values a body carries are kept as sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

TRAIT: Final = "quality_update_release"

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _release_date(obj: dict[str, Any]) -> datetime | None:
    settings = obj.get("expeditedUpdateSettings")
    release = settings.get("qualityUpdateRelease") if isinstance(settings, dict) else None
    if not isinstance(release, str) or not release:
        return None
    try:
        return datetime.fromisoformat(release.replace("Z", "+00:00"))
    except ValueError:
        return None


def fill_release_names(obj: dict[str, Any]) -> None:
    """Fill the two display strings a created profile lacks (nothing when there is no release
    date to derive them from)."""
    moment = _release_date(obj)
    if moment is None:
        return
    if not obj.get("releaseDateDisplayName"):
        obj["releaseDateDisplayName"] = f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"
    if not obj.get("deployableContentDisplayName"):
        obj["deployableContentDisplayName"] = (
            f"{moment:%m/%d/%Y} - {moment:%Y.%m} B Security Updates for Windows 10 and later"
        )
