"""The live target tenant as the restore engine sees it (docs/architecture.md §3b).

``read_target`` reads the in-scope types once through ``capture.iter_capture`` so that target
objects are ``CapturedItem``s normalized exactly like backup items; ``match_item`` pairs a
backup item with its target object; ``read_one`` re-reads one object (before a write, for the
read-back after it); ``find_groups`` / ``search_groups`` serve the group-mapping editor.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Final, Literal

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


#: Bytes of stored objects a ``TargetState`` keeps in memory before it moves them to a file.
SPILL_BYTES: Final = 2 * 1024 * 1024


class _RowStore:
    """Append-only bytes: in memory up to ``limit``, then in an anonymous temporary file (the
    operating system's page cache holds it, not the process), read back by position.

    Thread-safe: adds and reads take the lock (a read of the file uses ``os.pread`` outside
    it). Never holds a secret value (``TargetState`` keeps those in memory)."""

    def __init__(self, *, limit: int | None = None) -> None:
        self._limit = SPILL_BYTES if limit is None else limit
        self._memory = bytearray()
        self._file: IO[bytes] | None = None
        self._size = 0
        self._unflushed = False
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._size

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def add(self, data: bytes) -> tuple[int, int]:
        """Store ``data``; its ``(offset, length)``."""
        with self._lock:
            offset = self._size
            if self._file is None and offset + len(data) > self._limit:
                self._file = tempfile.TemporaryFile(prefix="tenantguard-target-")
                self._file.write(self._memory)
                self._memory = bytearray()
            if self._file is None:
                self._memory += data
            else:
                self._file.write(data)
                self._unflushed = True
            self._size += len(data)
        return offset, len(data)

    def get(self, offset: int, length: int) -> bytes:
        with self._lock:
            if self._file is None:
                return bytes(self._memory[offset : offset + length])
            if self._unflushed:
                self._file.flush()
                self._unflushed = False
            if not hasattr(os, "pread"):  # Windows: no positional read
                self._file.seek(offset)
                data = self._file.read(length)
                self._file.seek(0, os.SEEK_END)
                return data
            fileno = self._file.fileno()
        return os.pread(fileno, length, offset)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            self._memory = bytearray()
            self._size = 0


def encode_row(item: CapturedItem) -> bytes:
    """The stored form of ``item`` (compact JSON) without what ``TargetState`` indexes in
    memory (type, id, name) and without its secret values (kept apart, never stored).

    ASCII-only JSON: a Graph string may hold a lone surrogate (``"\\ud83d"`` cut in half),
    which UTF-8 cannot encode; escaped, it round-trips exactly."""
    return json.dumps(
        [
            item.platform,
            item.payload,
            item.assignments,
            item.scope_tag_ids,
            item.source_modified_at,
            item.warnings,
            sorted(item.group_refs),
        ],
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")


def _decode_row(
    type_key: str, source_id: str, display_name: str, row: bytes, secrets: dict[str, str] | None
) -> CapturedItem:
    platform, payload, assignments, tags, modified, warnings, refs = json.loads(row)
    return CapturedItem(
        type_key=type_key,
        source_id=source_id,
        display_name=display_name,
        platform=platform,
        payload=payload,
        assignments=assignments,
        scope_tag_ids=tags,
        source_modified_at=modified,
        secrets=dict(secrets or {}),
        warnings=warnings,
        group_refs=set(refs),
    )


class TargetState:
    """Objects of the target tenant by type, indexed once by id and by display name.

    Only the index (type, id, display name) is held as Python objects; each object itself is
    kept as compact JSON (``encode_row``), moved to a temporary file past ``SPILL_BYTES``, and
    decoded when asked for, so a read of 20,000 objects costs a few MiB of memory, not
    hundreds. Every lookup returns a new ``CapturedItem``: changing it changes nothing here.
    Secret values (the executor's read) stay in memory, never in the file."""

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
        self._rows = _RowStore()
        #: per type, in the order read: ``(source_id, display_name, offset, length)``
        self._entries: dict[str, list[tuple[str, str, int, int]]] = {}
        #: per type: id -> position in ``_entries`` (the first object of that id)
        self._by_id: dict[str, dict[str, int]] = {}
        #: per type: display name -> positions in ``_entries``
        self._by_name: dict[str, dict[str, list[int]]] = {}
        #: per type and position in ``_entries``: that object's secret values (two listed
        #: objects may share an id: each keeps its own)
        self._secrets: dict[tuple[str, int], dict[str, str]] = {}
        self._closed = False
        for item in items:
            self.add(item)

    def add(self, item: CapturedItem) -> None:
        """Take one object in (the read adds them as they come)."""
        self.add_row(
            type_key=item.type_key,
            source_id=item.source_id,
            display_name=item.display_name,
            row=encode_row(item),
            secrets=item.secrets,
        )

    def add_row(
        self,
        *,
        type_key: str,
        source_id: str,
        display_name: str,
        row: bytes,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        """Take one object in as ``encode_row`` stored it (a kept read: no decoding)."""
        self._check_open()
        entries = self._entries.setdefault(type_key, [])
        position = len(entries)
        offset, length = self._rows.add(row)
        entries.append((source_id, display_name, offset, length))
        self._by_id.setdefault(type_key, {}).setdefault(source_id, position)
        self._by_name.setdefault(type_key, {}).setdefault(display_name, []).append(position)
        if secrets:
            self._secrets[(type_key, position)] = dict(secrets)

    def _check_open(self) -> None:
        # A closed state has forgotten its objects: answering "absent" would plan creates.
        if self._closed:
            raise RuntimeError(
                "This read of the target tenant was closed after its step finished and holds "
                "no objects any more: read the target again (run the step again)."
            )

    def __repr__(self) -> str:
        counts = {key: len(values) for key, values in self._entries.items()}
        return f"TargetState(items={counts}, unreadable={sorted(self.unreadable)})"

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    @property
    def stored_bytes(self) -> int:
        """Size of the objects as stored (compact JSON, secrets left out)."""
        return self._rows.size

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def type_keys(self) -> list[str]:
        """Types holding at least one object."""
        self._check_open()
        return list(self._entries)

    def _item(self, type_key: str, position: int) -> CapturedItem:
        self._check_open()
        source_id, name, offset, length = self._entries[type_key][position]
        return _decode_row(
            type_key,
            source_id,
            name,
            self._rows.get(offset, length),
            self._secrets.get((type_key, position)),
        )

    def iter_items(self, type_key: str) -> Iterator[CapturedItem]:
        """The objects of ``type_key`` in the order read, decoded one at a time."""
        self._check_open()
        for position in range(len(self._entries.get(type_key, ()))):
            yield self._item(type_key, position)

    def items(self, type_key: str) -> list[CapturedItem]:
        return list(self.iter_items(type_key))

    def rows(self, type_key: str) -> Iterator[tuple[str, str, bytes]]:
        """``(source_id, display_name, row)`` of each object of ``type_key`` as stored
        (``encode_row``), without decoding it."""
        self._check_open()
        for source_id, name, offset, length in self._entries.get(type_key, ()):
            yield source_id, name, self._rows.get(offset, length)

    def ids(self, type_key: str) -> list[str]:
        """Ids of the ``type_key`` objects, in the order read (no object decoded)."""
        self._check_open()
        return [entry[0] for entry in self._entries.get(type_key, ())]

    def has(self, type_key: str, object_id: str) -> bool:
        self._check_open()
        return object_id in self._by_id.get(type_key, {})

    def name_of(self, type_key: str, object_id: str) -> str | None:
        """The display name of an object (no object decoded); ``None`` when absent."""
        self._check_open()
        position = self._by_id.get(type_key, {}).get(object_id)
        return None if position is None else self._entries[type_key][position][1]

    def by_id(self, type_key: str, object_id: str) -> CapturedItem | None:
        self._check_open()
        position = self._by_id.get(type_key, {}).get(object_id)
        return None if position is None else self._item(type_key, position)

    def by_name(self, type_key: str, display_name: str) -> list[CapturedItem]:
        """Objects of ``type_key`` whose display name is exactly ``display_name``
        (case-sensitive, no trimming)."""
        self._check_open()
        positions = self._by_name.get(type_key, {}).get(display_name, ())
        return [self._item(type_key, position) for position in positions]

    def close(self) -> None:
        """Let go of the stored objects now (their file too) rather than when collected. A
        closed state refuses every lookup (``RuntimeError``); closing twice is harmless."""
        self._closed = True
        self._rows.close()
        self._entries.clear()
        self._by_id.clear()
        self._by_name.clear()
        self._secrets.clear()


#: ``on_progress(objects_read, type_key)`` is called at most once per this many objects.
PROGRESS_EVERY = 25


def read_target(
    client: GraphClient,
    *,
    type_keys: Iterable[str],
    on_progress: Callable[[int, str], None] | None = None,
    secret_values: bool = True,
) -> TargetState:
    """Read the selected types of the target tenant once (one listing per collection plus the
    batched per-item fetches, as a backup does) and the names of the groups they assign.

    Objects go into the ``TargetState`` as they come (it keeps them compact), so the read's
    memory does not grow with the tenant. ``secret_values=False`` leaves out the reads of
    OMA-URI secret values (``capture.iter_capture``): for reads that never look at them (the
    checks and the preview); a read whose objects are kept as they are (the executor's
    pre-restore snapshot) keeps the default.

    ``on_progress(objects_read, type_key)`` reports the reading as it goes (when the type
    changes and every ``PROGRESS_EVERY`` objects)."""
    state = TargetState()
    group_ids: set[str] = set()
    read = 0
    reported: tuple[int, str] = (0, "")
    type_keys = list(type_keys)  # read twice: the capture, then nested types' parents
    entries = capture.iter_capture(client, type_keys=type_keys, secret_values=secret_values)
    for entry in entries:
        if on_progress is not None and (
            entry.type_key != reported[1] or read - reported[0] >= PROGRESS_EVERY
        ):
            reported = (read, entry.type_key)
            on_progress(read, entry.type_key)
        if isinstance(entry, CaptureWarning):
            if entry.source_id is None:
                previous = state.unreadable.get(entry.type_key)
                state.unreadable[entry.type_key] = (
                    entry.message if previous is None else f"{previous}; {entry.message}"
                )
            continue
        read += 1
        group_ids.update(entry.group_refs)
        state.add(entry)
    if group_ids:
        state.group_names.update(capture.resolve_group_names(client, group_ids))
    for type_key in dict.fromkeys(type_keys):
        ptype = registry.POLICY_TYPES.get(type_key)
        if ptype is not None and ptype.parent is not None and type_key not in state.unreadable:
            state.parents[type_key] = nested.list_parents(client, ptype)
    return state


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
            defaults = [i for i in state.iter_items(type_key) if _is_default(ptype, i)]
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
