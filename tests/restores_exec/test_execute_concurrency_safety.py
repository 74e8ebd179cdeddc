"""Items restored several at a time stay safe when something goes wrong (issue 10 review, E3-E5).

- A Graph request inside a database transaction, while items share the run's connection, is
  refused (``ConnectionSharingError``) instead of running other items' queries in it.
- The per-type names cache is never locked across a Graph listing (which hands the run's
  connection to other threads and takes it back): no lock-order deadlock.
- A worker that stops with an error is logged, the other lanes start no further item, a lost
  claim wins over any other error, and the run always ends with a clear message, also when
  it was taken over meanwhile (the error path never crashes).
"""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import transaction

from tenantguard.intune import target as target_module
from tenantguard.intune import write as write_module
from tenantguard.restores.models import PreviewAction, RestoreRun
from tenantguard.restores.services import execute as executor_module
from tenantguard.restores.services.execute import (
    ConnectionSharingError,
    RestoreExecutor,
    _SharedConnection,
    restore_run_execute,
)

from .conftest import prepare_run, take_backup

POLICIES = "deviceManagement/configurationPolicies"


def _change_descriptions(emulated, *, note):
    changed = 0
    for obj in emulated.list_objects(POLICIES):
        if "description" not in obj:
            continue
        emulated.put_object(POLICIES, {**obj, "description": note})
        changed += 1
    return changed


# ---- E3: no Graph request inside a transaction while the connection is shared ---------------


def test_handing_the_connection_over_inside_a_transaction_is_refused(db):
    shared = _SharedConnection()
    with shared.held():
        with shared.released():  # outside any new transaction: fine
            pass
        with transaction.atomic(), pytest.raises(ConnectionSharingError, match="inside a data"):
            with shared.released():
                pass
        with shared.released():  # the refusal left the lock as it was
            pass
    # a thread that does not hold the connection (a Graph client's own thread) is not refused
    with transaction.atomic(), shared.released():
        pass


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_graph_request_inside_a_transaction_stops_a_concurrent_run(
    personas, tenant, seeded, monkeypatch, settings, concurrency
):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    changed = _change_descriptions(seeded, note="edited after the backup")
    assert changed >= 3
    run = prepare_run(owner, tenant, baseline)
    settings.TENANTGUARD_RESTORE_CONCURRENCY = concurrency
    real_update = write_module.update_object

    def update_inside_a_transaction(client, **kwargs):
        with transaction.atomic():  # the mistake the guard is there for
            return real_update(client, **kwargs)

    monkeypatch.setattr(write_module, "update_object", update_inside_a_transaction)

    run = restore_run_execute(run_id=run.pk)

    if concurrency == 1:  # nothing shared: a transaction around a request is only slow
        assert run.status == "completed", run.results
        return
    assert run.status == "failed", run.results
    assert run.results["error_code"] == "internal_error"
    assert "ConnectionSharingError" in run.results["error"]
    # refused before the request was sent: nothing of the backup was written back
    left = [
        o
        for o in seeded.list_objects(POLICIES)
        if o.get("description") == "edited after the backup"
    ]
    assert len(left) == changed
    assert not run.item_outcomes.filter(object_written=True).exists()


# ---- E4: the names cache is never locked across a listing ------------------------------------


def test_a_create_can_be_recorded_while_its_type_is_being_listed(monkeypatch):
    """Thread A lists a type (its Graph request hands the connection over); thread B, holding
    the connection, records a create of that type. B must not wait for A's listing (A waits
    for the connection B holds: a deadlock), and A's listing must not hide B's create."""
    executor = RestoreExecutor(run=None, worker_id="w", client=None, create_recheck_seconds=0.0)  # type: ignore[arg-type]
    recorded = threading.Event()

    def record_a_create():
        with executor._names_lock("settings_catalog"):
            executor._created_names.setdefault("settings_catalog", {}).setdefault(
                "Baseline", []
            ).append("created-meanwhile")
        recorded.set()

    def live_names(client, *, type_key):
        other = threading.Thread(target=record_a_create, daemon=True)
        other.start()
        other.join(timeout=5)
        assert recorded.is_set(), "a create could not be recorded while its type was listed"
        return {"Baseline": ["listed"], "Other": ["x"]}

    monkeypatch.setattr(target_module, "live_names", live_names)

    assert executor._live_ids("settings_catalog", "Baseline") == ["listed", "created-meanwhile"]
    assert executor._live_ids("settings_catalog", "Nothing") == []


def test_each_type_has_its_own_names_lock():
    executor = RestoreExecutor(run=None, worker_id="w", client=None)  # type: ignore[arg-type]
    with executor._names_lock("settings_catalog"):
        assert executor._names_lock("scope_tag").acquire(timeout=1)
        executor._names_lock("scope_tag").release()
    assert executor._names_lock("settings_catalog") is executor._names_lock("settings_catalog")


# ---- E5: a worker that stops with an error ------------------------------------------------------


def test_a_worker_error_stops_the_other_lanes_and_ends_the_run_with_a_clear_message(
    personas, tenant, seeded, monkeypatch, settings, caplog
):
    """Three policies are created (one lane, one after the other) while others are updated.
    An update's worker fails while the first create is in flight: the create lane finishes
    that create and starts no other, no further lane starts, the error is logged, and the run
    ends partial (objects were written) with what to do."""
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    policies = sorted(
        (
            o
            for o in seeded.list_objects(POLICIES)
            if not o.get("templateReference", {})
            .get("templateFamily", "")
            .startswith("endpointSecurity")
        ),
        key=lambda o: o["name"],
    )
    for obj in policies[:3]:
        seeded.delete_object(POLICIES, obj["id"])
    assert _change_descriptions(seeded, note="edited after the backup") >= 2
    run = prepare_run(owner, tenant, baseline)
    assert run.preview_items.filter(action="create", policy_type="settings_catalog").count() == 3
    settings.TENANTGUARD_RESTORE_CONCURRENCY = 4
    real_restore = executor_module.RestoreExecutor._restore_work_item
    started: list[tuple[str, str]] = []
    started_after_stop: list[str] = []
    create_started = threading.Event()
    failed = threading.Event()

    def restore_work_item(self, item, *args, **kwargs):
        action = item.planned.action if item.planned is not None else ""
        if item.type_key != "settings_catalog":
            return real_restore(self, item, *args, **kwargs)
        started.append((action, item.source_id))
        if self._stop_starting.is_set():
            started_after_stop.append(item.source_id)
        if action == PreviewAction.CREATE and not create_started.is_set():
            create_started.set()
            with self._database.released():  # wait for the error, letting the others run
                assert self._stop_starting.wait(timeout=10)
        elif action == PreviewAction.UPDATE and not failed.is_set():
            failed.set()
            with self._database.released():
                assert create_started.wait(timeout=10)
            raise RuntimeError("worker broke")
        return real_restore(self, item, *args, **kwargs)

    monkeypatch.setattr(RestoreExecutor, "_restore_work_item", restore_work_item)
    caplog.set_level(logging.ERROR, logger=executor_module.logger.name)

    run = restore_run_execute(run_id=run.pk)

    creates = [source for action, source in started if action == PreviewAction.CREATE]
    assert len(creates) == 1  # the create lane started no second create
    assert started_after_stop == []  # no item of any lane started once the error was seen
    assert run.status == "partial", run.results  # the first create was written
    assert run.results["error_code"] == "internal_error"
    assert (
        "RuntimeError" in run.results["error"] and "start a new restore run" in run.results["error"]
    )
    assert run.finished_at is not None  # the tenant is free again
    worker_logs = [r for r in caplog.records if "a worker stopped with an error" in r.getMessage()]
    assert len(worker_logs) == 1 and worker_logs[0].exc_info is not None


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_lost_claim_wins_over_another_error_and_the_error_path_never_crashes(
    personas, tenant, seeded, monkeypatch, settings, concurrency
):
    """An item's worker takes an unexpected error right after the run was taken over: the
    run is the new worker's, so it is neither finished nor failed here, and the finish that
    the old worker cannot do any more does not crash the task."""
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    assert _change_descriptions(seeded, note="edited after the backup") >= 3
    run = prepare_run(owner, tenant, baseline)
    settings.TENANTGUARD_RESTORE_CONCURRENCY = concurrency
    real_restore = executor_module.RestoreExecutor._restore_work_item
    broke: list[str] = []

    def restore_work_item(self, item, *args, **kwargs):
        if item.type_key == "settings_catalog" and not broke:
            broke.append(item.source_id)
            RestoreRun.objects.filter(pk=run.pk).update(worker_id="host-b:2:new")
            raise RuntimeError("worker broke")
        return real_restore(self, item, *args, **kwargs)

    monkeypatch.setattr(RestoreExecutor, "_restore_work_item", restore_work_item)

    result = restore_run_execute(run_id=run.pk, worker_id="host-a:1:old")  # does not raise

    assert broke
    assert (result.status, result.worker_id) == ("running", "host-b:2:new")
    assert result.finished_at is None
