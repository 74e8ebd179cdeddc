"""Helpers for the tests of endpoint security intents, reusable policy settings and compliance
policies on the settings catalog (tests/types/test_intents.py, test_reusable_settings.py,
test_compliance_settings_catalog.py)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.demo import DEMO_SEED_DIR, collection_of
from tenantguard.emulator.testing import emulator_client
from tenantguard.intune import normalize
from tenantguard.tenants.graph_access import embedded_emulator

TOKEN = "static-token-1"
DM = "/beta/deviceManagement"
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@contextmanager
def graph(*, demo: bool = False) -> Iterator[httpx.Client]:
    """Raw HTTP into a fresh emulator tenant (no throttling), seeded with the demo tenant when
    ``demo``."""
    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    try:
        emu.add_tenant(
            tenant_id="contoso-test", token=TOKEN, seed_dir=DEMO_SEED_DIR if demo else None
        )
        with emulator_client(emu, TOKEN) as client:
            yield client
    finally:
        emu.close()


def named(objects: list[dict[str, Any]], name: str, key: str = "displayName") -> dict[str, Any]:
    matches = [o for o in objects if o.get(key) == name]
    assert len(matches) == 1, (name, [o.get(key) for o in objects])
    return copy.deepcopy(matches[0])


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


def log_mark() -> int:
    return len(embedded_emulator().request_log)


def writes_since(mark: int) -> list[tuple[str, str, int]]:
    """``(method, path, status)`` of the writes the embedded emulator answered since ``mark``."""
    return [
        (entry.method, entry.path, entry.status)
        for entry in embedded_emulator().request_log[mark:]
        if entry.method in WRITES
    ]
