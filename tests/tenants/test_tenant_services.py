from __future__ import annotations

import pytest

from tenantguard.accounts.permissions import AccessDenied
from tenantguard.audit.models import AuditEvent
from tenantguard.tenants.models import Tenant
from tenantguard.tenants.services import tenant_create, tenant_update


def test_superuser_creates_tenant_and_becomes_its_admin(superuser):
    tenant = tenant_create(
        actor=superuser,
        display_name="Fabrikam",
        entra_tenant_id="fabrikam.example",
        environment="prod",
        client_id="app-id",
        client_secret="the-client-secret",
    )
    assert tenant.memberships.get().role == "admin"
    event = AuditEvent.objects.get(action="tenant.created")
    assert event.details["fields"]["client_secret"] == "[redacted]"
    assert "the-client-secret" not in str(event.details)


def test_non_superuser_cannot_create_tenants(personas):
    with pytest.raises(PermissionError):
        tenant_create(actor=personas["owner"], display_name="X", entra_tenant_id="x")
    assert not Tenant.objects.filter(display_name="X").exists()


def test_update_is_audited_and_secrets_are_named_not_shown(personas, tenant):
    tenant_update(
        actor=personas["owner"], tenant=tenant, environment="prod", static_token="new-token-value"
    )
    event = AuditEvent.objects.get(action="tenant.updated")
    assert event.details["fields"] == {"environment": "prod", "static_token": "[redacted]"}
    assert event.actor_label == "owner"


@pytest.mark.parametrize("persona", ["operator", "viewer", "outsider"])
def test_only_tenant_admins_update(personas, tenant, persona):
    with pytest.raises(AccessDenied):
        tenant_update(actor=personas[persona], tenant=tenant, environment="prod")
    tenant.refresh_from_db()
    assert tenant.environment == "test"
    assert not AuditEvent.objects.filter(action="tenant.updated").exists()
