"""Storage benchmark: database size after 1 and after N unchanged nights of scheduled backups.

    python bench/storage_nights.py                    # 5,000 policies, 14 nights, SQLite
    python bench/storage_nights.py --count 500 --nights 3
    python bench/storage_nights.py --database-url postgres://postgres@127.0.0.1:55433/nights

    # the code before deduplication (a checkout without BackupPayload), same script:
    cd /work/base && PYTHONPATH=/work/base python /work/main/bench/storage_nights.py

Seeds a loopback Graph emulator (a thread of this process) with ``generate_bulk_objects``, makes
the tenant's backups daily and, for each night, lets the scheduler start the night's backup
(``scheduled_backups_start_due``, with the tenant's retention if ``--keep`` is given) and runs
it as the worker does (``backup_set_capture``). Nothing changes in the tenant between nights.
After night 1 and after the last night (``--report-every`` for more) it reports, generically so
the same script measures code with or without stored payloads: the database size (SQLite: the
file after ``VACUUM``; PostgreSQL: ``pg_database_size`` after ``VACUUM FULL``), the rows and
size of each backups table (SQLite's ``dbstat`` when available) and the night's wall time, and
after the last night the bytes per row of each backups table's heap and of each of its indexes
(where an item's per-night bytes go).

The code measured is the checkout on ``PYTHONPATH`` that holds ``tenantguard`` (else this
script's repository).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _harness import REPO_ROOT, loopback_emulator, mib, print_table, require


def _code_root() -> Path:
    """The checkout whose ``tenantguard`` is measured: the first ``PYTHONPATH`` entry holding
    one (``_harness`` puts this script's repository first on ``sys.path``: undo that)."""
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and (Path(entry) / "tenantguard" / "__init__.py").exists():
            root = Path(entry).resolve()
            if root != REPO_ROOT:
                sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT]
                sys.path.insert(0, str(root))
            return root
    return REPO_ROOT


TENANT_ID = "bench"
TOKEN = "bench-token"
FIRST_NIGHT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _unpaced() -> Any:
    from tenantguard.graph import RequestPacer

    return RequestPacer(max_requests=1_000_000, per_seconds=1.0)


def _setup_django(scratch: Path, database_url: str | None) -> None:
    os.environ["TENANTGUARD_DATA_DIR"] = str(scratch / "data")
    os.environ.setdefault("TENANTGUARD_GRAPH_REQUESTS_PER_20S", "1000000")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.pop("TENANTGUARD_DEBUG", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _backup_tables() -> list[str]:
    from django.db import connection

    return sorted(t for t in connection.introspection.table_names() if t.startswith("backups_"))


def _measure(night: int, night_seconds: float) -> dict[str, Any]:
    """Database size after compaction and per-table rows / bytes, for the report."""
    from django.db import connection

    connection.close()  # VACUUM needs no open transaction; start from a fresh connection
    tables = _backup_tables()
    sizes: dict[str, int | None] = dict.fromkeys(tables)
    # table -> [(relation: the table itself or one of its indexes, bytes)]
    relations: dict[str, list[tuple[str, int]]] = {}
    with connection.cursor() as cursor:
        rows = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            rows[table] = cursor.fetchone()[0]
        if connection.vendor == "sqlite":
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(connection.settings_dict["NAME"])
            wal = Path(f"{path}-wal")
            size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
            try:
                for table in tables:
                    cursor.execute(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name IN "
                        "(SELECT name FROM sqlite_master WHERE tbl_name = %s AND type = 'index')",
                        [table, table],
                    )
                    sizes[table] = cursor.fetchone()[0]
                    cursor.execute(
                        "SELECT name, SUM(pgsize) FROM dbstat WHERE name = %s OR name IN "
                        "(SELECT name FROM sqlite_master WHERE tbl_name = %s AND type = 'index') "
                        "GROUP BY name ORDER BY 2 DESC",
                        [table, table],
                    )
                    relations[table] = [(name, size) for name, size in cursor.fetchall()]
            except Exception:
                pass
        else:
            cursor.execute("VACUUM FULL")
            cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
            for table in tables:
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                sizes[table] = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE oid = %s::regclass "
                    "OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass) "
                    "ORDER BY 2 DESC",
                    [table, table],
                )
                relations[table] = [(name, size) for name, size in cursor.fetchall()]
    return {
        "night": night,
        "seconds": night_seconds,
        "size": size,
        "rows": rows,
        "sizes": sizes,
        "relations": relations,
        "vendor": connection.vendor,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="policies to seed (default 5000)")
    parser.add_argument("--nights", type=int, default=14, help="nightly backups (default 14)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the bulk data")
    parser.add_argument(
        "--keep",
        type=int,
        default=0,
        help="the tenant's keep_scheduled_backups (default 0: keep every night)",
    )
    parser.add_argument(
        "--report-every", type=int, default=0, help="also report every N nights (default: 1, last)"
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to use instead of a scratch SQLite file"
    )
    parser.add_argument(
        "--scratch", type=Path, help="keep the scratch folder (SQLite file, seed) here, to inspect"
    )
    args = parser.parse_args(argv)

    code_root = _code_root()
    print(f"Measuring the code at {code_root}", flush=True)
    demo = require("tenantguard.emulator.demo", what="the emulator demo data")
    bulk = require("bulk_tenant", what="the bulk tenant generator (bench/bulk_tenant.py)")
    graph = require("tenantguard.graph", what="the Graph client")
    emulator_module = require("tenantguard.emulator", what="the Graph emulator")

    reports: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        if args.scratch:
            args.scratch.mkdir(parents=True, exist_ok=False)
            scratch = str(args.scratch)
        else:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="tg-nights-"))
        objects = bulk.generate_bulk_objects(
            count=args.count, seed=args.seed, tenant_label="Contoso Bench", every_kind=True
        )
        seed_dir = Path(scratch) / "seed"
        demo.write_seed_dir(objects, seed_dir)
        seeded = sum(1 for obj in objects if demo.collection_of(obj) != "groups")
        del objects
        emulator = emulator_module.GraphEmulator(
            config=emulator_module.EmulatorConfig(
                throttle=emulator_module.ThrottleConfig(enabled=False)
            )
        )
        emulator.add_tenant(tenant_id=TENANT_ID, token=TOKEN, seed_dir=seed_dir)
        _setup_django(Path(scratch), args.database_url)

        from tenantguard.backups.scheduling import scheduled_backups_start_due
        from tenantguard.backups.services import backup_set_capture
        from tenantguard.tenants.models import Tenant

        with loopback_emulator(emulator) as running:
            tenant = Tenant.objects.create(
                display_name="Contoso Bench",
                entra_tenant_id=TENANT_ID,
                cloud="custom",
                graph_url=running.base_url,
                auth_method="static_token",
                static_token=TOKEN,
            )
            Tenant.objects.filter(pk=tenant.pk).update(
                backup_schedule="daily",
                backup_hour_utc=FIRST_NIGHT.hour,
                next_scheduled_backup_at=FIRST_NIGHT,
                keep_scheduled_backups=args.keep,
            )
            client = graph.GraphClient(
                graph_url=running.base_url,
                token_provider=graph.StaticTokenProvider(TOKEN),
                request_pacer=_unpaced(),
            )
            with client:
                for night in range(1, args.nights + 1):
                    now = FIRST_NIGHT + timedelta(days=night - 1, minutes=1)
                    started = time.perf_counter()
                    scheduler = scheduled_backups_start_due(now=now, enqueue=False)
                    if len(scheduler.started) != 1:
                        raise SystemExit(f"night {night}: the scheduler started {scheduler}")
                    backup_set = backup_set_capture(backup_set=scheduler.started[0], client=client)
                    seconds = time.perf_counter() - started
                    print(
                        f"night {night}: {backup_set.status}, {backup_set.item_count:,} items, "
                        f"{seconds:,.1f} s, pruned {len(scheduler.pruned)}",
                        flush=True,
                    )
                    if backup_set.status not in ("completed", "partial"):
                        raise SystemExit(f"night {night} failed: {backup_set.error}")
                    every = args.report_every
                    if night in (1, args.nights) or (every and night % every == 0):
                        reports.append(_measure(night, seconds))

    first, last = reports[0], reports[-1]
    rows: list[tuple[str, object]] = [
        ("code", str(code_root)),
        ("database", first["vendor"]),
        ("policies + foundations seeded", f"{seeded:,}"),
        ("nights (scheduled backups)", f"{args.nights}, keep {args.keep or 'all'}"),
    ]
    for report in reports:
        label = f"after night {report['night']}"
        rows.append((f"{label}: database size", mib(report["size"])))
        for table, count in report["rows"].items():
            size = report["sizes"].get(table)
            rows.append(
                (f"  {table}", f"{count:,} rows" + (f", {mib(size)}" if size is not None else ""))
            )
        rows.append(("  that night's backup (wall)", f"{report['seconds']:,.1f} s"))
    for table, parts in last["relations"].items():
        count = last["rows"].get(table) or 0
        if count < 1000:
            continue  # per-row figures of small tables say nothing
        rows.append((f"after night {last['night']}: {table}, bytes per row", f"{count:,} rows"))
        for name, size in parts:
            rows.append((f"  {name}", f"{size / count:,.1f} B"))
    if last is not first:
        growth = (last["size"] - first["size"]) / max(last["night"] - first["night"], 1)
        rows.append(("growth per unchanged night", mib(int(growth))))
        rows.append(
            (f"night {last['night']} / night 1 size", f"{last['size'] / first['size']:.2f}x")
        )
    print_table("Storage after unchanged nights", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
