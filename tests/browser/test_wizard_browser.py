"""The Restore Run Wizard in a real browser (Debian's Chromium through Playwright).

Each test drives the pages the way an admin does: clicks, typing, keyboard. The task backend in
tests is the immediate one, so Execute runs the executor inline in the live server's thread.
With TENANTGUARD_SCREENSHOTS=1 the tests also refresh the README's screenshots
(docs/screenshots/) from the demo data.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.restores.models import (
    ItemOutcome,
    RestoreItemOutcome,
    RestoreRun,
    RestoreStatus,
)
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.runs import (
    restore_run_create,
    restore_run_set_dry_run,
    restore_run_set_scope,
)
from tenantguard.tenants.graph_access import emulated_tenant

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def walk(actor, tenant, backup_set, *, upto="preview", dry_run=True):
    run = restore_run_create(actor=actor, tenant=tenant, backup_set=backup_set)
    if upto == "draft":
        return run
    run = restore_run_set_scope(actor=actor, run=run, mode="all")
    if upto != "scope":
        run = restore_run_run_checks(actor=actor, run=run)
    if upto == "preview":
        run = restore_run_run_preview(actor=actor, run=run)
    if not dry_run:
        run = restore_run_set_dry_run(actor=actor, run=run, dry_run=False)
    return run


def execute_button(page):
    return page.get_by_role("button", name=re.compile("^Execute restore"))


def unmet(page):
    return page.locator("#execute-conditions")


def delete_group(tenant, name):
    emulated = emulated_tenant(tenant)
    (group,) = [g for g in emulated.list_objects("groups") if g["displayName"] == name]
    emulated.delete_object("groups", group["id"])


# ---- user story 1 ------------------------------------------------------------------------------


def test_story_1_changing_the_source_resets_later_steps_and_execute_stays_disabled(
    personas, tenant, baseline, open_as, url
):
    operator = personas["operator"]
    second = backup_set_capture(
        backup_set=backup_set_start(
            actor=operator, tenant=tenant, name="After the changes", enqueue=False
        )
    )
    page = open_as(operator)
    # Entry point: "Restore…" on the backup set page.
    page.goto(url("admin:backups_backupset_change", baseline.pk))
    page.get_by_role("link", name="Restore…").click()
    expect(page.get_by_label("Target tenant")).to_have_value(str(tenant.pk))
    page.get_by_role("button", name="Start the restore wizard").click()
    expect(page.get_by_role("heading", name=re.compile("^Step 2"))).to_be_visible()
    run = RestoreRun.objects.get()
    expect(page.locator(".tg-env--test").first).to_have_text("TEST")

    # Step 2: pick one item (the first tick switches the run to "selected").
    page.get_by_label("Selected items only").check()
    page.get_by_role("button", name="Apply").click()
    page.get_by_label("WIN - Compliance - Baseline").check()
    expect(page.locator("#scope-summary")).to_contain_text("1 item selected")
    screenshot(page, "step2-scope")

    # Step 3: checks ran (on the selection).
    page.locator(".tg-stepper").get_by_role("link", name=re.compile("Checks")).click()
    page.get_by_role("button", name="Run the checks").click()
    expect(page.locator("#checks-summary")).to_contain_text("blocking")

    # Step 1: another backup set, with the warning, then the reset.
    page.locator(".tg-stepper").get_by_role("link", name=re.compile("Source")).click()
    expect(page.locator("#reset-warning")).to_contain_text(
        "Changing the backup set resets scope, mapping, checks, preview and confirmation"
    )
    page.get_by_label("Backup set", exact=True).select_option(str(second.pk))
    expect(page.locator("#source-details")).to_contain_text("After the changes")
    page.get_by_role("button", name="Use this backup set").click()
    expect(page.get_by_role("alert")).to_contain_text("tick the box")
    page.get_by_label("Backup set", exact=True).select_option(str(second.pk))
    page.get_by_label(re.compile("I understand that scope")).check()
    page.get_by_role("button", name="Use this backup set").click()
    expect(page.locator("#scope-summary")).to_contain_text("All items")
    run.refresh_from_db()
    assert run.backup_set == second and run.status == RestoreStatus.DRAFT
    assert run.scope_mode == "all" and "checks" not in run.metadata
    expect(page.locator('[data-step="checks"]')).not_to_have_attribute("data-state", "done")

    # Scope again, checks, but no preview: at step 5 Execute is disabled either way.
    page.get_by_role("button", name="Apply").click()
    page.goto(url("restores:checks", run.pk))
    page.get_by_role("button", name="Run the checks").click()
    page.goto(url("restores:confirm", run.pk))
    expect(page.get_by_label("Dry run (nothing is written)")).to_be_checked()
    expect(execute_button(page)).to_be_disabled()
    expect(unmet(page)).to_contain_text("Dry-run is on")
    page.get_by_label("Dry run (nothing is written)").uncheck()
    page.get_by_label("I reviewed the impact").check()
    page.get_by_label(re.compile("Type the target tenant")).fill("Contoso Test")
    expect(unmet(page)).to_contain_text("No preview yet")
    expect(unmet(page)).not_to_contain_text("Dry-run is on")
    expect(execute_button(page)).to_be_disabled()
    run.refresh_from_db()
    assert run.dry_run is False and run.status == RestoreStatus.CHECKED


# ---- user story 2 ------------------------------------------------------------------------------


def test_story_2_blocking_check_then_warnings_only_then_execute_with_outcomes(
    personas, tenant, baseline, open_as, url
):
    operator = personas["operator"]
    delete_group(tenant, "SG-Update-Ring-Fast")
    run = walk(operator, tenant, baseline, dry_run=False)
    page = open_as(operator)

    # The blocking check is visible at step 5 and keeps Execute disabled, whatever is typed.
    page.goto(url("restores:confirm", run.pk))
    page.get_by_label("I reviewed the impact").check()
    page.get_by_label(re.compile("Type the target tenant")).fill("Contoso Test")
    expect(unmet(page)).to_contain_text("Checks found 1 blocking problem")
    expect(execute_button(page)).to_be_disabled()

    # Step 3: the blocking result, and the mapping editor searching the target's groups.
    page.locator(".tg-stepper").get_by_role("link", name=re.compile("Checks")).click()
    expect(page.locator(".tg-results--blocking")).to_contain_text("SG-Update-Ring-Fast")
    page.get_by_label("Search target groups for SG-Update-Ring-Fast").fill("SG-Intune-W")
    target = page.get_by_label("Map SG-Update-Ring-Fast to")
    expect(target.locator("option", has_text="SG-Intune-Windows-Pilot")).to_have_count(1)
    target.select_option(label="SG-Intune-Windows-Pilot")
    screenshot(page, "step3-checks")
    page.get_by_role("button", name="Map", exact=True).click()
    expect(page.locator("#mapping")).to_contain_text("mapped to")
    expect(page.locator("#checks-stale")).to_contain_text("the mapping changed")
    page.get_by_role("button", name="Run the checks again").click()
    expect(page.locator("#checks-summary")).to_contain_text("0 blocking")
    expect(page.locator("#checks-summary")).to_contain_text("warnings")

    # Step 4 again, then step 5: only warnings, so ticking and typing enables Execute.
    page.locator(".tg-stepper").get_by_role("link", name=re.compile("Preview")).click()
    page.get_by_role("button", name="Run the preview again").click()
    expect(page.locator("#preview-summary")).to_be_visible()
    page.get_by_role("link", name=re.compile("Continue to step 5")).click()
    expect(execute_button(page)).to_be_disabled()
    page.get_by_label("I reviewed the impact").check()
    page.get_by_label(re.compile("Type the target tenant")).fill("Contoso Test")
    expect(execute_button(page)).to_be_enabled()
    expect(unmet(page)).to_contain_text("Every condition is met")
    screenshot(page, "step5-confirm")
    execute_button(page).click()

    # The run page: outcomes per item, filterable, snapshot and undo, audit trail.
    expect(page.locator("#run-live")).to_have_attribute("data-status", "completed")
    expect(page.locator('#outcomes tr[data-outcome="created"]').first).to_be_visible()
    expect(page.locator('#outcomes tr[data-outcome="updated"]').first).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Pre-restore snapshot"))).to_be_visible()
    expect(page.get_by_role("button", name="Undo this restore")).to_be_visible()
    expect(page.locator("#audit-events")).to_contain_text("restore.queued")
    screenshot(page, "run-page")
    page.get_by_role("link", name=re.compile(r"^Created \(")).click()
    expect(page.locator('#outcomes tr[data-outcome="updated"]')).to_have_count(0)
    expect(page.locator('#outcomes tr[data-outcome="created"]').first).to_be_visible()
    run.refresh_from_db()
    assert run.status == RestoreStatus.COMPLETED

    # The restore-runs list: status, target, environment, who and when.
    page.goto(url("admin:restores_restorerun_changelist"))
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text(f"Restore #{run.pk}")
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("TEST")
    expect(row).to_contain_text("operator")
    screenshot(page, "restore-runs-list")


# ---- user story 3 ------------------------------------------------------------------------------


def test_story_3_the_preview_summary_survives_a_reload_and_a_second_tab(
    personas, tenant, baseline, open_as, url
):
    operator = personas["operator"]
    run = walk(operator, tenant, baseline, upto="checks")
    page = open_as(operator)
    page.goto(url("restores:source", run.pk))
    screenshot(page, "step1-source")
    page.goto(url("restores:preview", run.pk))
    page.get_by_role("button", name="Run the preview").click()
    summary = page.locator("#preview-summary")
    expect(summary).to_contain_text("policies to create")
    expect(page.locator(".tg-banner[role=note]")).to_contain_text(
        "This is a simulation: nothing was written"
    )
    page.get_by_role("link", name=re.compile(r"^Update \(")).click()
    page.locator(
        ".tg-preview-item summary", has_text="WIN - SC - Microsoft Edge - Security"
    ).click()
    pilot = page.locator(".tg-preview-item", has_text="WIN - Update Ring - Pilot")
    pilot.locator("summary").first.click()
    expect(pilot).to_contain_text("SG-Update-Ring-Fast")
    screenshot(page, "step4-preview", at=page.locator("#items-title"))
    page.reload()
    expect(summary).to_contain_text("policies to create")
    second_tab = page.context.new_page()
    second_tab.goto(url("restores:preview", run.pk))
    expect(second_tab.locator("#preview-summary")).to_contain_text("policies to create")
    expect(second_tab.locator('[data-step="preview"]')).to_have_attribute("data-state", "done")


# ---- staleness and the typed label -------------------------------------------------------------


def test_changing_the_scope_after_the_preview_marks_it_out_of_date_and_disables_execute(
    personas, tenant, baseline, open_as, url
):
    operator = personas["operator"]
    run = walk(operator, tenant, baseline, dry_run=False)
    page = open_as(operator)
    page.goto(url("restores:confirm", run.pk))
    page.get_by_label("I reviewed the impact").check()
    page.get_by_label(re.compile("Type the target tenant")).fill("Contoso Test")
    expect(execute_button(page)).to_be_enabled()

    page.goto(url("restores:scope", run.pk))
    page.get_by_label("Selected items only").check()
    page.get_by_role("button", name="Apply").click()
    page.get_by_label("WIN - Update Ring - Broad").check()
    expect(page.locator("#scope-summary")).to_contain_text("1 item selected")
    page.reload()
    expect(page.locator('[data-step="preview"]')).to_have_attribute("data-state", "stale")
    expect(page.locator('[data-step="preview"]')).to_contain_text("out of date")

    page.goto(url("restores:confirm", run.pk))
    page.get_by_label("I reviewed the impact").check()
    page.get_by_label(re.compile("Type the target tenant")).fill("Contoso Test")
    expect(unmet(page)).to_contain_text("out of date")
    expect(execute_button(page)).to_be_disabled()


def test_a_wrong_or_wrong_case_tenant_label_keeps_execute_disabled(
    personas, tenant, baseline, open_as, url
):
    operator = personas["operator"]
    run = walk(operator, tenant, baseline, dry_run=False)
    page = open_as(operator)
    page.goto(url("restores:confirm", run.pk))
    label = page.get_by_label(re.compile("Type the target tenant"))
    page.get_by_label("I reviewed the impact").check()
    for wrong in ("contoso test", "CONTOSO TEST", "Contoso", "Contoso Test "):
        label.fill(wrong)
        expect(unmet(page)).to_contain_text("does not match 'Contoso Test' exactly")
        expect(execute_button(page)).to_be_disabled()
    label.fill("Contoso Test")
    expect(execute_button(page)).to_be_enabled()
    page.get_by_label("I reviewed the impact").uncheck()
    expect(unmet(page)).to_contain_text("I reviewed the impact")
    expect(execute_button(page)).to_be_disabled()


# ---- roles -------------------------------------------------------------------------------------


def test_viewer_sees_the_run_page_but_not_the_wizard(personas, tenant, baseline, open_as, url):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    page = open_as(personas["viewer"])
    page.goto(url("restores:run", run.pk))
    expect(page.locator("#run-title")).to_be_visible()
    expect(page.get_by_role("link", name="Continue the wizard")).to_have_count(0)
    response = page.goto(url("restores:scope", run.pk))
    assert response.status == 403
    page.goto(url("admin:restores_restorerun_changelist"))
    expect(page.get_by_role("link", name=f"Restore #{run.pk}")).to_be_visible()
    expect(page.get_by_role("link", name="Restore…")).to_have_count(0)


def test_operator_cannot_execute_on_prod(personas, prod_tenant, demo_objects, open_as, url):
    from tenantguard.emulator.seed import collection_of

    emulated = emulated_tenant(prod_tenant)
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=prod_tenant, enqueue=False)
    )
    # PROD drifted after the backup: something to write (else "Nothing to restore", no Execute).
    apply_demo_drift(emulated, seed=1)
    run = walk(personas["operator"], prod_tenant, backup, dry_run=False)
    page = open_as(personas["operator"])
    page.goto(url("restores:confirm", run.pk))
    expect(page.locator(".tg-env--prod").first).to_have_text("PROD")
    page.get_by_label("I reviewed the impact").check()
    page.get_by_label(re.compile("Type the target tenant")).fill("Contoso")
    expect(unmet(page)).to_contain_text(re.compile("admin", re.IGNORECASE))
    expect(execute_button(page)).to_be_disabled()
    screenshot(page, "step5-confirm-prod-operator")


# ---- scale, live progress, keyboard ------------------------------------------------------------


def test_scope_search_over_5000_items_answers_within_a_second(personas, tenant, open_as, url):
    operator = personas["operator"]
    backup = BackupSet.objects.create(
        tenant=tenant, name="Large tenant", status="completed", item_count=5000
    )
    types = ("settings_catalog", "device_configuration", "compliance_policy", "powershell_script")
    BackupItem.objects.bulk_create(
        BackupItem(
            backup_set=backup,
            policy_type=types[n % len(types)],
            category="Generated",
            source_id=f"src-{n:05d}",
            display_name=f"Policy {n:05d}",
            platform=("windows", "macOS", "iOS")[n % 3],
            payload={},
            content_hash="0" * 64,
        )
        for n in range(5000)
    )
    run = walk(operator, tenant, backup, upto="draft")
    page = open_as(operator)
    page.goto(url("restores:scope", run.pk, query="mode=selected"))
    expect(page.locator("#scope-summary")).to_contain_text("5000 items in the backup set")
    search = page.get_by_label("Search items")

    started = time.monotonic()
    search.fill("Policy 04321")
    expect(page.locator("#scope-summary")).to_contain_text("1 item match", timeout=1000)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"search took {elapsed:.2f}s"
    page.get_by_label("Policy 04321").check()
    expect(page.locator("#scope-summary")).to_contain_text("1 item selected")

    # Paging keeps the selection: tick one on page 2 of a broader search, come back.
    search.fill("Policy 01")
    expect(page.locator("#scope-summary")).to_contain_text("1000 items match")
    page.get_by_role("link", name="Next page →").click()
    expect(page.locator(".tg-pager")).to_contain_text("Page 2 of 10")
    on_page_2 = page.locator("#scope-items input[name=item]").first
    picked_name = on_page_2.evaluate("el => el.labels[0].textContent.trim()")
    on_page_2.check()
    expect(page.locator("#scope-summary")).to_contain_text("2 items selected")
    search.fill("Policy 04321")
    expect(page.get_by_label("Policy 04321")).to_be_checked()
    search.fill(picked_name)
    expect(page.get_by_label(picked_name, exact=True)).to_be_checked()
    run.refresh_from_db()
    assert len(run.requested_items) == 2


def test_run_page_shows_progress_live_without_a_reload(personas, tenant, baseline, open_as, url):
    run = walk(personas["operator"], tenant, baseline)
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.QUEUED)
    page = open_as(personas["viewer"])
    page.goto(url("restores:run", run.pk))
    expect(page.locator("#run-live")).to_contain_text("Queued")
    preview = list(run.preview_items.all()[:3])
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.RUNNING)
    for position, item in enumerate(preview):
        RestoreItemOutcome.objects.create(
            run=run,
            position=position,
            policy_type=item.policy_type,
            source_id=item.source_id,
            display_name=item.display_name,
            outcome=ItemOutcome.FAILED if position == 0 else ItemOutcome.UNCHANGED,
            error_code="BadRequest" if position == 0 else "",
            error_message="Graph said: the request is invalid." if position == 0 else "",
        )
    planned = run.preview_items.count()
    assert planned > len(preview)
    expect(page.locator("#run-live")).to_contain_text(f"3 of {planned} items done")
    RestoreRun.objects.filter(pk=run.pk).update(
        status=RestoreStatus.PARTIAL, results={"items": 3, "failed": 1, "verified": 2}
    )
    expect(page.locator("#run-live")).to_have_attribute("data-status", "partial")
    expect(page.locator('#outcomes tr[data-outcome="failed"]')).to_contain_text(
        "Graph said: the request is invalid."
    )


def _unlabelled_controls(page):
    return page.evaluate(
        """() => [...document.querySelectorAll('#content input, #content select, #content button, #content textarea')]
          .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
          .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                        && !el.getAttribute('aria-labelledby') && !(el.textContent || '').trim())
          .map(el => el.outerHTML.slice(0, 120))"""
    )


def test_every_step_is_labelled_and_step_5_works_from_the_keyboard(
    personas, tenant, baseline, open_as, url
):
    operator = personas["operator"]
    delete_group(tenant, "SG-Update-Ring-Fast")
    run = walk(operator, tenant, baseline)
    page = open_as(operator)
    for step in ("source", "scope", "checks", "preview", "confirm", "run"):
        page.goto(url(f"restores:{step}", run.pk))
        if step == "scope":
            page.goto(url("restores:scope", run.pk, query="mode=selected"))
        assert _unlabelled_controls(page) == [], step

    # Step 2 by keyboard: type a search, Tab from the search to the list, Space ticks an item.
    page.goto(url("restores:scope", run.pk, query="mode=selected"))
    page.get_by_label("Search items").focus()
    page.keyboard.type("Kiosk")
    expect(page.locator("#scope-summary")).to_contain_text("match")
    kiosk = page.get_by_label("WIN - Update Ring - Kiosk")
    kiosk.focus()
    page.keyboard.press("Space")
    expect(page.locator("#scope-summary")).to_contain_text("1 item selected")
    expect(kiosk).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#scope-body .tg-error")).to_contain_text("Select at least one item")
    expect(kiosk).to_be_checked()  # refused: the run keeps its one item, and the page says so
    page.get_by_label("All items of the backup set").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#scope-summary")).to_contain_text("All items")

    # Step 5 by keyboard only: Tab to each control, Space to toggle, type the label.
    from tenantguard.restores.services.runs import restore_run_update_mapping

    source_id = run.check_results.get(code="group_missing").details["source_id"]
    run = restore_run_update_mapping(actor=operator, run=run, mapping={"group": {source_id: None}})
    run = restore_run_run_checks(actor=operator, run=run)
    run = restore_run_run_preview(actor=operator, run=run)
    page.goto(url("restores:confirm", run.pk))
    dry_run = page.get_by_label("Dry run (nothing is written)")
    dry_run.focus()
    page.keyboard.press("Space")
    expect(dry_run).not_to_be_checked()
    expect(unmet(page)).not_to_contain_text("Dry-run is on")
    page.keyboard.press("Tab")
    expect(page.get_by_label("I reviewed the impact")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_label(re.compile("Type the target tenant"))).to_be_focused()
    page.keyboard.type("Contoso Test")
    expect(execute_button(page)).to_be_enabled()
    page.keyboard.press("Tab")
    expect(execute_button(page)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#run-live")).to_have_attribute("data-status", "completed")
    run.refresh_from_db()
    assert run.status == RestoreStatus.COMPLETED


@pytest.mark.parametrize("situation", ["dry_run", "no_preview", "blocking"])
def test_a_forged_execute_post_from_the_page_is_refused_and_audited(
    situation, personas, tenant, baseline, open_as, url
):
    from tenantguard.audit.models import AuditEvent

    operator = personas["operator"]
    if situation == "blocking":
        delete_group(tenant, "SG-Update-Ring-Fast")
    run = walk(
        operator,
        tenant,
        baseline,
        upto="checks" if situation == "no_preview" else "preview",
        dry_run=situation == "dry_run",
    )
    page = open_as(operator)
    page.goto(url("restores:confirm", run.pk))
    expect(execute_button(page)).to_be_disabled()
    # What a user with the developer tools could send: the disabled button's form, filled in.
    status = page.evaluate(
        """async (action) => {
            const form = document.getElementById('confirm-form');
            const data = new FormData(form);
            data.set('acknowledged', 'on');
            data.set('typed_label', 'Contoso Test');
            const response = await fetch(action, {method: 'POST', body: data});
            return response.status;
        }""",
        url("restores:execute", run.pk),
    )
    assert status == 403
    run.refresh_from_db()
    assert run.status in (RestoreStatus.CHECKED, RestoreStatus.PREVIEWED)
    refusal = AuditEvent.objects.get(
        subject_type="restores.restorerun", subject_id=str(run.pk), action="restore.execute_refused"
    )
    assert refusal.actor_label == "operator" and refusal.details["reasons"]


def test_steps_1_3_and_4_work_from_the_keyboard(personas, tenant, baseline, open_as, url):
    operator = personas["operator"]
    run = restore_run_create(actor=operator, tenant=tenant)
    page = open_as(operator)
    page.goto(url("restores:source", run.pk))
    picker = page.get_by_label("Backup set", exact=True)
    picker.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#source-details")).to_contain_text("Snapshot time")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Use this backup set")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#scope-summary")).to_contain_text("All items")
    page.get_by_role("radio", name="All items of the backup set").focus()
    page.keyboard.press("Tab")  # a radio group is one tab stop
    expect(page.get_by_role("button", name="Apply")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name=re.compile("Continue to step 3"))).to_be_visible()

    page.get_by_role("link", name=re.compile("Continue to step 3")).focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Run the checks").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#checks-summary")).to_contain_text("0 blocking")
    page.get_by_role("link", name=re.compile("Continue to step 4")).focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Run the preview").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#preview-summary")).to_contain_text("policies to create")
    item = page.locator(".tg-preview-item", has_text="WIN - Compliance - Baseline")
    item.locator("summary").first.focus()
    page.keyboard.press("Enter")
    expect(item.locator("table.tg-diff")).to_contain_text("Minimum OS version")


def test_long_work_says_what_it_is_doing_and_cannot_be_sent_twice(
    personas, tenant, baseline, open_as, url
):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    page = open_as(personas["operator"])
    page.goto(url("restores:checks", run.pk))
    # Keep the page where it is after TenantGuard's own submit handler has run (it listens
    # first), so the waiting state can be looked at without a server that is slow on purpose.
    page.evaluate("document.addEventListener('submit', e => e.preventDefault())")
    button = page.get_by_role("button", name="Run the checks")

    button.click()

    expect(page.locator("form[aria-busy=true] .tg-busy[role=status]")).to_have_text(
        "Sending the checks to the task worker…"
    )
    expect(button).to_be_disabled()


def test_checks_read_by_the_worker_show_progress_then_the_results(
    personas, tenant, baseline, open_as, url, held_analysis
):
    from tenantguard.restores.services.analysis import restore_run_analysis_run

    run = walk(personas["operator"], tenant, baseline, upto="scope")
    page = open_as(personas["operator"])
    page.goto(url("restores:checks", run.pk))

    page.get_by_role("button", name="Run the checks").click()

    expect(page.locator("#analysis")).to_contain_text("waiting for the task worker")
    expect(page.get_by_role("button", name="Run the checks")).to_be_disabled()
    screenshot(page, "step3-checks-waiting")
    [(run_id, job_id)] = held_analysis.jobs
    assert restore_run_analysis_run(run_id=run_id, job_id=job_id) == "done"
    # The page notices by itself (polling) and reloads with the results.
    expect(page.locator("#checks-summary")).to_contain_text("blocking")
    expect(page.locator("#analysis")).to_have_count(0)
