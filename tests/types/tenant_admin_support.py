"""Helpers for the tenant administration kinds' tests (device categories, terms and conditions,
branding profiles, Intune roles and role assignments, tenant-wide settings).

``round_trip`` is the end-to-end proof of one kind: seed the demo tenant's foundations, the
objects of the collections named and those of the kind, back up, change the tenant (objects
modified, objects deleted), restore everything, back up again: the kind's objects equal the
first backup (payload as compared, assignments, scope tags).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.demo import FOUNDATION_COLLECTIONS, collection_of
from tenantguard.emulator.testing import emulator_client
from tenantguard.intune import normalize, registry
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, seed, take_backup

TOKEN = "static-token-1"
DM = "/beta/deviceManagement"


@contextmanager
def graph(**add_tenant: Any) -> Iterator[httpx.Client]:
    """Raw HTTP into a fresh emulator tenant (no throttling)."""
    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    try:
        emu.add_tenant(tenant_id="contoso-test", token=TOKEN, **add_tenant)
        with emulator_client(emu, TOKEN) as client:
            yield client
    finally:
        emu.close()


def demo_of(demo_objects: list[dict[str, Any]], collection: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(o) for o in demo_objects if collection_of(o) == collection]


def backup_state(backup_set: Any, type_key: str) -> dict[str, tuple[Any, Any, Any]]:
    """``{display name: (payload as compared, assignments as compared, scope tags)}``."""
    return {
        item.display_name: (
            normalize.normalize_payload(item.policy_type, item.payload),
            normalize.normalize_assignments(item.assignments or []),
            sorted(item.scope_tag_ids),
        )
        for item in backup_set.items.filter(policy_type=type_key)
    }


def name_of(type_key: str, obj: dict[str, Any]) -> str:
    ptype = registry.get(type_key)
    if ptype.singleton is not None:
        return ptype.singleton.display_name
    return registry.display_name_of(ptype, obj)


def round_trip(
    *,
    personas: dict[str, Any],
    tenant: Any,
    emulated: Any,
    demo_objects: list[dict[str, Any]],
    type_key: str,
    modify: dict[str, Callable[[dict[str, Any]], None]],
    delete: Iterable[tuple[str, str]] = (),
    also_seed: Iterable[str] = (),
    expect: dict[str, str] | None = None,
) -> tuple[dict[str, Any], Any, Any]:
    """Run the round trip for ``type_key``: ``modify`` maps a display name of the kind to a
    change made in place (as an admin would in the portal); ``delete`` lists ``(type key,
    display name)`` objects deleted from the tenant after the backup. Returns the preview items
    of the kind by name, the finished run and the first backup."""
    owner = personas["owner"]
    collection = registry.get(type_key).collection
    collections = {*FOUNDATION_COLLECTIONS, *also_seed, collection}
    seed(emulated, [o for o in demo_objects if collection_of(o) in collections])
    baseline = take_backup(owner, tenant)
    before = backup_state(baseline, type_key)
    assert before, f"the demo tenant holds no {type_key}"

    for name, change in modify.items():
        current = _by_name(emulated, type_key)[name]
        changed = copy.deepcopy(current)
        change(changed)
        emulated.put_object(collection, changed)
    for other_type, name in delete:
        other = registry.get(other_type).collection
        emulated.delete_object(other, _by_name(emulated, other_type)[name]["id"])

    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.filter(policy_type=type_key)}
    for name, action in (expect or {}).items():
        assert planned[name].action == action, (name, planned[name].action, planned[name].reason)

    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    assert backup_state(take_backup(owner, tenant), type_key) == before
    return planned, run, baseline


def _by_name(emulated: Any, type_key: str) -> dict[str, dict[str, Any]]:
    collection = registry.get(type_key).collection
    return {name_of(type_key, o): o for o in emulated.list_objects(collection)}
