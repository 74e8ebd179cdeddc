from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tenantguard.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tenantguard.audit.triggers import triggers_restore_after_migrate

        # Once per migrate (sender: this app), whichever app's migration rebuilt the table.
        post_migrate.connect(
            triggers_restore_after_migrate,
            sender=self,
            dispatch_uid="tenantguard.audit.triggers_restore_after_migrate",
        )
