"""Fixtures for the checks and preview engines: the demo tenant seeded into the emulator, a backup
of it taken through the backup services, and runs walked through the wizard's services."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import runs
from tenantguard.tenants.graph_access import embedded_emulator


@pytest.fixture
def seeded(emulated: Any, demo_objects: list[dict[str, Any]]) -> Any:
    """The emulated ``tenant`` holding the demo configuration."""
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return emulated


@pytest.fixture
def take_backup(personas: dict[str, Any]) -> Callable[[Any], BackupSet]:
    def take(tenant: Any) -> BackupSet:
        backup_set = backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
        backup_set = backup_set_capture(backup_set=backup_set)
        assert backup_set.status in ("completed", "partial"), backup_set.error
        return backup_set

    return take


@pytest.fixture
def backup(seeded: Any, tenant: Any, take_backup: Callable[[Any], BackupSet]) -> BackupSet:
    """A backup of the demo tenant."""
    return take_backup(tenant)


@pytest.fixture
def owner(personas: dict[str, Any]) -> Any:
    return personas["owner"]


@pytest.fixture
def start_run(owner: Any) -> Callable[..., RestoreRun]:
    """A run into ``target`` from ``backup_set``, scoped as a user would scope it."""

    def start(
        target: Any,
        backup_set: BackupSet,
        *,
        items: Iterable[BackupItem] | None = None,
        mapping: dict[str, Any] | None = None,
        options: dict[str, bool] | None = None,
    ) -> RestoreRun:
        run = runs.restore_run_create(actor=owner, tenant=target)
        run = runs.restore_run_select_source(actor=owner, run=run, backup_set=backup_set)
        if items is None:
            run = runs.restore_run_set_scope(actor=owner, run=run, mode="all")
        else:
            run = runs.restore_run_set_scope(
                actor=owner, run=run, mode="selected", item_ids=[item.pk for item in items]
            )
        if mapping is not None:
            run = runs.restore_run_update_mapping(actor=owner, run=run, mapping=mapping)
        if options is not None:
            run = runs.restore_run_update_options(actor=owner, run=run, options=options)
        return run

    return start


@pytest.fixture
def request_log() -> Callable[[], list[Any]]:
    """The emulator's request log (every request and every ``$batch`` sub-request)."""

    def log() -> list[Any]:
        return list(embedded_emulator().request_log)

    return log
