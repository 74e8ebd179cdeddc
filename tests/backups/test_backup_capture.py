"""Backups against the in-process emulator: status, warnings, progress, audit, secrets."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupSet
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import registry


@pytest.fixture
def seeded(emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return emulated


def _backup(actor, tenant):
    backup_set = backup_set_start(actor=actor, tenant=tenant, enqueue=False)
    return backup_set_capture(backup_set=backup_set)


def test_backup_captures_every_supported_type_and_completes(personas, tenant, seeded):
    backup_set = _backup(personas["operator"], tenant)
    assert backup_set.status == "completed", backup_set.warnings
    captured_types = set(backup_set.items.values_list("policy_type", flat=True))
    assert set(registry.POLICY_TYPES) - captured_types == set()
    assert backup_set.item_count == backup_set.items.count() >= 60
    assert backup_set.group_names, "group names of assignments are resolved"
    assert all(len(h) == 64 for h in backup_set.items.values_list("content_hash", flat=True))
    actions = list(
        AuditEvent.objects.filter(subject_id=str(backup_set.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["backup.completed", "backup.started"]


def test_one_type_answering_403_gives_partial_naming_type_and_permission(personas, tenant, seeded):
    seeded.denied_permissions = {"DeviceManagementApps.Read.All"}
    backup_set = _backup(personas["operator"], tenant)
    assert backup_set.status == "partial"
    app_warnings = [
        w for w in backup_set.warnings if w["permission"] == "DeviceManagementApps.Read.All"
    ]
    assert app_warnings, backup_set.warnings
    assert any("protection" in w["message"].lower() for w in app_warnings)
    # the other types were still captured
    assert backup_set.items.filter(policy_type="settings_catalog").exists()
    assert not backup_set.items.filter(category__icontains="app protection").exists()


def test_viewer_cannot_start_a_backup(personas, tenant):
    from tenantguard.accounts.permissions import AccessDenied

    with pytest.raises(AccessDenied):
        backup_set_start(actor=personas["viewer"], tenant=tenant, enqueue=False)
    assert not BackupSet.objects.exists()


def test_start_enqueues_the_capture_task_on_commit(
    personas, tenant, seeded, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        backup_set = backup_set_start(actor=personas["operator"], tenant=tenant)
    backup_set.refresh_from_db()
    assert backup_set.status == "completed"  # the immediate task backend ran it


def test_unreachable_tenant_fails_with_a_clear_error(personas, tenant):
    tenant.cloud = "custom"
    tenant.graph_url = ""
    tenant.save()
    backup_set = _backup(personas["operator"], tenant)
    assert backup_set.status == "failed"
    assert "Graph URL" in backup_set.error


def test_secrets_are_encrypted_and_never_logged_or_audited(
    personas, tenant, seeded, demo_objects, caplog
):
    """A tenant secret and an OMA-URI secret value: not in the database in plaintext, in no log
    line, in no audit event."""
    caplog.set_level(logging.DEBUG)
    oma_secrets = [
        setting["value"]
        for obj in demo_objects
        for setting in obj.get("omaSettings") or []
        if setting.get("isEncrypted") and setting.get("value")
    ]
    assert oma_secrets, "the demo tenant holds at least one OMA-URI secret"
    backup_set = _backup(personas["operator"], tenant)

    captured = [secret for item in backup_set.items.all() for secret in item.secrets.values()]
    assert set(oma_secrets) <= set(captured), "captured OMA-URI secret values are kept (encrypted)"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT stored.payload, item.secrets FROM backups_backupitem item"
            " JOIN backups_backuppayload stored ON stored.id = item.stored_payload_id"
        )
        raw_items = " ".join(str(col) for row in cursor.fetchall() for col in row)
        cursor.execute("SELECT static_token FROM tenants_tenant")
        raw_tenants = " ".join(row[0] for row in cursor.fetchall())
    audit_text = " ".join(str(e.details) for e in AuditEvent.objects.all())
    for secret in [*oma_secrets, tenant.static_token]:
        assert secret not in raw_items
        assert secret not in raw_tenants
        assert secret not in caplog.text
        assert secret not in audit_text


def test_missing_group_permission_is_not_reported_as_deleted_groups(personas, tenant, seeded):
    seeded.denied_permissions = {"Group.Read.All"}
    backup_set = _backup(personas["operator"], tenant)
    assert backup_set.status == "partial"
    group_warnings = [w for w in backup_set.warnings if w["type_key"] == "groups"]
    assert len(group_warnings) == 1
    assert group_warnings[0]["permission"] == "Group.Read.All"
    assert "no longer exist" not in group_warnings[0]["message"]


def test_a_modified_time_without_offset_is_read_as_utc():
    # Django 5 removed django.utils.timezone.utc: this path used to raise AttributeError.
    from datetime import UTC, datetime

    from tenantguard.backups.services import _parse_modified

    assert _parse_modified("2026-03-01T10:20:30") == datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)
    assert _parse_modified("2026-03-01T10:20:30Z") == datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)
    assert _parse_modified("") is None
