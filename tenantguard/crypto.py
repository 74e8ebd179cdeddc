"""Encryption of secrets at rest (tenant credentials, captured OMA-URI secret values).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). Keys come from
``settings.TENANTGUARD_ENCRYPTION_KEYS``: the first encrypts, all of them decrypt, so a key can
be rotated by prepending a new one. Without a configured key (embedded demo only: production
settings refuse to start without one) a key is derived from ``SECRET_KEY``.

A stored value that no configured key decrypts (the database was copied, or a key was rotated
out too early) never breaks a page or a listing: the field reads as an *undecryptable* value
(empty, so every "no secret stored" path refuses to use it, and ``decryption_problem`` says
what is wrong), and saving the row writes the stored ciphertext back unchanged.
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


UNDECRYPTABLE_MESSAGE = (
    "A stored secret could not be decrypted: neither TENANTGUARD_ENCRYPTION_KEY nor the data "
    "directory's secrets.json holds the key it was encrypted with. Add the previous key after "
    "the current one in TENANTGUARD_ENCRYPTION_KEY, or enter the secret again."
)


class UndecryptableText(str):
    """What an ``EncryptedTextField`` reads when no configured key decrypts it: an empty
    string (so it is never used as a credential) that keeps the stored ciphertext for saving."""

    stored: str
    problem = UNDECRYPTABLE_MESSAGE

    def __new__(cls, stored: str) -> UndecryptableText:
        value = super().__new__(cls, "")
        value.stored = stored
        return value

    def __repr__(self) -> str:
        return "<undecryptable secret>"


class UndecryptableJSON(dict[str, Any]):
    """What an ``EncryptedJSONField`` reads when no configured key decrypts it: no values (so
    none is ever written anywhere), truthy (something is stored), the ciphertext kept for saving."""

    stored: str
    problem = UNDECRYPTABLE_MESSAGE

    def __init__(self, stored: str) -> None:
        super().__init__()
        self.stored = stored

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "<undecryptable secret values>"


def decryption_problem(value: Any) -> str:
    """What is wrong with an encrypted field's value as read ('' when it decrypted fine)."""
    if isinstance(value, UndecryptableText | UndecryptableJSON):
        return value.problem
    return ""


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
        # A damaged value can hold non-ASCII characters: unreadable too, never a crash.
        return _fernet().decrypt(stored[len(_PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError(UNDECRYPTABLE_MESSAGE) from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is stored encrypted; Python code sees plaintext ('' = empty)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        if not value:
            return ""
        try:
            return decrypt_str(value)
        except DecryptionError:
            return UndecryptableText(value)

    def to_python(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str) and value.startswith(_PREFIX):
            return decrypt_str(value)
        return str(value)

    def get_prep_value(self, value: Any) -> str:
        if isinstance(value, UndecryptableText):
            return value.stored
        if not value:
            return ""
        return encrypt_str(str(value))

    def value_to_string(self, obj: Any) -> str:
        # Serializers (dumpdata) write the ciphertext, never the plaintext; loading it back
        # decrypts it (to_python) under the same keys.
        return self.get_prep_value(self.value_from_object(obj))


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
        try:
            return json.loads(decrypt_str(value))
        except DecryptionError:
            return UndecryptableJSON(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            if not value:
                return {}
            return (
                json.loads(decrypt_str(value)) if value.startswith(_PREFIX) else json.loads(value)
            )
        return value if value is not None else {}

    def get_prep_value(self, value: Any) -> str:
        if isinstance(value, UndecryptableJSON):
            return value.stored
        if not value:
            return ""
        return encrypt_str(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: Any) -> str:
        # Serializers (dumpdata) write the ciphertext, never the values; loaddata reads it back.
        return str(self.get_prep_value(self.value_from_object(obj)))
