from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tenantguard.api.main import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/restore-runs/", include("tenantguard.restores.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
