from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import CharField
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from tenantguard.accounts.admin_filters import VisibleTenantFilter
from tenantguard.accounts.admin_mixins import TenantRoleAdminMixin
from tenantguard.accounts.permissions import tenants_visible_to
from tenantguard.audit.models import AuditEvent
from tenantguard.common.admin import CheckedLookupsMixin
from tenantguard.common.json_view import pretty_json
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.selectors import RUN_SUBJECT_TYPE, restore_runs_visible_to
from tenantguard.tenants.models import Tenant


@admin.register(AuditEvent)
class AuditEventAdmin(CheckedLookupsMixin, TenantRoleAdminMixin, ModelAdmin):
    """The audit trail, read-only for everyone (it is append-only in the database too)."""

    list_display = (
        "created_at",
        "actor_label",
        "action",
        "tenant_label",
        "subject_label",
        "request_id",
    )
    list_filter = ("action", ("tenant", VisibleTenantFilter))
    search_fields = ("action", "actor_label", "subject_label", "subject_id", "request_id")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "actor_label",
        "action",
        "tenant_label",
        "subject_type",
        "subject_id",
        "subject_label",
        "request_id",
        "details_pretty",
        "sequence",
        "hash",
    )
    readonly_fields = fields
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super(TenantRoleAdminMixin, self).get_queryset(request)
        if request.user.is_superuser:
            return queryset
        # Events of a run the user may not see (its source is a tenant without their role) are
        # left out like the run itself: their details name the source's items.
        hidden_runs = (
            RestoreRun.objects.exclude(pk__in=restore_runs_visible_to(request.user).values("pk"))
            .annotate(subject=Cast("pk", CharField()))
            .values("subject")
        )
        return queryset.filter(tenant__in=tenants_visible_to(request.user)).exclude(
            subject_type=RUN_SUBJECT_TYPE, subject_id__in=hidden_runs
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self.tenant_of(obj) is None:
            return bool(request.user.is_superuser)
        return super().has_view_permission(request, obj)

    def tenant_of(self, obj: AuditEvent) -> Any:
        # The event keeps its tenant id after the tenant is deleted (no cascade into the trail).
        return Tenant.objects.filter(pk=obj.tenant_id).first() if obj.tenant_id else None

    @admin.display(description="Details")
    def details_pretty(self, obj: AuditEvent) -> str:
        return format_html("{}", pretty_json(obj.details))
