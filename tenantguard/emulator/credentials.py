"""App registration credentials and Entra-style verification of client assertions.

An app registration (``ClientApp``) may carry registered credentials: client secrets and RSA
certificates (or bare public keys with their thumbprint). An app with registered credentials is
checked like Microsoft Entra ID checks it: a ``client_assertion`` must be a JWT signed by one of
its certificates (found through the ``x5t#S256`` or ``x5t`` header), addressed to this token
endpoint, issued by and about the app, within its time range and carrying a ``jti``.

Seeds register credentials with a Graph ``application`` object (see README.md, "App
registrations and credentials").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

APPLICATIONS = "applications"
APPLICATION_TYPE = "#microsoft.graph.application"

# JWS algorithms (RFC 7518) the emulator verifies; Entra documents RS256 and PS256.
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
SUPPORTED_ALGORITHMS = tuple(f"{kind}{bits}" for kind in ("RS", "PS") for bits in _HASHES)

CredentialInput = str | bytes | x509.Certificate | rsa.RSAPublicKey


class CredentialError(ValueError):
    """A certificate, key or application registration that cannot be used."""


@dataclass(frozen=True)
class AppCertificate:
    """A registered certificate (or public key): what Entra keeps of a ``keyCredential``."""

    public_key: rsa.RSAPublicKey
    sha1: bytes | None
    sha256: bytes | None
    key_id: str
    display_name: str = ""

    @property
    def thumbprint(self) -> str:
        """Upper-case hex SHA-1 thumbprint (as the Entra admin center shows it), else SHA-256."""
        digest = self.sha1 or self.sha256 or b""
        return digest.hex().upper()


@dataclass
class AppRegistration:
    """The credentials of one app, as read from a seeded ``application`` object."""

    app_id: str
    secrets: list[str] = field(default_factory=list)
    certificates: list[AppCertificate] = field(default_factory=list)


# --- loading certificates and keys ------------------------------------------------------------


def _thumbprint_bytes(value: str | bytes) -> bytes:
    """A thumbprint given as hex (``AB:CD…`` allowed) or base64/base64url: 20 or 32 bytes."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    hex_text = text.replace(":", "").replace(" ", "")
    if re.fullmatch(r"[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}", hex_text):
        return bytes.fromhex(hex_text)
    try:
        raw = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) in (20, 32):
        return raw
    raise CredentialError(
        f"thumbprint {text!r} is neither a hex nor a base64 SHA-1 (20 bytes) or SHA-256 "
        "(32 bytes) digest"
    )


def _rsa(key: object) -> rsa.RSAPublicKey:
    if not isinstance(key, rsa.RSAPublicKey):
        raise CredentialError(
            f"only RSA keys can verify client assertions (got {type(key).__name__})"
        )
    return key


def _from_der(der: bytes) -> x509.Certificate | rsa.RSAPublicKey:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        pass
    try:
        return _rsa(serialization.load_der_public_key(der))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CredentialError("not a DER certificate or public key") from exc


def _parse_key_material(value: str | bytes) -> x509.Certificate | rsa.RSAPublicKey:
    """PEM certificate or public key, DER bytes, or base64 of either (Graph's ``key``)."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        if b"PRIVATE KEY" in stripped.split(b"\n", 1)[0]:
            raise CredentialError("register the public certificate or key, never a private key")
        try:
            if b"CERTIFICATE" in stripped.split(b"\n", 1)[0]:
                return x509.load_pem_x509_certificate(stripped)
            return _rsa(serialization.load_pem_public_key(stripped))
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise CredentialError(f"unreadable PEM ({exc})") from exc
    if isinstance(value, bytes) and not re.fullmatch(rb"[A-Za-z0-9+/=\s_-]+", stripped):
        # DER as given: its last bytes are signature bytes, which may happen to be whitespace.
        return _from_der(data)
    try:
        decoded = base64.b64decode(b"".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CredentialError("not a PEM, DER or base64 certificate or public key") from exc
    if decoded.strip().startswith(b"-----BEGIN"):  # base64 of a PEM file: a common mistake
        return _parse_key_material(decoded)
    return _from_der(decoded)


def load_certificate(
    value: CredentialInput,
    *,
    thumbprint: str | bytes | None = None,
    key_id: str | None = None,
    display_name: str = "",
) -> AppCertificate:
    """A registered certificate from a PEM/DER/base64 certificate, or a public key.

    A certificate's SHA-1 and SHA-256 thumbprints are computed from its DER encoding. A bare
    public key has no certificate to hash, so its ``thumbprint`` (the one the client sends,
    hex or base64, SHA-1 or SHA-256) must be given.
    """
    material: x509.Certificate | rsa.RSAPublicKey
    if isinstance(value, x509.Certificate | rsa.RSAPublicKey):
        material = value
    else:
        material = _parse_key_material(value)
    if isinstance(material, x509.Certificate):
        der = material.public_bytes(serialization.Encoding.DER)
        return AppCertificate(
            public_key=_rsa(material.public_key()),
            sha1=hashlib.sha1(der).digest(),  # noqa: S324 - x5t is defined as SHA-1
            sha256=hashlib.sha256(der).digest(),
            key_id=key_id or str(uuid.uuid4()),
            display_name=display_name or material.subject.rfc4514_string(),
        )
    if thumbprint is None:
        raise CredentialError(
            "a bare public key needs the thumbprint clients send (customKeyIdentifier)"
        )
    digest = _thumbprint_bytes(thumbprint)
    return AppCertificate(
        public_key=material,
        sha1=digest if len(digest) == 20 else None,
        sha256=digest if len(digest) == 32 else None,
        key_id=key_id or str(uuid.uuid4()),
        display_name=display_name,
    )


def application_registration(obj: dict[str, Any], *, source: str) -> AppRegistration:
    """Credentials from a Graph ``application`` object (seed format, see README.md).

    ``keyCredentials`` of type ``AsymmetricX509Cert`` and usage ``Verify`` register their
    ``key`` (Graph's base64 DER, or PEM text); ``passwordCredentials`` register their
    ``secretText`` (Graph only returns it when the secret is created, so seeds add it)."""
    app_id = obj.get("appId")
    if not isinstance(app_id, str) or not app_id:
        raise CredentialError(f"{source}: an application needs its appId (the client id)")
    registration = AppRegistration(app_id=app_id)
    for index, credential in enumerate(obj.get("keyCredentials") or []):
        where = f"{source}: keyCredentials[{index}]"
        if not isinstance(credential, dict):
            raise CredentialError(f"{where} is not an object")
        kind = credential.get("type", "AsymmetricX509Cert")
        if kind != "AsymmetricX509Cert":
            raise CredentialError(f"{where}: type {kind!r} is not AsymmetricX509Cert")
        if credential.get("usage", "Verify") != "Verify":
            continue  # signing keys (usage Sign) do not authenticate the app
        key = credential.get("key")
        if not isinstance(key, str) or not key.strip():
            raise CredentialError(
                f"{where}: 'key' is empty; Graph returns it only for "
                "GET /applications/{id}?$select=keyCredentials (or give the PEM certificate)"
            )
        try:
            certificate = load_certificate(
                key,
                thumbprint=credential.get("customKeyIdentifier"),
                key_id=credential.get("keyId"),
                display_name=str(credential.get("displayName") or ""),
            )
        except CredentialError as exc:
            raise CredentialError(f"{where}: {exc}") from exc
        registration.certificates.append(certificate)
    for index, credential in enumerate(obj.get("passwordCredentials") or []):
        if not isinstance(credential, dict):
            raise CredentialError(f"{source}: passwordCredentials[{index}] is not an object")
        secret = credential.get("secretText")
        if isinstance(secret, str) and secret:
            registration.secrets.append(secret)
    return registration


# --- verifying a client assertion -------------------------------------------------------------


class AssertionRejected(Exception):
    """Why Entra would refuse the assertion: AADSTS ``code`` and its description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.code = code
        self.description = description


def _b64url(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_part(text: str) -> dict[str, Any]:
    data = json.loads(_b64url(text))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def entra_time(moment: float) -> str:
    """``2024-04-05T22:50:41.0000000Z``: how AADSTS messages print instants."""
    try:
        stamp = datetime.fromtimestamp(moment, UTC)
    except (OverflowError, OSError, ValueError):
        return str(moment)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond * 10:07d}Z"


def _malformed(detail: str) -> AssertionRejected:
    return AssertionRejected(50027, f"Invalid JWT token. {detail}")


def _find_certificate(
    header: dict[str, Any], certificates: Iterable[AppCertificate]
) -> tuple[AppCertificate | None, str]:
    """The registered certificate the header names, and the thumbprint as Entra prints it."""
    wanted: list[tuple[str, bytes]] = []
    for name, attribute in (("x5t#S256", "sha256"), ("x5t", "sha1")):
        value = header.get(name)
        if value is None:
            continue
        try:
            digest = _b64url(str(value).rstrip("="))
        except ValueError as exc:
            raise _malformed(f"The '{name}' header is not base64url.") from exc
        wanted.append((attribute, digest))
    if not wanted:
        raise _malformed("No certificate thumbprint specified in token header.")
    for attribute, digest in wanted:
        for certificate in certificates:
            if getattr(certificate, attribute) == digest:
                return certificate, digest.hex().upper()
    return None, wanted[0][1].hex().upper()


def _verify_signature(
    certificate: AppCertificate, algorithm: str, signing_input: bytes, signature: bytes
) -> bool:
    hash_type = _HASHES[algorithm[2:]]
    scheme: padding.AsymmetricPadding
    if algorithm.startswith("PS"):
        # RFC 7518 3.5: the salt is as long as the hash output.
        scheme = padding.PSS(mgf=padding.MGF1(hash_type()), salt_length=padding.PSS.DIGEST_LENGTH)
    else:
        scheme = padding.PKCS1v15()
    try:
        certificate.public_key.verify(signature, signing_input, scheme, hash_type())
    except InvalidSignature:
        return False
    return True


def _same_endpoint(audience: str, token_endpoint: str) -> bool:
    """``aud`` names this token endpoint. The scheme is not compared: behind a loopback
    ``http://`` emulator, MSAL (which only accepts https authorities) signs for ``https://``."""
    got, want = urlsplit(audience), urlsplit(token_endpoint)
    return (
        got.scheme in ("http", "https")
        and got.netloc.lower() == want.netloc.lower()
        and got.path.lower() == want.path.lower()
        and not got.query
        and not got.fragment
    )


def verify_client_assertion(
    assertion: str,
    *,
    client_id: str,
    certificates: Iterable[AppCertificate],
    token_endpoint: str,
    now: float,
) -> None:
    """Check a ``client_assertion`` JWT as Entra does; raise :class:`AssertionRejected`.

    Order: format → registered certificate (``x5t#S256`` / ``x5t``) → signature → ``iss`` /
    ``sub`` → ``aud`` → ``nbf`` / ``exp`` → ``jti``. Claims are only looked at once the
    signature holds.
    """
    parts = assertion.split(".")
    if len(parts) != 3:
        raise _malformed("The client assertion is not a signed JWT (header.payload.signature).")
    try:
        header = _json_part(parts[0])
        claims = _json_part(parts[1])
        signature = _b64url(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise _malformed("The client assertion could not be decoded.") from exc
    certificate, thumbprint = _find_certificate(header, certificates)
    if certificate is None:
        raise AssertionRejected(
            700027,
            "The certificate with identifier used to sign the client assertion is not "
            f"registered on application. [Reason - The key was not found., Thumbprint of key "
            f"used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or "
            f"directly use MS Graph to see configured keys for app Id '{client_id}'.]",
        )
    algorithm = str(header.get("alg", ""))
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    if algorithm not in SUPPORTED_ALGORITHMS or not _verify_signature(
        certificate, algorithm, signing_input, signature
    ):
        reason = (
            "Key was found, but use of the key to verify the signature failed."
            if algorithm in SUPPORTED_ALGORITHMS
            else f"The signing algorithm '{algorithm}' is not supported."
        )
        raise AssertionRejected(
            700027,
            f"Client assertion failed signature validation. [Reason - {reason}, Thumbprint of "
            f"key used by client: '{thumbprint}', Found key '{certificate.key_id}']",
        )
    issuer, subject = claims.get("iss"), claims.get("sub")
    if issuer != subject:
        raise AssertionRejected(50048, "Subject mismatches Issuer claim in the client assertion.")
    if issuer != client_id:
        raise AssertionRejected(
            700021, "Client assertion application identifier doesn't match 'client_id' parameter."
        )
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and _same_endpoint(a, token_endpoint) for a in audiences):
        raise AssertionRejected(
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the "
            "documentation at https://learn.microsoft.com/entra/identity-platform/"
            "certificate-credentials .",
        )
    raw_expires, raw_not_before = claims.get("exp"), claims.get("nbf", 0)
    if not _is_number(raw_expires) or not _is_number(raw_not_before):
        raise _malformed("The client assertion needs numeric 'exp' (and 'nbf') claims.")
    expires, not_before = float(raw_expires), float(raw_not_before)  # type: ignore[arg-type]
    if not (not_before <= now < expires):
        raise AssertionRejected(
            700024,
            f"Client assertion is not within its valid time range. Current time: "
            f"{entra_time(now)}, assertion valid from {entra_time(not_before)}, expiry time of "
            f"assertion {entra_time(expires)}. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise _malformed("The client assertion has no 'jti' claim.")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
