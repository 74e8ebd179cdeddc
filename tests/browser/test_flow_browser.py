"""Fast decisions on big restores, in a real browser: many missing groups mapped in one click
without a page reload, step 3 shown as blocked while blockers are open, preview and run pages
opening on what changes, and undo landing on a run that is checked and previewed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import demo_tenant_objects
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import ItemOutcome, RestoreItemOutcome, RestoreRun, RestoreStatus
from tenantguard.restores.services.checks import restore_run_mapping_needs, restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.restores.services.runs import (
    restore_run_confirm,
    restore_run_create,
    restore_run_queue_execution,
    restore_run_set_dry_run,
    restore_run_set_scope,
)
from tenantguard.tenants.graph_access import emulated_tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLICY_TYPES = ["settings_catalog", "compliance_policy", "powershell_script", "compliance_script"]


def _no_reload_marker(page) -> None:
    """A value that lives only as long as this document: a full page load loses it."""
    page.evaluate("window.__tgSameDocument = true")


def _same_document(page) -> bool:
    return bool(page.evaluate("window.__tgSameDocument === true"))


@pytest.fixture
def into_prod(personas, tenant, prod_tenant, baseline):
    """A run from TEST's baseline into PROD, checked: PROD holds the same directory groups
    under other ids, so every group the policies assign to is missing, with a same-name
    suggestion."""
    prod = emulated_tenant(prod_tenant)
    for obj in demo_tenant_objects(tenant_label="Contoso", seed=202):
        if "#groups/" in obj["@odata.context"]:
            prod.put_object(collection_of(obj, source="test"), obj)
    owner = personas["owner"]
    run = restore_run_create(actor=owner, tenant=prod_tenant, backup_set=baseline)
    chosen = list(baseline.items.filter(policy_type__in=POLICY_TYPES).values_list("pk", flat=True))
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=chosen)
    return restore_run_run_checks(actor=owner, run=run)


def test_many_groups_are_mapped_in_one_click_without_a_page_reload(
    personas, into_prod, open_as, url
):
    run = into_prod
    groups = restore_run_mapping_needs(run)["group"]
    assert len(groups) >= 5, "enough missing groups to need a bulk action"
    blocking = run.check_results.filter(severity="blocking").count()
    page = open_as(personas["owner"])
    page.goto(url("restores:checks", run.pk))

    # Step 3 with open blockers is shown blocked (red, with the count), not as a green tick.
    step3 = page.locator('[data-step="checks"]')
    expect(step3).to_have_attribute("data-state", "blocked")
    expect(step3).to_contain_text(f"{blocking} blocking")
    # Each choice once in an entry's list: the same-name suggestion is not repeated.
    first = groups[0]
    options = page.locator(f'#target-group-1 option[value="{first["suggestion"]["id"]}"]')
    expect(options).to_have_count(1)

    _no_reload_marker(page)
    # Two entries ticked and skipped at once.
    skipped = groups[:2]
    for entry in skipped:
        page.get_by_label(f"Select {entry['name']}", exact=True).check()
    page.locator("#bulk-group").get_by_role("button", name="Skip selected").click()
    table = page.locator('table[data-kind="group"]')
    expect(table.locator('tr[data-status="skipped"]')).to_have_count(2)
    expect(page.locator("#mapping-notice")).to_contain_text("2 references skipped")

    # The rest in one click.
    accept = page.get_by_role("button", name=re.compile(r"Accept all same-name suggestions"))
    expect(accept).to_have_text(f"Accept all same-name suggestions ({len(groups) - 2})")
    accept.click()
    expect(table.locator('tr[data-status="mapped"]')).to_have_count(len(groups) - 2)
    expect(accept).to_have_count(0)
    # Mapped entries read by name; the id is only a muted detail.
    mapped_row = table.locator(f'tr[data-source-id="{groups[2]["source_id"]}"]')
    expect(mapped_row.locator(".tg-now strong")).to_have_text(groups[2]["suggestion"]["name"])
    # The stepper and the out-of-date notice were redrawn in place.
    expect(step3).to_have_attribute("data-state", "stale")
    expect(page.locator("#checks-stale")).to_contain_text("the mapping changed")
    expect(page.locator("#checks-next")).to_contain_text("Run the checks to continue")
    assert _same_document(page), "the mapping step reloaded the page"

    run = RestoreRun.objects.get(pk=run.pk)
    assert run.group_mapping["group"] == {
        **{g["source_id"]: None for g in skipped},
        **{g["source_id"]: g["suggestion"]["id"] for g in groups[2:]},
    }
    page.get_by_role("button", name="Run the checks again").click()
    expect(page.locator("#checks-summary")).to_be_visible()
    expect(page.locator('[data-code="group_missing"]')).to_have_count(0)


def test_preview_and_run_pages_open_on_what_changes(personas, tenant, baseline, open_as, url):
    operator = personas["operator"]
    run = restore_run_create(actor=operator, tenant=tenant, backup_set=baseline)
    run = restore_run_set_scope(actor=operator, run=run, mode="all")
    run = restore_run_run_checks(actor=operator, run=run)
    run = restore_run_run_preview(actor=operator, run=run)
    actions = list(run.preview_items.values_list("action", flat=True))
    changes = sum(1 for a in actions if a in ("create", "update"))
    unchanged = actions.count("no_change")
    assert changes and unchanged, actions
    page = open_as(operator)

    page.goto(url("restores:preview", run.pk))
    chips = page.locator("#preview-filters")
    expect(chips.locator('[aria-current="true"]')).to_have_text(f"Changes ({changes})")
    expect(page.locator(".tg-preview-item")).to_have_count(min(changes, 50))
    expect(page.locator('.tg-preview-item[data-action="no_change"]')).to_have_count(0)
    chips.get_by_role("link", name=f"Unchanged ({unchanged})").click()
    expect(page.locator('.tg-preview-item[data-action="no_change"]').first).to_be_visible()
    expect(page.locator('.tg-preview-item[data-action="update"]')).to_have_count(0)

    # The run page: failures and writes first, unchanged behind their chip.
    items = list(run.preview_items.order_by("position")[:4])
    RestoreRun.objects.filter(pk=run.pk).update(
        status=RestoreStatus.PARTIAL, results={"items": 4, "failed": 1, "verified": 1}
    )
    for position, (item, outcome) in enumerate(
        zip(
            items,
            [ItemOutcome.FAILED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED, ItemOutcome.UNCHANGED],
            strict=True,
        )
    ):
        RestoreItemOutcome.objects.create(
            run=run,
            position=position,
            policy_type=item.policy_type,
            source_id=item.source_id,
            display_name=item.display_name,
            outcome=outcome,
        )
    page.goto(url("restores:run", run.pk))
    outcome_chips = page.locator("#outcome-filters")
    expect(outcome_chips.locator('[aria-current="true"]')).to_have_text("Changes (2)")
    expect(page.locator("#outcomes tbody tr")).to_have_count(2)
    expect(page.locator('#outcomes tr[data-outcome="unchanged"]')).to_have_count(0)
    outcome_chips.get_by_role("link", name="Unchanged (2)").click()
    expect(page.locator('#outcomes tr[data-outcome="unchanged"]')).to_have_count(2)
    outcome_chips.get_by_role("link", name="All (4)").click()
    expect(page.locator("#outcomes tbody tr")).to_have_count(4)


def test_nothing_to_restore_offers_no_execute(
    personas, tenant, emulated, demo_objects, open_as, url
):
    owner = personas["owner"]
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup = backup_set_capture(
        backup_set=backup_set_start(actor=owner, tenant=tenant, enqueue=False)
    )
    run = restore_run_create(actor=owner, tenant=tenant, backup_set=backup)
    run = restore_run_set_scope(actor=owner, run=run, mode="all")
    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)
    run = restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    page = open_as(owner)

    page.goto(url("restores:preview", run.pk))
    expect(page.locator("#nothing-to-restore")).to_contain_text("Nothing to restore")
    page.goto(url("restores:confirm", run.pk))
    expect(page.locator("#nothing-to-restore")).to_contain_text(
        "Nothing to restore: every item is unchanged or skipped"
    )
    expect(page.get_by_role("button", name=re.compile("^Execute restore"))).to_have_count(0)


def test_undo_lands_on_a_ready_run(personas, tenant, baseline, open_as, url):
    owner = personas["owner"]
    run = restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    chosen = list(
        baseline.items.filter(
            policy_type__in=["settings_catalog", "compliance_policy"]
        ).values_list("pk", flat=True)
    )
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=chosen)
    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)
    run = restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = restore_run_confirm(actor=owner, run=run, acknowledged=True, typed_label="Contoso Test")
    run = restore_run_execute(run_id=restore_run_queue_execution(actor=owner, run=run).pk)
    assert run.status in (RestoreStatus.COMPLETED, RestoreStatus.PARTIAL), run.results
    page = open_as(owner)
    page.goto(url("restores:run", run.pk))

    page.get_by_role("button", name="Undo this restore").click()

    undo = RestoreRun.objects.exclude(pk=run.pk).get()
    expect(page).to_have_url(url("restores:preview", undo.pk))
    expect(page.locator('[data-step="scope"]')).to_have_attribute("data-state", "done")
    expect(page.locator('[data-step="preview"]')).to_have_attribute("data-state", "done")
    expect(page.locator("#preview-summary")).to_be_visible()
    page.get_by_role("link", name=re.compile("Continue to step 5")).click()
    # The admin still confirms: dry-run on, nothing ticked or typed.
    expect(page.get_by_label("Dry run (nothing is written)")).to_be_checked()
    expect(page.locator("#unmet-conditions")).to_contain_text("Dry-run is on")
    undo.refresh_from_db()
    assert undo.status == RestoreStatus.PREVIEWED and undo.dry_run
    assert undo.metadata["undo_of"] == run.pk
    scoped = (
        set(
            undo.backup_set.items.filter(pk__in=undo.requested_items or []).values_list(
                "source_id", flat=True
            )
        )
        if undo.scope_mode == "selected"
        else set(undo.backup_set.items.values_list("source_id", flat=True))
    )
    written = set(run.item_outcomes.exclude(target_id="").values_list("target_id", flat=True))
    assert scoped and scoped <= written | set(
        baseline.items.filter(pk__in=chosen).values_list("source_id", flat=True)
    )
