"""What the checks and the preview work from: the run's scoped backup items, its inputs, and how
each reference of an item (group, filter, scope tag, notification template) resolves in the target.

The checks (``checks.py``) and the preview (``diff.py``) share this module so they can never
disagree about what an item refers to, nor about whether a reference is resolved:

- ``load_source(run)`` reads the scoped ``BackupItem`` rows once (foundations first, in the
  registry's restore order) into plain ``SourceItem`` values, plus the names the backup knows
  (groups, foundations in or out of scope).
- ``ReferenceResolver`` decides, for one reference, whether the restore can write it and as what:
  an explicit mapping wins (a target id, or ``None`` = skip the assignments that use it), then a
  foundation in scope (it will be matched or created by this run), then, for a restore into the
  tenant the backup came from, the same id if it still exists in the target. Anything else is
  missing: a blocking check, with a same-name target object proposed (never applied).
- ``load_target(client, source)`` reads what both engines need from the live target in a fixed
  number of batched requests (never per item): the needed types through ``target.read_target``,
  referenced and mapped groups by id, same-name groups for the missing ones.

Everything but ``load_source`` / ``load_target`` is pure and works on plain values.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from tenantguard.backups.models import BackupItem
from tenantguard.crypto import decryption_problem
from tenantguard.graph import BatchRequest, GraphClient, GraphError, PermissionDeniedError
from tenantguard.intune import references, registry, target, tenant_identity
from tenantguard.intune.assignment_plan import AssignmentMode, AssignmentPlan, plan_assignments
from tenantguard.intune.references import REFERENCE_KINDS, Reference, ReferenceKind, references_of
from tenantguard.intune.registry import BUILTIN_SCOPE_TAG_ID, PolicyType
from tenantguard.intune.target import Match, TargetState, odata_string_literal
from tenantguard.intune.tenant_identity import Place, TenantIdentity
from tenantguard.restores.models import RestoreRun, ScopeMode
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.fingerprint import (
    effective_options,
    normalized_mapping,
    restore_run_fingerprint,
)
from tenantguard.restores.services.policy import Action, RestoreRunPolicy

logger = logging.getLogger("tenantguard.restores")

#: ``on_progress(objects_read, type_key)`` while the target is read (see ``load_target``).
ProgressCallback = Callable[[int, str], None]

#: Reference kinds that are foundation types (the mapping's other kind is ``group``).
FOUNDATION_KINDS: Final[tuple[ReferenceKind, ...]] = (
    "assignment_filter",
    "scope_tag",
    "notification_template",
)

#: Words for each kind, used in messages ("group", "assignment filter", ...).
KIND_LABELS: Final[dict[str, str]] = {
    "group": "group",
    "assignment_filter": "assignment filter",
    "scope_tag": "scope tag",
    "notification_template": "notification template",
}

ALL_DEVICES_TARGET: Final = "#microsoft.graph.allDevicesAssignmentTarget"
ALL_USERS_TARGET: Final = "#microsoft.graph.allLicensedUsersAssignmentTarget"


# --------------------------------------------------------------------------------------------
# Items and inputs
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def policy_type_of(type_key: str) -> PolicyType:
    """The registry record of ``type_key``; unknown keys fail safe to the unsupported type."""
    try:
        return registry.get(type_key)
    except KeyError:
        return registry.UNSUPPORTED


@functools.lru_cache(maxsize=1)
def _restore_order() -> dict[str, int]:
    return {ptype.key: index for index, ptype in enumerate(registry.all_types())}


def restore_order(type_key: str) -> int:
    """Position of a type in restore order (foundations first; unknown types last)."""
    return _restore_order().get(type_key, len(_restore_order()))


@dataclass(frozen=True)
class SourceItem:
    """One scoped backup item, detached from the database."""

    type_key: str
    source_id: str
    display_name: str
    payload: dict[str, Any]
    #: ``None``: the backup could not capture them.
    assignments: list[dict[str, Any]] | None
    scope_tag_ids: list[str]
    content_hash: str
    source_modified_at: datetime | None = None
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    #: ``BackupItem`` primary key (``None`` for items built in tests).
    pk: int | None = None
    #: Why the captured secret values cannot be read ('' when they can): stored under an
    #: encryption key this install no longer has.
    secrets_problem: str = ""

    @property
    def ptype(self) -> PolicyType:
        return policy_type_of(self.type_key)

    @property
    def is_unsupported(self) -> bool:
        return registry.is_unsupported(self.ptype)

    @property
    def is_preview_only(self) -> bool:
        return self.ptype.is_preview_only

    @property
    def is_foundation(self) -> bool:
        return self.ptype.is_foundation

    @property
    def is_builtin_scope_tag(self) -> bool:
        return self.type_key == "scope_tag" and (
            self.source_id == BUILTIN_SCOPE_TAG_ID or self.payload.get("isBuiltIn") is True
        )

    @property
    def label(self) -> str:
        """``Settings catalog 'Edge baseline'``: how messages name the item."""
        return f"{singular(self.ptype.label)} '{self.display_name}'"


def singular(label: str) -> str:
    """``"Scope tags"`` -> ``"Scope tag"``; ``"Compliance policies"`` -> ``"Compliance policy"``."""
    if label.endswith("ies"):
        return label[:-3] + "y"
    if label.endswith("s") and not label.endswith("ss"):
        return label[:-1]
    return label


@dataclass(frozen=True)
class RunInputs:
    """The run's inputs the engines work from (``fingerprint.effective_options`` etc.)."""

    mapping: dict[str, dict[str, str | None]]
    create_missing: bool = True
    include_assignments: bool = True
    #: The target is the tenant the backup was taken from (match by id first, ids may be kept).
    same_tenant: bool = True
    target_label: str = "the target tenant"
    #: When the backup was taken. Restoring into another tenant, a target object is "newer than
    #: the backup" when it changed after this (its own history has nothing to do with the
    #: source object's modification time).
    backup_taken_at: datetime | None = None
    #: ``replace`` (the backup's state) or ``merge`` (keep the target's other assignments).
    assignment_mode: AssignmentMode = "replace"
    #: Source tenant identifiers in payloads: ``undecided``, ``replace`` or ``keep``.
    source_identifiers: str = "undecided"
    #: Both tenants' identities (cross-tenant restores only, read with the target).
    identities: TenantIdentities | None = None

    def mapped(self, kind: str, source_id: str) -> tuple[bool, str | None]:
        """``(True, target_id_or_None)`` when the mapping names ``source_id``."""
        entries = self.mapping.get(kind) or {}
        if source_id in entries:
            return True, entries[source_id]
        return False, None


@dataclass(frozen=True)
class TenantIdentities:
    """The source tenant's identity (from the backup set, the source tenant or its record) and
    the target's (its ``organization``, else its record); ``notes`` say what could not be read.
    Persisted with the preview so the executor replaces exactly what the preview showed."""

    source: TenantIdentity
    target: TenantIdentity
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source.to_json(),
            "target": self.target.to_json(),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TenantIdentities | None:
        if not data:
            return None
        return cls(
            source=TenantIdentity.from_json(data.get("source")),
            target=TenantIdentity.from_json(data.get("target")),
            notes=tuple(str(note) for note in data.get("notes") or []),
        )


@dataclass
class ItemRewrite:
    """What the restore writes for one item (``intended_item``): references rewritten, source
    tenant identifiers replaced or kept, and every place such an identifier was found."""

    rewritten: references.Rewritten
    identifier_places: list[Place] = field(default_factory=list)
    identifiers_replaced: bool = False
    #: The captured secret values to write (replaced like the payload when chosen).
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def payload(self) -> dict[str, Any]:
        return self.rewritten.payload


def intended_item(
    *,
    type_key: str,
    payload: Mapping[str, Any],
    assignments: Sequence[Mapping[str, Any]] | None,
    scope_tag_ids: Sequence[str] | None,
    mapping: Mapping[str, Mapping[str, str | None]] | None,
    foundation_ids: Mapping[str, Mapping[str, str]] | None,
    identities: TenantIdentities | None,
    source_identifiers: str,
    secrets: Mapping[str, str] | None = None,
) -> ItemRewrite:
    """The one function that decides the payload a restore writes: the preview diffs it and the
    executor (``execute._intended``) writes it. References go through the mapping
    (``references.rewrite``); with ``identities`` (a cross-tenant restore) the source tenant's
    identifiers are replaced by the target's when ``source_identifiers`` is ``replace`` and only
    located otherwise."""
    rewritten = references.rewrite(
        type_key=type_key,
        payload=payload,
        assignments=assignments,
        scope_tag_ids=scope_tag_ids,
        mapping=mapping,
        foundation_ids=foundation_ids,
    )
    original_secrets: Mapping[str, str] = secrets if secrets is not None else {}
    if identities is None:
        return ItemRewrite(rewritten=rewritten, secrets=original_secrets)
    replace = source_identifiers == "replace"
    new_secrets, secret_places = tenant_identity.scan_secrets(
        original_secrets, identities.source, identities.target, replace=replace
    )
    # The object's own name is left as it is: the executor finds what it created by (type,
    # name), after an unclear answer and on resume, so a renamed object would be created again.
    ptype = policy_type_of(type_key)
    name_keys = {ptype.display_name_property, "displayName", "name"}
    if not replace:
        places = tenant_identity.find_identifiers(
            rewritten.payload, identities.source, identities.target, leave=name_keys
        )
        return ItemRewrite(
            rewritten=rewritten, identifier_places=places + secret_places, secrets=original_secrets
        )
    scan = tenant_identity.replace_identifiers(
        rewritten.payload, identities.source, identities.target, leave=name_keys
    )
    rewritten.payload = scan.payload
    return ItemRewrite(
        rewritten=rewritten,
        identifier_places=scan.places + secret_places,
        identifiers_replaced=True,
        # Unchanged values stay the very object read (an unreadable marker stays one).
        secrets=original_secrets if new_secrets == dict(original_secrets) else new_secrets,
    )


def assignments_plan(
    *,
    type_key: str,
    backup: Sequence[Mapping[str, Any]] | None,
    current: Sequence[Mapping[str, Any]] | None,
    mode: AssignmentMode,
) -> AssignmentPlan:
    """The assignment list written for an item of ``type_key`` (``assignment_plan``; the
    preview and the executor both call this)."""
    spec = policy_type_of(type_key).assign
    return plan_assignments(
        backup=backup,
        current=current,
        mode=mode,
        per_assignment=bool(spec is not None and spec.per_assignment),
    )


@dataclass(frozen=True)
class BackupNames:
    """Names the backup set knows, whether or not the objects are in scope."""

    #: Group id -> display name (``BackupSet.group_names``).
    groups: Mapping[str, str] = field(default_factory=dict)
    #: Foundation kind -> source id -> display name (every foundation item of the backup set).
    foundations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def name(self, kind: str, source_id: str) -> str | None:
        if kind == "group":
            return self.groups.get(source_id)
        return (self.foundations.get(kind) or {}).get(source_id)


# --------------------------------------------------------------------------------------------
# What the engines need from the target (see docs/architecture.md §3b)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetGroups:
    """Entra groups of the target the engines asked about (read by the service beforehand).

    ``existing``: id -> display name of every looked-up group id that exists in the target.
    ``named``: display name -> groups of the target with exactly that name (for suggestions).
    ``unreadable``: why the target's groups could not be read ("" when they could): then no
    group is known to exist, and the checks say so instead of calling them missing.
    """

    existing: Mapping[str, str] = field(default_factory=dict)
    named: Mapping[str, Sequence[Mapping[str, str]]] = field(default_factory=dict)
    unreadable: str = ""

    def exists(self, group_id: str) -> bool:
        return group_id in self.existing

    def name_of(self, group_id: str) -> str | None:
        return self.existing.get(group_id)

    def with_name(self, name: str) -> list[Mapping[str, str]]:
        """Groups named ``name`` (Entra compares names case-insensitively)."""
        wanted = name.casefold()
        return [
            group
            for group in self.named.get(name, ())
            if str(group.get("displayName") or "").casefold() == wanted
        ]


# --------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------


def assignment_index(ref: Reference) -> int | None:
    """Index of the assignment holding ``ref`` (``None``: payload or scope tags)."""
    if not ref.where.startswith("assignments["):
        return None
    return int(ref.where[len("assignments[") : ref.where.index("]")])


def item_references(item: SourceItem, *, include_assignments: bool) -> list[Reference]:
    """Every reference of ``item`` the restore would write: scope tags and payload references
    always, assignment references (groups, filters) only when assignments are restored."""
    if item.is_unsupported:
        return []
    refs = references_of(
        type_key=item.type_key,
        payload=item.payload,
        assignments=item.assignments if include_assignments else None,
        scope_tag_ids=item.scope_tag_ids if item.ptype.scope_tag_property else [],
    )
    return refs


def assignment_target(assignment: Mapping[str, Any]) -> Mapping[str, Any]:
    target = assignment.get("target")
    return target if isinstance(target, Mapping) else {}


def target_type(assignment: Mapping[str, Any]) -> str:
    odata_type = str(assignment_target(assignment).get("@odata.type") or "")
    if odata_type and not odata_type.startswith("#"):
        odata_type = "#" + odata_type
    return odata_type


ResolutionStatus = Literal["mapped", "skipped", "in_scope", "exists", "missing", "mapped_missing"]


@dataclass(frozen=True)
class Resolution:
    """How one reference is written.

    - ``mapped``: the mapping names an existing target object (``target_id``).
    - ``skipped``: the mapping says ``None``: the assignments using it (or the scope tag /
      template reference itself) are left out, by the user's explicit choice.
    - ``in_scope``: a foundation of this run; ``target_id`` is its matched target object, or
      ``None`` when the run creates it.
    - ``exists``: same-tenant restore and the id still exists in the target.
    - ``missing`` / ``mapped_missing``: cannot be written (blocking until resolved); the mapping
      of ``mapped_missing`` points at something the target does not hold.
    """

    status: ResolutionStatus
    target_id: str | None = None
    #: Name of what the reference becomes in the target (target name, or the backup's name of
    #: an object this run creates; ``None`` when unknown).
    target_name: str | None = None

    @property
    def resolved(self) -> bool:
        return self.status not in ("missing", "mapped_missing")


class ReferenceResolver:
    """Resolves references of backup items against the target (see module docstring)."""

    def __init__(
        self,
        *,
        inputs: RunInputs,
        target_state: TargetState,
        target_groups: TargetGroups,
        backup_names: BackupNames,
        scoped_foundations: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """``scoped_foundations``: kind -> source id -> the matched target item of that
        foundation (``None`` when it will be created), for the foundations in scope."""
        self.inputs = inputs
        self.state = target_state
        self.groups = target_groups
        self.names = backup_names
        self.scoped_foundations = scoped_foundations
        self._cache: dict[tuple[str, str], Resolution] = {}

    def source_name(self, kind: str, source_id: str) -> str | None:
        return self.names.name(kind, source_id)

    def target_name(self, kind: str, target_id: str) -> str | None:
        if kind == "group":
            return self.groups.name_of(target_id)
        found = self.state.by_id(kind, target_id)
        return found.display_name if found is not None else None

    def target_exists(self, kind: str, target_id: str) -> bool:
        if kind == "group":
            return self.groups.exists(target_id)
        if kind == "scope_tag" and target_id == BUILTIN_SCOPE_TAG_ID:
            return True
        return self.state.by_id(kind, target_id) is not None

    def resolve(self, kind: str, source_id: str) -> Resolution:
        key = (kind, source_id)
        if key not in self._cache:
            self._cache[key] = self._resolve(kind, source_id)
        return self._cache[key]

    def _resolve(self, kind: str, source_id: str) -> Resolution:
        is_mapped, mapped_to = self.inputs.mapped(kind, source_id)
        if is_mapped:
            if mapped_to is None:
                return Resolution("skipped")
            if self.target_exists(kind, mapped_to):
                return Resolution("mapped", mapped_to, self.target_name(kind, mapped_to))
            return Resolution("mapped_missing", mapped_to)
        scoped = self.scoped_foundations.get(kind) or {}
        if kind != "group" and source_id in scoped:
            matched = scoped[source_id]
            if matched is not None:
                return Resolution("in_scope", matched.source_id, matched.display_name)
            return Resolution("in_scope", None, self.source_name(kind, source_id))
        if self.inputs.same_tenant and self.target_exists(kind, source_id):
            return Resolution("exists", source_id, self.target_name(kind, source_id))
        return Resolution("missing")

    def suggestions(self, kind: str, source_id: str) -> list[dict[str, str]]:
        """Target objects with the same name as the source object (a unique one is proposed)."""
        name = self.source_name(kind, source_id)
        if not name:
            return []
        if kind == "group":
            return [
                {"id": str(group["id"]), "name": str(group.get("displayName") or "")}
                for group in self.groups.with_name(name)
            ]
        if kind in self.state.unreadable:
            return []
        return [
            {"id": candidate.source_id, "name": candidate.display_name}
            for candidate in self.state.by_name(kind, name)
        ]


def match_of(item: SourceItem, state: TargetState, inputs: RunInputs) -> Match:
    """The item's target object (``target.match_item``: by id in the same tenant, then by
    type and name)."""
    return target.match_item(
        state,
        type_key=item.type_key,
        source_id=item.source_id,
        display_name=item.display_name,
        same_tenant=inputs.same_tenant,
    )


def build_resolver(
    *,
    items: Sequence[SourceItem],
    target_state: TargetState,
    target_groups: TargetGroups,
    backup_names: BackupNames,
    inputs: RunInputs,
) -> ReferenceResolver:
    """A resolver that knows which foundations are in scope and what they match in the target
    (an ambiguous or absent match counts as "created by this run": the foundation's own checks
    say whether that can happen). A foundation whose type could not be read in the target is
    never written, so it resolves nothing."""
    scoped: dict[str, dict[str, Any]] = {kind: {} for kind in FOUNDATION_KINDS}
    for item in items:
        if item.type_key in target_state.unreadable:
            continue
        if item.type_key in scoped and not item.is_builtin_scope_tag:
            match = match_of(item, target_state, inputs)
            scoped[item.type_key][item.source_id] = match.target
    return ReferenceResolver(
        inputs=inputs,
        target_state=target_state,
        target_groups=target_groups,
        backup_names=backup_names,
        scoped_foundations=scoped,
    )


def broad_targets(assignments: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """``["All devices", "All users"]`` for the broad targets among ``assignments``."""
    found: list[str] = []
    for assignment in assignments or []:
        kind = target_type(assignment)
        if kind == ALL_DEVICES_TARGET and "All devices" not in found:
            found.append("All devices")
        elif kind == ALL_USERS_TARGET and "All users" not in found:
            found.append("All users")
    return found


# --------------------------------------------------------------------------------------------
# Loading (Django and Graph side)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSource:
    """Everything the engines read from the database for one run."""

    items: list[SourceItem]
    names: BackupNames
    inputs: RunInputs

    def type_keys_to_read(self) -> list[str]:
        """Types of the target to read: every restorable type in scope plus the foundation
        types (references are resolved against them). Unsupported objects are never read:
        nothing can be written for them."""
        keys = {item.type_key for item in self.items if not item.is_unsupported}
        keys.update(FOUNDATION_KINDS)
        return sorted(keys, key=restore_order)


def _source_item(row: BackupItem) -> SourceItem:
    return SourceItem(
        type_key=row.policy_type,
        source_id=row.source_id,
        display_name=row.display_name,
        payload=row.payload if isinstance(row.payload, dict) else {},
        assignments=row.assignments,
        scope_tag_ids=[str(tag) for tag in row.scope_tag_ids or []],
        content_hash=row.content_hash,
        source_modified_at=row.source_modified_at,
        secrets=dict(row.secrets or {}),
        pk=row.pk,
        secrets_problem=decryption_problem(row.secrets),
    )


def load_source(run: RestoreRun) -> RunSource:
    """The run's scoped items (all items of the backup set for scope ``all``, the
    ``requested_items`` for ``selected``), foundations first in restore order, with the names
    the backup set knows and the run's effective inputs."""
    backup_set = run.backup_set
    if backup_set is None:
        raise RestoreRunError("No backup set yet: pick one in step 1.")
    rows = BackupItem.objects.filter(backup_set=backup_set)
    if run.scope_mode == ScopeMode.SELECTED:
        rows = rows.filter(pk__in=[int(pk) for pk in run.requested_items or []])
    items = [_source_item(row) for row in rows.iterator(chunk_size=500)]
    items.sort(key=lambda item: (restore_order(item.type_key), item.display_name, item.source_id))
    foundation_names: dict[str, dict[str, str]] = {kind: {} for kind in FOUNDATION_KINDS}
    for type_key, source_id, name in BackupItem.objects.filter(
        backup_set=backup_set, policy_type__in=FOUNDATION_KINDS
    ).values_list("policy_type", "source_id", "display_name"):
        foundation_names[type_key][source_id] = name
    options = effective_options(run)
    inputs = RunInputs(
        mapping=normalized_mapping(run.group_mapping),
        create_missing=options["create_missing"],
        include_assignments=options["include_assignments"],
        same_tenant=backup_set.tenant_id == run.tenant_id,
        target_label=run.tenant_label,
        backup_taken_at=backup_set.captured_at or backup_set.created_at,
        assignment_mode=options["assignment_mode"],
        source_identifiers=options["source_identifiers"],
    )
    names = BackupNames(groups=dict(backup_set.group_names or {}), foundations=foundation_names)
    return RunSource(items=items, names=names, inputs=inputs)


def fresh_run(run: RestoreRun) -> RestoreRun:
    """The run as stored now (the caller's copy may be stale)."""
    try:
        return RestoreRun.objects.select_related("tenant", "backup_set").get(pk=run.pk)
    except RestoreRun.DoesNotExist:
        raise RestoreRunError(f"Restore run #{run.pk} does not exist (any more).") from None


def graph_client_for_run(run: RestoreRun) -> Any:
    """The Graph client for the run's target tenant, with configuration errors made actionable."""
    from tenantguard.tenants.graph_access import TenantConfigurationError, graph_client_for

    try:
        return graph_client_for(run.tenant)
    except TenantConfigurationError as exc:
        raise RestoreRunError(str(exc)) from exc


#: The application permission that reads Entra groups.
GROUP_READ_PERMISSION: Final = "Group.Read.All"

#: Values per ``displayName in (...)`` filter (Entra accepts at most 15).
_NAMES_PER_FILTER: Final = 15


def _groups_named(client: GraphClient, names: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """``{name: [{"id", "displayName"}]}`` of the target's groups with those names, read through
    ``$batch`` (15 names per filter, 20 filters per request). Failures leave names out: a
    suggestion is a convenience, never required."""
    wanted = sorted({name for name in names if name})
    by_folded: dict[str, str] = {name.casefold(): name for name in wanted}
    found: dict[str, list[dict[str, str]]] = {name: [] for name in wanted}
    chunks = [
        wanted[start : start + _NAMES_PER_FILTER]
        for start in range(0, len(wanted), _NAMES_PER_FILTER)
    ]
    requests = []
    for index, chunk in enumerate(chunks):
        literals = ",".join(odata_string_literal(name) for name in chunk)
        query = urlencode(
            {"$filter": f"displayName in ({literals})", "$select": "id,displayName", "$top": "999"},
            quote_via=quote,
            safe="$,()'",
        )
        requests.append(BatchRequest(id=str(index), method="GET", url=f"/groups?{query}"))
    for start in range(0, len(requests), 20):
        try:
            responses = client.batch(requests[start : start + 20])
        except GraphError as exc:
            logger.warning("Could not look up %d group name(s): %s", len(wanted), exc)
            continue
        for response in responses:
            if not response.ok or not isinstance(response.body, Mapping):
                continue
            for group in response.body.get("value") or []:
                name = str(group.get("displayName") or "")
                key = by_folded.get(name.casefold())
                if key is not None and group.get("id"):
                    found[key].append({"id": str(group["id"]), "displayName": name})
    return found


def load_target(
    client: GraphClient,
    source: RunSource,
    *,
    on_progress: ProgressCallback | None = None,
) -> tuple[TargetState, TargetGroups]:
    """Read the target once: every needed type (``target.read_target``: one listing per
    collection, per-item reads batched), the groups the scoped items reference or the mapping
    names (batched by id), and same-name groups for the ones that are missing (batched by
    name, for suggestions). ``on_progress(objects_read, type_key)`` reports the reading."""
    state = target.read_target(
        client, type_keys=source.type_keys_to_read(), on_progress=on_progress
    )
    referenced: set[str] = set()
    if source.inputs.include_assignments:
        for item in source.items:
            for ref in item_references(item, include_assignments=True):
                if ref.kind == "group":
                    referenced.add(ref.source_id)
    mapped = {
        target_id for target_id in (source.inputs.mapping.get("group") or {}).values() if target_id
    }
    if not referenced and not mapped:
        return state, TargetGroups(existing=dict(state.group_names))
    try:
        # One cheap probe: a missing Group.Read.All must not look like "every group is gone".
        client.get("groups", params={"$top": "1", "$select": "id"})
    except PermissionDeniedError as exc:
        return state, TargetGroups(
            unreadable=f"The app cannot read the groups of the tenant (it lacks "
            f"{GROUP_READ_PERMISSION}). Graph said: {exc}"
        )
    # Across tenants source ids never exist in the target: only the mapped ids are looked up.
    candidates = (referenced if source.inputs.same_tenant else set()) | mapped
    lookup = sorted(candidates - set(state.group_names))
    existing: dict[str, str] = dict(state.group_names)
    for group in target.find_groups(client, ids=lookup) if lookup else []:
        existing[group["id"]] = group["displayName"]
    missing_names = {
        source.names.groups.get(group_id, "")
        for group_id in referenced
        if group_id not in existing or not source.inputs.same_tenant
    }
    named = _groups_named(client, missing_names) if missing_names - {""} else {}
    return state, TargetGroups(existing=existing, named=named)


def _source_identity(run: RestoreRun) -> tuple[TenantIdentity, list[str]]:
    """The source tenant's identity: kept with the backup set when it was captured, else read
    from the source tenant now, else its record in TenantGuard (tenant ID or domain only)."""
    from tenantguard.tenants.graph_access import TenantConfigurationError, graph_client_for

    backup_set = run.backup_set
    assert backup_set is not None
    stored = TenantIdentity.from_json(backup_set.source_identity)
    if not stored.is_empty:
        return stored, []
    tenant = backup_set.tenant
    try:
        identity = tenant_identity.read_identity(graph_client_for(tenant))
        if not identity.is_empty:
            return identity, []
        problem = "it answered without an organization"
    except (GraphError, TenantConfigurationError) as exc:
        problem = str(exc)
    note = (
        f"The identity of the source tenant {tenant.display_name} could not be read ({problem}): "
        "only its Entra tenant ID or domain as registered in TenantGuard is looked for."
    )
    return tenant_identity.identity_from_record(
        tenant.entra_tenant_id, display_name=tenant.display_name
    ), [note]


def load_identities(run: RestoreRun, client: GraphClient) -> TenantIdentities:
    """Both tenants' identities for a cross-tenant restore (the target's from its own
    ``organization``, one request)."""
    source, notes = _source_identity(run)
    try:
        target_identity = tenant_identity.read_identity(client)
    except GraphError as exc:
        notes.append(
            f"The identity of {run.tenant_label} could not be read (the app needs "
            f"{tenant_identity.ORGANIZATION_READ_PERMISSION}; Graph said: {exc}): only its Entra "
            "tenant ID or domain as registered in TenantGuard can replace the source's."
        )
        target_identity = tenant_identity.identity_from_record(
            run.tenant.entra_tenant_id, display_name=run.tenant.display_name
        )
    return TenantIdentities(source=source, target=target_identity, notes=tuple(notes))


def with_checked_identities(run: RestoreRun, source: RunSource) -> RunSource:
    """``source`` with the identities the run's checks decided on (recorded with them), so the
    preview replaces exactly what the checks judged: a second read could differ (an
    ``organization`` read failing at preview time falls back to the tenant's record, whose
    missing counterparts the checks never blocked). Unchanged when the checks recorded none."""
    if source.inputs.identities is None:
        return source
    checks = (run.metadata or {}).get("checks") or {}
    recorded = TenantIdentities.from_json((checks.get("summary") or {}).get("tenant_identities"))
    if recorded is None:
        return source
    return dataclasses.replace(
        source, inputs=dataclasses.replace(source.inputs, identities=recorded)
    )


@dataclass(frozen=True)
class TargetRead:
    """What the checks and the preview start from: the run as stored, the fingerprint of its
    inputs (taken before the read, so results for inputs that changed meanwhile are refused
    when recorded), the scoped source, the live target, and the Graph requests the read cost."""

    run: RestoreRun
    fingerprint: str
    source: RunSource
    state: TargetState
    groups: TargetGroups
    graph_requests: int


def read_target_for(
    run: RestoreRun,
    *,
    actor: Any,
    action: Action,
    on_progress: ProgressCallback | None = None,
) -> TargetRead:
    """Ask the policy whether ``actor`` may do ``action`` (checks or preview) on ``run``, then
    read the scoped source and the live target once. Refusals raise ``RestoreRunRefused``."""
    run = fresh_run(run)
    decision = RestoreRunPolicy(run, actor).can(action)
    if not decision.allowed:
        raise RestoreRunRefused(decision.reasons, action=action.value)
    fingerprint = restore_run_fingerprint(run)
    source = load_source(run)
    client = graph_client_for_run(run)
    before = client.request_count
    state, groups = load_target(client, source, on_progress=on_progress)
    if not source.inputs.same_tenant:
        identities = load_identities(run, client)
        source = dataclasses.replace(
            source, inputs=dataclasses.replace(source.inputs, identities=identities)
        )
    return TargetRead(
        run=run,
        fingerprint=fingerprint,
        source=source,
        state=state,
        groups=groups,
        graph_requests=client.request_count - before,
    )


__all__ = [
    "FOUNDATION_KINDS",
    "GROUP_READ_PERMISSION",
    "KIND_LABELS",
    "REFERENCE_KINDS",
    "BackupNames",
    "ItemRewrite",
    "ProgressCallback",
    "Reference",
    "ReferenceResolver",
    "Resolution",
    "RunInputs",
    "RunSource",
    "SourceItem",
    "TargetGroups",
    "TenantIdentities",
    "assignment_index",
    "assignments_plan",
    "broad_targets",
    "build_resolver",
    "fresh_run",
    "graph_client_for_run",
    "intended_item",
    "item_references",
    "load_identities",
    "load_source",
    "load_target",
    "match_of",
    "policy_type_of",
    "restore_order",
    "singular",
    "with_checked_identities",
]
