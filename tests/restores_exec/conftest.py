"""Fixtures for executing restores against the in-process emulator."""

from __future__ import annotations

import collections

import pytest

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import registry
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.errors import RestoreRunRefused
from tenantguard.restores.services.policy import NOTHING_TO_RESTORE
from tenantguard.restores.services.runs import (
    restore_run_confirm,
    restore_run_create,
    restore_run_queue_execution,
    restore_run_set_dry_run,
    restore_run_set_scope,
    restore_run_update_mapping,
    restore_run_update_options,
)


def seed(emulated, objects):
    for obj in objects:
        emulated.put_object(collection_of(obj, source="test"), obj)


def duplicates(emulated):
    """(collection, type, name) -> count for every name that stands more than once in the
    target."""
    names = collections.Counter()
    # Writable types only: preview-only collections hold Intune's own same-name defaults.
    for collection in {
        t.collection for t in registry.POLICY_TYPES.values() if not t.is_preview_only
    }:
        for obj in emulated.list_objects(collection):
            # by type: one collection may hold several kinds whose tenant defaults share a
            # name (Intune's "All users and all devices" enrollment configurations)
            ptype = registry.classify(collection, obj)
            # the type's own name property (branding profiles: profileName)
            names[(collection, ptype.key, registry.display_name_of(ptype, obj))] += 1
    return {key: n for key, n in names.items() if n > 1}


def take_backup(actor, tenant):
    return backup_set_capture(
        backup_set=backup_set_start(actor=actor, tenant=tenant, enqueue=False)
    )


def prepare_run(actor, tenant, backup_set, *, item_ids=None, mapping=None, options=None):
    """Walk the wizard up to a queued run: scope, checks, preview, dry-run off, confirmation.

    A preview that plans no create or update is not executable ("Nothing to restore"): that
    run is returned previewed, not queued (executing it anyway is refused by the claim, so a
    test of what is never written still sees nothing written)."""
    run = restore_run_create(actor=actor, tenant=tenant, backup_set=backup_set)
    run = restore_run_set_scope(
        actor=actor, run=run, mode="selected" if item_ids else "all", item_ids=item_ids or ()
    )
    if mapping:
        run = restore_run_update_mapping(actor=actor, run=run, mapping=mapping)
    if options:
        run = restore_run_update_options(actor=actor, run=run, options=options)
    run = restore_run_run_checks(actor=actor, run=run)
    run = restore_run_run_preview(actor=actor, run=run)
    run = restore_run_set_dry_run(actor=actor, run=run, dry_run=False)
    run = restore_run_confirm(
        actor=actor, run=run, acknowledged=True, typed_label=tenant.display_name
    )
    try:
        return restore_run_queue_execution(actor=actor, run=run)
    except RestoreRunRefused as refused:
        if refused.reasons != [NOTHING_TO_RESTORE]:
            raise
        return RestoreRun.objects.select_related("tenant", "backup_set").get(pk=run.pk)


@pytest.fixture
def seeded(emulated, demo_objects):
    seed(emulated, demo_objects)
    return emulated
