"""Helpers for the tests of the script and quality-update kinds (compliance scripts, macOS shell
and custom attribute scripts, Windows quality update profiles and policies).

``restore_round_trip`` is the end-to-end proof of one kind: seed the demo tenant's foundations and
that kind's demo objects, back up, change the tenant (one object modified, one deleted), restore
everything, back up again: the kind's objects equal the first backup (payload as compared,
assignments, scope tags).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
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


def restore_round_trip(
    *,
    personas: dict[str, Any],
    tenant: Any,
    emulated: Any,
    demo_objects: list[dict[str, Any]],
    type_key: str,
    modified: str,
    modify: Callable[[dict[str, Any]], None],
    deleted: str,
) -> tuple[dict[str, Any], Any]:
    """Run the round trip for ``type_key`` (see the module docstring); ``modify`` changes the
    object named ``modified`` in place (as an admin would in the portal). Returns the preview
    items by name and the finished run."""
    owner = personas["owner"]
    collection = registry.get(type_key).collection
    objects = [o for o in demo_objects if collection_of(o) in FOUNDATION_COLLECTIONS]
    mine = demo_of(demo_objects, collection)
    assert {modified, deleted} <= {o["displayName"] for o in mine}
    seed(emulated, objects + mine)
    baseline = take_backup(owner, tenant)
    before = backup_state(baseline, type_key)
    assert set(before) == {o["displayName"] for o in mine}

    by_name = {o["displayName"]: o for o in emulated.list_objects(collection)}
    changed = copy.deepcopy(by_name[modified])
    modify(changed)
    emulated.put_object(collection, changed)
    emulated.delete_object(collection, by_name[deleted]["id"])

    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.filter(policy_type=type_key)}
    assert planned[deleted].action == "create", planned[deleted].action
    assert planned[modified].action == "update", planned[modified].action
    for name in set(before) - {deleted, modified}:
        assert planned[name].action == "no_change", (name, planned[name].action)

    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    assert backup_state(take_backup(owner, tenant), type_key) == before
    return planned, run
