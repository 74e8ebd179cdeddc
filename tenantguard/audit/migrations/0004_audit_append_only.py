"""Every event is now a chain link (``sequence`` required), and triggers refuse UPDATE and
DELETE on the audit trail (see ``tenantguard/audit/triggers.py``)."""

from django.db import migrations, models


def install_triggers(apps, schema_editor):
    from tenantguard.audit.triggers import triggers_install

    triggers_install(schema_editor.connection)


def remove_triggers(apps, schema_editor):
    from tenantguard.audit.triggers import triggers_remove

    triggers_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_audit_chain_existing_events")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.BigIntegerField(editable=False, unique=True),
        ),
        # Last: on SQLite, altering a column rebuilds the table and drops its triggers.
        migrations.RunPython(install_triggers, remove_triggers),
    ]
