"""Encryption of secrets at rest (tenant credentials, captured OMA-URI secret values).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). Keys come from
``settings.TENANTGUARD_ENCRYPTION_KEYS``: the first encrypts, all of them decrypt, so a key can
be rotated by prepending a new one. Without a configured key (embedded demo only: production
settings refuse to start without one) a key is derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

_PREFIX = "enc:v1:"


class DecryptionError(Exception):
    """A stored secret could not be decrypted (wrong or rotated-out encryption key)."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())
        return MultiFernet([Fernet(derived)])
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.TENANTGUARD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt_str(plaintext: str) -> str:
    return _PREFIX + _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_str(stored: str) -> str:
    if not stored.startswith(_PREFIX):
        raise DecryptionError("The stored value is not in TenantGuard's encrypted format.")
    try:
        return _fernet().decrypt(stored[len(_PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret could not be decrypted: TENANTGUARD_ENCRYPTION_KEY does not hold the "
            "key it was encrypted with. Add the previous key after the current one."
        ) from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is stored encrypted; Python code sees plaintext ('' = empty)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        if not value:
            return ""
        return decrypt_str(value)

    def to_python(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str) and value.startswith(_PREFIX):
            return decrypt_str(value)
        return str(value)

    def get_prep_value(self, value: Any) -> str:
        if not value:
            return ""
        return encrypt_str(str(value))


class EncryptedJSONField(models.TextField):
    """A JSON value stored encrypted as one blob; Python code sees the decoded value."""

    # What django-stubs' plugin reads as the Python type this field takes and gives.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if not value:
            return {}
        return json.loads(decrypt_str(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return (
                json.loads(decrypt_str(value)) if value.startswith(_PREFIX) else json.loads(value)
            )
        return value if value is not None else {}

    def get_prep_value(self, value: Any) -> str:
        if not value:
            return ""
        return encrypt_str(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: Any) -> str:
        return "<encrypted>"
