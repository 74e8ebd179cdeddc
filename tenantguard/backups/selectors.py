"""Reads of backups for pages, the API and the CLI."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from tenantguard.accounts.permissions import tenants_visible_to
from tenantguard.backups.models import BackupItem, BackupPayload, BackupSet
from tenantguard.crypto import decryption_problem


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


def backup_set_payloads_only_here(*, backup_set: BackupSet) -> int:
    """How many stored values (payloads and assignments) only ``backup_set``'s items refer to:
    deleting the set deletes them (the others are shared with the tenant's other sets and
    stay)."""
    items = BackupItem._base_manager
    mine = items.filter(backup_set=backup_set)
    others = items.exclude(backup_set=backup_set)
    return (
        BackupPayload.objects.filter(tenant_id=backup_set.tenant_id)
        .filter(
            Q(pk__in=mine.values("stored_payload"))
            | Q(pk__in=mine.filter(stored_assignments__isnull=False).values("stored_assignments"))
        )
        .exclude(Exists(others.filter(stored_payload=OuterRef("pk"))))
        .exclude(Exists(others.filter(stored_assignments=OuterRef("pk"))))
        .count()
    )


def scope_tag_names(*, backup_set: BackupSet) -> dict[str, str]:
    """Scope tag id -> name, from the scope tags captured in the same backup set."""
    names = {"0": "Default"}
    for source_id, name in backup_set.items.filter(policy_type="scope_tag").values_list(
        "source_id", "display_name"
    ):
        names[source_id] = name
    return names


def backup_item_problems(*, item: BackupItem) -> list[str]:
    """What is wrong with a stored item, for pages and answers to show in its place.

    An item damaged in the database (a payload that is not a JSON object, captured secret values
    no configured key decrypts) is shown with its problem; it never breaks the list around it,
    and the stored ciphertext is never shown."""
    problems = []
    if not isinstance(item.payload, dict):
        problems.append(
            f"Its stored payload is {_json_kind(item.payload)}, not a JSON object: it cannot be "
            "shown, compared or restored. Take a new backup of the tenant to capture it again."
        )
    if item.assignments is not None and not isinstance(item.assignments, list):
        problems.append(
            f"Its stored assignments are {_json_kind(item.assignments)}, not a list: they are "
            "treated as not captured."
        )
    if decryption_problem(item.secrets):
        problems.append(decryption_problem(item.secrets))
    return problems


def _json_kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "not JSON"


def backup_item_export(
    *, item: BackupItem, group_names: dict[str, str], tag_names: dict[str, str]
) -> dict[str, Any]:
    """An item as `backup show --json` and the payload viewer present it (secrets never included).

    ``warnings`` lists the capture warnings, then the item's stored-data problems
    (``backup_item_problems``); a payload that is not a JSON object is given as None."""
    assignments = None
    if isinstance(item.assignments, list):
        assignments = []
        for assignment in item.assignments:
            if not isinstance(assignment, dict):
                continue
            target = assignment.get("target")
            target = dict(target) if isinstance(target, dict) else {}
            group_id = target.get("groupId")
            if group_id:
                target["groupDisplayName"] = group_names.get(
                    str(group_id), "(group not found in tenant)"
                )
            assignments.append({**assignment, "target": target})
    scope_tag_ids = item.scope_tag_ids if isinstance(item.scope_tag_ids, list) else []
    warnings = item.warnings if isinstance(item.warnings, list) else [item.warnings]
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
            {"id": str(tag), "name": tag_names.get(str(tag), "(unknown scope tag)")}
            for tag in scope_tag_ids
        ],
        "assignments": assignments,
        "warnings": [str(warning) for warning in warnings if warning]
        + backup_item_problems(item=item),
        "has_secret_values": bool(item.secrets),
        "payload": item.payload if isinstance(item.payload, dict) else None,
    }
