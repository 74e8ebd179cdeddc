"""Checks and preview in the background: requested by the wizard, read by the worker, with
progress on the run, one job at a time, failures explained, execution held while one is pending.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tenantguard.audit.models import AuditEvent
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import analysis, runs
from tenantguard.restores.services.analysis import (
    restore_run_analysis_run,
    restore_run_request_analysis,
)
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.policy import Action, RestoreRunPolicy, analysis_pending
from tenantguard.tenants.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(held_analysis):
    return held_analysis


def fresh(run: RestoreRun) -> RestoreRun:
    return RestoreRun.objects.get(pk=run.pk)


def test_the_worker_records_the_checks_and_clears_the_job(backup, seeded, tenant, owner, start_run):
    run = start_run(tenant, backup)

    run = restore_run_request_analysis(actor=owner, run=run, step="checks")

    # The immediate backend of the tests ran the task inside the request.
    assert run.analysis == {}
    assert run.metadata["checks"]["counts"]["safe"] > 0
    assert AuditEvent.objects.filter(action="restore.checks_requested").count() == 1
    assert (
        AuditEvent.objects.filter(action="restore.checks_recorded").exists()
        or run.check_results.exists()
    )


def test_a_queued_job_reports_progress_then_the_preview(
    backup, seeded, tenant, owner, start_run, held, monkeypatch
):
    run = start_run(tenant, backup)
    run = restore_run_request_analysis(actor=owner, run=run, step="checks")
    [(run_id, job_id)] = held.jobs
    assert run.analysis["state"] == "queued" and run.analysis["requested_by"] == "owner"
    assert analysis_pending(run)

    seen: list[dict[str, Any]] = []
    original = analysis._update

    def spy(run_id: int, job_id: str, **changes: Any) -> bool:
        seen.append(changes)
        return original(run_id, job_id, **changes)

    monkeypatch.setattr(analysis, "_update", spy)
    assert restore_run_analysis_run(run_id=run_id, job_id=job_id) == "done"

    assert seen[0]["state"] == "running"
    reading = [c["progress"] for c in seen if c.get("progress", {}).get("objects")]
    assert reading and reading[-1]["objects"] >= 25 and reading[-1]["type"]
    run = fresh(run)
    assert run.analysis == {} and run.metadata["checks"]

    run = restore_run_request_analysis(actor=owner, run=run, step="preview")
    assert restore_run_analysis_run(run_id=run.pk, job_id=held.jobs[-1][1]) == "done"
    assert fresh(run).metadata["preview"]["summary"]


def test_one_job_at_a_time_with_who_asked(backup, seeded, tenant, owner, personas, start_run, held):
    run = start_run(tenant, backup)
    restore_run_request_analysis(actor=owner, run=run, step="checks")

    with pytest.raises(RestoreRunError, match="The checks requested by owner"):
        restore_run_request_analysis(actor=personas["operator"], run=run, step="checks")
    assert len(held.jobs) == 1


def test_execution_waits_while_checks_are_pending(backup, seeded, tenant, owner, start_run, held):
    run = start_run(tenant, backup)
    run = restore_run_request_analysis(actor=owner, run=run, step="checks")
    restore_run_analysis_run(run_id=run.pk, job_id=held.jobs[-1][1])
    run = restore_run_request_analysis(actor=owner, run=fresh(run), step="preview")
    restore_run_analysis_run(run_id=run.pk, job_id=held.jobs[-1][1])
    run = runs.restore_run_set_dry_run(actor=owner, run=fresh(run), dry_run=False)

    restore_run_request_analysis(actor=owner, run=run, step="checks")

    reasons = (
        RestoreRunPolicy(fresh(run), owner)
        .execute_decision_if_confirmed(acknowledged=True, typed_label=tenant.display_name)
        .reasons
    )
    assert any("The checks requested by owner" in reason for reason in reasons)


def test_an_abandoned_job_no_longer_blocks(backup, seeded, tenant, owner, start_run, held):
    run = start_run(tenant, backup)
    run = restore_run_request_analysis(actor=owner, run=run, step="checks")
    eleven_minutes_ago = (timezone.now() - timedelta(minutes=11)).isoformat()
    # Queued behind other work for 11 minutes: still pending (the worker may be busy).
    RestoreRun.objects.filter(pk=run.pk).update(
        analysis={**run.analysis, "updated_at": eleven_minutes_ago}
    )
    assert analysis_pending(fresh(run))
    # Running but silent for 11 minutes: abandoned.
    RestoreRun.objects.filter(pk=run.pk).update(
        analysis={**run.analysis, "state": "running", "updated_at": eleven_minutes_ago}
    )
    assert not analysis_pending(fresh(run))
    restore_run_request_analysis(actor=owner, run=fresh(run), step="checks")
    assert len(held.jobs) == 2
    # The first job's worker, if it ever wakes up, finds its job replaced.
    assert restore_run_analysis_run(run_id=run.pk, job_id=held.jobs[0][1]) == "superseded"


def test_a_job_queued_for_hours_is_abandoned(backup, seeded, tenant, owner, start_run, held):
    run = start_run(tenant, backup)
    run = restore_run_request_analysis(actor=owner, run=run, step="checks")
    three_hours_ago = (timezone.now() - timedelta(hours=3)).isoformat()
    RestoreRun.objects.filter(pk=run.pk).update(
        analysis={**run.analysis, "updated_at": three_hours_ago}
    )
    assert not analysis_pending(fresh(run))


def test_a_scope_changed_while_queued_is_what_the_worker_checks(
    backup, seeded, tenant, owner, start_run, held
):
    run = start_run(tenant, backup)
    run = restore_run_request_analysis(actor=owner, run=run, step="checks")
    first = backup.items.order_by("pk").first()
    runs.restore_run_set_scope(actor=owner, run=fresh(run), mode="selected", item_ids=[first.pk])

    assert restore_run_analysis_run(run_id=run.pk, job_id=held.jobs[-1][1]) == "done"

    run = fresh(run)
    assert run.metadata["checks"]["summary"]["items"] == 1
    assert RestoreRunPolicy(run, owner).checks_state().current


def test_a_tenant_that_cannot_be_reached_fails_the_job_with_what_to_fix(
    backup, seeded, tenant, owner, start_run, held
):
    run = start_run(tenant, backup)
    run = restore_run_request_analysis(actor=owner, run=run, step="checks")
    Tenant.objects.filter(pk=tenant.pk).update(static_token="")

    assert restore_run_analysis_run(run_id=run.pk, job_id=held.jobs[-1][1]) == "failed"

    job = fresh(run).analysis
    assert job["state"] == "failed"
    assert "Contoso Test" in job["error"] and "token" in job["error"].lower()
    assert not analysis_pending(fresh(run))


def test_a_viewer_cannot_request_the_checks_and_the_refusal_is_audited(
    backup, seeded, tenant, owner, personas, start_run, held
):
    run = start_run(tenant, backup)
    with pytest.raises(RestoreRunRefused):
        restore_run_request_analysis(actor=personas["viewer"], run=run, step="checks")
    assert held.jobs == []
    event = AuditEvent.objects.get(action="restore.refused")
    assert event.details["action"] == Action.RUN_CHECKS.value


def test_an_unknown_step_is_explained(backup, seeded, tenant, owner, start_run, held):
    with pytest.raises(RestoreRunError, match="choose 'checks' or 'preview'"):
        restore_run_request_analysis(actor=owner, run=start_run(tenant, backup), step="execute")
