from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.decorators import display

from tenantguard.accounts.admin_filters import VisibleBackupSetFilter, VisibleTenantFilter
from tenantguard.accounts.admin_mixins import TenantRoleAdminMixin
from tenantguard.accounts.permissions import Capability, tenants_with_capability
from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.backups.selectors import (
    backup_item_export,
    backup_set_type_counts,
    backup_sets_visible_to,
    scope_tag_names,
)
from tenantguard.common.admin import CheckedLookupsMixin
from tenantguard.common.json_view import pretty_json
from tenantguard.restores.check_words import platform_label, type_label, types_label

STATUS_LABELS = {
    "Running": "info",
    "Completed": "success",
    "Partial (see warnings)": "warning",
    "Failed": "danger",
}


@admin.register(BackupSet)
class BackupSetAdmin(CheckedLookupsMixin, TenantRoleAdminMixin, ModelAdmin):
    list_display = (
        "name",
        "tenant",
        "status_badge",
        "kind",
        "item_count",
        "captured_at",
        "created_by",
    )
    list_filter = (("tenant", VisibleTenantFilter), "status", "kind")
    search_fields = ("name", "tenant__display_name")
    change_form_outer_before_template = "tenantguard/admin/backup_set_progress.html"
    fields = (
        "name",
        "tenant",
        "status",
        "kind",
        "created_by",
        "created_at",
        "captured_at",
        "item_count",
        "restore_run",
        "error",
        "warnings_list",
        "contents",
    )
    readonly_fields = fields

    @display(description="Status", label=STATUS_LABELS)
    def status_badge(self, obj: BackupSet) -> str:
        return obj.get_status_display()

    @admin.display(description="Warnings")
    def warnings_list(self, obj: BackupSet) -> str:
        if not obj.warnings:
            return "None: everything was captured."
        return format_html(
            "<ul class='list-disc pl-5'>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong>: {}</li>",
                (
                    (
                        types_label(str(w.get("type_key") or ""))
                        if w.get("type_key")
                        else "Backup",
                        w.get("message"),
                    )
                    for w in obj.warnings
                ),
            ),
        )

    @admin.display(description="Contents (by category, type and platform)")
    def contents(self, obj: BackupSet) -> str:
        rows = backup_set_type_counts(backup_set=obj)
        if not rows:
            return "No items."
        return format_html(
            "<table class='text-sm'><thead><tr><th class='text-left pr-4'>Category</th><th class='text-left pr-4'>Type</th>"
            "<th class='text-left pr-4'>Platform</th><th class='text-right'>Items</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td class='pr-4'>{}</td><td class='pr-4'><a class='underline' href='../../../backupitem/?backup_set__id__exact={}&policy_type={}&platform={}'>{}</a></td><td class='pr-4'>{}</td><td class='text-right'>{}</td></tr>",
                (
                    (
                        r["category"],
                        obj.pk,
                        r["policy_type"],
                        r["platform"],
                        types_label(r["policy_type"]),
                        platform_label(r["platform"]) if r["platform"] else "—",
                        r["count"],
                    )
                    for r in rows
                ),
            ),
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:backup_set_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="backups_backupset_progress",
            ),
            *super().get_urls(),
        ]

    def progress_view(self, request: HttpRequest, backup_set_id: int) -> HttpResponse:
        """The polled progress panel. The page polls with the status it was drawn with; once
        that changed, the whole page is reloaded (status, item count, contents, Restore…)."""
        backup_set = get_object_or_404(backup_sets_visible_to(request.user), pk=backup_set_id)
        shown = request.GET.get("shown")
        if shown is not None and shown != backup_set.status:
            return HttpResponse(status=204, headers={"HX-Refresh": "true"})
        return render(
            request, "tenantguard/admin/_backup_progress.html", {"backup_set": backup_set}
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        backup_set = get_object_or_404(backup_sets_visible_to(request.user), pk=object_id)
        context = {
            **(extra_context or {}),
            "backup_set": backup_set,
            # Restoring from a set means preparing a run on a tenant the user operates.
            "tg_can_restore": bool(
                tenants_with_capability(request.user, Capability.PREPARE_RESTORE)
            ),
        }
        return super().change_view(request, object_id, form_url, context)


@admin.register(BackupItem)
class BackupItemAdmin(CheckedLookupsMixin, TenantRoleAdminMixin, ModelAdmin):
    tenant_path = "backup_set__tenant"
    list_display = (
        "display_name",
        "type_shown",
        "category",
        "platform_shown",
        "backup_set",
        "has_warnings",
    )
    list_filter = (
        "category",
        "policy_type",
        "platform",
        ("backup_set", VisibleBackupSetFilter),
    )
    search_fields = ("display_name", "source_id", "policy_type")
    list_per_page = 100
    fields = (
        "display_name",
        "policy_type",
        "category",
        "platform",
        "source_id",
        "backup_set",
        "source_modified_at",
        "content_hash",
        "warnings_list",
        "scope_tags",
        "assignments_view",
        "secret_note",
        "payload_view",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super()
            .get_queryset(request)
            # The list shows no payload: not joined here (the item page reads its one payload).
            .select_related(None)
            .select_related("backup_set", "backup_set__tenant")
            .defer("secrets")
        )

    @admin.display(description="Type", ordering="policy_type")
    def type_shown(self, obj: BackupItem) -> str:
        """The type as the Intune admin center names it (``check_words.type_label``)."""
        return type_label(obj.policy_type)

    @admin.display(description="Platform", ordering="platform")
    def platform_shown(self, obj: BackupItem) -> str:
        return platform_label(obj.platform) if obj.platform else "—"

    @display(description="Warnings", boolean=True)
    def has_warnings(self, obj: BackupItem) -> bool:
        return bool(obj.warnings)

    def _export(self, obj: BackupItem) -> dict[str, Any]:
        cache = getattr(self, "_export_cache", None)
        if cache is None or cache[0] != obj.pk:
            backup_set = obj.backup_set
            data = backup_item_export(
                item=obj,
                group_names=backup_set.group_names,
                tag_names=scope_tag_names(backup_set=backup_set),
            )
            self._export_cache = (obj.pk, data)
            return data
        return cache[1]

    @admin.display(description="Warnings")
    def warnings_list(self, obj: BackupItem) -> str:
        # Capture warnings, then what is wrong with the stored item (payload, secrets).
        warnings = self._export(obj)["warnings"]
        if not warnings:
            return "None"
        return format_html(
            "<ul class='list-disc pl-5'>{}</ul>",
            format_html_join("", "<li>{}</li>", ((w,) for w in warnings)),
        )

    @admin.display(description="Scope tags")
    def scope_tags(self, obj: BackupItem) -> str:
        tags = self._export(obj)["scope_tags"]
        return ", ".join(f"{t['name']} ({t['id']})" for t in tags) or "—"

    @admin.display(description="Assignments")
    def assignments_view(self, obj: BackupItem) -> str:
        assignments = self._export(obj)["assignments"]
        if assignments is None:
            return "Not captured (see warnings): a restore leaves the target's assignments as they are."
        if not assignments:
            return "Not assigned"
        rows = []
        for assignment in assignments:
            target = assignment.get("target", {})
            kind = str(target.get("@odata.type", "")).rsplit(".", 1)[-1]
            who = target.get("groupDisplayName") or {
                "allDevicesAssignmentTarget": "All devices",
                "allLicensedUsersAssignmentTarget": "All users",
            }.get(kind, "")
            filter_id = target.get("deviceAndAppManagementAssignmentFilterId")
            filter_text = (
                f"{target.get('deviceAndAppManagementAssignmentFilterType')} filter {filter_id}"
                if filter_id
                else ""
            )
            rows.append((kind, who, target.get("groupId", ""), filter_text))
        return format_html(
            "<table class='text-sm'><thead><tr><th class='text-left pr-4'>Target</th><th class='text-left pr-4'>Group</th><th class='text-left pr-4'>Group id</th><th class='text-left'>Filter</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td class='pr-4'>{}</td><td class='pr-4'>{}</td><td class='pr-4'>{}</td><td>{}</td></tr>",
                rows,
            ),
        )

    @admin.display(description="Secret values")
    def secret_note(self, obj: BackupItem) -> str:
        return (
            "Captured and stored encrypted (never shown)."
            if self._export(obj)["has_secret_values"]
            else "None"
        )

    @admin.display(description="Payload (as captured)")
    def payload_view(self, obj: BackupItem) -> str:
        return pretty_json(obj.payload)
