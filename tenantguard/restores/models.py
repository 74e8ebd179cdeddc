from __future__ import annotations

from django.conf import settings
from django.db import models


class RestoreStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCOPED = "scoped", "Scoped"
    CHECKED = "checked", "Checked"
    PREVIEWED = "previewed", "Previewed"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


EXECUTING_STATUSES = (RestoreStatus.RUNNING,)


class ScopeMode(models.TextChoices):
    ALL = "all", "All items"
    SELECTED = "selected", "Selected items"


class RestoreRun(models.Model):
    """The Restore Run Wizard's aggregate: everything about one restore, kept on the server."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="restore_runs")
    backup_set = models.ForeignKey(
        "backups.BackupSet", null=True, blank=True, on_delete=models.PROTECT, related_name="restore_runs"
    )
    status = models.CharField(max_length=20, choices=RestoreStatus.choices, default=RestoreStatus.DRAFT)
    # Frozen at creation: what the run was started against, whatever the tenant becomes later.
    environment = models.CharField(max_length=10)
    tenant_label = models.CharField(max_length=200)
    scope_mode = models.CharField(max_length=20, choices=ScopeMode.choices, default=ScopeMode.ALL)
    requested_items = models.JSONField(default=list, blank=True)
    group_mapping = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)
    results = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The tenant lock: at most one executing run per target tenant, enforced by the database.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(status="running"),
                name="restorerun_one_executing_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return f"Restore #{self.pk} to {self.tenant_label}"
