"""Storing items' payloads and assignments cheaply (issue 10, target 4): interning sets the
item's references without building stored-row objects, keeps what it stored readable on the
item without a query, reads back only (digest, id) pairs and inserts nothing on an unchanged
night; the values stored are the same as before."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.models.signals import pre_init
from django.test.utils import CaptureQueriesContext

from tenantguard.backups.models import BackupItem, BackupPayload, BackupSet, payload_digest

pytestmark = pytest.mark.django_db


def _set(tenant, name="night"):
    return BackupSet.objects.create(tenant=tenant, name=name, status="completed")


def _item(backup_set, index, payload, assignments):
    item = BackupItem(
        backup_set=backup_set,
        policy_type="device_configuration",
        category="Device configuration",
        source_id=f"id-{index}",
        display_name=f"Policy {index}",
        content_hash="0" * 64,
    )
    item.payload = payload
    item.assignments = assignments
    return item


def _night(backup_set, count=3):
    return [
        _item(
            backup_set,
            index,
            {"id": f"id-{index}", "displayName": f"Policy {index}", "ünïcode": "é"},
            [{"id": f"a-{index}", "target": {"groupId": f"g-{index}"}}] if index else None,
        )
        for index in range(count)
    ]


def _payload_inserts(queries):
    """Inserts into the stored values' table (``executemany`` is logged as "N times: ...")."""
    into = re.compile(r"\bINSERT\b.*\bINTO\s+\W?backups_backuppayload\W", re.IGNORECASE)
    return [q["sql"] for q in queries if into.search(q["sql"])]


def test_items_read_what_they_stored_without_a_query_and_without_row_objects(tenant):
    built = []

    def count(sender, **kwargs):
        built.append(sender)

    pre_init.connect(count, sender=BackupPayload)
    try:
        items = BackupItem.objects.bulk_create(_night(_set(tenant)))
    finally:
        pre_init.disconnect(count, sender=BackupPayload)

    assert built == []  # no BackupPayload object for the insert nor for reading ids back
    with CaptureQueriesContext(connection) as reads:
        payloads = [item.payload for item in items]
        assignments = [item.assignments for item in items]
    assert reads.captured_queries == []
    assert payloads[1] == {"id": "id-1", "displayName": "Policy 1", "ünïcode": "é"}
    assert assignments[0] is None and items[0].stored_assignments_id is None
    assert assignments[2] == [{"id": "a-2", "target": {"groupId": "g-2"}}]
    stored = BackupPayload.objects.get(pk=items[2].stored_payload_id)
    assert stored.digest == payload_digest(payloads[2]) and stored.payload == payloads[2]
    assert stored.tenant_id == tenant.pk
    assert not items[0].payload_pending
    # Read from the database: the same values as held on the items.
    again = {i.source_id: i for i in BackupItem.objects.filter(backup_set=items[0].backup_set)}
    for item in items:
        assert again[item.source_id].payload == item.payload
        assert again[item.source_id].assignments == item.assignments


def test_an_unchanged_night_inserts_no_stored_value(tenant):
    BackupItem.objects.bulk_create(_night(_set(tenant, "first"), count=5))
    stored_before = BackupPayload.objects.filter(tenant=tenant).count()

    with CaptureQueriesContext(connection) as queries:
        items = BackupItem.objects.bulk_create(_night(_set(tenant, "second"), count=5))

    assert _payload_inserts(queries.captured_queries) == []
    assert BackupPayload.objects.filter(tenant=tenant).count() == stored_before == 9
    assert all(item.pk for item in items)


def test_a_first_night_inserts_the_new_values_in_one_call_with_their_digests(tenant):
    with CaptureQueriesContext(connection) as queries:
        items = BackupItem.objects.bulk_create(_night(_set(tenant), count=4))

    assert len(_payload_inserts(queries.captured_queries)) == 1
    rows = dict(BackupPayload.objects.filter(tenant=tenant).values_list("digest", "payload"))
    assert len(rows) == 4 + 3  # payloads + the assignments that were captured
    for item in items:
        assert rows[payload_digest(item.payload)] == item.payload


def test_a_changed_reference_reads_its_own_row_not_the_value_held_on_the_item(tenant):
    first, second = BackupItem.objects.bulk_create(_night(_set(tenant), count=2))

    first.stored_payload_id = second.stored_payload_id

    assert first.payload == second.payload
    first.payload = {"changed": True}
    first.save()
    assert BackupItem.objects.get(pk=first.pk).payload == {"changed": True}
    assert first.payload == {"changed": True}
