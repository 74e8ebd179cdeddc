"""Backup benchmark: capture a 5,000-policy tenant from the loopback Graph emulator.

    python bench/backup_5000.py                      # 5,000 policies, emulator in a child process
    python bench/backup_5000.py --in-process         # emulator in a thread of this process
    python bench/backup_5000.py --count 20000 --no-tracemalloc

Seeds the emulator with ``generate_bulk_objects``, points a ``GraphClient`` at
``http://127.0.0.1:PORT`` with a ``StaticTokenProvider``, runs ``iter_capture`` and consumes the
items (counting, never keeping them), then prints the Graph requests made, wall time and memory.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
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
    import os

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

    def run() -> Any:
        backup_set = backup_set_start(actor=admin, tenant=tenant, enqueue=False)
        return backup_set_capture(backup_set=backup_set, client=client)

    return run


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
    args = parser.parse_args(argv)

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
            seed_dir = Path(scratch) / "seed"
            demo.write_seed_dir(objects, seed_dir)
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
            with client, measure(trace_memory=not args.no_tracemalloc) as result:
                if args.product:
                    backup_set = backup()
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
    print_table(f"Backup of {args.count:,} policies via the loopback emulator", rows)
    for line in warnings[:10]:
        print(f"warning: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
