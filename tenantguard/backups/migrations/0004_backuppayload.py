"""Payloads stored once per (tenant, content): the new table and the items' nullable reference
(filled by 0005, made required by 0006)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0003_backupset_source_identity"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="BackupPayload",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "digest",
                    models.CharField(
                        help_text="SHA-256 of the payload's canonical JSON.", max_length=64
                    ),
                ),
                ("payload", models.JSONField(default=dict)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "digest"), name="backuppayload_unique_digest"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="backupitem",
            name="stored_payload",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="items",
                to="backups.backuppayload",
            ),
        ),
    ]
