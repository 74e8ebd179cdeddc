"""Restore runs: the wizard's steps as endpoints.

Each endpoint finds the run among those the user sees (404 otherwise), calls one service and
renders the run. The services ask ``RestoreRunPolicy``; a refusal answers 403 with its reasons
(see ``main.py``), so this module never decides what is allowed.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from tenantguard.api.common import (
    DEFAULT_PAGE_SIZE,
    paged,
    visible_backup_set,
    visible_run,
    visible_tenant,
)
from tenantguard.api.schemas import (
    AuditEventOut,
    CheckResultOut,
    DryRunIn,
    ErrorOut,
    ExecuteIn,
    ItemOutcomeOut,
    MappingIn,
    MappingNeedOut,
    MappingTargetOut,
    ObjectId,
    OptionsIn,
    Page,
    PreviewItemOut,
    RestoreRunCreateIn,
    RestoreRunDetailOut,
    RestoreRunOut,
    ScopeIn,
    SourceIn,
)
from tenantguard.restores import selectors
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import runs
from tenantguard.restores.services.checks import restore_run_mapping_needs, restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.fingerprint import MAPPING_KINDS, effective_options
from tenantguard.restores.services.policy import RestoreRunPolicy, ResultState
from tenantguard.restores.services.undo import restore_run_undo
from tenantguard.security.ratelimit import RateLimitScope, rate_limited_user_action

router = Router(tags=["restore runs"])

#: Error responses every run endpoint can give (documented in the OpenAPI schema).
_ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
_DETAIL = {200: RestoreRunDetailOut, **_ERRORS}


# ---- rendering ---------------------------------------------------------------------------------


def run_out(run: RestoreRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "tenant_id": run.tenant_id,
        "tenant_label": run.tenant_label,
        "environment": run.environment,
        "status": run.status,
        "dry_run": run.dry_run,
        "backup_set_id": run.backup_set_id,
        "backup_set_name": run.backup_set.name if run.backup_set else None,
        "scope_mode": run.scope_mode,
        "requested_by": run.requested_by.get_username() if run.requested_by else None,
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def _result_state(state: ResultState, record: dict[str, Any] | None) -> dict[str, Any]:
    record = record or {}
    return {
        "present": state.present,
        "current": state.current,
        "changes": state.changes,
        "ran_at": record.get("ran_at"),
        "recorded_by": record.get("recorded_by"),
        "summary": record.get("summary") or {},
    }


def run_detail_out(run: RestoreRun, user: Any) -> dict[str, Any]:
    policy = RestoreRunPolicy(run, user)
    checks = policy.checks or {}
    preview = policy.preview or {}
    snapshot = selectors.pre_restore_snapshot(run)
    return {
        **run_out(run),
        "requested_items": list(run.requested_items or []),
        "mapping": run.group_mapping or {},
        "options": effective_options(run),
        "cancel_requested_at": run.cancel_requested_at,
        "undo_of": (run.metadata or {}).get("undo_of"),
        "pre_restore_snapshot_id": snapshot.pk if snapshot else None,
        "steps": [
            {"key": s.key, "number": s.number, "title": s.title, "state": s.state}
            for s in selectors.wizard_steps(policy, current="")
        ],
        "decisions": {
            action: {"allowed": decision.allowed, "reasons": decision.reasons}
            for action, decision in policy.decisions().items()
        },
        "checks": {
            **_result_state(policy.checks_state(), checks),
            "counts": checks.get("counts") or {},
        },
        "preview": {
            **_result_state(policy.preview_state(), preview),
            "actions": preview.get("actions") or {},
            "item_count": preview.get("item_count") or 0,
        },
        "progress": selectors.restore_run_progress(run),
        "outcome_counts": selectors.outcome_counts(run),
        "results": run.results or {},
    }


def _detail(request: HttpRequest, run: RestoreRun) -> dict[str, Any]:
    """The run as stored now (services hand back their locked copy; read it again whole)."""
    return run_detail_out(visible_run(request, run.pk), request.user)


# ---- list and create ---------------------------------------------------------------------------


class RunFilter(Schema):
    tenant: ObjectId | None = None
    status: str = ""
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


class PageFilter(Schema):
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@router.get("", response=Page[RestoreRunOut], summary="Restore runs of tenants you see")
def run_list(request: HttpRequest, filters: Query[RunFilter]) -> dict[str, Any]:
    rows = selectors.restore_runs_visible_to(request.user)
    if filters.tenant is not None:
        rows = rows.filter(tenant_id=filters.tenant)
    if filters.status:
        rows = rows.filter(status=filters.status)
    return paged(rows, page=filters.page, page_size=filters.page_size, render=run_out)


@router.post(
    "",
    response={201: RestoreRunDetailOut, **_ERRORS},
    summary="Start a restore run (draft, dry-run on)",
)
def run_create(request: HttpRequest, payload: RestoreRunCreateIn) -> Status[dict[str, Any]]:
    tenant = visible_tenant(request, payload.tenant_id)
    backup_set = (
        visible_backup_set(request, payload.backup_set_id)
        if payload.backup_set_id is not None
        else None
    )
    run = runs.restore_run_create(actor=request.user, tenant=tenant, backup_set=backup_set)
    return Status(201, _detail(request, run))


@router.get(
    "/{run_id}",
    response={200: RestoreRunDetailOut, 404: ErrorOut},
    summary="A run: status, steps, what you may do next (with reasons), checks, preview, results",
)
def run_detail(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return run_detail_out(visible_run(request, run_id), request.user)


# ---- steps 1-4 ---------------------------------------------------------------------------------


@router.put("/{run_id}/source", response=_DETAIL, summary="Step 1: pick the backup set")
def run_source(request: HttpRequest, run_id: int, payload: SourceIn) -> dict[str, Any]:
    run = visible_run(request, run_id)
    backup_set = visible_backup_set(request, payload.backup_set_id)
    run = runs.restore_run_select_source(actor=request.user, run=run, backup_set=backup_set)
    return _detail(request, run)


@router.put("/{run_id}/scope", response=_DETAIL, summary="Step 2: all items, or selected ones")
def run_scope(request: HttpRequest, run_id: int, payload: ScopeIn) -> dict[str, Any]:
    run = visible_run(request, run_id)
    run = runs.restore_run_set_scope(
        actor=request.user, run=run, mode=payload.mode, item_ids=payload.item_ids
    )
    return _detail(request, run)


@router.put(
    "/{run_id}/mapping",
    response=_DETAIL,
    summary="Step 3: replace the mapping of missing groups, filters, scope tags, templates",
)
def run_mapping(request: HttpRequest, run_id: int, payload: MappingIn) -> dict[str, Any]:
    run = visible_run(request, run_id)
    mapping = {kind: entries for kind, entries in payload.dict().items() if entries}
    run = runs.restore_run_update_mapping(actor=request.user, run=run, mapping=mapping)
    return _detail(request, run)


@router.put("/{run_id}/options", response=_DETAIL, summary="Change options (named ones only)")
def run_options(request: HttpRequest, run_id: int, payload: OptionsIn) -> dict[str, Any]:
    run = visible_run(request, run_id)
    options = {key: value for key, value in payload.dict().items() if value is not None}
    run = runs.restore_run_update_options(actor=request.user, run=run, options=options)
    return _detail(request, run)


@router.post(
    "/{run_id}/checks",
    response={**_DETAIL, 429: ErrorOut, 502: ErrorOut},
    summary="Step 3: run the safety checks against the live tenant",
    description="Rate-limited per user (TENANTGUARD_RATE_LIMIT_CHECKS).",
)
def run_checks_start(request: HttpRequest, run_id: int) -> dict[str, Any]:
    run = visible_run(request, run_id)
    with rate_limited_user_action(scope=RateLimitScope.CHECKS, user=request.user):
        run = restore_run_run_checks(actor=request.user, run=run)
    return _detail(request, run)


class CheckFilter(PageFilter):
    severity: str = ""
    code: str = ""


@router.get(
    "/{run_id}/checks",
    response={200: Page[CheckResultOut], 404: ErrorOut},
    summary="Step 3: the recorded check results",
)
def run_checks(request: HttpRequest, run_id: int, filters: Query[CheckFilter]) -> dict[str, Any]:
    rows = visible_run(request, run_id).check_results.all()
    if filters.severity:
        rows = rows.filter(severity=filters.severity)
    if filters.code:
        rows = rows.filter(code=filters.code)
    return paged(rows, page=filters.page, page_size=filters.page_size)


@router.get(
    "/{run_id}/mapping-needs",
    response={200: dict[str, list[MappingNeedOut]], 404: ErrorOut},
    summary="Step 3: references the checks found missing, and those the mapping decides",
)
def run_mapping_needs(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return restore_run_mapping_needs(visible_run(request, run_id))


class MappingTargetFilter(Schema):
    kind: str
    q: str = ""


@router.get(
    "/{run_id}/mapping-targets",
    response={200: list[MappingTargetOut], **_ERRORS, 502: ErrorOut},
    summary="Step 3: objects of the target tenant a missing reference can be mapped to",
    description="Groups whose name starts with q (at most 20); filters, scope tags and "
    "notification templates of the target containing q. Reads the live tenant.",
)
def run_mapping_targets(
    request: HttpRequest, run_id: int, filters: Query[MappingTargetFilter]
) -> list[dict[str, str]]:
    run = visible_run(request, run_id)
    decision = selectors.can_prepare(request.user, run)
    if not decision.allowed:
        raise RestoreRunRefused(decision.reasons, action="mapping_targets")
    if filters.kind not in MAPPING_KINDS:
        raise RestoreRunError(
            f"Unknown mapping kind '{filters.kind}': use {', '.join(MAPPING_KINDS)}."
        )
    return selectors.mapping_target_options(run, kind=filters.kind, text=filters.q.strip())


@router.post(
    "/{run_id}/preview",
    response={**_DETAIL, 429: ErrorOut, 502: ErrorOut},
    summary="Step 4: plan every item against the live tenant (writes nothing)",
    description="Rate-limited per user (TENANTGUARD_RATE_LIMIT_PREVIEW).",
)
def run_preview_start(request: HttpRequest, run_id: int) -> dict[str, Any]:
    run = visible_run(request, run_id)
    with rate_limited_user_action(scope=RateLimitScope.PREVIEW, user=request.user):
        run = restore_run_run_preview(actor=request.user, run=run)
    return _detail(request, run)


class PreviewFilter(PageFilter):
    action: str = ""


@router.get(
    "/{run_id}/preview",
    response={200: Page[PreviewItemOut], 404: ErrorOut},
    summary="Step 4: the planned action and diff per item",
)
def run_preview(request: HttpRequest, run_id: int, filters: Query[PreviewFilter]) -> dict[str, Any]:
    rows = selectors.preview_items(visible_run(request, run_id), action=filters.action)
    return paged(rows, page=filters.page, page_size=filters.page_size)


# ---- step 5 and after --------------------------------------------------------------------------


@router.put("/{run_id}/dry-run", response=_DETAIL, summary="Turn dry-run on or off")
def run_dry_run(request: HttpRequest, run_id: int, payload: DryRunIn) -> dict[str, Any]:
    run = runs.restore_run_set_dry_run(
        actor=request.user, run=visible_run(request, run_id), dry_run=payload.dry_run
    )
    return _detail(request, run)


@router.post(
    "/{run_id}/execute",
    response={202: RestoreRunDetailOut, **_ERRORS},
    summary="Step 5: confirm and queue the run for execution",
    description=(
        "Records the acknowledgement and the typed tenant name, then queues the run if every "
        "gate is met: dry-run off, current checks without blockers, a current preview, the "
        "acknowledgement, the exact (case-sensitive) tenant name, and the role (Admin on PROD). "
        "A refusal answers 403 with every reason and is audited as restore.execute_refused."
    ),
)
def run_execute(request: HttpRequest, run_id: int, payload: ExecuteIn) -> Status[dict[str, Any]]:
    run = runs.restore_run_request_execution(
        actor=request.user,
        run=visible_run(request, run_id),
        acknowledged=payload.acknowledged,
        typed_label=payload.typed_label,
    )
    return Status(202, _detail(request, run))


@router.post(
    "/{run_id}/finish-dry-run",
    response=_DETAIL,
    summary="End a dry run as completed (nothing is written)",
)
def run_finish_dry_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    run = runs.restore_run_finish_dry_run(actor=request.user, run=visible_run(request, run_id))
    return _detail(request, run)


@router.post(
    "/{run_id}/cancel", response=_DETAIL, summary="Cancel (a running run stops between items)"
)
def run_cancel(request: HttpRequest, run_id: int) -> dict[str, Any]:
    run = runs.restore_run_cancel(actor=request.user, run=visible_run(request, run_id))
    return _detail(request, run)


@router.post(
    "/{run_id}/resume",
    response=_DETAIL,
    summary="Queue again a running run whose worker died (continues from its checkpoints)",
)
def run_resume(request: HttpRequest, run_id: int) -> dict[str, Any]:
    run = runs.restore_run_resume(actor=request.user, run=visible_run(request, run_id))
    return _detail(request, run)


@router.post(
    "/{run_id}/undo",
    response={201: RestoreRunDetailOut, **_ERRORS},
    summary="Start a new run restoring this run's pre-restore snapshot",
)
def run_undo(request: HttpRequest, run_id: int) -> Status[dict[str, Any]]:
    undo = restore_run_undo(actor=request.user, run=visible_run(request, run_id))
    return Status(201, _detail(request, undo))


class OutcomeFilter(PageFilter):
    outcome: str = ""


@router.get(
    "/{run_id}/outcomes",
    response={200: Page[ItemOutcomeOut], 404: ErrorOut},
    summary="Per-item outcomes of the execution",
)
def run_outcomes(
    request: HttpRequest, run_id: int, filters: Query[OutcomeFilter]
) -> dict[str, Any]:
    rows = selectors.item_outcomes(visible_run(request, run_id), outcome=filters.outcome)
    return paged(rows, page=filters.page, page_size=filters.page_size)


def _audit_out(event: Any) -> dict[str, Any]:
    return {
        "id": event.pk,
        "created_at": event.created_at,
        "actor": event.actor_label,
        "action": event.action,
        "tenant_label": event.tenant_label,
        "subject_label": event.subject_label,
        "details": event.details or {},
        "request_id": event.request_id,
    }


@router.get(
    "/{run_id}/audit",
    response={200: Page[AuditEventOut], 404: ErrorOut},
    summary="The run's audit trail, oldest first",
)
def run_audit(request: HttpRequest, run_id: int, filters: Query[PageFilter]) -> dict[str, Any]:
    events = selectors.restore_run_audit_events(visible_run(request, run_id))
    return paged(events, page=filters.page, page_size=filters.page_size, render=_audit_out)
