from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenantguard.audit.context import (
    bind_credential,
    bind_request_id,
    reset_credential,
    reset_request_id,
)


class RequestIdMiddleware:
    """Gives each request an id (or keeps the caller's X-Request-ID) for logs and audit events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        token = bind_request_id(incoming[:64] if incoming.isprintable() and incoming else None)
        # Every request starts with no credential label (a thread serves many requests); the
        # API's token authentication sets one.
        credential = bind_credential("")
        try:
            response = self.get_response(request)
        finally:
            reset_credential(credential)
            reset_request_id(token)
        return response
