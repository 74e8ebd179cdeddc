"""The one way to write the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from tenantguard.audit.context import current_credential, current_request_id
from tenantguard.audit.models import AuditEvent
from tenantguard.audit.redaction import redact

SYSTEM_ACTOR = "system"


def audit_event_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    subject: models.Model | None = None,
    tenant: Any = None,
    details: dict[str, Any] | None = None,
    subject_label: str | None = None,
) -> AuditEvent:
    """Append one audit event. Call it inside the transaction of the change it records.

    ``details`` pass through :func:`redact`, so secret-looking keys never reach the trail.
    """
    user: Any = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if tenant is None and subject is not None:
        is_tenant = subject._meta.label_lower == "tenants.tenant"
        tenant = subject if is_tenant else getattr(subject, "tenant", None)
    return AuditEvent.objects.create(
        actor=user,
        actor_label=user.get_username() if user is not None else SYSTEM_ACTOR,
        tenant=tenant,
        tenant_label=str(tenant.display_name) if tenant is not None else "",
        action=action,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        subject_label=(
            subject_label
            if subject_label is not None
            else str(subject)
            if subject is not None
            else ""
        )[:300],
        details=_with_credential(redact(details or {})),
        request_id=current_request_id(),
    )


def _with_credential(details: dict[str, Any]) -> dict[str, Any]:
    """Actions taken with an API token say which one (its prefix and name, never the token)."""
    credential = current_credential()
    return {**details, "via": credential} if credential else details
