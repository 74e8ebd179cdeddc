from __future__ import annotations

import logging

from tenantguard.audit.context import current_request_id


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` so every log line can be tied to its request or task."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
