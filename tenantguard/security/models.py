from __future__ import annotations

from django.db import models


class RateLimitCounter(models.Model):
    """How many times one key (a scope and a user or address) acted in one fixed window.

    In the database, so every web process of an installation shares the same counts (the
    default cache is per process). Rows whose window is over are deleted as new windows start.
    """

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "window_start"], name="security_ratelimit_one_row_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start:%Y-%m-%d %H:%M:%S}: {self.count}"
