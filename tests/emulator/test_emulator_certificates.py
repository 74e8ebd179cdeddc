"""Entra ID certificate credentials: the token endpoint verifies client assertions.

Certificates and keys are generated here at test time (nothing committed). MSAL talks to the
emulator in process through ``emu.transport()`` (as in test_emulator_auth.py) and, for
TenantGuard's own provider, also over loopback HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tenantguard.emulator import GraphEmulator, SeedError
from tenantguard.emulator.server import serve_app
from tenantguard.emulator.testing import FakeClock, emulator_client
from tenantguard.graph import AuthenticationError, GraphClient, MsalCertificateTokenProvider

LOGIN = "https://login.emulator.test"
TENANT = "contoso-test"
APP = "tenantguard-app"
TOKEN = "static-token-1"
TOKEN_URL = f"/{TENANT}/oauth2/v2.0/token"
AUDIENCE = f"{LOGIN}{TOKEN_URL}"
SCOPES = ["https://graph.microsoft.com/.default"]
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ERROR_KEYS = {
    "error",
    "error_description",
    "error_codes",
    "timestamp",
    "trace_id",
    "correlation_id",
    "error_uri",
}


@dataclass
class Cert:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def private_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def cert_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def sha1_hex(self) -> str:
        return hashlib.sha1(self.der).hexdigest().upper()

    @property
    def public_key_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def make_cert(name: str = "tenantguard-test") -> Cert:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return Cert(key, certificate)


@pytest.fixture(scope="module")
def registered() -> Cert:
    return make_cert("registered")


@pytest.fixture(scope="module")
def stranger() -> Cert:
    return make_cert("never-registered")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(
    cert: Cert,
    claims: dict[str, Any] | None = None,
    *,
    alg: str = "RS256",
    header: dict[str, Any] | None = None,
    signer: Cert | None = None,
    drop: tuple[str, ...] = (),
) -> str:
    """A client assertion naming ``cert`` (x5t) and signed by ``signer`` (default: ``cert``)."""
    now = time.time()
    body: dict[str, Any] = {
        "aud": AUDIENCE,
        "iss": APP,
        "sub": APP,
        "jti": str(uuid.uuid4()),
        "nbf": int(now) - 5,
        "iat": int(now) - 5,
        "exp": int(now) + 600,
    }
    body.update(claims or {})
    for name in drop:
        body.pop(name, None)
    head = {"alg": alg, "typ": "JWT", "x5t": _b64(hashlib.sha1(cert.der).digest())}
    head.update(header or {})
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(body).encode())}"
    hash_type = hashes.SHA256()
    scheme: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(hash_type), salt_length=padding.PSS.DIGEST_LENGTH)
        if alg.startswith("PS")
        else padding.PKCS1v15()
    )
    signature = (signer or cert).key.sign(signing_input.encode(), scheme, hash_type)
    return f"{signing_input}.{_b64(signature)}"


def assertion_form(assertion: str, **overrides: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": APP,
        "scope": SCOPES[0],
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        **overrides,
    }


def entra_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """Check Entra's error shape and code, return the body."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == ERROR_KEYS, body
    assert body["error_codes"] == [code], body
    assert body["error_description"].startswith(f"AADSTS{code}: "), body
    assert body["trace_id"] in body["error_description"]
    assert body["error_uri"].endswith(f"/error?code={code}")
    return body


@pytest.fixture
def cert_emu(emu: GraphEmulator, registered: Cert) -> GraphEmulator:
    """A tenant whose app has a registered certificate and no secret."""
    emu.add_tenant(
        tenant_id=TENANT, token=TOKEN, client_secret=None, certificates=[registered.cert_pem]
    )
    return emu


@pytest.fixture
def login(cert_emu: GraphEmulator) -> Iterator[httpx.Client]:
    with emulator_client(cert_emu, None, base_url=LOGIN) as client:
        yield client


class MsalHttp:
    """MSAL's ``http_client`` over httpx: MSAL hands the signed assertion as bytes in the
    form, which httpx would send as "b'...'" (requests, MSAL's default, decodes them)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        return self.client.get(url, params=params, headers=headers)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> httpx.Response:
        form = {k: v.decode() if isinstance(v, bytes) else v for k, v in (data or {}).items()}
        return self.client.post(url, params=params, data=form, headers=headers)

    def close(self) -> None:
        self.client.close()


def msal_app(
    emu: GraphEmulator, credential: dict[str, str] | str
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        APP,
        client_credential=credential,
        authority=f"{LOGIN}/{TENANT}",
        http_client=MsalHttp(emulator_client(emu, None, base_url=LOGIN)),
        instance_discovery=False,
    )


# --- MSAL against the emulator --------------------------------------------------------------


@pytest.mark.parametrize(
    "form", ["thumbprint", "public_certificate"], ids=["RS256-x5t", "PS256-x5t#S256"]
)
def test_msal_gets_a_token_with_the_registered_certificate(
    cert_emu: GraphEmulator, registered: Cert, form: str
) -> None:
    """Entra ID: MSAL's certificate credential (private key + SHA-1 thumbprint: RS256 with
    x5t; private key + public certificate: PS256 with x5t#S256) gets the app's token, which
    then works on Graph."""
    credential = {"private_key": registered.private_pem}
    if form == "thumbprint":
        credential["thumbprint"] = registered.sha1_hex
    else:
        credential["public_certificate"] = registered.cert_pem
    result = msal_app(cert_emu, credential).acquire_token_for_client(scopes=SCOPES)
    assert result.get("access_token") == TOKEN, result
    with emulator_client(cert_emu, result["access_token"]) as graph:
        assert graph.get("/v1.0/groups").status_code == 200


def test_msal_with_an_unregistered_certificate_is_refused_700027(
    cert_emu: GraphEmulator, stranger: Cert
) -> None:
    """Entra ID: a certificate that is not registered on the app is refused with
    invalid_client AADSTS700027 ("The key was not found"); MSAL reports it."""
    credential = {"private_key": stranger.private_pem, "thumbprint": stranger.sha1_hex}
    result = msal_app(cert_emu, credential).acquire_token_for_client(scopes=SCOPES)
    assert "access_token" not in result
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]
    assert "The key was not found" in result["error_description"]
    assert stranger.sha1_hex in result["error_description"]


def test_assertion_naming_the_registered_certificate_but_signed_by_another_key_is_700027(
    login: httpx.Client, registered: Cert, stranger: Cert
) -> None:
    """Entra ID: the signature is verified with the registered key: an assertion that carries
    the registered thumbprint but was signed by another key is refused (AADSTS700027)."""
    forged = sign(registered, signer=stranger)
    body = entra_error(login.post(TOKEN_URL, data=assertion_form(forged)), 401, 700027)
    assert "verify the signature failed" in body["error_description"]
    assert "access_token" not in body
    # The same assertion signed by the registered key passes: only the signature differs.
    assert login.post(TOKEN_URL, data=assertion_form(sign(registered))).status_code == 200


def test_tampered_claims_break_the_signature(login: httpx.Client, registered: Cert) -> None:
    """Entra ID: changing the payload after signing (here: the subject) invalidates it."""
    header, _payload, signature = sign(registered).split(".")
    other = sign(registered, {"jti": "tampered"}).split(".")[1]
    tampered = f"{header}.{other}.{signature}"
    entra_error(login.post(TOKEN_URL, data=assertion_form(tampered)), 401, 700027)


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256-unsigned"])
def test_unsigned_or_symmetric_assertions_are_refused(
    login: httpx.Client, registered: Cert, alg: str
) -> None:
    """Entra ID: only RSA signatures by the registered certificate count; alg none, HMAC,
    or an empty signature are refused (AADSTS700027)."""
    assertion = sign(registered, header={"alg": alg.split("-")[0]})
    if alg != "RS256-unsigned":
        assertion = assertion.rsplit(".", 1)[0] + "."
    else:
        assertion = assertion.rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    entra_error(login.post(TOKEN_URL, data=assertion_form(assertion)), 401, 700027)


def test_expired_assertion_is_refused_700024(login: httpx.Client, registered: Cert) -> None:
    """Entra ID: an assertion past its exp is refused with AADSTS700024 "Client assertion is
    not within its valid time range", naming current, valid-from and expiry times."""
    past = int(time.time()) - 3600
    expired = sign(registered, {"nbf": past - 600, "exp": past})
    body = entra_error(login.post(TOKEN_URL, data=assertion_form(expired)), 401, 700024)
    assert "not within its valid time range" in body["error_description"]
    expiry = dt.datetime.fromtimestamp(past, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert f"expiry time of assertion {expiry}.0000000Z" in body["error_description"]


def test_assertion_not_yet_valid_is_refused_700024(login: httpx.Client, registered: Cert) -> None:
    """Entra ID: an assertion whose nbf is in the future is outside its valid range too."""
    future = int(time.time()) + 3600
    early = sign(registered, {"nbf": future, "exp": future + 600})
    entra_error(login.post(TOKEN_URL, data=assertion_form(early)), 401, 700024)


def test_expiry_is_judged_by_the_emulator_clock(
    login: httpx.Client, registered: Cert, clock: FakeClock
) -> None:
    """Emulator: exp/nbf are compared with the injected clock's time(): a fresh assertion
    works, and is refused once the fake clock has moved past its exp."""
    assertion = sign(registered)
    assert login.post(TOKEN_URL, data=assertion_form(assertion)).status_code == 200
    clock.advance(3600)  # far past exp, however long the test took to get here
    entra_error(login.post(TOKEN_URL, data=assertion_form(assertion)), 401, 700024)


@pytest.mark.parametrize(
    "audience",
    [
        f"{LOGIN}/other-tenant/oauth2/v2.0/token",
        "https://login.microsoftonline.com/contoso-test/oauth2/v2.0/token",
        f"{LOGIN}/{TENANT}/oauth2/v2.0/authorize",
        f"{LOGIN}/{TENANT}/oauth2/v2.0/token?x=1",
        APP,
    ],
)
def test_wrong_audience_is_refused_700023(
    login: httpx.Client, registered: Cert, audience: str
) -> None:
    """Entra ID: aud must be this tenant's token endpoint; anything else is AADSTS700023
    "Client assertion audience claim does not match Realm issuer"."""
    assertion = sign(registered, {"aud": audience})
    body = entra_error(login.post(TOKEN_URL, data=assertion_form(assertion)), 401, 700023)
    assert "audience claim does not match" in body["error_description"]


def test_issuer_and_subject_must_be_the_client_id(login: httpx.Client, registered: Cert) -> None:
    """Entra ID: iss and sub must both be the client id: iss != sub is AADSTS50048
    (SubjectMismatchesIssuer), both naming another app is AADSTS700021."""
    mismatched = sign(registered, {"sub": "someone-else"})
    entra_error(login.post(TOKEN_URL, data=assertion_form(mismatched)), 401, 50048)
    other_app = sign(registered, {"iss": "someone-else", "sub": "someone-else"})
    entra_error(login.post(TOKEN_URL, data=assertion_form(other_app)), 401, 700021)


def test_jti_and_thumbprint_header_are_required(login: httpx.Client, registered: Cert) -> None:
    """Entra ID: the assertion must carry a jti claim and a certificate thumbprint header
    (x5t or x5t#S256); malformed JWTs are refused too (AADSTS50027 Invalid JWT token)."""
    no_jti = sign(registered, drop=("jti",))
    entra_error(login.post(TOKEN_URL, data=assertion_form(no_jti)), 401, 50027)
    no_x5t = sign(registered, header={"x5t": None})
    body = entra_error(login.post(TOKEN_URL, data=assertion_form(no_x5t)), 401, 50027)
    assert "thumbprint" in body["error_description"]
    no_exp = sign(registered, drop=("exp",))
    entra_error(login.post(TOKEN_URL, data=assertion_form(no_exp)), 401, 50027)
    entra_error(login.post(TOKEN_URL, data=assertion_form("not-a-jwt")), 401, 50027)


def test_wrong_assertion_type_is_refused(login: httpx.Client, registered: Cert) -> None:
    """Emulator (code unconfirmed): a client_assertion whose type is not jwt-bearer is
    refused as invalid_client."""
    form = assertion_form(sign(registered), client_assertion_type="urn:example:saml")
    entra_error(login.post(TOKEN_URL, data=form), 401, 700027)


def test_secret_on_a_certificate_only_app_is_refused_7000215(login: httpx.Client) -> None:
    """Entra ID: an app without that secret answers a client_secret with 401 invalid_client
    AADSTS7000215 (the emulator's default "s3cret" is not registered here), and a request
    with neither secret nor assertion with AADSTS7000218."""
    form = {"grant_type": "client_credentials", "client_id": APP, "scope": SCOPES[0]}
    body = entra_error(
        login.post(TOKEN_URL, data={**form, "client_secret": "s3cret"}), 401, 7000215
    )
    assert "s3cret" not in json.dumps(body)
    entra_error(login.post(TOKEN_URL, data=form), 401, 7000218)


def test_unknown_application_is_still_700016(login: httpx.Client, registered: Cert) -> None:
    """Entra ID: an assertion for an app the tenant does not have is 400 unauthorized_client
    AADSTS700016, before any signature check."""
    assertion = sign(registered, {"iss": "ghost", "sub": "ghost"})
    response = login.post(TOKEN_URL, data=assertion_form(assertion, client_id="ghost"))
    entra_error(response, 400, 700016)
    assert response.json()["error"] == "unauthorized_client"


def test_several_certificates_and_a_secret_on_one_app(
    emu: GraphEmulator, registered: Cert, stranger: Cert
) -> None:
    """Entra ID: keyCredentials is multi-valued (certificate rollover): each registered
    certificate works; with certificates registered the app's secret keeps working and a
    wrong secret is AADSTS7000215."""
    emu.add_tenant(
        tenant_id=TENANT,
        token=TOKEN,
        client_secret="right-secret",
        certificates=[registered.cert_pem, stranger.der],
    )
    with emulator_client(emu, None, base_url=LOGIN) as login:
        for cert in (registered, stranger):
            assert login.post(TOKEN_URL, data=assertion_form(sign(cert))).status_code == 200
        form = {"grant_type": "client_credentials", "client_id": APP, "scope": SCOPES[0]}
        ok = login.post(TOKEN_URL, data={**form, "client_secret": "right-secret"})
        assert ok.json()["access_token"] == TOKEN
        wrong = login.post(TOKEN_URL, data={**form, "client_secret": "wrong-secret"})
        entra_error(wrong, 401, 7000215)
    result = msal_app(emu, "wrong-secret").acquire_token_for_client(scopes=SCOPES)
    assert result.get("error_codes") == [7000215], result


# --- tenants without registered credentials keep the lenient behaviour ----------------------


def test_tenant_without_registered_credentials_keeps_unverified_assertions(
    emu: GraphEmulator, stranger: Cert
) -> None:
    """Emulator: an app added with only a secret (every tenant before this feature) still
    accepts an unverified assertion naming it, and still checks its secret."""
    emu.add_tenant(tenant_id=TENANT, token=TOKEN)
    with emulator_client(emu, None, base_url=LOGIN) as login:
        lenient = sign(stranger, {"aud": "anything", "exp": 1})
        assert login.post(TOKEN_URL, data=assertion_form(lenient)).json()["access_token"] == TOKEN
        form = {"grant_type": "client_credentials", "client_id": APP, "scope": SCOPES[0]}
        assert login.post(TOKEN_URL, data={**form, "client_secret": "s3cret"}).status_code == 200
        entra_error(login.post(TOKEN_URL, data={**form, "client_secret": "x"}), 401, 7000215)


# --- the seed format -------------------------------------------------------------------------


def application(app_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity",
        "id": str(uuid.uuid4()),
        "appId": app_id,
        "displayName": "TenantGuard backup",
        **fields,
    }


def key_credential(cert: Cert, **fields: Any) -> dict[str, Any]:
    """keyCredentials[] as GET /applications/{id}?$select=keyCredentials returns it."""
    return {
        "customKeyIdentifier": cert.sha1_hex,
        "displayName": "CN=registered",
        "keyId": str(uuid.uuid4()),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": base64.b64encode(cert.der).decode(),
        **fields,
    }


def test_seeded_application_registers_certificates_and_secrets(
    emu: GraphEmulator, registered: Cert, stranger: Cert, tmp_path: Path
) -> None:
    """Seed: an application object in the seed dir registers its keyCredentials (Graph's
    base64 DER key) and passwordCredentials (secretText) for that appId; they replace the
    add_tenant secret; the application is not a Graph object of the tenant."""
    seed = application(
        APP,
        keyCredentials=[key_credential(registered)],
        passwordCredentials=[{"keyId": str(uuid.uuid4()), "hint": "see", "secretText": "seeded"}],
    )
    (tmp_path / "app.json").write_text(json.dumps(seed), encoding="utf-8")
    emu.add_tenant(tenant_id=TENANT, token=TOKEN, seed_dir=tmp_path)
    with emulator_client(emu, None, base_url=LOGIN) as login:
        assert login.post(TOKEN_URL, data=assertion_form(sign(registered))).status_code == 200
        entra_error(login.post(TOKEN_URL, data=assertion_form(sign(stranger))), 401, 700027)
        form = {"grant_type": "client_credentials", "client_id": APP, "scope": SCOPES[0]}
        assert login.post(TOKEN_URL, data={**form, "client_secret": "seeded"}).status_code == 200
        entra_error(login.post(TOKEN_URL, data={**form, "client_secret": "s3cret"}), 401, 7000215)
    credential = {"private_key": registered.private_pem, "thumbprint": registered.sha1_hex}
    assert (
        msal_app(emu, credential).acquire_token_for_client(scopes=SCOPES)["access_token"] == TOKEN
    )


def test_seeded_second_application_gets_a_derived_token(
    emu: GraphEmulator, registered: Cert
) -> None:
    """Seed: an application with another appId becomes a second app of the tenant; its
    token is "{token}.{appId}" and works on Graph. PEM certificate text is accepted as key."""
    seed = application(
        "reporting-app",
        keyCredentials=[
            {"type": "AsymmetricX509Cert", "usage": "Verify", "key": registered.cert_pem}
        ],
    )
    tenant = emu.add_tenant(tenant_id=TENANT, token=TOKEN, seed_objects=[seed])
    assert tenant.clients["reporting-app"].token == f"{TOKEN}.reporting-app"
    assertion = sign(registered, {"iss": "reporting-app", "sub": "reporting-app"})
    with emulator_client(emu, None, base_url=LOGIN) as login:
        response = login.post(TOKEN_URL, data=assertion_form(assertion, client_id="reporting-app"))
        # The first app is untouched by the other app's registration (lenient, "s3cret").
        form = {"grant_type": "client_credentials", "client_id": APP, "scope": SCOPES[0]}
        assert login.post(TOKEN_URL, data={**form, "client_secret": "s3cret"}).status_code == 200
    assert response.json()["access_token"] == f"{TOKEN}.reporting-app"
    with emulator_client(emu, f"{TOKEN}.reporting-app") as graph:
        assert graph.get("/v1.0/groups").status_code == 200


def test_seeded_public_key_needs_its_thumbprint(emu: GraphEmulator, registered: Cert) -> None:
    """Seed: a bare public key (PEM) registers with the thumbprint clients send
    (customKeyIdentifier, hex or base64); without one the seed is refused."""
    seed = application(
        APP,
        keyCredentials=[
            {"key": registered.public_key_pem, "customKeyIdentifier": registered.sha1_hex}
        ],
    )
    emu.add_tenant(tenant_id=TENANT, token=TOKEN, seed_objects=[("applications", seed)])
    with emulator_client(emu, None, base_url=LOGIN) as login:
        assert login.post(TOKEN_URL, data=assertion_form(sign(registered))).status_code == 200
    bare = application(APP, keyCredentials=[{"key": registered.public_key_pem}])
    with pytest.raises(SeedError, match="thumbprint"):
        emu.add_tenant(tenant_id="other", token="tok-2", seed_objects=[bare])
    assert "other" not in emu.tenants


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        ({"key": None}, "'key' is empty"),
        ({"key": "not a certificate!"}, "not a PEM"),
        ({"type": "Symmetric", "key": "AAAA"}, "AsymmetricX509Cert"),
        ({"key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "private key"),
    ],
)
def test_unusable_key_credentials_are_seed_errors(
    emu: GraphEmulator, credential: dict[str, Any], message: str
) -> None:
    """Seed: a keyCredential the emulator cannot use (Graph's null key from a plain GET, not a
    certificate, a symmetric key, a private key) is a SeedError naming the problem."""
    with pytest.raises(SeedError, match=message):
        emu.add_tenant(
            tenant_id=TENANT,
            token=TOKEN,
            seed_objects=[application(APP, keyCredentials=[credential])],
        )


def test_non_rsa_certificates_cannot_be_registered(emu: GraphEmulator) -> None:
    """Emulator: only RSA certificates verify client assertions (RS256/PS256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    with pytest.raises(ValueError, match="RSA"):
        emu.add_tenant(tenant_id=TENANT, token=TOKEN, certificates=[pem])
    assert TENANT not in emu.tenants


def test_seeded_credentials_survive_a_restart_with_state(tmp_path: Path, registered: Cert) -> None:
    """Seed + state_dir: credentials are read from the seed every time the tenant is added,
    also when its objects come from the SQLite state (credentials are not persisted)."""
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    (seed_dir / "app.json").write_text(
        json.dumps(application(APP, keyCredentials=[key_credential(registered)])), encoding="utf-8"
    )
    for _ in range(2):
        emu = GraphEmulator(state_dir=tmp_path / "state")
        try:
            emu.add_tenant(tenant_id=TENANT, token=TOKEN, seed_dir=seed_dir)
            with emulator_client(emu, None, base_url=LOGIN) as login:
                response = login.post(TOKEN_URL, data=assertion_form(sign(registered)))
                assert response.status_code == 200
                form = assertion_form(sign(registered), client_secret="s3cret")
                del form["client_assertion"]
                entra_error(login.post(TOKEN_URL, data=form), 401, 7000215)
        finally:
            emu.close()


# --- TenantGuard's own certificate provider ---------------------------------------------------


def test_tenantguard_certificate_provider_end_to_end_in_process(
    cert_emu: GraphEmulator, registered: Cert
) -> None:
    """TenantGuard: MsalCertificateTokenProvider gets the app's token from the emulator with
    the registered certificate, and GraphClient reads Graph with it."""
    provider = MsalCertificateTokenProvider(
        tenant_id=TENANT,
        client_id=APP,
        private_key_pem=registered.private_pem,
        thumbprint=":".join(registered.sha1_hex[i : i + 2] for i in range(0, 40, 2)),
        login_url=LOGIN,
        graph_url="https://graph.microsoft.com",
        http_client=emulator_client(cert_emu, None, base_url=LOGIN),
    )
    assert provider.get_token() == TOKEN
    client = GraphClient(
        graph_url="https://graph.microsoft.com",
        token_provider=provider,
        transport=cert_emu.transport(),
    )
    assert isinstance(list(client.iter_collection("groups")), list)


def test_tenantguard_certificate_provider_over_loopback(
    cert_emu: GraphEmulator, registered: Cert, stranger: Cert
) -> None:
    """TenantGuard over HTTP on 127.0.0.1: the provider (which shows MSAL an https authority
    and signs aud for it) gets a token; an unregistered certificate is an AuthenticationError
    carrying AADSTS700027 and not the private key."""
    server = serve_app(cert_emu, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"

    def provider(cert: Cert) -> MsalCertificateTokenProvider:
        return MsalCertificateTokenProvider(
            tenant_id=TENANT,
            client_id=APP,
            private_key_pem=cert.private_pem,
            thumbprint=cert.sha1_hex,
            login_url=base,
            graph_url=base,
        )

    try:
        good = provider(registered)
        assert good.get_token() == TOKEN
        with GraphClient(graph_url=base, token_provider=good) as client:
            assert isinstance(list(client.iter_collection("groups")), list)
        with pytest.raises(AuthenticationError) as excinfo:
            provider(stranger).get_token()
        assert "AADSTS700027" in str(excinfo.value)
        assert stranger.private_pem not in str(excinfo.value)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_der_certificate_ending_in_a_whitespace_byte_is_read_whole() -> None:
    """DER is binary: a signature whose last byte is 0x20, 0x09, 0x0a or 0x0d must not be
    stripped like text (that made a certificate test fail at random, about 1 run in 40)."""
    from cryptography.hazmat.primitives import serialization

    from tenantguard.emulator.credentials import load_certificate

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whitespace")])
    now = dt.datetime.now(dt.UTC)
    for serial in range(1, 2000):
        der = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
        if der[-1:] in (b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c"):
            break
    else:  # pragma: no cover - about 1 certificate in 40 ends so
        pytest.fail("no certificate ending in a whitespace byte among 2,000")
    assert load_certificate(der) is not None
