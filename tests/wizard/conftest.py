"""Fixtures for the wizard's views: the demo tenant seeded, backed up, then drifted."""

from __future__ import annotations

import pytest
from django.test import Client

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope


@pytest.fixture
def baseline(personas, tenant, emulated, demo_objects):
    """A backup of the demo configuration, taken before the demo drift changed the tenant."""
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup_set = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )
    apply_demo_drift(emulated, seed=1)
    return backup_set


@pytest.fixture
def login():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def walk():
    """Walk a run through the services up to ``upto`` (scope, checks or preview)."""

    def make(actor, tenant, backup_set, *, upto="preview"):
        run = restore_run_create(actor=actor, tenant=tenant, backup_set=backup_set)
        if upto == "draft":
            return run
        run = restore_run_set_scope(actor=actor, run=run, mode="all")
        if upto == "scope":
            return run
        run = restore_run_run_checks(actor=actor, run=run)
        if upto == "checks":
            return run
        return restore_run_run_preview(actor=actor, run=run)

    return make
