"""Entra ID endpoints: client-credentials token, OpenID configuration, instance discovery."""

from __future__ import annotations

import base64
import json

import httpx
import msal
import pytest

from tenantguard.emulator import GraphEmulator, Tenant
from tenantguard.emulator.testing import emulator_client

LOGIN = "https://login.emulator.test"
TOKEN_URL = "/contoso-test/oauth2/v2.0/token"


def _form(**overrides: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": "tenantguard-app",
        "client_secret": "s3cret",
        "scope": "https://graph.microsoft.com/.default",
        **overrides,
    }


@pytest.fixture
def login(emu: GraphEmulator, tenant: Tenant) -> httpx.Client:
    return emulator_client(emu, None, base_url=LOGIN)


def test_client_credentials_token(login: httpx.Client, emu: GraphEmulator) -> None:
    """Entra ID: POST /{tenant}/oauth2/v2.0/token with client_credentials answers
    {token_type: Bearer, expires_in: 3599, access_token}; the token then works on Graph."""
    response = login.post(TOKEN_URL, data=_form())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    with emulator_client(emu, body["access_token"]) as graph:
        assert graph.get("/v1.0/groups").status_code == 200


def test_wrong_secret_is_401_invalid_client(login: httpx.Client) -> None:
    """Entra ID: a wrong client secret is 401 invalid_client with an AADSTS code."""
    response = login.post(TOKEN_URL, data=_form(client_secret="wrong"))
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215")
    assert body["error_codes"] == [7000215]
    assert "wrong" not in response.text and "s3cret" not in response.text


def test_unknown_client_and_tenant_and_grant(login: httpx.Client) -> None:
    """Entra ID: unknown app -> 400 unauthorized_client; unknown tenant -> 400
    invalid_tenant (AADSTS90002); other grants -> 400 unsupported_grant_type."""
    assert login.post(TOKEN_URL, data=_form(client_id="x")).json()["error"] == "unauthorized_client"
    other = login.post("/nope/oauth2/v2.0/token", data=_form())
    assert (other.status_code, other.json()["error_codes"]) == (400, [90002])
    grant = login.post(TOKEN_URL, data=_form(grant_type="password"))
    assert grant.json()["error"] == "unsupported_grant_type"


def _jwt(payload: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl"


def test_client_assertion_is_accepted_for_the_registered_app(login: httpx.Client) -> None:
    """Entra ID: certificate credentials send a client_assertion JWT. For an app without
    registered credentials the emulator accepts it when it names the app (signatures are not
    verified, see README; apps with certificates: test_emulator_certificates.py)."""
    form = _form(
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion=_jwt({"iss": "tenantguard-app", "sub": "tenantguard-app"}),
    )
    del form["client_secret"]
    assert login.post(TOKEN_URL, data=form).status_code == 200
    form["client_assertion"] = _jwt({"iss": "someone-else", "sub": "someone-else"})
    assert login.post(TOKEN_URL, data=form).status_code == 401


def test_openid_configuration_is_built_from_the_host(login: httpx.Client) -> None:
    """Entra ID: /{tenant}/v2.0/.well-known/openid-configuration names token_endpoint,
    authorization_endpoint and issuer on the same host."""
    body = login.get("/contoso-test/v2.0/.well-known/openid-configuration").json()
    assert body["token_endpoint"] == f"{LOGIN}/contoso-test/oauth2/v2.0/token"
    assert body["authorization_endpoint"] == f"{LOGIN}/contoso-test/oauth2/v2.0/authorize"
    assert body["issuer"] == f"{LOGIN}/contoso-test/v2.0"


def test_openid_configuration_of_an_unknown_tenant_is_400(login: httpx.Client) -> None:
    """Entra ID: discovery for a tenant that does not exist is 400 AADSTS90002 (MSAL then
    fails with a clear error); common/organizations still answer."""
    response = login.get("/nope/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]
    assert login.get("/organizations/v2.0/.well-known/openid-configuration").status_code == 200


@pytest.mark.parametrize("instance_discovery", [True, False])
def test_msal_acquires_a_token(
    emu: GraphEmulator, tenant: Tenant, instance_discovery: bool
) -> None:
    """MSAL Python (ConfidentialClientApplication.acquire_token_for_client) gets a token from
    the emulator, with or without instance discovery (/common/discovery/instance)."""
    with emulator_client(emu, None, base_url=LOGIN) as http_client:
        app = msal.ConfidentialClientApplication(
            "tenantguard-app",
            client_credential="s3cret",
            authority=f"{LOGIN}/contoso-test",
            http_client=http_client,
            instance_discovery=instance_discovery,
        )
        result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert result.get("access_token") == "static-token-1", result
