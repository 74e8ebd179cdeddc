"""Tenants: list what the user sees (never a credential), test the connection, start a backup."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from tenantguard.accounts.permissions import role_on, tenants_visible_to
from tenantguard.api.backups import backup_set_out
from tenantguard.api.common import visible_tenant
from tenantguard.api.schemas import BackupSetOut, ConnectionTestOut, ErrorOut, TenantOut
from tenantguard.backups.services import backup_set_start
from tenantguard.security.ratelimit import RateLimitScope, rate_limited_user_action
from tenantguard.tenants.models import Tenant
from tenantguard.tenants.services import tenant_test_connection

router = Router(tags=["tenants"])


def tenant_out(tenant: Tenant, user: Any) -> dict[str, Any]:
    role = role_on(user, tenant)
    return {
        "id": tenant.pk,
        "display_name": tenant.display_name,
        "entra_tenant_id": tenant.entra_tenant_id,
        "environment": tenant.environment,
        "cloud": tenant.cloud,
        "auth_method": tenant.auth_method,
        "role": role.value if role else None,
        "connection_status": tenant.connection_status,
        "connection_checked_at": tenant.connection_checked_at,
        "missing_permissions": list(
            (tenant.connection_details or {}).get("missing_permissions") or []
        ),
        "backup_schedule": tenant.backup_schedule,
        "backup_hour_utc": tenant.backup_hour_utc,
        "keep_scheduled_backups": tenant.keep_scheduled_backups,
        "next_scheduled_backup_at": tenant.next_scheduled_backup_at,
    }


@router.get("", response=list[TenantOut], summary="Tenants you have a role on")
def tenant_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [tenant_out(tenant, request.user) for tenant in tenants_visible_to(request.user)]


@router.post(
    "/{tenant_id}/test-connection",
    response={200: ConnectionTestOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Probe every Graph permission TenantGuard needs",
    description="Rate-limited per user (TENANTGUARD_RATE_LIMIT_CONNECTION_TEST).",
)
def tenant_connection_test(request: HttpRequest, tenant_id: int) -> dict[str, Any]:
    tenant = visible_tenant(request, tenant_id)
    with rate_limited_user_action(scope=RateLimitScope.CONNECTION_TEST, user=request.user):
        details = tenant_test_connection(actor=request.user, tenant=tenant)
    return {"tenant_id": tenant.pk, "connection_status": tenant.connection_status, **details}


@router.post(
    "/{tenant_id}/backups",
    response={202: BackupSetOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Start a backup (captured in the background)",
    description="Rate-limited per user (TENANTGUARD_RATE_LIMIT_BACKUP).",
)
def tenant_backup_start(request: HttpRequest, tenant_id: int) -> Status[dict[str, Any]]:
    tenant = visible_tenant(request, tenant_id)
    with rate_limited_user_action(scope=RateLimitScope.BACKUP, user=request.user):
        backup_set = backup_set_start(actor=request.user, tenant=tenant)
    return Status(202, backup_set_out(backup_set))
