"""The UI works under the Content-Security-Policy, in Debian's Chromium.

Each page is opened the way an admin uses it (htmx polling included); the test collects every
``securitypolicyviolation`` event and every console error or warning, and asserts there is none,
after checking the page really was served with the policy (so a missing header cannot pass).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any script of the page, outside the page's policy (Playwright injects it).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile || ""}:${event.lineNumber || ""})`
  );
});
"""


class Watched:
    """A page whose policy violations and console errors/warnings are collected."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        self.policies: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on(
            "console",
            lambda message: (
                self.console.append(
                    f"{message.type}: {message.text} ({message.location.get('url', '')})"
                )
                if message.type in {"error", "warning"}
                else None
            ),
        )
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        page.on(
            "response",
            lambda response: (
                self.console.append(f"HTTP {response.status}: {response.url}")
                if response.status >= 400
                else None
            ),
        )

    def open(self, address: str) -> None:
        response = self.page.goto(address)
        assert response is not None and response.ok, (address, response and response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, (address, policy)
        self.page.wait_for_load_state("networkidle")

    def assert_clean(self, where: str) -> None:
        violations = self.page.evaluate("window.__cspViolations")
        assert violations == [], (where, violations)
        assert self.console == [], (where, self.console)


@pytest.fixture
def watch(open_as):
    def make(user) -> Watched:
        return Watched(open_as(user))

    return make


def test_admin_pages_run_under_the_policy(personas, tenant, baseline, watch, url):
    page = watch(personas["owner"])
    for name, args in (
        ("admin:index", ()),
        ("admin:tenants_tenant_changelist", ()),
        ("admin:tenants_tenant_change", (tenant.pk,)),
        ("admin:backups_backupset_change", (baseline.pk,)),
        ("admin:backups_backupset_changelist", ()),
        ("admin:restores_restorerun_changelist", ()),
        ("admin:audit_auditevent_changelist", ()),
        ("admin:accounts_apitoken_add", ()),
    ):
        page.open(url(name, *args))
        page.assert_clean(name)
    # Alpine.js (unfold's menus) works: the user menu opens.
    page.open(url("admin:index"))
    expect(page.page.locator("body")).not_to_have_attribute("x-cloak", "")
    page.assert_clean("alpine")


def test_a_new_api_token_is_selected_on_focus(personas, watch, url):
    page = watch(personas["owner"])
    page.open(url("admin:accounts_apitoken_add"))
    page.page.get_by_label("Name").fill("nightly CI")
    page.page.get_by_role("button", name="Create the token").click()
    field = page.page.locator("#token-value")
    field.focus()
    selected = page.page.evaluate(
        "() => { const f = document.getElementById('token-value');"
        " return f.value.substring(f.selectionStart, f.selectionEnd); }"
    )
    assert selected.startswith("tg_") and selected == field.input_value()
    page.assert_clean("api token")


def test_the_wizard_runs_under_the_policy_with_htmx_polling(
    personas, tenant, baseline, watch, url, held_analysis
):
    from tenantguard.restores.services.analysis import restore_run_analysis_run

    operator = personas["operator"]
    run = restore_run_create(actor=operator, tenant=tenant, backup_set=baseline)
    page = watch(operator)
    page.open(url("restores:source", run.pk))
    page.assert_clean("source")
    run = restore_run_set_scope(actor=operator, run=run, mode="all")
    page.open(url("restores:scope", run.pk))
    # htmx's live search swaps the item list.
    with page.page.expect_response(lambda r: "fragment=list" in r.url):
        page.page.get_by_label("Search items").fill("Windows")
    page.assert_clean("scope")

    page.open(url("restores:checks", run.pk))
    page.page.get_by_role("button", name="Run the checks").click()
    expect(page.page.locator("#analysis")).to_contain_text("waiting for the task worker")
    # The progress box polls (htmx every 1 s) ...
    with page.page.expect_response(lambda r: "/analysis/" in r.url):
        pass
    [(run_id, job_id)] = held_analysis.jobs
    assert restore_run_analysis_run(run_id=run_id, job_id=job_id) == "done"
    # ... and reloads the page with the results when the job is done.
    expect(page.page.locator("#checks-summary")).to_contain_text("blocking")
    page.assert_clean("checks")

    run = restore_run_run_checks(actor=operator, run=run)
    run = restore_run_run_preview(actor=operator, run=run)
    page.open(url("restores:preview", run.pk))
    page.assert_clean("preview")
    page.open(url("restores:confirm", run.pk))
    page.assert_clean("confirm")
    page.open(url("restores:run", run.pk))
    page.assert_clean("run page")


def test_the_api_docs_render_under_the_policy(personas, watch, live_server):
    page = watch(personas["owner"])
    page.open(live_server.url + "/api/docs")
    expect(page.page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.page.get_by_text("TenantGuard API").first).to_be_visible()
    page.assert_clean("/api/docs")


def test_the_login_page_runs_under_the_policy(browser, live_server, make_user):
    make_user("owner")
    context = browser.new_context()
    try:
        page = Watched(context.new_page())
        page.open(live_server.url + "/admin/login/")
        page.page.get_by_label("Username").fill("owner")
        page.page.get_by_label("Password").fill("pw-owner")
        page.page.get_by_role("button", name="Log in").click()
        expect(page.page).to_have_url(live_server.url + "/admin/")
        page.assert_clean("login")
    finally:
        context.close()
