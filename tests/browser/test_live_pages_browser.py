"""Pages that update themselves tell the truth everywhere, not only in the polled panel.

The run page is watched from queued to running to completed, and a backup set page from running
to completed, without the test reloading anything: the header badge, the buttons (Cancel,
Undo), the snapshot link, the finish time and the counts must agree with the final state.
The environment badge (PROD / TEST) must actually be painted, on the tenant page and the wizard.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.restores import tasks
from tenantguard.restores.models import RestoreStatus
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.restores.services.runs import (
    restore_run_create,
    restore_run_request_execution,
    restore_run_set_dry_run,
    restore_run_set_scope,
)
from tenantguard.tenants.graph_access import embedded_emulator, graph_client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TRANSPARENT = ("rgba(0, 0, 0, 0)", "transparent")


class HeldExecution:
    """Stands in for the execution task: the run stays queued until the test executes it."""

    def __init__(self) -> None:
        self.jobs: list[tuple] = []

    def enqueue(self, *args) -> None:
        self.jobs.append(args)


class PausingTransport(httpx.BaseTransport):
    """The emulator's transport, calling ``at_first_write()`` before the first write reaches
    Graph: the executor (run by the test, in the test's thread) is then mid-run, with its
    pre-restore snapshot taken, while the page is looked at."""

    def __init__(self, inner: httpx.BaseTransport, at_first_write) -> None:
        self.inner = inner
        self.at_first_write = at_first_write
        self.paused = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        is_write = request.method in ("PATCH", "PUT") or (
            request.method == "POST" and not request.url.path.endswith("$batch")
        )
        if is_write and not self.paused:
            self.paused = True
            self.at_first_write()
        return self.inner.handle_request(request)


def _queued_run(operator, tenant, backup_set):
    run = restore_run_create(actor=operator, tenant=tenant, backup_set=backup_set)
    run = restore_run_set_scope(actor=operator, run=run, mode="all")
    run = restore_run_run_checks(actor=operator, run=run)
    run = restore_run_run_preview(actor=operator, run=run)
    run = restore_run_set_dry_run(actor=operator, run=run, dry_run=False)
    return restore_run_request_execution(
        actor=operator, run=run, acknowledged=True, typed_label=tenant.display_name
    )


def test_the_run_page_agrees_with_the_run_from_queued_to_completed_without_a_reload(
    personas, tenant, baseline, open_as, url, monkeypatch, settings
):
    # The page is looked at from inside the first write, and Playwright's sync API works only
    # on the thread that opened the page: items one at a time, on this thread.
    settings.TENANTGUARD_RESTORE_CONCURRENCY = 1
    held = HeldExecution()
    monkeypatch.setattr(tasks, "execute_restore_run_task", held)
    operator = personas["operator"]
    run = _queued_run(operator, tenant, baseline)
    assert run.status == RestoreStatus.QUEUED and held.jobs == [(run.pk,)]
    page = open_as(operator)
    page.goto(url("restores:run", run.pk))
    header_status = page.locator(".tg-run-header .tg-status")
    panel = page.locator("#run-live")
    facts = page.locator(".tg-facts")
    snapshot_link = page.get_by_role("link", name=re.compile("Pre-restore snapshot"))
    undo = page.get_by_role("button", name="Undo this restore")
    stop = page.get_by_role("button", name="Ask the run to stop")
    cancel = page.get_by_role("button", name="Cancel this run")

    expect(header_status).to_have_text("Queued")
    expect(panel).to_contain_text("Queued: waiting for a worker")
    expect(cancel).to_be_visible()
    expect(snapshot_link).to_have_count(0)
    expect(undo).to_have_count(0)

    def while_running() -> None:
        expect(panel).to_have_attribute("data-status", "running")
        expect(header_status).to_have_text("Running")
        expect(facts).to_contain_text("Execution started")
        expect(facts).not_to_contain_text("Finished")
        expect(stop).to_be_visible()
        expect(cancel).to_have_count(0)
        expect(snapshot_link).to_be_visible()
        expect(undo).to_have_count(0)

    pausing = PausingTransport(embedded_emulator().transport(), while_running)
    finished = restore_run_execute(
        run_id=run.pk, client=graph_client_for(tenant, transport=pausing)
    )

    assert pausing.paused and finished.status == RestoreStatus.COMPLETED
    expect(panel).to_have_attribute("data-status", "completed")
    expect(header_status).to_have_text("Completed")
    expect(panel).to_contain_text(f"{finished.results['items']} items: ")
    expect(facts).to_contain_text("Finished")
    expect(stop).to_have_count(0)
    expect(cancel).to_have_count(0)
    expect(snapshot_link).to_be_visible()
    expect(undo).to_be_visible()
    expect(page.locator("#audit-events")).to_contain_text("restore.finished")


def test_a_cancel_button_shown_is_one_that_works(
    personas, tenant, baseline, open_as, url, monkeypatch
):
    """Between two polls the run was taken by a worker: the page must not keep offering
    "Cancel this run" (a queued-run action the server then refuses)."""
    held = HeldExecution()
    monkeypatch.setattr(tasks, "execute_restore_run_task", held)
    operator = personas["operator"]
    run = _queued_run(operator, tenant, baseline)
    page = open_as(operator)
    page.goto(url("restores:run", run.pk))
    expect(page.get_by_role("button", name="Cancel this run")).to_be_visible()

    restore_run_execute(run_id=run.pk)

    expect(page.locator(".tg-run-header .tg-status")).to_have_text("Completed")
    expect(page.get_by_role("button", name="Cancel this run")).to_have_count(0)
    expect(page.get_by_role("button", name="Undo this restore")).to_be_visible()


def _readonly_field(page, label):
    """The value of a read-only field of an admin change page, found by its label."""
    label = re.compile(f"^{re.escape(label)}$") if isinstance(label, str) else label
    line = page.locator(".field-line", has=page.locator("label", has_text=label))
    return line.locator(".readonly")


def test_the_backup_page_agrees_with_the_backup_when_it_completes(
    personas, tenant, emulated, demo_objects, open_as, url
):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    running = backup_set_start(actor=personas["operator"], tenant=tenant, enqueue=False)
    page = open_as(personas["operator"])
    page.goto(url("admin:backups_backupset_change", running.pk))
    progress = page.locator("#backup-progress")
    status = _readonly_field(page, "Status")
    item_count = _readonly_field(page, "Item count")
    expect(progress).to_contain_text("Backup running")
    expect(status).to_contain_text("Running")

    done = backup_set_capture(backup_set=running)

    assert done.status == "completed" and done.item_count > 0
    expect(progress).to_contain_text(f"Backup completed: {done.item_count} objects")
    expect(status).to_contain_text("Completed")
    expect(status).not_to_contain_text("Running")
    expect(item_count).to_contain_text(str(done.item_count))
    expect(_readonly_field(page, re.compile("^Contents"))).to_contain_text("Settings catalog")
    expect(page.get_by_role("link", name="Restore…")).to_be_visible()


def _badge_colours(page, label: str) -> dict[str, str]:
    badge = page.locator("span").filter(has_text=re.compile(f"^{label}$")).first
    return badge.evaluate(
        """el => {
            const style = getComputedStyle(el);
            return {text: el.textContent.trim(), background: style.backgroundColor,
                    color: style.color, visible: el.offsetWidth > 0 && el.offsetHeight > 0};
        }"""
    )


@pytest.mark.parametrize("environment", ["test", "prod"])
def test_the_environment_badge_is_painted_on_the_tenant_page_and_the_wizard(
    environment, personas, tenant, prod_tenant, open_as, url
):
    target = tenant if environment == "test" else prod_tenant
    label = environment.upper()
    run = restore_run_create(actor=personas["owner"], tenant=target, backup_set=None)
    page = open_as(personas["owner"])
    painted = {}
    for where, address in (
        ("tenant page", url("admin:tenants_tenant_change", target.pk)),
        ("wizard step 1", url("restores:source", run.pk)),
        ("run page", url("restores:run", run.pk)),
    ):
        page.goto(address)
        badge = _badge_colours(page, label)
        assert badge["text"] == label, where
        assert badge["visible"], where
        assert badge["background"] not in TRANSPARENT, f"{label} badge unpainted on the {where}"
        assert badge["color"] != badge["background"], where
        painted[where] = badge["background"]
    # One badge, one colour per environment, wherever it is shown.
    assert len(set(painted.values())) == 1, painted
