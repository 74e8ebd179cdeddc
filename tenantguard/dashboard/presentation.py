"""How the home page words a coming time: "in 5 hours", never "in 0 minutes".

Past times use ``restores.templatetags.tg_words`` (``ago``: "3 hours ago", "just now"; ``utc``:
the exact time on hover), the one place the pages word them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.timesince import timeuntil

#: Closer to now than this reads as "in less than a minute".
SOON = timedelta(minutes=1)


def until_words(moment: datetime, *, now: datetime | None = None) -> str:
    """A future ``moment`` relative to ``now``: "in 5 hours", "in less than a minute"; a
    moment already past reads "now" (the caller says it is due)."""
    now = now or timezone.now()
    if moment <= now:
        return "now"
    if moment - now < SOON:
        return "in less than a minute"
    # Django joins number and unit with a no-break space; pages and tests read plain spaces.
    return "in " + timeuntil(moment, now, depth=1).replace("\xa0", " ")
