"""Object ids that come from a request (query string, form, path, JSON body).

Every id column is a signed 64-bit integer. An id outside that range makes the database driver
fail (SQLite: OverflowError, PostgreSQL: NumericValueOutOfRange) instead of matching nothing,
and Python's ``int()`` and ``str.isdigit()`` accept Unicode digits ('²', '٣') no id is made of.
``parse_id`` is the one place a request's id is read: ASCII digits only, 1 to ``MAX_ID``.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The largest value of a signed 64-bit id column (Django's BigAutoField, PostgreSQL bigint).
MAX_ID = 2**63 - 1

_MAX_DIGITS = len(str(MAX_ID))


def parse_id(raw: object) -> int | None:
    """``raw`` as an object id, or None when it cannot be one (empty, not ASCII digits, 0, or
    beyond ``MAX_ID``): callers answer 400 or 404, or ignore the value, never query with it."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if not text or len(text) > _MAX_DIGITS or not (text.isascii() and text.isdigit()):
            return None
        value = int(text)
    else:
        return None
    return value if 1 <= value <= MAX_ID else None


def parse_ids(values: Iterable[object]) -> set[int]:
    """The valid ids among ``values`` (each may also be a comma-separated list)."""
    ids: set[int] = set()
    for value in values:
        parts = value.split(",") if isinstance(value, str) else [value]
        for part in parts:
            parsed = parse_id(part)
            if parsed is not None:
                ids.add(parsed)
    return ids


def parse_page(raw: object, *, page_size: int) -> int:
    """A 1-based page number from a request: 1 unless ``raw`` is ASCII digits, and never so
    large that the page's offset leaves the 64-bit range (a page past the end is just empty)."""
    page = parse_id(raw) or 1
    return min(page, MAX_ID // max(1, page_size) - 1)
