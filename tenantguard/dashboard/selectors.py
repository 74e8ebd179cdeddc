"""Reads for the home page and the tenant list: each visible tenant's backups, schedule, restores.

Everything is read for a whole list of tenants at once, in a fixed number of queries whatever
the number of tenants or items (``tenant_overviews``): the latest backup of each tenant, its last
two completed backups, what changed between those two (counted in the database by content hash),
and the restore runs that are running or need attention.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from django.db import connection
from django.db.models import (
    Exists,
    F,
    OuterRef,
    Q,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from tenantguard.accounts.models import ROLE_RANK, Membership, Role
from tenantguard.accounts.permissions import Capability, minimum_role, tenants_visible_to
from tenantguard.backups.models import BackupItem, BackupKind, BackupSet, BackupStatus
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.selectors import restore_runs_visible_to
from tenantguard.tenants.models import BackupSchedule, Tenant

#: Backups of the whole tenant. Pre-restore snapshots hold only a restore's scope, so they are
#: neither a tenant's "last backup" nor a side of its "what changed".
FULL_BACKUP_KINDS: Final = (BackupKind.MANUAL, BackupKind.SCHEDULED)
#: Restore runs the dashboard shows as in progress.
ACTIVE_RESTORE_STATUSES: Final = (RestoreStatus.QUEUED, RestoreStatus.RUNNING)
#: Finished restore runs that left something for a person to look at.
ATTENTION_RESTORE_STATUSES: Final = (RestoreStatus.FAILED, RestoreStatus.PARTIAL)
#: A failed or partial run stops needing attention once a later restore (not a dry run) of the
#: same tenant completed, or after this long.
ATTENTION_WINDOW: Final = timedelta(days=30)


@dataclass(frozen=True)
class LastBackup:
    """A tenant's most recent full backup, whatever its status."""

    backup_set_id: int
    name: str
    status: str
    status_label: str
    kind: str
    #: When it finished (captured_at), or when it started while running or without an end.
    at: datetime
    item_count: int
    warning_count: int
    error: str

    @property
    def is_running(self) -> bool:
        return self.status == BackupStatus.RUNNING


@dataclass(frozen=True)
class BackupChanges:
    """What differs between a tenant's last two completed backups, item by item: an item is
    the same object when its type and Graph id match, and changed when its content hash differs."""

    older_id: int
    older_at: datetime
    newer_id: int
    newer_at: datetime
    added: int
    changed: int
    removed: int

    @property
    def total(self) -> int:
        return self.added + self.changed + self.removed


@dataclass(frozen=True)
class RestoreAttention:
    """A restore run the tenant's people should look at: running, failed or partial."""

    run_id: int
    status: str
    status_label: str
    #: When it finished, or when it started (running ones).
    at: datetime
    #: Why it needs attention, e.g. "2 items failed, 1 item written but not verified".
    reason: str


@dataclass(frozen=True)
class TenantOverview:
    tenant: Tenant
    last_backup: LastBackup | None
    #: The next scheduled backup; None when scheduled backups are off.
    next_backup_at: datetime | None
    changes: BackupChanges | None
    #: Completed full backups the tenant has (0, 1 or "2 or more": capped at 2).
    completed_backups: int
    #: The latest completed full backup (the last one to restore from when the latest failed).
    last_completed: BackupSet | None = None
    running_restores: list[RestoreAttention] = field(default_factory=list)
    attention_restores: list[RestoreAttention] = field(default_factory=list)
    can_backup: bool = False
    can_restore: bool = False
    #: The next scheduled backup is past: it waits for a scheduler pass.
    next_backup_overdue: bool = False


def tenant_overviews(
    *, user: Any, tenants: Sequence[Tenant] | None = None, now: datetime | None = None
) -> list[TenantOverview]:
    """One overview per tenant ``user`` may see (``tenants`` narrows it to those, in their
    order, e.g. one page of the tenant list). At most seven queries, whatever the number of
    tenants, backups and items."""
    now = now or timezone.now()
    visible = tenants_visible_to(user)
    if tenants is None:
        tenants = list(visible.order_by("display_name"))
    else:
        allowed = set(visible.filter(pk__in=[t.pk for t in tenants]).values_list("pk", flat=True))
        tenants = [t for t in tenants if t.pk in allowed]
    if not tenants:
        return []
    tenant_ids = [t.pk for t in tenants]
    latest = last_backups(tenant_ids=tenant_ids)
    pairs = _last_two_completed(tenant_ids)
    changes = backup_changes(pairs=[p for p in pairs.values() if len(p) == 2])
    running, attention = restores_needing_attention(user=user, tenant_ids=tenant_ids, now=now)
    roles = _capabilities(user, tenants)
    overviews = []
    for tenant in tenants:
        next_backup_at = next_scheduled_backup(tenant=tenant, now=now)
        overviews.append(
            TenantOverview(
                tenant=tenant,
                last_backup=latest.get(tenant.pk),
                next_backup_at=next_backup_at,
                next_backup_overdue=next_backup_at is not None and next_backup_at < now,
                changes=changes.get(tenant.pk),
                completed_backups=len(pairs.get(tenant.pk, [])),
                last_completed=pairs.get(tenant.pk, [None])[0],
                running_restores=running.get(tenant.pk, []),
                attention_restores=attention.get(tenant.pk, []),
                can_backup=roles[tenant.pk][0],
                can_restore=roles[tenant.pk][1],
            )
        )
    return overviews


def next_scheduled_backup(*, tenant: Tenant, now: datetime) -> datetime | None:
    """When the scheduler takes the tenant's next backup; None when scheduled backups are off.

    The scheduler keeps ``next_scheduled_backup_at``; a tenant it has not planned yet (schedule
    just switched on) gets the next slot after ``now``. A time in the past means the backup is
    due and waits for a scheduler pass (``tenantguard run`` starts the scheduler)."""
    if tenant.backup_schedule != BackupSchedule.DAILY:
        return None
    return tenant.next_scheduled_backup_at or tenant.scheduled_backup_after(now)


def last_backups(*, tenant_ids: Iterable[int]) -> dict[int, LastBackup]:
    """Each tenant's latest full backup (by start), in one query."""
    rows = (
        BackupSet.objects.filter(tenant_id__in=list(tenant_ids), kind__in=FULL_BACKUP_KINDS)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("tenant_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .only(
            "id",
            "tenant_id",
            "name",
            "status",
            "kind",
            "created_at",
            "captured_at",
            "item_count",
            "warnings",
            "error",
        )
    )
    return {
        row.tenant_id: LastBackup(
            backup_set_id=row.pk,
            name=row.name,
            status=row.status,
            status_label=row.get_status_display(),
            kind=row.kind,
            at=row.captured_at or row.created_at,
            item_count=row.item_count,
            warning_count=len(row.warnings) if isinstance(row.warnings, list) else 0,
            error=row.error,
        )
        for row in rows
    }


def _last_two_completed(tenant_ids: list[int]) -> dict[int, list[BackupSet]]:
    """Each tenant's two latest completed full backups, newest first, in one query."""
    rows = (
        BackupSet.objects.filter(
            tenant_id__in=tenant_ids, kind__in=FULL_BACKUP_KINDS, status=BackupStatus.COMPLETED
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("tenant_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=2)
        .only("id", "tenant_id", "created_at", "captured_at")
        .order_by("tenant_id", "rank")
    )
    pairs: dict[int, list[BackupSet]] = {}
    for row in rows:
        pairs.setdefault(row.tenant_id, []).append(row)
    return pairs


def backup_changes(*, pairs: Iterable[Sequence[BackupSet]]) -> dict[int, BackupChanges]:
    """Items added, changed and removed from the older to the newer set of each
    ``(newer, older)`` pair (same tenant), keyed by tenant id.

    One query for any number of pairs and items, counted in the database: the items of the
    pairs' sets, joined to a small table saying which pair and which side each set is, grouped
    by (pair, type, Graph id): a group only on the newer side was added, only on the older side
    removed, on both with two content hashes changed; those are summed per pair. Raw SQL because
    the ORM cannot aggregate over a grouped subquery; one grouping pass over the items is much
    faster than a lookup per item (120,000 items: about 0.3 s, not 2 s, on PostgreSQL)."""
    pairs = [(newer, older) for newer, older in pairs]
    if not pairs:
        return {}
    # (set id, pair id = the newer set's id, 1 for the newer side / 0 for the older side)
    sides = [(newer.pk, newer.pk, 1) for newer, _ in pairs]
    sides += [(older.pk, newer.pk, 0) for newer, older in pairs]
    rows = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS INTEGER))"] * len(sides))
    table = connection.ops.quote_name(BackupItem._meta.db_table)
    # VALUES names its columns column1, column2, column3 in both SQLite and PostgreSQL.
    sql = f"""
        SELECT pair_id,
               SUM(CASE WHEN older_side = 1 THEN 1 ELSE 0 END),
               SUM(CASE WHEN older_side = 0 AND newer_side = 1 AND low_hash <> high_hash
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN newer_side = 0 THEN 1 ELSE 0 END)
        FROM (
            SELECT sides.column2 AS pair_id,
                   MIN(sides.column3) AS older_side,
                   MAX(sides.column3) AS newer_side,
                   MIN(item.content_hash) AS low_hash,
                   MAX(item.content_hash) AS high_hash
            FROM {table} item
            INNER JOIN (VALUES {rows}) sides ON sides.column1 = item.backup_set_id
            GROUP BY sides.column2, item.policy_type, item.source_id
        ) per_item
        GROUP BY pair_id
    """  # noqa: S608 (only placeholders and the model's own table name are formatted in)
    counts = {newer.pk: (0, 0, 0) for newer, _ in pairs}
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for side in sides for value in side])
        for pair_id, added, changed, removed in cursor.fetchall():
            counts[pair_id] = (int(added or 0), int(changed or 0), int(removed or 0))
    return {
        newer.tenant_id: BackupChanges(
            older_id=older.pk,
            older_at=older.captured_at or older.created_at,
            newer_id=newer.pk,
            newer_at=newer.captured_at or newer.created_at,
            added=counts[newer.pk][0],
            changed=counts[newer.pk][1],
            removed=counts[newer.pk][2],
        )
        for newer, older in pairs
    }


def restores_needing_attention(
    *, user: Any, tenant_ids: Iterable[int], now: datetime
) -> tuple[dict[int, list[RestoreAttention]], dict[int, list[RestoreAttention]]]:
    """``(running, attention)`` runs per tenant id, newest first, in one query.

    Running: queued or running. Attention: failed or partial (items failed, written but not
    verified, or skipped because the target changed after the preview), finished within
    ``ATTENTION_WINDOW`` and not followed by a restore (not a dry run) of the same tenant that
    completed. Only runs
    ``user`` may see are listed (``restore_runs_visible_to``)."""
    # A dry run "completes" without writing anything: it resolves nothing.
    later_completed = RestoreRun.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        status=RestoreStatus.COMPLETED,
        dry_run=False,
        finished_at__gt=OuterRef("finished_at"),
    )
    rows = (
        restore_runs_visible_to(user)
        .filter(tenant_id__in=list(tenant_ids))
        .filter(
            Q(status__in=ACTIVE_RESTORE_STATUSES)
            | Q(
                status__in=ATTENTION_RESTORE_STATUSES,
                finished_at__gte=now - ATTENTION_WINDOW,
            )
        )
        .alias(resolved=Exists(later_completed))
        .filter(Q(status__in=ACTIVE_RESTORE_STATUSES) | Q(resolved=False))
        .select_related(None)
        .only("id", "tenant_id", "status", "created_at", "started_at", "finished_at", "results")
        .order_by("-created_at", "-id")
    )
    running: dict[int, list[RestoreAttention]] = {}
    attention: dict[int, list[RestoreAttention]] = {}
    for run in rows:
        entry = RestoreAttention(
            run_id=run.pk,
            status=run.status,
            status_label=run.get_status_display(),
            at=run.finished_at or run.started_at or run.created_at,
            reason=_attention_reason(run),
        )
        target = running if run.status in ACTIVE_RESTORE_STATUSES else attention
        target.setdefault(run.tenant_id, []).append(entry)
    return running, attention


def _attention_reason(run: RestoreRun) -> str:
    if run.status == RestoreStatus.QUEUED:
        return "Waiting for a worker"
    if run.status == RestoreStatus.RUNNING:
        return "Writing to the tenant"
    results = run.results if isinstance(run.results, dict) else {}
    parts = [
        _count_words(results.get("failed"), "item failed", "items failed"),
        _count_words(
            results.get("unverified"),
            "item written but not verified",
            "items written but not verified",
        ),
        _count_words(
            results.get("changed_since_preview"),
            "item changed after the preview (not written)",
            "items changed after the preview (not written)",
        ),
    ]
    reason = ", ".join(part for part in parts if part)
    if reason:
        return reason[:1].upper() + reason[1:]
    if run.status == RestoreStatus.FAILED:
        return "The run failed: open it to see why"
    return "Not every item was restored: open it to see which"


def _count_words(value: Any, singular: str, plural: str) -> str:
    if isinstance(value, list):
        value = len(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return ""
    return f"{value} {singular if value == 1 else plural}"


def _capabilities(user: Any, tenants: Sequence[Tenant]) -> dict[int, tuple[bool, bool]]:
    """``(may back up, may prepare a restore)`` per tenant, from one read of the memberships
    (``has_capability``'s rule, without its query per tenant)."""
    if getattr(user, "is_superuser", False):
        roles = {t.pk: Role.ADMIN for t in tenants}
    else:
        roles = {
            tenant_id: Role(role)
            for tenant_id, role in Membership.objects.filter(
                user=user, tenant_id__in=[t.pk for t in tenants]
            ).values_list("tenant_id", "role")
        }

    def allowed(tenant: Tenant, capability: Capability) -> bool:
        role = roles.get(tenant.pk)
        return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum_role(capability, tenant)]

    return {
        t.pk: (allowed(t, Capability.BACKUP), allowed(t, Capability.PREPARE_RESTORE))
        for t in tenants
    }
