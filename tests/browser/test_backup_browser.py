"""The backup pages in a real browser: "Back up now" on the tenant page, the finished backup set
with its contents by type, and one item with its assignments (group names) and scope tags."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tenantguard.emulator.seed import collection_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_back_up_now_then_browse_the_backup(personas, tenant, emulated, demo_objects, open_as, url):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    page = open_as(personas["operator"])
    page.goto(url("admin:tenants_tenant_change", tenant.pk))
    expect(page.locator("#backup-schedule")).to_contain_text("Scheduled backups: off")

    page.get_by_role("button", name="Back up now").click()

    # The worker (inline in tests) has finished by the time the backup set page shows.
    expect(page.locator("#backup-progress")).to_contain_text(re.compile(r"Backup completed: \d+"))
    contents = page.locator("table", has_text="Category")
    expect(contents).to_contain_text("Settings catalog")
    contents.get_by_role("link", name="Compliance policies").first.click()

    expect(page.locator("#result_list")).to_be_visible()
    page.locator("#result_list tbody tr th a, #result_list tbody tr td a").first.click()
    expect(page.get_by_text("Assignments", exact=True).first).to_be_visible()
    expect(page.get_by_text("Scope tags", exact=True).first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Traceback")


def test_a_viewer_sees_the_tenant_but_no_backup_button(personas, tenant, open_as, url):
    page = open_as(personas["viewer"])
    page.goto(url("admin:tenants_tenant_change", tenant.pk))
    expect(page.get_by_role("button", name="Test connection")).to_be_visible()
    expect(page.get_by_role("button", name="Back up now")).to_have_count(0)
