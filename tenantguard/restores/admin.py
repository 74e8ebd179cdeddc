"""The restore-runs list (read-only): every run opens in the wizard's run page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import display

from tenantguard.accounts.admin_filters import VisibleTenantFilter
from tenantguard.accounts.admin_mixins import TenantRoleAdminMixin
from tenantguard.common.admin import CheckedLookupsMixin
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.selectors import restore_runs_visible_to, restore_target_tenants

STATUS_BADGES = {
    RestoreStatus.DRAFT.label: "info",
    RestoreStatus.SCOPED.label: "info",
    RestoreStatus.CHECKED.label: "info",
    RestoreStatus.PREVIEWED.label: "info",
    RestoreStatus.QUEUED.label: "warning",
    RestoreStatus.RUNNING.label: "warning",
    RestoreStatus.COMPLETED.label: "success",
    RestoreStatus.PARTIAL.label: "warning",
    RestoreStatus.FAILED.label: "danger",
    RestoreStatus.CANCELLED.label: "info",
}


@admin.register(RestoreRun)
class RestoreRunAdmin(CheckedLookupsMixin, TenantRoleAdminMixin, ModelAdmin):
    list_display = (
        "run_link",
        "status_badge",
        "tenant_label",
        "environment_badge",
        "backup_set",
        "mode",
        "requested_by",
        "created_at",
    )
    list_display_links = None
    list_filter = ("status", "environment", ("tenant", VisibleTenantFilter))
    search_fields = ("tenant_label", "backup_set__name", "requested_by__username")
    list_before_template = "restores/admin/runs_list_before.html"
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> Any:
        # Runs whose source is a tenant the user cannot view are not listed (the selector).
        visible = restore_runs_visible_to(request.user).values("pk")
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=visible)
            .select_related("tenant", "backup_set", "requested_by")
        )

    @display(description="Run", ordering="id")
    def run_link(self, obj: RestoreRun) -> str:
        return format_html(
            "<a class='tg-link' href='{}'>Restore #{}</a>",
            reverse("restores:run", args=[obj.pk]),
            obj.pk,
        )

    @display(description="Status", label=STATUS_BADGES)
    def status_badge(self, obj: RestoreRun) -> str:
        return obj.get_status_display()

    @display(description="Environment", label={"PROD": "danger", "TEST": "info"})
    def environment_badge(self, obj: RestoreRun) -> str:
        return obj.environment.upper()

    @display(description="Kind")
    def mode(self, obj: RestoreRun) -> str:
        return "Dry run" if obj.dry_run else "Restore"

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        extra_context = {
            **(extra_context or {}),
            "tg_can_start": bool(restore_target_tenants(request.user)),
        }
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        # The run page is the one place a run is shown (live progress, outcomes, audit).
        return HttpResponseRedirect(reverse("restores:run", args=[object_id]))
