"""Every written item is read back and verified right after its write (DESIGN.md: write, read
back, verify, persist the outcome before moving on).

A session of issue 10 deferred read-backs while the write pacer had a free slot, to spare
requests in Intune's first window; it left written items unverified when the run ended on an
error outside an item or a worker died with a cancel request pending, for a gain of 1.4 % of
the write floor, and was removed. These tests pin the order with a write pacer that has room
after each write (the condition under which the deferral kicked in): a lane writes an item,
reads it back, checkpoints it ``done`` (verified), and only then writes its next item.
"""

from __future__ import annotations

import threading

import pytest

from tenantguard.graph import RequestPacer, WritePacer
from tenantguard.intune import target as target_module
from tenantguard.intune import write as write_module
from tenantguard.restores.services import execute as execute_module
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import graph_client_for

from .conftest import prepare_run, take_backup

POLICIES = "deviceManagement/configurationPolicies"
WRITES_PER_WINDOW = 3


def _change_descriptions(emulated, *, note):
    changed = 0
    for obj in emulated.list_objects(POLICIES):
        if "description" in obj:
            emulated.put_object(POLICIES, {**obj, "description": note})
            changed += 1
    return changed


class _Journal:
    """Records, in order and per thread (lane), each read of one object (``target.read_one``:
    the re-read before a write and the read-back after it), each update sent, and each
    checkpoint saved; and, when each update is sent, the objects written but not yet ``done``."""

    def __init__(self, monkeypatch) -> None:
        self.events: list[tuple[int, str, str]] = []  # (thread, kind, target object id)
        self.open_at_write: list[set[str]] = []
        self.stage: dict[str, str] = {}  # target object id -> last checkpoint stage
        self.lock = threading.Lock()
        real_read = target_module.read_one
        real_update = write_module.update_object
        real_record = execute_module.RestoreExecutor._record

        def note(kind, object_id):
            with self.lock:
                self.events.append((threading.get_ident(), kind, object_id))

        def read_one(client, *, type_key, object_id):
            note("read", object_id)
            return real_read(client, type_key=type_key, object_id=object_id)

        def update_object(client, **kwargs):
            with self.lock:
                self.open_at_write.append(
                    {oid for oid, stage in self.stage.items() if stage != "done"}
                )
            changed = real_update(client, **kwargs)
            if changed:
                note("write", kwargs["target_id"])
            return changed

        def record(executor, item, existing, **values):
            outcome = real_record(executor, item, existing, **values)
            if outcome.target_id and outcome.object_written:
                with self.lock:
                    self.stage[outcome.target_id] = str(outcome.stage)
                note(f"checkpoint:{outcome.stage}", outcome.target_id)
            return outcome

        monkeypatch.setattr(target_module, "read_one", read_one)
        monkeypatch.setattr(write_module, "update_object", update_object)
        monkeypatch.setattr(execute_module.RestoreExecutor, "_record", record)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_each_written_item_is_read_back_and_verified_before_its_lane_writes_again(
    personas, tenant, seeded, monkeypatch, settings, concurrency
):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    changed = _change_descriptions(seeded, note="edited after the backup")
    assert changed > 2 * WRITES_PER_WINDOW
    run = prepare_run(owner, tenant, baseline)
    settings.TENANTGUARD_RESTORE_CONCURRENCY = concurrency
    journal = _Journal(monkeypatch)
    client = graph_client_for(
        tenant,
        pacer=WritePacer(max_writes=WRITES_PER_WINDOW, per_seconds=0.3),
        request_pacer=RequestPacer(max_requests=100_000, per_seconds=1.0),
    )

    run = restore_run_execute(run_id=run.pk, client=client)

    assert run.status == "completed", run.results
    updated = run.item_outcomes.filter(outcome="updated")
    assert updated.count() == changed
    assert all(outcome.verified for outcome in updated), [
        (o.display_name, o.stage, o.verified) for o in updated if not o.verified
    ]
    events = journal.events
    writes = [index for index, (_, kind, _) in enumerate(events) if kind == "write"]
    assert len(writes) == changed

    def between(start, end, thread, kind, object_id):
        return any(e == (thread, kind, object_id) for e in events[start:end])

    # Per lane (thread): after writing an object, the same lane reads it back and checkpoints
    # it done (verified) before it writes anything else, and before the run ends.
    for position, index in enumerate(writes):
        thread, _, object_id = events[index]
        next_write = next(
            (later for later in writes[position + 1 :] if events[later][0] == thread),
            len(events),
        )
        context = events[max(0, index - 2) : next_write + 1]
        assert between(index + 1, next_write, thread, "read", object_id), (
            f"{object_id} not read back before its lane's next write",
            context,
        )
        read_back = next(
            later
            for later in range(index + 1, next_write)
            if events[later] == (thread, "read", object_id)
        )
        assert between(read_back + 1, next_write, thread, "checkpoint:done", object_id), (
            f"{object_id} not checkpointed done after its read-back, before its lane's next write",
            context,
        )
    # When a write goes out, no written item is waiting for its read-back, except (with several
    # lanes) one in flight in each of the other lanes.
    assert len(journal.open_at_write) == changed
    assert max(len(open_items) for open_items in journal.open_at_write) <= concurrency - 1, (
        journal.open_at_write
    )
    if concurrency == 1:
        # one lane: the run's writes alternate with the read-backs, write by write
        for index, following in zip(writes, [*writes[1:], len(events)], strict=True):
            _, _, object_id = events[index]
            kinds = [(kind, oid) for _, kind, oid in events[index + 1 : following]]
            assert ("read", object_id) in kinds, (object_id, kinds)
            assert kinds.index(("read", object_id)) < kinds.index(("checkpoint:done", object_id)), (
                object_id,
                kinds,
            )
