"""Recovery without a person: restore runs and checks/preview jobs whose worker died.

A worker that dies (killed, out of memory, host lost) leaves its run ``running`` with the
tenant's lock, or a wizard job ``queued``/``running`` on ``RestoreRun.analysis``. The scheduler
pass (``tenantguard run``, ``tenantguard backup schedule``) calls
``restores_recover_stalled`` every minute:

- A run ``running`` whose heartbeat (else its start) is older than ``auto_resume_after()``
  (``TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS``, default: the heartbeat staleness of
  ``policy.heartbeat_stale_after()``, 5 minutes) is taken over: a conditional UPDATE on the
  status, heartbeat and worker it saw puts it back to ``queued`` (so two sweepers, or a sweeper
  and a person pressing Resume, never both take it, and a worker that beats again in between
  keeps it) and the execute task is enqueued on commit. The executor continues from its
  per-item checkpoints: a ``creating`` checkpoint is looked up in the target before anything
  is created again, as after any unclear answer (``execute.py``). A run whose cancellation was
  requested is cancelled instead, and a run that has been taken over ``MAX_AUTO_RESUMES``
  times without finishing is failed: no run holds a tenant's lock for ever. Audited as
  ``restore.auto_resumed`` / ``restore.cancelled`` / ``restore.auto_resume_gave_up`` with the
  system as actor.
- A checks/preview job the policy presumes abandoned (``policy.analysis_pending`` is False for
  a ``queued``/``running`` job) is queued again as a new job for the person who asked
  (``restore.analysis_requeued``, system actor), at most ``MAX_ANALYSIS_REQUEUES`` times; then it
  is marked failed with a message saying what to do.

Every takeover is its own transaction: one run that cannot be recovered never stops the others.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tenantguard.audit.services import audit_event_record
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services.policy import analysis_pending, heartbeat_stale_after

logger = logging.getLogger(__name__)

#: How often one run is taken over automatically before it is failed (a run that kills its
#: worker every time must not hold the tenant's lock for ever).
MAX_AUTO_RESUMES: Final = 5
#: How often one abandoned checks/preview job is queued again automatically.
MAX_ANALYSIS_REQUEUES: Final = 3


def auto_resume_after() -> timedelta:
    """How old a running run's heartbeat must be before the sweeper takes the run over."""
    seconds = getattr(settings, "TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS", None)
    return timedelta(seconds=float(seconds)) if seconds else heartbeat_stale_after()


@dataclass
class RecoveryResult:
    """What one sweep did (run ids)."""

    resumed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    gave_up: list[int] = field(default_factory=list)
    analysis_requeued: list[int] = field(default_factory=list)
    analysis_failed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(
            (
                self.resumed,
                self.cancelled,
                self.gave_up,
                self.analysis_requeued,
                self.analysis_failed,
                self.errors,
            )
        )


def restores_recover_stalled(*, now: datetime | None = None) -> RecoveryResult:
    """One sweep: take over stalled runs, then requeue abandoned checks/preview jobs."""
    now = now or timezone.now()
    result = RecoveryResult()
    restore_runs_resume_stalled(now=now, result=result)
    restore_analyses_requeue_abandoned(now=now, result=result)
    return result


# ---- runs --------------------------------------------------------------------------------------


def restore_runs_resume_stalled(
    *, now: datetime | None = None, result: RecoveryResult | None = None
) -> RecoveryResult:
    """Take over every running run whose heartbeat is older than ``auto_resume_after()``."""
    now = now or timezone.now()
    result = result if result is not None else RecoveryResult()
    threshold = now - auto_resume_after()
    stalled = RestoreRun.objects.filter(status=RestoreStatus.RUNNING).filter(
        Q(heartbeat_at__lt=threshold)
        | Q(heartbeat_at__isnull=True, started_at__lt=threshold)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True)
    )
    for run_id, heartbeat_at, worker_id in stalled.values_list("pk", "heartbeat_at", "worker_id"):
        try:
            outcome = restore_run_take_over_stalled(
                run_id=run_id,
                seen_heartbeat_at=heartbeat_at,
                seen_worker_id=worker_id,
                now=now,
            )
        except Exception as exc:  # one run's trouble never stops the sweep
            logger.exception("Restore run %s: automatic resume failed", run_id)
            result.errors.append(
                f"Restore run #{run_id} could not be resumed automatically ({type(exc).__name__})."
            )
            continue
        if outcome == "resumed":
            result.resumed.append(run_id)
        elif outcome == "cancelled":
            result.cancelled.append(run_id)
        elif outcome == "gave_up":
            result.gave_up.append(run_id)
    return result


def restore_run_take_over_stalled(
    *,
    run_id: int,
    seen_heartbeat_at: datetime | None,
    seen_worker_id: str,
    now: datetime | None = None,
) -> str | None:
    """Take over one stalled run as the system, if it is still exactly as the sweeper saw it.

    Returns ``"resumed"`` (queued again, execution enqueued on commit), ``"cancelled"`` (its
    cancellation had been requested), ``"gave_up"`` (failed after ``MAX_AUTO_RESUMES``
    takeovers) or ``None`` when someone else got there first (another sweeper, a person, or the
    worker itself with a new heartbeat)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            RestoreRun.objects.select_related("tenant")
            .select_for_update(of=("self",))
            .filter(pk=run_id)
            .first()
        )
        if (
            locked is None
            or locked.status != RestoreStatus.RUNNING
            or locked.heartbeat_at != seen_heartbeat_at
            or locked.worker_id != seen_worker_id
        ):
            return None
        metadata = dict(locked.metadata or {})
        auto_resumes = int(metadata.get("auto_resumes", 0))
        last_beat = seen_heartbeat_at.isoformat() if seen_heartbeat_at else None
        details: dict[str, Any] = {
            "dead_worker_id": seen_worker_id,
            "last_heartbeat_at": last_beat,
            "stale_after_seconds": int(auto_resume_after().total_seconds()),
        }
        values: dict[str, Any]
        if locked.cancel_requested_at is not None:
            outcome, action = "cancelled", "restore.cancelled"
            values = {"status": RestoreStatus.CANCELLED, "finished_at": now, "worker_id": ""}
            details["from_status"] = RestoreStatus.RUNNING
        elif auto_resumes >= MAX_AUTO_RESUMES:
            outcome, action = "gave_up", "restore.auto_resume_gave_up"
            error = (
                f"The worker executing this run stopped {auto_resumes + 1} times without "
                "finishing; it was not resumed again and the tenant is free for other runs. "
                "The items done so far are listed; start a new run (checks and preview) to "
                "restore the rest, and look at the worker's log for what stops it."
            )
            values = {
                "status": RestoreStatus.FAILED,
                "finished_at": now,
                "worker_id": "",
                "results": {
                    **(locked.results or {}),
                    "dry_run": False,
                    "error": error,
                    "items": locked.item_outcomes.count(),
                },
            }
            details["auto_resumes"] = auto_resumes
        else:
            outcome, action = "resumed", "restore.auto_resumed"
            metadata["resumes"] = int(metadata.get("resumes", 0)) + 1
            metadata["auto_resumes"] = auto_resumes + 1
            values = {
                "status": RestoreStatus.QUEUED,
                "worker_id": "",
                "heartbeat_at": None,
                "metadata": metadata,
            }
            details["auto_resumes"] = auto_resumes + 1
        # Conditional on what the sweeper saw: of two sweepers (or a sweeper and a person, or
        # a worker that just sent a heartbeat) exactly one wins.
        updated = RestoreRun.objects.filter(
            pk=run_id,
            status=RestoreStatus.RUNNING,
            heartbeat_at=seen_heartbeat_at,
            worker_id=seen_worker_id,
        ).update(**values, updated_at=now)
        if not updated:
            return None
        for name, value in values.items():
            setattr(locked, name, value)
        audit_event_record(
            actor=None, action=action, subject=locked, tenant=locked.tenant, details=details
        )
        if outcome == "resumed":
            _enqueue_execution(run_id)
    logger.warning(
        "Restore run %s: worker %s stopped sending heartbeats (last %s): %s",
        run_id,
        seen_worker_id or "?",
        last_beat,
        outcome,
    )
    return outcome


def _enqueue_execution(run_id: int) -> None:
    from tenantguard.restores.tasks import execute_restore_run_task

    transaction.on_commit(lambda: execute_restore_run_task.enqueue(run_id))


# ---- checks and preview jobs ---------------------------------------------------------------------


def restore_analyses_requeue_abandoned(
    *, now: datetime | None = None, result: RecoveryResult | None = None
) -> RecoveryResult:
    """Queue again every checks/preview job the policy presumes abandoned."""
    now = now or timezone.now()
    result = result if result is not None else RecoveryResult()
    jobs = RestoreRun.objects.filter(analysis__state__in=["queued", "running"])
    for run in jobs.only("pk", "analysis"):
        if analysis_pending(run, now=now):
            continue
        job = dict(run.analysis or {})
        try:
            outcome = restore_run_requeue_abandoned_analysis(run_id=run.pk, seen_job=job, now=now)
        except Exception as exc:
            logger.exception("Restore run %s: requeueing the abandoned %s failed", run.pk, job)
            result.errors.append(
                f"The abandoned {job.get('step') or 'analysis'} of restore run #{run.pk} could "
                f"not be queued again ({type(exc).__name__})."
            )
            continue
        if outcome == "requeued":
            result.analysis_requeued.append(run.pk)
        elif outcome == "failed":
            result.analysis_failed.append(run.pk)
    return result


def restore_run_requeue_abandoned_analysis(
    *, run_id: int, seen_job: dict[str, Any], now: datetime | None = None
) -> str | None:
    """Queue an abandoned checks/preview job again as a new job (``"requeued"``), or mark it
    failed after ``MAX_ANALYSIS_REQUEUES`` (``"failed"``); ``None`` when the job changed since
    the sweeper saw it."""
    now = now or timezone.now()
    new_job = uuid.uuid4().hex
    with transaction.atomic():
        locked = (
            RestoreRun.objects.select_related("tenant")
            .select_for_update(of=("self",))
            .filter(pk=run_id)
            .first()
        )
        job = dict(locked.analysis or {}) if locked is not None else {}
        if locked is None or job != seen_job or analysis_pending(locked, now=now):
            return None
        requeues = int(job.get("requeues", 0))
        step = str(job.get("step") or "")
        label = "checks" if step == "checks" else "preview"
        stamp = now.isoformat()
        details: dict[str, Any] = {
            "job": job.get("job"),
            "step": step,
            "state": job.get("state"),
            "last_update_at": job.get("updated_at"),
        }
        if requeues >= MAX_ANALYSIS_REQUEUES:
            outcome, action = "failed", "restore.analysis_abandoned"
            analysis = {
                **job,
                "state": "failed",
                "updated_at": stamp,
                "error": f"The task worker stopped {requeues + 1} times while running the "
                f"{label}; it was not queued again. Run the {label} again, and check that the "
                "task worker is running (tenantguard run) and its log.",
            }
        else:
            outcome, action = "requeued", "restore.analysis_requeued"
            analysis = {
                **job,
                "job": new_job,
                "state": "queued",
                "updated_at": stamp,
                "progress": {},
                "requeues": requeues + 1,
            }
            analysis.pop("error", None)
            details["new_job"] = new_job
            details["requeues"] = requeues + 1
        RestoreRun.objects.filter(pk=run_id).update(analysis=analysis)
        locked.analysis = analysis
        audit_event_record(
            actor=None, action=action, subject=locked, tenant=locked.tenant, details=details
        )
        if outcome == "requeued":
            from tenantguard.restores.tasks import run_restore_analysis_task

            transaction.on_commit(lambda: run_restore_analysis_task.enqueue(run_id, new_job))
    logger.warning("Restore run %s: abandoned %s job %s", run_id, label, outcome)
    return outcome
