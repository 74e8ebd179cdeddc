"""A worker whose run was taken over writes nothing more, a hung worker does not hold the
tenant for ever, a tenant that cannot connect fails the run at once, and a clock running ahead
of Microsoft's never turns a lost create into a duplicate (issue 7 A1, C11; review fixes)."""

from __future__ import annotations

import threading
import types
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.graph import OutcomeUnknownError
from tenantguard.intune import registry
from tenantguard.intune import write as write_module
from tenantguard.restores.models import RestoreItemOutcome, RestoreRun
from tenantguard.restores.services import execute as executor_module
from tenantguard.restores.services.execute import HeartbeatKeeper, restore_run_execute
from tenantguard.restores.services.runs import restore_run_claim

from .conftest import prepare_run, take_backup


def _drifted(personas, tenant, seeded):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    apply_demo_drift(seeded, seed=1)
    return prepare_run(owner, tenant, baseline)


def _names(seeded, type_key):
    ptype = registry.get(type_key)
    return [registry.display_name_of(ptype, o) for o in seeded.list_objects(ptype.collection)]


def test_a_worker_whose_run_was_taken_over_sends_no_further_create(
    personas, tenant, seeded, monkeypatch
):
    """The first worker hung after a lost answer; meanwhile its run was resumed by another
    worker. When it wakes up it must not send the create again: the new owner resolves the
    ``creating`` checkpoint itself."""
    run = _drifted(personas, tenant, seeded)
    monkeypatch.setattr(executor_module, "LOST_CREATE_SETTLE_SECONDS", 0.0)
    sent: list[str] = []

    def lost_while_taken_over(client, *, type_key, payload, secrets):
        sent.append(registry.display_name_of(registry.get(type_key), payload))
        # the sweeper takes the stale run over and another worker claims it ...
        RestoreRun.objects.filter(pk=run.pk).update(
            status="queued", worker_id="", heartbeat_at=None
        )
        assert restore_run_claim(run_id=run.pk, worker_id="host-b:2:new")
        # ... while this worker's create got no answer (and was not applied)
        raise OutcomeUnknownError("lost", status=504)

    monkeypatch.setattr(write_module, "create_object", lost_while_taken_over)

    result = restore_run_execute(run_id=run.pk, worker_id="host-a:1:old")

    assert len(sent) == 1  # never sent again by the worker that lost the run
    assert (result.status, result.worker_id) == ("running", "host-b:2:new")
    checkpoint = result.item_outcomes.get(display_name=sent[0])
    assert (checkpoint.stage, checkpoint.outcome) == ("creating", "pending")
    assert sent[0] not in _names(seeded, checkpoint.policy_type)


@pytest.mark.parametrize("concurrency", [1, 4], ids=["one_item_at_a_time", "four_at_once"])
def test_a_taken_over_worker_does_not_overwrite_the_new_owners_checkpoints(
    personas, tenant, seeded, monkeypatch, settings, concurrency
):
    """Whatever the items in flight when the run is taken over: no checkpoint is saved after
    the takeover (each save checks the claim in its transaction)."""
    settings.TENANTGUARD_RESTORE_CONCURRENCY = concurrency
    run = _drifted(personas, tenant, seeded)
    real_update = write_module.update_object
    real_save = RestoreItemOutcome.save
    taken: list[tuple[str, datetime]] = []
    saves_after_takeover: list[str] = []

    def update_then_lose_the_run(client, **kwargs):
        changed = real_update(client, **kwargs)
        if not taken:
            # this thread holds the run's connection here: no other item saves meanwhile
            taken.append((kwargs["target_id"], timezone.now()))
            RestoreRun.objects.filter(pk=run.pk).update(worker_id="host-b:2:new")
        return changed

    def save(self, *args, **kwargs):
        if taken:
            saves_after_takeover.append(self.source_id)
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(write_module, "update_object", update_then_lose_the_run)
    monkeypatch.setattr(RestoreItemOutcome, "save", save)

    result = restore_run_execute(run_id=run.pk, worker_id="host-a:1:old")

    assert result.worker_id == "host-b:2:new" and result.status == "running"
    target_id, taken_at = taken[0]
    checkpoint = result.item_outcomes.get(target_id=target_id)
    assert checkpoint.stage == "updating"  # the old worker recorded nothing after losing it
    assert saves_after_takeover == []
    assert all(o.updated_at <= taken_at for o in result.item_outcomes.all())


def test_a_run_taken_over_after_its_last_item_is_left_to_the_new_worker(
    personas, tenant, seeded, monkeypatch
):
    run = _drifted(personas, tenant, seeded)
    last = run.backup_set.items.count() - 1
    real_restore_item = executor_module.RestoreExecutor._restore_item

    def restore_then_lose_the_run(self, item, *args, **kwargs):
        real_restore_item(self, item, *args, **kwargs)
        if item.position == last:
            RestoreRun.objects.filter(pk=run.pk).update(worker_id="host-b:2:new")

    monkeypatch.setattr(executor_module.RestoreExecutor, "_restore_item", restore_then_lose_the_run)

    result = restore_run_execute(run_id=run.pk, worker_id="host-a:1:old")  # no error

    assert (result.status, result.worker_id) == ("running", "host-b:2:new")
    assert result.finished_at is None


def test_a_clock_ahead_of_microsofts_never_duplicates_a_lost_create(
    personas, tenant, seeded, monkeypatch
):
    """Graph dates our object 10 minutes before this host's clock says we sent it: it is not
    adopted as certainly ours, but never created a second time either."""
    run = _drifted(personas, tenant, seeded)
    monkeypatch.setattr(executor_module, "LOST_CREATE_SETTLE_SECONDS", 0.0)
    real_now = timezone.now
    monkeypatch.setattr(
        executor_module,
        "timezone",
        types.SimpleNamespace(now=lambda: real_now() + timedelta(minutes=10)),
    )
    real_create = write_module.create_object
    sent: list[str] = []

    def applied_then_lost_once(client, *, type_key, payload, secrets):
        sent.append(registry.display_name_of(registry.get(type_key), payload))
        new_id = real_create(client, type_key=type_key, payload=payload, secrets=secrets)
        if len(sent) == 1:
            raise OutcomeUnknownError("lost", status=None)
        return new_id

    monkeypatch.setattr(write_module, "create_object", applied_then_lost_once)

    run = restore_run_execute(run_id=run.pk)

    first = run.item_outcomes.get(display_name=sent[0])
    assert _names(seeded, first.policy_type).count(sent[0]) == 1  # created once, not twice
    assert sent.count(sent[0]) == 1
    assert (first.outcome, first.error_code) == ("failed", "ambiguous_create")
    assert "clock may be ahead" in first.error_message
    assert run.status == "partial"


def test_a_tenant_that_cannot_connect_fails_the_run_at_once(personas, tenant, seeded):
    run = _drifted(personas, tenant, seeded)
    with connection.cursor() as cursor:  # a database copied from an install with another key
        cursor.execute(
            "UPDATE tenants_tenant SET static_token = %s WHERE id = %s",
            ["enc:v1:gAAAAAB-not-decryptable-with-this-key", tenant.pk],
        )

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "failed" and run.finished_at is not None  # the tenant is free
    assert run.results["error_code"] == "tenant_configuration"
    assert "cannot be decrypted" in run.results["error"]
    assert "Nothing was written" in run.results["error"]
    assert not run.item_outcomes.exists()
    assert not [t for t in threading.enumerate() if t.name == f"restore-{run.pk}-heartbeat"]


def test_the_heartbeat_thread_stops_beating_for_an_executor_that_makes_no_progress():
    now = {"t": 0.0}
    beats: list[float] = []
    beat_seen = threading.Event()

    def beat() -> bool:
        beats.append(now["t"])
        beat_seen.set()
        return True

    keeper = HeartbeatKeeper(beat=beat, every=0.005, max_silence=100.0, monotonic=lambda: now["t"])
    keeper.start()
    assert beat_seen.wait(timeout=5)
    now["t"] = 90.0
    keeper.touch()  # a checkpoint: progress
    now["t"] = 180.0  # 90 s since the last checkpoint: still beating
    beat_seen.clear()
    assert beat_seen.wait(timeout=5)
    assert not keeper.silenced
    now["t"] = 191.0  # 101 s without a checkpoint: the executor is presumed hung
    keeper._thread.join(timeout=5)
    assert keeper.silenced and not keeper._thread.is_alive()
    count = len(beats)
    keeper.stop()
    assert len(beats) == count
