"""Undo opens as a ready run: the original run's scope (the same objects, restricted to what the
pre-restore snapshot holds) and options carried over (not the mapping: the snapshot's references
are the target's own ids; assignments in replace mode when the restore wrote them), its checks
queued with the preview to follow, audited; the admin still confirms (dry-run on, nothing
confirmed). The review findings' scenarios are in ``test_undo_review.py``."""

from __future__ import annotations

import pytest

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun, RestoreStatus, ScopeMode
from tenantguard.restores.services.analysis import restore_run_analysis_run
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.restores.services.policy import Action, RestoreRunPolicy
from tenantguard.restores.services.runs import (
    restore_run_confirm,
    restore_run_create,
    restore_run_queue_execution,
    restore_run_set_dry_run,
    restore_run_set_scope,
    restore_run_update_mapping,
    restore_run_update_options,
)
from tenantguard.restores.services.undo import restore_run_undo

CHOSEN_TYPES = ["settings_catalog", "compliance_policy"]


@pytest.fixture
def executed(personas, tenant, emulated, demo_objects, django_capture_on_commit_callbacks):
    """A run over a selection of TEST's baseline, with a mapping and an option, executed after
    the tenant drifted (so its pre-restore snapshot exists)."""
    owner = personas["owner"]
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    baseline = backup_set_capture(
        backup_set=backup_set_start(actor=owner, tenant=tenant, enqueue=False)
    )
    apply_demo_drift(emulated, seed=1)
    run = restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    chosen = list(baseline.items.filter(policy_type__in=CHOSEN_TYPES).values_list("pk", flat=True))
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=chosen)
    group_id = next(iter(baseline.group_names))
    run = restore_run_update_mapping(actor=owner, run=run, mapping={"group": {group_id: None}})
    run = restore_run_update_options(actor=owner, run=run, options={"assignment_mode": "merge"})
    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)
    run = restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = restore_run_confirm(actor=owner, run=run, acknowledged=True, typed_label="Contoso Test")
    run = restore_run_execute(run_id=restore_run_queue_execution(actor=owner, run=run).pk)
    assert run.status in (RestoreStatus.COMPLETED, RestoreStatus.PARTIAL), run.results
    return run


def test_undo_carries_scope_and_options_but_not_the_mapping_and_queues_its_checks(
    personas, executed, held_analysis
):
    owner, run = personas["owner"], executed

    undo = restore_run_undo(actor=owner, run=run)

    snapshot = undo.backup_set
    assert snapshot.kind == "pre_restore" and snapshot.restore_run_id == run.pk
    # The same objects: the snapshot items of what the run had in scope, by id.
    assert undo.scope_mode == ScopeMode.SELECTED
    scoped_ids = set(
        snapshot.items.filter(pk__in=undo.requested_items).values_list("source_id", flat=True)
    )
    original_ids = set(
        run.backup_set.items.filter(pk__in=run.requested_items).values_list("source_id", flat=True)
    )
    assert scoped_ids and scoped_ids <= original_ids | set(
        run.item_outcomes.values_list("target_id", flat=True)
    )
    assert set(
        snapshot.items.filter(pk__in=undo.requested_items).values_list("policy_type", flat=True)
    ) <= set(CHOSEN_TYPES)
    # The mapping is keyed by the backup's ids, the snapshot holds the target's own: not carried.
    assert run.group_mapping and undo.group_mapping == {}
    # The restore merged assignments in: the undo replaces, so what it added can be removed.
    assert undo.options["assignment_mode"] == "replace"
    assert undo.options["include_assignments"] is True
    # Checks queued, with the preview to follow; nothing confirmed, dry-run on.
    assert undo.status == RestoreStatus.SCOPED
    assert undo.analysis["step"] == "checks" and undo.analysis["state"] == "queued"
    assert undo.analysis["then"] == "preview"
    assert held_analysis.jobs == [(undo.pk, undo.analysis["job"])]
    assert undo.dry_run and "confirmation" not in (undo.metadata or {})
    event = AuditEvent.objects.get(action="restore.undo_started", subject_id=str(undo.pk))
    assert event.details["undo_of"] == run.pk
    assert event.details["scope_mode"] == "selected"
    assert event.details["items"] == len(undo.requested_items)
    assert event.details["mapping"] == {}
    assert event.details["original_mapping"] == {"group": 1}
    assert event.details["options"] == {"assignment_mode": "replace", "include_assignments": True}
    assert event.details["original_options"] == {"assignment_mode": "merge"}
    assert set(event.details["options_reasons"]) == {"assignment_mode"}
    assert AuditEvent.objects.filter(
        action="restore.checks_requested", subject_id=str(undo.pk)
    ).exists()


def test_the_worker_runs_the_checks_then_the_preview_and_the_run_is_ready_for_step_5(
    personas, executed, held_analysis
):
    owner = personas["owner"]
    undo = restore_run_undo(actor=owner, run=executed)

    # The worker takes the checks; they queue the preview, which the worker takes next.
    ((run_id, job),) = held_analysis.jobs
    assert restore_run_analysis_run(run_id=run_id, job_id=job) == "done"
    undo = RestoreRun.objects.get(pk=undo.pk)
    assert undo.analysis["step"] == "preview" and undo.analysis["state"] == "queued"
    assert restore_run_analysis_run(run_id=undo.pk, job_id=held_analysis.jobs[1][1]) == "done"

    undo = RestoreRun.objects.select_related("tenant", "backup_set").get(pk=undo.pk)
    assert undo.status == RestoreStatus.PREVIEWED and not undo.analysis
    policy = RestoreRunPolicy(undo, owner)
    assert policy.checks_state().current and policy.preview_state().current
    assert policy.can(Action.CONFIRM).allowed
    # The admin still confirms: execution waits for dry-run off, the box and the name.
    reasons = policy.can(Action.EXECUTE).reasons
    assert "Dry-run is on: turn it off to write to the tenant." in reasons


def test_undo_is_refused_for_a_viewer_and_audited(personas, executed):
    from tenantguard.restores.services.errors import RestoreRunRefused

    with pytest.raises(RestoreRunRefused):
        restore_run_undo(actor=personas["viewer"], run=executed)

    assert RestoreRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="restore.refused", subject_id=str(executed.pk)).exists()
