"""Undo a restore: a new wizard run whose source is the run's pre-restore snapshot, opened ready.

The new run carries the original run's scope (the same objects, restricted to what the snapshot
holds) and its options; its checks are queued at once and its preview follows them (the same
background jobs the wizard's buttons queue), so the admin lands on a run that is being analysed
and then ready for step 5. Nothing is skipped: dry-run is on, and executing still needs the
acknowledgement and the typed tenant name, like any restore.

Two things are deliberately not carried as they were:

- The mapping. The original mapping is keyed by the source backup's ids; the snapshot was taken
  from the target, so its references already are the target's own ids. Applied to them, a key
  of another tenant can hit an unrelated object of the target (scope tag ids are small numbers
  in every tenant) and a carried "skip" drops a reference the snapshot needs. The undo starts
  with an empty mapping; a reference really missing now is a normal missing-reference check.
- The assignment mode. When the restore wrote assignments, the undo writes the snapshot's
  assignments back in ``replace`` mode (``merge`` could never remove what the restore added);
  each removal is listed on steps 4 and 5 as always. The audit event records the options the
  undo chose and why.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from django.db import transaction

from tenantguard.audit.services import audit_event_record
from tenantguard.backups.models import BackupItem, BackupKind, BackupSet, BackupStatus
from tenantguard.restores.models import RestoreRun, ScopeMode
from tenantguard.restores.services.analysis import restore_run_request_analysis
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.fingerprint import effective_options
from tenantguard.restores.services.refusals import audits_refusal
from tenantguard.restores.services.runs import (
    restore_run_create,
    restore_run_set_scope,
    restore_run_update_options,
)

logger = logging.getLogger(__name__)


@audits_refusal
def restore_run_undo(*, actor: Any, run: RestoreRun) -> RestoreRun:
    """Start the restore of ``run``'s pre-restore snapshot with ``run``'s scope and options
    (see ``undo_options``; no mapping: see the module), and queue its checks (then its
    preview).

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


def undo_options(run: RestoreRun) -> tuple[dict[str, Any], dict[str, str]]:
    """The undo run's options and, per option the undo decides itself, why.

    The original run's options are carried, except the assignments: when the restore wrote
    assignments (``include_assignments`` on), the undo writes the snapshot's assignments back
    in ``replace`` mode, so the assignments the restore added are removed (``merge`` would keep
    them: the undo would silently leave them in place). When the restore left assignments as
    they were, so does the undo."""
    options: dict[str, Any] = dict(run.options or {})
    original = effective_options(run)
    if original["include_assignments"]:
        options["include_assignments"] = True
        options["assignment_mode"] = "replace"
        why = {
            "assignment_mode": (
                f"replace (restore #{run.pk} used {original['assignment_mode']}): the "
                "snapshot's assignments are written back and those the restore added are "
                "removed, each listed as a removal on steps 4 and 5"
            ),
        }
    else:
        options["include_assignments"] = False
        why = {
            "include_assignments": (
                f"off, as in restore #{run.pk}: it left the assignments as they were, so the "
                "undo does too"
            ),
        }
    return options, why


#: Why the undo run starts without a mapping (audit details and the page's message).
NO_MAPPING_REASON: Final = (
    "not carried: the snapshot's references are the target tenant's own ids (the original "
    "mapping is keyed by the source backup's ids); a reference missing now is a normal check"
)


def undo_carried_summary(undo_run: RestoreRun) -> str:
    """What the undo run carried over, in words for the page that opens it."""
    options = effective_options(undo_run)
    if options["include_assignments"] and options["assignment_mode"] == "replace":
        assignments = (
            "assignments in replace mode (the snapshot's assignments are written back and those "
            "the restore added are removed; steps 4 and 5 list each removal)"
        )
    elif options["include_assignments"]:
        assignments = f"assignments in {options['assignment_mode']} mode"
    else:
        assignments = "assignments left as they are (the restore did not write any)"
    return (
        f"with the same scope and options, {assignments}, and no mapping (the snapshot's "
        "references are the tenant's own ids)"
    )


def _start_undo_run(actor: Any, run: RestoreRun, snapshot: BackupSet) -> RestoreRun:
    with transaction.atomic():
        undo_run = restore_run_create(actor=actor, tenant=run.tenant, backup_set=snapshot)
        undo_run.metadata = {**(undo_run.metadata or {}), "undo_of": run.pk}
        undo_run.save(update_fields=["metadata", "updated_at"])
        mode, item_ids = undo_scope(run, snapshot)
        undo_run = restore_run_set_scope(actor=actor, run=undo_run, mode=mode, item_ids=item_ids)
        options, why = undo_options(run)  # never empty: the assignment options are decided
        undo_run = restore_run_update_options(actor=actor, run=undo_run, options=options)
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
                "mapping": {},
                "mapping_reason": NO_MAPPING_REASON,
                "original_mapping": {
                    kind: len(entries)
                    for kind, entries in (run.group_mapping or {}).items()
                    if entries
                },
                "options": options,
                "original_options": dict(run.options or {}),
                "options_reasons": why,
            },
        )
    return undo_run
