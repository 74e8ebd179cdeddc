"""Setting names for a big settings catalog restore: how many Graph requests the definitions cost.

    python bench/setting_definitions.py                      # 5,000 settings catalog items
    python bench/setting_definitions.py --count 1000 --extra-definitions 200

Seeds a loopback Graph emulator (throttling off) with the demo tenant plus clones of its
settings catalog-like objects (settings catalog, endpoint security, compliance settings catalog)
up to ``--count`` such items. As in a real tenant, the clones share most of their setting
definitions: each keeps its original's settings and adds 0 to ``--max-extra`` choice settings
drawn from a pool of ``--extra-definitions`` synthetic definitions (an organisation sets a few
hundred distinct settings across thousands of policies). Backs the tenant up through the backup
service (scratch SQLite database), then, on a restore run of the whole backup, times
``restore_run_run_checks`` and ``restore_run_run_preview`` and reports the Graph requests each
sent (``graph_requests`` of their summaries: ``client.request_count``, a ``$batch`` is one) and
the share that read setting definitions (``setting_definitions.graph_requests``; the emulator's
log gives the definition reads one by one). A second run of the same backup into the same
tenant shows what the cache saves: 0 definition requests.

Unknown ids: ``--unknown-definitions`` synthetic "retired" definitions, one of which about one
clone in ten also uses. The emulator serves a definition for every id its tenant's stored
objects name (404 otherwise), so after the backup the retired settings are removed from the
tenant's stored policies (an admin dropped them; Microsoft no longer defines them): the backup
names them, Graph answers 404 in all three definition collections.

The acceptance measurement: a third run's preview alone on an EMPTY cache (its checks run
first, then the tenant's ``SettingDefinition`` rows are deleted), reporting the distinct ids
it labels, the unknown ones among them and its definition requests. The limit: the first round
asks every id in its first collection, 20 a ``$batch`` (at most ceil(distinct/20) + 2 with the
rounding of three collections); each of the two further rounds asks only the unknown ids, in
the next collection (at most ceil(unknown/20) + 2 each):
``ceil(distinct/20) + 2*ceil(unknown/20) + 6``. Exits 1 when the preview sends more.

Target (issue 9): a preview of 5,000 settings catalog items adds at most a few dozen requests
for definitions; a second preview adds none.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from _harness import loopback_emulator, max_rss_bytes, mib, print_table, require
from restore_checks_preview import (
    TOKEN_PREFIX,
    bench_admin,
    new_emulator,
    product_tenant,
    setup_django,
    take_backup,
)

_NAMESPACE = uuid.UUID("6b0f1f0e-8f5e-4a55-9d0e-5f1a3c0d2b71")
_DEFINITION_COLLECTIONS = ("/configurationSettings/", "/complianceSettings/", "/reusableSettings/")
#: Collections whose objects are settings catalog-like (cloned to reach ``--count``).
_CLONED = ("deviceManagement/configurationPolicies", "deviceManagement/compliancePolicies")


def _extra_setting(definition_id: str, rng: random.Random) -> dict[str, Any]:
    option = rng.choice((0, 1))
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
        "settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": definition_id,
            "settingInstanceTemplateReference": None,
            "choiceSettingValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue",
                "settingValueTemplateReference": None,
                "value": f"{definition_id}_{option}",
                "children": [],
            },
        },
    }


def retired_ids(count: int) -> list[str]:
    """Synthetic definitions Graph no longer has (404 once dropped from the tenant)."""
    return [
        f"device_vendor_msft_policy_config_bench~policy~bench_retired_setting{n:04d}"
        for n in range(count)
    ]


def generate_objects(
    *,
    count: int,
    seed: int,
    tenant_label: str,
    extra_definitions: int,
    max_extra: int,
    unknown_definitions: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The demo tenant plus clones of its settings catalog-like objects, ``count`` such objects
    in all; returns the objects and how many settings catalog-like objects they hold."""
    demo = require("tenantguard.emulator.demo", what="the demo tenant")
    seed_module = require("tenantguard.emulator.seed", what="the emulator's seed helpers")
    registry = require("tenantguard.intune.registry", what="the policy-type registry")
    rng = random.Random(seed)
    objects = demo.demo_tenant_objects(tenant_label=tenant_label, seed=seed)
    templates = []
    for obj in objects:
        collection = seed_module.collection_of(obj, source="bench")
        if collection not in _CLONED or not isinstance(obj.get("settings"), list):
            continue
        ptype = registry.classify(collection, obj)
        if ptype.is_tenant_default(obj) or ptype.is_preview_only:
            continue
        templates.append(obj)
    if not templates:
        raise SystemExit("the demo seed holds no settings catalog policies to clone")
    pool = [
        "device_vendor_msft_policy_config_bench~policy~bench_admx_"
        f"{['edge', 'chrome', 'office', 'onedrive', 'teams'][n % 5]}_setting{n:04d}"
        for n in range(extra_definitions)
    ]
    clones = []
    for index in range(max(0, count - len(templates))):
        template = rng.choice(templates)
        new_id = str(uuid.uuid5(_NAMESPACE, f"{tenant_label}:{index}:{template['id']}"))
        clone = json.loads(json.dumps(template).replace(str(template["id"]), new_id))
        title = "name" if "name" in clone else "displayName"
        clone[title] = f"{clone[title]} #{index:05d}"
        extra = rng.sample(pool, min(len(pool), rng.randint(0, max_extra)))
        retired = retired_ids(unknown_definitions)
        if retired and index < len(retired):
            extra.append(retired[index])  # every retired id is used at least once
        elif retired and rng.random() < 0.1:
            extra.append(rng.choice(retired))
        settings = [copy.deepcopy(s) for s in clone["settings"]]
        settings += [_extra_setting(definition_id, rng) for definition_id in extra]
        for number, setting in enumerate(settings):
            setting["id"] = str(number)
        clone["settings"] = settings
        if "settingCount" in clone:
            clone["settingCount"] = len(settings)
        clones.append(clone)
    return [*objects, *clones], len(templates) + len(clones)


def drop_retired(emulated: Any, retired: set[str]) -> int:
    """Remove the settings naming ``retired`` ids from the tenant's stored policies and make the
    emulator learn the tenant's definitions again: those ids then answer 404. Returns the
    number of policies changed."""
    changed = 0
    for collection in _CLONED:
        for obj in emulated.list_objects(collection):
            settings = obj.get("settings")
            if not isinstance(settings, list):
                continue
            kept = [
                s
                for s in settings
                if (s.get("settingInstance") or {}).get("settingDefinitionId") not in retired
            ]
            if len(kept) == len(settings):
                continue
            obj["settings"] = kept
            if "settingCount" in obj:
                obj["settingCount"] = len(kept)
            emulated.put_object(collection, obj)
            changed += 1
    emulated.setting_definitions.forget()
    return changed


def definition_request_limit(distinct: int, unknown: int) -> int:
    """The most definition requests a preview on an empty cache may send (module docstring)."""
    return math.ceil(distinct / 20) + 2 * math.ceil(unknown / 20) + 6


def _definition_reads(entries: list[Any]) -> int:
    return sum(1 for e in entries if any(part in e.path for part in _DEFINITION_COLLECTIONS))


def _time_definition_steps() -> list[float]:
    """Wrap the checks' and the preview's call of the definition cache; each call appends its
    wall time (seconds) to the returned list."""
    from tenantguard.restores.services import checks, diff

    spent: list[float] = []
    original = checks.restore_run_setting_definitions_ensure

    def timed(**kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    checks.restore_run_setting_definitions_ensure = timed  # type: ignore[assignment]
    diff.restore_run_setting_definitions_ensure = timed  # type: ignore[assignment]
    return spent


def _step(emulator: Any, tenant_id: str, action: Any, run: Any) -> tuple[Any, float, list[Any]]:
    start = len(emulator.request_log)
    started = time.perf_counter()
    run = action(run)
    wall = time.perf_counter() - started
    return run, wall, [e for e in emulator.request_log[start:] if e.tenant_id == tenant_id]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="settings catalog-like items")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--extra-definitions", type=int, default=400, help="synthetic definitions clones draw from"
    )
    parser.add_argument(
        "--max-extra", type=int, default=5, help="extra settings per clone, at most"
    )
    parser.add_argument(
        "--unknown-definitions",
        type=int,
        default=40,
        help="retired definitions (404) the backup names and Graph no longer has",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tg-bench-defs-") as scratch:
        setup_django(Path(scratch))
        require("tenantguard.catalog.services", what="the setting definition cache")
        from tenantguard.catalog.models import SettingDefinition
        from tenantguard.intune.setting_definitions import (
            SETTINGS_CATALOG_TYPE_KEYS,
            setting_definition_ids,
        )
        from tenantguard.restores.services.checks import restore_run_run_checks
        from tenantguard.restores.services.diff import restore_run_run_preview
        from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope

        timings = _time_definition_steps()
        admin = bench_admin()
        tenant_id, label = "bench-defs", "Contoso Bench Definitions"
        print(f"generating {args.count:,} settings catalog items ...", flush=True)
        objects, catalog_items = generate_objects(
            count=args.count,
            seed=args.seed,
            tenant_label=label,
            extra_definitions=args.extra_definitions,
            max_extra=args.max_extra,
            unknown_definitions=args.unknown_definitions,
        )
        emulator = new_emulator()
        emulator.add_tenant(
            tenant_id=tenant_id, token=f"{TOKEN_PREFIX}-{tenant_id}", seed_objects=objects
        )
        with loopback_emulator(emulator) as running:
            tenant = product_tenant(tenant_id=tenant_id, label=label, base_url=running.base_url)
            print("backing up through the backup service ...", flush=True)
            started = time.perf_counter()
            backup_set = take_backup(actor=admin, tenant=tenant)
            backup_wall = time.perf_counter() - started
            retired = set(retired_ids(args.unknown_definitions))
            dropped = drop_retired(emulator.tenants[tenant_id], retired)
            scoped = backup_set.items.filter(policy_type__in=SETTINGS_CATALOG_TYPE_KEYS)
            by_type = Counter(scoped.values_list("policy_type", flat=True))
            ids: set[str] = set()
            settings = 0
            for payload in scoped.values_list("stored_payload__payload", flat=True).iterator():
                ids |= setting_definition_ids(payload)
                settings += len(payload.get("settings") or [])

            rows: list[tuple[str, object]] = [
                ("backup items (all types)", f"{backup_set.items.count():,}"),
                (
                    "settings catalog-like items",
                    ", ".join(f"{k}: {v:,}" for k, v in sorted(by_type.items())),
                ),
                ("settings in them / distinct definitions", f"{settings:,} / {len(ids):,}"),
                ("backup wall time (setup)", f"{backup_wall:,.1f} s"),
                (
                    "retired (404) definitions / policies that lost them after the backup",
                    f"{len(retired & ids):,} / {dropped:,}",
                ),
            ]

            def checked(run: Any) -> Any:
                return restore_run_run_checks(actor=admin, run=run)

            def previewed(run: Any) -> Any:
                return restore_run_run_preview(actor=admin, run=run)

            for attempt in ("first run (empty cache)", "second run (same tenant)"):
                run = restore_run_create(actor=admin, tenant=tenant, backup_set=backup_set)
                run = restore_run_set_scope(actor=admin, run=run, mode="all")
                print(f"{attempt}: checks ...", flush=True)
                run, checks_wall, checks_log = _step(emulator, tenant_id, checked, run)
                print(f"{attempt}: preview ...", flush=True)
                run, preview_wall, preview_log = _step(emulator, tenant_id, previewed, run)
                for step, wall, log, summary in (
                    ("checks", checks_wall, checks_log, run.metadata["checks"]["summary"]),
                    ("preview", preview_wall, preview_log, run.metadata["preview"]["summary"]),
                ):
                    definitions = summary.get("setting_definitions") or {}
                    spent = timings.pop(0) if timings else 0.0
                    rows += [
                        (
                            f"{attempt}, {step}: wall / Graph requests",
                            f"{wall:,.2f} s / {summary.get('graph_requests', 0):,}",
                        ),
                        (
                            f"{attempt}, {step}: of which definitions",
                            f"{definitions.get('graph_requests', 0):,} requests "
                            f"({_definition_reads(log):,} definition reads in $batch), "
                            f"{spent:,.2f} s",
                        ),
                    ]
                    if definitions.get("problem"):
                        rows.append((f"{attempt}, {step}: problem", definitions["problem"]))
            cached = SettingDefinition.objects.filter(tenant=tenant)
            rows.append(
                (
                    "cache rows (known / unknown)",
                    f"{cached.filter(known=True).count():,} / {cached.filter(known=False).count():,}",
                )
            )

            # the acceptance criterion: the preview alone, on an empty cache
            attempt = "third run, preview alone on an EMPTY cache"
            run = restore_run_create(actor=admin, tenant=tenant, backup_set=backup_set)
            run = restore_run_set_scope(actor=admin, run=run, mode="all")
            print(f"{attempt}: checks (not measured) ...", flush=True)
            run = checked(run)
            cleared, _ = SettingDefinition.objects.filter(tenant=tenant).delete()
            print(f"{attempt}: {cleared:,} cache rows deleted; preview ...", flush=True)
            run, preview_wall, preview_log = _step(emulator, tenant_id, previewed, run)
            definitions = run.metadata["preview"]["summary"].get("setting_definitions") or {}
            timings.pop(0) if timings else None  # the unmeasured checks' cache step
            spent = timings.pop(0) if timings else 0.0
            distinct = int(definitions.get("definitions", 0))
            unknown = cached.filter(known=False).count()
            requests = int(definitions.get("graph_requests", 0))
            limit = definition_request_limit(distinct, unknown)
            rows += [
                (
                    f"{attempt}: distinct ids / of which unknown (404)",
                    f"{distinct:,} / {unknown:,}",
                ),
                (
                    f"{attempt}: definition requests / limit",
                    f"{requests:,} / {limit:,} "
                    f"({_definition_reads(preview_log):,} definition reads in $batch)",
                ),
                (
                    f"{attempt}: preview wall / of which the cache step",
                    f"{preview_wall:,.2f} s / {spent:,.2f} s",
                ),
                ("peak RSS", mib(max_rss_bytes())),
            ]
            if definitions.get("problem"):
                rows.append((f"{attempt}: problem", definitions["problem"]))
        emulator.close()
        print_table(
            f"Setting definitions for {catalog_items:,} settings catalog items "
            "(loopback emulator, throttling off)",
            rows,
        )
    if requests > limit or not distinct:
        print(
            f"FAILED: the preview on an empty cache sent {requests} definition requests for "
            f"{distinct} distinct ids ({unknown} unknown); the limit is {limit}"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
