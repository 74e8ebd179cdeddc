"""The tenant pages: list, edit (secrets write-only), Back up now, Test connection; per persona."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupSet
from tenantguard.emulator.seed import collection_of


@pytest.fixture
def seeded(emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return emulated


def test_viewer_sees_tenant_list_with_environment(client, personas, tenant, prod_tenant):
    client.force_login(personas["viewer"])
    response = client.get(reverse("admin:tenants_tenant_changelist"))
    assert response.status_code == 200
    assert b"Contoso Test" in response.content and b"PROD" in response.content


def test_outsider_sees_no_tenant(client, personas, tenant):
    client.force_login(personas["outsider"])
    response = client.get(reverse("admin:tenants_tenant_changelist"))
    assert b"Contoso Test" not in response.content
    assert client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk])).status_code in (
        302,
        403,
        404,
    )


def test_back_up_now_starts_a_backup_and_shows_its_page(
    client, personas, tenant, seeded, django_capture_on_commit_callbacks
):
    client.force_login(personas["operator"])
    page = client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert b"Back up now" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:tenants_tenant_backup", args=[tenant.pk]))
    backup_set = BackupSet.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:backups_backupset_change", args=[backup_set.pk])
    backup_set.refresh_from_db()
    assert backup_set.status == "completed"
    detail = client.get(response["Location"])
    assert b"Backup completed" in detail.content
    assert b"settings_catalog" in detail.content


def test_viewer_cannot_back_up_even_with_a_forged_post(client, personas, tenant):
    client.force_login(personas["viewer"])
    page = client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert b"Back up now" not in page.content
    client.post(reverse("admin:tenants_tenant_backup", args=[tenant.pk]))
    assert not BackupSet.objects.exists()


def test_back_up_now_refuses_get(client, personas, tenant):
    client.force_login(personas["operator"])
    assert client.get(reverse("admin:tenants_tenant_backup", args=[tenant.pk])).status_code == 405


def test_test_connection_reports_missing_permission(client, personas, tenant, seeded):
    seeded.denied_permissions = {"DeviceManagementRBAC.Read.All"}
    client.force_login(personas["viewer"])
    response = client.post(
        reverse("admin:tenants_tenant_test_connection", args=[tenant.pk]), follow=True
    )
    assert b"DeviceManagementRBAC.Read.All" in response.content
    tenant.refresh_from_db()
    assert tenant.connection_status == "limited"
    assert tenant.connection_details["missing_permissions"] == ["DeviceManagementRBAC.Read.All"]
    assert AuditEvent.objects.filter(action="tenant.connection_tested").exists()


def test_test_connection_all_permissions_ok(client, personas, tenant, seeded):
    client.force_login(personas["viewer"])
    response = client.post(
        reverse("admin:tenants_tenant_test_connection", args=[tenant.pk]), follow=True
    )
    assert b"every required permission works" in response.content
    tenant.refresh_from_db()
    assert tenant.connection_status == "ok"


def test_admin_edits_tenant_and_blank_secret_keeps_stored_value(client, personas, tenant):
    client.force_login(personas["owner"])
    url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    page = client.get(url)
    assert tenant.static_token.encode() not in page.content, "secrets are never rendered"
    data = {
        "display_name": "Contoso Test",
        "entra_tenant_id": tenant.entra_tenant_id,
        "environment": "prod",
        "cloud": "emulator",
        "graph_url": "",
        "login_url": "",
        "auth_method": "static_token",
        "client_id": "",
        "client_secret": "",
        "certificate_private_key": "",
        "certificate_thumbprint": "",
        "static_token": "",
        "backup_schedule": "off",
        "backup_hour_utc": "2",
        "keep_scheduled_backups": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    old_token = tenant.static_token
    tenant.refresh_from_db()
    assert tenant.environment == "prod" and tenant.static_token == old_token
    assert AuditEvent.objects.get(action="tenant.updated").details["fields"] == {
        "environment": "prod"
    }


def test_operator_cannot_edit_tenant(client, personas, tenant):
    client.force_login(personas["operator"])
    url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    response = client.post(
        url,
        {
            "display_name": "Renamed",
            "entra_tenant_id": "x",
            "environment": "prod",
            "cloud": "global",
            "auth_method": "static_token",
            "static_token": "t",
        },
    )
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.display_name == "Contoso Test"


def test_viewer_page_never_shows_secrets(client, personas, tenant):
    client.force_login(personas["viewer"])
    body = client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk])).content.decode()
    assert "Contoso Test" in body
    assert tenant.static_token not in body
