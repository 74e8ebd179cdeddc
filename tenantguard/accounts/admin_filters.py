"""Admin list filters that offer only what the user may see.

Django's related-field filters list every row of the related table (every tenant, every backup
set) whatever the changelist shows, so a user without a role on a tenant would read its name in
the filter sidebar. These filters take their choices from the same selectors the pages use.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from unfold.contrib.filters.admin import RelatedDropdownFilter

from tenantguard.accounts.permissions import tenants_visible_to
from tenantguard.backups.selectors import backup_sets_visible_to


class _VisibleRelatedFilter(RelatedDropdownFilter):
    """A related-object dropdown whose choices are limited to ``visible(user)``."""

    def visible(self, user: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False,
            ordering=ordering,
            limit_choices_to={"pk__in": self.visible(request.user).values("pk")},
        )


class VisibleTenantFilter(_VisibleRelatedFilter):
    """Filter by tenant, offering only the tenants the user has a role on."""

    def visible(self, user: Any) -> QuerySet[Any]:
        return tenants_visible_to(user)


class VisibleBackupSetFilter(_VisibleRelatedFilter):
    """Filter by backup set, offering only backup sets of tenants the user has a role on."""

    def visible(self, user: Any) -> QuerySet[Any]:
        return backup_sets_visible_to(user)
