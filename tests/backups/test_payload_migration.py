"""The migration moves existing items' payloads into stored payloads (one per tenant and
content) and, reversed, puts them back on the items."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tenantguard.tenants.models import Tenant

BEFORE = ("backups", "0003_backupset_source_identity")
AFTER = ("backups", "0006_remove_backupitem_payload")


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def _tenant(name):
    return Tenant.objects.create(
        display_name=name,
        entra_tenant_id=f"{name.lower()}.example",
        environment="test",
        cloud="emulator",
        auth_method="static_token",
        static_token=f"token-{name.lower()}",
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_payloads_and_back():
    contoso, fabrikam = _tenant("Contoso"), _tenant("Fabrikam")
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE)
        BackupSet = old.get_model("backups", "BackupSet")
        BackupItem = old.get_model("backups", "BackupItem")
        contents = {
            # two nights of Contoso with one object unchanged, one changed; Fabrikam has the
            # same unchanged object (never shared across tenants); a damaged payload moves too
            (contoso.pk, "night 1"): [{"b": 1, "a": [1, 2]}, {"v": 1}],
            (contoso.pk, "night 2"): [{"a": [1, 2], "b": 1}, {"v": 2}, "not an object"],
            (fabrikam.pk, "night 1"): [{"b": 1, "a": [1, 2]}],
        }
        expected = {}
        for (tenant_id, name), payloads in contents.items():
            backup_set = BackupSet.objects.create(tenant_id=tenant_id, name=name)
            for index, payload in enumerate(payloads):
                item = BackupItem.objects.create(
                    backup_set=backup_set,
                    policy_type="device_configuration",
                    source_id=f"id-{index}",
                    display_name=f"Policy {index}",
                    payload=payload,
                    content_hash="0" * 64,
                    secrets="",
                )
                expected[item.pk] = payload

        new = _migrate(AFTER)
        Stored = new.get_model("backups", "BackupPayload")
        Moved = new.get_model("backups", "BackupItem")
        assert Stored.objects.filter(tenant_id=contoso.pk).count() == 4
        assert Stored.objects.filter(tenant_id=fabrikam.pk).count() == 1
        moved = {
            pk: payload
            for pk, payload in Moved.objects.values_list("pk", "stored_payload__payload")
        }
        assert moved == expected
        shared = Moved.objects.filter(
            backup_set__tenant_id=contoso.pk, source_id="id-0"
        ).values_list("stored_payload_id", flat=True)
        assert len(set(shared)) == 1

        back = _migrate(BEFORE)
        Item = back.get_model("backups", "BackupItem")
        assert dict(Item.objects.values_list("pk", "payload")) == expected
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(leaves)
