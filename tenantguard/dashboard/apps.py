from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "tenantguard.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
