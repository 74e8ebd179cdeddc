from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from unfold.admin import ModelAdmin

from tenantguard.accounts.models import Membership
from tenantguard.accounts.permissions import Capability, has_capability, tenants_with_capability
from tenantguard.audit.services import audit_event_record

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    pass


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


@admin.register(Membership)
class MembershipAdmin(ModelAdmin):
    """Tenant admins grant and change roles on their tenants; every change is audited."""

    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__username", "tenant__display_name")
    autocomplete_fields = ()

    def get_queryset(self, request: HttpRequest) -> Any:
        tenants = tenants_with_capability(request.user, Capability.VIEW)
        return (
            super()
            .get_queryset(request)
            .filter(tenant__in=tenants)
            .select_related("user", "tenant")
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def _can_manage(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None:
            return has_capability(request.user, obj.tenant, Capability.MANAGE_TENANT)
        return bool(tenants_with_capability(request.user, Capability.MANAGE_TENANT))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._can_manage(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_manage(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_manage(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "tenant":
            from tenantguard.tenants.models import Tenant

            ids = [t.pk for t in tenants_with_capability(request.user, Capability.MANAGE_TENANT)]
            kwargs["queryset"] = Tenant.objects.filter(pk__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        from django.core.exceptions import PermissionDenied
        from django.db import transaction

        if not has_capability(request.user, obj.tenant, Capability.MANAGE_TENANT):
            raise PermissionDenied("Only admins of this tenant can change its memberships.")
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_event_record(
                actor=request.user,
                action="membership.changed" if change else "membership.granted",
                subject=obj,
                tenant=obj.tenant,
                details={"user": obj.user.get_username(), "role": obj.role},
            )

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        from django.db import transaction

        with transaction.atomic():
            audit_event_record(
                actor=request.user,
                action="membership.revoked",
                subject=obj,
                tenant=obj.tenant,
                details={"user": obj.user.get_username(), "role": obj.role},
            )
            super().delete_model(request, obj)
