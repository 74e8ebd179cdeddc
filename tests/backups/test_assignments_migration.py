"""The migration moves existing items' assignments into stored rows (one per tenant and
content, "could not be captured" as a null reference) and, reversed, puts them back on the
items with None and [] still apart."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tenantguard.tenants.models import Tenant

BEFORE = ("backups", "0006_remove_backupitem_payload")
AFTER = ("backups", "0009_remove_backupitem_assignments")
GROUP = {"target": {"groupId": "g-1", "@odata.type": "#microsoft.graph.groupAssignmentTarget"}}


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
def test_the_migration_moves_assignments_and_back():
    contoso, fabrikam = _tenant("Contoso"), _tenant("Fabrikam")
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE)
        BackupSet = old.get_model("backups", "BackupSet")
        BackupItem = old.get_model("backups", "BackupItem")
        BackupPayload = old.get_model("backups", "BackupPayload")
        contents = {
            # Contoso: two nights, [GROUP] unchanged, one not captured, one with none; night 2
            # in another key order; Fabrikam has the same [GROUP] (never shared across tenants)
            (contoso.pk, "night 1"): [[GROUP], None, []],
            (contoso.pk, "night 2"): [[{"target": dict(reversed(GROUP["target"].items()))}], []],
            (fabrikam.pk, "night 1"): [[GROUP]],
        }
        expected = {}
        payload_rows = 0
        for (tenant_id, name), values in contents.items():
            backup_set = BackupSet.objects.create(tenant_id=tenant_id, name=name)
            for index, value in enumerate(values):
                stored = BackupPayload.objects.create(
                    tenant_id=tenant_id, digest=f"{name}-{index}".ljust(64, "0"), payload={}
                )
                payload_rows += 1
                item = BackupItem.objects.create(
                    backup_set=backup_set,
                    policy_type="device_configuration",
                    source_id=f"id-{index}",
                    display_name=f"Policy {index}",
                    stored_payload=stored,
                    assignments=value,
                    content_hash="0" * 64,
                    secrets="",
                )
                expected[item.pk] = value

        new = _migrate(AFTER)
        Stored = new.get_model("backups", "BackupPayload")
        Moved = new.get_model("backups", "BackupItem")
        # Contoso: [GROUP] and [] once each; Fabrikam: its own [GROUP]; nothing for None.
        assert Stored.objects.count() == payload_rows + 3
        moved = dict(Moved.objects.values_list("pk", "stored_assignments__payload"))
        assert moved == expected
        not_captured = [pk for pk, value in expected.items() if value is None]
        assert (
            list(Moved.objects.filter(stored_assignments__isnull=True).values_list("pk", flat=True))
            == not_captured
        )
        shared = Moved.objects.filter(
            backup_set__tenant_id=contoso.pk, source_id="id-0"
        ).values_list("stored_assignments_id", flat=True)
        assert len(set(shared)) == 1

        back = _migrate(BEFORE)
        Item = back.get_model("backups", "BackupItem")
        restored = dict(Item.objects.values_list("pk", "assignments"))
        assert restored == expected
        assert [pk for pk, value in restored.items() if value is None] == not_captured
        # The rows only assignments used are gone again; the payloads stay.
        assert back.get_model("backups", "BackupPayload").objects.count() == payload_rows
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(leaves)
