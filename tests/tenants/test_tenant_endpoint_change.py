"""Pointing a tenant at another endpoint or app discards its stored credentials (issue 7, B7).

A tenant admin who is not a superuser could change the Graph or login URL while the stored client
secret was "kept", then press Test connection: the plaintext secret went to that host. Changing
the cloud, Graph URL, login URL, client ID or Entra tenant ID now discards the stored secret,
certificate and static token, and needs the login method's credential in the same submission.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tenantguard.audit.models import AuditEvent
from tenantguard.tenants.forms import TenantForm
from tenantguard.tenants.models import Tenant
from tenantguard.tenants.services import tenant_update

pytestmark = pytest.mark.django_db

STORED_SECRET = "stored-client-secret-value"
ATTACKER_URL = "https://graph.attacker.example"


@pytest.fixture
def secret_tenant(tenant):
    """``tenant`` (owner is its admin, not a superuser) logging in with a client secret, with a
    certificate key and a static token left over from earlier settings."""
    tenant.cloud = "global"
    tenant.auth_method = "client_secret"
    tenant.client_id = "app-id"
    tenant.client_secret = STORED_SECRET
    tenant.certificate_private_key = "-----BEGIN PRIVATE KEY----- old"
    tenant.static_token = "old-static-token"
    tenant.save()
    return tenant


def _stored(tenant):
    return Tenant.objects.get(pk=tenant.pk)


@pytest.mark.parametrize(
    "change",
    [
        {"cloud": "custom", "graph_url": ATTACKER_URL},
        {"login_url": ATTACKER_URL},
        {"client_id": "another-app"},
        {"entra_tenant_id": "other.example"},
    ],
)
def test_a_moved_endpoint_without_a_new_secret_is_refused(personas, secret_tenant, change):
    with pytest.raises(ValidationError) as refused:
        tenant_update(actor=personas["owner"], tenant=secret_tenant, **change)

    message = refused.value.message_dict["client_secret"][0]
    assert "Enter the client secret" in message and "never sent" in message
    stored = _stored(secret_tenant)
    assert stored.client_secret == STORED_SECRET
    assert all(getattr(stored, name) != value for name, value in change.items())
    assert not AuditEvent.objects.filter(action="tenant.updated").exists()


def test_a_moved_endpoint_with_a_new_secret_discards_every_stored_credential(
    personas, secret_tenant
):
    tenant_update(
        actor=personas["owner"],
        tenant=secret_tenant,
        cloud="custom",
        graph_url="https://graph.contoso.example",
        client_secret="new-secret-value",
    )

    stored = _stored(secret_tenant)
    assert stored.client_secret == "new-secret-value"
    assert stored.certificate_private_key == "" and stored.static_token == ""
    event = AuditEvent.objects.get(action="tenant.updated")
    assert event.details["connection_changed"] == ["cloud", "graph_url"]
    assert event.details["discarded"] == ["certificate_private_key", "static_token"]
    text = str(event.details)
    for value in ("new-secret-value", STORED_SECRET, "old-static-token", "BEGIN PRIVATE KEY"):
        assert value not in text


def test_other_changes_keep_the_stored_secret(personas, secret_tenant):
    tenant_update(actor=personas["owner"], tenant=secret_tenant, environment="prod")

    stored = _stored(secret_tenant)
    assert stored.client_secret == STORED_SECRET
    assert stored.static_token == "old-static-token"


def _form_data(tenant, **changes):
    data = {
        "display_name": tenant.display_name,
        "entra_tenant_id": tenant.entra_tenant_id,
        "environment": tenant.environment,
        "cloud": tenant.cloud,
        "graph_url": tenant.graph_url,
        "login_url": tenant.login_url,
        "auth_method": tenant.auth_method,
        "client_id": tenant.client_id,
        "client_secret": "",
        "certificate_private_key": "",
        "certificate_thumbprint": tenant.certificate_thumbprint,
        "static_token": "",
        "backup_schedule": tenant.backup_schedule,
        "backup_hour_utc": str(tenant.backup_hour_utc),
        "keep_scheduled_backups": str(tenant.keep_scheduled_backups),
    }
    return {**data, **changes}


def test_the_admin_form_asks_for_the_secret_when_the_graph_url_moves(
    client, personas, secret_tenant
):
    form = TenantForm(
        data=_form_data(secret_tenant, cloud="custom", graph_url=ATTACKER_URL),
        instance=_stored(secret_tenant),
    )

    assert not form.is_valid()
    [message] = form.errors["client_secret"]
    assert message.startswith("You changed the cloud and the Graph URL")
    assert "Enter the client secret for the new settings" in message
    assert set(form.errors) == {"client_secret"}

    client.force_login(personas["owner"])
    url = reverse("admin:tenants_tenant_change", args=[secret_tenant.pk])
    response = client.post(
        url,
        _form_data(
            secret_tenant,
            cloud="custom",
            graph_url="https://graph.contoso.example",
            client_secret="typed-again",
        ),
    )

    assert response.status_code == 302, response.content[:2000]
    stored = _stored(secret_tenant)
    assert stored.graph_url == "https://graph.contoso.example"
    assert stored.client_secret == "typed-again" and stored.static_token == ""


def test_the_admin_form_still_keeps_a_blank_secret_when_nothing_moves(
    client, personas, secret_tenant
):
    client.force_login(personas["owner"])
    url = reverse("admin:tenants_tenant_change", args=[secret_tenant.pk])

    response = client.post(url, _form_data(secret_tenant, environment="prod"))

    assert response.status_code == 302, response.content[:2000]
    stored = _stored(secret_tenant)
    assert stored.environment == "prod" and stored.client_secret == STORED_SECRET


def test_a_moved_endpoint_also_discards_a_secret_no_configured_key_decrypts(
    personas, secret_tenant, settings
):
    """A stored secret that reads as undecryptable (its key was rotated out) is still a stored
    secret: once the old key is configured again it would be sent to the new endpoint."""
    from cryptography.fernet import Fernet

    from tenantguard.crypto import UndecryptableText

    old_key = Fernet.generate_key().decode()
    foreign = "enc:v1:" + Fernet(old_key.encode()).encrypt(b"old-static-token").decode()
    Tenant.objects.filter(pk=secret_tenant.pk).update(static_token=UndecryptableText(foreign))

    tenant_update(
        actor=personas["owner"],
        tenant=_stored(secret_tenant),
        cloud="custom",
        graph_url=ATTACKER_URL,
        client_secret="new-secret-value",
    )

    event = AuditEvent.objects.get(action="tenant.updated")
    assert "static_token" in event.details["discarded"]
    settings.TENANTGUARD_ENCRYPTION_KEYS = [*settings.TENANTGUARD_ENCRYPTION_KEYS, old_key]
    assert _stored(secret_tenant).static_token == ""
