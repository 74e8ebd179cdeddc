"""Chain the events written before the chain existed, in id order."""

from django.db import migrations

from tenantguard.audit.chain import GENESIS_HASH, HASHED_FIELDS, event_hash

BATCH = 2000


def chain_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    using = schema_editor.connection.alias
    events = AuditEvent.objects.using(using)
    sequence, prev_hash, last_id = 0, GENESIS_HASH, 0
    while True:
        # Keyset pages rather than one open cursor: SQLite must not write to a table it is
        # still reading from in the same connection.
        page = list(events.filter(pk__gt=last_id).order_by("pk")[:BATCH])
        if not page:
            break
        for event in page:
            sequence += 1
            event.sequence = sequence
            event.prev_hash = prev_hash
            event.hash = event_hash(
                prev_hash=prev_hash, fields={name: getattr(event, name) for name in HASHED_FIELDS}
            )
            prev_hash, last_id = event.hash, event.pk
        events.bulk_update(page, ["sequence", "prev_hash", "hash"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_audit_chain_fields")]

    operations = [migrations.RunPython(chain_existing_events, migrations.RunPython.noop)]
