"""Move each item's assignments into the tenant's stored values (one row per distinct content,
shared with payloads of equal JSON), and back when reversed. Null assignments ("could not be
captured") get no row and a null reference. Batched, so a database of many backups never sits
in memory at once."""

import hashlib
import json

from django.db import migrations
from django.db.models import Exists, OuterRef

BATCH = 500


def _digest(value):
    # As ``backups.models.payload_digest`` (copied: a migration must not change with the code).
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _batches(queryset):
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def assignments_to_table(apps, schema_editor):
    BackupItem = apps.get_model("backups", "BackupItem")
    BackupPayload = apps.get_model("backups", "BackupPayload")
    db = schema_editor.connection.alias
    items = BackupItem.objects.using(db).filter(
        assignments__isnull=False, stored_assignments__isnull=True
    )
    known = {
        (tenant_id, digest): pk
        for tenant_id, digest, pk in BackupPayload.objects.using(db).values_list(
            "tenant_id", "digest", "pk"
        )
    }
    for rows in _batches(items.values_list("pk", "backup_set__tenant_id", "assignments")):
        keys = [(tenant_id, _digest(value)) for _, tenant_id, value in rows]
        new = {}
        for key, (_, _, value) in zip(keys, rows, strict=True):
            if key not in known:
                new.setdefault(key, value)
        if new:
            BackupPayload.objects.using(db).bulk_create(
                [
                    BackupPayload(tenant_id=tenant_id, digest=digest, payload=value)
                    for (tenant_id, digest), value in new.items()
                ]
            )
            for tenant_id, digest, pk in (
                BackupPayload.objects.using(db)
                .filter(digest__in=[digest for _, digest in new])
                .values_list("tenant_id", "digest", "pk")
            ):
                known[(tenant_id, digest)] = pk
        BackupItem.objects.using(db).bulk_update(
            [
                BackupItem(pk=pk, stored_assignments_id=known[key])
                for key, (pk, _, _) in zip(keys, rows, strict=True)
            ],
            ["stored_assignments"],
        )


def assignments_to_items(apps, schema_editor):
    BackupItem = apps.get_model("backups", "BackupItem")
    BackupPayload = apps.get_model("backups", "BackupPayload")
    db = schema_editor.connection.alias
    items = BackupItem.objects.using(db).filter(stored_assignments__isnull=False)
    for rows in _batches(items.values_list("pk", "stored_assignments__payload")):
        BackupItem.objects.using(db).bulk_update(
            [BackupItem(pk=pk, assignments=value, stored_assignments=None) for pk, value in rows],
            ["assignments", "stored_assignments"],
        )
    # The rows only assignments used (payloads of equal JSON share theirs and stay).
    BackupPayload.objects.using(db).exclude(
        Exists(BackupItem.objects.using(db).filter(stored_payload=OuterRef("pk")))
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0007_backupitem_stored_assignments"),
    ]

    operations = [
        migrations.RunPython(assignments_to_table, assignments_to_items),
    ]
