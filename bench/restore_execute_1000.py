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
import io
import logging
import pstats
import tempfile
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

from _harness import loopback_emulator, measure, mib, print_table, require
from restore_checks_preview import (
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
    args = parser.parse_args(argv)

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
