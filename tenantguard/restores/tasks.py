"""Background tasks of restores: thin, enqueued on commit by the run services."""

from __future__ import annotations

import importlib
import importlib.util
import logging

from django_tasks import task

from tenantguard.audit.context import bind_request_id, reset_request_id

logger = logging.getLogger(__name__)

EXECUTOR_MODULE = "tenantguard.restores.services.execute"


@task()
def execute_restore_run_task(run_id: int) -> str:
    """Run the executor for a queued run. It claims the run itself (conditional update), so a
    duplicate or late task is harmless."""
    # Imported lazily: the executor is optional until it is written, and its import pulls in
    # the Graph client, which the rest of the restore services do not need.
    if importlib.util.find_spec(EXECUTOR_MODULE) is None:
        logger.warning(
            "Restore run %s is queued but no executor is installed (%s).", run_id, EXECUTOR_MODULE
        )
        return "no_executor"
    executor = importlib.import_module(EXECUTOR_MODULE)
    token = bind_request_id(f"restore-{run_id}")
    try:
        outcome = executor.restore_run_execute(run_id=run_id)
    finally:
        reset_request_id(token)
    return str(getattr(outcome, "status", outcome))
