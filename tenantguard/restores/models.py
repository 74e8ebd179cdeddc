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

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="restore_runs"
    )
    backup_set = models.ForeignKey(
        "backups.BackupSet",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="restore_runs",
    )
    status = models.CharField(
        max_length=20, choices=RestoreStatus.choices, default=RestoreStatus.DRAFT
    )
    # Frozen at creation: what the run was started against, whatever the tenant becomes later.
    environment = models.CharField(max_length=10)
    tenant_label = models.CharField(max_length=200)
    scope_mode = models.CharField(max_length=20, choices=ScopeMode.choices, default=ScopeMode.ALL)
    requested_items = models.JSONField(default=list, blank=True)
    group_mapping = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The checks or preview reading the target in the background right now, or the last one
    # that failed (``services/analysis.py``); empty when none is pending. A field of its own so
    # that progress updates from the worker never race with the wizard's edits of ``metadata``.
    analysis = models.JSONField(default=dict, blank=True)
    results = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The worker that holds the claim while running: heartbeats and finishes from any other
    # worker (e.g. one presumed dead whose run was resumed) are ignored.
    worker_id = models.CharField(max_length=200, blank=True)
    # Set by a cancel request on a running run; the executor stops between items when it sees it.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

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


class CheckSeverity(models.TextChoices):
    BLOCKING = "blocking", "Blocking"
    WARNING = "warning", "Warning"
    SAFE = "safe", "Safe"


class RestoreCheckResult(models.Model):
    """One result of the safety checks of a run (step 3). Replaced as a whole on every checks run."""

    run = models.ForeignKey(RestoreRun, on_delete=models.CASCADE, related_name="check_results")
    position = models.PositiveIntegerField()
    code = models.CharField(max_length=80)
    severity = models.CharField(max_length=10, choices=CheckSeverity.choices)
    # The item the result is about; blank for tenant-wide results (e.g. permission_limited).
    item_type = models.CharField(max_length=80, blank=True)
    item_source_id = models.CharField(max_length=200, blank=True)
    item_name = models.CharField(max_length=500, blank=True)
    message = models.TextField()
    resolution = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "position"]
        indexes = [models.Index(fields=["run", "severity"])]

    def __str__(self) -> str:
        return f"{self.severity}: {self.code} {self.item_name}".strip()


class PreviewAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    NO_CHANGE = "no_change", "No change"
    SKIP = "skip", "Skip"


class RestorePreviewItem(models.Model):
    """The planned action and diff for one item of a run (step 4). Replaced on every preview."""

    run = models.ForeignKey(RestoreRun, on_delete=models.CASCADE, related_name="preview_items")
    position = models.PositiveIntegerField()
    policy_type = models.CharField(max_length=80)
    source_id = models.CharField(max_length=200)
    display_name = models.CharField(max_length=500, blank=True)
    action = models.CharField(max_length=20, choices=PreviewAction.choices)
    reason = models.TextField(blank=True, help_text="Why the item is skipped, when it is.")
    target_id = models.CharField(max_length=200, blank=True)
    # Hash of the live target object as the preview saw it: the executor re-reads the target
    # before writing and skips the item as `changed_since_preview` when this no longer matches.
    target_hash = models.CharField(max_length=64, blank=True)
    diff = models.JSONField(default=dict, blank=True)
    diff_truncated = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "policy_type", "source_id"], name="restorepreviewitem_unique_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.display_name} [{self.policy_type}]"


class ItemOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


#: Outcomes after which the item has an object in the target (written or already right).
OUTCOMES_WITH_TARGET = frozenset({ItemOutcome.CREATED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED})
CHANGED_SINCE_PREVIEW_REASON = (
    "The target object changed after the preview: it was not written. Run the preview again to "
    "see the new difference, then execute again."
)


class ExecutionStage(models.TextChoices):
    CREATING = "creating", "Create sent"  # checkpoints taken before a write (see the executor)
    UPDATING = "updating", "Update sent"
    WRITTEN = "written", "Object written"
    ASSIGNED = "assigned", "Assignments written"
    DONE = "done", "Done"


class RestoreItemOutcome(models.Model):
    """The executor's checkpoint and result for one item; saved before the next item starts."""

    run = models.ForeignKey(RestoreRun, on_delete=models.CASCADE, related_name="item_outcomes")
    position = models.PositiveIntegerField()
    policy_type = models.CharField(max_length=80)
    source_id = models.CharField(max_length=200)
    display_name = models.CharField(max_length=500, blank=True)
    target_id = models.CharField(max_length=200, blank=True)
    stage = models.CharField(max_length=20, choices=ExecutionStage.choices, blank=True)
    outcome = models.CharField(
        max_length=20, choices=ItemOutcome.choices, default=ItemOutcome.PENDING
    )
    reason = models.TextField(blank=True)
    skip_code = models.CharField(max_length=50, blank=True)  # e.g. changed_since_preview
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    assignments_written = models.BooleanField(default=False)
    #: The object itself was created or updated in the target (kept when a later step of the
    #: item fails, so a run whose every failure came after a write is reported partial, not
    #: failed: something was written).
    object_written = models.BooleanField(default=False)
    skipped_assignments = models.PositiveIntegerField(default=0)
    verified = models.BooleanField(null=True)
    differences = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "policy_type", "source_id"], name="restoreitemoutcome_unique_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.display_name} [{self.policy_type}]"

    @property
    def is_final_for_object(self) -> bool:
        """The object phase is over for this item (resume skips it)."""
        return self.stage in (ExecutionStage.WRITTEN, ExecutionStage.ASSIGNED, ExecutionStage.DONE)

    @property
    def needs_assignments(self) -> bool:
        return self.stage == ExecutionStage.WRITTEN and self.outcome in OUTCOMES_WITH_TARGET

    @property
    def needs_verification(self) -> bool:
        return (
            self.stage in (ExecutionStage.WRITTEN, ExecutionStage.ASSIGNED)
            and self.outcome in OUTCOMES_WITH_TARGET
        )


class RestoreTargetRead(models.Model):
    """The checks' read of the live target, kept so that the preview can plan from it instead of
    reading the target again, while the run's inputs are unchanged and the read is recent
    (``services/target_read.py``; ``TENANTGUARD_TARGET_READ_REUSE_SECONDS``). One per run,
    replaced by every checks run. ``data`` is the target as read (zlib-compressed JSON lines),
    never the target's secret values: the preview does not use them."""

    run = models.OneToOneField(RestoreRun, on_delete=models.CASCADE, related_name="target_read")
    # The run's inputs fingerprint and the checks record (its token) the read was made for.
    fingerprint = models.CharField(max_length=64)
    checks_token = models.CharField(max_length=64)
    # When the read started (its age counts from there).
    read_at = models.DateTimeField()
    graph_requests = models.PositiveIntegerField(default=0)
    object_count = models.PositiveIntegerField(default=0)
    raw_bytes = models.PositiveBigIntegerField(default=0)
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"Target read of restore #{self.run_id} at {self.read_at:%Y-%m-%d %H:%M:%S}"
