"""Real-browser fixtures: Debian's Chromium driven by Playwright's sync API against live_server.

The browser is started once per test process; each test gets a fresh context (cookies) logged in
by copying a Django session cookie (no login form round trip). Skipped only when
/usr/bin/chromium is absent (CI installs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a thread
# with a running loop unless told it is fine (the ORM calls here are plain synchronous ones).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EXPECT_TIMEOUT_MS = 30_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason="Debian's Chromium is not installed at /usr/bin/chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # Actions that run a whole restore inside the request (the ImmediateBackend runs the task in
    # the POST) can take several seconds on a loaded 2-core CI machine; a failing expectation
    # only waits longer, it never passes wrongly.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_as(browser, live_server):
    """``open_as(user)`` -> a Playwright page logged in as ``user`` (closed after the test)."""
    from django.conf import settings
    from django.test import Client

    contexts = []

    def make(user, *, width=1280, height=900):
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": width, "height": height})
        host = live_server.url.split("//", 1)[1].split(":")[0]
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "domain": host,
                    "path": "/",
                }
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(EXPECT_TIMEOUT_MS)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def url(live_server):
    from django.urls import reverse

    def make(name, *args, query=""):
        return live_server.url + reverse(name, args=args) + (f"?{query}" if query else "")

    return make


def screenshot(page, name: str, *, at=None) -> None:
    """Save a README screenshot of the current page (only when TENANTGUARD_SCREENSHOTS is set,
    so a normal test run never rewrites the committed PNGs)."""
    if not os.environ.get("TENANTGUARD_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if at is None:
        page.evaluate("window.scrollTo(0, 0)")
    else:
        at.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.fixture
def baseline(personas, tenant, emulated, demo_objects):
    """The demo configuration of Contoso Test, backed up, then drifted like `make run`'s demo."""
    from tenantguard.backups.services import backup_set_capture, backup_set_start
    from tenantguard.emulator.demo import apply_demo_drift
    from tenantguard.emulator.seed import collection_of

    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup_set = backup_set_capture(
        backup_set=backup_set_start(
            actor=personas["owner"], tenant=tenant, name="Demo baseline", enqueue=False
        )
    )
    apply_demo_drift(emulated, seed=1)
    return backup_set
