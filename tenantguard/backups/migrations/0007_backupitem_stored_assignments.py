"""Assignments stored once per (tenant, content) like payloads (0004-0006): the items' nullable
reference to them (filled by 0008; null stays "could not be captured"). And the item indexes no
query needs: the backup set's (the unique constraint and the type index start with it), the
type's and the display name's (every item query is within one set; searches are ``icontains``,
which no B-tree index serves)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0006_remove_backupitem_payload"),
    ]

    operations = [
        migrations.AddField(
            model_name="backupitem",
            name="stored_assignments",
            field=models.ForeignKey(
                blank=True,
                help_text="Null when they could not be captured.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assignment_items",
                to="backups.backuppayload",
            ),
        ),
        migrations.AlterField(
            model_name="backupitem",
            name="backup_set",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="items",
                to="backups.backupset",
            ),
        ),
        migrations.AlterField(
            model_name="backupitem",
            name="policy_type",
            field=models.CharField(max_length=80),
        ),
        migrations.AlterField(
            model_name="backupitem",
            name="display_name",
            field=models.CharField(max_length=500),
        ),
    ]
