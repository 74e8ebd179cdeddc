"""RestoreScopeBuilder: the selectable items of a backup set for the wizard's scope step.

Items are grouped by category, type and platform, with foundations (scope tags, assignment
filters, notification templates) first and preview-only types marked, searchable by name, type
or platform. Everything is answered by the database (one aggregate query for the groups and one
sliced query for the page of items); payloads are never loaded, so a backup set of 10,000 items
costs the same two queries as one of ten.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.intune import registry

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class TypeInfo:
    label: str
    category: str
    is_foundation: bool
    is_preview_only: bool
    #: Position in the registry's restore order (foundations first).
    order: int
    #: Why a preview-only type is never written ("" otherwise).
    preview_only_reason: str = ""


@dataclass(frozen=True)
class ScopeItem:
    id: int
    display_name: str
    source_id: str
    policy_type: str
    platform: str


@dataclass
class ScopeGroup:
    category: str
    policy_type: str
    type_label: str
    platform: str
    #: Items of this group matching the search, on all pages.
    count: int
    is_foundation: bool
    is_preview_only: bool
    #: Why the type is never written (shown under the group's title when it is preview-only).
    preview_only_reason: str = ""
    #: The group's items on the requested page (may be empty: the group is on another page).
    items: list[ScopeItem] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.policy_type}:{self.platform}"


@dataclass(frozen=True)
class ScopePage:
    groups: list[ScopeGroup]
    search: str
    page: int
    page_size: int
    total_items: int

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total_items / self.page_size))


@functools.lru_cache(maxsize=512)
def type_info(policy_type: str) -> TypeInfo:
    """Registry facts about a type key; unknown keys fail safe to preview-only."""
    ordered = registry.all_types()
    try:
        ptype = registry.get(policy_type)
    except KeyError:
        return TypeInfo(
            policy_type,
            "Unsupported",
            False,
            True,
            len(ordered) + 1,
            registry.UNSUPPORTED.preview_only_why,
        )
    order = next((i for i, known in enumerate(ordered) if known.key == ptype.key), len(ordered))
    return TypeInfo(
        ptype.label,
        ptype.category,
        ptype.is_foundation,
        ptype.is_preview_only,
        order,
        ptype.preview_only_why,
    )


class RestoreScopeBuilder:
    """The scope step's view of one backup set."""

    def __init__(self, backup_set: BackupSet) -> None:
        self.backup_set = backup_set

    def _items(self, search: str = "") -> QuerySet[BackupItem]:
        items = BackupItem.objects.filter(backup_set=self.backup_set)
        term = search.strip()
        if not term:
            return items
        if "\x00" in term:
            # No stored name holds a NUL (PostgreSQL refuses one even as a query parameter).
            return items.none()
        lowered = term.lower()
        # Type labels live in the registry, not the database: turn a label match into keys.
        label_keys = [
            ptype.key
            for ptype in (*registry.all_types(), registry.UNSUPPORTED)
            if lowered in ptype.label.lower()
        ]
        return items.filter(
            Q(display_name__icontains=term)
            | Q(policy_type__icontains=term)
            | Q(platform__icontains=term)
            | Q(category__icontains=term)
            | Q(policy_type__in=label_keys)
        )

    def _restore_order(self) -> Case:
        whens = [
            When(policy_type=ptype.key, then=Value(index))
            for index, ptype in enumerate(registry.all_types())
        ]
        return Case(*whens, default=Value(len(whens)), output_field=IntegerField())

    def groups(
        self, search: str = "", page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> ScopePage:
        """Groups with their counts, and the items of page ``page`` placed in their groups."""
        page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        page = max(1, int(page))
        matching = self._items(search)

        rows = list(
            matching.order_by()
            .values("category", "policy_type", "platform")
            .annotate(count=Count("id"))
        )
        groups: dict[tuple[str, str], ScopeGroup] = {}
        for row in rows:
            info = type_info(row["policy_type"])
            groups[(row["policy_type"], row["platform"])] = ScopeGroup(
                category=row["category"] or info.category,
                policy_type=row["policy_type"],
                type_label=info.label,
                platform=row["platform"],
                count=row["count"],
                is_foundation=info.is_foundation,
                is_preview_only=info.is_preview_only,
                preview_only_reason=info.preview_only_reason,
            )
        ordered = sorted(
            groups.values(),
            key=lambda g: (
                type_info(g.policy_type).order,
                g.category,
                g.type_label,
                g.platform,
            ),
        )
        total = sum(group.count for group in ordered)

        offset = (page - 1) * page_size
        page_rows = (
            matching.annotate(restore_order=self._restore_order())
            .order_by("restore_order", "category", "policy_type", "platform", "display_name", "id")
            .values("id", "display_name", "source_id", "policy_type", "platform")[
                offset : offset + page_size
            ]
        )
        for item_row in page_rows:
            group = groups.get((item_row["policy_type"], item_row["platform"]))
            if group is not None:
                group.items.append(ScopeItem(**item_row))
        return ScopePage(
            groups=ordered, search=search, page=page, page_size=page_size, total_items=total
        )

    def item_ids(
        self, *, search: str = "", policy_type: str | None = None, platform: str | None = None
    ) -> list[int]:
        """Ids for "select all" (of one group when ``policy_type``/``platform`` are given)."""
        items = self._items(search)
        if policy_type is not None:
            items = items.filter(policy_type=policy_type)
        if platform is not None:
            items = items.filter(platform=platform)
        return list(items.order_by("id").values_list("id", flat=True))

    def summary(self) -> dict[str, Any]:
        """Counts for the source step: items, foundations and preview-only items."""
        rows = self.backup_set.items.order_by().values("policy_type").annotate(count=Count("id"))
        result = {"items": 0, "foundations": 0, "preview_only": 0}
        for row in rows:
            info = type_info(row["policy_type"])
            result["items"] += row["count"]
            result["foundations"] += row["count"] if info.is_foundation else 0
            result["preview_only"] += row["count"] if info.is_preview_only else 0
        return result
