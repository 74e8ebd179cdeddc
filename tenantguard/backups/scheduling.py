"""Scheduled backups: start the backups that are due, exactly once, from any number of schedulers.

Each tenant with a schedule carries ``next_scheduled_backup_at``. A scheduler pass claims a due
tenant with a conditional UPDATE (moving that time to the next slot after now), so two scheduler
processes, or a pass that overlaps the next one, never start the same backup twice, and days
missed while nothing ran are caught up with one backup, not one per day.

A tenant whose previous backup is still running is left due: the next pass (or the one after)
starts its backup once the running one has finished, so a slow backup delays, never skips.

Retention: a tenant with ``keep_scheduled_backups`` = N > 0 keeps its N newest finished
(completed or partial) scheduled backups; each pass deletes older finished scheduled ones,
one audit event each. Manual backups, pre-restore snapshots, running or failed sets and any set
a restore run used as its source are never deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tenantguard.audit.services import audit_event_record
from tenantguard.backups.models import BackupKind, BackupSet, BackupStatus
from tenantguard.backups.services import backup_set_open
from tenantguard.tenants.models import BackupSchedule, Tenant

logger = logging.getLogger(__name__)

#: How often ``tenantguard run``'s scheduler looks for due backups.
SCHEDULER_INTERVAL_SECONDS = 60.0


@dataclass
class SchedulerPass:
    """What one pass did: backups started, tenants left due because one is running, and the
    names of old scheduled backups deleted under the tenants' retention."""

    started: list[BackupSet] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


def scheduled_backups_due(now: datetime) -> list[Tenant]:
    return list(
        Tenant.objects.filter(
            backup_schedule=BackupSchedule.DAILY, next_scheduled_backup_at__lte=now
        ).order_by("next_scheduled_backup_at", "pk")
    )


def scheduled_backups_start_due(
    *, now: datetime | None = None, enqueue: bool = True
) -> SchedulerPass:
    """Start every due scheduled backup (one per tenant) and plan each tenant's next one."""
    now = now or timezone.now()
    result = SchedulerPass()
    for tenant in scheduled_backups_due(now):
        if BackupSet.objects.filter(tenant=tenant, status=BackupStatus.RUNNING).exists():
            result.waiting.append(tenant.display_name)
            continue
        backup_set = _claim_and_start(tenant, now, enqueue=enqueue)
        if backup_set is not None:
            result.started.append(backup_set)
    for tenant in Tenant.objects.filter(keep_scheduled_backups__gt=0).order_by("pk"):
        result.pruned += scheduled_backups_prune(tenant=tenant)
    return result


def scheduled_backups_prune(*, tenant: Tenant) -> list[str]:
    """Delete ``tenant``'s finished scheduled backups beyond its newest
    ``keep_scheduled_backups`` (see the module docstring for what is never deleted)."""
    keep = tenant.keep_scheduled_backups
    if keep <= 0:
        return []
    finished = BackupSet.objects.filter(
        tenant=tenant,
        kind=BackupKind.SCHEDULED,
        status__in=[BackupStatus.COMPLETED, BackupStatus.PARTIAL],
    ).order_by("-captured_at", "-pk")
    kept_ids = list(finished.values_list("pk", flat=True)[:keep])
    old = finished.exclude(pk__in=kept_ids).filter(restore_runs__isnull=True, restore_run=None)
    pruned: list[str] = []
    for backup_set in old:
        with transaction.atomic():
            audit_event_record(
                actor=None,
                action="backup.pruned",
                subject=backup_set,
                tenant=tenant,
                details={
                    "name": backup_set.name,
                    "captured_at": (
                        backup_set.captured_at.isoformat() if backup_set.captured_at else None
                    ),
                    "item_count": backup_set.item_count,
                    "kept": keep,
                },
            )
            backup_set.delete()
        pruned.append(backup_set.name)
    if pruned:
        logger.info("pruned %d scheduled backup(s) of tenant %s", len(pruned), tenant.pk)
    return pruned


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
