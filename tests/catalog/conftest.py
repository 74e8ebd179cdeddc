"""Fixtures for the setting definition cache: the demo tenant seeded into the emulator, a backup
of it, runs walked through the wizard's services, and the emulator's request log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantguard.backups.models import BackupSet
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import runs
from tenantguard.tenants.graph_access import embedded_emulator

_DEFINITION_COLLECTIONS = ("configurationSettings", "complianceSettings", "reusableSettings")


@pytest.fixture
def owner(personas: dict[str, Any]) -> Any:
    return personas["owner"]


@pytest.fixture
def seed_demo(demo_objects: list[dict[str, Any]]) -> Callable[[Any], Any]:
    """Put the demo configuration into an emulated tenant; returns its emulator state."""
    from tenantguard.tenants.graph_access import emulated_tenant

    def seed(tenant: Any) -> Any:
        emulated = emulated_tenant(tenant)
        for obj in demo_objects:
            emulated.put_object(collection_of(obj, source="test"), obj)
        return emulated

    return seed


@pytest.fixture
def take_backup(owner: Any) -> Callable[[Any], BackupSet]:
    def take(tenant: Any) -> BackupSet:
        backup_set = backup_set_start(actor=owner, tenant=tenant, enqueue=False)
        backup_set = backup_set_capture(backup_set=backup_set)
        assert backup_set.status in ("completed", "partial"), backup_set.error
        return backup_set

    return take


@pytest.fixture
def start_run(owner: Any) -> Callable[[Any, BackupSet], RestoreRun]:
    """A run of the whole backup into ``target``."""

    def start(target: Any, backup_set: BackupSet) -> RestoreRun:
        run = runs.restore_run_create(actor=owner, tenant=target)
        run = runs.restore_run_select_source(actor=owner, run=run, backup_set=backup_set)
        return runs.restore_run_set_scope(actor=owner, run=run, mode="all")

    return start


@pytest.fixture
def definition_requests() -> Callable[[str | None], int]:
    """How many setting definition reads (``$batch`` sub-requests to a definition collection)
    the emulator has answered so far, for one emulated tenant id or all."""

    def count(tenant_id: str | None = None) -> int:
        return sum(
            1
            for entry in embedded_emulator().request_log
            if any(f"/{collection}/" in entry.path for collection in _DEFINITION_COLLECTIONS)
            and (tenant_id is None or entry.tenant_id == tenant_id)
        )

    return count
