"""Every item refers to its stored payload (0005): the reference is required and the item's
own payload column goes. Reversed, the column comes back (0005 reversed fills it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0005_backupitem_payload_move"),
    ]

    operations = [
        migrations.AlterField(
            model_name="backupitem",
            name="stored_payload",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="items",
                to="backups.backuppayload",
            ),
        ),
        migrations.RemoveField(
            model_name="backupitem",
            name="payload",
        ),
    ]
