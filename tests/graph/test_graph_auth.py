"""Token providers: MSAL really works offline against a fake login authority.

The fake authority serves the OpenID configuration and the token endpoint through
``httpx.MockTransport``; nothing leaves the process.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tenantguard.graph import (
    CLOUDS,
    AuthenticationError,
    GraphClient,
    MsalCertificateTokenProvider,
    MsalSecretTokenProvider,
    StaticTokenProvider,
)
from tenantguard.graph.testing import FakeClock, graph_error_response

TENANT = "contoso-test"
CLIENT_ID = "tenantguard-app"
SECRET = "s3cret-Zq8~never-shown"
ISSUED_TOKEN = "eyJ0eXAi.issued-access-token.sig"


class FakeAuthority:
    """OpenID configuration + client-credentials token endpoint for one tenant."""

    def __init__(self, base_url: str, *, certificate: x509.Certificate | None = None) -> None:
        self.base_url = base_url
        self.certificate = certificate
        self.token_requests: list[dict[str, list[str]]] = []
        self.discovery_requests = 0
        self.token_status = 200
        self.token_answer: dict[str, object] = {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": ISSUED_TOKEN,
        }

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url == f"{self.base_url}/{TENANT}/v2.0/.well-known/openid-configuration":
            self.discovery_requests += 1
            return httpx.Response(
                200,
                json={
                    "issuer": f"{self.base_url}/{TENANT}/v2.0",
                    "authorization_endpoint": f"{self.base_url}/{TENANT}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{self.base_url}/{TENANT}/oauth2/v2.0/token",
                },
            )
        if url == f"{self.base_url}/{TENANT}/oauth2/v2.0/token" and request.method == "POST":
            form = parse_qs(request.content.decode())
            self.token_requests.append(form)
            self._check_credential(request, form)
            return httpx.Response(self.token_status, json=self.token_answer)
        return httpx.Response(404, json={"error": "not_found", "error_description": url})

    def _check_credential(self, request: httpx.Request, form: dict[str, list[str]]) -> None:
        assert form["grant_type"] == ["client_credentials"]
        assert form["client_id"] == [CLIENT_ID]
        if self.certificate is None:
            basic = request.headers.get("Authorization", "")
            sent = form.get("client_secret", [None])[0]
            if sent is None and basic.startswith("Basic "):
                sent = base64.b64decode(basic[6:]).decode().split(":", 1)[1]
            assert sent == SECRET
            return
        assertion = form["client_assertion"][0]
        claims = jwt.decode(
            assertion,
            self.certificate.public_key(),
            algorithms=["RS256", "PS256"],
            audience=f"{self.base_url}/{TENANT}/oauth2/v2.0/token",
        )
        assert claims["iss"] == claims["sub"] == CLIENT_ID
        sha1 = self.certificate.fingerprint(hashes.SHA1())
        expected_x5t = base64.urlsafe_b64encode(sha1).decode().rstrip("=")
        assert jwt.get_unverified_header(assertion)["x5t"].rstrip("=") == expected_x5t


def make_certificate() -> tuple[str, x509.Certificate, str]:
    """A throwaway RSA key and self-signed certificate: (private key PEM, cert, SHA-1 thumbprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tenantguard-test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    thumbprint = certificate.fingerprint(hashes.SHA1()).hex().upper()
    return pem, certificate, thumbprint


def secret_provider(authority: FakeAuthority, **overrides: object) -> MsalSecretTokenProvider:
    options: dict[str, object] = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "login_url": authority.base_url,
        "graph_url": "https://graph.example.test",
        "http_client": httpx.Client(transport=httpx.MockTransport(authority.handler)),
    }
    options.update(overrides)
    return MsalSecretTokenProvider(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "login_url",
    ["https://login.example.test", CLOUDS["global"].login_url, "http://127.0.0.1:8765"],
    ids=["custom-authority", "microsoft-authority", "plain-http-emulator"],
)
def test_secret_provider_gets_a_token_offline(login_url):
    authority = FakeAuthority(login_url)
    provider = secret_provider(authority)

    assert provider.get_token() == ISSUED_TOKEN
    (form,) = authority.token_requests
    assert form["scope"] == ["https://graph.example.test/.default"]


def test_certificate_provider_signs_a_client_assertion_offline():
    pem, certificate, thumbprint = make_certificate()
    authority = FakeAuthority("https://login.example.test", certificate=certificate)
    provider = MsalCertificateTokenProvider(
        tenant_id=TENANT,
        client_id=CLIENT_ID,
        private_key_pem=pem,
        thumbprint=thumbprint,
        login_url=authority.base_url,
        graph_url="https://graph.example.test",
        http_client=httpx.Client(transport=httpx.MockTransport(authority.handler)),
    )

    assert provider.get_token() == ISSUED_TOKEN
    (form,) = authority.token_requests
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    assert "client_secret" not in form
    assert pem not in repr(provider)


def test_the_app_is_built_lazily_and_tokens_are_cached_until_invalidated():
    authority = FakeAuthority("https://login.example.test")
    provider = secret_provider(authority)
    assert authority.discovery_requests == 0  # constructing a provider touches no network

    provider.get_token()
    provider.get_token()
    assert len(authority.token_requests) == 1

    provider.invalidate()
    provider.get_token()
    assert len(authority.token_requests) == 2
    assert authority.discovery_requests == 1


def test_rejected_secret_is_an_actionable_authentication_error_without_the_secret():
    authority = FakeAuthority("https://login.example.test")
    authority.token_status = 401
    authority.token_answer = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.",
    }
    provider = secret_provider(authority)

    with pytest.raises(AuthenticationError) as caught:
        provider.get_token()

    text = str(caught.value)
    assert TENANT in text and CLIENT_ID in text
    assert "AADSTS7000215" in text
    assert "tenant id" in text and "client id" in text and "client secret" in text
    assert SECRET not in text
    assert SECRET not in repr(provider)


def test_unknown_tenant_is_an_authentication_error():
    authority = FakeAuthority("https://login.example.test")
    provider = secret_provider(authority, tenant_id="no-such-tenant")

    with pytest.raises(AuthenticationError) as caught:
        provider.get_token()

    assert "no-such-tenant" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_unreachable_authority_is_an_authentication_error():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    provider = secret_provider(
        FakeAuthority("https://login.example.test"),
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(AuthenticationError, match="login authority was unreachable"):
        provider.get_token()


def test_static_token_provider_hides_its_token():
    provider = StaticTokenProvider("static-secret-token")
    assert provider.get_token() == "static-secret-token"
    assert "static-secret-token" not in repr(provider)
    with pytest.raises(ValueError):
        StaticTokenProvider("")


def test_tokens_and_secrets_never_reach_the_logs(caplog):
    """Auth, requests, a 401 refresh, a throttle and an error, all logged at DEBUG."""
    authority = FakeAuthority("https://login.example.test")
    provider = secret_provider(authority)
    answers = [
        graph_error_response(401, "InvalidAuthenticationToken", "expired"),
        httpx.Response(200, json={"id": "a", "secretish": ISSUED_TOKEN}),
        graph_error_response(429, "TooManyRequests", "slow", headers={"Retry-After": "1"}),
        httpx.Response(204),
        graph_error_response(403, "Forbidden", "Application is not authorized"),
    ]

    def graph(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    client = GraphClient(
        graph_url="https://graph.example.test",
        token_provider=provider,
        transport=httpx.MockTransport(graph),
        clock=FakeClock(),
    )
    with caplog.at_level(logging.DEBUG):
        client.get("deviceManagement/deviceConfigurations/a")
        client.patch("deviceManagement/deviceConfigurations/a", json={"password": SECRET})
        with pytest.raises(Exception) as caught:
            client.get("deviceAppManagement/managedAppPolicies")

    assert caplog.records, "the client logs its requests"
    assert any(r.name == "tenantguard.graph" for r in caplog.records)
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    assert ISSUED_TOKEN not in logged
    assert SECRET not in logged
    assert f"Bearer {ISSUED_TOKEN}" not in logged
    assert "Authorization" not in logged
    assert ISSUED_TOKEN not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_request_log_lines_carry_method_path_status_and_ids(make_client, caplog):
    client = make_client(
        lambda request: httpx.Response(200, json={}, headers={"request-id": "rid-42"})
    )
    with caplog.at_level(logging.DEBUG, logger="tenantguard.graph"):
        client.get("deviceManagement/deviceConfigurations", params={"$filter": "x"})
    (record,) = [r for r in caplog.records if r.name == "tenantguard.graph"]
    message = record.getMessage()
    assert "GET /beta/deviceManagement/deviceConfigurations -> 200" in message
    assert "rid-42" in message
    assert "client-request-id=" in message
    assert "$filter" not in message


def test_json_dump_of_error_has_no_secret():
    # an AuthenticationError carries only public fields
    error = AuthenticationError("x", url="https://login.example.test")
    assert json.dumps({"status": error.status, "url": error.url})


def test_unreadable_private_key_is_an_authentication_error_without_the_key():
    bad_pem = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    authority = FakeAuthority("https://login.example.test")
    provider = MsalCertificateTokenProvider(
        tenant_id=TENANT,
        client_id=CLIENT_ID,
        private_key_pem=bad_pem,
        thumbprint="AB:CD:EF",
        login_url=authority.base_url,
        graph_url="https://graph.example.test",
        http_client=httpx.Client(transport=httpx.MockTransport(authority.handler)),
    )
    with pytest.raises(AuthenticationError) as caught:
        provider.get_token()
    assert "certificate" in str(caught.value)
    assert "bm90IGEga2V5" not in str(caught.value)
