"""Background tasks of restores: thin, enqueued on commit by the run services."""

from __future__ import annotations

from django_tasks import task

from tenantguard.audit.context import bind_request_id, reset_request_id


@task()
def execute_restore_run_task(run_id: int) -> str:
    """Run the executor for a queued run. It claims the run itself (conditional update), so a
    duplicate or late task is harmless."""
    from tenantguard.restores.services.execute import restore_run_execute

    token = bind_request_id(f"restore-{run_id}")
    try:
        return str(restore_run_execute(run_id=run_id).status)
    finally:
        reset_request_id(token)


@task()
def run_restore_analysis_task(run_id: int, job_id: str) -> str:
    """Read the target for the checks or preview the wizard asked for (``services/analysis``)."""
    from tenantguard.restores.services.analysis import restore_run_analysis_run

    token = bind_request_id(f"restore-{run_id}-analysis")
    try:
        return restore_run_analysis_run(run_id=run_id, job_id=job_id)
    finally:
        reset_request_id(token)
