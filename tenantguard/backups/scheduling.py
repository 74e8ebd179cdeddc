"""Scheduled backups: start the backups that are due, exactly once, from any number of schedulers.

Each tenant with a schedule carries ``next_scheduled_backup_at``. A scheduler pass claims a due
tenant with a conditional UPDATE (moving that time to the next slot after now), so two scheduler
processes, or a pass that overlaps the next one, never start the same backup twice, and days
missed while nothing ran are caught up with one backup, not one per day.

A tenant whose previous backup is still running is left due: the next pass (or the one after)
starts its backup once the running one has finished, so a slow backup delays, never skips.

Retention: a tenant with ``keep_scheduled_backups`` = N > 0 keeps its N newest *completed*
scheduled backups; each pass deletes the finished scheduled ones older than those, one audit
event each. Manual backups, pre-restore snapshots, running or failed sets, any set a restore run
used as its source, and everything while fewer than N completed ones exist are never deleted.
A running set that stopped reporting (its worker died) is marked failed first
(``backup_sets_fail_stale``), so it cannot hold the schedule for ever. Payloads are stored once
per tenant and content (``BackupPayload``): a pruned set takes with it, in the same transaction,
the payloads no remaining item refers to; those the kept sets share stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from tenantguard.audit.services import audit_event_record
from tenantguard.backups.models import BackupKind, BackupSet, BackupStatus
from tenantguard.backups.selectors import backup_set_payloads_only_here
from tenantguard.backups.services import backup_set_open, backup_sets_fail_stale
from tenantguard.tenants.models import BackupSchedule, Tenant

logger = logging.getLogger(__name__)

#: How often ``tenantguard run``'s scheduler looks for due backups.
SCHEDULER_INTERVAL_SECONDS = 60.0


@dataclass
class SchedulerPass:
    """What one pass did: backups started, tenants left due because one is running, names of
    old scheduled backups deleted under the tenants' retention, and tenants whose turn failed
    (the pass goes on with the others; the next pass tries again)."""

    started: list[BackupSet] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def scheduled_backups_due(now: datetime) -> list[Tenant]:
    return list(
        Tenant.objects.filter(
            backup_schedule=BackupSchedule.DAILY, next_scheduled_backup_at__lte=now
        ).order_by("next_scheduled_backup_at", "pk")
    )


def scheduled_backups_start_due(
    *, now: datetime | None = None, enqueue: bool = True
) -> SchedulerPass:
    """Start every due scheduled backup (one per tenant), plan each tenant's next one, and
    apply the tenants' retention. One tenant's failure never stops the others."""
    now = now or timezone.now()
    result = SchedulerPass()
    for tenant in scheduled_backups_due(now):
        try:
            backup_sets_fail_stale(tenant=tenant, now=now)
            if BackupSet.objects.filter(tenant=tenant, status=BackupStatus.RUNNING).exists():
                result.waiting.append(tenant.display_name)
                continue
            backup_set = _claim_and_start(tenant, now, enqueue=enqueue)
        except Exception:
            logger.exception("scheduled backup of tenant %s could not start", tenant.pk)
            result.errors.append(f"{tenant.display_name}: the scheduled backup could not start")
            continue
        if backup_set is not None:
            result.started.append(backup_set)
    for tenant in Tenant.objects.filter(keep_scheduled_backups__gt=0).order_by("pk"):
        try:
            result.pruned += scheduled_backups_prune(tenant=tenant)
        except Exception:
            logger.exception("retention of tenant %s failed", tenant.pk)
            result.errors.append(f"{tenant.display_name}: old scheduled backups not pruned")
    return result


def scheduled_backups_prune(*, tenant: Tenant) -> list[str]:
    """Delete ``tenant``'s finished scheduled backups older than its newest
    ``keep_scheduled_backups`` *completed* ones.

    Only completed sets count towards the number kept: a run of partial (or empty) nights, e.g.
    after the app lost a permission, never pushes the last good backups out. While fewer
    completed scheduled sets exist than the number to keep, nothing is deleted. Each set is
    locked and re-checked before it goes, so one that a restore run starts using meanwhile
    stays."""
    keep = tenant.keep_scheduled_backups
    pruned: list[str] = []
    for backup_set_id in scheduled_backups_beyond(tenant=tenant, keep=keep):
        name = _prune_one(tenant, backup_set_id, keep)
        if name is not None:
            pruned.append(name)
    if pruned:
        logger.info("pruned %d scheduled backup(s) of tenant %s", len(pruned), tenant.pk)
    return pruned


def scheduled_backups_beyond(*, tenant: Tenant, keep: int) -> list[int]:
    """Ids of the scheduled backups that keeping ``keep`` would delete, oldest first (the rules
    of ``scheduled_backups_prune``). The tenant page asks for a confirmation when lowering the
    number would delete any."""
    if keep <= 0:
        return []
    scheduled = BackupSet.objects.filter(tenant=tenant, kind=BackupKind.SCHEDULED)
    kept = list(
        scheduled.filter(status=BackupStatus.COMPLETED)
        .order_by("-captured_at", "-pk")
        .values_list("pk", "captured_at")[:keep]
    )
    if len(kept) < keep:
        return []
    return list(
        scheduled.filter(
            status__in=[BackupStatus.COMPLETED, BackupStatus.PARTIAL],
            captured_at__lt=kept[-1][1],
            restore_runs__isnull=True,
        )
        .exclude(pk__in=[pk for pk, _ in kept])
        .order_by("captured_at", "pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def _prune_one(tenant: Tenant, backup_set_id: int, keep: int) -> str | None:
    with transaction.atomic():
        backup_set = (
            BackupSet.objects.select_for_update().filter(pk=backup_set_id, tenant=tenant).first()
        )
        if backup_set is None or backup_set.restore_runs.exists():
            return None  # gone already, or a restore run uses it now
        audit_event_record(
            actor=None,
            action="backup.pruned",
            subject=backup_set,
            tenant=tenant,
            details={
                "name": backup_set.name,
                "status": backup_set.status,
                "captured_at": (
                    backup_set.captured_at.isoformat() if backup_set.captured_at else None
                ),
                "item_count": backup_set.item_count,
                # Stored payloads and assignments no other set refers to: they go with it
                # (post_delete sweep).
                "payloads_deleted": backup_set_payloads_only_here(backup_set=backup_set),
                "kept": keep,
            },
        )
        try:
            with transaction.atomic():
                backup_set.delete()
        except ProtectedError:
            transaction.set_rollback(True)  # a restore run took it between check and delete
            return None
    return backup_set.name


def _claim_and_start(tenant: Tenant, now: datetime, *, enqueue: bool) -> BackupSet | None:
    due_at = tenant.next_scheduled_backup_at
    following = tenant.scheduled_backup_after(now)
    with transaction.atomic():
        claimed = Tenant.objects.filter(
            pk=tenant.pk,
            backup_schedule=BackupSchedule.DAILY,
            next_scheduled_backup_at=due_at,
        ).update(next_scheduled_backup_at=following)
        if not claimed:
            return None  # another scheduler took it, or the schedule changed meanwhile
        backup_set = backup_set_open(
            actor=None,
            tenant=tenant,
            name=f"{tenant.display_name} - scheduled {now:%Y-%m-%d %H:%M} UTC",
            kind=BackupKind.SCHEDULED,
            enqueue=enqueue,
        )
        audit_event_record(
            actor=None,
            action="backup.scheduled",
            subject=backup_set,
            tenant=tenant,
            details={
                "due_at": due_at.isoformat() if due_at else None,
                "next_at": following.isoformat() if following else None,
            },
        )
    logger.info("scheduled backup started for tenant %s (backup set %s)", tenant.pk, backup_set.pk)
    return backup_set
