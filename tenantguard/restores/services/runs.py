"""The restore run lifecycle: one function per wizard action, worker claim and finish.

Every function that changes a run
- locks the run row (``select_for_update``) so concurrent requests cannot lose each other's edits,
- asks ``RestoreRunPolicy`` and raises ``RestoreRunRefused(reasons)`` when it says no,
- writes the change with a conditional UPDATE on the status it read (compare-and-set), and
- records an audit event in the same transaction.

Where checks, preview and execution plug in:
- The checks read the target through ``source.read_target_for`` (which takes the inputs'
  fingerprint, the same as ``restore_run_inputs_fingerprint(run)``, before it reads), then call
  ``restore_run_record_checks(..., inputs_fingerprint=that)`` with their ``CheckResult`` list;
  the service refuses results computed for inputs that changed meanwhile.
- ``RestoreDiffGenerator`` does the same with ``restore_run_record_preview`` and ``PreviewItem``.
- ``RestoreExecutor`` (``services/execute.py``, function ``restore_run_execute(run_id=...)``) is
  started by ``tasks.execute_restore_run_task``. It calls ``restore_run_claim`` first and stops
  when the claim is refused, sends ``restore_run_heartbeat`` between items (stopping when it
  returns False), checks ``restore_run_cancel_requested`` between items, and ends with
  ``restore_run_finish``.

Refusals are audited and that audit row is committed even though the call raises: an execution
refusal as ``restore.execute_refused`` (by ``restore_run_queue_execution``), any other as
``restore.refused`` (by ``refusals.audits_refusal``). Call these services outside any outer
``transaction.atomic()``, or the caller's rollback would take the audit row with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tenantguard.audit.services import audit_event_record
from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.common.ids import parse_id
from tenantguard.common.spool import JsonRowSpool
from tenantguard.restores.models import (
    CheckSeverity,
    PreviewAction,
    RestoreCheckResult,
    RestorePreviewItem,
    RestoreRun,
    RestoreStatus,
    ScopeMode,
)
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.fingerprint import (
    CHOICE_OPTIONS,
    DEFAULT_OPTIONS,
    MAPPING_KINDS,
    OPTION_KEYS,
    normalized_mapping,
    restore_run_fingerprint,
    restore_run_fingerprint_parts,
)
from tenantguard.restores.services.policy import (
    FINISH_STATUSES,
    Action,
    RestoreRunPolicy,
    confirmation_record,
    create_decision,
    source_reasons,
)
from tenantguard.restores.services.records import CheckResult, PreviewItem
from tenantguard.restores.services.refusals import audits_refusal
from tenantguard.tenants.models import Tenant

__all__ = [
    "ClaimOutcome",
    "RestoreRunError",
    "RestoreRunRefused",
    "restore_run_cancel",
    "restore_run_cancel_requested",
    "restore_run_claim",
    "restore_run_confirm",
    "restore_run_create",
    "restore_run_finish",
    "restore_run_finish_dry_run",
    "restore_run_heartbeat",
    "restore_run_inputs_fingerprint",
    "restore_run_queue_execution",
    "restore_run_record_checks",
    "restore_run_record_preview",
    "restore_run_request_execution",
    "restore_run_resume",
    "restore_run_select_source",
    "restore_run_set_dry_run",
    "restore_run_set_scope",
    "restore_run_update_mapping",
    "restore_run_update_mapping_entries",
    "restore_run_update_options",
]

#: Metadata keys that depend on the source and are dropped when the backup set changes.
_DOWNSTREAM_METADATA = ("checks", "preview", "confirmation", "queued")
_BULK_SIZE = 500


# ---- helpers -----------------------------------------------------------------------------------


def _lock(run_id: int) -> RestoreRun:
    try:
        return (
            RestoreRun.objects.select_related("tenant", "backup_set")
            .select_for_update(of=("self",))
            .get(pk=run_id)
        )
    except RestoreRun.DoesNotExist:
        raise RestoreRunError(f"Restore run #{run_id} does not exist (any more).") from None


def _require(run: RestoreRun, actor: Any, action: Action) -> RestoreRunPolicy:
    policy = RestoreRunPolicy(run, actor)
    decision = policy.can(action)
    if not decision.allowed:
        raise RestoreRunRefused(decision.reasons, action=action.value)
    return policy


def _save(run: RestoreRun, *, expected_status: str, fields: Iterable[str]) -> None:
    """Write ``fields`` of the locked ``run`` only if its status is still ``expected_status``."""
    now = timezone.now()
    values = {name: getattr(run, name) for name in fields}
    updated = RestoreRun.objects.filter(pk=run.pk, status=expected_status).update(
        **values, updated_at=now
    )
    if not updated:
        raise RestoreRunError(
            f"Restore run #{run.pk} changed while this request ran: reload it and try again."
        )
    run.updated_at = now


def _audit(actor: Any, action: str, run: RestoreRun, details: dict[str, Any]) -> None:
    audit_event_record(actor=actor, action=action, subject=run, tenant=run.tenant, details=details)


def _username(actor: Any) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else "system"


def _input_change_status(run: RestoreRun, before_parts: dict[str, str]) -> str:
    """The status after an edit of scope, mapping or options: back to ``scoped`` when inputs
    that checks or preview depend on actually changed."""
    if run.status in (RestoreStatus.CHECKED, RestoreStatus.PREVIEWED):
        if restore_run_fingerprint_parts(run) != before_parts:
            return str(RestoreStatus.SCOPED)
    return run.status


def _enqueue_execution(run_id: int) -> None:
    from tenantguard.restores.tasks import execute_restore_run_task

    transaction.on_commit(lambda: execute_restore_run_task.enqueue(run_id))


def restore_run_inputs_fingerprint(run: RestoreRun) -> str:
    """The fingerprint of the run's current inputs; engines take it before they start."""
    return restore_run_fingerprint(run)


# ---- wizard steps ------------------------------------------------------------------------------


@audits_refusal
def restore_run_create(
    *, actor: Any, tenant: Tenant, backup_set: BackupSet | None = None
) -> RestoreRun:
    """Start a run targeting ``tenant``: environment and tenant label frozen, dry-run on, draft."""
    decision = create_decision(actor, tenant)
    reasons = list(decision.reasons)
    if backup_set is not None:
        reasons += source_reasons(actor, tenant, backup_set)
    if reasons:
        raise RestoreRunRefused(reasons, action="create")
    with transaction.atomic():
        run = RestoreRun.objects.create(
            tenant=tenant,
            backup_set=backup_set,
            environment=tenant.environment,
            tenant_label=tenant.display_name,
            dry_run=True,
            status=RestoreStatus.DRAFT,
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        _audit(
            actor,
            "restore.created",
            run,
            {
                "environment": run.environment,
                "tenant_label": run.tenant_label,
                "backup_set_id": backup_set.pk if backup_set else None,
            },
        )
    return run


@audits_refusal
def restore_run_select_source(*, actor: Any, run: RestoreRun, backup_set: BackupSet) -> RestoreRun:
    """Step 1. Resets scope, mapping, options, checks, preview and confirmation; dry-run back on."""
    with transaction.atomic():
        locked = _lock(run.pk)
        policy = _require(locked, actor, Action.SELECT_SOURCE)
        reasons = policy.source_reasons(backup_set)
        if reasons:
            raise RestoreRunRefused(reasons, action=Action.SELECT_SOURCE.value)
        previous_status, previous_source = locked.status, locked.backup_set_id
        locked.backup_set = backup_set
        locked.scope_mode = ScopeMode.ALL
        locked.requested_items = []
        locked.group_mapping = {}
        locked.options = {}
        locked.dry_run = True
        locked.metadata = {
            k: v for k, v in (locked.metadata or {}).items() if k not in _DOWNSTREAM_METADATA
        }
        locked.status = RestoreStatus.DRAFT
        _save(
            locked,
            expected_status=previous_status,
            fields=(
                "backup_set",
                "scope_mode",
                "requested_items",
                "group_mapping",
                "options",
                "dry_run",
                "metadata",
                "status",
            ),
        )
        locked.check_results.all().delete()
        locked.preview_items.all().delete()
        _audit(
            actor,
            "restore.source_selected",
            locked,
            {
                "backup_set_id": backup_set.pk,
                "backup_set_name": backup_set.name,
                "previous_backup_set_id": previous_source,
                "cross_tenant": backup_set.tenant_id != locked.tenant_id,
                "from_status": previous_status,
                "status": locked.status,
            },
        )
    return locked


def _validated_item_ids(run: RestoreRun, item_ids: Iterable[Any]) -> list[int]:
    parsed = [parse_id(item_id) for item_id in item_ids]
    if any(item_id is None for item_id in parsed):
        raise RestoreRunError(
            "The selection contains something that is not an item id: reload the scope page."
        )
    ids = sorted({item_id for item_id in parsed if item_id is not None})
    if not ids:
        raise RestoreRunError(
            "Select at least one item, or choose 'All items'. An empty selection never means all."
        )
    found = set(
        BackupItem.objects.filter(backup_set_id=run.backup_set_id, pk__in=ids).values_list(
            "pk", flat=True
        )
    )
    missing = [item_id for item_id in ids if item_id not in found]
    if missing:
        shown = ", ".join(str(item_id) for item_id in missing[:5]) + (
            " …" if len(missing) > 5 else ""
        )
        name = run.backup_set.name if run.backup_set else "?"
        raise RestoreRunError(
            f"{len(missing)} selected item(s) are not in backup set '{name}' (ids {shown}): "
            "reload the scope page and select again."
        )
    return ids


@audits_refusal
def restore_run_set_scope(
    *, actor: Any, run: RestoreRun, mode: str, item_ids: Sequence[Any] = ()
) -> RestoreRun:
    """Step 2. ``all`` items of the backup set, or ``selected`` with at least one item id."""
    with transaction.atomic():
        locked = _lock(run.pk)
        _require(locked, actor, Action.SET_SCOPE)
        if mode not in ScopeMode.values:
            raise RestoreRunError(f"Unknown scope '{mode}': choose 'all' or 'selected'.")
        if mode == ScopeMode.SELECTED:
            ids = _validated_item_ids(locked, item_ids)
        else:
            ids = []
            source = locked.backup_set
            if source is None:
                raise RestoreRunError("Pick a backup set in step 1 first.")
            if not BackupItem.objects.filter(backup_set_id=source.pk).exists():
                raise RestoreRunError(
                    f"Backup set '{source.name}' has no items to restore: pick another one in step 1."
                )
        before_parts = restore_run_fingerprint_parts(locked)
        previous_status = locked.status
        locked.scope_mode = mode
        locked.requested_items = ids
        locked.status = (
            RestoreStatus.SCOPED
            if previous_status == RestoreStatus.DRAFT
            else _input_change_status(locked, before_parts)
        )
        _save(
            locked,
            expected_status=previous_status,
            fields=("scope_mode", "requested_items", "status"),
        )
        _audit(
            actor,
            "restore.scope_set",
            locked,
            {
                "mode": mode,
                "item_count": len(ids),
                "from_status": previous_status,
                "status": locked.status,
            },
        )
    return locked


def _validated_mapping(mapping: Mapping[str, Any]) -> dict[str, dict[str, str | None]]:
    if not isinstance(mapping, Mapping):
        raise RestoreRunError(
            "The mapping must be an object of kinds (group, assignment_filter, …)."
        )
    unknown = sorted(set(mapping) - set(MAPPING_KINDS))
    if unknown:
        raise RestoreRunError(
            f"Unknown mapping kind(s) {', '.join(unknown)}: use {', '.join(MAPPING_KINDS)}."
        )
    for kind, entries in mapping.items():
        if not isinstance(entries, Mapping):
            raise RestoreRunError(f"The {kind} mapping must map source ids to target ids.")
        for source, target in entries.items():
            if not isinstance(source, str) or not source:
                raise RestoreRunError(f"A {kind} mapping entry has an empty source id.")
            if target is not None and (not isinstance(target, str) or not target.strip()):
                raise RestoreRunError(
                    f"The {kind} mapping of '{source}' is empty: pick a target, or skip it explicitly."
                )
    return normalized_mapping(dict(mapping))


@audits_refusal
def restore_run_update_mapping(
    *, actor: Any, run: RestoreRun, mapping: Mapping[str, Any]
) -> RestoreRun:
    """Step 3. Replace the mapping: ``{kind: {source_id: target_id | None}}``, ``None`` = skip
    the assignments that reference it (an explicit choice, never a silent drop)."""
    with transaction.atomic():
        locked = _lock(run.pk)
        _require(locked, actor, Action.EDIT_MAPPING)
        new_mapping = _validated_mapping(mapping)
        before_parts = restore_run_fingerprint_parts(locked)
        previous_status = locked.status
        locked.group_mapping = new_mapping
        locked.status = _input_change_status(locked, before_parts)
        _save(locked, expected_status=previous_status, fields=("group_mapping", "status"))
        _audit(
            actor,
            "restore.mapping_updated",
            locked,
            {
                "mapped": {
                    kind: sum(1 for t in entries.values() if t is not None)
                    for kind, entries in new_mapping.items()
                },
                "skipped": {
                    kind: sum(1 for t in entries.values() if t is None)
                    for kind, entries in new_mapping.items()
                },
                "from_status": previous_status,
                "status": locked.status,
            },
        )
    return locked


#: Decisions ``restore_run_update_mapping_entries`` takes for many entries at once.
MAPPING_DECISIONS: Final = ("map", "skip", "accept_suggestions")


@dataclass(frozen=True)
class MappingEntryChange:
    """One entry a bulk mapping decided: the reference in the backup and what it now maps to
    (``target_id`` None: skipped)."""

    kind: str
    source_id: str
    source_name: str
    target_id: str | None
    target_name: str


@audits_refusal
def restore_run_update_mapping_entries(
    *,
    actor: Any,
    run: RestoreRun,
    decision: str,
    entries: Sequence[tuple[str, str]] = (),
    target_id: str = "",
) -> RestoreRun:
    """Step 3, many entries in one change (one mapping write, one audit event listing them,
    checks and preview out of date once).

    ``decision``:
    - ``accept_suggestions``: every missing reference the last checks found a single same-name
      object for (``restore_run_mapping_needs``: ``suggestion``) is mapped to it; ``entries``
      and ``target_id`` are ignored.
    - ``map``: the ``entries`` (``(kind, source_id)``, all of one kind) are mapped to
      ``target_id``, an object of that kind that must exist in the target (a same-name
      suggestion or candidate the checks read, else looked up in the target now).
    - ``skip``: the ``entries`` are skipped explicitly (the kind's skip, never a silent drop).

    Only references the checks found missing (or the mapping already decides) can be changed.
    """
    from tenantguard.restores.services.checks import restore_run_mapping_needs

    if decision not in MAPPING_DECISIONS:
        raise RestoreRunError(
            f"Unknown mapping decision '{decision}': use {', '.join(MAPPING_DECISIONS)}."
        )
    # Ask the policy before anything is read (a refusal must not wait for Graph).
    _require(run, actor, Action.EDIT_MAPPING)
    needs = restore_run_mapping_needs(run)
    if decision == "accept_suggestions":
        changes = [
            MappingEntryChange(
                kind=kind,
                source_id=need["source_id"],
                source_name=str(need["name"] or ""),
                target_id=str(need["suggestion"]["id"]),
                target_name=str(need["suggestion"].get("name") or ""),
            )
            for kind, kind_needs in needs.items()
            for need in kind_needs
            if need["status"] == "missing" and need["suggestion"]
        ]
        if not changes:
            raise RestoreRunError(
                "No missing reference has a same-name suggestion: map or skip them one by one, "
                "or run the checks again."
            )
    else:
        changes = _entry_changes(run, needs, decision, entries, target_id)
    with transaction.atomic():
        locked = _lock(run.pk)
        _require(locked, actor, Action.EDIT_MAPPING)
        mapping = {
            kind: dict(kind_entries) for kind, kind_entries in (locked.group_mapping or {}).items()
        }
        for change in changes:
            mapping.setdefault(change.kind, {})[change.source_id] = change.target_id
        new_mapping = _validated_mapping(mapping)
        before_parts = restore_run_fingerprint_parts(locked)
        previous_status = locked.status
        names = dict((locked.metadata or {}).get("mapping_names") or {})
        for change in changes:
            if change.target_id is not None and change.target_name:
                names[change.kind] = {
                    **names.get(change.kind, {}),
                    change.target_id: change.target_name,
                }
        locked.group_mapping = new_mapping
        locked.metadata = {**(locked.metadata or {}), "mapping_names": names}
        locked.status = _input_change_status(locked, before_parts)
        _save(
            locked, expected_status=previous_status, fields=("group_mapping", "metadata", "status")
        )
        _audit(
            actor,
            "restore.mapping_updated",
            locked,
            {
                "decision": decision,
                "entries": [
                    {
                        "kind": change.kind,
                        "source_id": change.source_id,
                        "source_name": change.source_name,
                        "target_id": change.target_id,
                        "target_name": change.target_name,
                    }
                    for change in changes
                ],
                "from_status": previous_status,
                "status": locked.status,
            },
        )
    return locked


def _entry_changes(
    run: RestoreRun,
    needs: Mapping[str, list[dict[str, Any]]],
    decision: str,
    entries: Sequence[tuple[str, str]],
    target_id: str,
) -> list[MappingEntryChange]:
    """The changes ``map``/``skip`` make to ``entries``, validated against the checks' needs."""
    if not entries:
        raise RestoreRunError("Select at least one entry to map or skip.")
    kinds = sorted({kind for kind, _ in entries})
    if len(kinds) > 1:
        raise RestoreRunError(
            f"Entries of several kinds were selected ({', '.join(kinds)}): map or skip the "
            "entries of one kind at a time."
        )
    kind = kinds[0]
    if kind not in MAPPING_KINDS:
        raise RestoreRunError(f"Unknown mapping kind '{kind}': use {', '.join(MAPPING_KINDS)}.")
    known = {need["source_id"]: need for need in needs.get(kind) or []}
    unknown = sorted({source_id for _, source_id in entries if source_id not in known})
    if unknown:
        shown = ", ".join(unknown[:5]) + (
            f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        )
        raise RestoreRunError(
            f"The checks found no missing {kind.replace('_', ' ')} with id {shown}: run the "
            "checks again and pick among the entries they list."
        )
    chosen = [known[source_id] for source_id in dict.fromkeys(s for _, s in entries)]
    if decision == "skip":
        from tenantguard.intune import reference_kinds

        if not reference_kinds.get(kind).can_skip:
            raise RestoreRunError(
                f"A {reference_kinds.get(kind).singular} cannot be skipped: map it to an "
                "existing one of the target, or restore it."
            )
        return [
            MappingEntryChange(kind, need["source_id"], str(need["name"] or ""), None, "")
            for need in chosen
        ]
    target_id = (target_id or "").strip()
    if not target_id:
        raise RestoreRunError("Pick the target object to map the selected entries to.")
    target_name = _known_target_name(chosen, target_id)
    if target_name is None:
        target_name = _target_object_name(run, kind, target_id)
    return [
        MappingEntryChange(kind, need["source_id"], str(need["name"] or ""), target_id, target_name)
        for need in chosen
    ]


def _known_target_name(needs: Sequence[Mapping[str, Any]], target_id: str) -> str | None:
    """The name of ``target_id`` when the checks read it as a suggestion or candidate of one of
    ``needs`` (it existed in the target then; the next checks confirm it still does)."""
    for need in needs:
        for option in [need.get("suggestion") or {}, *(need.get("candidates") or [])]:
            if option.get("id") == target_id:
                return str(option.get("name") or "")
    return None


def _target_object_name(run: RestoreRun, kind: str, target_id: str) -> str:
    """Look ``target_id`` up in the run's target: its display name, or ``RestoreRunError`` when
    no such object of ``kind`` exists there (or it cannot be read)."""
    from tenantguard.graph import GraphError
    from tenantguard.intune import reference_kinds, target
    from tenantguard.restores.services.source import graph_client_for_run

    spec = reference_kinds.get(kind)
    client = graph_client_for_run(run)
    try:
        if spec.foundation_type is None:
            found = target.find_groups(client, ids=[target_id])
            name = found[0]["displayName"] if found else None
        else:
            item = target.read_one(client, type_key=spec.foundation_type, object_id=target_id)
            name = (item.display_name or "") if item is not None else None
    except GraphError as exc:
        raise RestoreRunError(
            f"The {spec.singular} '{target_id}' could not be looked up in {run.tenant_label} "
            f"({exc}): try again, or pick it from the list."
        ) from exc
    if name is None:
        raise RestoreRunError(
            f"No {spec.singular} with id '{target_id}' exists in {run.tenant_label}: pick one "
            "from the list."
        )
    return name


@audits_refusal
def restore_run_update_options(
    *, actor: Any, run: RestoreRun, options: Mapping[str, Any]
) -> RestoreRun:
    """Change options (``create_missing``, ``include_assignments``: true/false;
    ``assignment_mode``: merge/replace; ``source_identifiers``: undecided/replace/keep); unnamed
    ones stay as they are."""
    with transaction.atomic():
        locked = _lock(run.pk)
        _require(locked, actor, Action.EDIT_OPTIONS)
        unknown = sorted(set(options) - set(OPTION_KEYS))
        if unknown:
            raise RestoreRunError(
                f"Unknown option(s) {', '.join(unknown)}: use {', '.join(OPTION_KEYS)}."
            )
        not_bool = sorted(
            key
            for key, value in options.items()
            if key in DEFAULT_OPTIONS and not isinstance(value, bool)
        )
        if not_bool:
            raise RestoreRunError(f"Option(s) {', '.join(not_bool)} must be true or false.")
        for key, allowed in CHOICE_OPTIONS.items():
            if key in options and options[key] not in allowed:
                raise RestoreRunError(
                    f"Option {key} must be one of {', '.join(allowed)} (got {options[key]!r})."
                )
        before_parts = restore_run_fingerprint_parts(locked)
        previous_status = locked.status
        locked.options = {**(locked.options or {}), **options}
        locked.status = _input_change_status(locked, before_parts)
        _save(locked, expected_status=previous_status, fields=("options", "status"))
        _audit(
            actor,
            "restore.options_updated",
            locked,
            {"options": dict(options), "from_status": previous_status, "status": locked.status},
        )
    return locked


@audits_refusal
def restore_run_set_dry_run(*, actor: Any, run: RestoreRun, dry_run: bool) -> RestoreRun:
    """Dry-run is on by default; only a run with dry-run off can be executed."""
    with transaction.atomic():
        locked = _lock(run.pk)
        _require(locked, actor, Action.SET_DRY_RUN)
        _write_dry_run(locked, actor, dry_run=dry_run)
    return locked


def _write_dry_run(locked: RestoreRun, actor: Any, *, dry_run: bool) -> None:
    """Set dry-run on the locked run and audit it (the caller asked the policy)."""
    previous = locked.dry_run
    locked.dry_run = bool(dry_run)
    _save(locked, expected_status=locked.status, fields=("dry_run",))
    _audit(actor, "restore.dry_run_set", locked, {"dry_run": locked.dry_run, "previous": previous})


def _result_record(
    policy: RestoreRunPolicy, actor: Any, inputs_fingerprint: str | None, what: str
) -> dict[str, Any]:
    current = policy.current_fingerprint
    if inputs_fingerprint is not None and inputs_fingerprint != current:
        raise RestoreRunError(
            f"The run's inputs changed while the {what} ran: run the {what} again."
        )
    return {
        "fingerprint": current,
        "parts": policy.current_parts,
        "token": uuid.uuid4().hex,
        "ran_at": timezone.now().isoformat(),
        "recorded_by": _username(actor),
    }


def _check_row(result: CheckResult) -> dict[str, Any]:
    """The ``RestoreCheckResult`` fields of one result (JSON values, for the spool)."""
    return {
        "code": result.code,
        "severity": result.severity,
        "item_type": result.item.type if result.item else "",
        "item_source_id": result.item.source_id if result.item else "",
        "item_name": (result.item.name if result.item else "")[:500],
        "message": result.message,
        "resolution": result.resolution,
        "details": result.details,
    }


def _preview_row(item: PreviewItem) -> dict[str, Any]:
    """The ``RestorePreviewItem`` fields of one planned item (JSON values, for the spool)."""
    return {
        "policy_type": item.policy_type,
        "source_id": item.source_id,
        "display_name": item.display_name[:500],
        "action": item.action,
        "reason": item.reason,
        "target_id": item.target_id,
        "target_hash": item.target_hash,
        "diff": item.diff,
        "diff_truncated": item.diff_truncated,
    }


_SpooledRow = TypeVar("_SpooledRow", RestoreCheckResult, RestorePreviewItem)


def _insert_spooled(
    model: type[_SpooledRow],
    *,
    run: RestoreRun,
    spool: JsonRowSpool,
) -> None:
    """Insert the run's spooled rows, one batch at a time, numbered in the order they came."""
    position = 0
    for batch in spool.batches():
        model.objects.bulk_create(
            model(run=run, position=position + offset, **row) for offset, row in enumerate(batch)
        )
        position += len(batch)


def _summary_of(summary: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> dict[str, Any]:
    return dict(summary() if callable(summary) else summary)


@audits_refusal
def restore_run_record_checks(
    *,
    actor: Any,
    run: RestoreRun,
    results: Iterable[CheckResult | Mapping[str, Any]],
    summary: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    inputs_fingerprint: str | None = None,
) -> RestoreRun:
    """Persist a checks run (replacing the previous one) stamped with the inputs' fingerprint.

    ``results`` is read once, as it comes: a generator keeps a large scope's results at their
    compressed size (``JsonRowSpool``) until they are written. ``summary`` may be a function,
    called once the results are read (a summary counted while they were produced).
    """
    counts = {severity: 0 for severity in CheckSeverity.values}
    with JsonRowSpool(batch_size=_BULK_SIZE) as spool:
        for result in results:
            parsed = CheckResult.coerce(result)
            counts[parsed.severity] += 1
            spool.append(_check_row(parsed))
        summary_value = _summary_of(summary)
        with transaction.atomic():
            locked = _lock(run.pk)
            policy = _require(locked, actor, Action.RUN_CHECKS)
            record = _result_record(policy, actor, inputs_fingerprint, "checks")
            record.update(summary=summary_value, counts=counts, result_count=len(spool))
            previous_status = locked.status
            locked.metadata = {**(locked.metadata or {}), "checks": record}
            locked.status = RestoreStatus.CHECKED
            _save(locked, expected_status=previous_status, fields=("metadata", "status"))
            locked.check_results.all().delete()
            _insert_spooled(RestoreCheckResult, run=locked, spool=spool)
            _audit(
                actor,
                "restore.checks_recorded",
                locked,
                {
                    "counts": counts,
                    "fingerprint": record["fingerprint"],
                    "from_status": previous_status,
                    "status": locked.status,
                },
            )
    return locked


@audits_refusal
def restore_run_record_preview(
    *,
    actor: Any,
    run: RestoreRun,
    summary: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    items: Iterable[PreviewItem | Mapping[str, Any]],
    inputs_fingerprint: str | None = None,
) -> RestoreRun:
    """Persist a preview (replacing the previous one); any earlier confirmation no longer counts.

    ``items`` is read once, as it comes, and ``summary`` may be a function called after it (as
    for ``restore_run_record_checks``).
    """
    actions = {action: 0 for action in PreviewAction.values}
    with JsonRowSpool(batch_size=_BULK_SIZE) as spool:
        for item in items:
            parsed = PreviewItem.coerce(item)
            actions[parsed.action] += 1
            spool.append(_preview_row(parsed))
        summary_value = _summary_of(summary)
        with transaction.atomic():
            locked = _lock(run.pk)
            policy = _require(locked, actor, Action.RUN_PREVIEW)
            record = _result_record(policy, actor, inputs_fingerprint, "preview")
            record.update(
                summary=summary_value,
                actions=actions,
                item_count=len(spool),
                checks_token=(policy.checks or {}).get("token"),
            )
            previous_status = locked.status
            metadata = {k: v for k, v in (locked.metadata or {}).items() if k != "confirmation"}
            locked.metadata = {**metadata, "preview": record}
            locked.status = RestoreStatus.PREVIEWED
            _save(locked, expected_status=previous_status, fields=("metadata", "status"))
            locked.preview_items.all().delete()
            _insert_spooled(RestorePreviewItem, run=locked, spool=spool)
            _audit(
                actor,
                "restore.preview_recorded",
                locked,
                {
                    "actions": actions,
                    "fingerprint": record["fingerprint"],
                    "from_status": previous_status,
                    "status": locked.status,
                    # Whether the preview planned from the checks' read of the target, and when
                    # that read was made (``target_read.py``).
                    "target_read": {
                        key: (summary_value.get("target_read") or {}).get(key)
                        for key in ("read_at", "read_by", "reused")
                    },
                },
            )
    return locked


@audits_refusal
def restore_run_confirm(
    *, actor: Any, run: RestoreRun, acknowledged: bool, typed_label: str
) -> RestoreRun:
    """Step 5. Record the acknowledgement and the typed tenant name for the current preview.

    Whether they are right is judged when the run is queued (the policy's execute gate), so the
    page can show the same reasons the queue would give.
    """
    with transaction.atomic():
        locked = _lock(run.pk)
        policy = _require(locked, actor, Action.CONFIRM)
        _write_confirmation(
            locked, actor, policy=policy, acknowledged=acknowledged, typed_label=typed_label
        )
    return locked


def _write_confirmation(
    locked: RestoreRun,
    actor: Any,
    *,
    policy: RestoreRunPolicy,
    acknowledged: bool,
    typed_label: str,
) -> None:
    """Record the confirmation on the locked run and audit it (the caller asked the policy)."""
    locked.metadata = {
        **(locked.metadata or {}),
        "confirmation": confirmation_record(
            user=actor,
            acknowledged=acknowledged,
            typed_label=typed_label,
            preview_token=(policy.preview or {}).get("token"),
            at=timezone.now(),
        ),
    }
    _save(locked, expected_status=locked.status, fields=("metadata",))
    _audit(
        actor,
        "restore.confirmed",
        locked,
        {"acknowledged": bool(acknowledged), "label_matches": typed_label == locked.tenant_label},
    )


def restore_run_queue_execution(*, actor: Any, run: RestoreRun) -> RestoreRun:
    """Queue the run for the worker, if and only if every execution gate is met.

    A refusal raises ``RestoreRunRefused`` after committing a ``restore.execute_refused`` audit
    event with the reasons.
    """
    refused: list[str] = []
    with transaction.atomic():
        locked = _lock(run.pk)
        policy = RestoreRunPolicy(locked, actor)
        decision = policy.can(Action.EXECUTE)
        if decision.allowed:
            _write_queued(locked, actor, policy=policy)
        else:
            refused = decision.reasons
            _audit(
                actor,
                "restore.execute_refused",
                locked,
                {"reasons": refused, "status": locked.status},
            )
    if refused:
        raise RestoreRunRefused(refused, action=Action.EXECUTE.value)
    return locked


def _write_queued(locked: RestoreRun, actor: Any, *, policy: RestoreRunPolicy) -> None:
    """Queue the locked run, audit it and enqueue the executor on commit (the policy said yes)."""
    previous_status = locked.status
    locked.metadata = {
        **(locked.metadata or {}),
        "queued": {
            "by_id": getattr(actor, "pk", None),
            "by": _username(actor),
            "at": timezone.now().isoformat(),
            "fingerprint": policy.current_fingerprint,
        },
    }
    locked.status = RestoreStatus.QUEUED
    _save(locked, expected_status=previous_status, fields=("metadata", "status"))
    _audit(
        actor,
        "restore.queued",
        locked,
        {"environment": locked.environment, "fingerprint": policy.current_fingerprint},
    )
    _enqueue_execution(locked.pk)


class _ExecutionRefused(Exception):
    """Rolls back everything an execution request started before its refusal is audited."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


@audits_refusal
def restore_run_request_execution(
    *,
    actor: Any,
    run: RestoreRun,
    acknowledged: bool,
    typed_label: str,
    dry_run: bool | None = None,
) -> RestoreRun:
    """Step 5's Execute (web, API, CLI): switch dry-run when ``dry_run`` is given (the CLI turns
    it off), record the confirmation (when the run may still be confirmed) and queue under every
    gate, all decided in one transaction. When the policy refuses any part, none of it stays
    (a refused action changes nothing): ``RestoreRunRefused`` is raised after a
    ``restore.execute_refused`` audit event with the reasons is committed."""
    try:
        with transaction.atomic():
            locked = _lock(run.pk)
            if dry_run is not None and bool(dry_run) != locked.dry_run:
                decision = RestoreRunPolicy(locked, actor).can(Action.SET_DRY_RUN)
                if not decision.allowed:
                    raise _ExecutionRefused(decision.reasons)
                _write_dry_run(locked, actor, dry_run=bool(dry_run))
            policy = RestoreRunPolicy(locked, actor)
            if policy.can(Action.CONFIRM).allowed:
                _write_confirmation(
                    locked,
                    actor,
                    policy=policy,
                    acknowledged=acknowledged,
                    typed_label=typed_label,
                )
                policy = RestoreRunPolicy(locked, actor)
            decision = policy.can(Action.EXECUTE)
            if not decision.allowed:
                raise _ExecutionRefused(decision.reasons)
            _write_queued(locked, actor, policy=policy)
    except _ExecutionRefused as refused:
        with transaction.atomic():
            current = _lock(run.pk)
            _audit(
                actor,
                "restore.execute_refused",
                current,
                {"reasons": refused.reasons, "status": current.status},
            )
        raise RestoreRunRefused(refused.reasons, action=Action.EXECUTE.value) from None
    return locked


@audits_refusal
def restore_run_finish_dry_run(*, actor: Any, run: RestoreRun) -> RestoreRun:
    """End a dry run: ``completed`` with results marked ``dry_run``; nothing is written."""
    with transaction.atomic():
        locked = _lock(run.pk)
        policy = _require(locked, actor, Action.FINISH_DRY_RUN)
        previous_status = locked.status
        now = timezone.now()
        locked.status = RestoreStatus.COMPLETED
        locked.finished_at = now
        locked.results = {
            "dry_run": True,
            "written": 0,
            "summary": (policy.preview or {}).get("summary", {}),
            "items": [],
        }
        _save(locked, expected_status=previous_status, fields=("status", "finished_at", "results"))
        _audit(actor, "restore.finished", locked, {"status": locked.status, "dry_run": True})
    return locked


@audits_refusal
def restore_run_cancel(*, actor: Any, run: RestoreRun) -> RestoreRun:
    """Cancel a run. A running run is asked to stop: the executor ends it between items."""
    with transaction.atomic():
        locked = _lock(run.pk)
        _require(locked, actor, Action.CANCEL)
        previous_status = locked.status
        now = timezone.now()
        if previous_status == RestoreStatus.RUNNING:
            locked.cancel_requested_at = now
            _save(locked, expected_status=previous_status, fields=("cancel_requested_at",))
            _audit(actor, "restore.cancel_requested", locked, {"status": previous_status})
        else:
            locked.status = RestoreStatus.CANCELLED
            locked.finished_at = now
            _save(locked, expected_status=previous_status, fields=("status", "finished_at"))
            _audit(actor, "restore.cancelled", locked, {"from_status": previous_status})
    return locked


@audits_refusal
def restore_run_resume(*, actor: Any, run: RestoreRun) -> RestoreRun:
    """Queue again a running run whose worker died (stale heartbeat). The executor continues from
    its per-item checkpoints. A run whose cancellation was requested is cancelled instead."""
    with transaction.atomic():
        locked = _lock(run.pk)
        _require(locked, actor, Action.RESUME)
        last_heartbeat = locked.heartbeat_at
        dead_worker = locked.worker_id
        now = timezone.now()
        if locked.cancel_requested_at is not None:
            values: dict[str, Any] = {
                "status": RestoreStatus.CANCELLED,
                "finished_at": now,
                "worker_id": "",
            }
        else:
            resumes = int((locked.metadata or {}).get("resumes", 0)) + 1
            values = {
                "status": RestoreStatus.QUEUED,
                "worker_id": "",
                "heartbeat_at": None,
                "metadata": {**(locked.metadata or {}), "resumes": resumes},
            }
        # Conditional on the heartbeat we judged stale: a worker that just came back wins.
        updated = RestoreRun.objects.filter(
            pk=locked.pk, status=RestoreStatus.RUNNING, heartbeat_at=last_heartbeat
        ).update(**values, updated_at=now)
        if not updated:
            raise RestoreRunError(
                f"Restore run #{locked.pk} sent a heartbeat just now: its worker is alive, nothing to resume."
            )
        for name, value in values.items():
            setattr(locked, name, value)
        if locked.status == RestoreStatus.CANCELLED:
            _audit(
                actor,
                "restore.cancelled",
                locked,
                {"from_status": RestoreStatus.RUNNING, "worker_id": dead_worker},
            )
        else:
            _audit(
                actor,
                "restore.resumed",
                locked,
                {
                    "dead_worker_id": dead_worker,
                    "last_heartbeat_at": last_heartbeat.isoformat() if last_heartbeat else None,
                },
            )
            _enqueue_execution(locked.pk)
    return locked


# ---- worker side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimOutcome:
    """Result of ``restore_run_claim``: truthy when this worker now holds the run.

    ``code`` says why not, for callers that act on it (match on it, not on ``reason``):
    ``claimed``, ``lock_busy`` (another run of the tenant is running; this one stays queued),
    ``not_queued`` (someone else claimed it, or it was cancelled/finished) or ``gates_unmet``
    (the run no longer meets the execution gates; it was marked failed).
    """

    claimed: bool
    reason: str = ""
    code: str = "claimed"

    def __bool__(self) -> bool:
        return self.claimed


def restore_run_claim(*, run_id: int, worker_id: str) -> ClaimOutcome:
    """Take a queued run for execution: conditional UPDATE ``queued -> running``.

    Refused (falsy outcome with a reason) when the run is not queued any more (another worker got
    it, or it was cancelled), when another run of the same tenant is running (the database's
    one-executing-run-per-tenant constraint; the run stays queued), or when the run no longer
    meets the execution gates (then it is marked failed without writing anything).
    """
    if not worker_id:
        raise RestoreRunError("A worker id is needed to claim a restore run.")
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(run_id)
        decision = RestoreRunPolicy(locked, None, now=now).can(Action.CLAIM)
        if not decision.allowed:
            code = "not_queued"
            if locked.status == RestoreStatus.QUEUED:
                code = "gates_unmet"
                locked.status = RestoreStatus.FAILED
                locked.finished_at = now
                locked.results = {
                    "error": "The run did not meet the execution gates when claimed.",
                    "reasons": decision.reasons,
                    "items": [],
                }
                _save(
                    locked,
                    expected_status=str(RestoreStatus.QUEUED),
                    fields=("status", "finished_at", "results"),
                )
                _audit(
                    None,
                    "restore.claim_refused",
                    locked,
                    {"worker_id": worker_id, "reasons": decision.reasons, "status": locked.status},
                )
            return ClaimOutcome(claimed=False, reason=" ".join(decision.reasons), code=code)
        try:
            with transaction.atomic():
                updated = RestoreRun.objects.filter(pk=run_id, status=RestoreStatus.QUEUED).update(
                    status=RestoreStatus.RUNNING,
                    worker_id=worker_id,
                    started_at=Coalesce(F("started_at"), Value(now)),
                    heartbeat_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            other = (
                RestoreRun.objects.filter(tenant_id=locked.tenant_id, status=RestoreStatus.RUNNING)
                .exclude(pk=run_id)
                .values_list("pk", flat=True)
                .first()
            )
            which = f" (run #{other})" if other else ""
            reason = (
                f"Another restore is running on tenant '{locked.tenant_label}'{which}: "
                "this run stays queued until it finishes."
            )
            _audit(
                None,
                "restore.claim_refused",
                locked,
                {"worker_id": worker_id, "reasons": [reason], "status": locked.status},
            )
            return ClaimOutcome(claimed=False, reason=reason, code="lock_busy")
        if not updated:
            return ClaimOutcome(
                claimed=False,
                reason=f"Restore run #{run_id} was claimed by another worker.",
                code="not_queued",
            )
        locked.refresh_from_db()
        _audit(
            None,
            "restore.claimed",
            locked,
            {"worker_id": worker_id, "resumes": (locked.metadata or {}).get("resumes", 0)},
        )
    return ClaimOutcome(claimed=True)


def restore_run_heartbeat(*, run_id: int, worker_id: str) -> bool:
    """Tell the world the worker is alive. False: the run is no longer this worker's (it was
    resumed elsewhere or finished): stop working on it. Heartbeats are not audited."""
    now = timezone.now()
    updated = RestoreRun.objects.filter(
        pk=run_id, status=RestoreStatus.RUNNING, worker_id=worker_id
    ).update(heartbeat_at=now)
    return bool(updated)


def restore_run_cancel_requested(*, run_id: int) -> bool:
    """Whether someone asked the running run to stop (checked by the executor between items)."""
    return RestoreRun.objects.filter(pk=run_id, cancel_requested_at__isnull=False).exists()


def restore_run_finish(
    *, run: RestoreRun, status: str, results: Mapping[str, Any], worker_id: str | None = None
) -> RestoreRun:
    """End a running run with ``completed``, ``partial``, ``failed`` or ``cancelled``.

    With ``worker_id`` the finish only counts if that worker still holds the claim.
    """
    if status not in FINISH_STATUSES:
        raise RestoreRunError(
            f"A run cannot finish as '{status}': use {', '.join(sorted(str(s) for s in FINISH_STATUSES))}."
        )
    with transaction.atomic():
        locked = _lock(run.pk)
        _require(locked, None, Action.FINISH)
        now = timezone.now()
        rows = RestoreRun.objects.filter(pk=locked.pk, status=RestoreStatus.RUNNING)
        if worker_id is not None:
            rows = rows.filter(worker_id=worker_id)
        updated = rows.update(status=status, results=dict(results), finished_at=now, updated_at=now)
        if not updated:
            raise RestoreRunError(
                f"Restore run #{locked.pk} is no longer held by worker '{worker_id}': not finished."
            )
        locked.status, locked.results, locked.finished_at = status, dict(results), now
        _audit(
            None,
            "restore.finished",
            locked,
            {"status": status, "dry_run": False, "worker_id": locked.worker_id},
        )
    return locked
