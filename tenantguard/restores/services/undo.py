"""Undo a restore: a new wizard run whose source is the run's pre-restore snapshot, opened ready.

The new run carries the original run's scope (the same objects, restricted to what the snapshot
holds), its mapping and its options; its checks are queued at once and its preview follows
them (the same background jobs the wizard's buttons queue), so the admin lands on a run that
is being analysed and then ready for step 5. Nothing is skipped: dry-run is on, and executing
still needs the acknowledgement and the typed tenant name, like any restore.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from tenantguard.audit.services import audit_event_record
from tenantguard.backups.models import BackupItem, BackupKind, BackupSet, BackupStatus
from tenantguard.restores.models import RestoreRun, ScopeMode
from tenantguard.restores.services.analysis import restore_run_request_analysis
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.refusals import audits_refusal
from tenantguard.restores.services.runs import (
    restore_run_create,
    restore_run_set_scope,
    restore_run_update_mapping,
    restore_run_update_options,
)

logger = logging.getLogger(__name__)


@audits_refusal
def restore_run_undo(*, actor: Any, run: RestoreRun) -> RestoreRun:
    """Start the restore of ``run``'s pre-restore snapshot with ``run``'s scope, mapping and
    options, and queue its checks (then its preview).

    The new run goes through every gate of the wizard: undo is a restore, not a shortcut.
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
        undo_run = _start_undo_run(actor, run, snapshot)
    except RestoreRunRefused as refusal:
        # The create's own refusal record was rolled back with this transaction: this one is
        # recorded by the decorator, as a refused undo of ``run``.
        raise RestoreRunRefused(refusal.reasons, action="undo") from None
    try:
        # After the commit, outside any transaction: the worker must see the new run.
        undo_run = restore_run_request_analysis(
            actor=actor, run=undo_run, step="checks", then="preview"
        )
    except RestoreRunError as exc:  # a refusal is audited by the request itself
        logger.info("undo run %s: its checks were not queued: %s", undo_run.pk, exc)
    return undo_run


def undo_scope(run: RestoreRun, snapshot: BackupSet) -> tuple[str, list[int]]:
    """The undo run's scope: the snapshot items of the objects ``run`` had in scope, matched by
    id (the backup item's source id, or the target id the run wrote to). A run over all items
    is undone over the whole snapshot (it holds only the objects the run had in scope), and so
    is a selection none of whose ids the snapshot holds."""
    if run.scope_mode != ScopeMode.SELECTED:
        return ScopeMode.ALL, []
    scoped = BackupItem.objects.filter(
        backup_set_id=run.backup_set_id, pk__in=list(run.requested_items or [])
    )
    ids = set(scoped.values_list("source_id", flat=True))
    ids |= {
        target_id
        for target_id in run.item_outcomes.exclude(target_id="").values_list("target_id", flat=True)
    }
    items = list(
        snapshot.items.filter(source_id__in=sorted(ids)).order_by("pk").values_list("pk", flat=True)
    )
    if not items:
        return ScopeMode.ALL, []  # nothing matched by id: the snapshot is what the run touched
    return ScopeMode.SELECTED, items


def _start_undo_run(actor: Any, run: RestoreRun, snapshot: BackupSet) -> RestoreRun:
    with transaction.atomic():
        undo_run = restore_run_create(actor=actor, tenant=run.tenant, backup_set=snapshot)
        undo_run.metadata = {**(undo_run.metadata or {}), "undo_of": run.pk}
        undo_run.save(update_fields=["metadata", "updated_at"])
        mode, item_ids = undo_scope(run, snapshot)
        undo_run = restore_run_set_scope(actor=actor, run=undo_run, mode=mode, item_ids=item_ids)
        mapping = {kind: entries for kind, entries in (run.group_mapping or {}).items() if entries}
        if mapping:
            undo_run = restore_run_update_mapping(actor=actor, run=undo_run, mapping=mapping)
        if run.options:
            undo_run = restore_run_update_options(
                actor=actor, run=undo_run, options=dict(run.options)
            )
        audit_event_record(
            actor=actor,
            action="restore.undo_started",
            subject=undo_run,
            tenant=run.tenant,
            details={
                "undo_of": run.pk,
                "snapshot_id": snapshot.pk,
                "scope_mode": mode,
                "items": len(item_ids) if mode == ScopeMode.SELECTED else snapshot.item_count,
                "mapping": {kind: len(entries) for kind, entries in mapping.items()},
                "options": dict(run.options or {}),
            },
        )
    return undo_run
