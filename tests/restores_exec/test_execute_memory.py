"""The execution holds the payloads of the items in flight only (issue 10, target 3).

A run of 20,000 items used to load every backup item of the run with its payload,
assignments and secrets before the first write, and keep them all to the end. The executor
now keeps what orders and lanes the items (type, id, name) and reads an item's row when its
own steps run.
"""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from django.utils import timezone

from tenantguard.backups.models import BackupItem
from tenantguard.intune import target as target_module
from tenantguard.intune import write as write_module
from tenantguard.restores.models import RestoreItemOutcome, RestoreRun
from tenantguard.restores.services import recovery
from tenantguard.restores.services.execute import restore_run_execute

from .conftest import prepare_run, take_backup

POLICIES = "deviceManagement/configurationPolicies"


def _loaded_items_of(backup_set_id: int) -> int:
    """``BackupItem`` objects of the set alive in this process now (``type()``, not
    ``isinstance``: the latter would set up lazy objects other tests left, e.g. a CSP nonce)."""
    gc.collect()
    return sum(
        1
        for obj in gc.get_objects()
        if type(obj) is BackupItem and obj.backup_set_id == backup_set_id
    )


@pytest.mark.parametrize("concurrency", [1, 4])
def test_only_the_items_in_flight_are_held_with_their_payloads(
    personas, tenant, seeded, monkeypatch, settings, concurrency
):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    changed = 0
    for obj in seeded.list_objects(POLICIES):
        if "description" in obj:
            seeded.put_object(POLICIES, {**obj, "description": "edited after the backup"})
            changed += 1
    run = prepare_run(owner, tenant, baseline)
    items = baseline.items.count()
    assert items > 4 * concurrency
    settings.TENANTGUARD_RESTORE_CONCURRENCY = concurrency
    real_update = write_module.update_object
    alive: list[int] = []

    def update_object(client, **kwargs):
        alive.append(_loaded_items_of(baseline.pk))
        return real_update(client, **kwargs)

    monkeypatch.setattr(write_module, "update_object", update_object)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "completed", run.results
    assert len(alive) == changed
    # the lanes' items (and none of the others) while writing
    assert max(alive) <= concurrency, (max(alive), items)


class WorkerDied(BaseException):
    """The worker process ends here (SIGKILL): nothing after it runs."""


def _checkpoints_of(run_id: int) -> int:
    """``RestoreItemOutcome`` rows (checkpoints) of the run alive in this process now."""
    gc.collect()
    return sum(
        1 for obj in gc.get_objects() if type(obj) is RestoreItemOutcome and obj.run_id == run_id
    )


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_resumed_run_holds_the_checkpoints_of_the_items_in_flight_only(
    personas, tenant, seeded, monkeypatch, settings, django_capture_on_commit_callbacks, concurrency
):
    """A resumed run used to load every checkpoint of the dead worker's items (with their
    differences) before its first item and hold them to the end."""
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    changed = 0
    for obj in seeded.list_objects(POLICIES):
        if "description" in obj:
            seeded.put_object(POLICIES, {**obj, "description": "edited after the backup"})
            changed += 1
    run = prepare_run(owner, tenant, baseline)
    # the dead worker restores one item at a time: its executor (kept alive by the traceback)
    # holds the checkpoint of the one item it was writing
    settings.TENANTGUARD_RESTORE_CONCURRENCY = 1
    real_update = write_module.update_object
    sent: list[int] = []

    def die_halfway(client, **kwargs):
        if len(sent) >= changed // 2:
            raise WorkerDied
        sent.append(1)
        return real_update(client, **kwargs)

    monkeypatch.setattr(write_module, "update_object", die_halfway)
    with pytest.raises(WorkerDied):
        restore_run_execute(run_id=run.pk, worker_id="host-a:1:dead")
    done_before = run.item_outcomes.filter(stage="done").count()
    assert done_before > 4 * concurrency, done_before
    held_by_the_dead_worker = _checkpoints_of(run.pk)
    assert held_by_the_dead_worker <= 1
    settings.TENANTGUARD_RESTORE_CONCURRENCY = concurrency
    alive: list[int] = []

    def update_object(client, **kwargs):
        alive.append(_checkpoints_of(run.pk))
        return real_update(client, **kwargs)

    monkeypatch.setattr(write_module, "update_object", update_object)
    from tenantguard.restores.services.execute import RestoreExecutor

    done_ids = set(run.item_outcomes.filter(stage="done").values_list("source_id", flat=True))
    loaded: list[str] = []
    real_loaded = RestoreExecutor._loaded

    def counting_loaded(self, item):
        loaded.append(item.source_id)
        return real_loaded(self, item)

    monkeypatch.setattr(RestoreExecutor, "_loaded", counting_loaded)
    RestoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.restores_recover_stalled().resumed == [run.pk]

    run.refresh_from_db()
    assert run.status == "completed", run.results
    assert alive, "the resumed run wrote the items the dead worker left"
    # the dead worker's finished items are not read again (payload, assignments, secrets)
    assert loaded and not done_ids & set(loaded), sorted(done_ids & set(loaded))[:5]
    # the checkpoints of the lanes' items (and none of the dead worker's done ones)
    assert max(alive) - held_by_the_dead_worker <= concurrency, (alive, done_before)


def test_an_item_moved_out_of_the_backup_set_during_the_run_fails_with_what_to_do(
    personas, tenant, seeded, monkeypatch
):
    """An item's row is read when its steps run: from the run's backup set only (a row with
    the same primary key elsewhere is not what the preview planned)."""
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    for obj in seeded.list_objects(POLICIES):
        if "description" in obj:
            seeded.put_object(POLICIES, {**obj, "description": "edited after the backup"})
    run = prepare_run(owner, tenant, baseline)
    other = take_backup(owner, tenant)
    moved = baseline.items.filter(
        policy_type="settings_catalog",
        source_id__in=[p.source_id for p in run.preview_items.filter(action="update")],
    ).first()
    assert moved is not None
    real_read_target = target_module.read_target

    def read_target(client, **kwargs):
        # after the run listed its items: the item now belongs to another backup set
        other.items.filter(policy_type=moved.policy_type, source_id=moved.source_id).delete()
        BackupItem.objects.filter(pk=moved.pk).update(backup_set=other)
        return real_read_target(client, **kwargs)

    monkeypatch.setattr(target_module, "read_target", read_target)

    run = restore_run_execute(run_id=run.pk)

    outcome = run.item_outcomes.get(policy_type=moved.policy_type, source_id=moved.source_id)
    assert (outcome.outcome, outcome.error_code) == ("failed", "source_item_missing")
    assert not outcome.object_written
    assert f"no longer in backup set #{baseline.pk}" in outcome.error_message
    assert "Run the checks and the preview again" in outcome.error_message
    assert run.status == "partial", run.results


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_item_keeps_nothing_of_its_target_read_once_done_with_assignments_off(
    personas, tenant, seeded, monkeypatch, settings, concurrency
):
    """With assignments off an item's target assignments are read (for the verification) but
    never restored; once the item is done the run keeps none of them (20,000 lists on a large
    tenant otherwise)."""
    from tenantguard.restores.services.execute import RestoreExecutor

    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    for obj in seeded.list_objects(POLICIES):
        if "description" in obj:
            seeded.put_object(POLICIES, {**obj, "description": "edited after the backup"})
    run = prepare_run(owner, tenant, baseline, options={"include_assignments": False})
    settings.TENANTGUARD_RESTORE_CONCURRENCY = concurrency
    left: list[int] = []
    real_finish = RestoreExecutor._finish

    def finish(self, **kwargs):
        left.append(len(self._assignments_read) + len(self._unchanged_reads))
        return real_finish(self, **kwargs)

    monkeypatch.setattr(RestoreExecutor, "_finish", finish)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "completed", run.results
    assert left == [0]
