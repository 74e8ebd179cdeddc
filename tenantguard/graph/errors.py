"""Exceptions raised by ``tenantguard.graph``: the whole tree, documented in one place.

::

    GraphError                    base class; status, code, message, request_id, method, url
    ├── BadRequestError           400 (malformed request, unknown route, invalid payload)
    ├── ApprovalRequiredError     400/403 with code ``ApprovalRequired`` (Multi Admin Approval)
    ├── PermissionDeniedError     401/403 (missing application permission or admin consent)
    ├── NotFoundError             404
    ├── ThrottledError            429 still answered when the retry budget ran out
    ├── ServerError               5xx (503/504 only after the retry budget ran out)
    ├── GraphTransportError       no HTTP answer at all (DNS, connect, TLS, timeout, reset)
    ├── OutcomeUnknownError       a non-idempotent request (a create) was sent but its answer was
    │                             lost or unclear (502/503/504, timeout, dropped connection): it
    │                             may or may not have been applied, so it is never sent again
    │                             blindly; look in the target before creating again
    └── AuthenticationError       no access token could be acquired (wrong tenant, client, secret)

Any other 4xx status is raised as a plain ``GraphError``.

Attributes every exception carries (``None`` where they do not apply):

- ``status``: HTTP status of Graph's answer (``None`` for transport and token failures);
- ``code``: Graph's ``error.code`` (e.g. ``Request_ResourceNotFound``, ``ApprovalRequired``);
- ``message``: Graph's own ``error.message``, with the JSON document Intune often nests in it
  unwrapped to its human-readable text;
- ``request_id``: the ``request-id`` to quote to Microsoft support;
- ``method`` and ``url``: the request that failed.

``str(exc)`` is a sentence an admin can act on: what failed, for which request, and what to do.
It never contains an access token, an Authorization header or a client secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ApprovalRequiredError",
    "AuthenticationError",
    "BadRequestError",
    "GraphError",
    "GraphTransportError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "ServerError",
    "ThrottledError",
    "error_from_response",
    "outcome_unknown_error",
    "parse_error_body",
]

APPROVAL_REQUIRED_CODE = "ApprovalRequired"


class GraphError(Exception):
    """Base class of every error raised by the Graph client."""

    def __init__(
        self,
        description: str,
        *,
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.code = code
        self.message = message if message is not None else description
        self.request_id = request_id
        self.method = method
        self.url = url

    def __str__(self) -> str:
        return self.description


class BadRequestError(GraphError):
    """Graph rejected the request as invalid (400)."""


class ApprovalRequiredError(GraphError):
    """Multi Admin Approval is enabled: the change needs an approved request first."""


class PermissionDeniedError(GraphError):
    """The app lacks a permission (or its admin consent) for this resource (401/403)."""


class NotFoundError(GraphError):
    """The object or route does not exist (404)."""


class ThrottledError(GraphError):
    """Graph kept answering 429 until the retry budget ran out."""

    def __init__(
        self, description: str, *, attempts: int = 1, waited_seconds: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(description, **kwargs)
        self.attempts = attempts
        self.waited_seconds = waited_seconds


class ServerError(GraphError):
    """Graph failed on its side (5xx)."""


class GraphTransportError(GraphError):
    """No HTTP answer was received (connection, TLS, timeout)."""


class OutcomeUnknownError(GraphError):
    """A non-idempotent request (a create) reached Graph, but its answer was lost or unclear.

    Raised for a POST that is not marked idempotent when Graph answered 502/503/504 or the
    connection failed after the request was sent (read timeout, connection dropped without an
    answer). A gateway that times out does not promise that the request was not processed, so
    the object may exist now: the caller must look for it before creating again (the restore
    executor does: ``execute.py``). ``status`` is the HTTP status when there was an answer,
    ``None`` when there was none.
    """


class AuthenticationError(GraphError):
    """No access token could be acquired for Graph."""


def _unwrap_intune_message(message: str) -> str:
    """Return the readable text of a message that may carry a nested JSON document.

    Intune answers with ``"message": "{\\"_version\\": 3, \\"Message\\": \\"...\\", ...}"``,
    sometimes after a prefix; the useful sentence is the inner ``Message``.
    """
    text = message.strip()
    for _ in range(3):  # nested a few levels deep at most
        start = text.find("{")
        if start < 0:
            return text
        try:
            inner, end = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            return text
        if not isinstance(inner, dict):
            return text
        found = None
        for key in ("Message", "message", "error_description", "ErrorMessage"):
            value = inner.get(key)
            if isinstance(value, str) and value.strip():
                found = value.strip()
                break
            if isinstance(value, dict):
                nested = value.get("message") or value.get("Message")
                if isinstance(nested, str) and nested.strip():
                    found = nested.strip()
                    break
        if found is None:
            return text
        prefix = text[:start].strip().rstrip(":-").strip()
        trailer = text[end:].strip()
        text = " ".join(
            part for part in (f"{prefix}: {found}" if prefix else found, trailer) if part
        )
    return text


def parse_error_body(body: Any) -> tuple[str | None, str | None, str | None]:
    """Return ``(code, message, request_id)`` from a Graph error body (dict, str or bytes)."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            body = json.loads(body) if body.strip() else None
        except ValueError:
            text = body.strip()
            return None, (text[:500] or None), None
    if not isinstance(body, Mapping):
        return None, None, None
    error = body.get("error")
    if isinstance(error, str):
        description = body.get("error_description")
        return error, (description if isinstance(description, str) else None), None
    if not isinstance(error, Mapping):
        return None, None, None
    code = error.get("code") if isinstance(error.get("code"), str) else None
    raw_message = error.get("message")
    message = _unwrap_intune_message(raw_message) if isinstance(raw_message, str) else None
    request_id = None
    inner = error.get("innerError") or error.get("innererror")
    if isinstance(inner, Mapping):
        for key in ("request-id", "requestId", "client-request-id"):
            value = inner.get(key)
            if isinstance(value, str) and value:
                request_id = value
                break
    return code, message, request_id


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _is_approval_required(body: Any, code: str | None) -> bool:
    """Multi Admin Approval's code, on the error or on its innerError (any casing)."""
    if code and code.lower() == APPROVAL_REQUIRED_CODE.lower():
        return True
    if isinstance(body, bytes | bytearray | str):
        try:
            body = json.loads(body)
        except ValueError:
            return False
    error = body.get("error") if isinstance(body, Mapping) else None
    inner = (
        error.get("innerError") or error.get("innererror") if isinstance(error, Mapping) else None
    )
    inner_code = inner.get("code") if isinstance(inner, Mapping) else None
    return isinstance(inner_code, str) and inner_code.lower() == APPROVAL_REQUIRED_CODE.lower()


def request_id_from(headers: Mapping[str, str] | None, body_request_id: str | None) -> str | None:
    """Graph's ``request-id`` header, else ``client-request-id``, else innerError's id."""
    return (
        _header(headers, "request-id") or _header(headers, "client-request-id") or body_request_id
    )


def describe_target(method: str | None, url: str | None) -> str:
    """``GET /beta/deviceManagement/...`` without scheme, host or query string."""
    path = urlsplit(url).path if url else ""
    return f"{method or ''} {path or url or ''}".strip()


def _gave_up(attempts: int, waited_seconds: float, retry_after: float | None) -> str:
    """``Gave up after 3 attempt(s) and 10.0 s of waiting; Graph asked to wait 400 s more``."""
    text = f"Gave up after {attempts} attempt(s) and {waited_seconds:.1f} s of waiting"
    if retry_after is not None and retry_after > 0:
        text += f"; Graph asked to wait {retry_after:g} s more, beyond the retry budget"
    return text


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def error_from_response(
    *,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None,
    method: str | None,
    url: str | None,
    attempts: int = 1,
    waited_seconds: float = 0.0,
    retry_after: float | None = None,
) -> GraphError:
    """Build the exception a failed Graph answer stands for (the caller raises it)."""
    code, message, body_request_id = parse_error_body(body)
    request_id = request_id_from(headers, body_request_id)
    target = describe_target(method, url)
    status_text = _status_text(status)
    graph_says = f": {message.rstrip('. ')}" if message else ""
    suffix = f" (request-id {request_id})" if request_id else ""
    fields: dict[str, Any] = {
        "status": status,
        "code": code,
        "message": message,
        "request_id": request_id,
        "method": method,
        "url": url,
    }
    gave_up = _gave_up(attempts, waited_seconds, retry_after)
    was_retried = attempts > 1 or (retry_after is not None and retry_after > 0)

    if status in (400, 403) and _is_approval_required(body, code):
        return ApprovalRequiredError(
            f"Graph refused {target} ({status_text}){graph_says}. Multi Admin Approval is "
            "enabled on this tenant: this change requires an approved request. Submit the "
            "change for approval in the Intune admin center (Tenant administration > Multi Admin "
            f"Approval), then retry once it is approved.{suffix}",
            **fields,
        )
    if status == 400:
        return BadRequestError(
            f"Graph rejected {target} as invalid ({status_text}){graph_says}. Check the request "
            f"path and payload for this object.{suffix}",
            **fields,
        )
    if status == 401:
        return PermissionDeniedError(
            f"Graph did not accept the access token for {target} ({status_text}){graph_says}. "
            "Check that the app registration's credentials are valid for this tenant and that "
            f"the token is issued for this cloud's Graph.{suffix}",
            **fields,
        )
    if status == 403:
        return PermissionDeniedError(
            f"Graph denied {target} ({status_text}){graph_says}. Grant the app the permission "
            f"this resource needs and admin-consent it.{suffix}",
            **fields,
        )
    if status == 404:
        return NotFoundError(
            f"Graph found nothing at {target} ({status_text}){graph_says}. The object may have "
            f"been deleted, or the id or path is wrong.{suffix}",
            **fields,
        )
    if status == 429:
        return ThrottledError(
            f"Graph kept throttling {target} ({status_text}){graph_says}. {gave_up}. Wait a few "
            "minutes or run fewer operations against this tenant at the same time, then "
            f"retry.{suffix}",
            attempts=attempts,
            waited_seconds=waited_seconds,
            **fields,
        )
    if status >= 500:
        return ServerError(
            f"Graph failed on its side for {target} ({status_text}){graph_says}. "
            f"{gave_up + '. ' if was_retried else ''}This is usually temporary: retry "
            f"later.{suffix}",
            **fields,
        )
    return GraphError(
        f"Graph answered {target} with {status_text}{graph_says}.{suffix}",
        **fields,
    )


def outcome_unknown_error(
    *,
    method: str,
    url: str,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    cause: str = "",
) -> OutcomeUnknownError:
    """The error for a create whose answer was lost (``status`` None) or unclear (502/503/504)."""
    target = describe_target(method, url)
    code, message, body_request_id = (
        parse_error_body(body) if body is not None else (None, None, None)
    )
    request_id = request_id_from(headers, body_request_id)
    if status is not None:
        what = f"answered {_status_text(status)}" + (f" ({cause})" if cause else "")
    else:
        what = f"gave no answer ({cause or 'connection lost'})"
    suffix = f" (request-id {request_id})" if request_id else ""
    return OutcomeUnknownError(
        f"Graph {what} for {target} after the request was sent: it may or may not have been "
        "applied, so it was not sent again blindly. Look for the object in the target before "
        f"creating it again (a restore does this itself).{suffix}",
        status=status,
        code=code,
        message=message,
        request_id=request_id,
        method=method,
        url=url,
    )
