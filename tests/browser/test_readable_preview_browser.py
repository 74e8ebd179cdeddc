"""The preview in the admin center's words, in a real browser (Debian's Chromium, Playwright).

The demo tenant is backed up, then drifted (the demo drift plus an administrative template
edit); the preview of a restore shows each change by its setting's display name, choices by
their option's display name with the setting's description on hover, administrative template
values by their definition and category, compliance properties by their admin-center label,
and the Graph ids only when asked for.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tenantguard.restores.presentation import SEPARATOR
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.tenants.graph_access import emulated_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EDGE_SSL = (
    "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge_sslerroroverrideallowed"
)
ADMX = "deviceManagement/groupPolicyConfigurations"
ADMX_NAME = "WIN - ADMX - Microsoft Edge Startup"


def drift_administrative_template(tenant) -> None:
    """Change the home page URL and turn on the Home button in the target after the backup."""
    emulated = emulated_tenant(tenant)
    (policy,) = [p for p in emulated.list_objects(ADMX) if p["displayName"] == ADMX_NAME]
    for value in policy["definitionValues"]:
        name = value["definition"]["displayName"]
        if name == "Configure the home page URL":
            value["presentationValues"][0]["value"] = "https://changed.example.com"
        elif name == "Show Home button on toolbar":
            value["enabled"] = True
    policy["lastModifiedDateTime"] = "2030-01-01T00:00:00Z"
    emulated.put_object(ADMX, policy)


def previewed_run(actor, tenant, backup_set):
    run = restore_run_create(actor=actor, tenant=tenant, backup_set=backup_set)
    run = restore_run_set_scope(actor=actor, run=run, mode="all")
    run = restore_run_run_checks(actor=actor, run=run)
    return restore_run_run_preview(actor=actor, run=run)


def item(page, name):
    """The preview item ``name``, opened."""
    entry = page.locator("li.tg-preview-item", has=page.get_by_text(name, exact=True))
    expect(entry).to_have_count(1)
    entry.locator("summary").first.click()
    return entry


def test_the_preview_shows_settings_in_the_admin_centers_words(
    personas, tenant, baseline, open_as, url
):
    drift_administrative_template(tenant)
    operator = personas["operator"]
    run = previewed_run(operator, tenant, baseline)
    page = open_as(operator)
    page.goto(url("restores:preview", run.pk, query="action=update"))

    # Settings catalog: the setting and its options by display name, description on hover.
    edge = item(page, "WIN - SC - Microsoft Edge - Security")
    row = edge.locator(f'tr[data-setting-id="{EDGE_SSL}"]')
    expect(row).to_have_count(1)
    name = row.locator(".tg-setting-name")
    expect(name).to_have_text("Allow users to proceed from the HTTPS warning page")
    expect(name).to_have_attribute("title", re.compile(r"\w+ \w+"))  # the definition's description
    name.hover()
    expect(row.locator("td.tg-before")).to_have_text("Enabled")
    expect(row.locator("td.tg-after")).to_have_text("Disabled")
    expect(edge.get_by_text("option 1")).to_have_count(0)
    # The raw id and values only on demand.
    raw = edge.locator("details[data-graph-ids]")
    raw_path = raw.get_by_text(f"settings[{EDGE_SSL}]", exact=False).first
    expect(raw_path).to_be_hidden()
    raw.locator("summary").click()
    expect(raw_path).to_be_visible()
    expect(raw.get_by_text(f'"{EDGE_SSL}_0"')).to_be_visible()

    # Administrative templates: the definition's display name and category path.
    admx = item(page, ADMX_NAME)
    home = admx.locator("table.tg-diff tr", has=page.get_by_text("Home page URL", exact=True))
    expect(home).to_have_count(1)
    expect(home).to_contain_text("Configure the home page URL")
    expect(home).to_contain_text(f"Microsoft Edge{SEPARATOR}Startup, home page and new tab page")
    expect(home.locator("td.tg-before")).to_have_text("https://changed.example.com")
    expect(home.locator("td.tg-after")).to_have_text("https://intranet.contoso.com")
    button = admx.locator(
        "table.tg-diff tr", has=page.get_by_text("Show Home button on toolbar", exact=True)
    )
    expect(button.locator("td.tg-before")).to_have_text("Enabled")
    expect(button.locator("td.tg-after")).to_have_text("Disabled")
    expect(button.locator(".tg-setting-name")).to_have_attribute("title", re.compile(r"\w"))
    expect(admx.locator("table.tg-diff").get_by_text("definitionValues[")).to_have_count(0)

    # Compliance policy: the property by its admin-center label.
    compliance = item(page, "WIN - Compliance - Baseline")
    os_row = compliance.locator("table.tg-diff tr", has=page.get_by_text("Minimum OS version"))
    expect(os_row).to_have_count(1)
    expect(os_row.locator("td.tg-after")).to_have_text(re.compile(r"^10\.0\.\d+$"))
    expect(compliance.locator("table.tg-diff").get_by_text("osMinimumVersion")).to_have_count(0)


def test_the_checks_name_the_setting_where_a_source_tenant_identifier_sits(
    personas, tenant, prod_tenant, open_as, url
):
    """Into another tenant, the check listing the source tenant's identifiers names each place
    by its setting (an OMA-URI setting by name and URI), the raw path beside it."""
    from tenantguard.backups.services import backup_set_capture, backup_set_start
    from tenantguard.restores.services import runs
    from tests.restores_engine.test_source_identifiers import (
        SOURCE_ID,
        TARGET_ID,
        oma_profile,
        organization,
        put,
    )

    owner = personas["owner"]
    put(
        emulated_tenant(tenant),
        organization(SOURCE_ID, "contoso.onmicrosoft.com", "contoso.com"),
        oma_profile(),
    )
    put(
        emulated_tenant(prod_tenant),
        organization(TARGET_ID, "fabrikamcorp.onmicrosoft.com", "fabrikam.com"),
    )
    backup_set = backup_set_capture(
        backup_set=backup_set_start(actor=owner, tenant=tenant, enqueue=False)
    )
    run = runs.restore_run_create(actor=owner, tenant=prod_tenant)
    run = runs.restore_run_select_source(actor=owner, run=run, backup_set=backup_set)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="all")
    run = restore_run_run_checks(actor=owner, run=run)

    page = open_as(owner)
    page.goto(url("restores:checks", run.pk))
    group = page.locator('details[data-code="source_tenant_identifier"]')
    expect(group).to_contain_text(
        "contoso.sharepoint.com in Edge home page (OMA-URI ./Device/Vendor/MSFT/Policy/Config/"
    )
    expect(group).to_contain_text(f"tenant ID {SOURCE_ID} in Use Windows Hello (OMA-URI")
    expect(group).to_contain_text("[omaSettings[1].omaUri]")
