from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from tenantguard.api.main import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Browsers ask for /favicon.ico on every page; without it each page logs a 404.
    path("favicon.ico", RedirectView.as_view(url=static("tenantguard/favicon.svg"))),
    path("admin/restore-runs/", include("tenantguard.restores.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
