"""Restore benchmark: execute 1,000 policy updates with Intune's throttling on (scaled window).

    python bench/restore_execute_1000.py
    python bench/restore_execute_1000.py --window-seconds 4 --profile
    python bench/restore_execute_1000.py --count 200 --tracemalloc

Seeds a loopback Graph emulator with ``generate_bulk_objects``, backs the tenant up through the
backup service (scratch SQLite database), then changes *every* policy in the emulator (its
description) so that each one needs an update. The run is walked through the wizard (scope
``all``, checks, preview, dry-run off, confirmation, queue) with throttling off; then the
emulator's Intune throttling is switched on with the window scaled down (``--window-seconds``,
default 2.0, same counts: 100 writes / 1,000 requests per app), and the run is executed with
``restore_run_execute(run_id=..., client=client)`` where the client's ``WritePacer`` and
``RequestPacer`` have the same scaled limits (``max_writes=100`` and ``max_requests=1000``,
``per_seconds=2.0``). Only the ratio matters: the ceiling is
``app_write_limit / window_seconds`` writes per second (50/s by default; Intune's real one is
5/s).

Prints items and outcomes, writes sent (POST/PATCH/PUT sub-requests in the emulator's log),
reads, 429 answers, wall time, achieved writes/s against the ceiling (over the whole execution
and over the span from the first to the last write), failed items and memory. ``--profile``
runs the execution under cProfile and prints where the time went.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import logging
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from itertools import pairwise
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
from restore_checks_preview import (
    TOKEN_PREFIX,
    bench_admin,
    current_rss_bytes,
    fmt_counter,
    new_emulator,
    policy_items,
    product_tenant,
    seed_tenant,
    setup_django,
    take_backup,
)

TENANT_ID = "bench-exec"
LABEL = "Contoso Bench Exec"


def _modify_live(emulated: Any, item: Any, *, note: str) -> bool:
    """Change the live object of ``item`` as an admin in the portal would: its description
    (``profileDescription`` for a branding profile). An object with neither property is left
    as it is (a property Graph does not have could not be written back, so the item would end
    unverified through no fault of the restore)."""
    from tenantguard.intune import registry

    collection = registry.get(item.policy_type).collection
    live = emulated.get_object(collection, item.source_id)
    if live is None:
        return False
    prop = next((p for p in ("description", "profileDescription") if p in live), None)
    if prop is None:
        return False
    live[prop] = note
    emulated.put_object(collection, live)
    return True


def _set_concurrency(value: int | None) -> str:
    """Items the executor restores at once: ``value`` if given (through the setting the
    product reads), else the product's default; returned for the table."""
    from django.conf import settings

    from tenantguard.restores.services import execute

    if value is not None:
        settings.TENANTGUARD_RESTORE_CONCURRENCY = value
    if not hasattr(execute, "item_concurrency"):  # the code before issue 10: one at a time
        return "1 (one item after the other)"
    return str(execute.item_concurrency())


def _walk_wizard(admin: Any, tenant: Any, backup_set: Any) -> Any:
    """Scope all, checks, preview, dry-run off, confirmation, queue (as the wizard does)."""
    from tenantguard.restores.services.checks import restore_run_run_checks
    from tenantguard.restores.services.diff import restore_run_run_preview
    from tenantguard.restores.services.runs import (
        restore_run_confirm,
        restore_run_create,
        restore_run_queue_execution,
        restore_run_set_dry_run,
        restore_run_set_scope,
    )

    run = restore_run_create(actor=admin, tenant=tenant, backup_set=backup_set)
    run = restore_run_set_scope(actor=admin, run=run, mode="all")
    run = restore_run_run_checks(actor=admin, run=run)
    run = restore_run_run_preview(actor=admin, run=run)
    run = restore_run_set_dry_run(actor=admin, run=run, dry_run=False)
    run = restore_run_confirm(
        actor=admin, run=run, acknowledged=True, typed_label=tenant.display_name
    )
    return restore_run_queue_execution(actor=admin, run=run)


def _timestamp_log(emulator: Any) -> list[tuple[float, str, str, int]]:
    """Record (perf_counter, method, path, status) of every request the emulator logs,
    batch sub-requests included (the emulator's own log has no times)."""
    stamps: list[tuple[float, str, str, int]] = []
    original = emulator._log

    def timed(tenant_id: str | None, method: str, path: str, status: int) -> None:
        stamps.append((time.perf_counter(), method, path, status))
        original(tenant_id, method, path, status)

    emulator._log = timed
    return stamps


def _path_kind(path: str) -> str:
    """A request path without ids and query: ``/beta/deviceManagement/x/{id}/assignments``."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    return "/" + "/".join(
        "{id}" if len(part) >= 20 or (any(c.isdigit() for c in part) and "-" in part) else part
        for part in parts
    )


def _print_timeline(
    accepted_writes: list[tuple[float, str, str, int]],
    sub: list[tuple[float, str, str, int]],
    *,
    window: float,
) -> None:
    """Writes accepted in each window counted from the first write, and the longest pauses
    between two accepted writes (what a pause followed: a 429, a window edge)."""
    if not accepted_writes:
        return
    first = accepted_writes[0][0]
    per_window: Counter[int] = Counter(int((s[0] - first) // window) for s in accepted_writes)
    print(
        "writes per window from the first write: "
        + ", ".join(f"{index}: {per_window[index]}" for index in sorted(per_window))
    )
    refused = [s[0] for s in sub if s[3] == 429]
    gaps = sorted(
        (
            (later[0] - earlier[0], index, earlier[0] - first)
            for index, (earlier, later) in enumerate(pairwise(accepted_writes))
        ),
        reverse=True,
    )
    print("longest pauses between accepted writes (seconds, after write #, at t):")
    for gap, index, at in gaps[:15]:
        during = sum(1 for t in refused if first + at <= t <= first + at + gap)
        print(f"  {gap:7.3f} s after write {index + 1:4d} at t={at:7.2f} s; 429s in it: {during}")


# ------------------------------------------------------------------------------------------
# Memory mode: peak RSS of the execution by tenant size (unthrottled)
# ------------------------------------------------------------------------------------------

MEMORY_TENANT = "bench-exec-mem"


def _memory_seeds(args: argparse.Namespace, count: int, before: Path, after: Path) -> None:
    """Two seed directories of ``count`` policies: the tenant as backed up, and the tenant as
    restored into (``--modify-share`` of the policies with a new description, so that they are
    updated; the others are re-read and left unchanged)."""
    bulk = require("bulk_tenant", what="the bulk tenant generator (bench/bulk_tenant.py)")
    demo = require("tenantguard.emulator.demo", what="the emulator demo data")
    registry = require("tenantguard.intune.registry", what="the policy-type registry")
    objects = bulk.generate_bulk_objects(count=count, seed=args.seed, tenant_label=LABEL)
    demo.write_seed_dir(objects, before)
    policies = []
    for index, obj in enumerate(objects):
        ptype = registry.classify(demo.collection_of(obj), obj)
        if ptype.is_foundation or ptype.is_preview_only or ptype.parent is not None:
            continue
        if registry.is_unsupported(ptype) or "description" not in obj:
            continue
        policies.append(index)
    random.Random(args.seed).shuffle(policies)
    modified = policies[: round(len(policies) * args.modify_share)]
    for index in modified:
        objects[index]["description"] = "changed after the backup (bench)"
    demo.write_seed_dir(objects, after)
    print(f"[{count:,}] seeds written: {len(objects):,} objects, {len(modified):,} modified")


def _memory_step(args: argparse.Namespace) -> int:
    """One step of the memory mode in this fresh process (results as JSON in --json-out):
    ``backup`` (against the seed as backed up), ``wizard`` (scope all, checks, preview,
    confirmation, queue) and ``execute`` (measured: peak RSS of this process)."""
    if not args.write_paced:
        # unthrottled: the product's write pacer too (setup_django lifts the request pacer)
        os.environ.setdefault("TENANTGUARD_GRAPH_WRITES_PER_20S", "1000000")
    setup_django(args.scratch)
    logging.getLogger("tenantguard").setLevel(logging.WARNING)
    from tenantguard.restores.models import RestoreRun
    from tenantguard.restores.services.execute import restore_run_execute
    from tenantguard.tenants.graph_access import graph_client_for
    from tenantguard.tenants.models import Tenant

    admin = bench_admin()
    result: dict[str, Any] = {"step": args.memory_step}
    if args.memory_step == "backup":
        tenant = product_tenant(tenant_id=MEMORY_TENANT, label=LABEL, base_url=args.base_url)
        backup_set = take_backup(actor=admin, tenant=tenant)
        result.update(backup_set=backup_set.pk, items=backup_set.items.count())
    elif args.memory_step == "wizard":
        Tenant.objects.filter(entra_tenant_id=MEMORY_TENANT).update(graph_url=args.base_url)
        tenant = Tenant.objects.get(entra_tenant_id=MEMORY_TENANT)
        from tenantguard.backups.models import BackupSet

        run = _walk_wizard(admin, tenant, BackupSet.objects.get(pk=args.backup_set))
        result.update(run=run.pk, actions=run.metadata.get("preview", {}).get("actions", {}))
    else:
        run = RestoreRun.objects.get(pk=args.run)
        client = graph_client_for(run.tenant)
        import tenantguard

        rss_before = max_rss_bytes()
        cpu = time.process_time()
        started = time.perf_counter()
        with client, HeapWatch(enabled=args.tracemalloc_top > 0) as heap:
            run = restore_run_execute(run_id=run.pk, client=client)
        result.update(heap_peak=heap.peak, heap_top=heap.top(args.tracemalloc_top))
        result.update(
            code=tenantguard.__file__,
            wall=time.perf_counter() - started,
            cpu=time.process_time() - cpu,
            rss_before=rss_before,
            rss_peak=max_rss_bytes(),
            status=str(run.status),
            outcomes=dict(Counter(run.item_outcomes.values_list("outcome", flat=True))),
            unverified=run.item_outcomes.filter(verified=False).count(),
            requests=client.request_count,
        )
    args.json_out.write_text(json.dumps(result))
    return 0


def _memory_child(
    script: str, scratch: Path, common: list[str], count: int, step: str, base_url: str, **ids: int
) -> dict[str, Any]:
    """Run one step of the memory mode in a fresh process; its JSON result."""
    out = scratch / f"{step}.json"
    command = [sys.executable, script, "--memory-step", step, *common]
    command += ["--scratch", str(scratch), "--base-url", base_url, "--json-out", str(out)]
    for name, value in ids.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    print(f"[{count:,}] {step} in a fresh process ...", flush=True)
    subprocess.run(command, check=True)
    return dict(json.loads(out.read_text()))


def _memory_mode(args: argparse.Namespace) -> int:
    """Each count: seeds written by a child, then backup, wizard and execution each in a fresh
    process with the emulator in its own child; the execution's peak RSS compared."""
    script = str(Path(__file__).resolve())
    rows: list[tuple[str, object]] = []
    first_peak: int | None = None
    for count in args.memory_counts:
        with tempfile.TemporaryDirectory(prefix="tg-bench-exec-mem-") as scratch_name:
            scratch = Path(scratch_name)
            before, after = scratch / "seed-before", scratch / "seed-after"
            common = ["--seed", str(args.seed), "--modify-share", str(args.modify_share)]
            common += ["--write-paced"] if args.write_paced else []
            common += ["--tracemalloc-top", str(args.tracemalloc_top)]
            seeds = ["--memory-seeds", str(before), str(after)]
            subprocess.run(
                [sys.executable, script, "--count", str(count), *common, *seeds], check=True
            )
            child = functools.partial(_memory_child, script, scratch, common, count)

            token = f"{TOKEN_PREFIX}-{MEMORY_TENANT}"
            with emulator_process(seed_dir=before, tenant_id=MEMORY_TENANT, token=token) as emu:
                backup = child("backup", emu.base_url)
            with emulator_process(seed_dir=after, tenant_id=MEMORY_TENANT, token=token) as emu:
                wizard = child("wizard", emu.base_url, backup_set=backup["backup_set"])
                found = child("execute", emu.base_url, run=wizard["run"])
        peak = int(found["rss_peak"])
        first_peak = first_peak or peak
        rows += [
            (f"{count:,} policies: backup items", f"{backup['items']:,}"),
            ("  preview actions", ", ".join(f"{k}: {v:,}" for k, v in wizard["actions"].items())),
            ("  code", found["code"]),
            (
                "  execution: status, outcomes, unverified",
                f"{found['status']}, {found['outcomes']}, {found['unverified']}",
            ),
            ("  execution: Graph requests", f"{found['requests']:,}"),
            (
                "  execution: peak RSS (RSS before it)",
                f"{mib(peak)} ({mib(found['rss_before'])}), {peak / first_peak:.0%} of the first",
            ),
            ("  execution: wall / CPU", f"{found['wall']:,.1f} s / {found['cpu']:,.1f} s"),
        ]
        if found.get("heap_top"):
            rows.append(("  tracemalloc peak (the RSS above is traced)", mib(found["heap_peak"])))
            rows += [
                (f"    {where}", f"{mib(size)} in {blocks:,} blocks")
                for where, size, blocks in found["heap_top"]
            ]
    print_table(
        "Peak RSS of the execution by tenant size (fresh process each, emulator in a child, "
        "unthrottled)",
        rows,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="policies (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=2.0,
        help="emulator throttling window and pacer period (Intune: 20; default 2.0)",
    )
    parser.add_argument(
        "--app-write-limit", type=int, default=100, help="writes per app per window (Intune: 100)"
    )
    parser.add_argument(
        "--app-request-limit",
        type=int,
        default=1000,
        help="requests of any kind per app per window (Intune: 1000)",
    )
    parser.add_argument(
        "--pacer-writes",
        type=int,
        default=None,
        help="WritePacer.max_writes per window (default: --app-write-limit)",
    )
    parser.add_argument(
        "--pacer-requests",
        type=int,
        default=None,
        help="RequestPacer.max_requests per window (default: --app-request-limit)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="items restored at once (TENANTGUARD_RESTORE_CONCURRENCY; default: the product's)",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="latency the emulator adds to every request during the execution (Graph: ~100+)",
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace the Python heap (slows execution ~2x)"
    )
    parser.add_argument("--profile", action="store_true", help="run the execution under cProfile")
    parser.add_argument("--profile-lines", type=int, default=30)
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="print the writes accepted per window (from the first write) and the longest "
        "pauses between writes",
    )
    parser.add_argument(
        "--memory-counts",
        type=int,
        nargs="+",
        default=None,
        help="memory mode: peak RSS of the execution at each count (unthrottled, fresh process "
        "each, emulator in a child), e.g. 1000 20000",
    )
    parser.add_argument(
        "--modify-share",
        type=float,
        default=0.2,
        help="memory mode: share of the policies changed in the tenant (updated by the run)",
    )
    parser.add_argument(
        "--write-paced",
        action="store_true",
        help="memory mode: keep the product's write pacer at Intune's 100 writes per 20 s "
        "(the execution then lasts about as long as in production)",
    )
    parser.add_argument(
        "--tracemalloc-top",
        type=int,
        default=0,
        help="memory mode: trace the execution's heap and list its N largest lines at the peak",
    )
    parser.add_argument("--memory-seeds", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--memory-step", choices=("backup", "wizard", "execute"), help=argparse.SUPPRESS
    )
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--backup-set", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_seeds:
        _memory_seeds(args, args.count, *args.memory_seeds)
        return 0
    if args.memory_step:
        return _memory_step(args)
    if args.memory_counts:
        return _memory_mode(args)

    with tempfile.TemporaryDirectory(prefix="tg-bench-exec-") as scratch:
        setup_django(Path(scratch))
        # One INFO line per written object would drown the table.
        logging.getLogger("tenantguard").setLevel(logging.WARNING)
        graph = require("tenantguard.graph", what="the Graph client")
        emulator_module = require("tenantguard.emulator", what="the Graph emulator")
        from tenantguard.emulator.handlers import is_write
        from tenantguard.restores.services.execute import restore_run_execute
        from tenantguard.tenants.graph_access import graph_client_for

        admin = bench_admin()
        emulator = new_emulator()
        print(f"Seeding the emulator with {args.count:,} policies ...", flush=True)
        emulated = seed_tenant(
            emulator, tenant_id=TENANT_ID, count=args.count, seed=args.seed, label=LABEL
        )
        stamps = _timestamp_log(emulator)
        with loopback_emulator(emulator) as running:
            tenant = product_tenant(tenant_id=TENANT_ID, label=LABEL, base_url=running.base_url)
            print("Backing up through the backup service ...", flush=True)
            backup_set = take_backup(actor=admin, tenant=tenant)
            policies = policy_items(backup_set)
            modified = 0
            for item in policies:
                if modified == args.count:  # exactly --count updates (plus a few demo policies)
                    break
                modified += _modify_live(emulated, item, note="changed after the backup (bench)")
            print(
                f"Backup: {backup_set.items.count():,} items; modified {modified:,} policies. "
                "Walking the wizard (throttling off) ...",
                flush=True,
            )
            started = time.perf_counter()
            run = _walk_wizard(admin, tenant, backup_set)
            wizard_wall = time.perf_counter() - started
            preview_actions = run.metadata.get("preview", {}).get("actions", {})

            throttle = emulator_module.ThrottleConfig(
                enabled=True,
                window_seconds=args.window_seconds,
                app_write_limit=args.app_write_limit,
                app_request_limit=args.app_request_limit,
            )
            emulator.set_throttle(throttle)
            emulated.faults.latency_ms = args.latency_ms
            concurrency = _set_concurrency(args.concurrency)
            pacer = graph.WritePacer(
                max_writes=args.pacer_writes or args.app_write_limit,
                per_seconds=args.window_seconds,
            )
            request_pacer = graph.RequestPacer(
                max_requests=args.pacer_requests or args.app_request_limit,
                per_seconds=args.window_seconds,
            )
            client = graph_client_for(tenant, pacer=pacer, request_pacer=request_pacer)
            first_stamp = len(stamps)
            print(
                f"Executing run #{run.pk} with throttling on ({throttle.app_write_limit} writes / "
                f"{throttle.app_request_limit} requests per {throttle.window_seconds:g} s), "
                f"{pacer!r}, {request_pacer!r} ...",
                flush=True,
            )
            profiler = cProfile.Profile() if args.profile else None
            with client, measure(trace_memory=args.tracemalloc) as result:
                if profiler is not None:
                    profiler.enable()
                run = restore_run_execute(run_id=run.pk, client=client)
                if profiler is not None:
                    profiler.disable()
            exec_stamps = stamps[first_stamp:]
        emulator.close()

        outcomes = Counter(run.item_outcomes.values_list("outcome", flat=True))
        failed = list(
            run.item_outcomes.filter(outcome="failed").values_list(
                "policy_type", "error_code", "error_message"
            )[:5]
        )
        unverified = run.item_outcomes.filter(verified=False).count()
        unverified_examples = list(
            run.item_outcomes.filter(verified=False).values_list(
                "policy_type", "outcome", "differences"
            )[:5]
        )
        skipped_changed = run.item_outcomes.filter(skip_code="changed_since_preview").count()

    sub = [s for s in exec_stamps if not s[2].endswith("/$batch")]
    writes = [s for s in sub if is_write(s[1], s[2])]
    reads = [s for s in sub if not is_write(s[1], s[2])]
    accepted_writes = [s for s in writes if s[3] != 429]
    write_429 = sum(1 for s in writes if s[3] == 429)
    read_429 = sum(1 for s in reads if s[3] == 429)
    ceiling = args.app_write_limit / args.window_seconds
    wall = result.wall_seconds
    rate_all = len(accepted_writes) / wall if wall else 0.0
    if len(accepted_writes) >= 2:
        span = accepted_writes[-1][0] - accepted_writes[0][0]
        rate_span = (len(accepted_writes) - 1) / span if span else 0.0
        before_first = accepted_writes[0][0] - (exec_stamps[0][0] if exec_stamps else 0.0)
        after_last = (exec_stamps[-1][0] if exec_stamps else 0.0) - accepted_writes[-1][0]
    else:
        span = rate_span = before_first = after_last = 0.0
    throttled_by_phase: Counter[str] = Counter()
    for stamp in sub:
        if stamp[3] != 429:
            continue
        if not accepted_writes or stamp[0] < accepted_writes[0][0]:
            throttled_by_phase["before first write"] += 1
        elif stamp[0] <= accepted_writes[-1][0]:
            throttled_by_phase["during writes"] += 1
        else:
            throttled_by_phase["after last write"] += 1
    reads_by_phase: Counter[str] = Counter()
    for stamp in reads:
        if not accepted_writes or stamp[0] < accepted_writes[0][0]:
            reads_by_phase["before first write"] += 1
        elif stamp[0] <= accepted_writes[-1][0]:
            reads_by_phase["during writes"] += 1
        else:
            reads_by_phase["after last write"] += 1
    write_methods = Counter(s[1] for s in accepted_writes)
    statuses = Counter(str(s[3]) for s in sub)
    rows: list[tuple[str, object]] = [
        ("policies modified in the tenant", f"{modified:,}"),
        ("wizard (checks + preview etc.), throttling off", f"{wizard_wall:,.1f} s"),
        ("preview actions", ", ".join(f"{k}: {v:,}" for k, v in preview_actions.items() if v)),
        ("items restored at once (concurrency)", str(concurrency)),
        ("latency added per request", f"{args.latency_ms} ms"),
        ("run status", str(run.status)),
        ("items (outcomes recorded)", f"{sum(outcomes.values()):,}"),
        ("  by outcome", fmt_counter(outcomes)),
        ("failed items", f"{outcomes.get('failed', 0):,}"),
        ("unverified / changed_since_preview", f"{unverified:,} / {skipped_changed:,}"),
        (
            "writes sent and accepted (POST/PATCH/PUT)",
            f"{len(accepted_writes):,} ({fmt_counter(write_methods)})",
        ),
        ("reads (GET and read-only POST)", f"{len(reads):,}"),
        ("  reads by phase", fmt_counter(reads_by_phase)),
        ("reads per written item", f"{len(reads) / max(len(accepted_writes), 1):,.1f}"),
        (
            "429 answers received",
            f"{write_429 + read_429:,} (writes {write_429:,}, reads {read_429:,})",
        ),
        ("  429s by phase", fmt_counter(throttled_by_phase)),
        ("emulator log by status (sub-requests)", fmt_counter(statuses)),
        ("Graph requests (client.request_count)", f"{client.request_count:,}"),
        ("wall time of the execution", f"{wall:,.2f} s"),
        ("  before the first write (read target, snapshot)", f"{before_first:,.2f} s"),
        ("  first to last write", f"{span:,.2f} s"),
        ("  after the last write (assignments check, verify)", f"{after_last:,.2f} s"),
        ("write ceiling (app_write_limit / window)", f"{ceiling:,.1f} writes/s"),
        (
            "achieved, whole execution",
            f"{rate_all:,.1f} writes/s = {rate_all / ceiling:.0%} of ceiling",
        ),
        (
            "achieved, first to last write",
            f"{rate_span:,.1f} writes/s = {rate_span / ceiling:.0%} of ceiling",
        ),
        (
            "tracemalloc peak (execution)",
            mib(result.tracemalloc_peak_bytes) if args.tracemalloc else "off (--tracemalloc)",
        ),
        (
            "peak RSS before / after execution",
            f"{mib(result.max_rss_before_bytes)} / {mib(result.max_rss_after_bytes)}",
        ),
        ("RSS now", mib(current_rss_bytes())),
    ]
    print_table(
        f"Restore execution of {args.count:,} policy updates, throttling on "
        f"(window {args.window_seconds:g} s)",
        rows,
    )
    if args.timeline:
        _print_timeline(accepted_writes, sub, window=args.window_seconds)
        first_write = accepted_writes[0][0] if accepted_writes else float("inf")
        early: Counter[str] = Counter(_path_kind(s[2]) for s in reads if s[0] < first_write)
        print("reads before the first write, by kind: " + fmt_counter(early))
        if len(accepted_writes) >= 100:
            hundredth = accepted_writes[99][0]
            before_100: Counter[str] = Counter(
                f"{s[1]} {_path_kind(s[2])}" for s in sub if s[0] < hundredth and s[3] != 429
            )
            print(
                f"counted requests before the 100th write: {sum(before_100.values()):,}, "
                f"at t={hundredth - exec_stamps[0][0]:.2f} s, by kind:"
            )
            for kind, number in before_100.most_common():
                print(f"  {number:6,}  {kind}")
    for line in failed:
        print(f"failed: {line}")
    for line in unverified_examples:
        print(f"unverified: {line}")
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(args.profile_lines)
        stats.sort_stats("tottime").print_stats(args.profile_lines)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
