"""Refused restore actions leave a trace in the audit trail.

A service refuses by raising ``RestoreRunRefused`` from inside its transaction, so anything it
wrote there is rolled back. ``audits_refusal`` records the refusal afterwards, in its own write:
who tried what, on which run (or tenant), and the policy's reasons. Execution refusals are
recorded by ``restore_run_queue_execution`` itself (``restore.execute_refused``) and are not
recorded twice.

Call decorated services outside any outer ``transaction.atomic()`` whose rollback should not
take the refusal with it (views, API handlers, the CLI and the worker all do).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from tenantguard.audit.services import audit_event_record
from tenantguard.restores.services.errors import RestoreRunRefused

REFUSED_ACTION = "restore.refused"
_SELF_AUDITED = {"execute"}

Service = TypeVar("Service", bound=Callable[..., Any])


def audits_refusal(service: Service) -> Service:
    """Wrap a keyword-only service ``f(*, actor, run=… | tenant=…, …)``: a refusal is audited
    as ``restore.refused`` with the action and the reasons, then raised unchanged."""

    @functools.wraps(service)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return service(*args, **kwargs)
        except RestoreRunRefused as refusal:
            if refusal.action not in _SELF_AUDITED and not refusal.audited:
                _record(kwargs.get("actor"), refusal, kwargs.get("run"), kwargs.get("tenant"))
            raise

    return wrapper  # type: ignore[return-value]


def _record(actor: Any, refusal: RestoreRunRefused, run: Any, tenant: Any) -> None:
    subject = run if run is not None else tenant
    details: dict[str, Any] = {"action": refusal.action, "reasons": refusal.reasons}
    if run is not None:
        details["status"] = str(run.status)
    audit_event_record(
        actor=actor,
        action=REFUSED_ACTION,
        subject=subject,
        tenant=getattr(run, "tenant", None) if run is not None else tenant,
        details=details,
    )
    # An outer decorated service must not record the same refusal again.
    refusal.audited = True
