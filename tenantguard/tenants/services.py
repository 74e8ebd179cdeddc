"""Tenant changes. Each one is authorized and audited in the same transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenantguard.accounts.models import Membership, Role
from tenantguard.accounts.permissions import Capability, ensure_capability
from tenantguard.audit.services import audit_event_record
from tenantguard.crypto import decryption_problem
from tenantguard.graph import GraphError, NotFoundError
from tenantguard.intune import registry
from tenantguard.tenants.graph_access import TenantConfigurationError, graph_client_for
from tenantguard.tenants.models import AuthMethod, ConnectionStatus, Tenant

SECRET_FIELDS = ("client_secret", "certificate_private_key", "static_token")
EDITABLE_FIELDS = (
    "display_name",
    "entra_tenant_id",
    "environment",
    "cloud",
    "graph_url",
    "login_url",
    "auth_method",
    "client_id",
    "certificate_thumbprint",
    *SECRET_FIELDS,
    "backup_schedule",
    "backup_hour_utc",
    "keep_scheduled_backups",
)
SCHEDULE_FIELDS = ("backup_schedule", "backup_hour_utc")
#: Where the stored credentials are sent. Changing any of these discards them: a secret typed
#: for one endpoint and app is never sent to another one (e.g. a Graph URL an admin points
#: elsewhere, then presses Test connection).
CONNECTION_FIELDS = ("cloud", "graph_url", "login_url", "client_id", "entra_tenant_id")
#: The credential each login method needs.
CREDENTIAL_OF_METHOD = {
    AuthMethod.CLIENT_SECRET: "client_secret",
    AuthMethod.CERTIFICATE: "certificate_private_key",
    AuthMethod.STATIC_TOKEN: "static_token",
}
_FIELD_LABELS = {
    "cloud": "the cloud",
    "graph_url": "the Graph URL",
    "login_url": "the login URL",
    "client_id": "the application (client) ID",
    "entra_tenant_id": "the Entra tenant ID",
    "client_secret": "client secret",
    "certificate_private_key": "certificate private key",
    "static_token": "static token",
}


def credentials_required_message(*, moved: list[str], credential: str) -> str:
    """Why ``credential`` must be entered again after ``moved`` connection fields changed."""
    changed = _joined([_FIELD_LABELS[name] for name in moved])
    return (
        f"You changed {changed}: the stored credentials are discarded so they are never sent "
        f"to a different endpoint or app. Enter the {_FIELD_LABELS[credential]} for the new "
        "settings in this form."
    )


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _plan_next_scheduled_backup(tenant: Tenant) -> None:
    """Set ``next_scheduled_backup_at`` from the schedule: the next slot from now, or none."""
    tenant.next_scheduled_backup_at = tenant.scheduled_backup_after(timezone.now())


def tenant_create(*, actor: Any, **fields: Any) -> Tenant:
    """Create a tenant. Only superusers create tenants (there is no membership to check yet)."""
    if actor is not None and not getattr(actor, "is_superuser", False):
        raise PermissionError("Only TenantGuard superusers can add tenants.")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown tenant field(s): {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        tenant = Tenant(**fields)
        tenant.full_clean()
        _plan_next_scheduled_backup(tenant)
        tenant.save()
        if actor is not None:
            Membership.objects.get_or_create(
                user=actor, tenant=tenant, defaults={"role": Role.ADMIN}
            )
        audit_event_record(
            actor=actor,
            action="tenant.created",
            subject=tenant,
            tenant=tenant,
            details={"fields": {k: v for k, v in fields.items() if v not in ("", None)}},
        )
    return tenant


def tenant_update(*, actor: Any, tenant: Tenant, **changes: Any) -> Tenant:
    """Change a tenant's settings. A secret field left out of ``changes`` keeps its stored
    value, unless a connection field (``CONNECTION_FIELDS``) changes: then every stored secret
    not given anew is discarded, and the login method's credential must be given in the same
    call (``ValidationError`` naming the field otherwise)."""
    ensure_capability(actor, tenant, Capability.MANAGE_TENANT)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown tenant field(s): {', '.join(sorted(unknown))}.")
    changed = {name: value for name, value in changes.items() if getattr(tenant, name) != value}
    moved = [name for name in CONNECTION_FIELDS if name in changed]
    discarded: list[str] = []
    if moved:
        supplied = {name for name in SECRET_FIELDS if changes.get(name)}
        credential = CREDENTIAL_OF_METHOD.get(changes.get("auth_method", tenant.auth_method))
        if credential and credential not in supplied:
            raise ValidationError(
                {credential: credentials_required_message(moved=moved, credential=credential)}
            )
        # An undecryptable secret reads as "" but is still stored: it goes too, or it would
        # reach the new endpoint once its key is configured again.
        discarded = [
            n
            for n in SECRET_FIELDS
            if n not in supplied and (getattr(tenant, n) or decryption_problem(getattr(tenant, n)))
        ]
        changed.update({name: "" for name in discarded})
    if not changed:
        return tenant
    with transaction.atomic():
        for name, value in changed.items():
            setattr(tenant, name, value)
        tenant.full_clean()
        fields = [*changed, "updated_at"]
        if set(changed) & set(SCHEDULE_FIELDS):
            _plan_next_scheduled_backup(tenant)
            fields.append("next_scheduled_backup_at")
        # Only what changed: a full save would write back a scheduler's claim read before it.
        tenant.save(update_fields=fields)
        audit_event_record(
            actor=actor,
            action="tenant.updated",
            subject=tenant,
            tenant=tenant,
            details={
                "fields": changed,  # redacted by audit_event_record
                "connection_changed": moved,
                "discarded": discarded,  # field names only
            },
        )
    return tenant


def _permission_probes() -> list[tuple[str, str, str, bool]]:
    """(permission, label, path, is a list) - one read probe per distinct collection: a nested
    type is probed through its parent collection, a singleton by a plain GET."""
    probes: dict[str, tuple[str, str, str, bool]] = {}
    for policy_type in registry.POLICY_TYPES.values():
        collection = policy_type.parent.collection if policy_type.parent else policy_type.collection
        path = f"/{policy_type.api_version}/{collection}"
        probe = (
            policy_type.required_permission,
            policy_type.label,
            path,
            not policy_type.singleton,
        )
        probes.setdefault(path, probe)
    probes.setdefault("/v1.0/groups", ("Group.Read.All", "Groups", "/v1.0/groups", True))
    return list(probes.values())


def tenant_test_connection(*, actor: Any, tenant: Tenant) -> dict[str, Any]:
    """Probe each permission TenantGuard needs; store and audit which ones work."""
    ensure_capability(actor, tenant, Capability.VIEW)
    checks: list[dict[str, Any]] = []
    error = ""
    try:
        client = graph_client_for(tenant)
        for permission, label, path, is_list in _permission_probes():
            try:
                client.get(path, params={"$top": "1"} if is_list else None)
                checks.append(
                    {"permission": permission, "resource": label, "ok": True, "message": "Readable"}
                )
            except NotFoundError:
                # A singleton the tenant never set up (no APNs certificate yet) is readable.
                ok = not is_list
                message = "Readable (not set up in this tenant)" if ok else "Not found"
                checks.append(
                    {"permission": permission, "resource": label, "ok": ok, "message": message}
                )
            except GraphError as exc:
                checks.append(
                    {"permission": permission, "resource": label, "ok": False, "message": str(exc)}
                )
    except (TenantConfigurationError, GraphError) as exc:
        error = str(exc)
    if error or not checks:
        status = ConnectionStatus.FAILED
    elif all(check["ok"] for check in checks):
        status = ConnectionStatus.OK
    elif any(check["ok"] for check in checks):
        status = ConnectionStatus.LIMITED
    else:
        status = ConnectionStatus.FAILED
    missing = sorted({c["permission"] for c in checks if not c["ok"]})
    details = {"checks": checks, "missing_permissions": missing, "error": error}
    with transaction.atomic():
        tenant.connection_status = status
        tenant.connection_checked_at = timezone.now()
        tenant.connection_details = details
        tenant.save(
            update_fields=[
                "connection_status",
                "connection_checked_at",
                "connection_details",
                "updated_at",
            ]
        )
        audit_event_record(
            actor=actor,
            action="tenant.connection_tested",
            subject=tenant,
            tenant=tenant,
            details={"status": status, "missing_permissions": missing, "error": error},
        )
    return details
