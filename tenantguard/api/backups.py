"""Backup sets and their items. Captured secret values never leave: only ``has_secret_values``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from tenantguard.api.common import DEFAULT_PAGE_SIZE, paged, visible_backup_set
from tenantguard.api.schemas import (
    BackupItemOut,
    BackupSetDetailOut,
    BackupSetOut,
    ErrorOut,
    ObjectId,
    Page,
)
from tenantguard.backups.models import BackupSet
from tenantguard.backups.selectors import (
    backup_item_export,
    backup_set_type_counts,
    backup_sets_visible_to,
    scope_tag_names,
)

router = Router(tags=["backups"])


def backup_set_out(backup_set: BackupSet) -> dict[str, Any]:
    return {
        "id": backup_set.pk,
        "tenant_id": backup_set.tenant_id,
        "tenant_label": backup_set.tenant.display_name,
        "name": backup_set.name,
        "status": backup_set.status,
        "kind": backup_set.kind,
        "restore_run_id": backup_set.restore_run_id,
        "created_by": backup_set.created_by.get_username() if backup_set.created_by else None,
        "created_at": backup_set.created_at,
        "captured_at": backup_set.captured_at,
        "item_count": backup_set.item_count,
        "progress": backup_set.progress or {},
        "error": backup_set.error,
    }


class BackupSetFilter(Schema):
    tenant: ObjectId | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


class BackupItemFilter(Schema):
    type: str = ""
    search: str = ""
    include: str = ""
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@router.get("/backup-sets", response=Page[BackupSetOut], summary="Backup sets of tenants you see")
def backup_set_list(request: HttpRequest, filters: Query[BackupSetFilter]) -> dict[str, Any]:
    backup_sets = backup_sets_visible_to(request.user)
    if filters.tenant is not None:
        backup_sets = backup_sets.filter(tenant_id=filters.tenant)
    return paged(backup_sets, page=filters.page, page_size=filters.page_size, render=backup_set_out)


@router.get(
    "/backup-sets/{backup_set_id}",
    response={200: BackupSetDetailOut, 404: ErrorOut},
    summary="A backup set with item counts per type and capture warnings",
)
def backup_set_detail(request: HttpRequest, backup_set_id: int) -> dict[str, Any]:
    backup_set = visible_backup_set(request, backup_set_id)
    return {
        **backup_set_out(backup_set),
        "type_counts": backup_set_type_counts(backup_set=backup_set),
        "warnings": backup_set.warnings or [],
    }


@router.get(
    "/backup-sets/{backup_set_id}/items",
    response={200: Page[BackupItemOut], 404: ErrorOut},
    summary="Items of a backup set (?include=payload for payloads; never secret values)",
)
def backup_item_list(
    request: HttpRequest, backup_set_id: int, filters: Query[BackupItemFilter]
) -> dict[str, Any]:
    backup_set = visible_backup_set(request, backup_set_id)
    items = backup_set.items.all()
    if filters.type:
        items = items.filter(policy_type=filters.type)
    if filters.search:
        items = items.filter(display_name__icontains=filters.search)
    group_names = backup_set.group_names or {}
    tag_names = scope_tag_names(backup_set=backup_set)
    with_payload = "payload" in filters.include.split(",")

    def render(item: Any) -> dict[str, Any]:
        exported = backup_item_export(item=item, group_names=group_names, tag_names=tag_names)
        if not with_payload:
            exported["payload"] = None
        return {"id": item.pk, **exported}

    return paged(items, page=filters.page, page_size=filters.page_size, render=render)
