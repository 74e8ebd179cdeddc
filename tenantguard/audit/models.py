from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventImmutableError(Exception):
    """Audit events are append-only: they can never be changed or deleted."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditEventImmutableError("Audit events are append-only and cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditEventImmutableError("Audit events are append-only and cannot be deleted.")


class AuditEvent(models.Model):
    """One thing that happened, who did it, and to what. Written only by ``audit_event_record``.

    Tamper-evident: every event is a link of a hash chain (``sequence``, ``prev_hash``, ``hash``;
    see ``chain.py``) and database triggers refuse UPDATE and DELETE on the table.
    """

    # Set by audit_event_record (not auto_now_add) because the hash covers it.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # actor and tenant keep the id they had when the event happened: deleting the user or the
    # tenant leaves the event as it was (SET_NULL would be an UPDATE, which the trigger refuses),
    # so there is no database constraint and the id may point at a row that no longer exists.
    # The labels are snapshots, so the trail still reads right after a rename or removal.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200)
    tenant = models.ForeignKey(
        "tenants.Tenant",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_events",
    )
    tenant_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.CharField(max_length=100, blank=True, db_index=True)
    subject_label = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # The chain: position, the previous event's hash, and this event's hash.
    sequence = models.BigIntegerField(unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.subject_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AuditEventImmutableError("Audit events are append-only and cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditEventImmutableError("Audit events are append-only and cannot be deleted.")

    @property
    def details_text(self) -> str:
        """``details`` as compact JSON, for pages that list events."""
        return json.dumps(self.details or {}, ensure_ascii=False, sort_keys=True)
