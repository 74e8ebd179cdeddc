"""Helpers for the app kinds' tests (apps, app configuration, Windows app protection, policy
sets): the demo objects of a collection, the state of a kind in a backup, and the writes the
emulator received for a collection."""

from __future__ import annotations

import copy
from typing import Any

from tenantguard.emulator.demo import FOUNDATION_COLLECTIONS, collection_of
from tenantguard.intune import registry
from tenantguard.tenants.graph_access import embedded_emulator

from ..restores_exec.conftest import seed
from .tenant_admin_support import backup_state, demo_of, graph

APPS = "deviceAppManagement/mobileApps"
BETA = "/beta/deviceAppManagement"

__all__ = [
    "APPS",
    "BETA",
    "backup_state",
    "by_name",
    "demo_of",
    "graph",
    "log_size",
    "seed_collections",
    "writes_to",
]


def seed_collections(emulated: Any, demo_objects: list[dict[str, Any]], *collections: str) -> None:
    """Seed the demo foundations (groups, scope tags, filters, templates) and ``collections``."""
    wanted = {*FOUNDATION_COLLECTIONS, *collections}
    seed(emulated, [copy.deepcopy(o) for o in demo_objects if collection_of(o) in wanted])


def by_name(emulated: Any, type_key: str) -> dict[str, dict[str, Any]]:
    ptype = registry.get(type_key)
    return {registry.display_name_of(ptype, o): o for o in emulated.list_objects(ptype.collection)}


def writes_to(emulated: Any, collection: str, *, since: int = 0) -> list[tuple[str, str, int]]:
    """``(method, path, status)`` of the writes the emulator received for ``collection`` (and
    its objects' actions) for this tenant, from request number ``since`` on."""
    log = embedded_emulator().request_log[since:]
    return [
        (entry.method, entry.path, entry.status)
        for entry in log
        if entry.tenant_id == emulated.tenant_id
        and entry.method in ("POST", "PATCH", "PUT", "DELETE")
        and f"/{collection}" in entry.path
    ]


def log_size() -> int:
    return len(embedded_emulator().request_log)
