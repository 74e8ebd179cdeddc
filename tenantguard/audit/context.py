"""The request id of the work in progress, shared by logs and audit events, and the credential
the request authenticated with when it is not the user's own session (an API token)."""

from __future__ import annotations

import contextvars
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "tenantguard_request_id", default="-"
)


def current_request_id() -> str:
    return _request_id.get()


def bind_request_id(value: str | None = None) -> contextvars.Token[str]:
    return _request_id.set(value or uuid.uuid4().hex)


def reset_request_id(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


_credential: contextvars.ContextVar[str] = contextvars.ContextVar(
    "tenantguard_credential", default=""
)


def current_credential() -> str:
    """How the current request authenticated, when it matters to the audit trail
    (``"API token tg_AbC1234 'nightly CI'"``); empty for sessions and background work."""
    return _credential.get()


def bind_credential(label: str) -> contextvars.Token[str]:
    return _credential.set(label)


def reset_credential(token: contextvars.Token[str]) -> None:
    _credential.reset(token)
