"""A worker SIGKILLed at many points of a 200-item restore, then resumed each time: the tenant
ends in the intended state and no object exists twice (DESIGN.md: resumable, idempotent)."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.bulk_tenant import generate_bulk_objects
from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.server import serve_app
from tenantguard.graph import GraphClient, StaticTokenProvider
from tenantguard.intune import capture, normalize, registry

HARNESS = Path(__file__).with_name("kill_harness.py")
#: The same, restoring 4 items at once: a kill can land while several are between checkpoints.
HARNESS_CONCURRENT = Path(__file__).with_name("kill_harness_concurrent.py")
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "kill-test-token"
KILL_AFTER_WRITES = [1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 66, 78, 91, 105]


def _writes(emulator) -> int:
    return sum(
        1
        for e in emulator.request_log
        if e.method in ("POST", "PATCH", "PUT") and "$batch" not in e.path
    )


def _state(emulator, tenant_id):
    """(type, name) -> list of normalized (payload, assignments, scope tags), read like a backup."""
    client = GraphClient(
        graph_url="https://graph.microsoft.com",
        token_provider=StaticTokenProvider(TOKEN),
        transport=emulator.transport(),
    )
    state = collections.defaultdict(list)
    for item in capture.iter_capture(client):
        if (
            isinstance(item, capture.CapturedItem)
            and not registry.get(item.type_key).is_preview_only
        ):
            state[(item.type_key, item.display_name)].append(
                (
                    normalize.normalize_payload(item.type_key, item.payload),
                    normalize.normalize_assignments(item.assignments or []),
                    sorted(item.scope_tag_ids),
                )
            )
    return state


@pytest.mark.slow
@pytest.mark.parametrize(
    "harness_script", [HARNESS, HARNESS_CONCURRENT], ids=["one_item_at_a_time", "four_at_once"]
)
def test_sigkill_at_twelve_points_then_resume(tmp_path, harness_script):
    emulator = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    tenant = emulator.add_tenant(
        tenant_id="lab",
        token=TOKEN,
        seed_objects=generate_bulk_objects(count=200, seed=11, tenant_label="Lab"),
    )
    server = serve_app(emulator, host="127.0.0.1", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "TENANTGUARD_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
        # kill_harness.py restores one item at a time; kill_harness_concurrent.py sets 4
        "TENANTGUARD_RESTORE_CONCURRENCY": "1",
    }
    env.pop("TEST_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)

    def harness(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, str(harness_script), *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    try:
        intended = _state(emulator, "lab")
        backup = harness("backup", f"http://127.0.0.1:{server.server_port}", TOKEN)
        assert backup["status"] == "completed"
        policies = [
            (collection, obj)
            for collection in (
                "deviceManagement/deviceConfigurations",
                "deviceManagement/configurationPolicies",
            )
            for obj in tenant.list_objects(collection)
        ]
        for collection, obj in policies[::2]:  # half deleted, half changed
            tenant.delete_object(collection, obj["id"])
        for collection, obj in policies[1::2]:
            tenant.put_object(collection, {**obj, "description": "drifted"})
        run_id = harness("prepare", str(backup["backup_set_id"]))["run_id"]

        kills = 0
        command = "execute"
        for threshold in KILL_AFTER_WRITES:
            process = subprocess.Popen(
                [sys.executable, str(harness_script), command, str(run_id)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            while process.poll() is None and _writes(emulator) < threshold:
                time.sleep(0.005)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.communicate(timeout=60)
            command = "resume"
            if harness("status", str(run_id))["status"] != "running":
                break
        final = (
            harness("resume", str(run_id))
            if harness("status", str(run_id))["status"] == "running"
            else harness("status", str(run_id))
        )
        assert kills >= 10, (
            f"only {kills} kills landed before the run finished ({_writes(emulator)} writes)"
        )
        assert final["status"] == "completed", final
        after = _state(emulator, "lab")
        duplicates = {key: len(v) for key, v in after.items() if len(v) > 1}
        assert not duplicates, duplicates
        assert {k: v for k, v in after.items()} == {k: v for k, v in intended.items()}
        assert not any(e.method == "DELETE" for e in emulator.request_log)
    finally:
        server.shutdown()
        server.server_close()
