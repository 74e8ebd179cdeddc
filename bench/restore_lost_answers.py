"""Restore benchmark: creates whose answers are lost (issue 7 A1), over loopback HTTP.

    python bench/restore_lost_answers.py
    python bench/restore_lost_answers.py --count 1000 --rate 0.3 --answers 504 drop timeout

Seeds a loopback Graph emulator with ``generate_bulk_objects`` (``--count`` policies plus their
scope tags, filters and notification templates), backs it up, deletes every writable object
from the emulator (all but groups and the built-in scope tag), walks the wizard, then sets the
fault ``lost_answer_rates={"POST": rate}`` with ``lost_answers`` (``504``: answered Gateway
Timeout after applying; ``drop``: the server closes the connection without a byte after
applying) and executes the run through the product's client over real HTTP.

Prints outcomes, adopted items (creates whose answer was lost and that the executor found and
adopted), create POSTs sent, duplicates by (collection, name) in the emulator (must be 0) and
wall time.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path

from _harness import loopback_emulator, print_table
from restore_checks_preview import (
    bench_admin,
    new_emulator,
    product_tenant,
    seed_tenant,
    setup_django,
    take_backup,
)
from restore_execute_1000 import _walk_wizard

TENANT_ID = "bench-lost"
LABEL = "Contoso Bench Lost Answers"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="policies (default 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.2, help="POSTs whose answer is lost")
    parser.add_argument("--answers", nargs="+", default=["504", "drop"])
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tg-bench-lost-") as scratch:
        setup_django(Path(scratch))
        logging.getLogger("tenantguard").setLevel(logging.ERROR)
        from tenantguard.emulator import FaultConfig
        from tenantguard.graph import RequestPacer, WritePacer
        from tenantguard.intune import registry, write
        from tenantguard.restores.services import execute
        from tenantguard.restores.services.execute import restore_run_execute
        from tenantguard.tenants.graph_access import graph_client_for

        execute.LOST_CREATE_SETTLE_SECONDS = 0.5
        admin = bench_admin()
        emulator = new_emulator()
        emulated = seed_tenant(
            emulator, tenant_id=TENANT_ID, count=args.count, seed=args.seed, label=LABEL
        )
        with loopback_emulator(emulator) as running:
            tenant = product_tenant(tenant_id=TENANT_ID, label=LABEL, base_url=running.base_url)
            backup_set = take_backup(actor=admin, tenant=tenant)
            doomed = [
                item
                for item in backup_set.items.all()
                if write.is_writable(item.policy_type, item.payload)
            ]
            for item in doomed:
                emulated.delete_object(registry.get(item.policy_type).collection, item.source_id)
            run = _walk_wizard(admin, tenant, backup_set)
            first_entry = len(emulator.request_log)
            emulated.faults = FaultConfig(
                lost_answer_rates={"POST": args.rate}, lost_answers=tuple(args.answers), seed=7
            )
            client = graph_client_for(
                tenant,
                pacer=WritePacer(max_writes=100_000, per_seconds=1.0),
                request_pacer=RequestPacer(max_requests=100_000, per_seconds=1.0),
            )
            started = time.perf_counter()
            with client:
                run = restore_run_execute(run_id=run.pk, client=client)
            wall = time.perf_counter() - started
            emulated.faults = FaultConfig()
        collections = {t.collection for t in registry.POLICY_TYPES.values()}
        creates = sum(
            1
            for entry in emulator.request_log[first_entry:]
            if entry.method == "POST" and any(entry.path.endswith("/" + c) for c in collections)
        )
        names: Counter[tuple[str, str]] = Counter()
        for collection in {
            t.collection for t in registry.POLICY_TYPES.values() if not t.is_preview_only
        }:
            for obj in emulated.list_objects(collection):
                if not obj.get("isBuiltIn"):
                    names[(collection, obj.get("displayName") or obj.get("name"))] += 1
        duplicates = sum(n - 1 for n in names.values() if n > 1)
        outcomes = Counter(run.item_outcomes.values_list("outcome", flat=True))
        adopted = run.item_outcomes.filter(reason__contains="adopted").count()
        emulator.close()
        print_table(
            f"Restore of {len(doomed):,} objects, {args.rate:.0%} of POST answers lost "
            f"({', '.join(args.answers)}), over loopback HTTP",
            [
                ("run status", run.status),
                ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))),
                ("verified", run.item_outcomes.filter(verified=True).count()),
                ("adopted after a lost answer", adopted),
                ("create POSTs sent", creates),
                ("duplicates (type + name)", duplicates),
                ("wall time", f"{wall:.1f} s"),
            ],
        )
        return 0 if duplicates == 0 and run.status == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
