"""Write a benchmark seed directory: ``count`` mixed Intune objects plus their foundations.

    python bench/emulator_seed.py --count 5000 --out var/bench-seed

Serve it with ``python bench/_harness.py serve --seed-dir var/bench-seed`` or
``tenantguard emulator serve --tenant bench:bench-token:var/bench-seed``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from _harness import print_table, require


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="policy objects (default 5000)")
    parser.add_argument("--out", type=Path, required=True, help="seed directory to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--tenant-label", default="Contoso Bench", help="changes every id")
    parser.add_argument(
        "--clean", action="store_true", help="delete *.json already in --out before writing"
    )
    args = parser.parse_args(argv)

    demo = require("tenantguard.emulator.demo", what="the emulator demo data")
    bulk = require("bulk_tenant", what="the bulk tenant generator (bench/bulk_tenant.py)")
    existing = sorted(args.out.glob("*.json")) if args.out.is_dir() else []
    if existing and not args.clean:
        print(
            f"{args.out} already holds {len(existing)} JSON files; a seed directory must hold one "
            "data set. Pass --clean to replace them or choose another --out.",
            file=sys.stderr,
        )
        return 2
    for path in existing:
        path.unlink()

    started = time.perf_counter()
    objects = bulk.generate_bulk_objects(
        count=args.count, seed=args.seed, tenant_label=args.tenant_label
    )
    generated = time.perf_counter() - started
    paths = demo.write_seed_dir(objects, args.out)
    written = time.perf_counter() - started - generated

    counts = Counter(demo.collection_of(obj) for obj in objects)
    size = sum(path.stat().st_size for path in paths)
    rows: list[tuple[str, object]] = [
        (collection, f"{number:,}") for collection, number in counts.most_common()
    ]
    rows += [
        ("total objects / files", f"{len(objects):,} / {len(paths):,}"),
        ("size on disk", f"{size / (1024 * 1024):,.1f} MiB"),
        ("generate / write", f"{generated:.2f} s / {written:.2f} s"),
        ("directory", str(args.out)),
    ]
    print_table(f"Seed directory: {args.count:,} policies (seed {args.seed})", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
