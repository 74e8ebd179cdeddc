"""The per-tenant, per-cloud cache of settings catalog setting definitions."""

from __future__ import annotations

from django.db import models

#: ``SettingDefinition.cloud`` is at most this long (a custom cloud's key holds its Graph URL).
CLOUD_KEY_LENGTH = 340


class SettingDefinition(models.Model):
    """How Graph names one setting definition for one tenant in one cloud.

    ``known`` False: Graph answered that no definition has this id (404); remembered so the
    preview does not ask again every time. ``options``: ``{itemId: {"display_name",
    "description"}}`` of a choice (or choice collection) definition. A read cache: rows are
    vocabulary, never secrets, and are written without audit events (see ``services``).
    """

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="setting_definitions"
    )
    #: ``Tenant.cloud``, or ``custom:<Graph URL>`` for a custom cloud (``services.cloud_key``).
    cloud = models.CharField(max_length=CLOUD_KEY_LENGTH)
    definition_id = models.CharField(max_length=1000)
    known = models.BooleanField(default=True)
    display_name = models.TextField(blank=True)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=300, blank=True)
    options = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "cloud", "definition_id"],
                name="catalog_definition_unique_per_tenant_cloud",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.definition_id
