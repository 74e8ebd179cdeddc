from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Intune's vocabulary as read from a tenant: settings catalog setting definitions."""

    name = "tenantguard.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"
