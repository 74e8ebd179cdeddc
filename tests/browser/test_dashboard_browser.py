"""The home page in Chromium, on the demo `make run` seeds: signing in lands on the dashboard
(not Django's "Site administration"), each demo tenant with its environment and last backup,
what changed since the previous backup, and a failed restore listed under attention."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$")


@pytest.fixture
def demo(transactional_db):
    """The demo as `make run` seeds it, a second backup of Contoso Test after the demo's drift,
    and a restore into Contoso that failed an hour ago."""
    from django.contrib.auth import get_user_model

    from tenantguard.backups.services import backup_set_capture, backup_set_start
    from tenantguard.demo import demo_setup
    from tenantguard.restores.models import RestoreRun
    from tenantguard.tenants.models import Tenant

    report = demo_setup()
    admin = get_user_model().objects.get(username="admin")
    contoso_test = Tenant.objects.get(display_name="Contoso Test")
    contoso = Tenant.objects.get(display_name="Contoso")
    second = backup_set_capture(
        backup_set=backup_set_start(actor=admin, tenant=contoso_test, enqueue=False)
    )
    finished = timezone.now() - timedelta(hours=1)
    failed = RestoreRun.objects.create(
        tenant=contoso,
        backup_set=contoso.backup_sets.first(),
        status="failed",
        environment=contoso.environment,
        tenant_label=contoso.display_name,
        dry_run=False,
        started_at=finished,
        finished_at=finished,
        results={"failed": 2, "items": 2, "verified": 0, "unverified": 0},
    )
    return {"report": report, "second": second, "failed": failed}


def test_signing_in_lands_on_the_dashboard_of_the_demo_tenants(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(demo["report"].password)
        page.get_by_role("button", name=re.compile("^Log in")).click()

        expect(page.locator("#dashboard").get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(page).to_have_title(re.compile(r"^\s*Dashboard \| TenantGuard"))
        expect(page.locator("body")).not_to_contain_text("Site administration")

        test_row = page.locator("#tenant-overview tbody tr", has_text="Contoso Test")
        prod_row = page.locator('#tenant-overview tbody tr[data-tenant="Contoso"]')
        expect(test_row.locator(".tg-env")).to_have_text("TEST")
        expect(prod_row.locator(".tg-env")).to_have_text("PROD")

        # Last backup: status, a relative age with the UTC time on hover, items and warnings.
        second = demo["second"]
        last = test_row.locator(".tg-dashboard-backup")
        expect(last.locator("[data-status]")).to_have_text(second.get_status_display())
        expect(last).to_contain_text("just now")
        expect(last).to_contain_text(f"{second.item_count} items")
        expect(last.locator("time")).to_have_attribute("title", UTC_TIME)
        expect(prod_row.locator(".tg-dashboard-backup")).to_contain_text(re.compile(r"\d+ items"))

        # The demo backs up every night at 02:00 UTC.
        expect(test_row.locator(".tg-dashboard-next")).to_contain_text("Every day at 02:00 UTC")
        expect(test_row.locator(".tg-dashboard-next")).to_contain_text(re.compile(r"^\s*in "))

        # The demo drifted Contoso Test after its baseline: the second backup shows the changes.
        changes = test_row.locator(".tg-dashboard-changes")
        expect(changes).to_contain_text(re.compile(r"\d+ added · \d+ changed · \d+ removed"))
        expect(changes).to_contain_text("between the backups of")
        expect(prod_row.locator(".tg-dashboard-changes")).to_contain_text(
            "One completed backup so far"
        )

        # The failed restore is listed under attention and opens its run page.
        failed = demo["failed"]
        attention = page.locator("#restore-attention")
        entry = attention.locator(f'li[data-run="{failed.pk}"]')
        expect(entry).to_contain_text("Failed")
        expect(entry).to_contain_text("2 items failed")
        expect(entry).to_contain_text("1 hour ago")
        expect(prod_row.locator(".tg-dashboard-restores")).to_contain_text("1 needs attention")
        entry.get_by_role("link", name=f"Restore #{failed.pk} to Contoso").click()
        expect(page).to_have_url(re.compile(rf"/restore-runs/{failed.pk}/$"))
    finally:
        context.close()


def test_the_sidebar_keeps_system_pages_for_superusers_collapsed_at_the_end(demo, open_as, url):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    operator = open_as(users.get(username="operator"))
    operator.goto(url("admin:index"))
    sidebar = operator.locator("#nav-sidebar-apps")
    expect(sidebar.get_by_role("link", name="Tenants")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Restore runs")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Task results")).to_have_count(0)
    expect(sidebar.get_by_role("link", name="Memberships")).to_have_count(0)
    expect(sidebar.get_by_role("heading", name="System")).to_be_hidden()  # a group left empty
    # An operator may restore: "New restore" on each row; the empty index of Django apps is gone.
    expect(operator.get_by_role("link", name="New restore")).to_have_count(2)

    admin = open_as(users.get(username="admin"))
    admin.goto(url("admin:index"))
    sidebar = admin.locator("#nav-sidebar-apps")
    task_results = sidebar.get_by_role("link", name="Task results")
    expect(task_results).to_be_hidden()
    sidebar.get_by_role("heading", name="System").click()
    expect(task_results).to_be_visible()
    expect(sidebar.get_by_role("link", name="Memberships")).to_be_visible()


def test_a_viewer_sees_the_tenants_but_no_restore_or_backup_button(demo, open_as, url):
    from django.contrib.auth import get_user_model

    page = open_as(get_user_model().objects.get(username="viewer"))
    page.goto(url("admin:index"))
    expect(page.locator("#tenant-overview tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name="New restore")).to_have_count(0)
    expect(page.get_by_role("button", name="Back up now")).to_have_count(0)
    expect(page.locator("#restore-attention")).to_contain_text("2 items failed")
