"""Step 3's mapping editor in a real browser, for a foundation with no same-name object in the
target: its list of the target's objects loads by itself, the search narrows it, and mapping it
clears the blocking check once the checks run again."""

from __future__ import annotations

import copy
import re

import pytest
from playwright.sync_api import expect

from tenantguard.emulator.demo import SCOPE_TAGS
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.tenants.graph_access import emulated_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_renamed_scope_tag_is_found_by_search_and_mapped(
    personas, tenant, baseline, open_as, url
):
    emulated = emulated_tenant(tenant)
    (finance,) = [t for t in emulated.list_objects(SCOPE_TAGS) if t["displayName"] == "Finance"]
    emulated.delete_object(SCOPE_TAGS, finance["id"])
    renamed = copy.deepcopy(finance)
    renamed.pop("id")
    renamed["displayName"] = "Finance IT"
    renamed_id = str(emulated.put_object(SCOPE_TAGS, renamed)["id"])
    operator = personas["operator"]
    run = restore_run_create(actor=operator, tenant=tenant, backup_set=baseline)
    policies = baseline.items.exclude(policy_type="scope_tag").values_list("pk", flat=True)
    run = restore_run_set_scope(actor=operator, run=run, mode="selected", item_ids=list(policies))
    run = restore_run_run_checks(actor=operator, run=run)
    assert run.check_results.filter(code="scope_tag_missing").exists()
    page = open_as(operator)

    page.goto(url("restores:checks", run.pk))

    row = page.locator('table[data-kind="scope_tag"] tbody tr', has_text="Finance")
    target = row.get_by_label("Map Finance to")
    # The target's scope tags are listed without typing anything.
    expect(target.locator("option", has_text="Finance IT")).to_have_count(1)
    expect(target.locator("option", has_text="EMEA")).to_have_count(1)
    row.get_by_label("Search target scope tags for Finance").fill("fin")
    expect(target.locator("option", has_text="EMEA")).to_have_count(0)
    target.select_option(label="Finance IT")
    row.get_by_role("button", name="Map", exact=True).click()

    expect(page.locator("#mapping")).to_contain_text(re.compile(f"mapped to .*{renamed_id}"))
    page.get_by_role("button", name="Run the checks again").click()
    expect(page.locator("#checks-summary")).to_be_visible()
    expect(page.locator('[data-code="scope_tag_missing"]')).to_have_count(0)
    expect(page.locator('table[data-kind="scope_tag"]')).to_contain_text("Finance IT")
    run.refresh_from_db()
    assert run.group_mapping == {"scope_tag": {finance["id"]: renamed_id}}
