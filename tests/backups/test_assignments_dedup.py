"""Assignments stored once per tenant and content, like payloads: unchanged nights add no stored
assignments; None ("could not be captured") stays distinct from [] ("none") through every way
of writing and reading an item; retention and deleting a set sweep the assignments nobody else
uses; reads stay one query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupItem, BackupPayload, BackupSet, payload_digest
from tenantguard.backups.scheduling import scheduled_backups_prune
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.tenants.models import Tenant

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GROUP = {"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g-1"}}
ALL_USERS = {"target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}}


@pytest.fixture
def seeded(emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return emulated


def _backup(actor, tenant):
    backup_set = backup_set_start(actor=actor, tenant=tenant, enqueue=False)
    return backup_set_capture(backup_set=backup_set)


def _set(tenant, name, days_ago=1, kind="scheduled"):
    return BackupSet.objects.create(
        tenant=tenant,
        name=name,
        kind=kind,
        status="completed",
        captured_at=NOON - timedelta(days=days_ago),
    )


def _items(backup_set, assignments):
    return BackupItem.objects.bulk_create(
        BackupItem(
            backup_set=backup_set,
            policy_type="device_configuration",
            category="Device configuration",
            source_id=f"id-{index}",
            display_name=f"Policy {index}",
            payload={"id": f"id-{index}"},
            assignments=value,
            content_hash="0" * 64,
        )
        for index, value in enumerate(assignments)
    )


def _stored(tenant):
    return BackupPayload.objects.filter(tenant=tenant)


def _assignments_of(backup_set):
    return {i.source_id: i.assignments for i in BackupItem.objects.filter(backup_set=backup_set)}


# ---- deduplication -------------------------------------------------------------------------


def test_a_second_backup_of_an_unchanged_tenant_stores_no_new_assignments(personas, tenant, seeded):
    first = _backup(personas["operator"], tenant)
    stored_after_first = _stored(tenant).count()
    second = _backup(personas["operator"], tenant)

    assert first.item_count == second.item_count >= 60
    assert _stored(tenant).count() == stored_after_first
    twins = {(item.policy_type, item.source_id): item for item in first.items.all()}
    with_assignments = 0
    for item in second.items.all():
        twin = twins[(item.policy_type, item.source_id)]
        assert item.stored_assignments_id == twin.stored_assignments_id
        assert item.assignments == twin.assignments
        if item.assignments:
            with_assignments += 1
            assert BackupPayload.objects.get(pk=item.stored_assignments_id).digest == (
                payload_digest(item.assignments)
            )
    assert with_assignments >= 5  # the demo tenant assigns policies: this test sees them


def test_equal_assignments_of_different_objects_are_one_row(tenant):
    backup_set = _set(tenant, "night")
    items = _items(backup_set, [[GROUP], [GROUP], [], [], [ALL_USERS]])
    assert len({i.stored_assignments_id for i in items[:2]}) == 1
    assert len({i.stored_assignments_id for i in items[2:4]}) == 1
    # 5 distinct payloads + [GROUP], [], [ALL_USERS]
    assert _stored(tenant).count() == 5 + 3


def test_assignments_are_never_shared_across_tenants(tenant, prod_tenant):
    (mine,) = _items(_set(tenant, "mine"), [[GROUP]])
    (other,) = _items(_set(prod_tenant, "other"), [[GROUP]])
    assert mine.stored_assignments_id != other.stored_assignments_id
    assert BackupPayload.objects.get(pk=other.stored_assignments_id).tenant_id == prod_tenant.pk


# ---- None ("could not be captured") vs [] ("none") -----------------------------------------


def test_none_and_empty_assignments_stay_distinct_when_stored_and_read(tenant):
    backup_set = _set(tenant, "night")
    not_captured, none, _some = _items(backup_set, [None, [], [GROUP]])

    assert not_captured.stored_assignments_id is None
    assert none.stored_assignments_id is not None
    assert _assignments_of(backup_set) == {"id-0": None, "id-1": [], "id-2": [GROUP]}
    # Queried on the stored rows: a null reference is "not captured", [] is "none".
    items = BackupItem.objects.filter(backup_set=backup_set)
    assert [i.source_id for i in items.filter(stored_assignments__isnull=True)] == ["id-0"]
    assert sorted(i.source_id for i in items.filter(stored_assignments__isnull=False)) == [
        "id-1",
        "id-2",
    ]
    assert [i.source_id for i in items.filter(stored_assignments__payload=[])] == ["id-1"]
    assert sorted(i.source_id for i in items.exclude(stored_assignments__payload=[])) == [
        "id-0",
        "id-2",
    ]


def test_create_save_and_update_keep_none_and_empty_apart(tenant):
    backup_set = _set(tenant, "night")
    item = BackupItem.objects.create(
        backup_set=backup_set,
        policy_type="device_configuration",
        source_id="single",
        display_name="Single",
        payload={"id": "single"},
        content_hash="0" * 64,
    )
    assert BackupItem.objects.get(pk=item.pk).assignments is None  # a new item: not captured

    item.assignments = []
    item.save(update_fields=["assignments"])
    assert BackupItem.objects.get(pk=item.pk).assignments == []

    item.assignments = None
    item.save(update_fields=["assignments"])
    reread = BackupItem.objects.get(pk=item.pk)
    assert reread.assignments is None and reread.stored_assignments_id is None

    item.assignments = [GROUP]
    item.save(update_fields=["assignments"])
    assert BackupItem.objects.get(pk=item.pk).assignments == [GROUP]
    item.assignments = None
    item.save(update_fields=["assignments"])
    assert BackupItem.objects.get(pk=item.pk).stored_assignments_id is None
    # Built with the keyword, as tests and the snapshot path do.
    built = BackupItem(
        backup_set=backup_set,
        policy_type="device_configuration",
        source_id="built",
        display_name="Built",
        payload={"id": "built"},
        assignments=[],
        content_hash="0" * 64,
    )
    assert built.assignments == []
    built.save()
    assert BackupItem.objects.get(pk=built.pk).assignments == []


def test_reading_items_with_payloads_and_assignments_is_one_query(
    tenant, django_assert_num_queries
):
    backup_set = _set(tenant, "night")
    _items(backup_set, [[{"n": n}] if n % 3 else None for n in range(30)])

    with django_assert_num_queries(1):
        items = list(backup_set.items.all())
        captured = [i.assignments for i in items if i.assignments is not None]
        assert len(captured) == 20 and all(i.payload["id"] for i in items)


# ---- retention and deletion ----------------------------------------------------------------


def test_retention_sweeps_orphaned_payloads_and_assignments_and_keeps_shared_ones(tenant):
    Tenant.objects.filter(pk=tenant.pk).update(keep_scheduled_backups=1)
    tenant.refresh_from_db()
    old = _set(tenant, "old night", days_ago=2)
    new = _set(tenant, "new night", days_ago=1)
    # old: payloads id-0, id-1 (shared with new); assignments [GROUP] shared, [ALL_USERS] only old
    _items(old, [[GROUP], [ALL_USERS]])
    _items(new, [[GROUP], None])
    assert _stored(tenant).count() == 2 + 2

    assert scheduled_backups_prune(tenant=tenant) == ["old night"]

    # Compared by canonical JSON: PostgreSQL's jsonb answers keys in its own order.
    assert sorted(map(payload_digest, _stored(tenant).values_list("payload", flat=True))) == (
        sorted(map(payload_digest, [{"id": "id-0"}, {"id": "id-1"}, [GROUP]]))
    )
    assert _assignments_of(new) == {"id-0": [GROUP], "id-1": None}
    event = AuditEvent.objects.get(action="backup.pruned")
    assert event.details["payloads_deleted"] == 1


def test_deleting_a_set_takes_the_payloads_and_assignments_only_it_used(tenant):
    kept = _set(tenant, "kept")
    gone = _set(tenant, "gone", kind="pre_restore")
    _items(kept, [[GROUP]])
    gone_items = _items(gone, [[GROUP], [ALL_USERS], []])
    only_gone = {gone_items[1].stored_assignments_id, gone_items[2].stored_assignments_id}

    gone.delete()

    assert not _stored(tenant).filter(pk__in=only_gone).exists()
    assert _assignments_of(kept) == {"id-0": [GROUP]}
    # id-0's payload and [GROUP] stay (kept uses them); id-1, id-2 payloads went.
    assert _stored(tenant).count() == 2


def test_a_stored_row_used_as_assignments_only_is_not_an_orphan(tenant):
    backup_set = _set(tenant, "night")
    (item,) = _items(backup_set, [[ALL_USERS]])
    assert BackupPayload.objects.delete_orphans(tenant_id=tenant.pk) == 0
    assert BackupPayload.objects.filter(pk=item.stored_assignments_id).exists()


# ---- indexes -------------------------------------------------------------------------------


def test_item_rows_carry_only_the_indexes_queries_use():
    """Each item row is written every night: no index whose work another one already does."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, BackupItem._meta.db_table)
    indexed = {
        tuple(info["columns"])
        for info in constraints.values()
        if (info["index"] or info["unique"]) and not info["primary_key"]
    }
    assert indexed == {
        # unique; items of a set (type counts and the scope page group them), of a type
        ("backup_set_id", "policy_type", "source_id"),
        ("stored_payload_id",),  # retention's orphan sweep, the PROTECT check
        ("stored_assignments_id",),
    }
