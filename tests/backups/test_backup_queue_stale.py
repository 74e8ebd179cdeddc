"""A scheduled backup still waiting in the task queue is not a stopped worker: a fleet whose queue
is longer than ``BACKUP_STALE_AFTER`` must not see its waiting backups failed as stale."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupKind, BackupSet, BackupStatus
from tenantguard.backups.services import (
    BACKUP_STALE_AFTER,
    backup_set_open,
    backup_sets_fail_stale,
)
from tenantguard.backups.tasks import capture_backup_set_task

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_queue(settings):
    # django_tasks rebuilds its backends when TASKS changes (setting_changed)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _queued_set(tenant) -> BackupSet:
    backup_set = backup_set_open(
        actor=None, tenant=tenant, name="queued", kind=BackupKind.SCHEDULED, enqueue=True
    )
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1
    return backup_set


def test_a_set_whose_capture_still_waits_in_the_queue_is_not_failed_as_stale(
    database_queue, tenant
):
    backup_set = _queued_set(tenant)

    failed = backup_sets_fail_stale(
        tenant=tenant, now=backup_set.created_at + BACKUP_STALE_AFTER + timedelta(hours=5)
    )

    assert failed == []
    backup_set.refresh_from_db()
    assert backup_set.status == BackupStatus.RUNNING
    assert not AuditEvent.objects.filter(action="backup.failed").exists()


def test_a_set_no_worker_picks_up_for_a_day_is_failed_with_what_to_check(database_queue, tenant):
    from tenantguard.backups.services import BACKUP_QUEUE_GIVE_UP

    backup_set = _queued_set(tenant)

    failed = backup_sets_fail_stale(
        tenant=tenant, now=backup_set.created_at + BACKUP_QUEUE_GIVE_UP + timedelta(minutes=1)
    )

    assert [item.pk for item in failed] == [backup_set.pk]
    backup_set.refresh_from_db()
    assert backup_set.status == BackupStatus.FAILED
    assert "No task worker picked this backup up in 24 hours" in backup_set.error
    assert "db_worker" in backup_set.error
    event = AuditEvent.objects.get(action="backup.failed", subject_id=str(backup_set.pk))
    assert event.details["reason"] == "never_started"


def test_a_set_whose_task_a_killed_worker_took_is_still_failed_as_stale(database_queue, tenant):
    backup_set = _queued_set(tenant)
    # a worker picked the task up and died before its first progress report
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING)

    failed = backup_sets_fail_stale(
        tenant=tenant, now=backup_set.created_at + BACKUP_STALE_AFTER + timedelta(minutes=1)
    )

    assert [item.pk for item in failed] == [backup_set.pk]


def test_a_worker_reaching_a_set_failed_meanwhile_leaves_the_failure_alone(tenant):
    backup_set = backup_set_open(
        actor=None, tenant=tenant, name="late", kind=BackupKind.SCHEDULED, enqueue=False
    )
    BackupSet.objects.filter(pk=backup_set.pk).update(
        status=BackupStatus.FAILED, error="The backup stopped reporting"
    )

    assert capture_backup_set_task.call(backup_set.pk) == BackupStatus.FAILED

    backup_set.refresh_from_db()
    assert backup_set.status == BackupStatus.FAILED and backup_set.item_count == 0
    assert not AuditEvent.objects.filter(action="backup.completed").exists()


def test_a_capture_failed_as_stale_while_it_ran_keeps_its_recorded_failure(tenant):
    from tenantguard.backups.services import backup_set_capture, backup_set_mark_started

    backup_set = backup_set_open(
        actor=None, tenant=tenant, name="slow", kind=BackupKind.SCHEDULED, enqueue=False
    )
    assert backup_set_mark_started(backup_set=backup_set)
    # the stale check of another process fails it before the capture reports anything
    BackupSet.objects.filter(pk=backup_set.pk).update(
        status=BackupStatus.FAILED, error="The backup stopped reporting"
    )

    backup_set_capture(backup_set=backup_set)

    backup_set.refresh_from_db()
    assert backup_set.status == BackupStatus.FAILED
    assert not AuditEvent.objects.filter(action="backup.completed").exists()


def test_a_worker_picking_a_set_up_stamps_its_first_sign_of_life(tenant):
    from django.utils import timezone

    from tenantguard.backups.services import backup_set_mark_started

    backup_set = backup_set_open(
        actor=None, tenant=tenant, name="picked up", kind=BackupKind.SCHEDULED, enqueue=False
    )
    queued_at = timezone.now() - BACKUP_STALE_AFTER - timedelta(hours=1)
    BackupSet.objects.filter(pk=backup_set.pk).update(created_at=queued_at)
    backup_set.refresh_from_db()
    assert backup_set_mark_started(backup_set=backup_set)

    # measured from the pickup, not from when it was queued three hours ago
    assert backup_sets_fail_stale(tenant=tenant, now=timezone.now() + timedelta(minutes=1)) == []
