"""The default install (one SQLite file shared by the web server, the task worker and CLI
commands) waits for the write lock instead of answering "database is locked".

Real processes on a real file: `tenantguard run` (web server + task worker) executes a restore
of a few hundred objects while API clients and CLI commands write at the same time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bench.bulk_tenant import generate_bulk_objects
from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.server import serve_app

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sqlite-lock-test-token"
API_THREADS = 6
FINISHED = {"completed", "partial", "failed", "cancelled"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def loopback_lab():
    emulator = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    tenant = emulator.add_tenant(
        tenant_id="lab",
        token=TOKEN,
        seed_objects=generate_bulk_objects(count=240, seed=7, tenant_label="Lab"),
    )
    server = serve_app(emulator, host="127.0.0.1", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", tenant
    server.shutdown()
    server.server_close()


@pytest.mark.slow
@pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="SQLite only: runs once, in the SQLite pass of the suite",
)
def test_api_and_cli_writes_during_a_restore_never_see_a_locked_database(tmp_path, loopback_lab):
    graph_url, lab = loopback_lab
    env = {
        **os.environ,
        "TENANTGUARD_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TENANTGUARD_CLI_USER": "admin",
        "DJANGO_SUPERUSER_PASSWORD": "sqlite-lock-test-only",
        "LAB_TOKEN": TOKEN,
        # The worker writes as fast as the emulator answers: the most contention.
        "TENANTGUARD_GRAPH_WRITES_PER_20S": "100000",
        "TENANTGUARD_GRAPH_REQUESTS_PER_20S": "100000",
    }
    for name in ("TEST_DATABASE_URL", "DATABASE_URL", "TENANTGUARD_DEBUG"):
        env.pop(name, None)

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "tenantguard.cli", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check:
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done

    port = _free_port()
    log = tmp_path / "run.log"
    with log.open("w") as output:
        run = subprocess.Popen(
            [sys.executable, "-m", "tenantguard.cli", "run", "--no-demo", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _restore_under_concurrent_writes(
            base=f"http://127.0.0.1:{port}",
            run=run,
            log=log,
            cli=cli,
            env=env,
            graph_url=graph_url,
            lab=lab,
        )
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)
    assert "database is locked" not in log.read_text()


def _restore_under_concurrent_writes(*, base, run, log, cli, env, graph_url, lab) -> None:
    deadline = time.monotonic() + 90
    while True:
        assert run.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/admin/login/", timeout=2).is_success:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "TenantGuard did not start within 90 s"
        time.sleep(0.5)

    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "createsuperuser",
            "--noinput",
            "--username",
            "admin",
            "--email",
            "a@example.com",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    cli(
        "tenant",
        "add",
        "--name",
        "Lab",
        "--tenant-id",
        "lab",
        "--cloud",
        "custom",
        "--graph-url",
        graph_url,
        "--token-env",
        "LAB_TOKEN",
    )
    api_token = cli("token", "create", "--name", "load").stdout.strip()
    cli("backup", "create", "--tenant", "Lab")

    # The tenant drifts: half of its policies deleted, half changed, so the restore writes.
    policies = [
        (collection, obj)
        for collection in (
            "deviceManagement/deviceConfigurations",
            "deviceManagement/configurationPolicies",
        )
        for obj in lab.list_objects(collection)
    ]
    for collection, obj in policies[::2]:
        lab.delete_object(collection, obj["id"])
    for collection, obj in policies[1::2]:
        lab.put_object(collection, {**obj, "description": "drifted"})

    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_token}"}, timeout=120)
    tenant_id = api.get("/api/tenants").json()[0]["id"]
    backup_set_id = api.get("/api/backup-sets").json()["items"][0]["id"]
    run_id = _ok(
        api.post("/api/restore-runs", json={"tenant_id": tenant_id, "backup_set_id": backup_set_id})
    )["id"]
    _ok(api.put(f"/api/restore-runs/{run_id}/scope", json={"mode": "all"}))
    _ok(api.post(f"/api/restore-runs/{run_id}/checks"))
    _ok(api.post(f"/api/restore-runs/{run_id}/preview"))
    _ok(api.put(f"/api/restore-runs/{run_id}/dry-run", json={"dry_run": False}))

    statuses: Counter[str] = Counter()
    failures: list[str] = []
    writes_while_running = Counter()
    lock = threading.Lock()
    done = threading.Event()
    state = {"run": "queued"}

    def api_writer() -> None:
        try:
            api_writes()
        except Exception as exc:  # a timeout or a dropped connection is a failure too
            with lock:
                failures.append(f"API writer stopped: {exc!r}")

    def api_writes() -> None:
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {api_token}"}, timeout=120
        )
        while not done.is_set():
            for method, path, body in (
                (
                    "POST",
                    "/api/restore-runs",
                    {"tenant_id": tenant_id, "backup_set_id": backup_set_id},
                ),
                ("PUT", "/api/restore-runs/{id}/scope", {"mode": "all"}),
                ("PUT", "/api/restore-runs/{id}/dry-run", {"dry_run": False}),
                ("POST", "/api/restore-runs/{id}/cancel", None),
            ):
                if method == "POST" and path == "/api/restore-runs":
                    response = client.post(path, json=body)
                    created = response.json().get("id") if response.is_success else None
                else:
                    if created is None:
                        break
                    response = client.request(method, path.format(id=created), json=body)
                with lock:
                    statuses[str(response.status_code)] += 1
                    if state["run"] == "running":
                        writes_while_running["api"] += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{method} {path}: {response.status_code} {response.text[:300]}"
                        )

    def cli_writer() -> None:
        number = 0
        while not done.is_set():
            number += 1
            finished = cli("token", "create", "--name", f"cli-{number}", check=False)
            with lock:
                if state["run"] == "running":
                    writes_while_running["cli"] += 1
                if finished.returncode != 0 or "Traceback" in finished.stderr:
                    failures.append(f"CLI token create: {finished.stderr[-500:]}")

    threads = [threading.Thread(target=api_writer) for _ in range(API_THREADS)]
    threads.append(threading.Thread(target=cli_writer))
    for thread in threads:
        thread.start()
    try:
        _ok(
            api.post(
                f"/api/restore-runs/{run_id}/execute",
                json={"acknowledged": True, "typed_label": "Lab"},
            ),
            202,
        )
        deadline = time.monotonic() + 180
        while True:
            detail = _ok(api.get(f"/api/restore-runs/{run_id}"))
            with lock:
                state["run"] = detail["status"]
            if detail["status"] in FINISHED:
                break
            with lock:
                if failures:
                    break
            assert "database is locked" not in log.read_text(), log.read_text()[-3000:]
            assert run.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, f"the restore did not finish in 180 s: {detail}"
            time.sleep(0.2)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=120)

    assert failures == [], failures[:10]
    assert detail["status"] == "completed", detail
    # The writes really overlapped the restore.
    assert writes_while_running["api"] >= 50, (writes_while_running, statuses)
    assert writes_while_running["cli"] >= 1, (writes_while_running, statuses)


def _ok(response: httpx.Response, *expected: int) -> dict:
    assert response.status_code in (expected or (200, 201)), (
        f"{response.request.method} {response.request.url.path}: "
        f"{response.status_code} {response.text[:1000]}"
    )
    return response.json()
