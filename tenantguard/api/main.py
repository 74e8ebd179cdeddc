"""The ``NinjaAPI`` instance: session authentication, error shapes and the routers.

Two ways to authenticate, both acting as a TenantGuard user with that user's roles:
- a personal API token (``Authorization: Bearer tg_…``, see ``accounts/tokens.py``), for scripts
  and pipelines; no CSRF token is needed since browsers never attach it on their own;
- Django's session (``django_auth``), for the web UI; unsafe methods (POST, PUT, ...) then also
  need the CSRF token (``X-CSRFToken`` header), exactly like the web forms.

Errors all have the shape ``{"detail": str, "reasons": [str]}``:
403 when the policy or the permission helpers refuse (``reasons`` lists every unmet condition),
400 when a request cannot be done as asked (``detail`` says what to change), 404 for objects
outside the user's tenants, 502 when Microsoft Graph fails.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import HttpBearer, django_auth

from tenantguard.accounts.permissions import AccessDenied
from tenantguard.accounts.tokens import api_token_for, api_token_label
from tenantguard.api.backups import router as backups_router
from tenantguard.api.restores import router as restores_router
from tenantguard.api.tenants import router as tenants_router
from tenantguard.audit.context import bind_credential
from tenantguard.graph import GraphError
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.tenants.graph_access import TenantConfigurationError


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer tg_…``: the request acts as the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        record = api_token_for(token)
        if record is None:
            return None
        request.user = record.user
        # Audit events of this request say which token acted (the request-id middleware
        # clears this when the request ends).
        bind_credential(api_token_label(record))
        return record.user


api = NinjaAPI(
    title="TenantGuard API",
    version="1",
    urls_namespace="api",
    auth=[ApiTokenAuth(), django_auth],
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


@api.exception_handler(GraphError)
def _graph_error(request: HttpRequest, exc: GraphError) -> HttpResponse:
    return _error(request, 502, f"Microsoft Graph did not complete the request: {exc}")


api.add_router("/tenants", tenants_router)
api.add_router("/", backups_router)
api.add_router("/restore-runs", restores_router)
