from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin
from unfold.decorators import display

from tenantguard.accounts.models import ROLE_RANK, Membership, Role
from tenantguard.accounts.permissions import (
    AccessDenied,
    Capability,
    has_capability,
    minimum_role,
    tenants_visible_to,
)
from tenantguard.backups.services import backup_set_start
from tenantguard.common.admin import CheckedLookupsMixin
from tenantguard.crypto import decryption_problem
from tenantguard.dashboard.selectors import TenantOverview, tenant_overviews
from tenantguard.security.ratelimit import RateLimited, RateLimitScope, rate_limited_user_action
from tenantguard.tenants.forms import TenantForm
from tenantguard.tenants.models import Tenant
from tenantguard.tenants.services import (
    EDITABLE_FIELDS,
    SECRET_FIELDS,
    tenant_create,
    tenant_test_connection,
    tenant_update,
)


@admin.register(Tenant)
class TenantAdmin(CheckedLookupsMixin, ModelAdmin):
    form = TenantForm
    # The dashboard's columns (tenantguard.dashboard), read for the whole page at once in
    # get_changelist_instance: the number of queries does not grow with the tenants listed.
    list_display = (
        "display_name",
        "environment_badge",
        "last_backup",
        "next_backup",
        "changes",
        "restores",
        "connection",
    )
    search_fields = ("display_name", "entra_tenant_id")
    change_form_outer_before_template = "tenantguard/admin/tenant_actions.html"
    fieldsets = (
        (None, {"fields": ("display_name", "entra_tenant_id", "environment")}),
        ("Graph endpoint", {"fields": ("cloud", "graph_url", "login_url")}),
        (
            "App registration",
            {
                "fields": (
                    "auth_method",
                    "client_id",
                    "client_secret",
                    "certificate_private_key",
                    "certificate_thumbprint",
                    "static_token",
                )
            },
        ),
        (
            "Scheduled backups",
            {
                "fields": (
                    "backup_schedule",
                    "backup_hour_utc",
                    "keep_scheduled_backups",
                    "confirm_prune",
                    "next_scheduled_backup_at",
                )
            },
        ),
    )
    readonly_fields = ("next_scheduled_backup_at",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return tenants_visible_to(request.user)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if self.has_change_permission(request, obj) or (
            obj is None and self.has_add_permission(request)
        ):
            return self.fieldsets
        # Read-only viewers never get secret fields, not even as a rendered read-only value.
        return tuple(
            (
                title,
                {
                    **options,
                    "fields": tuple(f for f in options["fields"] if f not in SECRET_FIELDS),
                },
            )
            for title, options in self.fieldsets
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return bool(request.user.is_active and request.user.is_staff)
        return has_capability(request.user, obj, Capability.VIEW)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            # Admin of at least one tenant (MANAGE_TENANT's role), in one query: every admin page
            # asks this for the sidebar, so it must not read each tenant's role in turn.
            user = request.user
            needed = ROLE_RANK[minimum_role(Capability.MANAGE_TENANT, None)]
            return bool(user.is_active and user.is_superuser) or bool(
                user.is_active
                and Membership.objects.filter(
                    user_id=user.pk, role__in=[r for r in Role if ROLE_RANK[r] >= needed]
                ).exists()
            )
        return has_capability(request.user, obj, Capability.MANAGE_TENANT)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # A tenant with backups is history: it is never deleted from the UI.

    @display(description="Environment", label={"PROD": "danger", "TEST": "info"})
    def environment_badge(self, obj: Tenant) -> str:
        return obj.get_environment_display()

    @display(
        description="Connection",
        label={
            "Connected": "success",
            "Connected, some permissions missing": "warning",
            "Cannot connect": "danger",
            "Not tested": "info",
        },
    )
    def connection(self, obj: Tenant) -> str:
        return obj.get_connection_status_display()

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        tenants = list(changelist.result_list)  # evaluated once: the rows render these objects
        overviews = {
            overview.tenant.pk: overview
            for overview in tenant_overviews(user=request.user, tenants=tenants)
        }
        for tenant in tenants:
            tenant.dashboard_overview = overviews.get(tenant.pk)  # type: ignore[attr-defined]
        return changelist

    @admin.display(description="Last backup")
    def last_backup(self, obj: Tenant) -> str:
        return self._overview_cell(obj, "dashboard/_last_backup.html")

    @admin.display(description="Next backup")
    def next_backup(self, obj: Tenant) -> str:
        return self._overview_cell(obj, "dashboard/_next_backup.html")

    @admin.display(description="Changes")
    def changes(self, obj: Tenant) -> str:
        """What changed between the tenant's last two completed backups (the dashboard's
        column, counted for the whole page in ``get_changelist_instance``)."""
        return self._overview_cell(obj, "dashboard/_changes.html")

    @admin.display(description="Restores")
    def restores(self, obj: Tenant) -> str:
        return self._overview_cell(obj, "dashboard/_restores_cell.html")

    def _overview_cell(self, obj: Tenant, template: str) -> str:
        overview: TenantOverview | None = getattr(obj, "dashboard_overview", None)
        if overview is None:
            return ""
        return render_to_string(
            "dashboard/_overview_cell.html",
            {"overview": overview, "template": template, "compact": True},
        )

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        fields = {
            name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name in form.cleaned_data
        }
        try:
            if change:
                original = Tenant.objects.get(pk=obj.pk)
                saved = tenant_update(actor=request.user, tenant=original, **fields)
            else:
                saved = tenant_create(actor=request.user, **fields)
        except (AccessDenied, PermissionError) as exc:
            raise PermissionDenied(str(exc)) from exc
        obj.pk = saved.pk

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:tenant_id>/backup/",
                self.admin_site.admin_view(require_POST(self.backup_now_view)),
                name="tenants_tenant_backup",
            ),
            path(
                "<int:tenant_id>/test-connection/",
                self.admin_site.admin_view(require_POST(self.test_connection_view)),
                name="tenants_tenant_test_connection",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        tenant = get_object_or_404(tenants_visible_to(request.user), pk=object_id)
        extra_context = {
            **(extra_context or {}),
            "tg_tenant": tenant,
            "tg_can_backup": has_capability(request.user, tenant, Capability.BACKUP),
            "tg_can_restore": has_capability(request.user, tenant, Capability.PREPARE_RESTORE),
            "tg_recent_backups": tenant.backup_sets.all()[:5],
        }
        if request.method == "GET":
            # A credential encrypted with a key this install lacks reads as empty: say why.
            for name in SECRET_FIELDS:
                if problem := decryption_problem(getattr(tenant, name)):
                    label = str(getattr(Tenant._meta.get_field(name), "verbose_name", name))
                    messages.warning(request, f"{label[:1].upper()}{label[1:]}: {problem}")
        return super().change_view(request, object_id, form_url, extra_context)

    def backup_now_view(self, request: HttpRequest, tenant_id: int) -> HttpResponse:
        tenant = get_object_or_404(tenants_visible_to(request.user), pk=tenant_id)
        try:
            with rate_limited_user_action(scope=RateLimitScope.BACKUP, user=request.user):
                backup_set = backup_set_start(actor=request.user, tenant=tenant)
        except (AccessDenied, RateLimited) as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
        messages.success(
            request, f"Backup of {tenant.display_name} started. This page shows its progress."
        )
        return HttpResponseRedirect(reverse("admin:backups_backupset_change", args=[backup_set.pk]))

    def test_connection_view(self, request: HttpRequest, tenant_id: int) -> HttpResponse:
        tenant = get_object_or_404(tenants_visible_to(request.user), pk=tenant_id)
        try:
            with rate_limited_user_action(scope=RateLimitScope.CONNECTION_TEST, user=request.user):
                details = tenant_test_connection(actor=request.user, tenant=tenant)
        except (AccessDenied, RateLimited) as exc:
            messages.error(request, str(exc))
        else:
            if details["error"]:
                messages.error(
                    request, f"Cannot connect to {tenant.display_name}: {details['error']}"
                )
            elif details["missing_permissions"]:
                messages.warning(
                    request,
                    format_html(
                        "Connected, but these permissions do not work: {}. Grant them to the app registration and admin-consent.",
                        ", ".join(details["missing_permissions"]),
                    ),
                )
            else:
                messages.success(
                    request, f"Connected to {tenant.display_name}: every required permission works."
                )
        return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
