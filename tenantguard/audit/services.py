"""The one way to write the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, models, transaction
from django.utils import timezone

from tenantguard.audit.chain import GENESIS_HASH, HASHED_FIELDS, event_hash, normalize_details
from tenantguard.audit.context import current_credential, current_request_id
from tenantguard.audit.models import AuditEvent
from tenantguard.audit.redaction import redact

SYSTEM_ACTOR = "system"
_IDS = ("actor_id", "tenant_id")
#: PostgreSQL advisory lock key of the audit chain ("tgaudit" in ASCII).
CHAIN_LOCK_KEY = int.from_bytes(b"tgaudit", "big")


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

    The event becomes the next link of the hash chain. Appending locks the chain until the
    caller's transaction ends (on PostgreSQL concurrent writers queue there; SQLite serializes
    writers itself), so record the event after the transaction's other writes.
    """
    user: Any = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if tenant is None and subject is not None:
        is_tenant = subject._meta.label_lower == "tenants.tenant"
        tenant = subject if is_tenant else getattr(subject, "tenant", None)
    recorded: dict[str, Any] = {
        "actor_id": user.pk if user is not None else None,
        "actor_label": user.get_username() if user is not None else SYSTEM_ACTOR,
        "tenant_id": tenant.pk if tenant is not None else None,
        "tenant_label": str(tenant.display_name) if tenant is not None else "",
        "action": action,
        "subject_type": subject._meta.label_lower if subject is not None else "",
        "subject_id": str(subject.pk) if subject is not None else "",
        "subject_label": (
            subject_label
            if subject_label is not None
            else str(subject)
            if subject is not None
            else ""
        )[:300],
        # Stored exactly as hashed (see chain.normalize_details).
        "details": normalize_details(_with_credential(redact(details or {}))),
        "request_id": current_request_id(),
    }
    # No savepoint: a failed append fails the caller's transaction, as any failed write would.
    with transaction.atomic(savepoint=False):
        sequence, prev_hash = _chain_end_locked()
        recorded["sequence"] = sequence + 1
        recorded["created_at"] = timezone.now()  # taken under the lock: time follows the chain
        event = AuditEvent.objects.create(
            **{name: value for name, value in recorded.items() if name not in _IDS},
            actor=user,
            tenant=tenant,
            prev_hash=prev_hash,
            hash=event_hash(
                prev_hash=prev_hash, fields={name: recorded[name] for name in HASHED_FIELDS}
            ),
        )
    return event


def _chain_end_locked() -> tuple[int, str]:
    """Sequence and hash of the newest event (0 and the genesis hash for none), with the chain
    locked until the transaction ends.

    On PostgreSQL a transaction-level advisory lock queues concurrent writers; once a writer
    holds it, the newest event it reads is committed or its own. It writes nothing, so a
    transaction that records thousands of events stays linear in cost (updating one "head"
    row per event would pile up row versions). SQLite serializes writers itself (TenantGuard's
    write transactions begin IMMEDIATE).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    newest = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    return newest if newest is not None else (0, GENESIS_HASH)


def _with_credential(details: dict[str, Any]) -> dict[str, Any]:
    """Actions taken with an API token say which one (its prefix and name, never the token)."""
    credential = current_credential()
    return {**details, "via": credential} if credential else details
