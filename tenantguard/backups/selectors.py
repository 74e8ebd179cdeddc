"""Reads of backups for pages, the API and the CLI."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from tenantguard.accounts.permissions import tenants_visible_to
from tenantguard.backups.models import BackupItem, BackupSet


def backup_sets_visible_to(user: Any) -> QuerySet[BackupSet]:
    return BackupSet.objects.filter(tenant__in=tenants_visible_to(user)).select_related(
        "tenant", "created_by"
    )


def backup_set_type_counts(*, backup_set: BackupSet) -> list[dict[str, Any]]:
    """Items per (category, type, platform), for the backup page and the restore source step."""
    rows = (
        backup_set.items.values("category", "policy_type", "platform")
        .annotate(count=Count("id"))
        .order_by("category", "policy_type", "platform")
    )
    return [dict(row) for row in rows]


def scope_tag_names(*, backup_set: BackupSet) -> dict[str, str]:
    """Scope tag id -> name, from the scope tags captured in the same backup set."""
    names = {"0": "Default"}
    for source_id, name in backup_set.items.filter(policy_type="scope_tag").values_list(
        "source_id", "display_name"
    ):
        names[source_id] = name
    return names


def backup_item_export(
    *, item: BackupItem, group_names: dict[str, str], tag_names: dict[str, str]
) -> dict[str, Any]:
    """An item as `backup show --json` and the payload viewer present it (secrets never included)."""
    assignments = None
    if item.assignments is not None:
        assignments = []
        for assignment in item.assignments:
            target = dict(assignment.get("target") or {})
            group_id = target.get("groupId")
            if group_id:
                target["groupDisplayName"] = group_names.get(
                    group_id, "(group not found in tenant)"
                )
            assignments.append({**assignment, "target": target})
    return {
        "policy_type": item.policy_type,
        "category": item.category,
        "source_id": item.source_id,
        "display_name": item.display_name,
        "platform": item.platform,
        "source_modified_at": item.source_modified_at.isoformat()
        if item.source_modified_at
        else None,
        "content_hash": item.content_hash,
        "scope_tags": [
            {"id": tag, "name": tag_names.get(tag, "(unknown scope tag)")}
            for tag in item.scope_tag_ids
        ],
        "assignments": assignments,
        "warnings": item.warnings,
        "has_secret_values": bool(item.secrets),
        "payload": item.payload,
    }
