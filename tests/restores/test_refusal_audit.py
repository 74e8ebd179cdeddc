"""Every refused restore action is in the audit trail: who tried what, and the policy's reasons.

The refused service raises from inside its transaction, so nothing it started to change stays;
the refusal itself is recorded once, after the rollback.
"""

from __future__ import annotations

import pytest

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupKind, BackupSet
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services import checks, diff, runs, undo
from tenantguard.restores.services.errors import RestoreRunRefused

pytestmark = pytest.mark.django_db


def _refusals():
    return list(AuditEvent.objects.filter(action="restore.refused").order_by("pk"))


def _attempts(wizard, backup_set):
    """(action name, call(actor, run)) for every user-facing service that changes a run."""
    return [
        (
            "select_source",
            lambda a, r: runs.restore_run_select_source(actor=a, run=r, backup_set=backup_set),
        ),
        ("set_scope", lambda a, r: runs.restore_run_set_scope(actor=a, run=r, mode="all")),
        ("edit_mapping", lambda a, r: runs.restore_run_update_mapping(actor=a, run=r, mapping={})),
        (
            "edit_options",
            lambda a, r: runs.restore_run_update_options(
                actor=a, run=r, options={"create_missing": False}
            ),
        ),
        ("set_dry_run", lambda a, r: runs.restore_run_set_dry_run(actor=a, run=r, dry_run=False)),
        ("run_checks", lambda a, r: checks.restore_run_run_checks(actor=a, run=r)),
        ("run_preview", lambda a, r: diff.restore_run_run_preview(actor=a, run=r)),
        (
            "confirm",
            lambda a, r: runs.restore_run_confirm(
                actor=a, run=r, acknowledged=True, typed_label="Contoso Test"
            ),
        ),
        ("finish_dry_run", lambda a, r: runs.restore_run_finish_dry_run(actor=a, run=r)),
        ("cancel", lambda a, r: runs.restore_run_cancel(actor=a, run=r)),
        ("resume", lambda a, r: runs.restore_run_resume(actor=a, run=r)),
    ]


ACTIONS = [
    "select_source",
    "set_scope",
    "edit_mapping",
    "edit_options",
    "set_dry_run",
    "run_checks",
    "run_preview",
    "confirm",
    "finish_dry_run",
    "cancel",
    "resume",
]


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_refused_any_wizard_action_is_audited_with_the_reasons(
    action, personas, tenant, backup_set, wizard
):
    run = wizard.prepare(personas["operator"], tenant, backup_set, until="previewed")
    before = RestoreRun.objects.get(pk=run.pk)
    call = dict(_attempts(wizard, backup_set))[action]

    with pytest.raises(RestoreRunRefused) as refused:
        call(personas["viewer"], run)

    [event] = _refusals()
    assert event.actor_label == "viewer"
    assert event.subject_type == "restores.restorerun"
    assert event.subject_id == str(run.pk)
    assert event.tenant_id == tenant.pk
    assert event.details["action"] == action
    assert event.details["reasons"] == refused.value.reasons
    assert event.details["reasons"], "a refusal always says why"
    after = RestoreRun.objects.get(pk=run.pk)
    assert (after.status, after.dry_run, after.updated_at) == (
        before.status,
        before.dry_run,
        before.updated_at,
    )


def test_every_user_facing_run_service_is_covered_by_the_test_above(wizard, backup_set):
    assert [name for name, _ in _attempts(wizard, backup_set)] == ACTIONS


#: Services that take an actor but record their refusals themselves.
SELF_AUDITED = {"restore_run_queue_execution"}


def test_every_restore_service_taking_an_actor_audits_its_refusals():
    import inspect

    from tenantguard.restores.services import analysis as analysis_services

    modules = (runs, checks, diff, undo, analysis_services)
    services = {
        name: function
        for module in modules
        for name, function in vars(module).items()
        if name.startswith("restore_run_")
        and inspect.isfunction(function)
        and function.__module__ == module.__name__
        and "actor" in inspect.signature(function).parameters
    }
    assert len(services) >= 15, sorted(services)
    unaudited = sorted(
        name
        for name, function in services.items()
        if not hasattr(function, "__wrapped__") and name not in SELF_AUDITED
    )
    assert unaudited == [], f"add @audits_refusal to {unaudited}"


def test_a_refused_create_is_audited_against_the_tenant(personas, tenant, backup_set):
    with pytest.raises(RestoreRunRefused):
        runs.restore_run_create(actor=personas["viewer"], tenant=tenant, backup_set=backup_set)

    [event] = _refusals()
    assert event.subject_type == "tenants.tenant"
    assert event.subject_id == str(tenant.pk)
    assert event.details["action"] == "create"
    assert not RestoreRun.objects.exists()


def test_a_refused_execute_is_recorded_once_as_execute_refused(
    personas, tenant, backup_set, wizard, enqueued
):
    run = wizard.prepare(personas["operator"], tenant, backup_set, until="previewed")

    with pytest.raises(RestoreRunRefused):
        runs.restore_run_request_execution(
            actor=personas["operator"], run=run, acknowledged=True, typed_label="contoso test"
        )

    assert _refusals() == []
    assert AuditEvent.objects.filter(action="restore.execute_refused").count() == 1
    assert enqueued.enqueued == []


def test_a_refusal_inside_checks_recording_is_recorded_once(personas, tenant, backup_set, wizard):
    run = wizard.prepare(personas["operator"], tenant, backup_set, until="scoped")
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.CANCELLED)
    run.refresh_from_db()

    with pytest.raises(RestoreRunRefused):
        wizard.record_checks(personas["operator"], run)

    [event] = _refusals()
    assert event.details["status"] == RestoreStatus.CANCELLED


def test_a_refused_undo_is_audited_once_as_undo(personas, tenant, backup_set, wizard):
    run = wizard.prepare(personas["owner"], tenant, backup_set, until="previewed")
    BackupSet.objects.create(
        tenant=tenant,
        name="Before restore",
        status="completed",
        kind=BackupKind.PRE_RESTORE,
        restore_run=run,
    )

    with pytest.raises(RestoreRunRefused) as refused:
        undo.restore_run_undo(actor=personas["viewer"], run=run)

    [event] = _refusals()
    assert event.details["action"] == "undo"
    assert event.details["reasons"] == refused.value.reasons
    assert event.subject_id == str(run.pk)
    assert RestoreRun.objects.count() == 1
