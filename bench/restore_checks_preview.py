"""Restore benchmark: safety checks + preview of a whole backup set against a changed tenant.

    python bench/restore_checks_preview.py                    # 1,000 and 5,000 policies
    python bench/restore_checks_preview.py --count 1000
    python bench/restore_checks_preview.py --count 5000 --no-tracemalloc
    python bench/restore_checks_preview.py --count 5000 --throttle   # at Intune's real limits

For each count: seeds a loopback Graph emulator (throttling off) with ``generate_bulk_objects``,
backs the tenant up through TenantGuard's backup service (scratch SQLite database), changes the
tenant through the emulator's Python API (deletes ~10 % of the policies, modifies ~20 %),
creates a restore run with scope ``all``, then times ``restore_run_run_checks`` and
``restore_run_run_preview`` separately and together. Prints wall time, Graph requests
(``client.request_count`` as the services record it, and the emulator's request log) and memory
(tracemalloc heap peak in a second, traced pass; process peak RSS).

``--throttle``: after the backup (taken unthrottled: it is set-up, not measured), the emulator
throttles at Intune's real limits (``ThrottleConfig``: 1,000 requests and 100 writes per app
per ``--window-seconds``, 20 s) and the product's own pacers do too: the setting
``TENANTGUARD_GRAPH_REQUESTS_PER_20S`` / ``..._WRITES_PER_20S`` is set to those limits and the
tenants' shared pacers are rebuilt, so ``graph_client_for`` (what the checks and the preview use
in production) paces exactly as it does in production. The table then adds the floor of the
requests counted by the emulator (the first window is free: ``floor((N - 1) / 1000) * 20 s``)
and the share of it reached, and the 429 answers. The traced second pass is skipped.

Targets (issue 3): checks + preview under 10 s for 1,000 and under 60 s for 5,000 items.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import (
    HeapWatch,
    emulator_process,
    loopback_emulator,
    max_rss_bytes,
    measure,
    mib,
    print_table,
    require,
)

TOKEN_PREFIX = "bench-token"
FOUNDATION_TYPES = ("scope_tag", "assignment_filter", "notification_template")
TARGETS = {1000: 10.0, 5000: 60.0}


# ------------------------------------------------------------------------------------------
# Product set-up shared with restore_execute_1000.py
# ------------------------------------------------------------------------------------------


def setup_django(scratch: Path) -> None:
    """Django on a scratch SQLite database (migrated), tasks only queued, never run inline."""
    data = scratch / "data"
    data.mkdir(parents=True, exist_ok=True)
    os.environ["TENANTGUARD_DATA_DIR"] = str(data)
    os.environ["DATABASE_URL"] = f"sqlite:///{data / 'bench.sqlite3'}"
    os.environ["TENANTGUARD_TASK_BACKEND"] = "django_tasks_db.DatabaseBackend"
    # Throttling is off in this emulator: measure TenantGuard, not Intune's 1000-per-20-s pacing
    # (which alone would hold 5,000 batched reads for about 100 s).
    os.environ.setdefault("TENANTGUARD_GRAPH_REQUESTS_PER_20S", "1000000")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def bench_admin() -> Any:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    existing = user_model.objects.filter(username="bench").first()
    return existing or user_model.objects.create_superuser("bench", password="bench-only")


def new_emulator(*, throttle: Any = None) -> Any:
    emulator_module = require("tenantguard.emulator", what="the Graph emulator")
    return emulator_module.GraphEmulator(
        config=emulator_module.EmulatorConfig(
            throttle=throttle or emulator_module.ThrottleConfig(enabled=False)
        )
    )


def seed_tenant(emulator: Any, *, tenant_id: str, count: int, seed: int, label: str) -> Any:
    """Register ``tenant_id`` in the emulator, seeded with ``count`` bulk policies."""
    bulk = require("bulk_tenant", what="the bulk tenant generator (bench/bulk_tenant.py)")
    objects = bulk.generate_bulk_objects(count=count, seed=seed, tenant_label=label)
    return emulator.add_tenant(
        tenant_id=tenant_id, token=f"{TOKEN_PREFIX}-{tenant_id}", seed_objects=objects
    )


def product_tenant(*, tenant_id: str, label: str, base_url: str) -> Any:
    """A Tenant row (cloud ``custom``) pointing at the loopback emulator."""
    from tenantguard.tenants.models import Tenant

    return Tenant.objects.create(
        display_name=label,
        entra_tenant_id=tenant_id,
        cloud="custom",
        graph_url=base_url,
        auth_method="static_token",
        static_token=f"{TOKEN_PREFIX}-{tenant_id}",
    )


def take_backup(*, actor: Any, tenant: Any, client: Any = None) -> Any:
    from tenantguard.backups.services import backup_set_capture, backup_set_start

    backup_set = backup_set_start(actor=actor, tenant=tenant, enqueue=False)
    return backup_set_capture(backup_set=backup_set, client=client)


def policy_items(backup_set: Any) -> list[Any]:
    """The backup's writable policies (foundations and preview-only types left out), by pk."""
    from tenantguard.intune import registry

    items = []
    for item in backup_set.items.exclude(policy_type__in=FOUNDATION_TYPES).order_by("pk"):
        ptype = registry.POLICY_TYPES.get(item.policy_type)
        if ptype is None or ptype.is_preview_only or ptype.is_foundation:
            continue
        items.append(item)
    return items


def modify_live(emulated: Any, item: Any, *, note: str) -> bool:
    """Change the live object of ``item`` as an admin in the portal would (description)."""
    from tenantguard.intune import registry

    collection = registry.get(item.policy_type).collection
    live = emulated.get_object(collection, item.source_id)
    if live is None:
        return False
    live["description"] = note
    emulated.put_object(collection, live)
    return True


def delete_live(emulated: Any, item: Any) -> bool:
    from tenantguard.intune import registry

    return bool(emulated.delete_object(registry.get(item.policy_type).collection, item.source_id))


def log_split(entries: list[Any]) -> tuple[Counter[str], Counter[str]]:
    """(by method, by status) of emulator request-log entries."""
    methods: Counter[str] = Counter(
        f"{entry.method} $batch" if entry.path.endswith("/$batch") else entry.method
        for entry in entries
    )
    statuses: Counter[str] = Counter(str(entry.status) for entry in entries)
    return methods, statuses


def fmt_counter(counter: Counter[str]) -> str:
    return ", ".join(f"{key}: {value:,}" for key, value in counter.most_common()) or "-"


def current_rss_bytes() -> int | None:
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


# ------------------------------------------------------------------------------------------
# The benchmark
# ------------------------------------------------------------------------------------------


@dataclass
class Phase:
    wall: float
    client_requests: int
    log: list[Any]
    #: CPU seconds of this process (the loopback emulator's threads included).
    cpu: float = 0.0
    #: Seconds from the start of the step to its last Graph request (None: it sent none).
    last_request: float | None = None


def _phase(emulator: Any, tenant_id: str, action: Any) -> tuple[Any, Phase]:
    start = len(emulator.request_log)
    stamps = _stamp_requests(emulator)
    first_stamp = len(stamps)
    started = time.perf_counter()
    cpu_started = time.process_time()
    run = action()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    entries = [e for e in emulator.request_log[start:] if e.tenant_id == tenant_id]
    mine = [moment for moment, tenant in stamps[first_stamp:] if tenant == tenant_id]
    last = (mine[-1] - started) if mine else None
    return run, Phase(wall=wall, client_requests=0, log=entries, cpu=cpu, last_request=last)


def _stamp_requests(emulator: Any) -> list[tuple[float, str | None]]:
    """``(perf_counter, tenant id)`` of every request the emulator logs from now on (its own
    log has no times); installed once per emulator."""
    stamps: list[tuple[float, str | None]] | None = getattr(emulator, "_bench_stamps", None)
    if stamps is not None:
        return stamps
    stamps = []
    original = emulator._log

    def timed(tenant_id: str | None, method: str, path: str, status: int) -> None:
        stamps.append((time.perf_counter(), tenant_id))
        original(tenant_id, method, path, status)

    emulator._log = timed
    emulator._bench_stamps = stamps
    return stamps


def throttle_at_intune_limits(emulator: Any, *, window_seconds: float) -> Any:
    """Switch the emulator to Intune's real limits and give the product's pacers the same ones
    (through the settings ``graph_client_for`` builds the tenants' shared pacers from)."""
    from django.conf import settings

    from tenantguard.tenants.graph_access import reset_shared_pacers

    emulator_module = require("tenantguard.emulator", what="the Graph emulator")
    throttle = emulator_module.ThrottleConfig(enabled=True, window_seconds=window_seconds)
    settings.TENANTGUARD_GRAPH_REQUESTS_PER_20S = throttle.app_request_limit
    settings.TENANTGUARD_GRAPH_WRITES_PER_20S = throttle.app_write_limit
    if window_seconds != 20.0:
        # The product's pacers have a fixed 20 s period: scale the counts to the window.
        settings.TENANTGUARD_GRAPH_REQUESTS_PER_20S = round(
            throttle.app_request_limit * 20.0 / window_seconds
        )
        settings.TENANTGUARD_GRAPH_WRITES_PER_20S = round(
            throttle.app_write_limit * 20.0 / window_seconds
        )
    reset_shared_pacers()
    emulator.set_throttle(throttle)
    return throttle


def counted_requests(entries: list[Any]) -> int:
    """Requests the throttle counted: every request and ``$batch`` sub-request it let through
    (the ``$batch`` envelope itself and the refused ones, 429, are not counted)."""
    return sum(1 for e in entries if not e.path.endswith("/$batch") and e.status != 429)


def floor_seconds(requests: int, *, limit: int, window_seconds: float) -> float:
    """The least time ``requests`` counted requests take under ``limit`` per window (the
    first window is free)."""
    return max(0, (requests - 1) // limit) * window_seconds if requests else 0.0


def _kept_read_size(run: Any) -> str:
    """Size of the checks' read kept for the preview (``RestoreTargetRead``), when kept."""
    try:
        from tenantguard.restores.models import RestoreTargetRead
    except ImportError:
        return "- (no kept read in this version)"
    kept = RestoreTargetRead.objects.filter(run_id=run.pk).first()
    if kept is None:
        return "- (not kept)"
    return (
        f"{mib(len(kept.data))} / {mib(kept.raw_bytes)} of JSON lines, "
        f"{kept.object_count:,} objects"
    )


def bench_count(args: argparse.Namespace, count: int, admin: Any) -> list[tuple[str, object]]:
    from tenantguard.restores.services.checks import restore_run_run_checks
    from tenantguard.restores.services.diff import restore_run_run_preview
    from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope

    tenant_id = f"bench-{count}"
    label = f"Contoso Bench {count}"
    emulator = new_emulator()
    print(f"[{count:,}] seeding the emulator ...", flush=True)
    emulated = seed_tenant(emulator, tenant_id=tenant_id, count=count, seed=args.seed, label=label)
    rows: list[tuple[str, object]] = []
    with loopback_emulator(emulator) as running:
        tenant = product_tenant(tenant_id=tenant_id, label=label, base_url=running.base_url)
        print(f"[{count:,}] backing up through the backup service ...", flush=True)
        started = time.perf_counter()
        backup_set = take_backup(actor=admin, tenant=tenant)
        backup_wall = time.perf_counter() - started
        policies = policy_items(backup_set)
        rng = random.Random(args.seed)
        rng.shuffle(policies)
        n_delete = round(len(policies) * args.delete_share)
        n_modify = round(len(policies) * args.modify_share)
        deleted = sum(delete_live(emulated, item) for item in policies[:n_delete])
        modified = sum(
            modify_live(emulated, item, note="changed after the backup (bench)")
            for item in policies[n_delete : n_delete + n_modify]
        )
        print(
            f"[{count:,}] backup: {backup_set.items.count():,} items in {backup_wall:.1f} s; "
            f"deleted {deleted:,}, modified {modified:,} in the tenant",
            flush=True,
        )

        def new_run() -> Any:
            run = restore_run_create(actor=admin, tenant=tenant, backup_set=backup_set)
            return restore_run_set_scope(actor=admin, run=run, mode="all")

        # Pass 1: clean timing (no tracemalloc).
        run = new_run()
        throttle = None
        if args.throttle:
            throttle = throttle_at_intune_limits(emulator, window_seconds=args.window_seconds)
            print(
                f"[{count:,}] throttling on: {throttle.app_request_limit:,} requests / "
                f"{throttle.app_write_limit} writes per {throttle.window_seconds:g} s "
                "(emulator and the product's pacers)",
                flush=True,
            )
        rss_before = max_rss_bytes()
        print(f"[{count:,}] checks ...", flush=True)
        run, checks = _phase(
            emulator, tenant_id, lambda: restore_run_run_checks(actor=admin, run=run)
        )
        checks.client_requests = int(
            run.metadata.get("checks", {}).get("summary", {}).get("graph_requests", 0)
        )
        kept_read = _kept_read_size(run)
        print(f"[{count:,}] preview ...", flush=True)
        run, preview = _phase(
            emulator, tenant_id, lambda: restore_run_run_preview(actor=admin, run=run)
        )
        preview_summary = run.metadata.get("preview", {}).get("summary", {})
        preview.client_requests = int(preview_summary.get("graph_requests", 0))
        rss_after = max_rss_bytes()
        actions = run.metadata.get("preview", {}).get("actions", {})
        severities = Counter(run.check_results.values_list("severity", flat=True))

        # Pass 2: the same two steps on a fresh run, under tracemalloc (slower; heap peak only).
        traced = None
        if not args.no_tracemalloc and throttle is None:
            print(f"[{count:,}] checks + preview again under tracemalloc ...", flush=True)
            second = new_run()
            with measure(trace_memory=True) as traced:
                second = restore_run_run_checks(actor=admin, run=second)
                second = restore_run_run_preview(actor=admin, run=second)

    together = checks.wall + preview.wall
    floor_rows: list[tuple[str, object]] = []
    if throttle is not None:
        counted = {
            name: counted_requests(phase.log)
            for name, phase in (("checks", checks), ("preview", preview))
        }
        total = sum(counted.values())
        floor = floor_seconds(
            total, limit=throttle.app_request_limit, window_seconds=throttle.window_seconds
        )
        throttled = sum(1 for entry in checks.log + preview.log if entry.status == 429)
        floor_rows = [
            (
                "counted requests (what the throttle counts)",
                f"{total:,} (checks {counted['checks']:,}, preview {counted['preview']:,})",
            ),
            (
                "floor at these limits",
                f"{floor:,.0f} s = floor(({total:,} - 1) / {throttle.app_request_limit:,}) "
                f"x {throttle.window_seconds:g} s",
            ),
            (
                "share of the floor reached",
                f"{floor / together:.0%}"
                if floor and together
                else "- (every request fits in the first, free window)",
            ),
            ("429 answers (checks + preview)", f"{throttled:,}"),
        ]
    target = TARGETS.get(count)
    verdict = ""
    if target is not None:
        verdict = f" (target < {target:g} s: {'met' if together < target else 'MISSED'})"
    for name, phase in (("checks", checks), ("preview", preview)):
        methods, statuses = log_split(phase.log)
        rows += [
            (f"{name}: wall time", f"{phase.wall:,.2f} s"),
            (f"{name}: CPU time (process, emulator included)", f"{phase.cpu:,.2f} s"),
            (
                f"{name}: last Graph request at / after it",
                "- (no request)"
                if phase.last_request is None
                else f"{phase.last_request:,.2f} s / {phase.wall - phase.last_request:,.2f} s",
            ),
            (f"{name}: Graph requests (client.request_count)", f"{phase.client_requests:,}"),
            (f"{name}: emulator log (batch parts each)", f"{len(phase.log):,}"),
            (f"{name}:   by method / status", f"{fmt_counter(methods)} / {fmt_counter(statuses)}"),
        ]
    rows = [
        ("backup items (policies + foundations)", f"{backup_set.items.count():,}"),
        ("policies deleted / modified in tenant", f"{deleted:,} / {modified:,}"),
        ("backup wall time (setup, not measured)", f"{backup_wall:,.1f} s"),
        *rows,
        ("checks + preview: wall time", f"{together:,.2f} s{verdict}"),
        (
            "checks + preview: Graph requests",
            f"{checks.client_requests + preview.client_requests:,} client, "
            f"{len(checks.log) + len(preview.log):,} emulator log",
        ),
        *floor_rows,
        ("checks' read kept for the preview (compressed / raw)", kept_read),
        ("check results by severity", fmt_counter(severities)),
        ("preview actions", ", ".join(f"{k}: {v:,}" for k, v in actions.items() if v)),
        (
            "tracemalloc peak (checks + preview, pass 2)",
            "skipped" if traced is None else mib(traced.tracemalloc_peak_bytes),
        ),
        (
            "wall time under tracemalloc (pass 2)",
            "skipped" if traced is None else f"{traced.wall_seconds:,.2f} s",
        ),
        ("peak RSS before / after pass 1", f"{mib(rss_before)} / {mib(rss_after)}"),
        ("RSS now", mib(current_rss_bytes())),
    ]
    emulator.close()
    return rows


# ------------------------------------------------------------------------------------------
# Memory mode: each step in a fresh process, the emulator in a child (``--memory``)
# ------------------------------------------------------------------------------------------

MEMORY_TENANT = "bench-mem"


def _write_seeds(args: argparse.Namespace, count: int, before: Path, after: Path) -> None:
    """Two seed directories of ``count`` policies: the tenant as backed up, and the tenant as
    checked (``--delete-share`` of the policies gone, ``--modify-share`` with a new
    description and modification time), changed the way ``bench_count`` changes it live."""
    bulk = require("bulk_tenant", what="the bulk tenant generator (bench/bulk_tenant.py)")
    demo = require("tenantguard.emulator.demo", what="the emulator demo data")
    registry = require("tenantguard.intune.registry", what="the policy-type registry")
    objects = bulk.generate_bulk_objects(
        count=count, seed=args.seed, tenant_label=f"Contoso Bench {count}"
    )
    demo.write_seed_dir(objects, before)
    policies = []
    for index, obj in enumerate(objects):
        ptype = registry.classify(demo.collection_of(obj), obj)
        if ptype.is_foundation or ptype.is_preview_only or ptype.parent is not None:
            continue
        if registry.is_unsupported(ptype):
            continue
        policies.append(index)
    rng = random.Random(args.seed)
    rng.shuffle(policies)
    n_delete = round(len(policies) * args.delete_share)
    n_modify = round(len(policies) * args.modify_share)
    deleted = set(policies[:n_delete])
    for index in policies[n_delete : n_delete + n_modify]:
        obj = objects[index]
        obj["description"] = "changed after the backup (bench)"
        if "lastModifiedDateTime" in obj:
            obj["lastModifiedDateTime"] = "2099-01-01T00:00:00Z"
    demo.write_seed_dir([obj for index, obj in enumerate(objects) if index not in deleted], after)
    print(
        f"[{count:,}] seeds written: {len(objects):,} objects; {n_delete:,} policies deleted, "
        f"{n_modify:,} modified for the checks",
        flush=True,
    )


def _short(filename: str) -> str:
    return filename.split("/tenantguard/", 1)[-1].split("/site-packages/", 1)[-1]


def _memory_step(args: argparse.Namespace) -> int:
    """One step of the memory mode in this (fresh) process; results as JSON."""
    import json

    setup_django(args.scratch)
    from tenantguard.restores.models import RestoreRun
    from tenantguard.restores.services.checks import restore_run_run_checks
    from tenantguard.restores.services.diff import restore_run_run_preview
    from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
    from tenantguard.tenants.models import Tenant

    admin = bench_admin()
    result: dict[str, Any] = {"step": args.memory_step}
    if args.memory_step == "backup":
        tenant = product_tenant(
            tenant_id=MEMORY_TENANT, label="Contoso Bench", base_url=args.base_url
        )
        backup_set = take_backup(actor=admin, tenant=tenant)
        run = restore_run_create(actor=admin, tenant=tenant, backup_set=backup_set)
        run = restore_run_set_scope(actor=admin, run=run, mode="all")
        result.update(run=run.pk, items=backup_set.items.count())
    else:
        Tenant.objects.filter(entra_tenant_id=MEMORY_TENANT).update(graph_url=args.base_url)
        run = RestoreRun.objects.get(pk=args.run)
        step = restore_run_run_checks if args.memory_step == "checks" else restore_run_run_preview
        rss_before = max_rss_bytes()
        cpu = time.process_time()
        started = time.perf_counter()
        if args.tracemalloc_top:
            with HeapWatch() as watch:
                run = step(actor=admin, run=run)
            result.update(
                tracemalloc_peak=watch.peak, heap_at_snapshot=watch.size, top=watch.top(12)
            )
        elif args.profile_top:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)
            run = profiler.runcall(step, actor=admin, run=run)
            stats = pstats.Stats(profiler)
            total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
            ranked = sorted(
                stats.stats.items(),  # type: ignore[attr-defined]
                key=lambda entry: entry[1][2],
                reverse=True,
            )
            result["profile"] = [
                (f"{_short(where[0])}:{where[1]}({where[2]})", row[2], row[3])
                for where, row in ranked[: args.profile_top]
            ]
            result["profiled"] = total
        else:
            run = step(actor=admin, run=run)
        result.update(
            wall=time.perf_counter() - started,
            cpu=time.process_time() - cpu,
            rss_before=rss_before,
            rss_peak=max_rss_bytes(),
        )
        if args.memory_step == "checks":
            summary = run.metadata.get("checks", {}).get("summary", {})
            result.update(
                items=summary.get("items"),
                requests=summary.get("graph_requests"),
                kept=_kept_read_size(run),
            )
        else:
            preview = run.metadata.get("preview", {})
            result.update(
                actions=preview.get("actions", {}),
                reused=(preview.get("summary", {}).get("target_read") or {}).get("reused"),
            )
    args.json_out.write_text(json.dumps(result))
    return 0


def _memory_mode(args: argparse.Namespace) -> int:
    """Each count: seeds written by a child, the backup in a fresh process, then checks and
    preview each in a fresh process (emulator in its own child); their peak RSS compared."""
    import json
    import subprocess
    import sys

    script = str(Path(__file__).resolve())
    rows: list[tuple[str, object]] = []
    first: dict[str, int] = {}
    for count in args.count:
        with tempfile.TemporaryDirectory(prefix="tg-bench-restore-mem-") as scratch_name:
            scratch = Path(scratch_name)
            before, after = scratch / "seed-before", scratch / "seed-after"
            subprocess.run(
                [
                    sys.executable,
                    script,
                    "--count",
                    str(count),
                    "--seed",
                    str(args.seed),
                    "--delete-share",
                    str(args.delete_share),
                    "--modify-share",
                    str(args.modify_share),
                    "--memory-seeds",
                    str(before),
                    str(after),
                ],
                check=True,
            )

            def child(
                step: str,
                base_url: str,
                run: int = 0,
                top: int = 0,
                scratch: Path = scratch,
                count: int = count,
            ) -> dict[str, Any]:
                out = scratch / f"{step}-{top}.json"
                command = [
                    sys.executable,
                    script,
                    "--memory-step",
                    step,
                    "--scratch",
                    str(scratch),
                    "--base-url",
                    base_url,
                    "--run",
                    str(run),
                    "--json-out",
                    str(out),
                    "--tracemalloc-top",
                    str(top),
                    "--profile-top",
                    str(args.profile_top),
                ]
                print(
                    f"[{count:,}] {step}{' (traced)' if top else ''} in a fresh process ...",
                    flush=True,
                )
                subprocess.run(command, check=True)
                return dict(json.loads(out.read_text()))

            with emulator_process(
                seed_dir=before, tenant_id=MEMORY_TENANT, token=f"{TOKEN_PREFIX}-{MEMORY_TENANT}"
            ) as emulator:
                backup = child("backup", emulator.base_url)
            with emulator_process(
                seed_dir=after, tenant_id=MEMORY_TENANT, token=f"{TOKEN_PREFIX}-{MEMORY_TENANT}"
            ) as emulator:
                steps = {
                    name: child(name, emulator.base_url, backup["run"])
                    for name in ("checks", "preview")
                }
                traced = {}
                if args.tracemalloc_top:
                    traced = {
                        name: child(name, emulator.base_url, backup["run"], args.tracemalloc_top)
                        for name in ("checks", "preview")
                    }
        rows.append((f"{count:,} policies: backup items", f"{backup['items']:,}"))
        for name, found in steps.items():
            peak = int(found["rss_peak"])
            first.setdefault(name, peak)
            rows += [
                (
                    f"  {name}: peak RSS (RSS before the step)",
                    f"{mib(peak)} ({mib(found['rss_before'])}), "
                    f"{peak / first[name]:.0%} of the first count",
                ),
                (f"  {name}: wall / CPU", f"{found['wall']:,.1f} s / {found['cpu']:,.1f} s"),
            ]
            if name == "checks":
                rows.append(
                    (
                        f"  {name}: Graph requests, kept read",
                        f"{found['requests']:,}, {found['kept']}",
                    )
                )
            else:
                rows.append(
                    (
                        f"  {name}: reused the checks' read; actions",
                        f"{found['reused']}; {found['actions']}",
                    )
                )
            if found.get("profile"):
                rows.append(
                    (
                        f"  {name}: cProfile (CPU clock) top tottime of",
                        f"{found['profiled']:,.2f} s",
                    )
                )
                rows += [
                    (f"    {where}", f"{tottime:,.2f} s / {cumtime:,.2f} s")
                    for where, tottime, cumtime in found["profile"]
                ]
            if name in traced:
                heap = traced[name]
                rows.append(
                    (
                        f"  {name}: tracemalloc peak / largest snapshot",
                        f"{mib(heap['tracemalloc_peak'])} / {mib(heap['heap_at_snapshot'])}",
                    )
                )
                rows += [
                    (f"    {where}", f"{mib(size)} in {blocks:,} blocks")
                    for where, size, blocks in heap["top"]
                ]
    print_table(
        "Peak RSS of checks and preview by tenant size (fresh process each, emulator in a child)",
        rows,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, nargs="+", default=[1000, 5000], help="policies (default 1000 5000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of data and changes")
    parser.add_argument("--delete-share", type=float, default=0.10)
    parser.add_argument("--modify-share", type=float, default=0.20)
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the traced second pass")
    parser.add_argument(
        "--throttle",
        action="store_true",
        help="checks + preview at Intune's real limits (emulator and the product's pacers)",
    )
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=20.0,
        help="throttling window with --throttle (Intune: 20; the same counts per window)",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="peak RSS of checks and of preview per --count, each in a fresh process",
    )
    parser.add_argument(
        "--tracemalloc-top",
        type=int,
        default=0,
        help="with --memory: also a traced run of each step, its N largest allocation sites",
    )
    parser.add_argument(
        "--profile-top",
        type=int,
        default=0,
        help="with --memory: cProfile each step (CPU clock), its N top functions by tottime",
    )
    # Internal: the children of --memory.
    parser.add_argument("--memory-seeds", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--memory-step", choices=("backup", "checks", "preview"), help=argparse.SUPPRESS
    )
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_seeds:
        _write_seeds(args, args.count[0], *args.memory_seeds)
        return 0
    if args.memory_step:
        return _memory_step(args)
    if args.memory:
        return _memory_mode(args)

    with tempfile.TemporaryDirectory(prefix="tg-bench-restore-") as scratch:
        setup_django(Path(scratch))
        require("tenantguard.restores.services.diff", what="the restore preview")
        admin = bench_admin()
        for count in args.count:
            rows = bench_count(args, count, admin)
            print_table(
                f"Restore checks + preview of {count:,} policies (loopback emulator, "
                + (
                    f"Intune's limits per {args.window_seconds:g} s)"
                    if args.throttle
                    else "throttling off)"
                ),
                rows,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
