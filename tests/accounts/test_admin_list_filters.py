"""Admin list filters offer only tenants and backup sets the user has a role on (issue 7, B8).

A tenant nobody here has a role on ("Fabrikam Lab") has a backup, a restore run, audit events
and a membership; its name must not reach the filter sidebar of any changelist.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenantguard.accounts.models import Membership
from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.restores.services import runs
from tenantguard.tenants.models import Tenant

pytestmark = pytest.mark.django_db

HIDDEN = "Fabrikam Lab"
HIDDEN_SET = "Fabrikam nightly"

CHANGELISTS = [
    "admin:backups_backupset_changelist",
    "admin:backups_backupitem_changelist",
    "admin:restores_restorerun_changelist",
    "admin:audit_auditevent_changelist",
    "admin:tenants_tenant_changelist",
    "admin:accounts_membership_changelist",
]


def _backup(tenant, name):
    backup_set = BackupSet.objects.create(
        tenant=tenant, name=name, status="completed", captured_at=timezone.now()
    )
    BackupItem.objects.create(
        backup_set=backup_set,
        policy_type="device_configuration",
        source_id=f"{name}-1",
        display_name=f"{name} baseline",
        payload={},
        content_hash="a" * 64,
    )
    return backup_set


@pytest.fixture
def hidden_tenant(superuser, make_user, personas, tenant):
    other = Tenant.objects.create(
        display_name=HIDDEN,
        entra_tenant_id="fabrikam.example",
        cloud="emulator",
        auth_method="static_token",
        static_token="token-fabrikam",
    )
    Membership.objects.create(user=make_user("fabrikam-admin"), tenant=other, role="admin")
    runs.restore_run_create(actor=superuser, tenant=other, backup_set=_backup(other, HIDDEN_SET))
    # What the personas may see, so every filter has something to offer.
    runs.restore_run_create(
        actor=personas["owner"], tenant=tenant, backup_set=_backup(tenant, "Contoso nightly")
    )
    return other


def _page(user, name):
    client = Client()
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200, name
    return response.content.decode()


@pytest.mark.parametrize("persona", ["owner", "operator", "viewer"])
@pytest.mark.parametrize("name", CHANGELISTS)
def test_no_filter_offers_a_tenant_without_a_role(hidden_tenant, personas, persona, name):
    page = _page(personas[persona], name)

    assert HIDDEN not in page
    assert HIDDEN_SET not in page


@pytest.mark.parametrize(
    ("name", "offered"),
    [
        ("admin:backups_backupset_changelist", "Contoso Test"),
        ("admin:backups_backupitem_changelist", "Contoso nightly (Contoso Test)"),
        ("admin:restores_restorerun_changelist", "Contoso Test"),
        ("admin:audit_auditevent_changelist", "Contoso Test"),
    ],
)
def test_filters_offer_what_the_user_sees_and_a_superuser_sees_all(
    hidden_tenant, personas, superuser, name, offered
):
    assert offered in _page(personas["viewer"], name)
    assert HIDDEN in _page(superuser, name) or HIDDEN_SET in _page(superuser, name)
