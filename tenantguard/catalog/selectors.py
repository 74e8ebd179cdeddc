"""Reading the setting definition cache."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

from django.utils import timezone

from tenantguard.catalog.models import CLOUD_KEY_LENGTH, SettingDefinition
from tenantguard.intune.setting_definitions import OptionLabel, SettingLabel
from tenantguard.tenants.models import Cloud, Tenant

#: A cached definition (or a remembered "unknown") older than this is read again: Intune adds
#: and renames settings with its monthly releases.
REREAD_AFTER: Final = timedelta(days=30)

#: A cached definition lacking an option a payload uses is read again, but at most this often:
#: when Graph still lacks the option, the next previews do not ask again and again.
OPTIONS_REREAD_AFTER: Final = timedelta(days=1)

#: Ids per ``IN`` query (SQLite allows 32,766 variables; stay far below).
_IDS_PER_QUERY: Final = 500


def cloud_key(tenant: Tenant) -> str:
    """The cache's cloud for ``tenant``: ``Tenant.cloud``, and a custom cloud's Graph URL with
    it (two custom clouds are two vocabularies)."""
    if tenant.cloud == Cloud.CUSTOM:
        return f"custom:{tenant.graph_url.rstrip('/')}"[:CLOUD_KEY_LENGTH]
    return str(tenant.cloud)


def _rows(*, tenant: Tenant, definition_ids: Iterable[str]) -> list[SettingDefinition]:
    wanted = sorted({str(i) for i in definition_ids if i})
    rows: list[SettingDefinition] = []
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        rows.extend(
            SettingDefinition.objects.filter(
                tenant=tenant,
                cloud=cloud_key(tenant),
                definition_id__in=wanted[start : start + _IDS_PER_QUERY],
            )
        )
    return rows


def setting_definitions_missing(
    *,
    tenant: Tenant,
    definition_ids: Iterable[str],
    option_values: Mapping[str, Iterable[str]] | None = None,
    now: datetime | None = None,
) -> set[str]:
    """The ids among ``definition_ids`` the cache cannot answer for ``tenant`` in its cloud:
    never read, or read more than ``REREAD_AFTER`` ago, or (``option_values``: per id, the
    option ``itemId``s the payloads use) known but lacking a used option and read more than
    ``OPTIONS_REREAD_AFTER`` ago (Intune added the option since). A remembered unknown id is
    answered."""
    wanted = {str(i) for i in definition_ids if i}
    moment = now or timezone.now()
    fresh_after = moment - REREAD_AFTER
    options_fresh_after = moment - OPTIONS_REREAD_AFTER
    used = option_values or {}
    cached = set()
    for row in _rows(tenant=tenant, definition_ids=wanted):
        if row.read_at < fresh_after:
            continue
        if row.known and row.read_at < options_fresh_after:
            options = row.options if isinstance(row.options, dict) else {}
            if any(value not in options for value in used.get(row.definition_id, ())):
                continue
        cached.add(row.definition_id)
    return wanted - cached


def setting_labels(*, tenant: Tenant, definition_ids: Iterable[str]) -> dict[str, SettingLabel]:
    """``{definition_id: SettingLabel}`` from the cache, for the tenant's cloud. Ids the cache
    does not know, or knows to be unknown to Graph, are absent: callers show the raw id."""
    labels: dict[str, SettingLabel] = {}
    for row in _rows(tenant=tenant, definition_ids=definition_ids):
        if not row.known:
            continue
        labels[row.definition_id] = SettingLabel(
            definition_id=row.definition_id,
            display_name=row.display_name or row.definition_id,
            description=row.description,
            category=row.category,
            options={
                item_id: OptionLabel(
                    display_name=str(option.get("display_name") or item_id),
                    description=str(option.get("description") or ""),
                )
                for item_id, option in (row.options or {}).items()
                if isinstance(option, dict)
            },
        )
    return labels


__all__ = [
    "OPTIONS_REREAD_AFTER",
    "REREAD_AFTER",
    "cloud_key",
    "setting_definitions_missing",
    "setting_labels",
]
