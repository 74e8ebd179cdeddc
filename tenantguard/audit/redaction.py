"""Removes secret values from anything headed for logs, audit details or error messages."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"(secret|password|passwd|token|credential|private_?key|certificate|assertion|plaintext|authorization)",
    re.IGNORECASE,
)


def redact(value: Any) -> Any:
    """Return ``value`` with the values of secret-looking keys replaced, recursively."""
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if isinstance(key, str)
                and _SECRET_KEY.search(key)
                and item not in (None, "", False)
                else redact(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
