"""The README's "Try a restore in the demo" walk, in Chromium, on exactly the demo `make run` seeds.

The test signs in as the README says, opens the dashboard, starts a new restore of Contoso Test
and walks the five steps, asserting on each what the README tells the reader to look at. It
saves one screenshot per step (1280x800, the viewport only): into ``docs/screenshots/`` when
``TENANTGUARD_UPDATE_SCREENSHOTS=1`` (``make screenshots``), otherwise into pytest's
``tmp_path``, so running the suite never changes tracked files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE_ENV = "TENANTGUARD_UPDATE_SCREENSHOTS"
VIEWPORT = {"width": 1280, "height": 800}

# The walk's screenshots, in the order the README shows them.
WALK_SCREENSHOTS = (
    "dashboard",
    "step-1-source",
    "step-2-scope",
    "step-3-checks",
    "step-4-preview",
    "step-5-confirm",
)
# What the reader is told to click or read, word for word: the browser test below finds each of
# these on the page, and the README must quote each one (so neither can change alone).
README_QUOTES = (
    "New restore",
    "Start the restore wizard",
    "Use this backup set",
    "Continue to step 3",
    "Run the checks",
    "Continue to step 4",
    "Run the preview",
    "This is a simulation: nothing was written",
    "Continue to step 5",
    "Dry run (nothing is written)",
    "I reviewed the impact",
    "Execute restore on Contoso Test",
    "Undo this restore",
)
_IMAGE_REFERENCE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)|<img\s[^>]*src=\"([^\"]+)\"")


def readme_images() -> list[str]:
    return [md or html for md, html in _IMAGE_REFERENCE.findall(README.read_text())]


_SCROLL_TO = """(el, [block, above]) => {
    el.scrollIntoView({block: block, behavior: 'instant'});
    window.scrollBy({top: -above, behavior: 'instant'});
}"""


def screenshot_dir(tmp_path: Path) -> Path:
    if os.environ.get(UPDATE_ENV) == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


def shoot(page, directory: Path, name: str, *, at=None, block="start", above=0) -> Path:
    """The viewport (not the full page): the page's top, or ``at`` at the viewport's ``block``
    ("start" or "end"), moved down by ``above`` pixels to show what precedes it."""
    # Live updates (htmx) answered first: a swap that restores focus would scroll the page.
    page.wait_for_load_state("networkidle")
    if at is None:
        page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    else:
        # Instantly: a smooth scroll would be caught half-way.
        at.evaluate(_SCROLL_TO, [block, above])
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=False, animations="disabled")
    return path


# ---- the README and its images ------------------------------------------------------------------


def test_every_image_the_readme_references_exists():
    images = readme_images()
    assert images, "README.md references no image at all"
    missing = [image for image in images if not (ROOT / image).is_file()]
    assert not missing, (
        f"README.md references images that do not exist: {missing}. "
        "Run `make screenshots` (the walk) or fix the path."
    )


def test_the_readme_shows_every_walk_screenshot_and_quotes_every_label_the_walk_clicks():
    images = set(readme_images())
    text = README.read_text()
    not_shown = [name for name in WALK_SCREENSHOTS if f"docs/screenshots/{name}.png" not in images]
    assert not not_shown, f"README.md does not show these walk screenshots: {not_shown}"
    not_quoted = [quote for quote in README_QUOTES if quote not in text]
    assert not not_quoted, (
        f"README.md's demo walk does not quote these labels the walk uses: {not_quoted}"
    )


def test_the_walk_screenshots_are_small_enough_for_the_readme():
    sizes = {
        name: path.stat().st_size
        for name in WALK_SCREENSHOTS
        if (path := SCREENSHOTS / f"{name}.png").is_file()
    }
    assert sizes, "no walk screenshot in docs/screenshots/: run `make screenshots`"
    too_big = {name: size for name, size in sizes.items() if size > 300_000}
    assert not too_big, f"screenshots over 300 KB (optimize or crop them): {too_big}"


# ---- the walk ---------------------------------------------------------------------------------


@pytest.fixture
def demo(transactional_db):
    """Exactly what `make run` seeds: users, Contoso Test and Contoso, baselines, then drift."""
    from tenantguard.demo import demo_setup

    return demo_setup()


@pytest.mark.browser
def test_readme_walk_restores_contoso_test_in_five_steps(browser, live_server, demo, tmp_path):
    from tenantguard.restores.models import RestoreRun, RestoreStatus
    from tenantguard.tenants.models import Tenant

    directory = screenshot_dir(tmp_path)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()

        # Log in: the address `make run` prints leads to the login page.
        page.goto(live_server.url + "/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(demo.password)
        page.get_by_role("button", name=re.compile("^Log in")).click()

        # The dashboard: one row per tenant, with its last backup and a "New restore".
        expect(page.locator("#dashboard").get_by_role("heading", name="Dashboard")).to_be_visible()
        row = page.locator("#tenant-overview tbody tr", has_text="Contoso Test")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("TEST")
        expect(page.locator("#tenant-overview tbody tr", has_text="PROD")).to_have_count(1)
        shoot(page, directory, "dashboard")
        row.get_by_role("link", name="New restore").click()

        # Start: the target is the tenant of that row.
        contoso_test = Tenant.objects.get(display_name="Contoso Test")
        expect(page.get_by_label("Target tenant")).to_have_value(str(contoso_test.pk))
        page.get_by_role("button", name="Start the restore wizard").click()

        # Step 1: the baseline backup, its snapshot time, tenant and contents.
        expect(page.get_by_role("heading", name=re.compile("^Step 1"))).to_be_visible()
        expect(page.locator(".tg-env--test").first).to_have_text("TEST")
        backup_set = page.get_by_label("Backup set", exact=True)
        baseline = backup_set.locator("option", has_text="Contoso Test · Demo baseline")
        expect(baseline).to_have_count(1)
        backup_set.select_option(baseline.get_attribute("value"))
        details = page.locator("#source-details")
        expect(details).to_contain_text("Snapshot time")
        expect(details).to_contain_text("Contoso Test (TEST)")
        expect(details).to_contain_text("Settings catalog")
        expect(details).to_contain_text("foundation")
        expect(details).to_contain_text("preview only")
        shoot(page, directory, "step-1-source")
        page.get_by_role("button", name="Use this backup set").click()

        # Step 2: every item of the backup set.
        expect(page.get_by_role("heading", name=re.compile("^Step 2"))).to_be_visible()
        expect(page.get_by_label("All items of the backup set")).to_be_checked()
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#scope-summary")).to_contain_text("All items")
        shoot(page, directory, "step-2-scope")
        page.get_by_role("link", name=re.compile("Continue to step 3")).click()

        # Step 3: the checks read the live tenant; in the demo nothing blocks, the warnings
        # name what changed in the tenant since the backup, and nothing needs mapping.
        expect(page.get_by_role("heading", name=re.compile("^Step 3"))).to_be_visible()
        page.get_by_role("button", name="Run the checks").click()
        summary = page.locator("#checks-summary")
        expect(summary).to_contain_text("0 blocking")
        expect(summary).to_contain_text("warnings")
        expect(page.get_by_text("target_newer_than_backup")).to_be_visible()
        expect(page.get_by_text("target_missing", exact=True)).to_be_visible()
        expect(page.locator("#mapping")).to_contain_text(
            re.compile(r"No group, .* is missing in the target")
        )
        shoot(page, directory, "step-3-checks")
        page.get_by_role("link", name=re.compile("Continue to step 4")).click()

        # Step 4: a simulation; what is created, updated, and which assignments go.
        expect(page.get_by_role("heading", name=re.compile("^Step 4"))).to_be_visible()
        page.get_by_role("button", name="Run the preview").click()
        expect(page.get_by_text("This is a simulation: nothing was written")).to_be_visible()
        preview = page.locator("#preview-summary")
        expect(preview).to_contain_text("to create")
        expect(preview).to_contain_text("to update")
        expect(page.locator("#content")).to_contain_text(
            re.compile(r"assignments? .*will be removed")
        )
        expect(page.locator("#content")).to_contain_text("SG-Intune-Windows-Broad")
        filters = page.locator("#preview-filters")
        expect(filters.locator("[aria-current=true]")).to_contain_text("Changes")
        expect(filters).to_contain_text("Unchanged")
        edge = page.locator(".tg-preview-item", has_text="WIN - SC - Microsoft Edge - Security")
        edge.locator("summary").first.click()
        setting = edge.get_by_role(
            "row", name=re.compile("Allow users to proceed from the HTTPS warning page")
        )
        expect(setting).to_contain_text("Enabled")
        expect(setting).to_contain_text("Disabled")
        expect(edge.get_by_text(re.compile("sslerroroverrideallowed")).first).to_be_hidden()
        shoot(page, directory, "step-4-preview", at=edge, above=120)
        page.get_by_role("link", name=re.compile("Continue to step 5")).click()

        # Step 5: dry-run on; Execute waits for the three conditions it lists.
        expect(page.get_by_role("heading", name=re.compile("^Step 5"))).to_be_visible()
        execute = page.get_by_role("button", name="Execute restore on Contoso Test")
        dry_run = page.get_by_label("Dry run (nothing is written)")
        expect(dry_run).to_be_checked()
        expect(execute).to_be_disabled()
        expect(page.locator("#content")).to_contain_text("SG-Intune-Windows-Broad")
        conditions = page.locator("#execute-conditions")
        expect(conditions).to_contain_text("Dry-run is on")
        dry_run.uncheck()
        page.get_by_label("I reviewed the impact").check()
        typed = page.get_by_label(re.compile("Type the target tenant"))
        typed.fill("Contoso Test")
        typed.blur()
        expect(execute).to_be_enabled()
        expect(conditions).to_contain_text("Every condition is met")
        shoot(page, directory, "step-5-confirm", at=conditions, block="end")
        execute.click()

        # The run page: every item verified, and the way back.
        expect(page.locator("#run-live")).to_have_attribute("data-status", "completed")
        expect(page.locator("#run-live")).to_contain_text("verified after writing")
        expect(page.locator("#run-live")).not_to_contain_text("still differ")
        expect(page.locator('#outcomes tr[data-outcome="created"]').first).to_be_visible()
        expect(page.locator('#outcomes tr[data-outcome="updated"]').first).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Pre-restore snapshot"))).to_be_visible()
        expect(page.get_by_role("button", name="Undo this restore")).to_be_visible()
        run = RestoreRun.objects.get(tenant=contoso_test)
        assert run.status == RestoreStatus.COMPLETED and run.dry_run is False

        # Undo: a new run from the pre-restore snapshot, checked and previewed, not executed.
        page.get_by_role("button", name="Undo this restore").click()
        expect(page.get_by_role("heading", name=re.compile("^Step 4"))).to_be_visible()
        undo = RestoreRun.objects.exclude(pk=run.pk).get(tenant=contoso_test)
        expect(page.locator("#content")).to_contain_text(f"Restore #{undo.pk}")
        expect(page.locator("#preview-summary")).to_be_visible()
        assert undo.backup_set.kind == "pre_restore" and undo.dry_run is True
        assert undo.status == RestoreStatus.PREVIEWED
    finally:
        context.close()
    for name in WALK_SCREENSHOTS:
        assert (directory / f"{name}.png").stat().st_size > 0, f"{name}.png was not written"
