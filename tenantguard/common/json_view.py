"""Readable JSON for admin pages."""

from __future__ import annotations

import json
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString


def pretty_json(value: Any) -> SafeString:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html(
        '<pre class="tg-json text-xs overflow-auto max-h-[36rem] p-3 rounded bg-base-50 dark:bg-base-900">{}</pre>',
        text,
    )
