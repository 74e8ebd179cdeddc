"""Backup benchmark: capture a 5,000-policy tenant from the loopback Graph emulator.

    python bench/backup_5000.py                      # 5,000 policies, emulator in a child process
    python bench/backup_5000.py --in-process         # emulator in a thread of this process
    python bench/backup_5000.py --count 20000 --no-tracemalloc
    python bench/backup_5000.py --product --no-tracemalloc --profile   # CPU: cProfile top functions
    python bench/backup_5000.py --product --counts 1000 5000 20000      # memory: fresh process each
    python bench/backup_5000.py --product --throttle --in-process --no-tracemalloc --timeline

Seeds the emulator with ``generate_bulk_objects``, points a ``GraphClient`` at
``http://127.0.0.1:PORT`` with a ``StaticTokenProvider``, runs ``iter_capture`` and consumes the
items (counting, never keeping them), then prints the Graph requests made, wall time, CPU time
of this process per 1,000 objects and memory.

``--profile`` runs the capture under cProfile and prints the functions with the most own CPU
time (``tottime``) over the backup's thread and the capture's request threads (one profiler per
thread on that thread's CPU clock, merged); setup (seeding, migrations) is outside the profile.
``--timeline`` prints the counted requests answered per 20 s window and when the first window's
answer that the last window's last request waits for came (at Intune's limits the floor plus
that time is the best wall time). ``--counts`` is the memory
mode: for each count it writes the seed in one child process, then runs the backup in a fresh
child process (``--seed-dir``, so generating the seed does not count) and reports that process's
peak RSS (``ru_maxrss``); a second child with tracemalloc reports the Python heap peak and the
allocation sites holding the most memory at the capture's largest heap.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _harness import (
    emulator_process,
    loopback_emulator,
    measure,
    mib,
    print_table,
    require,
)

TENANT_ID = "bench"
TOKEN = "bench-token"


@contextlib.contextmanager
def _serve(args: argparse.Namespace, seed_dir: Path) -> Iterator[tuple[str, Any]]:
    """Yield (base URL, function returning (request log, emulator peak RSS KiB or None))."""
    if args.in_process:
        emulator_module = require("tenantguard.emulator", what="the Graph emulator")
        emulator = emulator_module.GraphEmulator(
            config=emulator_module.EmulatorConfig(
                throttle=emulator_module.ThrottleConfig(enabled=args.throttle)
            )
        )
        emulator.add_tenant(tenant_id=TENANT_ID, token=TOKEN, seed_dir=seed_dir)
        with loopback_emulator(emulator) as running:

            def stats() -> tuple[list[dict[str, Any]], int | None]:
                return [entry._asdict() for entry in emulator.request_log], None

            yield running.base_url, stats
    else:
        if args.throttle:
            raise SystemExit("--throttle needs --in-process")
        with emulator_process(seed_dir=seed_dir, tenant_id=TENANT_ID, token=TOKEN) as child:

            def stats() -> tuple[list[dict[str, Any]], int | None]:
                return child.request_log(), child.rss_kib()

            yield child.base_url, stats


def _unpaced() -> Any:
    from tenantguard.graph import RequestPacer

    return RequestPacer(max_requests=1_000_000, per_seconds=1.0)


def _count() -> Any:
    from django.db.models import Count

    return Count("id")


def _product_backup(base_url: str, scratch: Path, client: Any) -> Any:
    """Set up Django on a scratch SQLite database and return a function that runs the backup
    service (the same code path as "Back up now") against the loopback emulator."""

    os.environ["TENANTGUARD_DATA_DIR"] = str(scratch / "data")
    os.environ.setdefault("TENANTGUARD_GRAPH_REQUESTS_PER_20S", "1000000")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from tenantguard.backups.services import backup_set_capture, backup_set_start
    from tenantguard.tenants.models import Tenant

    call_command("migrate", interactive=False, verbosity=0)
    admin = get_user_model().objects.create_superuser("bench", password="bench-only")
    tenant = Tenant.objects.create(
        display_name="Contoso Bench",
        entra_tenant_id=TENANT_ID,
        cloud="custom",
        graph_url=base_url,
        auth_method="static_token",
        static_token=TOKEN,
    )

    def run(on_progress: Any = None) -> Any:
        backup_set = backup_set_start(actor=admin, tenant=tenant, enqueue=False)
        return backup_set_capture(backup_set=backup_set, client=client, on_progress=on_progress)

    return run


class _HeapWatch:
    """With tracemalloc on, keep a snapshot of the heap at its largest seen so far (taken when
    the traced size grew by 10 % since the last one), to show what grows with the object count."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.largest = 0
        self.snapshot: tracemalloc.Snapshot | None = None
        self.items_at_snapshot = 0

    def check(self, items: int) -> None:
        if not self.enabled or not tracemalloc.is_tracing():
            return
        current, _ = tracemalloc.get_traced_memory()
        if current > self.largest * 1.1:
            self.largest = current
            self.snapshot = tracemalloc.take_snapshot()
            self.items_at_snapshot = items

    def top(self, limit: int) -> list[tuple[str, int, int]]:
        """``(file:line, bytes, blocks)`` of the ``limit`` largest allocation sites."""
        if self.snapshot is None:
            return []
        snapshot = self.snapshot.filter_traces(
            [
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, "<unknown>"),
            ]
        )
        rows = []
        for stat in snapshot.statistics("lineno")[:limit]:
            frame = stat.traceback[0]
            rows.append((f"{_short_path(frame.filename)}:{frame.lineno}", stat.size, stat.count))
        return rows


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", "/tenantguard/", "/lib/python3"):
        index = filename.find(marker)
        if index >= 0:
            return filename[index + (1 if marker.startswith("/") else 0) :]
    return filename


class _ThreadProfiles:
    """cProfile on the backup's thread and on every capture request thread (``graph-worker``
    threads started while it runs), each on its own thread's CPU clock (``time.thread_time``),
    so own times add up to the CPU those threads used and nothing is charged to the wrong one.

    ``clock="wall"`` profiles the backup's thread alone with the wall clock (as before)."""

    def __init__(self, *, clock: str) -> None:
        self.clock = clock
        self.main = cProfile.Profile(time.thread_time if clock == "cpu" else time.perf_counter)
        self.workers: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)
        if not threading.current_thread().name.startswith("graph-worker"):
            return  # e.g. the in-process emulator's threads
        profiler = cProfile.Profile(time.thread_time)
        with self._lock:
            self.workers.append(profiler)
        profiler.enable()

    def enable(self) -> None:
        if self.clock == "cpu":
            threading.setprofile(self._hook)
        self.main.enable()

    def disable(self) -> None:
        self.main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]

    def stats(self, profiler: cProfile.Profile | None = None) -> pstats.Stats:
        """Stats of one profiler, or of all of them merged (after the workers ended)."""
        if profiler is not None:
            return pstats.Stats(profiler, stream=io.StringIO())
        merged = pstats.Stats(self.main, stream=io.StringIO())
        for worker in self.workers:
            merged.add(worker)
        return merged


class _AnswerTimes:
    """When each answer of ``client`` arrived and how many requests Intune counts for it (a
    ``$batch``: its sub-requests), taken by wrapping the client's HTTP client."""

    def __init__(self, client: Any) -> None:
        self.answers: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        http = client._http
        send = http.request

        def timed(method: str, url: Any, **kwargs: Any) -> Any:
            response = send(method, url, **kwargs)
            body = kwargs.get("json")
            counted = len(body.get("requests") or []) if isinstance(body, dict) else 1
            with self._lock:
                self.answers.append((time.perf_counter(), counted))
            return response

        http.request = timed

    def rows(self, *, started: float, wall_seconds: float) -> list[tuple[str, object]]:
        if not self.answers:
            return []
        windows: Counter[int] = Counter()
        for at, counted in self.answers:
            windows[int((at - started) // 20)] += counted
        last = max(at for at, _ in self.answers) - started
        # The last window's requests go out as the first window's slots free up, 20 s per
        # window later: the last of them waits for the first window's answer number
        # ((N - 1) mod 1000) + 1 (N counted requests), so that answer's time adds to the floor.
        total = sum(counted for _, counted in self.answers)
        bound = (total - 1) % 1000 + 1
        seen = 0
        bound_at = 0.0
        for at, counted in sorted(self.answers):
            seen += counted
            if seen >= bound:
                bound_at = at - started
                break
        return [
            (
                f"the first window's answer number {bound:,} (of {total:,} counted) came at",
                f"{bound_at:,.2f} s (the floor + this = the best wall time)",
            ),
            (
                "counted requests answered per 20 s window",
                ", ".join(f"{windows[index]:,}" for index in range(max(windows) + 1)),
            ),
            (
                "the last 8 answers at (counted requests)",
                ", ".join(
                    f"{at - started:,.2f} s ({counted})"
                    for at, counted in sorted(self.answers)[-8:]
                ),
            ),
            ("last answer at", f"{last:,.2f} s"),
            ("work after the last answer", f"{wall_seconds - last:,.2f} s"),
        ]


def _own_total(stats: pstats.Stats) -> float:
    return float(sum(entry[2] for entry in stats.stats.values()))  # type: ignore[attr-defined]


def _profile_rows(profiles: _ThreadProfiles, limit: int) -> list[tuple[str, object]]:
    """The ``limit`` functions with the most own time over all profiled threads, as rows."""
    stats = profiles.stats()
    total = _own_total(stats)
    main_total = _own_total(profiles.stats(profiles.main))
    what = "CPU time (thread clocks)" if profiles.clock == "cpu" else "wall time"
    rows: list[tuple[str, object]] = [
        (f"profiled {what}, all threads (sum of own time)", f"{total:,.2f} s"),
        ("  of which the backup's thread", f"{main_total:,.2f} s"),
        (
            f"  of which {len(profiles.workers)} request thread(s)",
            f"{total - main_total:,.2f} s",
        ),
    ]
    entries = sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda item: item[1][2],
        reverse=True,
    )[:limit]
    for (filename, lineno, name), (_, ncalls, tottime, cumtime, _) in entries:
        where = _short_path(filename) if filename != "~" else "builtin"
        rows.append(
            (
                f"  {name} ({where}:{lineno})",
                f"own {tottime:6.2f} s ({tottime / total:5.1%}), cum {cumtime:6.2f} s, "
                f"{ncalls:,} calls",
            )
        )
    return rows


def _memory_mode(args: argparse.Namespace) -> int:
    """Run each of ``args.counts`` in fresh child processes and compare their peaks."""
    script = str(Path(__file__).resolve())
    python = sys.executable
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tg-bench-mem-") as scratch:
        for count in args.counts:
            seed_dir = Path(scratch) / f"seed-{count}"
            print(f"Writing the seed of {count:,} policies ...", flush=True)
            subprocess.run(
                [
                    python,
                    script,
                    "--count",
                    str(count),
                    "--seed",
                    str(args.seed),
                    "--write-seed-dir",
                    str(seed_dir),
                ],
                check=True,
            )
            passes: dict[str, dict[str, Any]] = {}
            for name, extra in (
                ("rss", ["--no-tracemalloc"]),
                ("heap", ["--tracemalloc-top", str(args.tracemalloc_top)]),
            ):
                out = Path(scratch) / f"result-{count}-{name}.json"
                command = [
                    python,
                    script,
                    "--count",
                    str(count),
                    "--seed-dir",
                    str(seed_dir),
                    "--json-out",
                    str(out),
                    *extra,
                ]
                if args.product:
                    command.append("--product")
                print(f"Backing up {count:,} policies in a fresh process ({name}) ...", flush=True)
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                passes[name] = json.loads(out.read_text())
            results.append({"count": count, **passes})
    rows: list[tuple[str, object]] = []
    first_peak = results[0]["rss"]["max_rss_after_bytes"]
    for result in results:
        rss, heap = result["rss"], result["heap"]
        peak = rss["max_rss_after_bytes"]
        rows += [
            (f"{result['count']:,} policies: items captured", f"{rss['captured']:,}"),
            (
                "  peak RSS of the backup process",
                f"{mib(peak)} ({peak / first_peak:.0%} of the first)",
            ),
            (
                "  RSS before the capture (imports, Django, migrations)",
                mib(rss["max_rss_before_bytes"]),
            ),
            (
                "  wall time / CPU time",
                f"{rss['wall_seconds']:,.1f} s / {rss['cpu_seconds']:,.1f} s",
            ),
            ("  tracemalloc peak (second run)", mib(heap["tracemalloc_peak_bytes"])),
            (
                f"  largest heap seen at item {heap['items_at_snapshot']:,}",
                mib(heap["heap_at_snapshot_bytes"]),
            ),
        ]
        rows += [
            (f"    {where}", f"{mib(size)} in {blocks:,} blocks")
            for where, size, blocks in heap["top_allocations"]
        ]
    print_table("Peak memory by tenant size (each in a fresh process, emulator in a child)", rows)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="policies to seed (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the bulk data")
    parser.add_argument("--seed-dir", type=Path, help="reuse a seed dir from emulator_seed.py")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve the emulator from a thread here (its memory then counts in ours)",
    )
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="skip tracemalloc (faster, no heap peak)"
    )
    parser.add_argument(
        "--throttle", action="store_true", help="keep Intune throttling on (needs --in-process)"
    )
    parser.add_argument(
        "--product",
        action="store_true",
        help="run TenantGuard's backup service (BackupSet + BackupItems in a scratch SQLite DB) "
        "instead of bare iter_capture",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the capture under cProfile and print the top functions by own CPU time",
    )
    parser.add_argument("--profile-top", type=int, default=15, help="functions listed (15)")
    parser.add_argument(
        "--profile-clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cProfile's clock: process CPU time (default) or wall time (less overhead; "
        "waiting in recv/select then shows as own time)",
    )
    parser.add_argument("--profile-out", type=Path, help="also write the cProfile stats here")
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="also print when answers came: counted requests per 20 s window, the last "
        "answer and the work after it (what bounds the share of the floor)",
    )
    parser.add_argument(
        "--counts",
        type=int,
        nargs="+",
        help="memory mode: back up each count in a fresh process and compare peak RSS",
    )
    parser.add_argument(
        "--tracemalloc-top",
        type=int,
        default=0,
        help="print the N allocation sites holding the most memory at the largest heap",
    )
    parser.add_argument("--write-seed-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.counts:
        return _memory_mode(args)

    demo = require("tenantguard.emulator.demo", what="the emulator demo data")
    bulk = require("bulk_tenant", what="the bulk tenant generator (bench/bulk_tenant.py)")
    graph = require("tenantguard.graph", what="the Graph client")
    capture = require("tenantguard.intune.capture", what="the capture module")
    require("tenantguard.emulator", what="the Graph emulator")

    with tempfile.TemporaryDirectory(prefix="tg-bench-") as scratch:
        seed_dir = args.seed_dir
        seeded: int | None = None
        if seed_dir is None:
            objects = bulk.generate_bulk_objects(
                count=args.count, seed=args.seed, tenant_label="Contoso Bench", every_kind=True
            )
            seed_dir = args.write_seed_dir or Path(scratch) / "seed"
            demo.write_seed_dir(objects, seed_dir)
            if args.write_seed_dir:
                return 0
            seeded = sum(1 for obj in objects if demo.collection_of(obj) != "groups")
            del objects
        print(f"Seeding the emulator from {seed_dir} ...", flush=True)

        with _serve(args, seed_dir) as (base_url, stats):
            # With throttling off the bench measures TenantGuard, so the client does not pace its
            # requests to Intune's 1000 per 20 s (--throttle keeps the real pacing).
            pacing = {} if args.throttle else {"request_pacer": _unpaced()}
            client = graph.GraphClient(
                graph_url=base_url, token_provider=graph.StaticTokenProvider(TOKEN), **pacing
            )
            per_type: Counter[str] = Counter()
            warnings: list[str] = []
            print(f"Capturing from {base_url} ...", flush=True)
            if args.product:
                backup = _product_backup(base_url, Path(scratch), client)
            trace = not args.no_tracemalloc
            watch = _HeapWatch(enabled=trace and args.tracemalloc_top > 0)
            # CPU time by default (waiting for the emulator is not work); its clock costs more per
            # call than the wall clock, which inflates functions called very often.
            profiler = _ThreadProfiles(clock=args.profile_clock) if args.profile else None
            answers = _AnswerTimes(client) if args.timeline else None
            cpu_started = time.process_time()
            thread_cpu_started = time.thread_time()
            with client, measure(trace_memory=trace) as result:
                wall_started = time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                if args.product:
                    backup_set = backup(on_progress=lambda counts: watch.check(counts["items"]))
                    per_type.update(
                        dict(
                            backup_set.items.values_list("policy_type")
                            .annotate(n=_count())
                            .values_list("policy_type", "n")
                        )
                    )
                    warnings.extend(f"{w['type_key']}: {w['message']}" for w in backup_set.warnings)
                else:
                    for entry in capture.iter_capture(client):
                        if isinstance(entry, capture.CaptureWarning):
                            warnings.append(f"{entry.type_key}: {entry.message}")
                        else:
                            per_type[entry.type_key] += 1
                            if per_type.total() % 250 == 0:
                                watch.check(per_type.total())
                if profiler is not None:
                    profiler.disable()
                watch.check(sum(per_type.values()))
            cpu_seconds = time.process_time() - cpu_started
            thread_cpu_seconds = time.thread_time() - thread_cpu_started
            log, emulator_rss_kib = stats()

    captured = sum(per_type.values())
    graph_log = [e for e in log if e.get("tenant_id") == TENANT_ID]
    methods = Counter(
        f"{e['method']} {'$batch' if '$batch' in e['path'] else ''}".strip() for e in graph_log
    )
    statuses = Counter(str(e["status"]) for e in graph_log)
    rows: list[tuple[str, object]] = [(key, f"{n:,}") for key, n in per_type.most_common()]
    rows += [
        ("policies + foundations seeded", "n/a (--seed-dir)" if seeded is None else f"{seeded:,}"),
        ("items captured", f"{captured:,}"),
        ("capture warnings", f"{len(warnings):,}"),
        ("Graph requests (client.request_count)", f"{client.request_count:,}"),
        ("emulator request log (incl. batch parts)", f"{len(graph_log):,}"),
        ("  by method", ", ".join(f"{k}: {v:,}" for k, v in methods.most_common())),
        ("  by status", ", ".join(f"{k}: {v:,}" for k, v in statuses.most_common())),
        ("wall time", f"{result.wall_seconds:,.2f} s"),
        (
            "items per second",
            f"{captured / result.wall_seconds:,.0f}" if result.wall_seconds else "n/a",
        ),
        (
            "CPU time of this process" + (" (under cProfile)" if args.profile else ""),
            f"{cpu_seconds:,.2f} s",
        ),
        (
            "  of which the backup's thread / other threads",
            f"{thread_cpu_seconds:,.2f} s / {cpu_seconds - thread_cpu_seconds:,.2f} s"
            + (" (the emulator's included: --in-process)" if args.in_process else ""),
        ),
        (
            "CPU seconds per 1,000 objects",
            f"{cpu_seconds / captured * 1000:,.3f}" if captured else "n/a",
        ),
        ("tracemalloc peak (capture only)", mib(result.tracemalloc_peak_bytes)),
        ("peak RSS of this process before capture", mib(result.max_rss_before_bytes)),
        ("peak RSS of this process after capture", mib(result.max_rss_after_bytes)),
        (
            "emulator process peak RSS",
            "same process"
            if args.in_process
            else mib(emulator_rss_kib * 1024 if emulator_rss_kib else None),
        ),
    ]
    if answers is not None:
        rows += answers.rows(started=wall_started, wall_seconds=result.wall_seconds)
    if profiler is not None:
        rows += _profile_rows(profiler, args.profile_top)
        if args.profile_out:
            profiler.stats().dump_stats(str(args.profile_out))
    top_allocations = watch.top(args.tracemalloc_top)
    if top_allocations:
        rows.append((f"largest heap (at item {watch.items_at_snapshot:,})", mib(watch.largest)))
        rows += [
            (f"  {where}", f"{mib(size)} in {blocks:,} blocks")
            for where, size, blocks in top_allocations
        ]
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {
                    "captured": captured,
                    "wall_seconds": result.wall_seconds,
                    "cpu_seconds": cpu_seconds,
                    "thread_cpu_seconds": thread_cpu_seconds,
                    "max_rss_before_bytes": result.max_rss_before_bytes,
                    "max_rss_after_bytes": result.max_rss_after_bytes,
                    "tracemalloc_peak_bytes": result.tracemalloc_peak_bytes,
                    "items_at_snapshot": watch.items_at_snapshot,
                    "heap_at_snapshot_bytes": watch.largest,
                    "top_allocations": top_allocations,
                    "emulator_rss_bytes": emulator_rss_kib * 1024 if emulator_rss_kib else None,
                }
            )
        )
    print_table(f"Backup of {args.count:,} policies via the loopback emulator", rows)
    for line in warnings[:10]:
        print(f"warning: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
