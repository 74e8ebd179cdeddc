from django.apps import AppConfig


class RestoresConfig(AppConfig):
    name = "tenantguard.restores"
    label = "restores"
    default_auto_field = "django.db.models.BigAutoField"
