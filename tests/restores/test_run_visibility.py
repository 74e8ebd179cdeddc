"""A run is visible only with a role on its target AND, when its source is another tenant, at
least Viewer there (issue 7, B6). Anything else answers 404, like an object of a tenant without a
role: the wizard pages, the run page, the checks CSV, the admin list and the API.

The run restores a backup of the TEST tenant ("Contoso Test", ``tenant``) into PROD ("Contoso",
``prod_tenant``); its checks and preview show the source's items.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tenantguard.accounts.models import Membership
from tenantguard.restores.selectors import can_view, restore_runs_visible_to

pytestmark = pytest.mark.django_db

SOURCE_ONLY_NAME = "Windows baseline"  # an item of the TEST backup, shown in checks and preview


@pytest.fixture
def cross_run(personas, tenant, prod_tenant, backup_set, wizard):
    """Prepared by the owner (admin on both) up to the confirmation, with a blocking result
    naming a source item."""
    check = wizard.check("ambiguous_match", "blocking", name=SOURCE_ONLY_NAME)
    return wizard.prepare(personas["owner"], prod_tenant, backup_set, checks=[check])


@pytest.fixture
def target_only(make_user, prod_tenant):
    """Admin of the PROD target, no role on the TEST source."""
    user = make_user("target-admin")
    Membership.objects.create(user=user, tenant=prod_tenant, role="admin")
    return user


@pytest.fixture
def target_and_source_viewer(make_user, tenant, prod_tenant):
    user = make_user("both-viewer")
    Membership.objects.create(user=user, tenant=prod_tenant, role="operator")
    Membership.objects.create(user=user, tenant=tenant, role="viewer")
    return user


def _client(user):
    client = Client()
    client.force_login(user)
    return client


PAGES = ["run", "live", "source", "scope", "checks", "checks_csv", "preview", "confirm", "analysis"]
POSTS = [
    "cancel",
    "resume",
    "undo",
    "checks_run",
    "mapping",
    "options",
    "preview_run",
    "confirm_check",
    "dry_run",
    "execute",
    "finish_dry_run",
]


def test_the_selector_needs_a_role_on_target_and_source(
    cross_run, target_only, target_and_source_viewer, personas
):
    assert cross_run not in restore_runs_visible_to(target_only)
    assert not can_view(target_only, cross_run)
    assert cross_run in restore_runs_visible_to(target_and_source_viewer)
    assert cross_run in restore_runs_visible_to(personas["viewer"])
    assert cross_run not in restore_runs_visible_to(personas["outsider"])


@pytest.mark.parametrize("name", PAGES)
def test_wizard_and_run_pages_answer_404_without_a_role_on_the_source(cross_run, target_only, name):
    response = _client(target_only).get(reverse(f"restores:{name}", args=[cross_run.pk]))

    assert response.status_code == 404
    assert SOURCE_ONLY_NAME not in response.content.decode()


@pytest.mark.parametrize("name", POSTS)
def test_wizard_actions_answer_404_without_a_role_on_the_source(cross_run, target_only, name):
    before = cross_run.updated_at

    response = _client(target_only).post(reverse(f"restores:{name}", args=[cross_run.pk]))

    assert response.status_code == 404
    cross_run.refresh_from_db()
    assert cross_run.updated_at == before


def test_the_checks_csv_is_served_with_viewer_on_the_source(cross_run, target_and_source_viewer):
    response = _client(target_and_source_viewer).get(
        reverse("restores:checks_csv", args=[cross_run.pk])
    )

    assert response.status_code == 200
    assert SOURCE_ONLY_NAME in b"".join(response.streaming_content).decode()


def test_the_admin_run_list_leaves_the_run_out(cross_run, target_only, target_and_source_viewer):
    url = reverse("admin:restores_restorerun_changelist")
    link = reverse("restores:run", args=[cross_run.pk])

    assert link not in _client(target_only).get(url).content.decode()
    assert link in _client(target_and_source_viewer).get(url).content.decode()


def test_the_admin_audit_trail_leaves_the_runs_events_out(
    cross_run, target_only, target_and_source_viewer
):
    url = reverse("admin:audit_auditevent_changelist")

    assert "restore.created" not in _client(target_only).get(url).content.decode()
    assert "restore.created" in _client(target_and_source_viewer).get(url).content.decode()
