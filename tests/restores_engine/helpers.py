"""Small helpers shared by the engine tests (no fixtures here)."""

from __future__ import annotations

import copy
from typing import Any

from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.intune import registry
from tenantguard.restores.models import RestoreCheckResult, RestorePreviewItem, RestoreRun


def item_named(backup_set: BackupSet, name: str, policy_type: str | None = None) -> BackupItem:
    items = backup_set.items.filter(display_name=name)
    if policy_type:
        items = items.filter(policy_type=policy_type)
    return items.get()


def collection(item: BackupItem) -> str:
    return registry.get(item.policy_type).collection


def live(emulated: Any, item: BackupItem) -> dict[str, Any]:
    """The emulated object a backup item was taken from (a copy to change and put back)."""
    obj = emulated.get_object(collection(item), item.source_id)
    assert obj is not None, f"{item.display_name} is not in the emulated tenant"
    return copy.deepcopy(obj)


def results(run: RestoreRun, code: str | None = None, name: str | None = None) -> list[Any]:
    rows = RestoreCheckResult.objects.filter(run=run)
    if code:
        rows = rows.filter(code=code)
    if name:
        rows = rows.filter(item_name=name)
    return list(rows)


def codes_of(run: RestoreRun, name: str) -> dict[str, str]:
    """``{code: severity}`` of an item's check results."""
    return {row.code: row.severity for row in results(run, name=name)}


def preview_of(run: RestoreRun, name: str, policy_type: str | None = None) -> RestorePreviewItem:
    rows = RestorePreviewItem.objects.filter(run=run, display_name=name)
    if policy_type:
        rows = rows.filter(policy_type=policy_type)
    return rows.get()


def group_id(backup_set: BackupSet, name: str) -> str:
    return next(gid for gid, gname in backup_set.group_names.items() if gname == name)
