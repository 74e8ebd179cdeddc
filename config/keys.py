"""The secret key and the encryption key a fresh install generates for itself.

Without ``SECRET_KEY`` / ``TENANTGUARD_ENCRYPTION_KEY`` in the environment, the first start
writes both to ``<data dir>/secrets.json`` (mode 0600, created atomically so two processes
starting together agree on one pair) and every later start reads them back. A database copied
without that file cannot be decrypted elsewhere. The environment variables always win.

No Django imports: the settings module imports this before Django is configured.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

SECRETS_FILE_NAME = "secrets.json"

# Installs from before generated keys encrypted with a key derived from this public development
# key (tenantguard.crypto derives it from SECRET_KEY). Such an install keeps it as a
# decrypt-only key, so its stored tenant secrets stay readable while new ones use the new key.
LEGACY_DEVELOPMENT_SECRET_KEY = "insecure-development-key-only-for-the-embedded-demo"


class SecretsFileError(Exception):
    """The data directory's secrets file is unreadable or malformed (never quotes its content)."""


@dataclass(frozen=True)
class GeneratedSecrets:
    secret_key: str
    encryption_key: str
    # Old keys that still decrypt (never encrypt): see LEGACY_DEVELOPMENT_SECRET_KEY.
    decrypt_only_keys: list[str] = field(default_factory=list)


def derived_encryption_key(secret_key: str) -> str:
    """The Fernet key ``tenantguard.crypto`` derives from a secret key when no encryption key is
    configured (what installs without TENANTGUARD_ENCRYPTION_KEY encrypted with before)."""
    digest = hashlib.sha256(secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def legacy_encryption_key() -> str:
    """The Fernet key the embedded demo used before keys were generated."""
    return derived_encryption_key(LEGACY_DEVELOPMENT_SECRET_KEY)


def data_dir_secrets(*, data_dir: Path, existing_install: bool) -> GeneratedSecrets:
    """Read ``secrets.json`` from ``data_dir``, creating it on the first start.

    ``existing_install``: the data directory already holds a database written before this file
    existed, so the legacy development key is kept for decryption.
    """
    path = data_dir / SECRETS_FILE_NAME
    if not path.exists():
        try:
            _create_atomically(path, _new_secrets(existing_install=existing_install))
        except OSError as exc:
            raise SecretsFileError(
                f"Cannot create {path} ({exc.strerror}): make the data directory writable for "
                "this user, or set SECRET_KEY and TENANTGUARD_ENCRYPTION_KEY."
            ) from None
    return _read(path)


def _new_secrets(*, existing_install: bool) -> dict[str, object]:
    return {
        "secret_key": secrets.token_urlsafe(50),
        "encryption_key": Fernet.generate_key().decode("ascii"),
        "decrypt_only_keys": [legacy_encryption_key()] if existing_install else [],
    }


def _create_atomically(path: Path, document: dict[str, object]) -> None:
    """Write to a private temporary file, then hard-link it into place: the file is never seen
    half-written or with wider permissions, and when two processes race, the first link wins
    and both read the winner's keys."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path) -> GeneratedSecrets:
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            # Someone widened it (a copy, an archive restore): keys are for the owner only.
            path.chmod(0o600)
    except OSError:
        pass  # not ours to change: reading it below says whether it is usable
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        secret_key = document["secret_key"]
        encryption_key = document["encryption_key"]
        decrypt_only = list(document.get("decrypt_only_keys") or [])
        Fernet(encryption_key.encode("ascii"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SecretsFileError(
            f"{path} is not a valid TenantGuard secrets file ({type(exc).__name__}). Restore it "
            "from your backup, or set SECRET_KEY and TENANTGUARD_ENCRYPTION_KEY; deleting it "
            "makes the stored tenant secrets unreadable."
        ) from None
    if not isinstance(secret_key, str) or not secret_key:
        raise SecretsFileError(f"{path} has an empty secret_key. Restore it from your backup.")
    return GeneratedSecrets(
        secret_key=secret_key, encryption_key=encryption_key, decrypt_only_keys=decrypt_only
    )
