"""Checks and preview in the background: the wizard asks, the worker reads the target.

Reading a large target tenant takes time (Intune allows 1,000 requests per 20 s, so 5,000
policies need about a minute per read). The wizard therefore does not read in the web request:
``restore_run_request_analysis`` asks the policy, records the job on ``RestoreRun.analysis`` and
enqueues ``run_restore_analysis_task``; the task calls the same services the CLI and the API
call synchronously (``restore_run_run_checks`` / ``restore_run_run_preview``) and reports its
progress on the run, which the page polls.

``RestoreRun.analysis`` while a job is pending::

    {"job": "<uuid>", "step": "checks" | "preview", "state": "queued" | "running" | "failed",
     "requested_by": "alice", "requested_by_id": 3, "requested_at": iso, "updated_at": iso,
     "progress": {"objects": 120, "type": "settings_catalog", "phase": "reading" | "comparing"},
     "error": "what went wrong and what to do"}   # only when failed

It is emptied when the results are recorded. A failed job stays (so the page can say why) until
the next request. A job not updated for ``policy.ANALYSIS_ABANDONED_AFTER`` is presumed
abandoned (its worker died) and no longer blocks a new request or execution; the scheduler's
recovery pass (``recovery.restore_analyses_requeue_abandoned``) queues it again as a new job
for the same person, audited as the system, or marks it failed after three attempts.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from tenantguard.audit.context import current_request_id
from tenantguard.audit.services import audit_event_record
from tenantguard.graph import GraphError
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.policy import Action, RestoreRunPolicy, analysis_pending_reason
from tenantguard.restores.services.refusals import audits_refusal
from tenantguard.tenants.graph_access import TenantConfigurationError

logger = logging.getLogger(__name__)

STEPS: Final = {"checks": Action.RUN_CHECKS, "preview": Action.RUN_PREVIEW}


@audits_refusal
def restore_run_request_analysis(
    *, actor: Any, run: RestoreRun, step: str, then: str = ""
) -> RestoreRun:
    """Queue the checks (``step="checks"``) or the preview of ``run`` for the worker.

    The policy is asked now (and again by the worker before it reads anything). A second
    request while one is pending is refused with who asked and what to do. ``then="preview"``
    (with the checks): once the checks are recorded, the preview is requested for the same
    person (an undo run is prepared that way)."""
    if step not in STEPS:
        raise RestoreRunError(f"Unknown step '{step}': choose 'checks' or 'preview'.")
    if then and (step, then) != ("checks", "preview"):
        raise RestoreRunError("Only the preview can follow the checks.")
    now = timezone.now()
    job_id = uuid.uuid4().hex
    with transaction.atomic():
        locked = (
            RestoreRun.objects.select_related("tenant", "backup_set")
            .select_for_update(of=("self",))
            .get(pk=run.pk)
        )
        decision = RestoreRunPolicy(locked, actor).can(STEPS[step])
        if not decision.allowed:
            raise RestoreRunRefused(decision.reasons, action=STEPS[step].value)
        pending = analysis_pending_reason(locked)
        if pending:
            raise RestoreRunError(pending)
        stamp = now.isoformat()
        locked.analysis = {
            "job": job_id,
            "step": step,
            "state": "queued",
            "requested_by": actor.get_username(),
            "requested_by_id": actor.pk,
            "requested_at": stamp,
            "updated_at": stamp,
            "progress": {},
            **({"then": then} if then else {}),
        }
        RestoreRun.objects.filter(pk=locked.pk).update(analysis=locked.analysis)
        audit_event_record(
            actor=actor,
            action=f"restore.{step}_requested",
            subject=locked,
            tenant=locked.tenant,
            details={"job": job_id},
        )
    # Enqueued once the request is committed, outside any transaction: the worker must see it.
    # (With the immediate backend of the tests the task runs right here.)
    from tenantguard.restores.tasks import run_restore_analysis_task

    run_restore_analysis_task.enqueue(locked.pk, job_id)
    return RestoreRun.objects.select_related("tenant", "backup_set").get(pk=locked.pk)


def restore_run_analysis_run(*, run_id: int, job_id: str) -> str:
    """The worker's side: read the target for the job ``job_id`` of run ``run_id``, record the
    results through the step's service, and leave the outcome on the run. Returns the state."""
    run = RestoreRun.objects.select_related("tenant", "backup_set").filter(pk=run_id).first()
    job = dict(run.analysis or {}) if run is not None else {}
    if run is None or job.get("job") != job_id or job.get("state") != "queued":
        return "superseded"  # a newer request replaced it, or another worker took it
    claimed = _update(
        run_id,
        job_id,
        expected_state="queued",
        state="running",
        progress={"phase": "reading", "objects": 0},
    )
    if not claimed:
        return "superseded"
    actor = (
        get_user_model()
        .objects.filter(pk=int(job.get("requested_by_id") or 0), is_active=True)
        .first()
    )
    if actor is None:
        _update(run_id, job_id, state="failed", error="The user who asked is no longer active.")
        return "failed"

    def on_progress(objects: int, type_key: str) -> None:
        _update(
            run_id,
            job_id,
            progress={"phase": "reading", "objects": objects, "type": type_key},
        )

    from tenantguard.restores.services.checks import restore_run_run_checks
    from tenantguard.restores.services.diff import restore_run_run_preview

    service = restore_run_run_checks if job["step"] == "checks" else restore_run_run_preview
    try:
        service(actor=actor, run=run, on_progress=on_progress)
    except (RestoreRunError, TenantConfigurationError) as exc:
        _update(run_id, job_id, state="failed", error=str(exc))
        return "failed"
    except GraphError as exc:
        _update(
            run_id,
            job_id,
            state="failed",
            error=f"Microsoft Graph did not answer as expected: {exc}. Run it again; if it "
            "keeps failing, use Test connection on the tenant page.",
        )
        return "failed"
    except Exception:
        logger.exception("restore run %s: %s failed unexpectedly", run_id, job["step"])
        _update(
            run_id,
            job_id,
            state="failed",
            error="An unexpected error stopped it (details are in the server log under request "
            f"id {current_request_id()}). Run it again.",
        )
        raise
    RestoreRun.objects.filter(pk=run_id, analysis__job=job_id).update(analysis={})
    if job.get("then"):
        _request_next(run_id, actor, str(job["then"]))
    return "done"


def _request_next(run_id: int, actor: Any, step: str) -> None:
    """Request the step that follows a finished job (the preview after an undo run's checks).
    A refusal is recorded by the request itself; the page then offers the button."""
    run = RestoreRun.objects.select_related("tenant", "backup_set").get(pk=run_id)
    try:
        restore_run_request_analysis(actor=actor, run=run, step=step)
    except RestoreRunError as exc:  # includes RestoreRunRefused
        logger.info(
            "restore run %s: the %s was not requested after the checks: %s", run_id, step, exc
        )


def _update(run_id: int, job_id: str, *, expected_state: str = "", **changes: Any) -> bool:
    """Merge ``changes`` into the run's pending job if it is still job ``job_id`` (and, when
    given, still in ``expected_state``: how a worker claims a queued job)."""
    with transaction.atomic():
        run = RestoreRun.objects.select_for_update().filter(pk=run_id).first()
        job = (run.analysis or {}) if run is not None else {}
        if job.get("job") != job_id or (expected_state and job.get("state") != expected_state):
            return False
        job = {**job, **changes, "updated_at": timezone.now().isoformat()}
        RestoreRun.objects.filter(pk=run_id).update(analysis=job)
    return True
