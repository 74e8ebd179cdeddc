"""Several items restored at once (issue 10: execution at Intune's floor).

The executor overlaps the Graph requests of independent items (``ITEM_CONCURRENCY``), keeps
restore order between types, runs items that may touch the same target object (and the creates
of one type) one after the other, and lets one thread at a time use the run's database
connection.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from itertools import pairwise

import pytest

from tenantguard.intune import write as write_module
from tenantguard.restores.models import PreviewAction, RestoreItemOutcome, RestoreRun
from tenantguard.restores.services import execute as executor_module
from tenantguard.restores.services.execute import _lanes, _WorkItem, restore_run_execute
from tenantguard.restores.services.source import restore_order

from .conftest import prepare_run, take_backup

POLICIES = "deviceManagement/configurationPolicies"
SCOPE_TAGS = "deviceManagement/roleScopeTags"


def _change_descriptions(emulated, collection, *, note):
    changed = 0
    for obj in emulated.list_objects(collection):
        if "description" not in obj or obj.get("isBuiltIn"):
            continue
        emulated.put_object(collection, {**obj, "description": note})
        changed += 1
    return changed


class _UpdateTracker:
    """Wraps ``write.update_object``: records when each item's update ran, on which thread,
    and how many ran at the same time (each one lasts at least ``hold`` seconds, so that
    updates that can overlap do)."""

    def __init__(self, monkeypatch, *, hold: float = 0.05) -> None:
        self.real = write_module.update_object
        self.hold = hold
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls: list[tuple[str, float, float]] = []
        monkeypatch.setattr(write_module, "update_object", self)

    def __call__(self, client, **kwargs):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        started = time.monotonic()
        try:
            time.sleep(self.hold)
            return self.real(client, **kwargs)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.calls.append((kwargs["type_key"], started, time.monotonic()))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_updates_of_one_type_overlap_up_to_the_concurrency_and_all_are_verified(
    personas, tenant, seeded, monkeypatch, settings, concurrency
):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    changed = _change_descriptions(seeded, POLICIES, note="edited after the backup")
    assert changed >= 3
    run = prepare_run(owner, tenant, baseline)
    settings.TENANTGUARD_RESTORE_CONCURRENCY = concurrency
    tracker = _UpdateTracker(monkeypatch)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "completed", run.results
    updated = run.item_outcomes.filter(outcome="updated")
    assert updated.count() == changed
    assert all(outcome.verified for outcome in updated)
    if concurrency == 1:
        assert tracker.max_in_flight == 1
    else:
        assert 2 <= tracker.max_in_flight <= concurrency
    # nothing of the edit is left in the tenant
    assert all(
        obj.get("description") != "edited after the backup" for obj in seeded.list_objects(POLICIES)
    )


def test_a_type_starts_only_when_the_types_before_it_in_restore_order_are_done(
    personas, tenant, seeded, monkeypatch, settings
):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    assert _change_descriptions(seeded, SCOPE_TAGS, note="edited tag") >= 2
    assert _change_descriptions(seeded, POLICIES, note="edited policy") >= 2
    run = prepare_run(owner, tenant, baseline)
    settings.TENANTGUARD_RESTORE_CONCURRENCY = 4
    tracker = _UpdateTracker(monkeypatch)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "completed", run.results
    by_type: dict[str, list[tuple[float, float]]] = {}
    for type_key, started, ended in tracker.calls:
        by_type.setdefault(type_key, []).append((started, ended))
    assert {"scope_tag", "settings_catalog"} <= set(by_type)
    ordered = sorted(by_type, key=restore_order)
    for earlier, later in pairwise(ordered):
        last_end = max(ended for _, ended in by_type[earlier])
        first_start = min(started for started, _ in by_type[later])
        assert last_end <= first_start, f"{later} started before {earlier} was done"


def test_items_database_work_never_overlaps_while_their_graph_requests_do(
    personas, tenant, seeded, monkeypatch, settings
):
    """Workers share the run's connection one at a time: a checkpoint (and the claim check in
    its transaction) never runs while another thread uses the connection, and what one item
    wrote is seen by the next (one connection)."""
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    _change_descriptions(seeded, POLICIES, note="edited after the backup")
    run = prepare_run(owner, tenant, baseline)
    settings.TENANTGUARD_RESTORE_CONCURRENCY = 4
    tracker = _UpdateTracker(monkeypatch)
    real_save = RestoreItemOutcome.save
    saving = {"now": 0, "most": 0}
    threads: set[int] = set()

    def save(self, *args, **kwargs):
        saving["now"] += 1
        saving["most"] = max(saving["most"], saving["now"])
        threads.add(threading.get_ident())
        try:
            time.sleep(0.01)  # a save that another thread could overlap, if it were allowed to
            return real_save(self, *args, **kwargs)
        finally:
            saving["now"] -= 1

    monkeypatch.setattr(RestoreItemOutcome, "save", save)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "completed", run.results
    assert tracker.max_in_flight >= 2  # the items did run at the same time
    assert len(threads) >= 2  # and saved their checkpoints from their own threads
    assert saving["most"] == 1


def test_cancel_stops_starting_items_and_lets_the_running_ones_end(
    personas, tenant, seeded, monkeypatch, settings
):
    from tenantguard.restores.services.runs import restore_run_cancel

    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    changed = _change_descriptions(seeded, POLICIES, note="edited after the backup")
    run = prepare_run(owner, tenant, baseline)
    settings.TENANTGUARD_RESTORE_CONCURRENCY = 2
    tracker = _UpdateTracker(monkeypatch)
    real_cancel_requested = executor_module.restore_run_cancel_requested

    def cancel_once_an_update_ran(*, run_id):
        if tracker.calls and not RestoreRun.objects.get(pk=run_id).cancel_requested_at:
            restore_run_cancel(actor=owner, run=RestoreRun.objects.get(pk=run_id))
        return real_cancel_requested(run_id=run_id)

    monkeypatch.setattr(executor_module, "restore_run_cancel_requested", cancel_once_an_update_ran)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "cancelled"
    # the items already started finished with a checkpoint; the rest were never written
    assert 1 <= len(tracker.calls) < changed
    written = run.item_outcomes.filter(outcome="updated")
    assert written.count() == len(tracker.calls)
    assert all(outcome.stage == "done" for outcome in written)


def test_a_worker_whose_run_is_taken_over_mid_flight_records_and_starts_nothing_more(
    personas, tenant, seeded, monkeypatch, settings
):
    """The run is taken over while several of its items are in flight: no checkpoint is
    saved after the takeover (each one checks the claim in its transaction), and no item
    starts writing after it (the claim is checked before each write)."""
    from django.utils import timezone

    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    changed = _change_descriptions(seeded, POLICIES, note="edited after the backup")
    run = prepare_run(owner, tenant, baseline)
    settings.TENANTGUARD_RESTORE_CONCURRENCY = 4
    tracker = _UpdateTracker(monkeypatch)
    real_tracked = _UpdateTracker.__call__
    taken_at: list = []

    def update_then_lose_the_run(self, client, **kwargs):
        changed_now = real_tracked(self, client, **kwargs)
        if not taken_at:
            RestoreRun.objects.filter(pk=run.pk).update(worker_id="host-b:2:new")
            taken_at.append(timezone.now())
        return changed_now

    monkeypatch.setattr(_UpdateTracker, "__call__", update_then_lose_the_run)

    result = restore_run_execute(run_id=run.pk, worker_id="host-a:1:old")

    assert (result.worker_id, result.status) == ("host-b:2:new", "running")
    assert all(o.updated_at <= taken_at[0] for o in result.item_outcomes.all())
    # the first update and at most the ones already past their claim check when it happened
    assert 1 <= len(tracker.calls) <= 4 < changed


@dataclass
class _Planned:
    action: str
    target_id: str = ""


@dataclass
class _Item:
    display_name: str


def _work(position, name, *, action=PreviewAction.UPDATE, target_id=""):
    item = _WorkItem(position=position, backup_item=_Item(name), planned=None)
    item.planned = _Planned(action=action, target_id=target_id)  # type: ignore[assignment]
    item.backup_item.policy_type = "settings_catalog"  # type: ignore[attr-defined]
    item.backup_item.source_id = f"s{position}"  # type: ignore[attr-defined]
    return item


def test_lanes_keep_items_that_may_touch_one_object_and_the_creates_in_order():
    items = [
        _work(0, "A", target_id="t1"),
        _work(1, "B", target_id="t2"),
        _work(2, "A", target_id="t3"),  # same name as 0
        _work(3, "C", target_id="t2"),  # same target as 1
        _work(4, "D", action=PreviewAction.CREATE),
        _work(5, "E", target_id="t5"),
        _work(6, "F", action=PreviewAction.CREATE),  # creates of one type: one lane
    ]

    lanes = _lanes(items)

    assert [[item.position for item in lane] for lane in lanes] == [[0, 2], [1, 3], [4, 6], [5]]


def test_every_item_of_a_type_whose_priority_renumbers_the_others_is_in_one_lane():
    items = [_work(index, name, target_id=f"t{index}") for index, name in enumerate("ABC")]
    for item in items:
        item.backup_item.policy_type = "enrollment_limit"  # type: ignore[attr-defined]

    lanes = _lanes(items)

    assert [[item.position for item in lane] for lane in lanes] == [[0, 1, 2]]
