"""Who may do what on which tenant. Every view, API endpoint, CLI command and service asks here.

Roles come from ``Membership``: viewers see, operators back up and prepare restores (and execute
them on TEST tenants), admins also manage tenants and execute restores on PROD tenants.
Superusers act as admins on every tenant.

Restoring from another tenant's backup (a cross-tenant restore) also needs a role on the SOURCE
tenant: Operator to use its backups as a source, Admin when the restored items carry that
tenant's captured secret values (OMA-URI encrypted settings, VPN pre-shared keys, ...).
"""

from __future__ import annotations

import enum
from typing import Any

from django.db.models import QuerySet

from tenantguard.accounts.models import ROLE_RANK, Membership, Role


class Capability(enum.Enum):
    VIEW = "view"
    BACKUP = "backup"
    MANAGE_TENANT = "manage_tenant"
    PREPARE_RESTORE = "prepare_restore"
    EXECUTE_RESTORE = "execute_restore"
    #: Use this tenant's backups as the source of a restore into another tenant.
    RESTORE_FROM = "restore_from"
    #: Restore this tenant's captured secret values into another tenant.
    RESTORE_SECRETS_FROM = "restore_secrets_from"


_MINIMUM_ROLE = {
    Capability.VIEW: Role.VIEWER,
    Capability.BACKUP: Role.OPERATOR,
    Capability.MANAGE_TENANT: Role.ADMIN,
    Capability.PREPARE_RESTORE: Role.OPERATOR,
    Capability.RESTORE_FROM: Role.OPERATOR,
    Capability.RESTORE_SECRETS_FROM: Role.ADMIN,
}


class AccessDenied(Exception):
    """The user lacks the role this action needs on this tenant. The message says which."""


def role_on(user: Any, tenant: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    role = (
        Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()
    )
    return Role(role) if role else None


def minimum_role(capability: Capability, tenant: Any) -> Role:
    if capability is Capability.EXECUTE_RESTORE:
        return Role.ADMIN if tenant.is_prod else Role.OPERATOR
    return _MINIMUM_ROLE[capability]


def has_capability(user: Any, tenant: Any, capability: Capability) -> bool:
    role = role_on(user, tenant)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum_role(capability, tenant)]


def ensure_capability(user: Any, tenant: Any, capability: Capability) -> None:
    if has_capability(user, tenant, capability):
        return
    needed = minimum_role(capability, tenant)
    role = role_on(user, tenant)
    who = getattr(user, "get_username", lambda: "anonymous")() if user is not None else "anonymous"
    current = f"is {role.label}" if role else "has no role"
    suffix = (
        " (PROD tenants need the Admin role to execute restores)"
        if capability is Capability.EXECUTE_RESTORE and tenant.is_prod
        else ""
    )
    raise AccessDenied(
        f"{who} {current} on tenant '{tenant.display_name}'; this needs {needed.label} or higher{suffix}. "
        "Ask a tenant admin to change your membership."
    )


def tenants_visible_to(user: Any) -> QuerySet[Any]:
    from tenantguard.tenants.models import Tenant

    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Tenant.objects.none()
    if user.is_superuser:
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user=user).distinct()


def roles_on_tenants(user: Any, tenants: Any) -> dict[int, Role]:
    """The user's role on each of ``tenants`` (by tenant pk) in one query; absent = no role."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    if user.is_superuser:
        return {tenant.pk: Role.ADMIN for tenant in tenants}
    pks = [tenant.pk for tenant in tenants]
    rows = Membership.objects.filter(user=user, tenant_id__in=pks).values_list("tenant_id", "role")
    return {tenant_id: Role(role) for tenant_id, role in rows}


def tenants_with_capability(user: Any, capability: Capability) -> list[Any]:
    """Tenants on which ``user`` has ``capability``: two queries whatever the number of tenants."""
    tenants = list(tenants_visible_to(user))
    roles = roles_on_tenants(user, tenants)
    return [
        t
        for t in tenants
        if t.pk in roles and ROLE_RANK[roles[t.pk]] >= ROLE_RANK[minimum_role(capability, t)]
    ]
