"""/api/restore-runs: a run whose source is a tenant the user cannot view answers 404 on every
endpoint, as for a tenant without a role (issue 7, B6)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tenantguard.accounts.models import Membership
from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.restores.services import runs

pytestmark = pytest.mark.django_db

SOURCE_ITEM = "Finance VPN"


@pytest.fixture
def cross_run(personas, tenant, prod_tenant):
    """A backup of the TEST tenant previewed for a restore into PROD by the owner."""
    owner = personas["owner"]
    backup_set = BackupSet.objects.create(
        tenant=tenant, name="Test nightly", status="completed", captured_at=timezone.now()
    )
    BackupItem.objects.create(
        backup_set=backup_set,
        policy_type="device_configuration",
        category="Device configuration",
        source_id="vpn-1",
        display_name=SOURCE_ITEM,
        payload={"displayName": SOURCE_ITEM},
        content_hash="a" * 64,
    )
    run = runs.restore_run_create(actor=owner, tenant=prod_tenant, backup_set=backup_set)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="all")
    item = {"type": "device_configuration", "source_id": "vpn-1", "name": SOURCE_ITEM}
    run = runs.restore_run_record_checks(
        actor=owner,
        run=run,
        results=[
            {
                "code": "target_missing",
                "severity": "warning",
                "item": item,
                "message": f"{SOURCE_ITEM} will be created.",
            }
        ],
        summary={},
    )
    return runs.restore_run_record_preview(
        actor=owner,
        run=run,
        summary={"create": 1},
        items=[
            {
                "policy_type": "device_configuration",
                "source_id": "vpn-1",
                "display_name": SOURCE_ITEM,
                "action": "create",
                "diff": {
                    "changes": [{"path": "displayName", "before": None, "after": SOURCE_ITEM}]
                },
            }
        ],
    )


@pytest.fixture
def target_only(make_user, prod_tenant):
    user = make_user("target-admin")
    Membership.objects.create(user=user, tenant=prod_tenant, role="admin")
    return user


@pytest.fixture
def with_source_viewer(make_user, tenant, prod_tenant):
    user = make_user("source-viewer")
    Membership.objects.create(user=user, tenant=prod_tenant, role="admin")
    Membership.objects.create(user=user, tenant=tenant, role="viewer")
    return user


ENDPOINTS = [
    ("get", "", None),
    ("get", "/checks", None),
    ("get", "/preview", None),
    ("get", "/outcomes", None),
    ("get", "/audit", None),
    ("get", "/mapping-needs", None),
    ("get", "/mapping-targets?kind=group", None),
    ("put", "/source", {"backup_set_id": 1}),
    ("put", "/scope", {"mode": "all"}),
    ("put", "/mapping", {}),
    ("put", "/options", {}),
    ("put", "/dry-run", {"dry_run": True}),
    ("post", "/checks", None),
    ("post", "/preview", None),
    ("post", "/execute", {"acknowledged": True, "typed_label": "Contoso"}),
    ("post", "/finish-dry-run", None),
    ("post", "/cancel", None),
    ("post", "/resume", None),
    ("post", "/undo", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
def test_every_run_endpoint_answers_404_without_a_role_on_the_source(
    api_as, cross_run, target_only, method, suffix, body
):
    api = api_as(target_only)
    path = f"/restore-runs/{cross_run.pk}{suffix}"
    if method == "get":
        response = api.client.get("/api" + path)
    else:
        response = getattr(api, method)(path, body)

    assert response.status_code == 404, response.content
    assert SOURCE_ITEM not in response.content.decode()
    before = cross_run.updated_at
    cross_run.refresh_from_db()
    assert cross_run.updated_at == before


def test_the_run_list_leaves_it_out(api_as, cross_run, target_only, with_source_viewer):
    assert api_as(target_only).get("/restore-runs").json()["count"] == 0
    [listed] = api_as(with_source_viewer).get("/restore-runs").json()["items"]
    assert listed["id"] == cross_run.pk


def test_a_viewer_of_the_source_reads_the_checks_and_preview(api_as, cross_run, with_source_viewer):
    api = api_as(with_source_viewer)

    checks = api.get(f"/restore-runs/{cross_run.pk}/checks")
    preview = api.get(f"/restore-runs/{cross_run.pk}/preview")

    assert checks.status_code == 200 and preview.status_code == 200
    assert checks.json()["items"][0]["item_name"] == SOURCE_ITEM
    assert preview.json()["items"][0]["display_name"] == SOURCE_ITEM
