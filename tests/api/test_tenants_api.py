"""Tenants through the API: who sees which, connection test, starting a backup."""

from __future__ import annotations

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupSet


def test_tenants_listed_per_persona_with_role_and_no_credentials(personas, api_as):
    owner = api_as(personas["owner"]).get("/tenants").json()
    assert [(t["display_name"], t["environment"], t["role"]) for t in owner] == [
        ("Contoso", "prod", "admin"),
        ("Contoso Test", "test", "admin"),
    ]
    assert {t["role"] for t in api_as(personas["viewer"]).get("/tenants").json()} == {"viewer"}
    assert api_as(personas["outsider"]).get("/tenants").json() == []
    assert not {"static_token", "client_secret", "certificate_private_key"} & set(owner[0])


def test_connection_test_for_members_404_for_outsiders(personas, tenant, api_as):
    response = api_as(personas["viewer"]).post(f"/tenants/{tenant.pk}/test-connection")
    assert response.status_code == 200
    body = response.json()
    assert body["connection_status"] == "ok" and body["checks"] and body["error"] == ""
    assert AuditEvent.objects.filter(action="tenant.connection_tested").count() == 1
    outsider = api_as(personas["outsider"]).post(f"/tenants/{tenant.pk}/test-connection")
    assert outsider.status_code == 404


def test_operator_starts_a_backup_viewer_is_refused(
    personas, tenant, emulated, demo_objects, api_as, django_capture_on_commit_callbacks
):
    from tenantguard.emulator.seed import collection_of

    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(personas["operator"]).post(f"/tenants/{tenant.pk}/backups")
    assert response.status_code == 202
    started = response.json()
    assert started["status"] == "running" and started["created_by"] == "operator"
    backup_set = BackupSet.objects.get(pk=started["id"])
    policies = [o for o in demo_objects if "#groups/" not in o["@odata.context"]]
    # Every seeded policy, plus what the tenant has built in (e.g. the Default scope tag).
    assert backup_set.status == "completed" and backup_set.item_count >= len(policies)

    refused = api_as(personas["viewer"]).post(f"/tenants/{tenant.pk}/backups")
    assert refused.status_code == 403
    assert "Operator or higher" in refused.json()["reasons"][0]
    assert api_as(personas["outsider"]).post(f"/tenants/{tenant.pk}/backups").status_code == 404
    assert BackupSet.objects.count() == 1
