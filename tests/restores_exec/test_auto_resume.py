"""A run whose worker died is resumed without a person (issue 7 C11); stalled checks and
preview jobs are queued again. Audited as the system."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenantguard.audit.models import AuditEvent
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.intune import write as write_module
from tenantguard.restores import tasks
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import recovery
from tenantguard.restores.services.analysis import restore_run_request_analysis
from tenantguard.restores.services.execute import RESUMED_REASON, restore_run_execute
from tenantguard.restores.services.runs import (
    restore_run_cancel,
    restore_run_claim,
    restore_run_create,
    restore_run_heartbeat,
    restore_run_set_scope,
)

from .conftest import duplicates, prepare_run, take_backup


class WorkerDied(BaseException):
    """The worker process ends here (SIGKILL, out of memory): nothing after it runs."""


def _actions(run):
    return list(
        AuditEvent.objects.filter(subject_type="restores.restorerun", subject_id=str(run.pk))
        .order_by("pk")
        .values_list("action", "actor_label")
    )


def _age(run, *, minutes):
    RestoreRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=minutes)
    )
    run.refresh_from_db()
    return run


@pytest.fixture
def run_killed_after_a_create(personas, tenant, seeded, monkeypatch):
    """A run whose worker died right after Graph applied a create, before it was recorded."""
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    apply_demo_drift(seeded, seed=1)
    run = prepare_run(owner, tenant, baseline)
    real_create = write_module.create_object
    creates = {"n": 0}

    def create_then_die(client, **kwargs):
        creates["n"] += 1
        new_id = real_create(client, **kwargs)
        if creates["n"] == 2:
            raise WorkerDied
        return new_id

    monkeypatch.setattr(write_module, "create_object", create_then_die)
    with pytest.raises(WorkerDied):
        restore_run_execute(run_id=run.pk, worker_id="host-a:123:dead")
    monkeypatch.setattr(write_module, "create_object", real_create)
    run.refresh_from_db()
    assert run.status == "running" and run.worker_id == "host-a:123:dead"
    assert run.item_outcomes.filter(stage="creating").count() == 1
    return run


def test_a_run_with_a_stale_heartbeat_is_resumed_and_completes_once(
    run_killed_after_a_create, seeded, django_capture_on_commit_callbacks
):
    run = _age(run_killed_after_a_create, minutes=10)

    with django_capture_on_commit_callbacks(execute=True):
        result = recovery.restores_recover_stalled()

    assert result.resumed == [run.pk]
    run.refresh_from_db()
    assert run.status == "completed", run.results
    assert run.metadata["auto_resumes"] == 1
    assert not duplicates(seeded)
    recovered = run.item_outcomes.get(reason=RESUMED_REASON)
    assert recovered.outcome == "created" and recovered.verified
    assert ("restore.auto_resumed", "system") in _actions(run)
    event = AuditEvent.objects.get(action="restore.auto_resumed", subject_id=str(run.pk))
    assert event.details["dead_worker_id"] == "host-a:123:dead"
    assert event.details["stale_after_seconds"] == 300


def test_a_fresh_heartbeat_is_left_alone(run_killed_after_a_create):
    run = _age(run_killed_after_a_create, minutes=2)

    result = recovery.restores_recover_stalled()

    assert not result
    run.refresh_from_db()
    assert (run.status, run.worker_id) == ("running", "host-a:123:dead")
    assert "restore.auto_resumed" not in {action for action, _ in _actions(run)}


def test_the_threshold_is_a_setting(run_killed_after_a_create, settings):
    settings.TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS = 60
    run = _age(run_killed_after_a_create, minutes=2)
    held = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "execute_restore_run_task", type("T", (), {"enqueue": held.append}))
        assert recovery.restores_recover_stalled().resumed == [run.pk]


def test_two_sweepers_racing_take_the_run_over_once(
    run_killed_after_a_create, monkeypatch, django_capture_on_commit_callbacks
):
    run = _age(run_killed_after_a_create, minutes=10)
    enqueued: list[int] = []
    monkeypatch.setattr(
        tasks, "execute_restore_run_task", type("T", (), {"enqueue": staticmethod(enqueued.append)})
    )
    seen = {"seen_heartbeat_at": run.heartbeat_at, "seen_worker_id": run.worker_id}

    with django_capture_on_commit_callbacks(execute=True):
        # both sweepers saw the same stale run; the first one's takeover commits first
        first = recovery.restore_run_take_over_stalled(run_id=run.pk, **seen)
        second = recovery.restore_run_take_over_stalled(run_id=run.pk, **seen)
        third = recovery.restores_recover_stalled()

    assert (first, second) == ("resumed", None)
    assert not third
    assert enqueued == [run.pk]
    assert [a for a, _ in _actions(run)].count("restore.auto_resumed") == 1
    run.refresh_from_db()
    assert run.status == "queued" and run.worker_id == ""


def test_a_worker_that_beats_again_keeps_its_run(run_killed_after_a_create):
    run = _age(run_killed_after_a_create, minutes=10)
    seen = {"seen_heartbeat_at": run.heartbeat_at, "seen_worker_id": run.worker_id}
    assert restore_run_heartbeat(run_id=run.pk, worker_id=run.worker_id)

    assert recovery.restore_run_take_over_stalled(run_id=run.pk, **seen) is None
    run.refresh_from_db()
    assert run.status == "running"


def test_a_run_that_keeps_dying_is_failed_and_frees_the_tenant(run_killed_after_a_create):
    run = run_killed_after_a_create
    RestoreRun.objects.filter(pk=run.pk).update(
        metadata={**run.metadata, "auto_resumes": recovery.MAX_AUTO_RESUMES}
    )
    run = _age(run, minutes=10)

    result = recovery.restores_recover_stalled()

    assert result.gave_up == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert "stopped 6 times" in run.results["error"]
    assert ("restore.auto_resume_gave_up", "system") in _actions(run)


def test_a_cancel_requested_before_the_worker_died_is_honoured(run_killed_after_a_create, personas):
    run = restore_run_cancel(actor=personas["owner"], run=run_killed_after_a_create)
    run = _age(run, minutes=10)

    assert recovery.restores_recover_stalled().cancelled == [run.pk]
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_the_scheduler_pass_resumes_stalled_runs(
    run_killed_after_a_create, seeded, django_capture_on_commit_callbacks
):
    from tenantguard.cli import _scheduler_pass

    run = _age(run_killed_after_a_create, minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        _scheduler_pass(quiet=True)
    run.refresh_from_db()
    assert run.status == "completed"
    assert not duplicates(seeded)


# ---- checks and preview jobs --------------------------------------------------------------------


def _job_aged(run, *, minutes, state):
    analysis = {
        **run.analysis,
        "state": state,
        "updated_at": (timezone.now() - timedelta(minutes=minutes)).isoformat(),
    }
    RestoreRun.objects.filter(pk=run.pk).update(analysis=analysis)
    run.refresh_from_db()
    return run


@pytest.fixture
def pending_checks(personas, tenant, seeded, held_analysis):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    run = restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    run = restore_run_set_scope(actor=owner, run=run, mode="all", item_ids=())
    run = restore_run_request_analysis(actor=owner, run=run, step="checks")
    assert len(held_analysis.jobs) == 1
    return run


def test_an_abandoned_checks_job_is_queued_again_and_runs(
    pending_checks, held_analysis, django_capture_on_commit_callbacks
):
    run = _job_aged(pending_checks, minutes=11, state="running")
    old_job = run.analysis["job"]

    with django_capture_on_commit_callbacks(execute=True):
        result = recovery.restores_recover_stalled()

    assert result.analysis_requeued == [run.pk]
    run.refresh_from_db()
    assert run.analysis["state"] == "queued" and run.analysis["job"] != old_job
    assert held_analysis.jobs[-1] == (run.pk, run.analysis["job"])
    assert ("restore.analysis_requeued", "system") in _actions(run)
    held_analysis.jobs.clear()
    from tenantguard.restores.services.analysis import restore_run_analysis_run

    assert restore_run_analysis_run(run_id=run.pk, job_id=run.analysis["job"]) == "done"
    run.refresh_from_db()
    assert run.status == "checked"


def test_a_live_checks_job_is_left_alone(pending_checks, held_analysis):
    run = _job_aged(pending_checks, minutes=3, state="running")
    assert not recovery.restores_recover_stalled()
    run.refresh_from_db()
    assert run.analysis["state"] == "running"
    assert len(held_analysis.jobs) == 1


def test_a_job_abandoned_too_often_is_failed_with_what_to_do(pending_checks, held_analysis):
    run = pending_checks
    RestoreRun.objects.filter(pk=run.pk).update(
        analysis={**run.analysis, "requeues": recovery.MAX_ANALYSIS_REQUEUES}
    )
    run.refresh_from_db()
    run = _job_aged(run, minutes=11, state="running")

    assert recovery.restores_recover_stalled().analysis_failed == [run.pk]
    run.refresh_from_db()
    assert run.analysis["state"] == "failed"
    assert "Run the checks again" in run.analysis["error"]
    assert ("restore.analysis_abandoned", "system") in _actions(run)


def test_claiming_a_resumed_run_still_needs_its_gates(run_killed_after_a_create):
    """The sweeper only queues: the worker's claim asks the policy again as for any run."""
    run = _age(run_killed_after_a_create, minutes=10)
    held = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "execute_restore_run_task", type("T", (), {"enqueue": held.append}))
        recovery.restores_recover_stalled()
    claim = restore_run_claim(run_id=run.pk, worker_id="host-b:1:new")
    assert claim, claim.reason


# ---- the executor's heartbeat thread ------------------------------------------------------------


def test_the_heartbeat_thread_beats_while_an_item_takes_long():
    import threading
    import time

    from tenantguard.restores.services.execute import HeartbeatKeeper

    beats: list[float] = []
    three = threading.Event()

    def beat() -> bool:
        beats.append(time.monotonic())
        if len(beats) >= 3:
            three.set()
        return True

    keeper = HeartbeatKeeper(beat=beat, every=0.01)
    keeper.start()
    assert three.wait(timeout=5)  # one long item: the executor itself sends nothing meanwhile
    keeper.stop()
    count = len(beats)
    time.sleep(0.05)
    assert len(beats) == count and not keeper.lost  # stopped means stopped


def test_the_heartbeat_thread_stops_when_the_run_is_no_longer_this_workers():
    from tenantguard.restores.services.execute import HeartbeatKeeper

    calls: list[int] = []

    def beat() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")  # a failed beat: the next one is tried
        return False

    keeper = HeartbeatKeeper(beat=beat, every=0.01)
    keeper.start()
    keeper._thread.join(timeout=5)
    assert keeper.lost and len(calls) == 2
    keeper.stop()
