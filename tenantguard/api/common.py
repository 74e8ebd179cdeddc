"""What every router shares: paging, and looking objects up within what the user may see.

An object outside the user's tenants answers 404, as if it did not exist; so does an id no
object can have (``common.ids.parse_id``: beyond 64 bits, zero or negative).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from tenantguard.accounts.permissions import tenants_visible_to
from tenantguard.backups.models import BackupSet
from tenantguard.backups.selectors import backup_sets_visible_to
from tenantguard.common.ids import parse_id
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


M = TypeVar("M", bound=Model)


def visible_object(rows: QuerySet[M], object_id: object, *, noun: str) -> M:
    """The row ``object_id`` among ``rows`` (what the user may see), else 404 naming ``noun``."""
    pk = parse_id(object_id)
    found = rows.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise Http404(f"No {noun} with id {object_id} among the tenants you have a role on.")
    return found


def visible_tenant(request: HttpRequest, tenant_id: int) -> Tenant:
    return visible_object(tenants_visible_to(request.user), tenant_id, noun="tenant")


def visible_backup_set(request: HttpRequest, backup_set_id: int) -> BackupSet:
    return visible_object(backup_sets_visible_to(request.user), backup_set_id, noun="backup set")


def visible_run(request: HttpRequest, run_id: int) -> RestoreRun:
    return visible_object(restore_runs_visible_to(request.user), run_id, noun="restore run")
