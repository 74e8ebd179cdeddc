"""The audit trail is a hash chain: `audit_chain_verify` names every edited, deleted or reordered
event. Tampering goes around the triggers the way an attacker with database access would (drop
them, then raw SQL); the test's transaction puts them back."""

from __future__ import annotations

import pytest
from django.db import connection

from tenantguard.audit.chain import GENESIS_HASH, HASHED_FIELDS, event_hash
from tenantguard.audit.models import AuditEvent
from tenantguard.audit.services import audit_event_record
from tenantguard.audit.triggers import triggers_remove
from tenantguard.audit.verify import audit_chain_verify


@pytest.fixture
def trail(db, tenant, superuser) -> list[AuditEvent]:
    return [
        audit_event_record(
            actor=superuser, action=f"test.step_{n}", subject=tenant, details={"n": n}
        )
        for n in range(1, 6)
    ]


def _raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _tamper(sql: str, params: list | None = None) -> None:
    """Raw SQL with the append-only triggers out of the way."""
    triggers_remove(connection)
    _raw(sql, params)


def _problems(kind: str | None = None) -> list[tuple[str, int | None, int | None]]:
    report = audit_chain_verify()
    return [
        (p.kind, p.event_id, p.sequence)
        for p in report.problems
        if p.kind != "trigger" and (kind is None or p.kind == kind)
    ]


def test_events_are_linked_in_order(trail):
    assert [e.sequence for e in trail] == [1, 2, 3, 4, 5]
    assert trail[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in trail[1:]] == [e.hash for e in trail[:-1]]
    stored = AuditEvent.objects.get(pk=trail[2].pk)
    fields = {name: getattr(stored, name) for name in HASHED_FIELDS}
    assert event_hash(prev_hash=stored.prev_hash, fields=fields) == stored.hash


def test_verify_passes_on_an_intact_chain(trail):
    report = audit_chain_verify(chunk_size=2)  # several chunks
    assert report.intact, report.problems
    assert report.summary() == f"5 events, chain intact (head 5:{trail[-1].hash})"
    assert audit_chain_verify(anchor=(5, trail[-1].hash)).intact
    assert audit_chain_verify(anchor=(2, trail[1].hash)).intact  # an older anchor still holds


def test_details_hash_the_same_after_the_database_round_trip(db, tenant):
    # jsonb gives 1e20 back as an integer and tuples come back as lists: the chain must agree.
    audit_event_record(
        actor=None,
        action="test.values",
        tenant=tenant,
        details={
            "floats": [1e20, 1.5e300, 1.0, -0.0, 1.5e-7, 0.1],
            "tuple": (1, 2),
            3: "int key",
            "text": 'Zürich ✓ "quoted"',
        },
    )
    assert audit_chain_verify().intact


def test_verify_names_an_edited_event(trail):
    _tamper("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["test.forged", trail[2].pk])
    assert _problems() == [("edited", trail[2].pk, 3)]
    message = next(p.message for p in audit_chain_verify().problems if p.kind == "edited")
    assert f"event id={trail[2].pk} (sequence 3)" in message


def test_verify_catches_an_edit_whose_hash_was_recomputed(trail):
    forged = AuditEvent.objects.get(pk=trail[1].pk)
    fields = {name: getattr(forged, name) for name in HASHED_FIELDS} | {"details": {"n": 99}}
    _tamper(
        "UPDATE audit_auditevent SET details = %s, hash = %s WHERE id = %s",
        ['{"n": 99}', event_hash(prev_hash=forged.prev_hash, fields=fields), forged.pk],
    )
    assert _problems() == [("broken_link", trail[2].pk, 3)]


def test_verify_names_a_deleted_event(trail):
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [trail[1].pk])
    assert _problems() == [("missing", trail[2].pk, 3)]
    message = audit_chain_verify().problems[0].message
    assert "sequence 2 between event id=" in message and "events were deleted" in message


def test_verify_with_an_anchor_notices_events_cut_off_the_end(trail):
    anchor = (5, trail[-1].hash)
    _tamper("DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [trail[3].pk, trail[4].pk])
    assert _problems() == []  # the rest of the chain is consistent: only the anchor can tell
    report = audit_chain_verify(anchor=anchor)
    assert [(p.kind, p.sequence) for p in report.problems if p.kind != "trigger"] == [("anchor", 5)]
    assert "event sequence 5 is gone (the newest event left is sequence 3)" in (
        report.problems[0].message
    )


def test_verify_with_an_anchor_notices_a_recomputed_chain(trail):
    anchor = (4, trail[3].hash)
    # Edit event 2 and recompute every hash after it: the chain alone looks intact.
    _tamper("UPDATE audit_auditevent SET action = 'test.forged' WHERE id = %s", [trail[1].pk])
    prev_hash = trail[0].hash
    for event in AuditEvent.objects.filter(sequence__gte=2).order_by("sequence"):
        fields = {name: getattr(event, name) for name in HASHED_FIELDS}
        digest = event_hash(prev_hash=prev_hash, fields=fields)
        _raw(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev_hash, digest, event.pk],
        )
        prev_hash = digest
    assert _problems() == []
    problems = audit_chain_verify(anchor=anchor).problems
    assert [(p.kind, p.event_id, p.sequence) for p in problems if p.kind != "trigger"] == [
        ("anchor", trail[3].pk, 4)
    ]


def test_an_event_moved_before_the_start_is_the_only_one_named(trail):
    # Its sequence set to 0: it is edited, and its own position (5) is empty at the end of the
    # trail (only an anchor can tell). Events 1 to 4 are intact and must not be reported as a
    # gap, a broken link or a reordering.
    _tamper("UPDATE audit_auditevent SET sequence = 0 WHERE id = %s", [trail[-1].pk])
    assert set(_problems()) == {("edited", trail[-1].pk, 0)}


def test_verify_names_events_whose_order_was_swapped(trail):
    second, third = trail[1].pk, trail[2].pk
    _tamper("UPDATE audit_auditevent SET sequence = -1 WHERE id = %s", [second])
    _raw("UPDATE audit_auditevent SET sequence = 2 WHERE id = %s", [third])
    _raw("UPDATE audit_auditevent SET sequence = 3 WHERE id = %s", [second])
    problems = _problems()
    assert ("reordered", second, 3) in problems
    assert {("edited", third, 2), ("edited", second, 3)} <= set(problems)
    # ... and the event after them no longer follows what now stands at sequence 3.
    assert {event_id for _, event_id, _ in problems} == {second, third, trail[3].pk}, problems


def test_verify_names_an_event_moved_to_another_position(trail):
    # Ids decide the order pages list events in; the hash does not cover the id, the walk does.
    _tamper("UPDATE audit_auditevent SET id = %s WHERE id = %s", [trail[-1].pk + 100, trail[1].pk])
    assert _problems() == [("reordered", trail[2].pk, 3)]


def test_verify_reports_missing_triggers(trail):
    triggers_remove(connection)
    report = audit_chain_verify()
    assert not report.intact
    assert {p.kind for p in report.problems} == {"trigger"}
    assert "no longer refuses UPDATE or DELETE" in report.problems[0].message


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_events_written_before_the_chain_existed():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("audit")
    executor.migrate([("audit", "0001_initial")])
    try:
        with connection.cursor() as cursor:
            for n in (1, 2, 3):
                cursor.execute(
                    "INSERT INTO audit_auditevent (created_at, actor_label, tenant_label, action,"
                    " subject_type, subject_id, subject_label, details, request_id)"
                    " VALUES (%s, 'root', '', %s, '', '', '', %s, '')",
                    [f"2026-01-0{n} 10:00:00+00:00", f"old.event_{n}", f'{{"n": {n}, "f": 2.5}}'],
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.sequence) for e in events] == [
        ("old.event_1", 1),
        ("old.event_2", 2),
        ("old.event_3", 3),
    ]
    assert audit_chain_verify().intact
    assert audit_event_record(actor=None, action="new.event").sequence == 4
    assert audit_chain_verify().intact
