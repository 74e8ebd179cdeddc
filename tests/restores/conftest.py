"""Fixtures for the restore engine: backup sets built directly in the database, and a helper that
walks a run through the wizard up to the point a test needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.utils import timezone

from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import runs

HASH = "a" * 64

DEFAULT_ITEMS: tuple[tuple[str, str, str, str], ...] = (
    # (policy_type, category, display_name, platform)
    ("scope_tag", "Foundations", "Helpdesk", "all"),
    ("assignment_filter", "Foundations", "Corporate Windows", "windows"),
    ("device_configuration", "Device configuration", "Windows baseline", "windows"),
    ("device_configuration", "Device configuration", "iOS restrictions", "iOS"),
    ("compliance_policy", "Compliance", "Windows compliance", "windows"),
)


@pytest.fixture
def make_backup_set(db) -> Callable[..., BackupSet]:
    def make(
        tenant: Any,
        *,
        name: str = "Nightly",
        status: str = "completed",
        items: Sequence[tuple[str, str, str, str]] = DEFAULT_ITEMS,
    ) -> BackupSet:
        backup_set = BackupSet.objects.create(
            tenant=tenant,
            name=name,
            status=status,
            captured_at=timezone.now(),
            item_count=len(items),
        )
        BackupItem.objects.bulk_create(
            BackupItem(
                backup_set=backup_set,
                policy_type=policy_type,
                category=category,
                source_id=f"{name}-{index}",
                display_name=display_name,
                platform=platform,
                payload={"displayName": display_name},
                content_hash=HASH,
            )
            for index, (policy_type, category, display_name, platform) in enumerate(items)
        )
        return backup_set

    return make


@pytest.fixture
def backup_set(make_backup_set, tenant) -> BackupSet:
    return make_backup_set(tenant)


def check(code: str, severity: str, name: str = "Windows baseline") -> dict[str, Any]:
    return {
        "code": code,
        "severity": severity,
        "item": {"type": "device_configuration", "source_id": "x", "name": name},
        "message": f"{code} for {name}",
        "resolution": "Do something about it.",
    }


def preview_items(backup_set: BackupSet) -> list[dict[str, Any]]:
    return [
        {
            "policy_type": item.policy_type,
            "source_id": item.source_id,
            "display_name": item.display_name,
            "action": "update",
            "target_id": "t-" + item.source_id,
            "target_hash": HASH,
            "diff": {"changed": ["description"]},
        }
        for item in backup_set.items.all()
    ]


def record_checks(
    actor: Any, run: RestoreRun, results: Sequence[dict[str, Any]] = ()
) -> RestoreRun:
    return runs.restore_run_record_checks(
        actor=actor, run=run, results=list(results), summary={"total": len(results)}
    )


def record_preview(actor: Any, run: RestoreRun) -> RestoreRun:
    assert run.backup_set is not None
    return runs.restore_run_record_preview(
        actor=actor,
        run=run,
        summary={"create": 0, "update": run.backup_set.items.count()},
        items=preview_items(run.backup_set),
    )


def prepare(
    actor: Any,
    tenant: Any,
    backup_set: BackupSet,
    *,
    until: str = "confirmed",
    checks: Sequence[dict[str, Any]] = (),
    dry_run: bool = False,
    acknowledged: bool = True,
    typed_label: str | None = None,
) -> RestoreRun:
    """Walk a run through the wizard: ``until`` one of created / scoped / checked / previewed /
    confirmed. With the defaults the run is ready to be queued by ``actor``."""
    run = runs.restore_run_create(actor=actor, tenant=tenant, backup_set=backup_set)
    if until == "created":
        return run
    run = runs.restore_run_set_scope(actor=actor, run=run, mode="all")
    if until == "scoped":
        return run
    run = record_checks(actor, run, checks)
    if until == "checked":
        return run
    run = record_preview(actor, run)
    if not dry_run:
        run = runs.restore_run_set_dry_run(actor=actor, run=run, dry_run=False)
    if until == "previewed":
        return run
    label = tenant.display_name if typed_label is None else typed_label
    return runs.restore_run_confirm(
        actor=actor, run=run, acknowledged=acknowledged, typed_label=label
    )


class Wizard:
    """The helpers above, as a fixture (test modules cannot import conftest by name)."""

    HASH = HASH
    check = staticmethod(check)
    preview_items = staticmethod(preview_items)
    record_checks = staticmethod(record_checks)
    record_preview = staticmethod(record_preview)
    prepare = staticmethod(prepare)


@pytest.fixture
def wizard() -> type[Wizard]:
    return Wizard


class EnqueueRecorder:
    """Stands in for ``execute_restore_run_task``: records what would have been enqueued."""

    def __init__(self) -> None:
        self.enqueued: list[int] = []

    def enqueue(self, run_id: int) -> None:
        self.enqueued.append(run_id)


@pytest.fixture
def enqueued(monkeypatch) -> EnqueueRecorder:
    from tenantguard.restores import tasks

    recorder = EnqueueRecorder()
    monkeypatch.setattr(tasks, "execute_restore_run_task", recorder)
    return recorder
