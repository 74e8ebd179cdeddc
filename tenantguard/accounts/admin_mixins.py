"""Admin permissions from TenantGuard roles (Membership), not from Django's model permissions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenantguard.accounts.permissions import Capability, has_capability, tenants_visible_to


class TenantRoleAdminMixin:
    """Read access for anyone with a role on the object's tenant; no add, change or delete.

    Subclasses set ``tenant_path`` (the ORM path from the model to its Tenant).
    """

    tenant_path = "tenant"

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        return queryset.filter(**{f"{self.tenant_path}__in": tenants_visible_to(request.user)})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not request.user.is_active:
            return False
        if obj is None:
            return tenants_visible_to(request.user).exists()
        return has_capability(request.user, self.tenant_of(obj), Capability.VIEW)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def tenant_of(self, obj: Any) -> Any:
        for part in self.tenant_path.split("__"):
            obj = getattr(obj, part)
        return obj
