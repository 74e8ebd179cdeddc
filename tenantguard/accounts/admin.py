from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from unfold.admin import ModelAdmin

from tenantguard.accounts.admin_filters import VisibleTenantFilter
from tenantguard.accounts.models import ApiToken, Membership
from tenantguard.accounts.permissions import Capability, has_capability, tenants_with_capability
from tenantguard.accounts.tokens import (
    DEFAULT_LIFETIME_DAYS,
    MAX_LIFETIME_DAYS,
    ApiTokenError,
    api_token_create,
    api_token_revoke,
    api_tokens_visible_to,
)
from tenantguard.audit.services import audit_event_record
from tenantguard.common.admin import CheckedLookupsMixin

admin.site.unregister(User)
admin.site.unregister(Group)


#: User fields recorded as they are after a change (a password only as "it changed").
_USER_AUDITED_FIELDS = ("username", "email", "is_active", "is_staff", "is_superuser")


class _AuditedAdminMixin:
    """Django's own user and group pages, with every save and delete in the audit trail."""

    audit_name: str

    def _audit_details(self, obj: Any, form: Any) -> dict[str, Any]:
        return {"changed_fields": sorted(getattr(form, "changed_data", []) or [])}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            audit_event_record(
                actor=request.user,
                action=f"{self.audit_name}.{'changed' if change else 'created'}",
                subject=obj,
                details=self._audit_details(obj, form),
            )

    # Delete first, audit last: appending to the audit chain locks it until the transaction
    # ends, so taking the rows' locks after it (as a delete does) could deadlock with an edit
    # that locks the row first. The event keeps a copy of each object as it was (id, name).
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            deleted = copy.copy(obj)
            super().delete_model(request, obj)  # type: ignore[misc]
            audit_event_record(
                actor=request.user,
                action=f"{self.audit_name}.deleted",
                subject=deleted,
                details={"name": str(deleted)},
            )

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            deleted = [copy.copy(obj) for obj in queryset]
            super().delete_queryset(request, queryset)  # type: ignore[misc]
            for obj in deleted:
                audit_event_record(
                    actor=request.user,
                    action=f"{self.audit_name}.deleted",
                    subject=obj,
                    details={"name": str(obj)},
                )


@admin.register(User)
class UserAdmin(_AuditedAdminMixin, BaseUserAdmin, ModelAdmin):
    audit_name = "user"

    def _audit_details(self, obj: Any, form: Any) -> dict[str, Any]:
        # Field names only for what changed (a new password shows as "password"), and the
        # account's access flags as they are now. Values of secrets never reach the trail.
        return {
            **super()._audit_details(obj, form),
            **{name: getattr(obj, name) for name in _USER_AUDITED_FIELDS},
        }

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        with transaction.atomic():  # the new password and its audit row, together
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:  # the form saved
                user = self.get_object(request, id)
                audit_event_record(
                    actor=request.user,
                    action="user.password_changed",
                    subject=user,
                    details={"username": user.get_username() if user else id},
                )
        return response


@admin.register(Group)
class GroupAdmin(_AuditedAdminMixin, BaseGroupAdmin, ModelAdmin):
    audit_name = "group"


@admin.register(Membership)
class MembershipAdmin(CheckedLookupsMixin, ModelAdmin):
    """Tenant admins grant and change roles on their tenants; every change is audited."""

    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", ("tenant", VisibleTenantFilter))
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


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'nightly backup pipeline'."
    )
    days = forms.IntegerField(
        label="Valid for (days)",
        initial=DEFAULT_LIFETIME_DAYS,
        min_value=1,
        max_value=MAX_LIFETIME_DAYS,
        help_text=f"1 to {MAX_LIFETIME_DAYS}. After that the token stops working.",
    )


@admin.register(ApiToken)
class ApiTokenAdmin(ModelAdmin):
    """Your API tokens (superusers see everyone's). Created here, shown once, revoked here."""

    list_display = ("name", "user", "prefix", "state", "created_at", "expires_at", "last_used_at")
    list_filter = ("revoked_at",)
    readonly_fields = (
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    fields = readonly_fields
    actions = ("revoke_selected",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return api_tokens_visible_to(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return bool(request.user.is_active and request.user.is_staff)
        return obj.user_id == request.user.pk or bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a token is revoked, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked tokens stay listed for the audit trail

    def has_revoke_selected_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.display(description="State")
    def state(self, obj: ApiToken) -> str:
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at <= timezone.now():
            return "expired"
        return "active"

    @admin.action(description="Revoke the selected tokens (they stop working at once)")
    def revoke_selected(self, request: HttpRequest, queryset: Any) -> None:
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            try:
                api_token_revoke(actor=request.user, token=token)
            except PermissionError as exc:
                messages.error(request, str(exc))
            else:
                revoked += 1
        messages.success(request, f"{revoked} token{'s' if revoked != 1 else ''} revoked.")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Create a token for yourself; the token is shown on this page once, never stored."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiTokenCreateForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            try:
                issued = api_token_create(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    days=form.cleaned_data["days"],
                )
            except ApiTokenError as exc:
                form.add_error(None, str(exc))
        context = {
            **self.admin_site.each_context(request),
            "title": "New API token",
            "form": form,
            "issued": issued,
            "opts": self.model._meta,
        }
        response = render(request, "tenantguard/admin/api_token_add.html", context)
        response["Cache-Control"] = "no-store"  # the page holding the token is never cached
        return response
