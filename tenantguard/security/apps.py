from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "tenantguard.security"
    label = "security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the audit of sign-in lockouts to django-axes' signal.
        from tenantguard.security import lockout  # noqa: F401
