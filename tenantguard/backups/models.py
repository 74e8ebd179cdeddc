from __future__ import annotations

from django.conf import settings
from django.db import models

from tenantguard.crypto import EncryptedJSONField


class BackupStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    PARTIAL = "partial", "Partial (see warnings)"
    FAILED = "failed", "Failed"


class BackupKind(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULED = "scheduled", "Scheduled"
    PRE_RESTORE = "pre_restore", "Pre-restore snapshot"


class BackupSet(models.Model):
    """One snapshot of a tenant's configuration."""

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="backup_sets"
    )
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=BackupStatus.choices, default=BackupStatus.RUNNING
    )
    kind = models.CharField(max_length=20, choices=BackupKind.choices, default=BackupKind.MANUAL)
    restore_run = models.ForeignKey(
        "restores.RestoreRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="snapshots",
        help_text="For pre-restore snapshots: the restore run that took it.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    captured_at = models.DateTimeField(
        null=True, blank=True, help_text="When the capture finished."
    )
    item_count = models.PositiveIntegerField(default=0)
    # [{"type_key", "source_id" | None, "message", "permission" | None}]
    warnings = models.JSONField(default=list, blank=True)
    # Group id -> display name for every group the captured assignments reference.
    group_names = models.JSONField(default=dict, blank=True)
    # The tenant's own identifiers when it was captured (Graph ``organization``: tenant id and
    # verified domains, ``tenant_identity.TenantIdentity.to_json``); {} when unreadable.
    source_identity = models.JSONField(default=dict, blank=True)
    # {"types_done", "types_total", "current_type", "items"} while running.
    progress = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant})"


class BackupItem(models.Model):
    """One captured Intune object."""

    backup_set = models.ForeignKey(BackupSet, on_delete=models.CASCADE, related_name="items")
    policy_type = models.CharField(max_length=80, db_index=True)
    category = models.CharField(max_length=80, blank=True)
    source_id = models.CharField(max_length=200)
    display_name = models.CharField(max_length=500, db_index=True)
    platform = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict)
    assignments = models.JSONField(
        null=True, blank=True, help_text="Null when they could not be captured."
    )
    scope_tag_ids = models.JSONField(default=list, blank=True)
    source_modified_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    warnings = models.JSONField(default=list, blank=True)
    # Captured secret values (e.g. OMA-URI encrypted settings): never in `payload`.
    secrets = EncryptedJSONField()

    class Meta:
        ordering = ["policy_type", "display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["backup_set", "policy_type", "source_id"], name="backupitem_unique_source"
            )
        ]
        indexes = [models.Index(fields=["backup_set", "category", "policy_type", "platform"])]

    def __str__(self) -> str:
        return f"{self.display_name} [{self.policy_type}]"
