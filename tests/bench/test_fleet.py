"""bench/fleet.py at a tiny scale (2 tenants x 20 policies, 1 worker, SQLite), so the script
cannot rot: the product's own scheduler and worker back every tenant up, the figures add up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fleet import floor_seconds

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def test_floor_counts_the_free_first_window_then_one_window_per_thousand():
    assert floor_seconds(0) == 0.0
    assert floor_seconds(769) == 0.0
    assert floor_seconds(1000) == 0.0
    assert floor_seconds(1001) == 20.0
    assert floor_seconds(2856) == 40.0
    assert floor_seconds(250, limit=100, window=20.0) == 40.0


@pytest.mark.slow
def test_fleet_backs_up_every_tenant_through_the_scheduler_and_a_worker(tmp_path):
    out = tmp_path / "fleet.json"
    env = {key: value for key, value in os.environ.items() if "DATABASE_URL" not in key}
    env["PYTHONPATH"] = str(ROOT)
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fleet.py"),
            "--sqlite",
            "--tenants",
            "2",
            "--objects",
            "20",
            "--workers",
            "1",
            "--timeout",
            "240",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    result = json.loads(out.read_text())

    fleet = result["fleet"]
    assert result["database"] == "sqlite"
    assert fleet["statuses"] == {"completed": 2}
    # one task per tenant, both run by the one worker, after the scheduler opened the sets
    assert len(fleet["tasks"]) == 2
    assert len({task["backup_set"] for task in fleet["tasks"]}) == 2
    assert result["fleet_summary"]["workers_per_backup_task"] == [2]
    assert result["fleet_summary"]["concurrency_peak"] == 1
    assert 0 < fleet["first_set_opened_seconds"] <= fleet["all_sets_opened_seconds"]
    assert fleet["all_sets_opened_seconds"] <= fleet["total_seconds"]
    # every seeded policy is in its tenant's backup (plus foundations and built-ins)
    assert fleet["items"] >= 2 * 20
    assert result["backup_items"] == fleet["items"] + result["calibration"]["items"]
    # the emulator counted every tenant's requests, none refused at Intune's limits
    requests = result["fleet_requests"]
    assert requests["counted_min"] == requests["counted_max"] > 20
    assert requests["throttled_429"] == 0
    assert result["floor_seconds_per_tenant"] == 0.0
    # CPU and memory were measured from /proc, the database size from its file
    assert sum(fleet["cpu"]["workers"].values()) > 0
    assert fleet["cpu"]["emulator"] > 0
    assert result["emulator_peak_rss_kib"] > 0
    assert result["database_size_bytes"] > 0
    expected = result["expected"]
    assert expected["single_backup_seconds"] > 0
    assert expected["concurrency_bound_seconds"] >= expected["single_backup_seconds"]
