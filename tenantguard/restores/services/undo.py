"""Undo a restore: a new wizard run whose source is the run's pre-restore snapshot."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tenantguard.audit.services import audit_event_record
from tenantguard.backups.models import BackupKind, BackupStatus
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.refusals import audits_refusal
from tenantguard.restores.services.runs import restore_run_create


@audits_refusal
def restore_run_undo(*, actor: Any, run: RestoreRun) -> RestoreRun:
    """Start (as a draft, dry-run on, like any run) the restore of ``run``'s pre-restore snapshot.

    The new run goes through every step and gate of the wizard: undo is a restore, not a shortcut.
    """
    snapshot = (
        run.snapshots.filter(
            kind=BackupKind.PRE_RESTORE, status__in=[BackupStatus.COMPLETED, BackupStatus.PARTIAL]
        )
        .order_by("-created_at")
        .first()
    )
    if snapshot is None:
        raise RestoreRunError(
            f"Restore run #{run.pk} has no pre-restore snapshot: it never wrote to "
            f"'{run.tenant_label}', so there is nothing to undo."
        )
    try:
        return _start_undo_run(actor, run, snapshot)
    except RestoreRunRefused as refusal:
        # The create's own refusal record was rolled back with this transaction: this one is
        # recorded by the decorator, as a refused undo of ``run``.
        raise RestoreRunRefused(refusal.reasons, action="undo") from None


def _start_undo_run(actor: Any, run: RestoreRun, snapshot: Any) -> RestoreRun:
    with transaction.atomic():
        undo_run = restore_run_create(actor=actor, tenant=run.tenant, backup_set=snapshot)
        undo_run.metadata = {**(undo_run.metadata or {}), "undo_of": run.pk}
        undo_run.save(update_fields=["metadata", "updated_at"])
        audit_event_record(
            actor=actor,
            action="restore.undo_started",
            subject=undo_run,
            tenant=run.tenant,
            details={"undo_of": run.pk, "snapshot_id": snapshot.pk},
        )
    return undo_run
