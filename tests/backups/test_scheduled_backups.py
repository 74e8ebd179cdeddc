"""Scheduled backups: planned from the tenant's schedule, started once per due slot by any number
of scheduler passes, caught up with one backup after missed days, never piled on a running one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.urls import reverse

from tenantguard.audit.models import AuditEvent
from tenantguard.backups import scheduling
from tenantguard.backups.models import BackupKind, BackupSet, BackupStatus
from tenantguard.backups.scheduling import scheduled_backups_due, scheduled_backups_start_due
from tenantguard.cli import main
from tenantguard.emulator.seed import collection_of
from tenantguard.tenants.models import Tenant
from tenantguard.tenants.services import tenant_update

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _daily(tenant: Tenant, hour: int, next_at: datetime | None) -> Tenant:
    Tenant.objects.filter(pk=tenant.pk).update(
        backup_schedule="daily", backup_hour_utc=hour, next_scheduled_backup_at=next_at
    )
    tenant.refresh_from_db()
    return tenant


# ---- planning ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "moment", "expected"),
    [
        (14, NOON, datetime(2026, 11, 27, 14, tzinfo=UTC)),  # later today
        (2, NOON, datetime(2026, 11, 28, 2, tzinfo=UTC)),  # passed: tomorrow
        (12, NOON, datetime(2026, 11, 28, 12, tzinfo=UTC)),  # exactly now: strictly after
        (0, datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, 0, tzinfo=UTC)),
        # 01:30 at UTC+2 is 23:30 UTC the day before: the 23:00 UTC slot has passed.
        (
            23,
            datetime(2026, 11, 28, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 11, 27, 23, tzinfo=UTC) + timedelta(days=1),
        ),
    ],
)
def test_the_next_slot_is_the_first_one_strictly_after_the_moment(tenant, hour, moment, expected):
    tenant.backup_schedule, tenant.backup_hour_utc = "daily", hour
    assert tenant.scheduled_backup_after(moment) == expected


def test_no_slot_when_the_schedule_is_off(tenant):
    assert tenant.backup_schedule == "off"
    assert tenant.scheduled_backup_after(NOON) is None


def test_editing_the_schedule_plans_the_next_backup_and_is_audited(personas, tenant):
    tenant = tenant_update(
        actor=personas["owner"], tenant=tenant, backup_schedule="daily", backup_hour_utc=3
    )
    planned = tenant.next_scheduled_backup_at
    assert planned is not None and planned.hour == 3 and planned > datetime.now(UTC)
    assert AuditEvent.objects.get(action="tenant.updated").details["fields"] == {
        "backup_schedule": "daily",
        "backup_hour_utc": 3,
    }

    tenant = tenant_update(actor=personas["owner"], tenant=tenant, backup_hour_utc=5)
    assert tenant.next_scheduled_backup_at.hour == 5

    tenant = tenant_update(actor=personas["owner"], tenant=tenant, backup_schedule="off")
    assert tenant.next_scheduled_backup_at is None


def test_an_hour_outside_the_day_is_refused_with_the_field_named(personas, tenant):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        tenant_update(actor=personas["owner"], tenant=tenant, backup_hour_utc=24)
    assert "backup_hour_utc" in refused.value.message_dict


def test_the_admin_form_sets_the_schedule(client, personas, tenant):
    client.force_login(personas["owner"])
    url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    page = client.get(url).content.decode()
    assert "Scheduled backups" in page and "Backup hour (UTC)" in page
    data = {
        "display_name": tenant.display_name,
        "entra_tenant_id": tenant.entra_tenant_id,
        "environment": tenant.environment,
        "cloud": tenant.cloud,
        "auth_method": tenant.auth_method,
        "backup_schedule": "daily",
        "backup_hour_utc": "4",
        "keep_scheduled_backups": "14",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    tenant.refresh_from_db()
    assert tenant.backup_schedule == "daily" and tenant.next_scheduled_backup_at.hour == 4
    assert tenant.keep_scheduled_backups == 14


# ---- scheduler passes ----------------------------------------------------------------------


def test_a_due_backup_starts_once_as_a_scheduled_system_backup(tenant):
    _daily(tenant, 2, NOON - timedelta(hours=10))

    first = scheduled_backups_start_due(now=NOON, enqueue=False)
    again = scheduled_backups_start_due(now=NOON + timedelta(minutes=1), enqueue=False)

    [backup_set] = first.started
    assert again.started == [] and again.waiting == []
    assert backup_set.kind == BackupKind.SCHEDULED
    assert backup_set.created_by is None
    assert backup_set.tenant == tenant
    tenant.refresh_from_db()
    assert tenant.next_scheduled_backup_at == datetime(2026, 11, 28, 2, tzinfo=UTC)
    event = AuditEvent.objects.get(action="backup.scheduled")
    assert event.actor_label == "system"
    assert event.details["next_at"] == "2026-11-28T02:00:00+00:00"


def test_days_missed_while_nothing_ran_give_one_backup(tenant):
    _daily(tenant, 2, NOON - timedelta(days=3))

    result = scheduled_backups_start_due(now=NOON, enqueue=False)

    assert len(result.started) == 1
    assert BackupSet.objects.filter(kind=BackupKind.SCHEDULED).count() == 1
    tenant.refresh_from_db()
    assert tenant.next_scheduled_backup_at == datetime(2026, 11, 28, 2, tzinfo=UTC)


def test_two_schedulers_seeing_the_same_due_tenant_start_one_backup(tenant):
    _daily(tenant, 2, NOON - timedelta(hours=1))
    seen_by_second = scheduled_backups_due(NOON)  # read before the first one claims it

    first = scheduled_backups_start_due(now=NOON, enqueue=False)
    second = scheduling._claim_and_start(seen_by_second[0], NOON, enqueue=False)

    assert len(first.started) == 1
    assert second is None
    assert BackupSet.objects.count() == 1


def test_a_running_backup_delays_the_scheduled_one_until_it_finishes(tenant):
    _daily(tenant, 2, NOON - timedelta(hours=1))
    running = BackupSet.objects.create(
        tenant=tenant,
        name="Manual",
        status=BackupStatus.RUNNING,
        progress={"updated_at": (NOON - timedelta(minutes=10)).isoformat()},
    )

    waiting = scheduled_backups_start_due(now=NOON, enqueue=False)
    assert waiting.started == [] and waiting.waiting == [tenant.display_name]
    tenant.refresh_from_db()
    assert tenant.next_scheduled_backup_at == NOON - timedelta(hours=1), "still due"

    BackupSet.objects.filter(pk=running.pk).update(status=BackupStatus.COMPLETED)
    started = scheduled_backups_start_due(now=NOON + timedelta(minutes=1), enqueue=False)
    assert len(started.started) == 1


def test_tenants_without_a_schedule_are_never_backed_up_by_the_scheduler(tenant, prod_tenant):
    Tenant.objects.filter(pk=tenant.pk).update(next_scheduled_backup_at=NOON - timedelta(days=1))
    _daily(prod_tenant, 2, NOON + timedelta(hours=14))  # not due yet

    result = scheduled_backups_start_due(now=NOON, enqueue=False)

    assert result.started == [] and result.waiting == []
    assert not BackupSet.objects.exists()


def test_the_scheduled_backup_is_captured_by_the_worker(
    tenant, emulated, demo_objects, django_capture_on_commit_callbacks
):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    _daily(tenant, 2, NOON - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        [backup_set] = scheduled_backups_start_due(now=NOON).started

    backup_set.refresh_from_db()
    assert backup_set.status == BackupStatus.COMPLETED
    assert backup_set.item_count >= 60


def test_the_cli_runs_one_pass(tenant, capsys):
    _daily(tenant, 2, datetime.now(UTC) - timedelta(minutes=5))

    assert main(["backup", "schedule", "--once"]) == 0
    assert "Scheduled backup started: Contoso Test" in capsys.readouterr().out

    assert main(["backup", "schedule", "--once"]) == 0
    assert "No scheduled backup is due." in capsys.readouterr().out
    assert BackupSet.objects.filter(kind=BackupKind.SCHEDULED).count() == 1


def test_the_tenant_page_says_when_the_next_backup_runs(client, personas, tenant):
    _daily(tenant, 2, datetime(2026, 11, 28, 2, tzinfo=UTC))
    client.force_login(personas["viewer"])
    page = client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk])).content.decode()
    assert "Scheduled backups: <strong>every day at 02:00 UTC, next 2026-11-28 02:00 UTC" in page


def test_bad_scheduler_arguments_are_explained(capsys):
    assert main(["backup", "schedule", "--interval", "0"]) == 2
    assert "--interval must be at least 1 second" in capsys.readouterr().err


def test_a_bad_backup_hour_on_the_command_line_is_explained(superuser, monkeypatch, capsys):
    monkeypatch.setenv("TENANTGUARD_CLI_USER", superuser.username)
    monkeypatch.setenv("LAB_TOKEN", "t")
    code = main(
        [
            "tenant", "add", "--name", "Lab", "--tenant-id", "lab", "--cloud", "custom",
            "--graph-url", "http://127.0.0.1:9", "--token-env", "LAB_TOKEN",
            "--daily-backup-hour", "24",
        ]
    )  # fmt: skip
    assert code == 2
    assert "backup_hour_utc" in capsys.readouterr().err
    assert not Tenant.objects.filter(display_name="Lab").exists()


# ---- retention -----------------------------------------------------------------------------


def _scheduled(tenant, name, days_ago, status="completed", kind="scheduled"):
    return BackupSet.objects.create(
        tenant=tenant,
        name=name,
        kind=kind,
        status=status,
        captured_at=NOON - timedelta(days=days_ago),
    )


def test_retention_keeps_the_newest_finished_scheduled_backups_and_nothing_else_goes(
    personas, tenant
):
    from tenantguard.backups.models import BackupItem
    from tenantguard.restores.services.runs import restore_run_create

    Tenant.objects.filter(pk=tenant.pk).update(keep_scheduled_backups=2)
    newest = _scheduled(tenant, "night 1", 1)
    second = _scheduled(tenant, "night 2", 2)
    partial = _scheduled(tenant, "night 3", 3, status="partial")
    oldest = _scheduled(tenant, "night 4", 4)
    BackupItem.objects.create(
        backup_set=oldest,
        policy_type="scope_tag",
        category="Foundations",
        source_id="x",
        display_name="x",
        payload={},
        content_hash="0" * 64,
    )
    used = _scheduled(tenant, "night 5, restored from", 5)
    restore_run_create(actor=personas["owner"], tenant=tenant, backup_set=used)
    failed = _scheduled(tenant, "night 6, failed", 6, status="failed")
    running = _scheduled(tenant, "tonight, running", 0, status="running")
    manual = _scheduled(tenant, "manual, old", 30, kind="manual")
    snapshot = _scheduled(tenant, "pre-restore, old", 30, kind="pre_restore")

    result = scheduled_backups_start_due(now=NOON, enqueue=False)

    assert result.pruned == ["night 4", "night 3"]  # oldest first
    remaining = set(BackupSet.objects.values_list("pk", flat=True))
    assert remaining == {
        newest.pk, second.pk, used.pk, failed.pk, running.pk, manual.pk, snapshot.pk
    }  # fmt: skip
    assert not BackupItem.objects.filter(backup_set_id=oldest.pk).exists()
    events = AuditEvent.objects.filter(action="backup.pruned").order_by("pk")
    assert [e.details["name"] for e in events] == [oldest.name, partial.name]
    assert all(e.actor_label == "system" and e.details["kept"] == 2 for e in events)


def test_without_retention_every_scheduled_backup_is_kept(tenant):
    for day in range(5):
        _scheduled(tenant, f"night {day}", day + 1)
    assert scheduled_backups_start_due(now=NOON, enqueue=False).pruned == []
    assert BackupSet.objects.count() == 5


def test_partial_nights_never_push_the_last_completed_backups_out(tenant):
    # The app lost a permission: the last two nights were partial (maybe empty).
    Tenant.objects.filter(pk=tenant.pk).update(keep_scheduled_backups=2)
    for day in (1, 2):
        _scheduled(tenant, f"partial night {day}", day, status="partial")
    for day in (3, 4, 5):
        _scheduled(tenant, f"good night {day}", day)

    result = scheduled_backups_start_due(now=NOON, enqueue=False)

    assert result.pruned == ["good night 5"]
    assert set(BackupSet.objects.values_list("name", flat=True)) == {
        "partial night 1", "partial night 2", "good night 3", "good night 4"
    }  # fmt: skip


def test_nothing_is_pruned_while_fewer_completed_backups_exist_than_kept(tenant):
    Tenant.objects.filter(pk=tenant.pk).update(keep_scheduled_backups=3)
    _scheduled(tenant, "good", 1)
    for day in (2, 3, 4):
        _scheduled(tenant, f"partial {day}", day, status="partial")
    assert scheduled_backups_start_due(now=NOON, enqueue=False).pruned == []
    assert BackupSet.objects.count() == 4


def test_a_backup_that_stopped_reporting_is_failed_and_no_longer_holds_the_schedule(tenant):
    _daily(tenant, 2, NOON - timedelta(hours=1))
    stuck = BackupSet.objects.create(
        tenant=tenant,
        name="killed mid-way",
        status=BackupStatus.RUNNING,
        progress={"updated_at": (NOON - timedelta(hours=3)).isoformat()},
    )

    result = scheduled_backups_start_due(now=NOON, enqueue=False)

    assert len(result.started) == 1 and result.waiting == []
    stuck.refresh_from_db()
    assert stuck.status == BackupStatus.FAILED and "stopped reporting" in stuck.error
    event = AuditEvent.objects.get(action="backup.failed", subject_id=str(stuck.pk))
    assert event.details["reason"] == "stale" and event.actor_label == "system"


def test_one_tenant_failing_does_not_stop_the_others(tenant, prod_tenant, monkeypatch):
    _daily(tenant, 2, NOON - timedelta(hours=1))
    _daily(prod_tenant, 2, NOON - timedelta(hours=1))
    original = scheduling._claim_and_start

    def broken_for_test_tenant(t, now, *, enqueue):
        if t.pk == tenant.pk:
            raise RuntimeError("database hiccup")
        return original(t, now, enqueue=enqueue)

    monkeypatch.setattr(scheduling, "_claim_and_start", broken_for_test_tenant)

    result = scheduled_backups_start_due(now=NOON, enqueue=False)

    assert [b.tenant_id for b in result.started] == [prod_tenant.pk]
    assert result.errors == ["Contoso Test: the scheduled backup could not start"]


def test_an_unexpected_error_during_capture_fails_the_set_instead_of_leaving_it_running(
    personas, tenant, monkeypatch
):
    from tenantguard.backups import services
    from tenantguard.intune import capture

    def explode(*args, **kwargs):
        raise RuntimeError("bug")
        yield  # pragma: no cover

    monkeypatch.setattr(capture, "iter_capture", explode)
    backup_set = services.backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)

    with pytest.raises(RuntimeError):
        services.backup_set_capture(backup_set=backup_set)

    backup_set.refresh_from_db()
    assert backup_set.status == BackupStatus.FAILED
    assert "unexpected error" in backup_set.error and "request id" in backup_set.error


def test_lowering_what_is_kept_asks_before_deleting_backups(client, personas, tenant):
    for day in range(1, 5):
        _scheduled(tenant, f"night {day}", day)
    client.force_login(personas["owner"])
    url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    data = {
        "display_name": tenant.display_name,
        "entra_tenant_id": tenant.entra_tenant_id,
        "environment": tenant.environment,
        "cloud": tenant.cloud,
        "auth_method": tenant.auth_method,
        "backup_schedule": "daily",
        "backup_hour_utc": "2",
        "keep_scheduled_backups": "2",
    }

    refused = client.post(url, data)

    assert refused.status_code == 200
    assert "Keeping 2 deletes 2 older scheduled backups" in refused.content.decode()
    tenant.refresh_from_db()
    assert tenant.keep_scheduled_backups == 0

    confirmed = client.post(url, {**data, "confirm_prune": "on"})

    assert confirmed.status_code == 302, confirmed.content[:2000]
    tenant.refresh_from_db()
    assert tenant.keep_scheduled_backups == 2
    assert BackupSet.objects.count() == 4, "nothing is deleted before the scheduler's pass"
    assert scheduled_backups_start_due(now=NOON, enqueue=False).pruned == ["night 4", "night 3"]
