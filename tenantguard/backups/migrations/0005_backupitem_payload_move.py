"""Move each item's payload into the tenant's stored payloads (one row per distinct content),
and back when reversed. Batched, so a database of many backups never sits in memory at once."""

import hashlib
import json

from django.db import migrations

BATCH = 500


def _digest(payload):
    # As ``backups.models.payload_digest`` (copied: a migration must not change with the code).
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _batches(queryset):
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def payloads_to_table(apps, schema_editor):
    BackupItem = apps.get_model("backups", "BackupItem")
    BackupPayload = apps.get_model("backups", "BackupPayload")
    db = schema_editor.connection.alias
    items = BackupItem.objects.using(db).filter(stored_payload__isnull=True)
    known = {
        (tenant_id, digest): pk
        for tenant_id, digest, pk in BackupPayload.objects.using(db).values_list(
            "tenant_id", "digest", "pk"
        )
    }
    for rows in _batches(items.values_list("pk", "backup_set__tenant_id", "payload")):
        keys = [(tenant_id, _digest(payload)) for _, tenant_id, payload in rows]
        new = {}
        for key, (_, _, payload) in zip(keys, rows, strict=True):
            if key not in known:
                new.setdefault(key, payload)
        if new:
            BackupPayload.objects.using(db).bulk_create(
                [
                    BackupPayload(tenant_id=tenant_id, digest=digest, payload=payload)
                    for (tenant_id, digest), payload in new.items()
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
                BackupItem(pk=pk, stored_payload_id=known[key])
                for key, (pk, _, _) in zip(keys, rows, strict=True)
            ],
            ["stored_payload"],
        )


def payloads_to_items(apps, schema_editor):
    BackupItem = apps.get_model("backups", "BackupItem")
    db = schema_editor.connection.alias
    items = BackupItem.objects.using(db).filter(stored_payload__isnull=False)
    for rows in _batches(items.values_list("pk", "stored_payload__payload")):
        BackupItem.objects.using(db).bulk_update(
            [BackupItem(pk=pk, payload=payload, stored_payload=None) for pk, payload in rows],
            ["payload", "stored_payload"],
        )
    apps.get_model("backups", "BackupPayload").objects.using(db).all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0004_backuppayload"),
    ]

    operations = [
        migrations.RunPython(payloads_to_table, payloads_to_items),
    ]
