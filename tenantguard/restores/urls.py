"""URLs of the Restore Run Wizard, inside the admin (login and staff required, admin look)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.urls import path

from tenantguard.restores import views

app_name = "restores"


def _page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Login, staff and CSRF like every admin page."""
    return admin.site.admin_view(view)


urlpatterns = [
    path("new/", _page(views.run_new), name="new"),
    path("<int:run_id>/", _page(views.run_detail), name="run"),
    path("<int:run_id>/live/", _page(views.run_live), name="live"),
    path("<int:run_id>/cancel/", _page(views.run_cancel), name="cancel"),
    path("<int:run_id>/resume/", _page(views.run_resume), name="resume"),
    path("<int:run_id>/undo/", _page(views.run_undo), name="undo"),
    path("<int:run_id>/source/", _page(views.step_source), name="source"),
    path("<int:run_id>/scope/", _page(views.step_scope), name="scope"),
    path("<int:run_id>/checks/", _page(views.step_checks), name="checks"),
    path("<int:run_id>/checks.csv", _page(views.checks_csv), name="checks_csv"),
    path("<int:run_id>/checks/run/", _page(views.checks_run), name="checks_run"),
    path("<int:run_id>/analysis/", _page(views.analysis_status), name="analysis"),
    path("<int:run_id>/checks/mapping/", _page(views.mapping_update), name="mapping"),
    path("<int:run_id>/checks/mapping/many/", _page(views.mapping_bulk), name="mapping_bulk"),
    path("<int:run_id>/checks/targets/", _page(views.mapping_targets), name="mapping_targets"),
    path("<int:run_id>/checks/options/", _page(views.options_update), name="options"),
    path("<int:run_id>/preview/", _page(views.step_preview), name="preview"),
    path("<int:run_id>/preview/run/", _page(views.preview_run), name="preview_run"),
    path("<int:run_id>/confirm/", _page(views.step_confirm), name="confirm"),
    path("<int:run_id>/confirm/check/", _page(views.confirm_check), name="confirm_check"),
    path("<int:run_id>/confirm/dry-run/", _page(views.dry_run_set), name="dry_run"),
    path("<int:run_id>/execute/", _page(views.execute), name="execute"),
    path("<int:run_id>/finish-dry-run/", _page(views.finish_dry_run), name="finish_dry_run"),
]
