"""A preview that plans no create and no update is not executable: "Nothing to restore". The
policy refuses it (the queue service every client takes, and the run's own execution gates the
worker re-checks), the refusal is audited, and the dry-run "finish" path stays open."""

from __future__ import annotations

import pytest

from tenantguard.audit.models import AuditEvent
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services import runs
from tenantguard.restores.services.diff import SKIP_BLOCKED
from tenantguard.restores.services.policy import (
    NOTHING_TO_RESTORE,
    SKIP_BLOCKED_BY_CHECK,
    Action,
    RestoreRunPolicy,
)


def _record_preview(actor, run: RestoreRun, *, update: int, held_back: int = 0) -> RestoreRun:
    """A preview shaped like the diff engine's: every item unchanged but ``update`` of them
    (updated) and the last ``held_back`` (skipped: a blocking check stops them)."""
    items = list(run.backup_set.items.order_by("pk"))
    unchanged = len(items) - update - held_back
    summary = {
        "policies": {"create": 0, "update": update, "no_change": unchanged, "skip": held_back},
        "foundations": {"create": 0, "update": 0, "no_change": 0, "skip": 0},
        "skipped_by_reason": {SKIP_BLOCKED: held_back} if held_back else {},
        "items": len(items),
    }

    def action(index: int) -> str:
        if index < update:
            return "update"
        return "skip" if index >= len(items) - held_back else "no_change"

    rows = [
        {
            "policy_type": item.policy_type,
            "source_id": item.source_id,
            "display_name": item.display_name,
            "action": action(index),
            "target_id": "t-" + item.source_id,
            "target_hash": "a" * 64,
            "diff": {"skip_code": SKIP_BLOCKED} if action(index) == "skip" else {},
            "reason": "Blocked by check group_missing." if action(index) == "skip" else "",
        }
        for index, item in enumerate(items)
    ]
    return runs.restore_run_record_preview(actor=actor, run=run, summary=summary, items=rows)


def _prepared(
    actor,
    tenant,
    backup_set,
    wizard,
    *,
    update: int,
    dry_run: bool = False,
    held_back: int = 0,
    checks: tuple = (),
):
    run = wizard.prepare(actor, tenant, backup_set, until="checked", checks=checks)
    run = _record_preview(actor, run, update=update, held_back=held_back)
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


# ---- items held back by blocking checks are not "nothing to restore" ----------------------------


def test_items_held_back_by_blockers_are_not_nothing_to_restore(
    personas, tenant, backup_set, wizard, enqueued
):
    """A preview that writes nothing only because blocking checks stop its items: the refusal
    names the blockers and the held-back items, never "Nothing to restore" beside them."""
    operator = personas["operator"]
    blocker = wizard.check("group_missing", "blocking")
    run = _prepared(operator, tenant, backup_set, wizard, update=0, held_back=2, checks=(blocker,))
    policy = RestoreRunPolicy(run, operator)
    assert policy.preview_writes_nothing() and policy.preview_held_back_count() == 2

    assert not policy.nothing_to_restore()
    with pytest.raises(runs.RestoreRunRefused) as refused:
        runs.restore_run_queue_execution(actor=operator, run=run)

    assert NOTHING_TO_RESTORE not in refused.value.reasons
    assert "Checks found 1 blocking problem: resolve them in step 3." in refused.value.reasons
    assert (
        "2 items are held back by blocking checks: resolve them in step 3." in refused.value.reasons
    )
    assert enqueued.enqueued == []


def test_a_blocking_check_alone_is_not_nothing_to_restore(personas, tenant, backup_set, wizard):
    """No item held back, yet the checks report a blocker: not "already matches the backup"."""
    operator = personas["operator"]
    blocker = wizard.check("payload_integrity", "blocking")
    run = _prepared(operator, tenant, backup_set, wizard, update=0, checks=(blocker,))
    policy = RestoreRunPolicy(run, operator)

    assert policy.preview_writes_nothing() and policy.blocking_count() == 1
    assert not policy.nothing_to_restore()
    assert NOTHING_TO_RESTORE not in policy.execution_reasons()


def test_one_held_back_item_is_named_in_the_singular(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = _prepared(operator, tenant, backup_set, wizard, update=0, held_back=1)
    policy = RestoreRunPolicy(run, operator)

    assert not policy.nothing_to_restore()
    assert policy.execution_reasons() == [
        "1 item is held back by blocking checks: resolve them in step 3."
    ]


def test_the_policy_counts_the_diff_engines_skip_code():
    """The policy repeats the diff engine's code (the engine imports the policy)."""
    assert SKIP_BLOCKED_BY_CHECK == SKIP_BLOCKED
