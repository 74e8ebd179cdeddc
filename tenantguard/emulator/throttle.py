"""Intune throttling: sliding-window request counts per tenant and per app per tenant."""

from __future__ import annotations

import math
from collections import deque

from tenantguard.emulator.config import Clock, ThrottleConfig


class Throttle:
    """Counts requests in a sliding window of ``window_seconds``.

    A request over any applicable limit is refused (and not counted); ``check`` then returns
    the whole seconds until the oldest counted request leaves the window, for ``Retry-After``.
    """

    def __init__(self, config: ThrottleConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._windows: dict[tuple[str, ...], deque[float]] = {}

    def reset(self) -> None:
        self._windows.clear()

    def check(self, *, tenant_id: str, app_id: str, is_write: bool) -> int | None:
        config = self.config
        if not config.enabled:
            return None
        now = self.clock.monotonic()
        limits: list[tuple[tuple[str, ...], int]] = [
            (("tenant", tenant_id, "any"), config.tenant_request_limit),
            (("app", tenant_id, app_id, "any"), config.app_request_limit),
        ]
        if is_write:
            limits += [
                (("tenant", tenant_id, "write"), config.tenant_write_limit),
                (("app", tenant_id, app_id, "write"), config.app_write_limit),
            ]
        wait = 0.0
        for key, limit in limits:
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - config.window_seconds:
                window.popleft()
            if limit <= 0:
                wait = max(wait, config.window_seconds)
            elif len(window) >= limit:
                frees_at = window[len(window) - limit] + config.window_seconds
                wait = max(wait, frees_at - now, 0.001)
        if wait > 0:
            return max(1, math.ceil(wait))
        for key, _ in limits:
            self._windows[key].append(now)
        return None
