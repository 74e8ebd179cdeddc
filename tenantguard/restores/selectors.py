"""Reads of restore runs for the wizard pages: what a page shows, never a decision of its own.

Every "may I" and "is it current" comes from ``RestoreRunPolicy``; these functions only gather
what the pages display (runs visible to a user, the stepper's state, outcome counts, audit rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from django.db.models import Count, Min, Q, QuerySet

from tenantguard.accounts.permissions import (
    Capability,
    tenants_visible_to,
    tenants_with_capability,
)
from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupItem, BackupKind, BackupSet, BackupStatus
from tenantguard.backups.selectors import backup_sets_visible_to
from tenantguard.catalog.selectors import setting_labels
from tenantguard.intune.setting_definitions import SettingLabel, setting_definition_ids
from tenantguard.restores import check_words
from tenantguard.restores.models import (
    CheckSeverity,
    ItemOutcome,
    PreviewAction,
    RestoreCheckResult,
    RestoreItemOutcome,
    RestorePreviewItem,
    RestoreRun,
    RestoreStatus,
)
from tenantguard.restores.presentation import (
    change_setting_ids,
    diff_rows_for_page,
    readable_diff_rows,
)
from tenantguard.restores.services.errors import RestoreRunError
from tenantguard.restores.services.policy import (
    EDITABLE_STATUSES,
    Decision,
    RestoreRunPolicy,
    analysis_pending,
    create_decision,
)
from tenantguard.tenants.models import Tenant

#: The wizard's steps, in order: (url name suffix, number, title).
STEPS: Final = (
    ("source", 1, "Source"),
    ("scope", 2, "Scope"),
    ("checks", 3, "Checks"),
    ("preview", 4, "Preview"),
    ("confirm", 5, "Confirm & execute"),
)

#: Subject type of restore runs in the audit trail.
RUN_SUBJECT_TYPE: Final = "restores.restorerun"


def restore_runs_visible_to(user: Any) -> QuerySet[RestoreRun]:
    """The one place runs are looked up for a person (pages, wizard, API, CSV, CLI, admin).

    A run shows its source's content (items, check results, preview diffs), so seeing it needs a
    role on the target AND, when the backup set belongs to another tenant, at least Viewer on
    that source tenant. Any other run is answered as not found, like any object of a tenant
    without a role.
    """
    tenants = tenants_visible_to(user)
    return (
        RestoreRun.objects.filter(tenant__in=tenants)
        .filter(Q(backup_set__isnull=True) | Q(backup_set__tenant__in=tenants))
        .select_related("tenant", "backup_set", "requested_by")
    )


def restore_run_visible_to(user: Any, *, run_id: int) -> RestoreRun | None:
    """Run ``run_id`` if ``user`` may see it (``restore_runs_visible_to``), else None."""
    return restore_runs_visible_to(user).filter(pk=run_id).first()


def restore_target_tenants(user: Any) -> list[Tenant]:
    """Tenants ``user`` may start a restore into."""
    return [t for t in tenants_visible_to(user) if create_decision(user, t).allowed]


def restore_source_choices(user: Any) -> QuerySet[BackupSet]:
    """Backup sets that can be picked as a source: completed or partial, of tenants where the
    user may restore from (Operator or Admin: a Viewer sees backups but never copies them).

    A set of another tenant is a cross-tenant restore; the policy judges it when it is picked.
    """
    sources = tenants_with_capability(user, Capability.RESTORE_FROM)
    return (
        backup_sets_visible_to(user)
        .filter(tenant__in=sources, status__in=[BackupStatus.COMPLETED, BackupStatus.PARTIAL])
        .order_by("-created_at", "-id")
    )


def can_prepare(user: Any, run: RestoreRun) -> Decision:
    """Whether ``user`` may work on the wizard steps of ``run`` at all (operators and admins)."""
    return create_decision(user, run.tenant)


def execute_needs_admin(user: Any, run: RestoreRun) -> list[str] | None:
    """When ``user`` prepares ``run`` on a PROD tenant but may not execute it there (Operator):
    the names of the tenant's admins (memberships, active users) who can (possibly none).
    ``None`` when ``user`` may execute there, or the tenant is not PROD."""
    from tenantguard.accounts.models import Membership, Role
    from tenantguard.accounts.permissions import role_on

    tenant = run.tenant
    if run.environment != "prod" and not tenant.is_prod:
        return None
    if role_on(user, tenant) in (None, Role.ADMIN):
        return None
    admins = (
        Membership.objects.filter(tenant=tenant, role=Role.ADMIN, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
    )
    names = []
    for membership in admins:
        full = membership.user.get_full_name().strip()
        username = membership.user.get_username()
        names.append(f"{full} ({username})" if full else username)
    return names


def can_view(user: Any, run: RestoreRun) -> bool:
    return restore_runs_visible_to(user).filter(pk=run.pk).exists()


@dataclass(frozen=True)
class StepState:
    key: str
    number: int
    title: str
    #: "done", "blocked" (current checks found blocking problems), "stale" (out of date),
    #: "todo" or "locked" (an earlier step is missing).
    state: str
    current: bool
    note: str = ""

    @property
    def label(self) -> str:
        if self.note:
            return self.note
        return {
            "done": "done",
            "blocked": "blocked",
            "stale": "out of date",
            "todo": "to do",
            "locked": "not yet",
        }[self.state]


def wizard_steps(policy: RestoreRunPolicy, *, current: str) -> list[StepState]:
    """The stepper: which steps are done, out of date (their result's fingerprint no longer
    matches the run's inputs, as the policy judges) or still to do."""
    run = policy.run
    finished = run.status not in EDITABLE_STATUSES
    checks, preview = policy.checks_state(), policy.preview_state()
    states: dict[str, tuple[str, str]] = {}
    states["source"] = ("done", "") if run.backup_set_id else ("todo", "")
    if not run.backup_set_id:
        states["scope"] = ("locked", "")
    elif run.status != RestoreStatus.DRAFT:
        states["scope"] = ("done", "")
    else:
        states["scope"] = ("todo", "")
    for key, result in (("checks", checks), ("preview", preview)):
        if result.present and result.current:
            states[key] = ("done", "")
        elif result.present:
            states[key] = ("stale", "")
        elif states["scope"][0] != "done":
            states[key] = ("locked", "")
        else:
            states[key] = ("todo", "")
    if finished:
        states["confirm"] = ("done", "")
    elif run.backup_set_id:
        # Reachable early on purpose: the page lists what is still missing before Execute.
        states["confirm"] = ("todo", "")
    else:
        states["confirm"] = ("locked", "")
    blocking = policy.blocking_count()
    if states["checks"][0] == "done" and blocking and not finished:
        # Current checks with blockers are not a green tick: execution is impossible.
        states["checks"] = ("blocked", f"{blocking} blocking")
    return [
        StepState(
            key=key,
            number=number,
            title=title,
            state=states[key][0],
            current=key == current,
            note=states[key][1],
        )
        for key, number, title in STEPS
    ]


def backup_set_type_summary(backup_set: BackupSet) -> list[dict[str, Any]]:
    """Items per type of a backup set, for the source step."""
    from tenantguard.restores.services.scope import type_info

    rows = (
        backup_set.items.order_by()
        .values("policy_type")
        .annotate(count=Count("id"))
        .order_by("policy_type")
    )
    result = []
    for row in rows:
        info = type_info(row["policy_type"])
        result.append(
            {
                "policy_type": row["policy_type"],
                "label": info.label,
                "category": info.category,
                "count": row["count"],
                "is_foundation": info.is_foundation,
                "is_preview_only": info.is_preview_only,
                "order": info.order,
            }
        )
    return sorted(result, key=lambda r: (r["order"], r["label"]))


#: Results listed per check code on the checks page; the rest behind "Show all" and the CSV.
RESULTS_SHOWN_PER_CODE: Final = 200


@dataclass(frozen=True)
class CheckCodeGroup:
    """The results of one check code: how many, and the ones listed (all, or the first ones)."""

    code: str
    total: int
    rows: list[RestoreCheckResult]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)

    @property
    def title(self) -> str:
        """The code as a sentence (``check_words.check_title``); the code is shown beside it."""
        return check_words.check_title(self.code)

    @property
    def message_groups(self) -> list[check_words.MessageGroup]:
        """The listed rows grouped by what they say: a message shared by several items is shown
        once with their names (``check_words.group_results_by_message``)."""
        return check_words.group_results_by_message(self.rows)


def check_result_groups(
    run: RestoreRun, *, show_all_code: str = "", per_code: int = RESULTS_SHOWN_PER_CODE
) -> dict[str, list[CheckCodeGroup]]:
    """Severity -> its codes in the order they were found, each with its first ``per_code`` rows
    (every row for ``show_all_code``). Counting is done by the database, so a 10,000-result run
    loads only what is listed."""
    totals = (
        run.check_results.values("severity", "code")
        .annotate(total=Count("pk"), first=Min("position"))
        .order_by("first")
    )
    grouped: dict[str, list[CheckCodeGroup]] = {"blocking": [], "warning": [], "safe": []}
    for entry in totals:
        rows = run.check_results.filter(severity=entry["severity"], code=entry["code"])
        limit = None if entry["code"] == show_all_code else per_code
        grouped.setdefault(entry["severity"], []).append(
            CheckCodeGroup(entry["code"], entry["total"], list(rows[:limit]))
        )
    return grouped


def check_warning_groups(run: RestoreRun) -> list[CheckCodeGroup]:
    """Every warning of the run's checks, per code in the order they were found (step 5
    repeats them all before the admin confirms)."""
    by_code: dict[str, list[RestoreCheckResult]] = {}
    for row in run.check_results.filter(severity=CheckSeverity.WARNING).order_by("position"):
        by_code.setdefault(row.code, []).append(row)
    return [CheckCodeGroup(code, len(rows), rows) for code, rows in by_code.items()]


def preview_removals(run: RestoreRun) -> list[dict[str, Any]]:
    """Every item of the preview that loses assignments (created or updated items whose diff
    removes some), each with its removed assignments: step 5 lists them all, not the summary's
    first ones."""
    items = (
        run.preview_items.filter(action__in=[PreviewAction.CREATE, PreviewAction.UPDATE])
        .filter(diff__assignments__counts__removed__gt=0)
        .order_by("position")
        .only("policy_type", "source_id", "display_name", "diff")
    )
    return [
        {
            "type": item.policy_type,
            "source_id": item.source_id,
            "name": item.display_name,
            "removed": list(((item.diff or {}).get("assignments") or {}).get("removed") or []),
        }
        for item in items
    ]


def check_severity_counts(run: RestoreRun) -> dict[str, int]:
    counts = Counter(run.check_results.values_list("severity", flat=True))
    return {severity: counts.get(severity, 0) for severity in CheckSeverity.values}


CHECK_CSV_COLUMNS: Final = (
    "severity",
    "code",
    "item_type",
    "item_source_id",
    "item_name",
    "message",
    "resolution",
)


def check_results_csv_rows(run: RestoreRun) -> Iterator[list[str]]:
    """The header, then every recorded check result of ``run`` in the order they were found."""
    yield list(CHECK_CSV_COLUMNS)
    for values in run.check_results.order_by("position").values_list(*CHECK_CSV_COLUMNS):
        yield [_spreadsheet_safe(str(value)) for value in values]


def _spreadsheet_safe(value: str) -> str:
    """Names come from the tenant: a leading = + - @ would be a formula in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


#: The filter the preview and run pages open on: what the restore changes (``unchanged`` and
#: ``skipped`` are one click away).
CHANGES_FILTER: Final = "changes"
QUIET_PREVIEW_ACTIONS: Final = (PreviewAction.NO_CHANGE, PreviewAction.SKIP)
QUIET_OUTCOMES: Final = (ItemOutcome.UNCHANGED, ItemOutcome.SKIPPED)


def preview_items(run: RestoreRun, *, action: str = "") -> QuerySet[RestorePreviewItem]:
    """The run's preview items: all (``action=""``), those that change something
    (``CHANGES_FILTER``: create and update) or those of one action."""
    items = run.preview_items.all()
    if action == CHANGES_FILTER:
        items = items.exclude(action__in=QUIET_PREVIEW_ACTIONS)
    elif action in PreviewAction.values:
        items = items.filter(action=action)
    return items


def preview_action_counts(run: RestoreRun) -> dict[str, int]:
    counts = Counter(run.preview_items.values_list("action", flat=True))
    return {action: counts.get(action, 0) for action in PreviewAction.values}


def item_outcomes(run: RestoreRun, *, outcome: str = "") -> QuerySet[RestoreItemOutcome]:
    """The run's outcomes: all (``outcome=""``), those that changed or failed or are still to
    come (``CHANGES_FILTER``; an item skipped because the target changed since the preview
    counts: it is a failure to write; so does an item whose object was unchanged but whose
    assignments were written: the restore changed it) or those of one outcome."""
    items = run.item_outcomes.all()
    if outcome == CHANGES_FILTER:
        items = items.filter(
            ~Q(outcome__in=QUIET_OUTCOMES)
            | Q(skip_code="changed_since_preview")
            | Q(assignments_written=True)
        )
    elif outcome in ItemOutcome.values:
        items = items.filter(outcome=outcome)
    return items


def outcome_counts(run: RestoreRun) -> dict[str, int]:
    counts = Counter(run.item_outcomes.values_list("outcome", flat=True))
    return {outcome: counts.get(outcome, 0) for outcome in ItemOutcome.values}


def restore_run_progress(run: RestoreRun) -> dict[str, int]:
    """Items done so far out of the items the run will handle (the preview's plan)."""
    total = run.preview_items.count()
    done = run.item_outcomes.exclude(outcome=ItemOutcome.PENDING).count()
    return {"done": done, "total": total, "percent": int(done * 100 / total) if total else 0}


def pre_restore_snapshot(run: RestoreRun) -> BackupSet | None:
    return run.snapshots.filter(kind=BackupKind.PRE_RESTORE).order_by("-created_at").first()


def restore_run_audit_events(run: RestoreRun) -> list[AuditEvent]:
    """The run's audit trail, oldest first."""
    return list(
        AuditEvent.objects.filter(subject_type=RUN_SUBJECT_TYPE, subject_id=str(run.pk)).order_by(
            "created_at", "id"
        )
    )


def last_mapping_change(run: RestoreRun) -> list[dict[str, Any]]:
    """The entries the run's latest mapping change decided (its audit event's list; empty for
    a change recorded without one)."""
    event = (
        AuditEvent.objects.filter(
            subject_type=RUN_SUBJECT_TYPE, subject_id=str(run.pk), action="restore.mapping_updated"
        )
        .order_by("-created_at", "-id")
        .first()
    )
    entries = (event.details or {}).get("entries") if event is not None else None
    return list(entries) if isinstance(entries, list) else []


def mapping_target_options(run: RestoreRun, *, kind: str, text: str = "") -> list[dict[str, str]]:
    """Objects of the target tenant a missing reference of ``kind`` can be mapped to.

    Groups are searched in Entra (name starts with ``text``, at most 20); the objects of kinds
    backed by a foundation type (``reference_kinds``: filters, scope tags, notification
    templates, ...) are listed from the target (filtered by ``text``, case-insensitive).
    A kind the app may not read raises ``RestoreRunError`` naming the missing permission.
    """
    from tenantguard.graph import PermissionDeniedError
    from tenantguard.intune import reference_kinds, target
    from tenantguard.restores.services.source import (
        GROUP_READ_PERMISSION,
        graph_client_for_run,
        policy_type_of,
    )

    if not reference_kinds.is_kind(kind):
        raise ValueError(f"Unknown mapping kind '{kind}'.")
    type_key = reference_kinds.get(kind).foundation_type
    client = graph_client_for_run(run)
    if type_key is None:
        try:
            found = target.search_groups(client, text, top=20)
        except PermissionDeniedError as exc:
            raise RestoreRunError(
                _cannot_list(run, "groups", GROUP_READ_PERMISSION, "skip its assignments")
            ) from exc
        return [{"id": g["id"], "name": g["displayName"] or g["id"]} for g in found]
    state = target.read_target(client, type_keys=[type_key])
    if type_key in state.unreadable:
        ptype = policy_type_of(type_key)
        raise RestoreRunError(
            _cannot_list(run, ptype.label.lower(), ptype.required_permission, "skip it")
        )
    lowered = text.lower()
    options = [
        {"id": item.source_id, "name": item.display_name or item.source_id}
        for item in state.items(type_key)
        if lowered in (item.display_name or "").lower()
    ]
    return sorted(options, key=lambda o: o["name"].lower())


def _cannot_list(run: RestoreRun, what: str, permission: str, skip: str) -> str:
    return (
        f"The {what} of {run.tenant_label} cannot be listed: the app lacks the permission "
        f"{permission} there. Grant it (with admin consent) and search again to map to one, "
        f"or {skip}."
    )


def next_step(steps: list[StepState]) -> str:
    """The step to continue with: the first one to do or out of date."""
    for step in steps:
        if step.state in ("todo", "stale", "blocked"):
            return step.key
    return steps[-1].key


def diff_rows(
    diff: dict[str, Any],
    *,
    labels: Mapping[str, SettingLabel] | None = None,
    source_payload: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """A preview diff's changes as rows a person reads (``presentation.readable_diff_rows``):
    settings by their display name when ``labels`` knows them, else by their raw id."""
    return readable_diff_rows(diff or {}, labels=labels or {}, source_payload=source_payload)


#: Diff paths whose rows read names from the backup item's payload (administrative template
#: definitions and presentations, OMA-URI setting names, a reusable setting's own id).
_PAYLOAD_NAMED_PATHS: Final = ("definitionValues[", "omaSettings[", "settingInstance.")


def _diff_paths(diff: Mapping[str, Any]) -> Iterator[str]:
    for key in ("changes", "kept"):  # (identifier places are read from the payload too)
        for entry in diff.get(key) or []:
            if isinstance(entry, Mapping):
                yield str(entry.get("path", ""))


def diff_presentation_context(
    run: RestoreRun, items: list[Any]
) -> tuple[dict[str, SettingLabel], dict[tuple[str, str], dict[str, Any]]]:
    """What the readable rows of ``items`` (preview items of ``run``) need, read once for all
    of them: the setting labels of every setting their diffs name (from the tenant's cache of
    setting definitions) and the backup payloads of the items whose rows take names from it
    (one query each, whatever the number of items)."""
    wanted = [
        item
        for item in items
        if any(path.startswith(_PAYLOAD_NAMED_PATHS) for path in _diff_paths(item.diff or {}))
        or ((item.diff or {}).get("tenant_identifiers") or {}).get("places")
    ]
    payloads: dict[tuple[str, str], dict[str, Any]] = {}
    if wanted and run.backup_set_id:
        found = BackupItem.objects.filter(
            backup_set_id=run.backup_set_id,
            policy_type__in={item.policy_type for item in wanted},
            source_id__in={item.source_id for item in wanted},
        ).values_list("policy_type", "source_id", "stored_payload__payload")
        payloads = {(ptype, source_id): payload for ptype, source_id, payload in found}
    ids: set[str] = set()
    for item in items:
        ids |= change_setting_ids(item.diff or {})
        payload = payloads.get((item.policy_type, item.source_id))
        if not isinstance(payload, Mapping):
            continue
        top = payload.get("settingDefinitionId")
        if isinstance(top, str) and top:
            ids.add(top)  # a reusable setting's own setting
        if ((item.diff or {}).get("tenant_identifiers") or {}).get("places"):
            ids |= setting_definition_ids(payload)  # identifier places are payload positions
    labels = setting_labels(tenant=run.tenant, definition_ids=ids) if ids else {}
    return labels, payloads


def with_type_labels(items: Any) -> list[Any]:
    """Items (preview rows, outcomes) with ``type_label`` from the registry; preview rows also
    with ``rows`` (``presentation.DiffRows``: readable changes and kept elements), labels and
    payloads read once for the page (``diff_presentation_context``)."""
    from tenantguard.restores.services.scope import type_info

    result = list(items)
    previews = [item for item in result if hasattr(item, "diff")]
    labels: Mapping[str, SettingLabel] = {}
    payloads: dict[tuple[str, str], dict[str, Any]] = {}
    if previews:
        labels, payloads = diff_presentation_context(previews[0].run, previews)
    for item in result:
        item.type_label = type_info(item.policy_type).label
        if hasattr(item, "diff"):
            payload = payloads.get((item.policy_type, item.source_id))
            item.rows = diff_rows_for_page(item.diff or {}, labels=labels, source_payload=payload)
    return result


@dataclass(frozen=True)
class AnalysisState:
    """What the checks or preview page shows about its background read of the target."""

    step: str
    state: str = ""
    pending: bool = False
    running: bool = False
    failed: bool = False
    abandoned: bool = False
    requested_by: str = ""
    requested_at: str = ""
    objects: int = 0
    type_label: str = ""
    error: str = ""


def analysis_state(run: RestoreRun, *, step: str) -> AnalysisState:
    """What the page of ``step`` shows about ``run``'s background checks or preview: a pending
    job whatever its step (both steps wait for it), a failed or abandoned one on its own step."""
    from tenantguard.restores.services.scope import type_info

    job = run.analysis or {}
    pending = analysis_pending(run)
    if not job or (job.get("step") != step and not pending):
        return AnalysisState(step=step)
    progress = job.get("progress") or {}
    return AnalysisState(
        step=str(job.get("step")),
        state=str(job.get("state") or ""),
        pending=pending,
        running=pending and job.get("state") == "running",
        failed=job.get("state") == "failed",
        abandoned=not pending and job.get("state") in ("queued", "running"),
        requested_by=str(job.get("requested_by") or ""),
        requested_at=str(job.get("requested_at") or "")[:16].replace("T", " "),
        objects=int(progress.get("objects") or 0),
        type_label=type_info(progress["type"]).label if progress.get("type") else "",
        error=str(job.get("error") or ""),
    )
