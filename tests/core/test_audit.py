from __future__ import annotations

import pytest

from tenantguard.audit.context import bind_request_id, reset_request_id
from tenantguard.audit.models import AuditEvent, AuditEventImmutableError
from tenantguard.audit.services import audit_event_record


@pytest.fixture
def event(db, tenant, superuser):
    return audit_event_record(
        actor=superuser, action="test.happened", subject=tenant, details={"n": 1}
    )


def test_event_snapshots_actor_tenant_and_request_id(db, tenant, superuser):
    token = bind_request_id("req-123")
    try:
        event = audit_event_record(actor=superuser, action="tenant.updated", subject=tenant)
    finally:
        reset_request_id(token)
    assert (event.actor_label, event.tenant_label, event.request_id) == (
        "root",
        "Contoso Test",
        "req-123",
    )
    assert event.subject_type == "tenants.tenant" and event.subject_id == str(tenant.pk)


def test_audit_events_cannot_be_updated(event):
    event.action = "tampered"
    with pytest.raises(AuditEventImmutableError):
        event.save()
    with pytest.raises(AuditEventImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    assert AuditEvent.objects.get(pk=event.pk).action == "test.happened"


def test_audit_events_cannot_be_deleted(event):
    with pytest.raises(AuditEventImmutableError):
        event.delete()
    with pytest.raises(AuditEventImmutableError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_secret_looking_details_are_redacted(db, tenant):
    event = audit_event_record(
        actor=None,
        action="x",
        tenant=tenant,
        details={"client_secret": "abc", "nested": [{"accessToken": "tok", "ok": 1}], "name": "n"},
    )
    assert event.details == {
        "client_secret": "[redacted]",
        "nested": [{"accessToken": "[redacted]", "ok": 1}],
        "name": "n",
    }
    assert event.actor_label == "system"
