"""`tenantguard restore show/list`: a run whose source is a tenant the user cannot view is not
found, as for a tenant without a role (issue 7, B6)."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from tenantguard.accounts.models import Membership
from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.cli import main
from tenantguard.restores.services import runs

pytestmark = pytest.mark.django_db

SOURCE_ITEM = "Finance VPN"


@pytest.fixture
def cross_run(personas, tenant, prod_tenant):
    """A backup of the TEST tenant checked for a restore into PROD by the owner."""
    owner = personas["owner"]
    backup_set = BackupSet.objects.create(
        tenant=tenant, name="Test nightly", status="completed", captured_at=timezone.now()
    )
    BackupItem.objects.create(
        backup_set=backup_set,
        policy_type="device_configuration",
        source_id="vpn-1",
        display_name=SOURCE_ITEM,
        payload={"displayName": SOURCE_ITEM},
        content_hash="a" * 64,
    )
    run = runs.restore_run_create(actor=owner, tenant=prod_tenant, backup_set=backup_set)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="all")
    item = {"type": "device_configuration", "source_id": "vpn-1", "name": SOURCE_ITEM}
    return runs.restore_run_record_checks(
        actor=owner,
        run=run,
        results=[
            {"code": "ambiguous_match", "severity": "blocking", "item": item, "message": "Two."}
        ],
        summary={"blocking": 1},
    )


@pytest.fixture
def as_user(make_user, monkeypatch):
    """A new user the CLI acts as."""

    def login(name):
        monkeypatch.setenv("TENANTGUARD_CLI_USER", name)
        return make_user(name)

    return login


def test_show_and_list_leave_it_out_without_a_role_on_the_source(
    cross_run, prod_tenant, as_user, capsys
):
    user = as_user("target-admin")
    Membership.objects.create(user=user, tenant=prod_tenant, role="admin")

    assert main(["restore", "show", str(cross_run.pk), "--json"]) == 1
    captured = capsys.readouterr()
    assert f"No restore run #{cross_run.pk} that you can see" in captured.err
    assert SOURCE_ITEM not in captured.out + captured.err

    assert main(["restore", "list"]) == 0
    assert "owner" not in capsys.readouterr().out  # the only run was started by the owner


def test_a_viewer_of_the_source_sees_it(cross_run, tenant, prod_tenant, as_user, capsys):
    user = as_user("source-viewer")
    Membership.objects.create(user=user, tenant=prod_tenant, role="operator")
    Membership.objects.create(user=user, tenant=tenant, role="viewer")

    assert main(["restore", "show", str(cross_run.pk), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == cross_run.pk
    assert main(["restore", "list"]) == 0
    assert "owner" in capsys.readouterr().out
