"""Fleet benchmark: scheduled backups of many emulated tenants, on PostgreSQL, with N workers.

    python bench/fleet.py --pg-initdb /tmp/tg-fleet-pg               # 100 x 1,000, 4 workers
    python bench/fleet.py --pg-initdb /tmp/tg-fleet-pg --tenants 5 --objects 200
    python bench/fleet.py --database-url postgres://postgres@127.0.0.1:55433/fleet
    python bench/fleet.py --sqlite --tenants 2 --objects 20 --workers 1   # the test's scale

What runs, as in production (README: "PostgreSQL with any number of workers (`python -m django
db_worker`) and one or more backup schedulers (`tenantguard backup schedule`)"):

- **one emulator process** (``python bench/fleet.py serve-emulator``) serving every tenant, each
  with its own token and Intune's real limits per app per tenant (``ThrottleConfig()``: 1,000
  requests and 100 writes per 20 s; throttling on). The objects are generated once in that
  process (``generate_bulk_objects(count=--objects, every_kind=True)``, like
  ``backup_5000.py``) and every tenant is seeded from that one list; the emulator stores its own
  copy per tenant (``Tenant.ingest`` deep-copies), so the tenants are independent (about 4 MiB
  each at 1,000 objects);
- the tenants registered in TenantGuard like the other benches do (cloud ``custom`` with the
  emulator's URL, a static token each), ``backup_schedule`` daily;
- ``--workers`` task workers started exactly as ``tenantguard run`` starts its one worker (the
  ``tenantguard.supervisor`` launcher, ``python -m django db_worker --no-reload --interval 0.5``),
  each in its own process group, output in log files of the scratch directory;
- the backup scheduler: ``python -m tenantguard.cli backup schedule`` (a pass at once, then every
  ``--scheduler-interval`` s, 60 by default like ``tenantguard run``), started the moment every
  tenant is made due.

Phases: (1) calibration (``--no-calibrate`` skips it): one extra tenant alone, due, backed up
with the same workers and scheduler: a single tenant's time and the CPU it costs everything
(workers, emulator, database, scheduler); (2) the fleet: every tenant made due with one UPDATE,
the scheduler started, then the bench waits until every scheduled backup set has finished.

Reports the total time from "all due" to "all backup sets finished", the scheduler's latency,
per-backup run times (the task's started/finished), Graph requests per backup as Intune counts
them (every ``$batch`` sub-request; the envelope is not counted) with the floor they allow,
worker concurrency reached, CPU (user+sys from ``/proc``) of each worker, the emulator, the
scheduler and PostgreSQL (the cluster's processes, with the backends that ended), the machine's
own CPU use (``/proc/stat``, so other work on the machine shows), the emulator's RSS, the
database size (``pg_database_size``; SQLite: file size), backup sets completed / partial /
failed, and the expectation from the calibration (concurrency bound ``T1 x tenants / workers``
and CPU bound ``CPU1 x tenants / cores``). ``--json PATH`` writes the figures as JSON.
``--repo /work/base`` runs another checkout's TenantGuard and emulator (a "before" figure): the
workers, the scheduler, the emulator and this process import it first.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from _harness import REPO_ROOT, mib, print_table, require
except ImportError:  # imported as bench.fleet (tests/bench)
    from bench._harness import (  # type: ignore[no-redef]
        REPO_ROOT,
        mib,
        print_table,
        require,
    )

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
FLEET_LABEL = "Fleet"
CALIBRATION_ID = "fleet-calibration"
PG_DATABASE = "tenantguard_fleet"
FINISHED = ("completed", "partial", "failed")


def tenant_id_of(index: int) -> str:
    return f"fleet-{index:04d}"


def token_of(tenant_id: str) -> str:
    return f"{tenant_id}-token"


# ------------------------------------------------------------------------------------------
# /proc measurements (Linux)
# ------------------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int, *, with_children: bool = False) -> float | None:
    """user+sys CPU seconds of ``pid`` (plus its waited-for children's), None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def proc_memory_kib(pid: int, key: str) -> int | None:
    """``VmRSS`` / ``VmHWM`` (peak) of ``pid`` in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (``/proc/stat``)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    busy = sum(values[:8]) - idle  # without guest time (already in user)
    return busy / CLK_TCK


def children_cpu_seconds(parent: int) -> float:
    """CPU of the live children of ``parent`` (PostgreSQL's backends)."""
    total = 0.0
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            stat = Path(stat_path).read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent:  # field 4: ppid
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


# ------------------------------------------------------------------------------------------
# A throwaway PostgreSQL cluster
# ------------------------------------------------------------------------------------------


def _pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: [int(x) for x in Path(p).parts[-3].split(".") if x.isdigit()],
    )
    if not candidates:
        raise SystemExit(
            f"PostgreSQL's {name} is not on PATH nor under /usr/lib/postgresql/*/bin: install "
            "PostgreSQL or pass --database-url of an existing server."
        )
    return candidates[-1]


def _as_postgres(command: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class PgCluster:
    data_dir: Path
    port: int
    keep: bool = False

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{PG_DATABASE}"

    def start(self) -> None:
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise SystemExit(
                f"--pg-initdb {self.data_dir}: the directory is not empty. Give a new directory "
                "(the bench creates a throwaway cluster there and removes it at the end) or "
                "remove that one."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    _pg_binary("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            ),
            check=True,
            cwd="/tmp",
            stdout=subprocess.DEVNULL,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k /tmp"
        started = subprocess.run(
            _as_postgres(
                [
                    _pg_binary("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-o",
                    options,
                    "-l",
                    str(self.data_dir / "log"),
                    "-w",
                    "start",
                ]
            ),
            cwd="/tmp",
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if started.returncode != 0:
            log = self.data_dir / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise SystemExit(
                f"PostgreSQL did not start on port {self.port} (is the port free?):\n{tail}"
            )
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as connection:
            connection.execute(f"CREATE DATABASE {PG_DATABASE}")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def cpu_seconds(self) -> float | None:
        """The cluster's CPU: the postmaster, the backends it reaped and those still alive."""
        pid = self.postmaster_pid()
        if pid is None:
            return None
        own = proc_cpu_seconds(pid, with_children=True)
        return None if own is None else own + children_cpu_seconds(pid)

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([_pg_binary("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"]),
            cwd="/tmp",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# The emulator process
# ------------------------------------------------------------------------------------------


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _serve_emulator_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="fleet.py serve-emulator")
    parser.add_argument("--tenants", type=int, required=True)
    parser.add_argument("--objects", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calibration", action="store_true")
    parser.add_argument("--no-throttle", action="store_true")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.repo))  # that checkout's emulator, not this one's
    emulator_module = require("tenantguard.emulator", what="the Graph emulator")
    server_module = require("tenantguard.emulator.server", what="the emulator's HTTP server")
    bulk = require("bulk_tenant", what="the bulk tenant generator (bench/bulk_tenant.py)")

    started = time.perf_counter()
    objects = bulk.generate_bulk_objects(
        count=args.objects, seed=args.seed, tenant_label=FLEET_LABEL, every_kind=True
    )
    generated = time.perf_counter() - started
    ids = [tenant_id_of(i) for i in range(args.tenants)]
    if args.calibration:
        ids.append(CALIBRATION_ID)
    config = emulator_module.EmulatorConfig(
        # Intune's real limits per app per tenant (the defaults), unless --no-throttle
        throttle=emulator_module.ThrottleConfig(enabled=not args.no_throttle),
        request_log_limit=max(100_000, len(ids) * (args.objects + 400) * 2),
    )
    emulator = emulator_module.GraphEmulator(config=config)
    for tenant_id in ids:
        # one generated list for every tenant: each stores its own copy (independent tenants)
        emulator.add_tenant(tenant_id=tenant_id, token=token_of(tenant_id), seed_objects=objects)
    seeded = time.perf_counter() - started
    del objects
    server = server_module.serve_app(emulator, host="127.0.0.1", port=0)
    print(
        f"READY http://127.0.0.1:{server.server_port} generated={generated:.2f} "
        f"seeded={seeded:.2f} code={Path(str(emulator_module.__file__)).parents[2]}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@dataclass
class EmulatorChild:
    process: subprocess.Popen[str]
    base_url: str
    seeded_seconds: float
    code: str  # the checkout the emulator imported

    def request_log(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.base_url}/_emulator/requests", timeout=120) as answer:
            return list(json.load(answer)["value"])


@contextlib.contextmanager
def emulator_child(args: argparse.Namespace, scratch: Path) -> Iterator[EmulatorChild]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "serve-emulator",
        "--tenants",
        str(args.tenants),
        "--objects",
        str(args.objects),
        "--seed",
        str(args.seed),
        "--repo",
        str(args.repo),
    ]
    if args.calibrate:
        command.append("--calibration")
    if args.no_throttle:
        command.append("--no-throttle")
    log = (scratch / "emulator.log").open("w")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=args.repo
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY "):
            process.wait(timeout=10)
            raise SystemExit(
                f"the emulator process did not start (exit code {process.poll()}); see "
                f"{scratch / 'emulator.log'}:\n{(scratch / 'emulator.log').read_text()[-2000:]}"
            )
        parts = dict(p.split("=", 1) for p in line.split()[2:])
        yield EmulatorChild(
            process=process,
            base_url=line.split()[1],
            seeded_seconds=float(parts["seeded"]),
            code=parts["code"],
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


# ------------------------------------------------------------------------------------------
# TenantGuard's own processes: workers and the scheduler
# ------------------------------------------------------------------------------------------


def _launch(
    argv: list[str], *, env: dict[str, str], log_path: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as ``tenantguard run``'s ``Supervisor`` does (its launcher, which makes
    the child die with us, execs the command: the pid is the command's), in its own session."""
    launcher = [
        sys.executable,
        "-m",
        "tenantguard.supervisor",
        "--parent",
        str(os.getpid()),
        "--",
        *argv,
    ]
    with log_path.open("ab") as log:
        return subprocess.Popen(
            launcher, env=env, cwd=cwd, stdout=log, stderr=log, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes], *, grace: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_for_line(
    path: Path, text: str, *, process: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(
        f"{path.name}: the process did not say {text!r} within {timeout:g} s (exit code "
        f"{process.poll()}):\n{path.read_text(errors='replace')[-3000:] if path.exists() else ''}"
    )


# ------------------------------------------------------------------------------------------
# Phases
# ------------------------------------------------------------------------------------------


@dataclass
class CpuProbe:
    """CPU seconds of the fleet's processes and of the whole machine, sampled together."""

    workers: dict[int, subprocess.Popen[bytes]]
    emulator_pid: int
    pg: PgCluster | None
    extra: dict[str, int] = field(default_factory=dict)  # label -> pid (the scheduler)

    def sample(self) -> dict[str, Any]:
        return {
            "at": time.monotonic(),
            "workers": {str(n): proc_cpu_seconds(p.pid) or 0.0 for n, p in self.workers.items()},
            "emulator": proc_cpu_seconds(self.emulator_pid) or 0.0,
            "postgres": (self.pg.cpu_seconds() if self.pg else None),
            "machine": machine_busy_seconds(),
            **{label: proc_cpu_seconds(pid) or 0.0 for label, pid in self.extra.items()},
        }


def _delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"wall": after["at"] - before["at"]}
    out["workers"] = {
        n: after["workers"][n] - before["workers"].get(n, 0.0) for n in after["workers"]
    }
    for key in ("emulator", "postgres", "machine", "scheduler"):
        if after.get(key) is None or key not in before:
            out[key] = after.get(key) if key == "scheduler" else None
            continue
        out[key] = after[key] - (before[key] or 0.0)
    return out


def _run_phase(
    *,
    tenant_pks: list[int],
    workers: dict[int, subprocess.Popen[bytes]],
    probe: CpuProbe,
    env: dict[str, str],
    scratch: Path,
    label: str,
    scheduler_interval: float,
    timeout: float,
    repo: Path,
) -> dict[str, Any]:
    """Make ``tenant_pks`` due, start the scheduler, wait until each has a finished scheduled
    backup set; return timings, CPU deltas and the sets' outcomes."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from tenantguard.backups.models import BackupKind, BackupSet
    from tenantguard.tenants.models import Tenant

    before = probe.sample()
    due_at = timezone.now()
    t0 = time.monotonic()
    Tenant.objects.filter(pk__in=tenant_pks).update(
        next_scheduled_backup_at=due_at - timedelta(seconds=1)
    )
    scheduler = _launch(
        [
            sys.executable,
            "-m",
            "tenantguard.cli",
            "backup",
            "schedule",
            "--interval",
            f"{scheduler_interval:g}",
        ],
        env=env,
        log_path=scratch / f"scheduler-{label}.log",
        cwd=repo,
    )
    probe.extra["scheduler"] = scheduler.pid
    sets = BackupSet.objects.filter(tenant_id__in=tenant_pks, kind=BackupKind.SCHEDULED)
    first_open: float | None = None
    all_open: float | None = None
    finished_at: float | None = None
    scheduler_cpu = 0.0
    try:
        while time.monotonic() - t0 < timeout:
            counts = Counter(sets.values_list("status", flat=True))
            opened = sum(counts.values())
            now = time.monotonic()
            if opened and first_open is None:
                first_open = now - t0
            if opened >= len(tenant_pks) and all_open is None:
                all_open = now - t0
            scheduler_cpu = proc_cpu_seconds(scheduler.pid) or scheduler_cpu
            if sum(counts[s] for s in FINISHED) >= len(tenant_pks):
                finished_at = now - t0
                break
            # one connection kept open (no close_old_connections): the bench's own polling
            # must not add a PostgreSQL backend start every 0.25 s to the database's CPU
            time.sleep(0.25)
        after = probe.sample()
    finally:
        scheduler_cpu = proc_cpu_seconds(scheduler.pid) or scheduler_cpu
        probe.extra.pop("scheduler", None)
        _stop(scheduler)
    if finished_at is None:
        raise SystemExit(
            f"{label}: not every scheduled backup finished within {timeout:g} s "
            f"({dict(Counter(sets.values_list('status', flat=True)))}); logs in {scratch}"
        )
    cpu = _delta(before, after)
    cpu["scheduler"] = scheduler_cpu

    rows = list(sets.values_list("pk", "tenant_id", "status", "item_count", "error", "created_at"))
    set_ids = {pk for pk, *_ in rows}
    tasks = []
    for result in DBTaskResult.objects.filter(enqueued_at__gte=due_at - timedelta(seconds=5)):
        args = (result.args_kwargs or {}).get("args") or []
        if args and args[0] in set_ids and result.started_at and result.finished_at:
            tasks.append(
                {
                    "backup_set": args[0],
                    "queued": (result.started_at - result.enqueued_at).total_seconds(),
                    "run": (result.finished_at - result.started_at).total_seconds(),
                    "started": (result.started_at - due_at).total_seconds(),
                    "finished": (result.finished_at - due_at).total_seconds(),
                    "worker": (result.worker_ids or ["?"])[-1],
                }
            )
    last_finished = max((t["finished"] for t in tasks), default=finished_at)
    return {
        "label": label,
        "tenants": len(tenant_pks),
        "due_at": due_at.isoformat(),
        "total_seconds": last_finished,
        "observed_seconds": finished_at,
        "first_set_opened_seconds": first_open,
        "all_sets_opened_seconds": all_open,
        "statuses": dict(Counter(status for _, _, status, *_ in rows)),
        "items": sum(count for _, _, _, count, *_ in rows),
        "errors": sorted({error for *_, error, _ in rows if error})[:5],
        "tasks": tasks,
        "cpu": cpu,
    }


def _concurrency(tasks: list[dict[str, Any]], span: float) -> tuple[float, int]:
    """Mean number of backups running at once over ``span`` seconds, and the peak."""
    busy = sum(t["run"] for t in tasks)
    events = sorted(
        [(t["started"], 1) for t in tasks] + [(t["finished"], -1) for t in tasks],
        key=lambda event: (event[0], event[1]),
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return (busy / span if span > 0 else 0.0), peak


def _requests_per_tenant(log: list[dict[str, Any]], tenant_ids: list[str]) -> dict[str, Any]:
    """What Intune counts per tenant: every request and every ``$batch`` sub-request (the
    emulator logs the envelope as ``POST /v1.0|beta/$batch`` too; it is not counted)."""
    wanted = set(tenant_ids)
    counted: Counter[str] = Counter()
    envelopes: Counter[str] = Counter()
    throttled: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    for entry in log:
        tenant = entry.get("tenant_id")
        if tenant not in wanted:
            continue
        if entry["method"] == "POST" and entry["path"].endswith("/$batch"):
            envelopes[tenant] += 1
            continue
        if entry["status"] == 429:
            throttled[tenant] += 1  # refused: Intune (and the emulator) does not count it
            continue
        counted[tenant] += 1
        if entry["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            writes[tenant] += 1
    values = [counted[t] for t in tenant_ids]
    return {
        "counted_min": min(values, default=0),
        "counted_max": max(values, default=0),
        "counted_mean": statistics.fmean(values) if values else 0.0,
        "batch_envelopes_mean": statistics.fmean([envelopes[t] for t in tenant_ids])
        if tenant_ids
        else 0.0,
        "throttled_429": sum(throttled.values()),
        "writes": sum(writes.values()),
    }


def floor_seconds(counted_requests: int, *, limit: int = 1000, window: float = 20.0) -> float:
    """Intune's floor for ``counted_requests`` of one app in one tenant: the first window is
    free, each further ``limit`` requests wait a window (plan.md)."""
    if counted_requests <= 0:
        return 0.0
    return math.floor((counted_requests - 1) / limit) * window


def _database_size() -> int | None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    path = Path(connection.settings_dict["NAME"])
    sizes = [p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists()]
    return sum(sizes) if sizes else None


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------


def _setup(args: argparse.Namespace, scratch: Path, database_url: str | None) -> dict[str, str]:
    """Environment of this process and of the workers and scheduler; Django set up here."""
    os.environ["TENANTGUARD_DATA_DIR"] = str(scratch / "data")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("TENANTGUARD_LOG_LEVEL", "WARNING")
    os.environ.pop("TEST_DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)  # SQLite in the scratch data directory
    sys.path.insert(0, str(args.repo))  # before the editable install of this checkout
    import django

    django.setup()
    return dict(os.environ)


def _register_tenants(args: argparse.Namespace, base_url: str) -> tuple[list[int], int | None]:
    from django.core.management import call_command
    from django.db import transaction

    from tenantguard.tenants.models import Tenant

    call_command("migrate", interactive=False, verbosity=0)
    if Tenant.objects.exists():
        raise SystemExit(
            "The database already holds tenants: give the fleet bench an empty database (or "
            "--pg-initdb DIR for a throwaway cluster)."
        )
    hour = datetime.now(UTC).hour
    specs = [(tenant_id_of(i), f"{FLEET_LABEL} {i:04d}") for i in range(args.tenants)]
    if args.calibrate:
        specs.append((CALIBRATION_ID, f"{FLEET_LABEL} calibration"))
    pks: list[int] = []
    with transaction.atomic():
        for tenant_id, name in specs:
            tenant = Tenant.objects.create(
                display_name=name,
                entra_tenant_id=tenant_id,
                cloud="custom",
                graph_url=base_url,
                auth_method="static_token",
                static_token=token_of(tenant_id),
                backup_schedule="daily",
                backup_hour_utc=hour,
                next_scheduled_backup_at=None,  # made due by the phase that measures it
            )
            pks.append(tenant.pk)
    calibration = pks.pop() if args.calibrate else None
    return pks, calibration


def _head(repo: Path) -> str:
    """The checkout's commit (read-only ``git rev-parse``), or "unknown"."""
    try:
        return subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _summary(phase: dict[str, Any], cores: int) -> dict[str, Any]:
    tasks = phase["tasks"]
    runs = [t["run"] for t in tasks]
    queued = [t["queued"] for t in tasks]
    cpu = phase["cpu"]
    backups = sum(cpu["workers"].values()) + cpu["emulator"] + (cpu["postgres"] or 0.0)
    ours = backups + (cpu["scheduler"] or 0.0)
    return {
        "run_min": min(runs, default=0.0),
        "run_median": statistics.median(runs) if runs else 0.0,
        "run_max": max(runs, default=0.0),
        "queued_max": max(queued, default=0.0),
        "concurrency": _concurrency(tasks, phase["total_seconds"])[0],
        "concurrency_peak": _concurrency(tasks, phase["total_seconds"])[1],
        "cpu_ours": ours,
        "cpu_backups": backups,  # workers + emulator + database, without the scheduler
        "cpu_machine": cpu["machine"],
        "cpu_others": max(0.0, (cpu["machine"] or 0.0) - ours),
        "machine_utilization": (cpu["machine"] or 0.0) / (cpu["wall"] * cores)
        if cpu["wall"]
        else 0.0,
        "workers_per_backup_task": sorted(Counter(t["worker"] for t in tasks).values()),
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve-emulator"]:
        _serve_emulator_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    database = parser.add_mutually_exclusive_group(required=True)
    database.add_argument(
        "--pg-initdb",
        type=Path,
        metavar="DIR",
        help="create a throwaway PostgreSQL cluster in DIR (new or empty), start it on "
        "--pg-port, stop and remove it at the end",
    )
    database.add_argument("--database-url", help="an existing, empty PostgreSQL database")
    database.add_argument(
        "--sqlite", action="store_true", help="SQLite in the scratch directory (tests, tiny runs)"
    )
    parser.add_argument("--pg-port", type=int, default=55433)
    parser.add_argument("--keep-pg", action="store_true", help="keep the --pg-initdb directory")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--objects", type=int, default=1000, help="policies per tenant")
    parser.add_argument("--workers", type=int, default=4, help="db_worker processes")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the bulk data")
    parser.add_argument(
        "--scheduler-interval", type=float, default=60.0, help="seconds between scheduler passes"
    )
    parser.add_argument(
        "--no-calibrate", dest="calibrate", action="store_false", help="skip the single tenant"
    )
    parser.add_argument("--no-throttle", action="store_true", help="emulator throttling off")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per phase")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=5.0,
        help="seconds measured with nothing due first (the workers' polling)",
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument(
        "--repo",
        type=Path,
        default=REPO_ROOT,
        help="the checkout whose TenantGuard runs (default: this one; e.g. /work/base for a "
        "'before' figure): workers, scheduler, emulator and this process import it first",
    )
    parser.add_argument("--keep-scratch", action="store_true", help="keep logs and data")
    args = parser.parse_args(argv)
    if args.tenants < 1 or args.workers < 1 or args.objects < 0:
        parser.error("--tenants and --workers must be at least 1, --objects at least 0")

    args.repo = args.repo.resolve()
    python_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(args.repo), python_path) if p)
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="tg-fleet-"))
    pg = PgCluster(args.pg_initdb, args.pg_port, keep=args.keep_pg) if args.pg_initdb else None
    workers: dict[int, subprocess.Popen[bytes]] = {}
    try:
        if pg is not None:
            print(f"Starting PostgreSQL in {pg.data_dir} on port {pg.port} ...", flush=True)
            pg.start()
        database_url = pg.url if pg is not None else args.database_url
        print(
            f"Seeding the emulator: {args.tenants} tenants x {args.objects} objects ...",
            flush=True,
        )
        with emulator_child(args, scratch) as emulator:
            emulator_rss_seeded = proc_memory_kib(emulator.process.pid, "VmRSS")
            env = _setup(args, scratch, database_url)
            fleet_pks, calibration_pk = _register_tenants(args, emulator.base_url)
            print(f"Starting {args.workers} worker(s) ...", flush=True)
            for number in range(args.workers):
                workers[number] = _launch(
                    [
                        sys.executable,
                        "-m",
                        "django",
                        "db_worker",
                        "--no-reload",
                        "--interval",
                        "0.5",
                    ],
                    env=env,
                    log_path=scratch / f"worker-{number}.log",
                    cwd=args.repo,
                )
            for number, process in workers.items():
                _wait_for_line(
                    scratch / f"worker-{number}.log",
                    "Starting worker",
                    process=process,
                    timeout=120,
                )
            probe = CpuProbe(workers=workers, emulator_pid=emulator.process.pid, pg=pg)
            phase_args = {
                "workers": workers,
                "probe": probe,
                "env": env,
                "scratch": scratch,
                "scheduler_interval": args.scheduler_interval,
                "timeout": args.timeout,
                "repo": args.repo,
            }
            idle_before = probe.sample()
            time.sleep(args.idle_seconds)
            idle = _delta(idle_before, probe.sample())
            idle.pop("scheduler", None)
            calibration = None
            if calibration_pk is not None:
                print("Calibration: one tenant alone ...", flush=True)
                calibration = _run_phase(
                    tenant_pks=[calibration_pk], label="calibration", **phase_args
                )
            print(f"Fleet: {args.tenants} tenants due ...", flush=True)
            fleet = _run_phase(tenant_pks=fleet_pks, label="fleet", **phase_args)
            worker_cpu_total = {str(n): proc_cpu_seconds(p.pid) or 0.0 for n, p in workers.items()}
            log = emulator.request_log()
            emulator_rss = proc_memory_kib(emulator.process.pid, "VmRSS")
            emulator_hwm = proc_memory_kib(emulator.process.pid, "VmHWM")
            worker_hwm = {str(n): proc_memory_kib(p.pid, "VmHWM") for n, p in workers.items()}
            database_size = _database_size()
            from tenantguard.backups.models import BackupItem

            item_rows = BackupItem.objects.count()
            from tenantguard.tenants.models import Tenant

            tenant_ids = dict(Tenant.objects.values_list("pk", "entra_tenant_id"))
    finally:
        for process in workers.values():
            _stop(process)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if pg is not None:
            pg.stop()
        if not args.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    load_after = os.getloadavg()

    fleet_requests = _requests_per_tenant(log, [tenant_ids[pk] for pk in fleet_pks])
    result: dict[str, Any] = {
        "command": " ".join(["python bench/fleet.py", *argv]),
        "repo": str(args.repo),
        "head": _head(args.repo),
        "emulator_code": emulator.code,
        "tenants": args.tenants,
        "objects": args.objects,
        "workers": args.workers,
        "cores": cores,
        "database": "postgresql" if database_url else "sqlite",
        "load_before": load_before,
        "load_after": load_after,
        "emulator_seeded_seconds": emulator.seeded_seconds,
        "emulator_rss_seeded_kib": emulator_rss_seeded,
        "emulator_rss_end_kib": emulator_rss,
        "emulator_peak_rss_kib": emulator_hwm,
        "worker_peak_rss_kib": worker_hwm,
        "worker_cpu_total": worker_cpu_total,
        "idle": idle,
        "database_size_bytes": database_size,
        "backup_items": item_rows,
        "fleet": fleet,
        "fleet_summary": _summary(fleet, cores),
        "fleet_requests": fleet_requests,
        "floor_seconds_per_tenant": floor_seconds(fleet_requests["counted_max"]),
    }
    if calibration is not None:
        calibration_requests = _requests_per_tenant(log, [CALIBRATION_ID])
        single = calibration["total_seconds"]  # due -> finished, one tenant alone
        scheduler_latency = calibration["first_set_opened_seconds"] or 0.0
        single_backup = single - scheduler_latency  # set opened -> finished (queue + run)
        calibration_summary = _summary(calibration, cores)
        concurrency = min(args.workers, args.tenants)
        result["calibration"] = calibration
        result["calibration_summary"] = calibration_summary
        result["calibration_requests"] = calibration_requests
        result["expected"] = {
            "single_tenant_seconds": single,
            "single_backup_seconds": single_backup,
            "naive_seconds": single * args.tenants / concurrency,
            "concurrency_bound_seconds": scheduler_latency
            + single_backup * math.ceil(args.tenants / concurrency),
            "cpu_bound_seconds": scheduler_latency
            + calibration_summary["cpu_backups"] * args.tenants / cores,
        }
    _print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    failed = fleet["statuses"].get("failed", 0)
    return 1 if failed else 0


def _floor_share(result: dict[str, Any]) -> str:
    """floor / measured, for the fleet's median backup and the calibration's (alone)."""
    floor = result["floor_seconds_per_tenant"]
    if floor <= 0:
        return "n/a: below 1,000 counted requests the floor is ~0 (latency/CPU bound)"
    shares = [f"{floor / result['fleet_summary']['run_median']:.0%}"]
    if "calibration_summary" in result:
        shares.append(f"{floor / result['calibration_summary']['run_median']:.0%}")
    return " / ".join(shares)


def _print_report(result: dict[str, Any]) -> None:
    fleet = result["fleet"]
    summary = result["fleet_summary"]
    requests = result["fleet_requests"]
    cpu = fleet["cpu"]
    wall = fleet["total_seconds"]
    workers = cpu["workers"]
    rows: list[tuple[str, object]] = [
        (
            "code (TenantGuard / emulator)",
            f"{result['repo']} (HEAD {result['head']}, with its working tree) / "
            f"{result['emulator_code']}",
        ),
        ("database", result["database"]),
        (
            "tenants x objects (policies) / workers",
            f"{result['tenants']} x {result['objects']:,} / {result['workers']}",
        ),
        (
            "load average before / after",
            " / ".join(f"{v:.2f}" for v in (result["load_before"][0], result["load_after"][0])),
        ),
        ("backup sets", ", ".join(f"{k} {v}" for k, v in sorted(fleet["statuses"].items()))),
        ("items backed up (fleet)", f"{fleet['items']:,}"),
        ("**total: all due -> all sets finished**", f"{wall:,.1f} s"),
        (
            "  scheduler: first / last set opened",
            f"{fleet['first_set_opened_seconds'] or 0:,.1f}"
            f" / {fleet['all_sets_opened_seconds'] or 0:,.1f} s",
        ),
        (
            "  backup run (task) min / median / max",
            f"{summary['run_min']:,.1f} / "
            f"{summary['run_median']:,.1f} / {summary['run_max']:,.1f} s",
        ),
        ("  longest wait in the queue", f"{summary['queued_max']:,.1f} s"),
        (
            "  backups running at once (mean / peak seen)",
            f"{summary['concurrency']:.2f} / {summary['concurrency_peak']}",
        ),
        ("  backups per worker", ", ".join(str(n) for n in summary["workers_per_backup_task"])),
        (
            "counted Graph requests per backup (min / mean / max)",
            f"{requests['counted_min']:,} / "
            f"{requests['counted_mean']:,.0f} / {requests['counted_max']:,}",
        ),
        ("  $batch envelopes per backup (not counted)", f"{requests['batch_envelopes_mean']:,.0f}"),
        ("  429 answers / writes", f"{requests['throttled_429']} / {requests['writes']}"),
        (
            "per-tenant floor at Intune's limits",
            f"{result['floor_seconds_per_tenant']:,.0f} s (+ the last request's latency)",
        ),
        (
            "  share of the floor: backup in the fleet (median) / alone",
            _floor_share(result),
        ),
        (
            "CPU workers (user+sys, s)",
            ", ".join(f"{v:,.1f}" for v in workers.values()) + f" = {sum(workers.values()):,.1f}",
        ),
        (
            "CPU emulator / PostgreSQL / scheduler (s)",
            f"{cpu['emulator']:,.1f} / "
            + ("n/a" if cpu["postgres"] is None else f"{cpu['postgres']:,.1f}")
            + f" / {cpu['scheduler'] or 0:,.1f}",
        ),
        (
            "CPU ours / whole machine / others (s)",
            f"{summary['cpu_ours']:,.1f} / "
            f"{summary['cpu_machine']:,.1f} / {summary['cpu_others']:,.1f}",
        ),
        (
            "machine CPU busy during the fleet",
            f"{summary['machine_utilization']:.0%} of {result['cores']} cores",
        ),
        ("emulator busy (its CPU / wall)", f"{cpu['emulator'] / wall:.0%}" if wall else "n/a"),
        (
            "emulator RSS seeded / end / peak",
            " / ".join(
                mib(v * 1024 if v else None)
                for v in (
                    result["emulator_rss_seeded_kib"],
                    result["emulator_rss_end_kib"],
                    result["emulator_peak_rss_kib"],
                )
            ),
        ),
        ("emulator seeding time", f"{result['emulator_seeded_seconds']:,.1f} s"),
        (
            "worker peak RSS",
            ", ".join(mib(v * 1024 if v else None) for v in result["worker_peak_rss_kib"].values()),
        ),
        ("database size", mib(result["database_size_bytes"])),
        ("backup item rows", f"{result['backup_items']:,}"),
    ]
    idle = result["idle"]
    if idle["wall"] > 0:
        rows.append(
            (
                f"idle, nothing due ({idle['wall']:.0f} s): CPU per s workers / PostgreSQL",
                f"{sum(idle['workers'].values()) / idle['wall']:.3f} / "
                + ("n/a" if idle["postgres"] is None else f"{idle['postgres'] / idle['wall']:.3f}"),
            )
        )
    if "calibration" in result:
        calibration = result["calibration"]
        cal = result["calibration_summary"]
        expected = result["expected"]
        rows += [
            (
                "calibration (1 tenant alone): due -> finished",
                f"{calibration['total_seconds']:,.1f}"
                f" s (scheduler started, first pass: {calibration['first_set_opened_seconds'] or 0:,.1f}"
                f" s; set opened -> finished: {expected['single_backup_seconds']:,.1f} s, task run "
                f"{cal['run_median']:,.1f} s)",
            ),
            (
                "  its CPU: workers + emulator + database / scheduler (s)",
                f"{cal['cpu_backups']:,.1f} / {calibration['cpu']['scheduler'] or 0:,.1f}",
            ),
            (
                "expected: T1 (due -> finished) x tenants / workers",
                f"{expected['naive_seconds']:,.1f} s",
            ),
            (
                "expected: scheduler + backup x ceil(tenants / workers)",
                f"{expected['concurrency_bound_seconds']:,.1f} s",
            ),
            (
                "expected: scheduler + backup CPU x tenants / cores",
                f"{expected['cpu_bound_seconds']:,.1f} s",
            ),
            (
                "measured / max(expected bounds)",
                f"{wall / max(expected['concurrency_bound_seconds'], expected['cpu_bound_seconds']):.2f}",
            ),
        ]
    if fleet["errors"]:
        rows.append(("errors (first 5)", "; ".join(fleet["errors"])))
    print_table(f"Fleet: {result['tenants']} scheduled backups", rows)


if __name__ == "__main__":
    raise SystemExit(main())
