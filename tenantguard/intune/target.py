"""The live target tenant as the restore engine sees it (docs/architecture.md §3b).

``read_target`` reads the in-scope types once through ``capture.iter_capture`` so that target
objects are ``CapturedItem``s normalized exactly like backup items; ``match_item`` pairs a
backup item with its target object; ``read_one`` re-reads one object (before a write, for the
read-back after it); ``find_groups`` / ``search_groups`` serve the group-mapping editor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from tenantguard.graph import GraphClient
from tenantguard.intune import capture, nested, registry
from tenantguard.intune.capture import CapturedItem, CaptureWarning

MatchKind = Literal["id", "name", "ambiguous", "none"]

#: Properties read for a group in the mapping editor.
_GROUP_SELECT: Final = "id,displayName"
_BATCH_CHUNK: Final = 20


@dataclass(frozen=True)
class Match:
    """How a backup item pairs with the target.

    ``id``: the target holds the source object itself (same tenant). ``name``: exactly one
    object of the type has the item's display name. ``ambiguous``: several do (``target`` is
    ``None``, ``candidates`` lists them: a blocking check). ``none``: nothing matches (create).
    """

    kind: MatchKind
    target: CapturedItem | None
    candidates: list[CapturedItem] = field(default_factory=list)


class TargetState:
    """Objects of the target tenant by type, indexed once by id and by display name."""

    def __init__(
        self,
        *,
        items: Iterable[CapturedItem] = (),
        unreadable: Mapping[str, str] | None = None,
        group_names: Mapping[str, str] | None = None,
        parents: Mapping[str, list[tuple[str, str]]] | None = None,
    ) -> None:
        #: ``{type_key: message}`` for types that could not be read completely (403, a listing
        #: that stopped): absence of an object there proves nothing.
        self.unreadable: dict[str, str] = dict(unreadable or {})
        #: ``{group_id: displayName}`` of the groups the target's assignments use.
        self.group_names: dict[str, str] = dict(group_names or {})
        #: ``{type_key: [(id, name)]}``: the parent objects a nested type's objects can be
        #: created under (``PolicyType.parent``), for the types read.
        self.parents: dict[str, list[tuple[str, str]]] = dict(parents or {})
        self._items: dict[str, list[CapturedItem]] = {}
        self._by_id: dict[tuple[str, str], CapturedItem] = {}
        self._by_name: dict[tuple[str, str], list[CapturedItem]] = {}
        for item in items:
            self._items.setdefault(item.type_key, []).append(item)
            self._by_id.setdefault((item.type_key, item.source_id), item)
            self._by_name.setdefault((item.type_key, item.display_name), []).append(item)

    def __repr__(self) -> str:
        counts = {key: len(values) for key, values in self._items.items()}
        return f"TargetState(items={counts}, unreadable={sorted(self.unreadable)})"

    @property
    def type_keys(self) -> list[str]:
        """Types holding at least one object."""
        return list(self._items)

    def items(self, type_key: str) -> list[CapturedItem]:
        return list(self._items.get(type_key, ()))

    def by_id(self, type_key: str, object_id: str) -> CapturedItem | None:
        return self._by_id.get((type_key, object_id))

    def by_name(self, type_key: str, display_name: str) -> list[CapturedItem]:
        """Objects of ``type_key`` whose display name is exactly ``display_name``
        (case-sensitive, no trimming)."""
        return list(self._by_name.get((type_key, display_name), ()))


#: ``on_progress(objects_read, type_key)`` is called at most once per this many objects.
PROGRESS_EVERY = 25


def read_target(
    client: GraphClient,
    *,
    type_keys: Iterable[str],
    on_progress: Callable[[int, str], None] | None = None,
) -> TargetState:
    """Read the selected types of the target tenant once (one listing per collection plus the
    batched per-item fetches, as a backup does) and the names of the groups they assign.

    ``on_progress(objects_read, type_key)`` reports the reading as it goes (when the type
    changes and every ``PROGRESS_EVERY`` objects)."""
    items: list[CapturedItem] = []
    unreadable: dict[str, str] = {}
    reported: tuple[int, str] = (0, "")
    type_keys = list(type_keys)  # read twice: the capture, then nested types' parents
    for entry in capture.iter_capture(client, type_keys=type_keys):
        if on_progress is not None and (
            entry.type_key != reported[1] or len(items) - reported[0] >= PROGRESS_EVERY
        ):
            reported = (len(items), entry.type_key)
            on_progress(len(items), entry.type_key)
        if isinstance(entry, CaptureWarning):
            if entry.source_id is None:
                previous = unreadable.get(entry.type_key)
                unreadable[entry.type_key] = (
                    entry.message if previous is None else f"{previous}; {entry.message}"
                )
            continue
        items.append(entry)
    group_ids = {group_id for item in items for group_id in item.group_refs}
    group_names = capture.resolve_group_names(client, group_ids) if group_ids else {}
    parents: dict[str, list[tuple[str, str]]] = {}
    for type_key in dict.fromkeys(type_keys):
        ptype = registry.POLICY_TYPES.get(type_key)
        if ptype is not None and ptype.parent is not None and type_key not in unreadable:
            parents[type_key] = nested.list_parents(client, ptype)
    return TargetState(items=items, unreadable=unreadable, group_names=group_names, parents=parents)


def live_names(client: GraphClient, *, type_key: str) -> dict[str, list[str]]:
    """Display name -> ids of the ``type_key`` objects in the target right now.

    One paged listing with ``$select`` (no per-item reads), so the executor can re-check just
    before a create that no object of that name appeared since it read the target.
    """
    ptype = registry.get(type_key)
    select = {"id", ptype.display_name_property}
    for candidate in registry.types_for_collection(ptype.collection):
        if candidate.discriminator is not None:
            select.add(candidate.discriminator.path.split(".", 1)[0])
    names: dict[str, list[str]] = {}
    path = f"/{ptype.api_version}/{ptype.collection}"
    params = {"$select": ",".join(sorted(select))}
    listed = (
        nested.list_nested(client, ptype, params)
        if ptype.parent is not None
        else client.iter_collection(path, params=params)
    )
    for obj in listed:
        if registry.classify(ptype.collection, obj).key != type_key:
            continue
        names.setdefault(registry.display_name_of(ptype, obj), []).append(str(obj.get("id")))
    return names


def graph_datetime(value: Any) -> datetime | None:
    """A Graph timestamp (``2026-01-02T03:04:05.1234567Z``) as an aware datetime; None when
    absent, unreadable or Graph's "never" (year 1)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Graph sends 7 fractional digits; Python 3.11 reads at most 6
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)].ljust(6, '0')}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.year <= 1:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def find_created(
    client: GraphClient,
    *,
    type_key: str,
    display_name: str,
    known_ids: Iterable[str] = (),
    created_after: datetime | None = None,
    older: list[str] | None = None,
) -> list[str]:
    """Ids of the ``type_key`` objects named ``display_name`` that may be the work of a create
    whose answer was lost: not among ``known_ids`` (the objects of that name that were there
    before the create) and, where Graph returns ``createdDateTime``, created at or after
    ``created_after``. When ``older`` is given, the ids left out only because Graph dates them
    before ``created_after`` are appended to it (from the same listing).

    One full listing of the collection, without ``$select``: not every Intune type has
    ``createdDateTime`` (Graph answers 400 to selecting a property a type lacks), and this
    runs only after an unclear answer.
    """
    ptype = registry.get(type_key)
    excluded = set(known_ids)
    found: list[str] = []
    listed = (
        nested.list_nested(client, ptype)
        if ptype.parent is not None
        else client.iter_collection(f"/{ptype.api_version}/{ptype.collection}")
    )
    for obj in listed:
        if registry.classify(ptype.collection, obj).key != type_key:
            continue
        if registry.display_name_of(ptype, obj) != display_name:
            continue
        object_id = str(obj.get("id") or "")
        if not object_id or object_id in excluded:
            continue
        created = graph_datetime(obj.get("createdDateTime"))
        if created_after is not None and created is not None and created < created_after:
            if older is not None:
                older.append(object_id)
            continue
        found.append(object_id)
    return found


def match_item(
    state: TargetState,
    *,
    type_key: str,
    source_id: str,
    display_name: str,
    same_tenant: bool,
    is_default: bool | None = None,
) -> Match:
    """Pair a backup item with the target: in the same tenant by source id first, then by
    (type, display name); across tenants by name only (ids never carry over).

    ``is_default``: the backup item is the tenant's own default of its type (``PolicyType.
    is_tenant_default`` of its payload; ``None``: judged from ``source_id`` alone)."""
    if same_tenant and source_id:
        found = state.by_id(type_key, source_id)
        if found is not None:
            return Match("id", found, [found])
    ptype = registry.POLICY_TYPES.get(type_key)
    if ptype is not None and (ptype.default_id_suffix or ptype.default_flag):
        # The tenant's default of the type (``<account id>_DefaultLimit``, the default branding
        # profile): matched to the target's default in any tenant, never by name (every
        # default is "All users and all devices"), and no other object matches a default.
        if is_default if is_default is not None else ptype.is_tenant_default(source_id):
            defaults = [i for i in state.items(type_key) if _is_default(ptype, i)]
            if len(defaults) == 1:
                return Match("id", defaults[0], defaults)
            return Match("ambiguous", None, defaults) if defaults else Match("none", None, [])
        candidates = [c for c in state.by_name(type_key, display_name) if not _is_default(ptype, c)]
    else:
        candidates = state.by_name(type_key, display_name)
    if len(candidates) == 1:
        return Match("name", candidates[0], candidates)
    if candidates:
        return Match("ambiguous", None, candidates)
    return Match("none", None, [])


def _is_default(ptype: registry.PolicyType, item: CapturedItem) -> bool:
    return ptype.is_tenant_default(item.source_id) or ptype.is_tenant_default(item.payload)


def read_one(client: GraphClient, *, type_key: str, object_id: str) -> CapturedItem | None:
    """Re-read one object with the same requests a backup makes for it (``None``: 404)."""
    return capture.capture_item(client, type_key=type_key, object_id=object_id)


def find_groups(client: GraphClient, *, ids: Iterable[str]) -> list[dict[str, str]]:
    """``[{"id", "displayName"}]`` for the groups among ``ids`` that exist in the tenant, in
    the order of ``ids``; missing groups are left out (``capture.read_groups_by_id``: 15 ids a
    filter). Any failure (a missing ``Group.Read.All``, throttling past the retry budget) raises
    the Graph error: "could not look" must never read as "the group does not exist"."""
    wanted = list(dict.fromkeys(group_id for group_id in ids if group_id))
    found = capture.read_groups_by_id(client, wanted)
    return [
        {"id": group_id, "displayName": found[group_id]} for group_id in wanted if group_id in found
    ]


def odata_string_literal(text: str) -> str:
    """``text`` as an OData string literal: single quotes doubled, wrapped in quotes."""
    return "'" + text.replace("'", "''") + "'"


def search_groups(client: GraphClient, text: str, top: int = 20) -> list[dict[str, str]]:
    """Groups whose display name starts with ``text`` (one page of at most ``top``)."""
    top = max(1, min(int(top), 999))
    params: dict[str, Any] = {"$select": _GROUP_SELECT, "$top": top}
    if text:
        params["$filter"] = f"startswith(displayName,{odata_string_literal(text)})"
    page = client.get("groups", params=params)
    groups: list[dict[str, str]] = []
    for group in page.get("value") or []:
        if not isinstance(group, Mapping) or not group.get("id"):
            continue
        name = group.get("displayName")
        groups.append(
            {"id": str(group["id"]), "displayName": name if isinstance(name, str) else ""}
        )
    return groups[:top]


__all__ = [
    "Match",
    "MatchKind",
    "TargetState",
    "find_created",
    "find_groups",
    "graph_datetime",
    "live_names",
    "match_item",
    "odata_string_literal",
    "read_one",
    "read_target",
    "search_groups",
]
