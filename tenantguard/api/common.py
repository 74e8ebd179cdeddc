"""What every router shares: paging, and looking objects up within what the user may see.

An object outside the user's tenants answers 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from tenantguard.accounts.permissions import tenants_visible_to
from tenantguard.backups.models import BackupSet
from tenantguard.backups.selectors import backup_sets_visible_to
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.selectors import restore_runs_visible_to
from tenantguard.tenants.models import Tenant

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def paged(
    rows: QuerySet[Any] | Sequence[Any],
    *,
    page: int,
    page_size: int,
    render: Callable[[Any], Any] = lambda row: row,
) -> dict[str, Any]:
    """One page of ``rows`` (1-based; a page past the end is the last page)."""
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    paginator = Paginator(rows, size)
    current = paginator.get_page(max(1, page))
    return {
        "count": paginator.count,
        "page": current.number,
        "page_size": size,
        "num_pages": paginator.num_pages,
        "items": [render(row) for row in current.object_list],
    }


def visible_tenant(request: HttpRequest, tenant_id: int) -> Tenant:
    return get_object_or_404(tenants_visible_to(request.user), pk=tenant_id)


def visible_backup_set(request: HttpRequest, backup_set_id: int) -> BackupSet:
    return get_object_or_404(backup_sets_visible_to(request.user), pk=backup_set_id)


def visible_run(request: HttpRequest, run_id: int) -> RestoreRun:
    return get_object_or_404(restore_runs_visible_to(request.user), pk=run_id)
