"""A preview that plans no create and no update is not executable: "Nothing to restore". The
policy refuses it (the queue service every client takes, and the run's own execution gates the
worker re-checks), the refusal is audited, and the dry-run "finish" path stays open."""

from __future__ import annotations

import pytest

from tenantguard.audit.models import AuditEvent
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services import runs
from tenantguard.restores.services.policy import NOTHING_TO_RESTORE, Action, RestoreRunPolicy


def _record_preview(actor, run: RestoreRun, *, update: int) -> RestoreRun:
    """A preview shaped like the diff engine's: every item unchanged but ``update`` of them."""
    items = list(run.backup_set.items.order_by("pk"))
    summary = {
        "policies": {"create": 0, "update": update, "no_change": len(items) - update, "skip": 0},
        "foundations": {"create": 0, "update": 0, "no_change": 0, "skip": 0},
        "items": len(items),
    }
    rows = [
        {
            "policy_type": item.policy_type,
            "source_id": item.source_id,
            "display_name": item.display_name,
            "action": "update" if index < update else "no_change",
            "target_id": "t-" + item.source_id,
            "target_hash": "a" * 64,
            "diff": {},
        }
        for index, item in enumerate(items)
    ]
    return runs.restore_run_record_preview(actor=actor, run=run, summary=summary, items=rows)


def _prepared(actor, tenant, backup_set, wizard, *, update: int, dry_run: bool = False):
    run = wizard.prepare(actor, tenant, backup_set, until="checked")
    run = _record_preview(actor, run, update=update)
    if not dry_run:
        run = runs.restore_run_set_dry_run(actor=actor, run=run, dry_run=False)
    return runs.restore_run_confirm(
        actor=actor, run=run, acknowledged=True, typed_label=tenant.display_name
    )


def test_a_preview_with_nothing_to_write_is_refused_and_audited(
    personas, tenant, backup_set, wizard, enqueued
):
    operator = personas["operator"]
    run = _prepared(operator, tenant, backup_set, wizard, update=0)

    assert RestoreRunPolicy(run, operator).preview_writes_nothing()
    with pytest.raises(runs.RestoreRunRefused) as refused:
        runs.restore_run_queue_execution(actor=operator, run=run)

    assert refused.value.reasons == [NOTHING_TO_RESTORE]
    assert RestoreRun.objects.get(pk=run.pk).status == RestoreStatus.PREVIEWED
    assert enqueued.enqueued == []
    event = AuditEvent.objects.filter(action="restore.execute_refused").get()
    assert NOTHING_TO_RESTORE in str(event.details)


def test_the_run_itself_is_not_executable_whoever_asks(personas, tenant, backup_set, wizard):
    """The gate is about the run (``execution_reasons``, which the worker's claim re-checks
    too), not about the person: an admin is refused the same way."""
    operator, owner = personas["operator"], personas["owner"]
    run = _prepared(operator, tenant, backup_set, wizard, update=0)

    assert NOTHING_TO_RESTORE in RestoreRunPolicy(run, None).execution_reasons()
    assert NOTHING_TO_RESTORE in RestoreRunPolicy(run, owner).can(Action.EXECUTE).reasons


def test_one_update_is_enough_to_execute(
    personas, tenant, backup_set, wizard, enqueued, django_capture_on_commit_callbacks
):
    operator = personas["operator"]
    run = _prepared(operator, tenant, backup_set, wizard, update=1)

    assert not RestoreRunPolicy(run, operator).preview_writes_nothing()
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.restore_run_queue_execution(actor=operator, run=run)

    assert RestoreRun.objects.get(pk=run.pk).status == RestoreStatus.QUEUED
    assert enqueued.enqueued == [run.pk]


def test_a_dry_run_with_nothing_to_write_can_still_be_finished(
    personas, tenant, backup_set, wizard
):
    operator = personas["operator"]
    run = _prepared(operator, tenant, backup_set, wizard, update=0, dry_run=True)

    assert RestoreRunPolicy(run, operator).can(Action.FINISH_DRY_RUN).allowed
    run = runs.restore_run_finish_dry_run(actor=operator, run=run)

    assert run.status == RestoreStatus.COMPLETED
    assert run.results["dry_run"] is True
