"""RestoreExecutor: writes a previewed, confirmed run to the target tenant (DESIGN.md §2).

1. Claim the run (conditional ``queued -> running``; the database allows one running run per
   tenant). A run whose tenant is busy waits for the lock, then stays queued with the reason.
2. Read the live target once for the in-scope types and capture the pre-restore snapshot of
   every in-scope target object (a ``pre_restore`` backup set linked to the run), once per run.
3. Foundations first (scope tags, filters, notification templates), recording source id ->
   target id; then policies with references rewritten through the mapping and those ids; then
   assignments.
4. Per item: re-read the target and compare it with the hash the preview saw (else
   ``changed_since_preview``), write, read back, verify, and persist the outcome (a checkpoint)
   before the next item. Cancellation is honoured between items. Nothing is ever deleted.
5. Finish ``completed`` (every written item verified), ``partial`` or ``failed``.

Resume: checkpoints make a second execution of the same run continue where the first stopped.
An item whose create was started but not recorded (the worker died in between) is recognised
by its ``creating`` checkpoint: the object found by name in the target is adopted, never
created twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from tenantguard.backups.models import BackupKind, BackupSet, BackupStatus
from tenantguard.backups.services import backup_set_store_captured
from tenantguard.graph import GraphClient, GraphError
from tenantguard.intune import normalize, references, registry, target, write
from tenantguard.intune.capture import CapturedItem
from tenantguard.restores.models import (
    CHANGED_SINCE_PREVIEW_REASON,
    OUTCOMES_WITH_TARGET,
    ExecutionStage,
    ItemOutcome,
    PreviewAction,
    RestoreItemOutcome,
    RestorePreviewItem,
    RestoreRun,
    RestoreStatus,
)
from tenantguard.restores.services.diff import target_hash
from tenantguard.restores.services.errors import RestoreRunError
from tenantguard.restores.services.fingerprint import effective_options, normalized_mapping
from tenantguard.restores.services.runs import (
    restore_run_cancel_requested,
    restore_run_claim,
    restore_run_finish,
    restore_run_heartbeat,
)
from tenantguard.restores.services.source import FOUNDATION_KINDS, policy_type_of, restore_order
from tenantguard.tenants.graph_access import graph_client_for

logger = logging.getLogger(__name__)

#: How long a run waits for another run of the same tenant to finish before it gives up
#: (it then stays queued and can be queued again).
LOCK_WAIT_SECONDS = 600.0
LOCK_POLL_SECONDS = 2.0
#: Before a create, the target's names of that type are listed again when the last listing is
#: older than this: "re-read before each write" for objects that do not exist yet, at the cost
#: of one paged ``$select`` listing per type and interval.
CREATE_RECHECK_SECONDS = 15.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class _WorkItem:
    """One in-scope backup item with what the preview planned for it."""

    position: int
    backup_item: Any
    planned: RestorePreviewItem | None

    @property
    def type_key(self) -> str:
        return str(self.backup_item.policy_type)

    @property
    def source_id(self) -> str:
        return str(self.backup_item.source_id)

    @property
    def ptype(self) -> registry.PolicyType:
        return policy_type_of(self.type_key)


def _kind_of_foundation(type_key: str) -> str | None:
    """The mapping kind a foundation type's ids belong to (its own key), None for policies."""
    return type_key if type_key in FOUNDATION_KINDS else None


@dataclass
class _Intended:
    payload: dict[str, Any]
    assignments: list[dict[str, Any]] | None
    scope_tag_ids: list[str]
    skipped_assignments: int = 0


@dataclass
class RestoreExecutor:
    run: RestoreRun
    worker_id: str
    client: GraphClient
    foundation_ids: dict[str, dict[str, str]] = field(default_factory=dict)
    # Reads saved for later steps of the same item (never persisted: a resumed run reads again).
    # The target's assignments as read before a body write (a PATCH/PUT of the body leaves
    # them as they are), and reads after which nothing was written (they are the read-back).
    _assignments_read: dict[tuple[str, str], list[dict[str, Any]] | None] = field(
        default_factory=dict
    )
    _unchanged_reads: dict[tuple[str, str], CapturedItem] = field(default_factory=dict)
    # Names of each type's live objects and when they were listed, for the check before a create.
    create_recheck_seconds: float = field(default_factory=lambda: CREATE_RECHECK_SECONDS)
    _live_names: dict[str, tuple[float, dict[str, list[str]]]] = field(default_factory=dict)

    def _live_ids(self, type_key: str, display_name: str) -> list[str]:
        """Ids of the target objects of this type and name, listed at most
        ``create_recheck_seconds`` ago (one cheap ``$select`` listing per type)."""
        read_at, names = self._live_names.get(type_key, (None, {}))
        now = time.monotonic()
        if read_at is None or now - read_at >= self.create_recheck_seconds:
            names = target.live_names(self.client, type_key=type_key)
            self._live_names[type_key] = (now, names)
        return list(names.get(display_name, []))

    # ---- setup ---------------------------------------------------------------------------

    @property
    def _source(self) -> BackupSet:
        if self.run.backup_set is None:  # the policy never queues a run without one
            raise RestoreRunError(f"Restore run #{self.run.pk} has no backup set to restore.")
        return self.run.backup_set

    def _work_items(self) -> list[_WorkItem]:
        run = self.run
        items = self._source.items.all()
        if run.scope_mode == "selected":
            items = items.filter(pk__in=[int(pk) for pk in run.requested_items or []])
        planned = {(p.policy_type, p.source_id): p for p in run.preview_items.all()}
        ordered = sorted(
            items, key=lambda i: (restore_order(i.policy_type), i.policy_type, i.display_name, i.pk)
        )
        return [
            _WorkItem(
                position=index,
                backup_item=item,
                planned=planned.get((item.policy_type, item.source_id)),
            )
            for index, item in enumerate(ordered)
        ]

    def _outcomes(self) -> dict[tuple[str, str], RestoreItemOutcome]:
        return {(o.policy_type, o.source_id): o for o in self.run.item_outcomes.all()}

    # ---- the run ---------------------------------------------------------------------------

    def execute(self) -> RestoreRun:
        options = effective_options(self.run)
        mapping = normalized_mapping(self.run.group_mapping)
        work = self._work_items()
        outcomes = self._outcomes()
        for outcome in outcomes.values():
            kind = _kind_of_foundation(outcome.policy_type)
            if kind and outcome.target_id and outcome.outcome in OUTCOMES_WITH_TARGET:
                self.foundation_ids.setdefault(kind, {})[outcome.source_id] = outcome.target_id

        writable_types = sorted({w.type_key for w in work if write.is_writable(w.type_key)})
        state = target.read_target(self.client, type_keys=writable_types)
        self._ensure_snapshot(work, state, writable_types)

        # Work items are in restore order (foundations first), so by the time a policy is
        # written its scope tags, filters and templates exist and their ids are known.
        for item in work:
            if self._should_stop():
                return self._finish(cancelled=True)
            key = (item.type_key, item.source_id)
            checkpoint = outcomes.get(key)
            if checkpoint is None or not checkpoint.is_final_for_object:
                checkpoint = self._restore_object(item, mapping, options, checkpoint)
                outcomes[key] = checkpoint
            outcome = checkpoint
            if options["include_assignments"] and outcome.needs_assignments:
                self._restore_assignments(item, outcome, mapping)
            if outcome.needs_verification:
                self._verify(
                    item, outcome, mapping, options, current=self._unchanged_reads.pop(key, None)
                )
        return self._finish(cancelled=False)

    def _should_stop(self) -> bool:
        if not restore_run_heartbeat(run_id=self.run.pk, worker_id=self.worker_id):
            raise _LostClaim(f"Restore run #{self.run.pk} is no longer held by this worker.")
        return restore_run_cancel_requested(run_id=self.run.pk)

    # ---- snapshot --------------------------------------------------------------------------

    def _ensure_snapshot(
        self, work: list[_WorkItem], state: target.TargetState, type_keys: list[str]
    ) -> None:
        if BackupSet.objects.filter(
            restore_run=self.run,
            kind=BackupKind.PRE_RESTORE,
            status__in=[BackupStatus.COMPLETED, BackupStatus.PARTIAL],
        ).exists():
            return
        # A snapshot left running by a worker that died is incomplete: take it again.
        BackupSet.objects.filter(
            restore_run=self.run, kind=BackupKind.PRE_RESTORE, status=BackupStatus.RUNNING
        ).delete()
        target_ids: set[str] = set()
        for item in work:
            if item.planned is not None and item.planned.target_id:
                target_ids.add(item.planned.target_id)
            match = target.match_item(
                state,
                type_key=item.type_key,
                source_id=item.source_id,
                display_name=item.backup_item.display_name,
                same_tenant=self._same_tenant,
            )
            target_ids.update(
                c.source_id
                for c in ([match.target] if match.target else []) + list(match.candidates)
            )
        with transaction.atomic():
            snapshot = BackupSet.objects.create(
                tenant=self.run.tenant,
                kind=BackupKind.PRE_RESTORE,
                restore_run=self.run,
                created_by=self.run.requested_by,
                name=f"Before restore #{self.run.pk} to {self.run.tenant_label} ({timezone.now():%Y-%m-%d %H:%M} UTC)",
            )
        # The target was read moments ago for this execution: the snapshot is that read.
        backup_set_store_captured(
            backup_set=snapshot,
            items=[c for key in type_keys for c in state.items(key) if c.source_id in target_ids],
            warnings=[
                {"type_key": key, "source_id": None, "message": message, "permission": None}
                for key, message in state.unreadable.items()
            ],
            group_names=dict(state.group_names),
        )

    @property
    def _same_tenant(self) -> bool:
        return self._source.tenant_id == self.run.tenant_id

    # ---- phase 1 and 2: objects -------------------------------------------------------------

    def _intended(self, item: _WorkItem, mapping: dict[str, Any]) -> _Intended:
        backup_item = item.backup_item
        rewritten = references.rewrite(
            type_key=item.type_key,
            payload=backup_item.payload,
            assignments=backup_item.assignments,
            scope_tag_ids=backup_item.scope_tag_ids,
            mapping=mapping,
            foundation_ids=self.foundation_ids,
        )
        return _Intended(
            payload=rewritten.payload,
            assignments=rewritten.assignments,
            scope_tag_ids=rewritten.scope_tag_ids,
            skipped_assignments=len(rewritten.skipped_assignments),
        )

    def _record(
        self, item: _WorkItem, existing: RestoreItemOutcome | None, **values: Any
    ) -> RestoreItemOutcome:
        """Persist the item's checkpoint before the executor moves on."""
        outcome = existing or RestoreItemOutcome(
            run=self.run,
            position=item.position,
            policy_type=item.type_key,
            source_id=item.source_id,
            display_name=item.backup_item.display_name,
        )
        for name, value in values.items():
            setattr(outcome, name, value)
        outcome.save()
        return outcome

    def _restore_object(
        self,
        item: _WorkItem,
        mapping: dict[str, Any],
        options: dict[str, bool],
        existing: RestoreItemOutcome | None,
    ) -> RestoreItemOutcome:
        planned = item.planned
        if planned is not None and planned.action == PreviewAction.SKIP:
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.SKIPPED,
                stage="done",
                reason=planned.reason or "Skipped by the preview.",
                target_id=planned.target_id,
            )
        if (
            not write.is_writable(item.type_key, item.backup_item.payload)
            or registry.is_unsupported(item.ptype)
            or item.ptype.is_preview_only
        ):
            # Safety net: the preview plans these as skipped; whatever it said, never write them.
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.SKIPPED,
                stage="done",
                reason="TenantGuard never writes this object (a preview-only or unsupported "
                "type, or Intune's built-in scope tag).",
            )
        if planned is None:
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.SKIPPED,
                stage="done",
                reason="Not in the preview: run the preview again to restore it.",
            )
        try:
            return self._write_object(item, mapping, options, existing)
        except GraphError as exc:
            logger.warning(
                "Restore run %s: %s %s failed: %s", self.run.pk, item.type_key, item.source_id, exc
            )
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.FAILED,
                stage="done",
                error_code=exc.code or str(exc.status or ""),
                error_message=str(exc),
            )
        except (write.WriteError, normalize.MissingSecretError) as exc:
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.FAILED,
                stage="done",
                error_code="invalid_payload",
                error_message=str(exc),
            )

    def _write_object(
        self,
        item: _WorkItem,
        mapping: dict[str, Any],
        options: dict[str, bool],
        existing: RestoreItemOutcome | None,
    ) -> RestoreItemOutcome:
        planned = item.planned
        assert planned is not None
        backup_item = item.backup_item
        intended = self._intended(item, mapping)
        kind = _kind_of_foundation(item.type_key)
        key = (item.type_key, item.source_id)

        def remember(current: CapturedItem | None, *, written: bool) -> None:
            if current is not None and current.assignments is not None:
                self._assignments_read[key] = current.assignments
            if current is not None and not written:
                self._unchanged_reads[key] = current

        if planned.action == PreviewAction.CREATE:
            # Re-read: has an object of this name appeared since the preview?
            live = self._live_ids(item.type_key, backup_item.display_name)
            if existing is not None and existing.stage == "creating" and len(live) == 1:
                # Our own create from an execution that died before recording it: adopt it.
                target_id = live[0]
                current = target.read_one(self.client, type_key=item.type_key, object_id=target_id)
                changed = (
                    write.update_object(
                        self.client,
                        type_key=item.type_key,
                        target_id=target_id,
                        payload=intended.payload,
                        secrets=backup_item.secrets,
                        current=current,
                    )
                    if current is not None
                    else False
                )
                remember(current, written=changed)
                outcome = self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.CREATED,
                    stage="written",
                    target_id=target_id,
                    reason="Recovered after an interrupted run: created once."
                    if not changed
                    else "",
                )
            elif live:
                return self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.SKIPPED,
                    stage="done",
                    reason=CHANGED_SINCE_PREVIEW_REASON,
                    skip_code="changed_since_preview",
                    target_id=live[0],
                )
            else:
                if not options["create_missing"]:
                    return self._record(
                        item,
                        existing,
                        outcome=ItemOutcome.SKIPPED,
                        stage="done",
                        reason="Missing in the target and 'create missing objects' is off.",
                    )
                existing = self._record(
                    item, existing, stage="creating", outcome=ItemOutcome.PENDING
                )
                target_id = write.create_object(
                    self.client,
                    type_key=item.type_key,
                    payload=intended.payload,
                    secrets=backup_item.secrets,
                )
                self._assignments_read[key] = []  # a new object has no assignments yet
                self._live_names[item.type_key][1].setdefault(backup_item.display_name, []).append(
                    target_id
                )
                outcome = self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.CREATED,
                    stage="written",
                    target_id=target_id,
                )
        else:
            target_id = planned.target_id
            current = target.read_one(self.client, type_key=item.type_key, object_id=target_id)
            own_write_in_flight = existing is not None and existing.stage == ExecutionStage.UPDATING
            if current is None or (
                target_hash(item.type_key, current) != planned.target_hash
                and not own_write_in_flight
            ):
                return self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.SKIPPED,
                    stage="done",
                    reason=CHANGED_SINCE_PREVIEW_REASON,
                    skip_code="changed_since_preview",
                    target_id=target_id,
                )
            if planned.action == PreviewAction.NO_CHANGE:
                remember(current, written=False)
                outcome = self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.UNCHANGED,
                    stage="written",
                    target_id=target_id,
                )
            else:
                # An update whose worker died mid-write differs from the preview because of our
                # own write: it is applied again (writes are idempotent), never reported changed.
                existing = self._record(
                    item, existing, stage=ExecutionStage.UPDATING, target_id=target_id
                )
                changed = write.update_object(
                    self.client,
                    type_key=item.type_key,
                    target_id=target_id,
                    payload=intended.payload,
                    secrets=backup_item.secrets,
                    current=current,
                )
                remember(current, written=changed)
                outcome = self._record(
                    item,
                    existing,
                    stage="written",
                    target_id=target_id,
                    outcome=ItemOutcome.UPDATED
                    if changed or own_write_in_flight
                    else ItemOutcome.UNCHANGED,
                )
        if kind and outcome.target_id:
            self.foundation_ids.setdefault(kind, {})[item.source_id] = outcome.target_id
        return outcome

    # ---- phase 3: assignments ----------------------------------------------------------------

    def _restore_assignments(
        self, item: _WorkItem, outcome: RestoreItemOutcome, mapping: dict[str, Any]
    ) -> None:
        key = (item.type_key, item.source_id)
        intended = self._intended(item, mapping)
        if intended.assignments is None or not item.ptype.assign:
            self._record(item, outcome, stage="assigned")
            return
        try:
            if key in self._assignments_read:
                current_assignments = self._assignments_read.pop(key)
            else:
                current = target.read_one(
                    self.client, type_key=item.type_key, object_id=outcome.target_id
                )
                current_assignments = current.assignments if current else None
                if current is not None:
                    self._unchanged_reads[key] = current
            if normalize.normalize_assignments(
                current_assignments or []
            ) != normalize.normalize_assignments(intended.assignments):
                write.assign_object(
                    self.client,
                    type_key=item.type_key,
                    target_id=outcome.target_id,
                    assignments=intended.assignments,
                )
                self._unchanged_reads.pop(key, None)
                self._record(
                    item,
                    outcome,
                    stage="assigned",
                    assignments_written=True,
                    skipped_assignments=intended.skipped_assignments,
                )
            else:
                self._record(
                    item,
                    outcome,
                    stage="assigned",
                    skipped_assignments=intended.skipped_assignments,
                )
        except GraphError as exc:
            self._unchanged_reads.pop(key, None)
            self._record(
                item,
                outcome,
                stage="done",
                outcome=ItemOutcome.FAILED,
                error_code=exc.code or str(exc.status or ""),
                error_message=f"The object was written but its assignments were not: {exc}",
            )

    # ---- verification --------------------------------------------------------------------------

    def _verify(
        self,
        item: _WorkItem,
        outcome: RestoreItemOutcome,
        mapping: dict[str, Any],
        options: dict[str, bool],
        current: CapturedItem | None = None,
    ) -> None:
        intended = self._intended(item, mapping)
        try:
            if current is None:
                current = target.read_one(
                    self.client, type_key=item.type_key, object_id=outcome.target_id
                )
        except GraphError as exc:
            self._record(
                item,
                outcome,
                stage="done",
                verified=False,
                differences=[f"Could not read it back: {exc}"],
            )
            return
        if current is None:
            self._record(
                item,
                outcome,
                stage="done",
                verified=False,
                differences=["The object is not in the target any more."],
            )
            return
        differences = verification_differences(
            type_key=item.type_key,
            intended=intended,
            current=current,
            include_assignments=options["include_assignments"],
        )
        self._record(item, outcome, stage="done", verified=not differences, differences=differences)

    # ---- end -------------------------------------------------------------------------------------

    def _finish(self, *, cancelled: bool) -> RestoreRun:
        outcomes = list(self.run.item_outcomes.all())
        summary: dict[str, int] = {}
        for outcome in outcomes:
            summary[outcome.outcome] = summary.get(outcome.outcome, 0) + 1
        written = [
            o
            for o in outcomes
            if o.outcome in (ItemOutcome.CREATED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED)
        ]
        failed = [o for o in outcomes if o.outcome == ItemOutcome.FAILED]
        unverified = [o for o in written if o.verified is False]
        changed = [o for o in outcomes if o.skip_code == "changed_since_preview"]
        if cancelled:
            status = RestoreStatus.CANCELLED
        elif failed and not written:
            status = RestoreStatus.FAILED
        elif failed or unverified or changed:
            status = RestoreStatus.PARTIAL
        else:
            status = RestoreStatus.COMPLETED
        results = {
            "dry_run": False,
            "summary": summary,
            "verified": sum(1 for o in written if o.verified),
            "unverified": len(unverified),
            "changed_since_preview": len(changed),
            "failed": len(failed),
            "items": len(outcomes),
        }
        return restore_run_finish(
            run=self.run, status=status, results=results, worker_id=self.worker_id
        )


class _LostClaim(Exception):
    """Another worker holds the run now (it was resumed elsewhere): stop without finishing."""


def verification_differences(
    *, type_key: str, intended: _Intended, current: CapturedItem, include_assignments: bool
) -> list[str]:
    """What still differs between the intended state and the object read back (empty: verified)."""
    differences: list[str] = []
    if normalize.normalize_payload(type_key, intended.payload) != normalize.normalize_payload(
        type_key, current.payload
    ):
        differences.append("Settings differ from the backup after writing.")
    if include_assignments and intended.assignments is not None and policy_type_of(type_key).assign:
        if normalize.normalize_assignments(intended.assignments) != normalize.normalize_assignments(
            current.assignments or []
        ):
            differences.append("Assignments differ from the backup after writing.")
    if policy_type_of(type_key).scope_tag_property and sorted(intended.scope_tag_ids) != sorted(
        current.scope_tag_ids
    ):
        differences.append("Scope tags differ from the backup after writing.")
    return differences


def restore_run_execute(
    *,
    run_id: int,
    worker_id: str | None = None,
    client: GraphClient | None = None,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> RestoreRun:
    """Claim and execute a queued run (the task worker's entry point; safe to call twice)."""
    worker_id = worker_id or default_worker_id()
    waited = 0.0
    while True:
        claim = restore_run_claim(run_id=run_id, worker_id=worker_id)
        if claim:
            break
        run = RestoreRun.objects.get(pk=run_id)
        if claim.code != "lock_busy" or waited >= lock_wait_seconds:
            logger.info("Restore run %s not executed: %s", run_id, claim.reason)
            return run
        sleep(LOCK_POLL_SECONDS)
        waited += LOCK_POLL_SECONDS
    run = RestoreRun.objects.select_related("tenant", "backup_set", "requested_by").get(pk=run_id)
    executor = RestoreExecutor(
        run=run, worker_id=worker_id, client=client or graph_client_for(run.tenant)
    )
    try:
        return executor.execute()
    except _LostClaim as exc:
        logger.warning("%s", exc)
        return RestoreRun.objects.get(pk=run_id)
    except GraphError as exc:
        # Tenant-wide failure (e.g. the target cannot be read at all): nothing more can be done.
        return restore_run_finish(
            run=run,
            status=RestoreStatus.FAILED,
            worker_id=worker_id,
            results={"dry_run": False, "error": str(exc), "items": run.item_outcomes.count()},
        )
