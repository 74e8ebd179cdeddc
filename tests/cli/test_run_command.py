"""`tenantguard run` (what `make run` starts): demo seeded, web + worker + emulator serving."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_run_serves_the_demo_and_a_second_run_reuses_it(tmp_path):
    env = {
        **os.environ,
        "TENANTGUARD_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("TEST_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    for attempt in range(2):
        if attempt == 1:
            _make_the_prod_demo_tenant_due(tmp_path / "tenantguard.sqlite3")
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "tenantguard.cli", "run", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            # migrate, collectstatic, the demo's tenants and baseline backups come first
            deadline = time.monotonic() + 180
            while True:
                assert process.poll() is None, process.stdout.read()
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
                    if response.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "TenantGuard did not start within 60 s"
                time.sleep(0.5)
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", follow_redirects=True, timeout=10
            ) as browser:
                page = browser.get("/admin/login/")
                token = browser.cookies["csrftoken"]
                page = browser.post(
                    "/admin/login/?next=/admin/tenants/tenant/",
                    data={
                        "username": "admin",
                        "password": "tenantguard-demo",
                        "csrfmiddlewaretoken": token,
                    },
                )
                assert "Contoso Test" in page.text and "PROD" in page.text
                if attempt == 0:
                    backup_set_id = _back_up_through_the_worker(browser, page.text)
                    _checks_through_the_worker(browser, backup_set_id, page.text)
                else:
                    _wait_for_the_scheduled_backup(tmp_path / "tenantguard.sqlite3")
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
        assert "Log in as admin / tenantguard-demo" in output
        if attempt == 0:
            assert "created baseline backup of Contoso Test" in output
        else:
            assert "created tenant" not in output and "created baseline" not in output


def _back_up_through_the_worker(browser: httpx.Client, tenant_list_html: str) -> int:
    """Back up now on the web page; the task worker started by `run` completes it."""
    tenant_id = re.search(r"/admin/tenants/tenant/(\d+)/change/", tenant_list_html).group(1)
    response = browser.post(
        f"/admin/tenants/tenant/{tenant_id}/backup/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
    )
    assert "/admin/backups/backupset/" in str(response.url)
    progress_url = str(response.url).replace("/change/", "/progress/")
    deadline = time.monotonic() + 60
    while "Backup completed" not in (fragment := browser.get(progress_url).text):
        assert "failed" not in fragment.lower(), fragment
        assert time.monotonic() < deadline, "the worker did not complete the backup within 60 s"
        time.sleep(0.5)
    return int(re.search(r"/backupset/(\d+)/", str(response.url)).group(1))


def _checks_through_the_worker(
    browser: httpx.Client, backup_set_id: int, tenant_list_html: str
) -> None:
    """Step 3 of the wizard hands the checks to the worker; the page's poll sees them done."""
    tenant_id = int(re.search(r"/admin/tenants/tenant/(\d+)/change/", tenant_list_html).group(1))
    csrf = {"X-CSRFToken": browser.cookies["csrftoken"]}
    run = browser.post(
        "/api/restore-runs",
        json={"tenant_id": tenant_id, "backup_set_id": backup_set_id},
        headers=csrf,
    ).json()
    browser.put(f"/api/restore-runs/{run['id']}/scope", json={"mode": "all"}, headers=csrf)
    browser.post(
        f"/admin/restore-runs/{run['id']}/checks/run/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
    )
    deadline = time.monotonic() + 60
    while (
        poll := browser.get(f"/admin/restore-runs/{run['id']}/analysis/?step=checks")
    ).status_code != 204:
        assert "did not finish" not in poll.text, poll.text
        assert time.monotonic() < deadline, "the worker did not run the checks within 60 s"
        time.sleep(0.5)
    detail = browser.get(f"/api/restore-runs/{run['id']}").json()
    assert detail["status"] == "checked", detail


def _make_the_prod_demo_tenant_due(database) -> None:
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE tenants_tenant SET backup_schedule = 'daily', "
            "next_scheduled_backup_at = '2026-01-01 02:00:00' WHERE display_name = 'Contoso'"
        )


def _wait_for_the_scheduled_backup(database) -> None:
    """The scheduler inside `run` starts the due backup; the worker captures it."""
    deadline = time.monotonic() + 60
    query = (
        "SELECT b.status FROM backups_backupset b JOIN tenants_tenant t ON b.tenant_id = t.id "
        "WHERE t.display_name = 'Contoso' AND b.kind = 'scheduled'"
    )
    while True:
        with sqlite3.connect(database, timeout=10) as db:
            statuses = [row[0] for row in db.execute(query)]
        if statuses == ["completed"]:
            return
        assert "failed" not in statuses, statuses
        assert time.monotonic() < deadline, f"no completed scheduled backup in 60 s: {statuses}"
        time.sleep(0.5)
