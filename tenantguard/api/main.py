"""The ``NinjaAPI`` instance: session authentication, error shapes and the routers.

Two ways to authenticate, both acting as a TenantGuard user with that user's roles:
- a personal API token (``Authorization: Bearer tg_…``, see ``accounts/tokens.py``), for scripts
  and pipelines; no CSRF token is needed since browsers never attach it on their own;
- Django's session (``django_auth``), for the web UI; unsafe methods (POST, PUT, ...) then also
  need the CSRF token (``X-CSRFToken`` header), exactly like the web forms.

Errors all have the shape ``{"detail": str, "reasons": [str]}``:
403 when the policy or the permission helpers refuse (``reasons`` lists every unmet condition),
400 when a request cannot be done as asked (``detail`` says what to change), including invalid
input (never 422: ``reasons`` lists each field as ``location.field: problem``, e.g. an id beyond
64 bits), 401 without valid credentials, 404 for objects outside the user's tenants (and ids no
object can have), 502 when Microsoft Graph fails, 429 with ``Retry-After`` when a rate limit is
used up (per user: connection tests, checks, previews, backups; per address: requests
with an invalid API token, so tokens cannot be guessed).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, django_auth

from tenantguard.accounts.permissions import AccessDenied
from tenantguard.accounts.tokens import api_token_for, api_token_label
from tenantguard.api.backups import router as backups_router
from tenantguard.api.restores import router as restores_router
from tenantguard.api.tenants import router as tenants_router
from tenantguard.audit.context import bind_credential
from tenantguard.graph import GraphError
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.security.ratelimit import (
    RateLimited,
    RateLimitScope,
    client_address,
    rate_limit_check,
    rate_limit_hit,
)
from tenantguard.tenants.graph_access import TenantConfigurationError


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer tg_…``: the request acts as the token's user.

    An address that sent too many invalid tokens gets 429 for the rest of the window, whatever
    token it sends: checking tokens from it any further would let guessing go on."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        address = f"address:{client_address(request) or 'unknown'}"
        rate_limit_check(scope=RateLimitScope.API_TOKEN_FAILURE, subject=address)
        record = api_token_for(token)
        if record is None:
            rate_limit_hit(scope=RateLimitScope.API_TOKEN_FAILURE, subject=address)
            return None
        request.user = record.user
        # Audit events of this request say which token acted (the request-id middleware
        # clears this when the request ends).
        bind_credential(api_token_label(record))
        return record.user


#: Declared on every operation: any request with a bearer token can meet the address limit.
TOO_MANY_REQUESTS = {
    "description": "Too many requests: a rate limit is used up. `detail` says which and when "
    "to retry; `Retry-After` gives the seconds to wait.",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
}


#: Declared on every operation: what any request can meet (400, 401), and for operations on one
#: object (a path id), that it is not among the user's tenants (404).
COMMON_ERRORS = {
    "400": "The request cannot be done as sent: `detail` says what to change; for invalid "
    "input, `reasons` lists each field as `location.field: problem`.",
    "401": "Not authenticated: send `Authorization: Bearer tg_…` or log in.",
    "404": "No such object among the tenants you have a role on.",
}


def _declare_common_errors(schema: dict[str, Any]) -> None:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_ERRORS.items():
                if status == "404" and "{" not in path:
                    continue
                responses.setdefault(status, {"description": description, **error})


def _status_keys_as_strings(schema: dict[str, Any]) -> None:
    """ninja keys responses by int status; JSON keys are strings. Made strings first, so a status
    added as a string replaces ninja's instead of being written twice (duplicate JSON keys make
    Swagger UI refuse the whole document)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"] = {
                    str(status): response for status, response in operation["responses"].items()
                }


def _declare_rate_limits(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.get("security"):
                responses = operation.setdefault("responses", {})
                responses["429"] = {**responses.get("429", {}), **TOO_MANY_REQUESTS}


class TextOnlyParser(Parser):
    """Request values that every database can store, else 400 before anything runs.

    A lone surrogate escape (``"\\ud800"``) is valid JSON but no Unicode text: the database,
    fingerprints and the audit chain cannot encode it. A NUL character (``"\\u0000"``, ``%00``)
    is text PostgreSQL refuses in text and jsonb columns, and in a query's parameters. Either
    used to fail deep inside (500); no id, name or filter TenantGuard takes contains one."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        # Any exception here makes ninja answer 400 "Cannot parse request body".
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # a lone surrogate cannot encode
        if _holds_nul(data):
            raise ValueError("The request body contains a NUL character (\\u0000).")
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> Any:
        where = "query" if data is request.GET else "form"
        for key, values in data.lists():
            if _holds_nul(key) or any(_holds_nul(str(value)) for value in values):
                name = key.replace("\x00", "")
                raise ValidationError([{"loc": (where, name), "msg": "contains a NUL character"}])
        return super().parse_querydict(data, list_fields, request)


def _holds_nul(value: Any) -> bool:
    """Whether a NUL character is in ``value`` or any string (key or value) it contains."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class TenantGuardAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        _status_keys_as_strings(schema)
        _declare_common_errors(schema)
        _declare_rate_limits(schema)
        return schema


api = TenantGuardAPI(
    title="TenantGuard API",
    version="1",
    urls_namespace="api",
    auth=[ApiTokenAuth(), django_auth],
    parser=TextOnlyParser(),
    docs_decorator=login_required,
    description=(
        "Back up Intune tenants and walk restore runs through the wizard's steps. "
        "Authenticate with a personal API token (`Authorization: Bearer tg_…`, created under "
        "Accounts → API tokens or with `tenantguard token create`), or with the TenantGuard "
        "session (log in at /admin/; unsafe methods then need the CSRF token in the "
        "X-CSRFToken header). Refusals answer 403 with the reasons."
    ),
)


def _error(
    request: HttpRequest, status: int, detail: str, reasons: list[str] | None = None
) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "reasons": reasons or []}, status=status)


def _validation_reason(error: dict[str, Any]) -> str:
    """``query.page: Input should be a valid integer`` (where, then what; never the input)."""
    where = ""
    for part in error.get("loc") or ():
        if isinstance(part, int):
            where += f"[{part}]"
        elif part != "payload":  # ninja's name for the whole body
            where += f".{part}" if where else str(part)
    return f"{where or 'request'}: {error.get('msg', 'invalid value')}"


@api.exception_handler(ValidationError)
def _invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    reasons = [_validation_reason(error) for error in exc.errors]
    return _error(
        request,
        400,
        "The request is not valid: " + "; ".join(reasons) + ". Correct it and send it again.",
        reasons,
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, str(exc) or "Not found.")


@api.exception_handler(RestoreRunRefused)
def _refused(request: HttpRequest, exc: RestoreRunRefused) -> HttpResponse:
    return _error(request, 403, "Not allowed.", exc.reasons)


@api.exception_handler(RestoreRunError)
def _restore_error(request: HttpRequest, exc: RestoreRunError) -> HttpResponse:
    return _error(request, 400, exc.message)


@api.exception_handler(AccessDenied)
def _access_denied(request: HttpRequest, exc: AccessDenied) -> HttpResponse:
    return _error(request, 403, "Not allowed.", [str(exc)])


@api.exception_handler(TenantConfigurationError)
def _tenant_configuration(request: HttpRequest, exc: TenantConfigurationError) -> HttpResponse:
    return _error(request, 400, str(exc))


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = _error(request, 429, exc.message)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(GraphError)
def _graph_error(request: HttpRequest, exc: GraphError) -> HttpResponse:
    return _error(request, 502, f"Microsoft Graph did not complete the request: {exc}")


api.add_router("/tenants", tenants_router)
api.add_router("/", backups_router)
api.add_router("/restore-runs", restores_router)
