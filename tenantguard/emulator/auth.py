"""Entra ID endpoints the clients need: client-credentials token and OpenID discovery.

An app with registered credentials (certificates, or seeded as an ``application``) is checked
like Entra ID: the secret must be one of its secrets, a ``client_assertion`` must be a JWT
signed by one of its certificates with the right ``iss``/``sub``/``aud``/``exp``/``nbf``/``jti``
(see ``credentials.py``). An app added with only a secret keeps the emulator's old, lenient
behaviour: its secret is checked, but a ``client_assertion`` is accepted when its ``client_id``
(form field, or ``iss``/``sub`` in the unverified payload) names the app, without a signature
check.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenantguard.emulator.credentials import AssertionRejected, verify_client_assertion

if TYPE_CHECKING:
    from tenantguard.emulator.tenant import ClientApp, Tenant

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MULTI_TENANT_AUTHORITIES = frozenset({"common", "organizations", "consumers"})
TOKEN_LIFETIME = 3599


def aad_error(
    status: int,
    error: str,
    code: int,
    description: str,
    *,
    base_url: str,
    now: float | None = None,
) -> tuple[int, dict[str, Any]]:
    trace_id = str(uuid.uuid4())
    moment = datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)
    timestamp = moment.strftime("%Y-%m-%d %H:%M:%SZ")
    return status, {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {trace_id}\r\nTimestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": trace_id,
        "error_uri": f"{base_url}/error?code={code}",
    }


def _assertion_subject(assertion: str) -> str | None:
    try:
        payload = assertion.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    subject = data.get("sub") or data.get("iss") if isinstance(data, dict) else None
    return str(subject) if subject else None


def unknown_tenant(tenant_id: str, *, base_url: str) -> tuple[int, dict[str, Any]]:
    return aad_error(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant_id}' not found. Check to make sure you have the correct tenant ID.",
        base_url=base_url,
    )


def issue_token(
    tenant: Tenant | None,
    tenant_id: str,
    form: dict[str, str],
    *,
    base_url: str,
    now: float | None = None,
) -> tuple[int, dict[str, Any]]:
    if tenant is None:
        return unknown_tenant(tenant_id, base_url=base_url)
    grant = form.get("grant_type")
    if grant != "client_credentials":
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'.",
            base_url=base_url,
        )
    assertion = form.get("client_assertion")
    client_id = form.get("client_id") or (_assertion_subject(assertion) if assertion else None)
    client = tenant.clients.get(client_id or "")
    if client is None:
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant_id}'.",
            base_url=base_url,
        )
    if client.credentials_registered:
        return _check_registered_credentials(
            client, tenant_id, form, base_url=base_url, now=time.time() if now is None else now
        )
    if assertion:
        subject = _assertion_subject(assertion)
        if form.get("client_assertion_type") != ASSERTION_TYPE or subject not in (
            None,
            client.client_id,
        ):
            return aad_error(
                401,
                "invalid_client",
                700027,
                "Client assertion failed signature validation.",
                base_url=base_url,
            )
    elif client.client_secret is None or form.get("client_secret") != client.client_secret:
        return _invalid_secret(client, base_url=base_url, now=now)
    return _token_answer(client)


def _token_answer(client: ClientApp) -> tuple[int, dict[str, Any]]:
    return 200, {
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "ext_expires_in": TOKEN_LIFETIME,
        "access_token": client.token,
    }


def _invalid_secret(client: ClientApp, *, base_url: str, now: float | None) -> tuple[int, Any]:
    return aad_error(
        401,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        f"client secret value, not the client secret ID, for a secret added to app "
        f"'{client.client_id}'.",
        base_url=base_url,
        now=now,
    )


def _check_registered_credentials(
    client: ClientApp, tenant_id: str, form: dict[str, str], *, base_url: str, now: float
) -> tuple[int, dict[str, Any]]:
    """Entra ID's checks for an app with registered credentials."""
    assertion = form.get("client_assertion")
    if assertion:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return aad_error(
                401,
                "invalid_client",
                700027,
                "Client assertion failed signature validation. [Reason - The "
                f"client_assertion_type is not '{ASSERTION_TYPE}'.]",
                base_url=base_url,
                now=now,
            )
        try:
            verify_client_assertion(
                assertion,
                client_id=client.client_id,
                certificates=client.certificates,
                token_endpoint=f"{base_url}/{tenant_id}/oauth2/v2.0/token",
                now=now,
            )
        except AssertionRejected as rejected:
            return aad_error(
                401,
                "invalid_client",
                rejected.code,
                rejected.description,
                base_url=base_url,
                now=now,
            )
        return _token_answer(client)
    secret = form.get("client_secret")
    if not secret:
        return aad_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
            base_url=base_url,
            now=now,
        )
    if not any(hmac.compare_digest(secret.encode(), known.encode()) for known in client.secrets):
        return _invalid_secret(client, base_url=base_url, now=now)
    return _token_answer(client)


def openid_configuration(base_url: str, tenant_id: str) -> dict[str, Any]:
    authority = f"{base_url}/{tenant_id}"
    return {
        "token_endpoint": f"{authority}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{authority}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{authority}/v2.0",
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{authority}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{authority}/oauth2/v2.0/logout",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "emulator",
    }


def instance_discovery(base_url: str, authorization_endpoint: str | None) -> dict[str, Any]:
    """MSAL's instance discovery: point it at this host's OpenID configuration."""
    tenant = "common"
    if authorization_endpoint:
        path = authorization_endpoint.split("://", 1)[-1].split("/")
        if len(path) > 1 and path[1]:
            tenant = path[1]
    host = base_url.split("://", 1)[-1]
    return {
        "tenant_discovery_endpoint": f"{base_url}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }
