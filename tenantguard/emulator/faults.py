"""Injected failures (random per method, always-failing object ids, added latency, answers
lost after the request was applied)."""

from __future__ import annotations

import random

from tenantguard.emulator.config import FaultConfig
from tenantguard.emulator.errors import EmulatorHTTPError

_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "ResourceNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class FaultInjector:
    """Decides, per request, whether to fail it. Seeded, hence reproducible."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._random = random.Random(config.seed)

    def check(
        self, method: str, path_segments: list[str], *, intune_write: bool = False
    ) -> EmulatorHTTPError | None:
        if intune_write and self.config.approval_required:
            return EmulatorHTTPError(
                self.config.approval_required_status,
                "ApprovalRequired",
                "This change requires approval from a second administrator (Multi Admin "
                "Approval); app-only writes cannot be approved.",
                intune=True,
            )
        for segment in path_segments:
            status = self.config.failing_ids.get(segment)
            if status is not None:
                return self._error(status, f"Injected failure for object '{segment}'.")
        rate = self.config.error_rates.get(method.upper(), 0.0)
        if rate > 0 and self._random.random() < rate and self.config.error_statuses:
            status = self._random.choice(self.config.error_statuses)
            return self._error(status, "Injected transient failure.")
        return None

    def lost_answer(self, method: str) -> str | None:
        """For a request that was just applied: how its answer is lost (a
        ``config.LOST_ANSWER_KINDS`` value), or None when it is answered normally."""
        rate = self.config.lost_answer_rates.get(method.upper(), 0.0)
        if rate > 0 and self._random.random() < rate and self.config.lost_answers:
            return self._random.choice(self.config.lost_answers)
        return None

    def _error(self, status: int, message: str) -> EmulatorHTTPError:
        headers = {}
        if status in (429, 503):
            headers["Retry-After"] = str(self.config.retry_after_seconds)
        return EmulatorHTTPError(
            status, _CODES.get(status, "UnknownError"), message, headers=headers
        )
