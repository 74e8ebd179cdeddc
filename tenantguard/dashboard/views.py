"""The admin index is the dashboard: Unfold calls ``dashboard_callback`` (UNFOLD
``DASHBOARD_CALLBACK``) for the index page's context, and ``admin/index.html`` renders it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenantguard.dashboard.selectors import TenantOverview, tenant_overviews


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    overviews = tenant_overviews(user=request.user)
    context.update(
        title="Dashboard",
        overviews=overviews,
        running=_newest_first(overviews, "running_restores"),
        attention=_newest_first(overviews, "attention_restores"),
        can_add_tenant=bool(request.user.is_superuser),
    )
    return context


def _newest_first(overviews: list[TenantOverview], runs: str) -> list[tuple[Any, Any]]:
    """``(overview, run)`` pairs of every tenant's ``runs``, the most recent first."""
    pairs = [(overview, run) for overview in overviews for run in getattr(overview, runs)]
    return sorted(pairs, key=lambda pair: (pair[1].at, pair[1].run_id), reverse=True)
