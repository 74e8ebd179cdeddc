"""How backup items are stored and queried: ``payload`` and ``assignments`` are not columns of
the item (they live in ``BackupPayload`` rows, once per tenant and content), so queries name
the stored rows and a lookup on the old names is an error instead of a silent rewrite."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count

from tenantguard.backups.models import BackupItem, BackupPayload, BackupSet, payload_digest

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GROUP = {"target": {"groupId": "g-1"}}


def _set(tenant, name="night"):
    return BackupSet.objects.create(
        tenant=tenant, name=name, kind="scheduled", status="completed", captured_at=NOON
    )


def _items(backup_set, values):
    return BackupItem.objects.bulk_create(
        BackupItem(
            backup_set=backup_set,
            policy_type="device_configuration",
            category="Device configuration",
            source_id=f"id-{index}",
            display_name=f"Policy {index}",
            payload=payload,
            assignments=assignments,
            content_hash="0" * 64,
        )
        for index, (payload, assignments) in enumerate(values)
    )


def test_items_are_queried_on_their_stored_rows(tenant):
    backup_set = _set(tenant)
    _items(
        backup_set,
        [
            ({"displayName": "Tag"}, None),
            ({"displayName": "Other"}, []),
            ({"displayName": "X"}, [GROUP]),
        ],
    )
    items = BackupItem.objects.filter(backup_set=backup_set)

    tagged = items.filter(stored_payload__payload__displayName="Tag")
    assert [item.source_id for item in tagged] == ["id-0"]
    assert sorted(
        i.source_id for i in items.exclude(stored_payload__payload__displayName="Tag")
    ) == [
        "id-1",
        "id-2",
    ]
    assert [i.source_id for i in items.filter(stored_assignments__isnull=True)] == ["id-0"]
    assert [i.source_id for i in items.filter(stored_assignments__payload=[])] == ["id-1"]


@pytest.mark.parametrize(
    "query",
    [
        lambda items: list(items.filter(payload__displayName="Tag")),
        lambda items: list(items.exclude(payload__displayName="Tag")),
        lambda items: items.get(assignments=None),
        lambda items: list(items.filter(assignments__isnull=True)),
        lambda items: items.update(payload={"displayName": "Changed"}),
        lambda items: items.update(assignments=None),
    ],
    ids=["filter", "exclude", "get", "isnull", "update payload", "update assignments"],
)
def test_lookups_on_payload_or_assignments_are_refused(tenant, query):
    """Not silently rewritten to the stored rows: the caller names them (or, to change what an
    item holds, assigns it and saves)."""
    backup_set = _set(tenant)
    (item,) = _items(backup_set, [({"displayName": "Tag"}, None)])

    with pytest.raises((FieldError, FieldDoesNotExist)):
        query(BackupItem.objects.filter(backup_set=backup_set))

    reread = BackupItem.objects.get(pk=item.pk)
    assert reread.payload == {"displayName": "Tag"} and reread.assignments is None


def _item_indexes():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, BackupItem._meta.db_table)
    return {
        tuple(info["columns"])
        for info in constraints.values()
        if (info["index"] or info["unique"]) and not info["primary_key"]
    }


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_the_grouping_of_a_sets_items_searches_by_the_set(tenant):
    """Type counts and the restore scope page read one set's items through the unique
    constraint's (backup set, ...) prefix, never a scan of every night's items."""
    backup_set = _set(tenant)
    _items(backup_set, [({"displayName": "A"}, None)])
    queries = [
        backup_set.items.values("category", "policy_type", "platform").annotate(n=Count("id")),
        backup_set.items.order_by("category", "policy_type", "platform", "display_name", "id"),
    ]
    for query in queries:
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " / ".join(str(row[-1]) for row in cursor.fetchall())
        assert "SEARCH backups_backupitem USING INDEX" in plan, plan
        assert "(backup_set_id=?)" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_the_index_migration_goes_back_and_forth():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    removed = ("backup_set_id", "category", "policy_type", "platform")
    try:
        _migrate(("backups", "0009_remove_backupitem_assignments"))
        assert removed in _item_indexes()
        _migrate(("backups", "0010_remove_backupitem_type_index"))
        assert removed not in _item_indexes()
    finally:
        MigrationExecutor(connection).migrate(leaves)


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def test_a_new_stored_value_is_encoded_once_and_reads_back_the_same(tenant, monkeypatch):
    """The canonical JSON computed for a value's digest is what its row stores: no second
    encoding by the column (plan S(d), the first night's CPU), and the value read back is the
    one given (key order aside), on SQLite and on PostgreSQL."""
    values = [
        {"b": 1, "a": {"nested": [1, 2.5, None, True]}, "name": "Zürich ✓"},
        [{"target": {"groupId": "g-1"}}],
        "a string",
    ]
    encoded = []
    real_dumps = json.dumps

    def counting_dumps(*args, **kwargs):
        encoded.append(args[0] if args else kwargs.get("obj"))
        return real_dumps(*args, **kwargs)

    monkeypatch.setattr(json, "dumps", counting_dumps)
    stored = BackupPayload.objects.intern(tenant_id=tenant.pk, payloads=[*values, values[0]])
    monkeypatch.setattr(json, "dumps", real_dumps)

    assert len(encoded) == len(values) + 1  # each input once (for its digest), no more
    assert stored[0] == stored[-1]
    rows = dict(BackupPayload.objects.filter(tenant=tenant).values_list("pk", "payload"))
    assert [rows[value.pk] for value in stored] == [*values, values[0]]
    assert [value.digest for value in stored[:3]] == [payload_digest(v) for v in values]
    assert BackupPayload.objects.filter(
        tenant=tenant, payload__name="Zürich ✓", payload__a__nested__1=2.5
    ).exists()


def test_new_values_are_inserted_in_digest_order(tenant, monkeypatch):
    """Two stores of a tenant inserting the same new values at once (a backup and a pre-restore
    snapshot, items in different orders) take the rows' locks in the same order: PostgreSQL
    never finds them deadlocked."""
    inserted: list[list[str]] = []
    real_insert = BackupPayload.objects._insert_ignoring_existing

    def recording(tenant_id, rows):
        inserted.append([row[0] for row in rows])
        return real_insert(tenant_id, rows)

    monkeypatch.setattr(BackupPayload.objects, "_insert_ignoring_existing", recording)
    values = [{"name": f"policy {n}"} for n in range(40)]
    BackupPayload.objects.intern(tenant_id=tenant.pk, payloads=values)
    BackupPayload.objects.intern(tenant_id=tenant.pk, payloads=[*values, {"name": "late"}][::-1])

    assert len(inserted) == 2
    assert inserted[0] == sorted(inserted[0]) and len(inserted[0]) == 40
    assert inserted[1] == [payload_digest({"name": "late"})]
