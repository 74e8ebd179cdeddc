"""TenantGuard's REST API (django-ninja, OpenAPI at ``/api/openapi.json``).

Authenticated with the Django session, for the web UI and for scripts that hold a session;
unsafe methods need the CSRF token. Endpoints only parse, authorize, call one service or
selector and render; every decision is the services' and ``RestoreRunPolicy``'s.
"""
