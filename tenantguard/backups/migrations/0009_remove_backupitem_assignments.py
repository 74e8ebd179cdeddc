"""Every item's assignments are in its stored reference (0008): the item's own column goes.
Reversed, the column comes back (0008 reversed fills it)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0008_backupitem_assignments_move"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="backupitem",
            name="assignments",
        ),
    ]
