"""The ``NinjaAPI`` instance: session authentication, error shapes and the routers.

Authentication is Django's session (``django_auth``): the API serves the web UI and scripts that
hold a session cookie. Unsafe methods (POST, PUT, ...) also need the CSRF token
(``X-CSRFToken`` header), exactly like the web forms. There is no separate token model.

Errors all have the shape ``{"detail": str, "reasons": [str]}``:
403 when the policy or the permission helpers refuse (``reasons`` lists every unmet condition),
400 when a request cannot be done as asked (``detail`` says what to change), 404 for objects
outside the user's tenants, 502 when Microsoft Graph fails.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from tenantguard.accounts.permissions import AccessDenied
from tenantguard.api.backups import router as backups_router
from tenantguard.api.restores import router as restores_router
from tenantguard.api.tenants import router as tenants_router
from tenantguard.graph import GraphError
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.tenants.graph_access import TenantConfigurationError

api = NinjaAPI(
    title="TenantGuard API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    docs_decorator=login_required,
    description=(
        "Back up Intune tenants and walk restore runs through the wizard's steps. "
        "Authenticated with the TenantGuard session (log in at /admin/); unsafe methods need "
        "the CSRF token in the X-CSRFToken header. Refusals answer 403 with the reasons."
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
