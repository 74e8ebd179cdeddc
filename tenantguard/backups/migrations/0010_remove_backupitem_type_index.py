"""Storage flat in unchanged nights (issue 10, target 5): the item index on (backup set,
category, type, platform) goes. It only covered the grouping of one set's items (type counts,
the restore scope page), which the unique constraint's (backup set, ...) prefix serves too,
a few milliseconds slower for 5,000 items; it cost 53 bytes per item and night on SQLite
(9 on PostgreSQL, whose B-tree deduplicates its repeated keys). Reversible: going back creates
the index again."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0009_remove_backupitem_assignments"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="backupitem",
            name="backups_bac_backup__a82b82_idx",
        ),
    ]
