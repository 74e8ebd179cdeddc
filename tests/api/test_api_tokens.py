"""Personal API tokens: a script calls the API as its user (roles and policy unchanged), without a
session or CSRF token; revoked, expired or unknown tokens get 401; only a hash is stored; the token
is in no audit event and no log line; creating and revoking are audited."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenantguard.accounts.models import ApiToken
from tenantguard.accounts.tokens import (
    ApiTokenError,
    api_token_create,
    api_token_revoke,
    api_token_user,
)
from tenantguard.audit.models import AuditEvent
from tenantguard.cli import main

pytestmark = pytest.mark.django_db


def bearer(token: str) -> Client:
    """A client with no session, like a pipeline: only the Authorization header."""
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_token_reads_and_writes_as_its_user_without_session_or_csrf(personas, tenant, baseline):
    issued = api_token_create(actor=personas["operator"], name="pipeline")
    client = bearer(issued.plaintext)

    tenants = client.get("/api/tenants")
    assert tenants.status_code == 200
    assert {t["display_name"] for t in tenants.json()} == {"Contoso Test", "Contoso"}

    created = client.post(
        "/api/restore-runs",
        data=json.dumps({"tenant_id": tenant.pk, "backup_set_id": baseline.pk}),
        content_type="application/json",
    )
    assert created.status_code in (200, 201), created.content
    event = AuditEvent.objects.get(action="restore.created")
    assert event.actor_label == "operator"
    assert event.details["via"] == f"API token {issued.record.prefix} 'pipeline'"
    assert issued.plaintext not in str(event.details)

    # The next request in this thread, with the session, is not marked as the token's.
    session = Client()
    session.force_login(personas["operator"])
    session.post(
        "/api/restore-runs",
        data=json.dumps({"tenant_id": tenant.pk, "backup_set_id": baseline.pk}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN="unused",  # test clients skip CSRF checks unless asked to enforce them
    )
    second = AuditEvent.objects.filter(action="restore.created").order_by("-pk").first()
    assert second.pk != event.pk and "via" not in second.details


def test_a_token_cannot_do_more_than_its_user(personas, tenant, baseline):
    issued = api_token_create(actor=personas["viewer"], name="read only")
    refused = bearer(issued.plaintext).post(
        "/api/restore-runs",
        data=json.dumps({"tenant_id": tenant.pk, "backup_set_id": baseline.pk}),
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert refused.json()["reasons"]


@pytest.mark.parametrize("problem", ["revoked", "expired", "unknown", "inactive user", "no prefix"])
def test_unusable_tokens_get_401(problem, personas, tenant):
    issued = api_token_create(actor=personas["operator"], name="pipeline")
    token = issued.plaintext
    if problem == "revoked":
        api_token_revoke(actor=personas["operator"], token=issued.record)
    elif problem == "expired":
        ApiToken.objects.filter(pk=issued.record.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    elif problem == "unknown":
        token = token[:-4] + "AAAA"
    elif problem == "inactive user":
        personas["operator"].is_active = False
        personas["operator"].save()
    else:
        token = token.removeprefix("tg_")

    response = bearer(token).get("/api/tenants")

    assert response.status_code == 401


def test_without_a_token_the_session_still_needs_csrf(personas, tenant, baseline):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["operator"])
    response = client.post(
        "/api/restore-runs",
        data=json.dumps({"tenant_id": tenant.pk, "backup_set_id": baseline.pk}),
        content_type="application/json",
    )
    assert response.status_code in (401, 403)


def test_only_a_hash_is_stored_and_the_token_is_in_no_audit_event_or_log(personas, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    issued = api_token_create(actor=personas["operator"], name="pipeline")
    bearer(issued.plaintext).get("/api/tenants")
    api_token_revoke(actor=personas["operator"], token=issued.record)

    stored = ApiToken.objects.values().get(pk=issued.record.pk)
    assert issued.plaintext not in json.dumps(stored, default=str)
    assert stored["token_hash"] != issued.plaintext and len(stored["token_hash"]) == 64
    trail = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert issued.plaintext not in trail
    assert [e.action for e in AuditEvent.objects.order_by("pk")] == [
        "api_token.created",
        "api_token.revoked",
    ]
    assert issued.plaintext not in caplog.text


def test_last_used_is_recorded(personas):
    issued = api_token_create(actor=personas["operator"], name="pipeline")
    assert issued.record.last_used_at is None
    assert api_token_user(issued.plaintext) == personas["operator"]
    issued.record.refresh_from_db()
    assert issued.record.last_used_at is not None


def test_creating_tokens_is_limited_and_explained(personas, superuser):
    with pytest.raises(PermissionError):
        api_token_create(actor=personas["operator"], name="x", user=personas["viewer"])
    with pytest.raises(ApiTokenError, match="name"):
        api_token_create(actor=personas["operator"], name="  ")
    with pytest.raises(ApiTokenError, match="1 to 366 days"):
        api_token_create(actor=personas["operator"], name="x", days=0)
    issued = api_token_create(actor=superuser, name="for viewer", user=personas["viewer"])
    assert issued.record.user == personas["viewer"]
    with pytest.raises(PermissionError):
        api_token_revoke(actor=personas["operator"], token=issued.record)


def test_the_admin_shows_the_token_once_and_lists_only_your_tokens(client, personas):
    other = api_token_create(actor=personas["viewer"], name="viewer's token")
    client.force_login(personas["operator"])

    page = client.post(
        reverse("admin:accounts_apitoken_add"), {"name": "nightly pipeline", "days": "30"}
    )

    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    token = ApiToken.objects.get(name="nightly pipeline")
    assert "shown only once" in html
    plaintext = html.split('id="token-value"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    assert plaintext.startswith(token.prefix)
    assert api_token_user(plaintext) == personas["operator"]
    listing = client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert "nightly pipeline" in listing and other.record.name not in listing
    assert plaintext not in listing


def test_the_admin_revokes_selected_tokens(client, personas):
    issued = api_token_create(actor=personas["operator"], name="pipeline")
    client.force_login(personas["operator"])
    client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [issued.record.pk]},
    )
    assert api_token_user(issued.plaintext) is None
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


def test_the_cli_prints_the_token_alone_on_stdout_then_revokes_it(personas, monkeypatch, capsys):
    monkeypatch.setenv("TENANTGUARD_CLI_USER", "operator")
    assert main(["token", "create", "--name", "ci", "--days", "7"]) == 0
    out, err = capsys.readouterr()
    plaintext = out.strip()
    assert plaintext.startswith("tg_") and "printed once" in err
    assert api_token_user(plaintext) == personas["operator"]

    assert main(["token", "list"]) == 0
    assert plaintext not in capsys.readouterr().out

    token = ApiToken.objects.get(name="ci")
    assert main(["token", "revoke", str(token.pk)]) == 0
    assert api_token_user(plaintext) is None
