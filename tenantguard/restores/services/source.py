"""What the checks and the preview work from: the run's scoped backup items, its inputs, and how
each reference of an item (group, filter, scope tag, notification template) resolves in the target.

The checks (``checks.py``), the preview (``diff.py``) and the executor (``execute.py``) share
this module so they can never disagree about what an item refers to, whether a reference is
resolved, nor what is written for it (``intended_item`` with the run's ``ReferenceResolver``).
The reference kinds themselves are data in ``intune.reference_kinds``:

- ``load_source(run)`` orders the scoped ``BackupItem`` rows (foundations first, in the
  registry's restore order) and reads them into plain ``SourceItem`` values a chunk at a time
  whenever they are iterated (``SourceItems``: memory does not grow with the backup), plus the
  names the backup knows (groups, foundations in or out of scope).
- ``ReferenceResolver`` decides, for one reference, whether the restore can write it and as what:
  an explicit mapping wins (a target id, or ``None`` = skip the assignments that use it), then a
  foundation in scope (it will be matched or created by this run), then, for a restore into the
  tenant the backup came from, the same id if it still exists in the target. Anything else is
  missing: a blocking check, with a same-name target object proposed (never applied). The
  executor builds the same resolver from the same run inputs, plus the ids of the foundations
  it created or matched; what is still unresolved then fails the item (never written with the
  source tenant's id).
- ``load_target(client, source)`` reads what both engines need from the live target in a fixed
  number of batched requests (never per item): the needed types through ``target.read_target``,
  referenced and mapped groups by id, same-name groups for the missing ones.

Everything but ``load_source`` / ``load_target`` is pure and works on plain values.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote, urlencode

from django.utils import timezone

from tenantguard.backups.models import BackupItem
from tenantguard.crypto import decryption_problem
from tenantguard.graph import BatchRequest, GraphClient, GraphError, PermissionDeniedError
from tenantguard.intune import (
    capture,
    reference_kinds,
    references,
    registry,
    target,
    tenant_identity,
    write,
)
from tenantguard.intune.assignment_plan import AssignmentMode, AssignmentPlan, plan_assignments
from tenantguard.intune.references import (
    Reference,
    Resolution,
    references_of,
)
from tenantguard.intune.registry import BUILTIN_SCOPE_TAG_ID, PolicyType
from tenantguard.intune.target import Match, TargetState, odata_string_literal
from tenantguard.intune.tenant_identity import Place, TenantIdentity
from tenantguard.intune.typespec import PARENT_ID_KEY, PARENT_NAME_KEY
from tenantguard.restores.check_words import item_type_label, singular_label
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


def foundation_type_keys() -> tuple[str, ...]:
    """Type keys of the foundation types references point at (``reference_kinds``)."""
    return reference_kinds.foundation_types()


def kind_label(kind: str) -> str:
    """Words for a reference kind in messages ("group", "assignment filter", ...)."""
    return reference_kinds.label(kind)


def _can_skip(kind: str) -> bool:
    return not reference_kinds.is_kind(kind) or reference_kinds.get(kind).can_skip


def _foundation_type(kind: str) -> str | None:
    """The foundation type of a kind's objects (``None``: directory groups, read through
    ``TargetGroups``)."""
    if reference_kinds.is_kind(kind):
        return reference_kinds.get(kind).foundation_type
    return kind


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
        """``Settings catalog 'Edge baseline'``, ``Endpoint security: Antivirus 'AV'``: how
        messages name the item (``check_words.item_type_label``)."""
        return f"{item_type_label(self.type_key, self.payload)} '{self.display_name}'"

    def references(self, *, include_assignments: bool) -> tuple[Reference, ...]:
        """``item_references``, found once per item and variant (the item is never changed:
        its payload is the backup's)."""
        found: dict[bool, tuple[Reference, ...]] = self.__dict__.setdefault("_references", {})
        if include_assignments not in found:
            found[include_assignments] = (
                ()
                if self.is_unsupported
                else tuple(
                    references_of(
                        type_key=self.type_key,
                        payload=self.payload,
                        assignments=self.assignments if include_assignments else None,
                        scope_tag_ids=self.scope_tag_ids if self.ptype.scope_tag_property else [],
                    )
                )
            )
        return found[include_assignments]


#: Why the restore never writes an item (``never_written``); ``""``: it may be written.
NEVER_WRITTEN_UNSUPPORTED: Final = "unsupported_type"
NEVER_WRITTEN_BUILTIN_SCOPE_TAG: Final = "builtin_scope_tag"
NEVER_WRITTEN_BUILTIN_OBJECT: Final = "builtin_object"
NEVER_WRITTEN_PREVIEW_ONLY: Final = "preview_only_type"
NEVER_WRITTEN_NOT_WRITABLE: Final = "not_writable"


def never_written(item: SourceItem) -> str:
    """Why the restore never writes ``item``, whatever the target holds (``""``: it may be
    written): an unsupported or preview-only type, Intune's built-in scope tag, one of
    Microsoft's built-in objects (``PolicyType.builtin_when``, e.g. an app available to every
    tenant), or otherwise not writable (``write.is_writable``). The preview skips such an item
    (``diff._plan``), the checks never say it "will be created", and a reference to such a
    foundation resolves to its match in the target, never to an object "of this run"
    (``build_resolver``): the one predicate all three use."""
    if item.is_unsupported:
        return NEVER_WRITTEN_UNSUPPORTED
    if item.is_builtin_scope_tag:
        return NEVER_WRITTEN_BUILTIN_SCOPE_TAG
    if item.ptype.is_builtin(item.payload):
        return NEVER_WRITTEN_BUILTIN_OBJECT
    if item.is_preview_only:
        return NEVER_WRITTEN_PREVIEW_ONLY
    if not write.is_writable(item.type_key, item.payload):
        return NEVER_WRITTEN_NOT_WRITABLE
    return ""


def singular(label: str) -> str:
    """``"Scope tags"`` -> ``"Scope tag"``; ``"Remediations"`` -> ``"Remediation"``
    (``check_words.singular_label``: one item's type as the admin center names it)."""
    return singular_label(label)


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


class _MaskedSlots:
    """A resolver for ``references.rewrite`` that writes a neutral token (one per distinct
    target id, so equal ids stay equal) where ``resolver`` would write an id or a placeholder,
    so the identifier scan of ``intended_item`` cannot see what the references become;
    ``unmask`` then puts the real values in."""

    _OPEN: Final = "\ue000ref"
    _CLOSE: Final = "\ue001"

    def __init__(self, resolver: references.Resolver) -> None:
        self.resolver = resolver
        self.tokens: dict[str, str] = {}  # written value -> token

    def resolve_for_write(self, kind: str, source_id: str) -> Resolution:
        resolution = self.resolver.resolve_for_write(kind, source_id)
        if resolution.status == "skipped" or not resolution.resolved:
            return resolution
        if resolution.target_id is None:
            return resolution
        token = self.tokens.setdefault(
            resolution.target_id, f"{self._OPEN}{len(self.tokens)}{self._CLOSE}"
        )
        return dataclasses.replace(resolution, target_id=token)

    def unmask(self, rewritten: references.Rewritten) -> None:
        if not self.tokens:
            return
        values = {token: value for value, token in self.tokens.items()}

        def put_back(node: Any) -> Any:
            if isinstance(node, str):
                if self._OPEN not in node:
                    return node
                for token, value in values.items():
                    node = node.replace(token, value)
                return node
            if isinstance(node, list):
                return [put_back(element) for element in node]
            if isinstance(node, dict):
                return {key: put_back(value) for key, value in node.items()}
            return node

        rewritten.payload = put_back(rewritten.payload)
        if rewritten.assignments is not None:
            rewritten.assignments = put_back(rewritten.assignments)
        rewritten.scope_tag_ids = put_back(rewritten.scope_tag_ids)


def intended_item(
    *,
    type_key: str,
    payload: Mapping[str, Any],
    assignments: Sequence[Mapping[str, Any]] | None,
    scope_tag_ids: Sequence[str] | None,
    resolver: references.Resolver,
    identities: TenantIdentities | None,
    source_identifiers: str,
    secrets: Mapping[str, str] | None = None,
) -> ItemRewrite:
    """The one function that decides the payload a restore writes: the preview diffs it and the
    executor (``execute._intended``) writes it. References are rewritten as ``resolver`` (the
    run's ``ReferenceResolver``) says (``references.rewrite``); ``rewritten.unresolved`` lists
    what it could not resolve, which must not be written; with ``identities`` (a cross-tenant restore) the source tenant's
    identifiers are replaced by the target's when ``source_identifiers`` is ``replace`` and only
    located otherwise. The identifier scan never looks into the reference slots the rewrite
    filled (``_MaskedSlots``): what is written there is the target's id (or, in the preview, a
    placeholder naming a foundation the run creates), never a source tenant identifier."""
    masked = _MaskedSlots(resolver) if identities is not None else None
    rewritten = references.rewrite(
        type_key=type_key,
        payload=payload,
        assignments=assignments,
        scope_tag_ids=scope_tag_ids,
        resolver=masked if masked is not None else resolver,
    )
    original_secrets: Mapping[str, str] = secrets if secrets is not None else {}
    if identities is None or masked is None:
        return ItemRewrite(rewritten=rewritten, secrets=original_secrets)
    replace = source_identifiers == "replace"
    new_secrets, secret_places = tenant_identity.scan_secrets(
        original_secrets, identities.source, identities.target, replace=replace
    )
    # The object's own name is left as it is: the executor finds what it created by (type,
    # name), after an unclear answer and on resume, so a renamed object would be created again.
    ptype = policy_type_of(type_key)
    name_keys = {ptype.display_name_property, "displayName", "name"}
    # Properties never written (server-made, e.g. a profile's own endpoint URL naming its
    # tenant) and a nested object's parent annotations are not looked into either.
    name_keys |= ptype.all_read_only_fields | {PARENT_ID_KEY, PARENT_NAME_KEY}
    if not replace:
        places = tenant_identity.find_identifiers(
            rewritten.payload, identities.source, identities.target, leave=name_keys
        )
        masked.unmask(rewritten)
        return ItemRewrite(
            rewritten=rewritten, identifier_places=places + secret_places, secrets=original_secrets
        )
    scan = tenant_identity.replace_identifiers(
        rewritten.payload, identities.source, identities.target, leave=name_keys
    )
    rewritten.payload = scan.payload
    masked.unmask(rewritten)
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
class KeptElements:
    """``payload``: what the target holds after a write that only merges some child lists
    (``PolicyType.merge_only_lists``): the intended payload plus, in each such list, the
    target's elements the backup lacks. ``kept``: ``"<list>[<identity>]"`` of each of them."""

    payload: dict[str, Any]
    kept: list[str] = field(default_factory=list)


#: How the preview and verification name an element a merge-only write keeps.
KEPT_NOTE: Final = "kept (a restore never deletes)"


def with_kept_elements(
    *, type_key: str, intended: Mapping[str, Any], current: Mapping[str, Any] | None
) -> KeptElements:
    """The intended payload as the target will hold it once written: in every child list the
    restore only merges into (``PolicyType.merge_only_lists``: intent settings, administrative
    template definition values, localized notification messages), the target's elements whose
    identity the backup lacks stay (``write`` never removes them). The preview compares this
    with the target and verification with the object read back, so a kept element is neither
    a planned change nor a difference after writing. ``current``: the target's payload
    (``None`` for a create: nothing is kept)."""
    payload: dict[str, Any] = dict(intended)
    kept: list[str] = []
    if current is None:
        return KeptElements(payload=payload)
    for merged in policy_type_of(type_key).merge_only_lists:
        live = current.get(merged.property)
        if not isinstance(live, list) or not live:
            continue
        own = payload.get(merged.property)
        own_list = list(own) if isinstance(own, list) else []
        wanted = {_element_identity(element, merged.identity) for element in own_list}
        extra = [
            element
            for element in live
            if (identity := _element_identity(element, merged.identity)) is not None
            and identity not in wanted
        ]
        if not extra:
            continue
        payload[merged.property] = own_list + [dict(element) for element in extra]
        kept += [
            f"{merged.property}[{_element_identity(element, merged.identity)}]" for element in extra
        ]
    return KeptElements(payload=payload, kept=kept)


def _element_identity(element: Any, identity: str) -> str | None:
    value: Any = element
    for part in identity.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return str(value) if isinstance(value, str | int) and str(value) else None


@dataclass(frozen=True)
class BackupNames:
    """Names the backup set knows, whether or not the objects are in scope."""

    #: Group id -> display name (``BackupSet.group_names``).
    groups: Mapping[str, str] = field(default_factory=dict)
    #: Foundation type key -> source id -> display name (every foundation item of the backup
    #: set whose type a reference kind points at).
    foundations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Foundation type key -> source ids of the backup set's foundations a run never writes
    #: (``never_written``, in scope or not): including one in the scope creates nothing.
    never_written: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def name(self, kind: str, source_id: str) -> str | None:
        type_key = _foundation_type(kind)
        if type_key is None:
            return self.groups.get(source_id)
        return (self.foundations.get(type_key) or {}).get(source_id)


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
    always, assignment references (groups, filters) only when assignments are restored.

    Found once per item and kept on it (``SourceItem.references``): the group lookup and the
    checks both ask, and finding them walks the whole payload."""
    return list(item.references(include_assignments=include_assignments))


def assignment_target(assignment: Mapping[str, Any]) -> Mapping[str, Any]:
    target = assignment.get("target")
    return target if isinstance(target, Mapping) else {}


def target_type(assignment: Mapping[str, Any]) -> str:
    odata_type = str(assignment_target(assignment).get("@odata.type") or "")
    if odata_type and not odata_type.startswith("#"):
        odata_type = "#" + odata_type
    return odata_type


class ReferenceResolver:
    """Resolves references of backup items against the target (see module docstring): the one
    resolver of the checks, the preview and the executor.

    ``resolve`` answers the checks (cached: it depends only on the inputs and the target as
    read). ``resolve_for_write`` answers ``references.rewrite`` (``intended_item``): the same
    decision, with the id to write for a foundation of this run. In the preview
    (``foundation_ids=None``) a foundation the run creates has no id yet: it is written as a
    readable placeholder (``placeholders`` maps it back to the name). In the executor
    ``foundation_ids`` holds the ids of the foundations this run created or matched so far
    (the executor adds to it as it goes); a foundation in scope that is not there was not
    restored (``not_restored``), so nothing that refers to it is written.
    """

    def __init__(
        self,
        *,
        inputs: RunInputs,
        target_state: TargetState,
        target_groups: TargetGroups,
        backup_names: BackupNames,
        scoped_foundations: Mapping[str, Mapping[str, Any]],
        foundation_ids: Mapping[str, Mapping[str, str]] | None = None,
        unwritten_matches: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """``scoped_foundations``: kind -> source id -> the matched target item of that
        foundation (``None`` when it will be created), for the foundations in scope.
        ``unwritten_matches``: kind -> source id -> the matched target item of a foundation in
        scope the run never writes (``never_written``): references to it are written as that
        target object's id, in the preview and in the executor alike.
        ``foundation_ids``: kind -> source id -> target id of the foundations this run created
        or matched (execution; ``None`` in the checks and the preview)."""
        self.inputs = inputs
        self.state = target_state
        self.groups = target_groups
        self.names = backup_names
        self.scoped_foundations = scoped_foundations
        self.foundation_ids = foundation_ids
        self.unwritten_matches = unwritten_matches or {}
        #: Placeholder written in the preview -> the name of the foundation the run creates.
        self.placeholders: dict[str, str] = {}
        self._cache: dict[tuple[str, str], Resolution] = {}

    def source_name(self, kind: str, source_id: str) -> str | None:
        return self.names.name(kind, source_id)

    def target_name(self, kind: str, target_id: str) -> str | None:
        type_key = _foundation_type(kind)
        if type_key is None:
            return self.groups.name_of(target_id)
        return self.state.name_of(type_key, target_id)

    def target_exists(self, kind: str, target_id: str) -> bool:
        type_key = _foundation_type(kind)
        if type_key is None:
            return self.groups.exists(target_id)
        if (
            reference_kinds.is_kind(kind)
            and reference_kinds.get(kind).is_scope_tag
            and target_id == BUILTIN_SCOPE_TAG_ID
        ):
            return True  # the built-in scope tag exists in every tenant
        return self.state.has(type_key, target_id)

    def unreadable(self, kind: str) -> bool:
        """The target's objects of ``kind`` could not be read."""
        type_key = _foundation_type(kind)
        if type_key is None:
            return bool(self.groups.unreadable)
        return type_key in self.state.unreadable

    def resolve(self, kind: str, source_id: str) -> Resolution:
        key = (kind, source_id)
        if key not in self._cache:
            self._cache[key] = self._resolve(kind, source_id)
        return self._cache[key]

    def _resolve(self, kind: str, source_id: str) -> Resolution:
        is_mapped, mapped_to = self.inputs.mapped(kind, source_id)
        if is_mapped and mapped_to is None and not _can_skip(kind):
            is_mapped = False  # the object cannot do without it: a skip is not a decision
        if is_mapped:
            if mapped_to is None:
                return Resolution("skipped")
            if self.target_exists(kind, mapped_to):
                return Resolution("mapped", mapped_to, self.target_name(kind, mapped_to))
            return Resolution("mapped_missing", mapped_to)
        unwritten = (self.unwritten_matches.get(kind) or {}).get(source_id)
        if unwritten is not None:  # never written by the run, but the target has it
            return Resolution("exists", unwritten.source_id, unwritten.display_name)
        scoped = self.scoped_foundations.get(kind) or {}
        if source_id in scoped:
            matched = scoped[source_id]
            if matched is not None:
                return Resolution("in_scope", matched.source_id, matched.display_name)
            return Resolution("in_scope", None, self.source_name(kind, source_id))
        if self.inputs.same_tenant and self.target_exists(kind, source_id):
            return Resolution("exists", source_id, self.target_name(kind, source_id))
        return Resolution("missing")

    def resolve_for_write(self, kind: str, source_id: str) -> Resolution:
        """``resolve``, with the id a foundation of this run is written as (see the class)."""
        resolution = self.resolve(kind, source_id)
        if resolution.status != "in_scope":
            return resolution
        if self.foundation_ids is not None:
            written = (self.foundation_ids.get(kind) or {}).get(source_id)
            if written:
                return Resolution("in_scope", written, resolution.target_name)
            return Resolution("not_restored", None, resolution.target_name)
        if resolution.target_id is not None:
            return resolution
        name = resolution.target_name or source_id
        placeholder = f"(new {kind_label(kind)} '{name}')"
        self.placeholders[placeholder] = name
        return Resolution("in_scope", placeholder, name)

    def suggestions(self, kind: str, source_id: str) -> list[dict[str, str]]:
        """Target objects with the same name as the source object (a unique one is proposed)."""
        name = self.source_name(kind, source_id)
        if not name:
            return []
        type_key = _foundation_type(kind)
        if type_key is None:
            return [
                {"id": str(group["id"]), "name": str(group.get("displayName") or "")}
                for group in self.groups.with_name(name)
            ]
        if type_key in self.state.unreadable:
            return []
        return [
            {"id": candidate.source_id, "name": candidate.display_name}
            for candidate in self.state.by_name(type_key, name)
        ]

    def describe_unresolved(self, refs: Sequence[Reference], *, item_label: str) -> str:
        """Why ``item_label`` cannot be written: each unresolved reference once, by kind, name
        and id, with what to do (for the executor's failure message)."""
        parts: list[str] = []
        seen: set[tuple[str, str]] = set()
        for ref in refs:
            if (ref.kind, ref.source_id) in seen:
                continue
            seen.add((ref.kind, ref.source_id))
            parts.append(self._describe_one(ref))
        return (
            f"{item_label} was not written: it refers to "
            + "; ".join(parts)
            + ". Nothing was written with the source tenant's ids. Run the checks and the "
            "preview again, then execute again."
        )

    def _describe_one(self, ref: Reference) -> str:
        label = kind_label(ref.kind)
        name = self.source_name(ref.kind, ref.source_id)
        named = (
            f"the {label} '{name}' (id {ref.source_id})"
            if name
            else (f"the {label} with id {ref.source_id}")
        )
        target = self.inputs.target_label
        resolution = self.resolve_for_write(ref.kind, ref.source_id)
        skip = (
            reference_kinds.get(ref.kind).skip_words
            if reference_kinds.is_kind(ref.kind)
            else "skip it"
        )
        if resolution.status == "mapped_missing":
            return (
                f"{named}, mapped to {label} id {resolution.target_id}, which does not exist "
                f"in {target} (any more): map it to an existing {label} in step 3, or {skip}"
            )
        if resolution.status == "not_restored":
            return (
                f"{named}, which this run was to restore but did not (see its own outcome): "
                f"fix that {label} and execute again, or map it to an existing {label} in step 3"
            )
        where = "could not be read in" if self.unreadable(ref.kind) else "does not exist in"
        include = (
            f"include the {label} in the scope in step 2, "
            if references.restored_before_referrers(ref.kind)
            and self.source_name(ref.kind, ref.source_id)
            else ""
        )
        return (
            f"{named}, which {where} {target}: {include}map it to an existing {label} in "
            f"step 3, or {skip}"
        )


def match_of(item: SourceItem, state: TargetState, inputs: RunInputs) -> Match:
    """The item's target object (``target.match_item``: by id in the same tenant, then by
    type and name)."""
    return target.match_item(
        state,
        type_key=item.type_key,
        source_id=item.source_id,
        display_name=item.display_name,
        same_tenant=inputs.same_tenant,
        is_default=isinstance(item.payload, dict) and item.ptype.is_tenant_default(item.payload),
    )


def build_resolver(
    *,
    items: Iterable[SourceItem],
    target_state: TargetState,
    target_groups: TargetGroups,
    backup_names: BackupNames,
    inputs: RunInputs,
    foundation_ids: Mapping[str, Mapping[str, str]] | None = None,
) -> ReferenceResolver:
    """A resolver that knows which foundations are in scope and what they match in the target
    (an ambiguous or absent match counts as "created by this run": the foundation's own checks
    say whether that can happen). A foundation whose type could not be read in the target is
    never written, so it resolves nothing; nor is one the run never writes (``never_written``,
    e.g. Microsoft's built-in apps): it resolves to its match in the target, and without one
    it is not in scope (what refers to it is missing). ``foundation_ids``: the executor's ids of the
    foundations this run created or matched (see ``ReferenceResolver``)."""
    scoped: dict[str, dict[str, Any]] = {
        kind.key: {} for kind in reference_kinds.foundation_kinds()
    }
    unwritten: dict[str, dict[str, Any]] = {}
    # only items of a type references point at matter (``reference_kinds.kind_of_type``)
    for item in items_of_types(items, foundation_type_keys()):
        if item.type_key in target_state.unreadable:
            continue
        unwritten_kind = reference_kinds.kind_of_type(item.type_key)
        if unwritten_kind is not None and never_written(item):
            # (the built-in scope tag resolves as it is). Only a foundation resolves to its
            # match by name: an object of another type (a VPP token, bound to its tenant) is
            # resolved by the mapping, or in the same tenant by its id, never by a name.
            if not item.is_builtin_scope_tag and item.is_foundation:
                match = match_of(item, target_state, inputs)
                if match.target is not None:
                    unwritten.setdefault(unwritten_kind.key, {})[item.source_id] = match.target
            continue
        kind = reference_kinds.kind_of_type(item.type_key)
        if (
            kind is not None
            and not item.is_builtin_scope_tag
            # Never written, or written after what refers to it: the mapping or the same id
            # in the same tenant must resolve it, never "created by this run".
            and references.restored_before_referrers(kind.key)
        ):
            match = match_of(item, target_state, inputs)
            if match.target is None and item.ptype.create_limit_for(item.payload) is not None:
                # Never created (e.g. an app whose content is not in the backup): what refers
                # to it is unresolved, not "created by this run".
                continue
            scoped[kind.key][item.source_id] = match.target
    return ReferenceResolver(
        inputs=inputs,
        target_state=target_state,
        target_groups=target_groups,
        backup_names=backup_names,
        scoped_foundations=scoped,
        foundation_ids=foundation_ids,
        unwritten_matches=unwritten,
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


#: Backup items ``SourceItems`` reads from the database at a time.
SOURCE_CHUNK: Final = 100
#: Bytes of found references ``SourceItems`` keeps between passes (compact JSON per item; past
#: it, later items' references are found again on each pass): bounded, whatever the scope.
REFERENCE_CACHE_BYTES: Final = 2 * 1024 * 1024
#: What one kept entry costs besides its bytes (the dictionary slot and the key).
_REFERENCE_ENTRY_COST: Final = 100


class SourceItems:
    """The run's scoped items in restore order, read from the database ``SOURCE_CHUNK`` at a
    time each time they are iterated: only their primary keys and types stay in memory, so the
    checks and the preview of 20,000 items never hold every payload at once. Each pass reads
    the rows again (``SourceItem`` values are rebuilt, their references found again)."""

    def __init__(self, *, pks: Sequence[int], type_keys: Sequence[str]) -> None:
        self._pks = list(pks)
        self._types = list(type_keys)
        # an item's references with its assignments (``SourceItem.references``), found on an
        # earlier pass: the group lookups and the checker both ask, and finding them walks the
        # whole payload
        self._references: dict[int, bytes] = {}
        self._reference_bytes = 0

    def __len__(self) -> int:
        return len(self._pks)

    def __iter__(self) -> Iterator[SourceItem]:
        return self._read(range(len(self._pks)))

    @property
    def type_keys(self) -> set[str]:
        return set(self._types)

    def of_types(self, type_keys: Iterable[str]) -> Iterator[SourceItem]:
        """The items of ``type_keys`` only, in restore order (only their rows are read)."""
        wanted = set(type_keys)
        return self._read([index for index, key in enumerate(self._types) if key in wanted])

    def _read(self, positions: Sequence[int]) -> Iterator[SourceItem]:
        for start in range(0, len(positions), SOURCE_CHUNK):
            pks = [self._pks[index] for index in positions[start : start + SOURCE_CHUNK]]
            rows = BackupItem.objects.in_bulk(pks)
            for pk in pks:
                row = rows.get(pk)
                if row is None:
                    raise RestoreRunError(
                        f"Backup item #{pk} of the run's backup set disappeared while the run "
                        "was using it: run the step again."
                    )
                item = _source_item(row)
                kept = self._references.get(pk)
                if kept is not None:
                    item.__dict__["_references"] = {True: _decode_references(kept)}
                yield item
                if kept is None:  # (the caller is done with the item: keep what it found)
                    self._keep_references(pk, item)

    def _keep_references(self, pk: int, item: SourceItem) -> None:
        found = item.__dict__.get("_references", {}).get(True)
        if found is None:
            return
        data = _encode_references(found)
        cost = len(data) + _REFERENCE_ENTRY_COST
        if self._reference_bytes + cost > REFERENCE_CACHE_BYTES:
            return
        self._references[pk] = data
        self._reference_bytes += cost


def _encode_references(found: Sequence[Reference]) -> bytes:
    return json.dumps(
        [[ref.kind, ref.source_id, ref.where] for ref in found], separators=(",", ":")
    ).encode()


def _decode_references(data: bytes) -> tuple[Reference, ...]:
    return tuple(
        Reference(kind=kind, source_id=source_id, where=where)
        for kind, source_id, where in json.loads(data)
    )


def items_of_types(items: Iterable[SourceItem], type_keys: Iterable[str]) -> Iterator[SourceItem]:
    """The items of ``type_keys`` among ``items`` (a ``SourceItems`` reads only those rows)."""
    if isinstance(items, SourceItems):
        return items.of_types(type_keys)
    wanted = set(type_keys)
    return (item for item in items if item.type_key in wanted)


@dataclass(frozen=True)
class RunSource:
    """Everything the engines read from the database for one run. ``items``: a list (tests,
    small callers) or ``SourceItems`` (``load_source``: streamed from the database)."""

    items: Sequence[SourceItem] | SourceItems
    names: BackupNames
    inputs: RunInputs

    def type_keys_to_read(self) -> list[str]:
        """Types of the target to read: every restorable type in scope plus the foundation
        types (references are resolved against them). Unsupported objects are never read:
        nothing can be written for them."""
        in_scope = (
            self.items.type_keys
            if isinstance(self.items, SourceItems)
            else {item.type_key for item in self.items}
        )
        keys = {key for key in in_scope if not registry.is_unsupported(policy_type_of(key))}
        keys.update(foundation_type_keys())
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


def _never_written_foundations(backup_set: Any) -> dict[str, frozenset[str]]:
    """Source ids of the backup set's foundations a run never writes (``never_written``): of
    preview-only foundation types all, of types with built-in objects (``builtin_when``) those
    (one query per such type, on the payload's discriminating property)."""
    found: dict[str, frozenset[str]] = {}
    for type_key in foundation_type_keys():
        ptype = policy_type_of(type_key)
        rows = BackupItem.objects.filter(backup_set=backup_set, policy_type=type_key)
        if registry.is_unsupported(ptype) or ptype.is_preview_only:
            found[type_key] = frozenset(rows.values_list("source_id", flat=True))
        elif ptype.builtin_when is not None:
            lookup = (
                "stored_payload__payload__"
                + ptype.builtin_when.path.replace(".", "__")
                + "__startswith"
            )
            condition = {lookup: ptype.builtin_when.prefix}
            rows = (
                rows.exclude(**condition) if ptype.builtin_when.negate else rows.filter(**condition)
            )
            found[type_key] = frozenset(rows.values_list("source_id", flat=True))
    return {type_key: ids for type_key, ids in found.items() if ids}


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
    # Only the keys and the order here; the items themselves are read a chunk at a time.
    keys = sorted(
        rows.values_list("pk", "policy_type", "display_name", "source_id"),
        key=lambda row: (restore_order(row[1]), row[2], row[3]),
    )
    shared: dict[str, str] = {}  # one string per type, not one per item
    items = SourceItems(
        pks=[row[0] for row in keys], type_keys=[shared.setdefault(row[1], row[1]) for row in keys]
    )
    foundation_names: dict[str, dict[str, str]] = {key: {} for key in foundation_type_keys()}
    for type_key, source_id, name in BackupItem.objects.filter(
        backup_set=backup_set, policy_type__in=foundation_type_keys()
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
    names = BackupNames(
        groups=dict(backup_set.group_names or {}),
        foundations=foundation_names,
        never_written=_never_written_foundations(backup_set),
    )
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
_NAMES_PER_FILTER: Final = capture.GROUP_IDS_PER_FILTER


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
    # The target's secret values are never compared nor shown (the kept read leaves them out
    # too): not read. The executor reads them for its pre-restore snapshot.
    state = target.read_target(
        client,
        type_keys=source.type_keys_to_read(),
        on_progress=on_progress,
        secret_values=False,
    )
    return state, load_target_groups(client, source, state)


def load_target_groups(
    client: GraphClient, source: RunSource, state: TargetState, *, suggestions: bool = True
) -> TargetGroups:
    """The target's groups the scoped items reference or the mapping names (batched by id),
    and with ``suggestions`` same-name groups for the missing ones (batched by name). Groups
    are the references whose kind has no foundation type (``reference_kinds``)."""
    directory = {kind.key for kind in reference_kinds.all_kinds() if not kind.is_foundation}
    referenced: set[str] = set()
    if source.inputs.include_assignments:
        for item in source.items:
            for ref in item_references(item, include_assignments=True):
                if ref.kind in directory:
                    referenced.add(ref.source_id)
    mapped = {
        target_id
        for kind in directory
        for target_id in (source.inputs.mapping.get(kind) or {}).values()
        if target_id
    }
    if not referenced and not mapped:
        return TargetGroups(existing=dict(state.group_names))
    # Across tenants source ids never exist in the target: only the mapped ids are looked up.
    candidates = (referenced if source.inputs.same_tenant else set()) | mapped
    lookup = sorted(candidates - set(state.group_names))
    existing: dict[str, str] = dict(state.group_names)
    try:
        if lookup:
            existing.update(capture.read_groups_by_id(client, lookup))
        elif not state.group_names:
            # One cheap probe: a missing Group.Read.All must not look like "every group is
            # gone". (Groups read already, or the lookup's own answer, prove it either way.)
            client.get("groups", params={"$top": "1", "$select": "id"})
    except PermissionDeniedError as exc:
        return TargetGroups(
            unreadable=f"The app cannot read the groups of the tenant (it lacks "
            f"{GROUP_READ_PERMISSION}). Graph said: {exc}"
        )
    missing_names = {
        source.names.groups.get(group_id, "")
        for group_id in referenced
        if group_id not in existing or not source.inputs.same_tenant
    }
    named = _groups_named(client, missing_names) if suggestions and missing_names - {""} else {}
    return TargetGroups(existing=existing, named=named)


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
    when recorded), the scoped source, the live target, and the Graph requests the read cost.

    ``read_at``: when the target read started. ``read_by``: the step that read it
    (``checks`` or ``preview``); a preview planning from the checks' read
    (``services/target_read.py``) has ``reused`` set and ``graph_requests`` 0 (the checks
    counted that read). ``not_reused``: why a preview read again (``""`` when it did not)."""

    run: RestoreRun
    fingerprint: str
    source: RunSource
    state: TargetState
    groups: TargetGroups
    graph_requests: int
    read_at: datetime
    read_by: str
    reused: bool = False
    #: Requests the read itself cost when it was made (the checks' count for a reused read).
    read_requests: int = 0
    not_reused: str = ""

    def summary(self) -> dict[str, Any]:
        """``summary["target_read"]`` of the checks and the preview: when the target was read,
        by which step, whether this step reused it and, when a preview read again, why."""
        found: dict[str, Any] = {
            "read_at": self.read_at.isoformat(),
            "read_by": self.read_by,
            "reused": self.reused,
            "graph_requests": self.read_requests,
        }
        if self.not_reused:
            found["not_reused"] = self.not_reused
        return found


#: ``reuse(run, fingerprint, source)``: a read made earlier (the checks') the caller may plan
#: from instead of reading the target, and why not when it returns ``None`` ("" when there was
#: nothing to reuse): ``target_read.restore_target_read_reusable`` decides.
ReuseRead = Callable[[RestoreRun, str, "RunSource"], tuple["TargetRead | None", str]]


def read_target_for(
    run: RestoreRun,
    *,
    actor: Any,
    action: Action,
    on_progress: ProgressCallback | None = None,
    reuse: ReuseRead | None = None,
) -> TargetRead:
    """Ask the policy whether ``actor`` may do ``action`` (checks or preview) on ``run``, then
    read the scoped source and the live target once. Refusals raise ``RestoreRunRefused``.

    With ``reuse`` (the preview), an earlier read it accepts is returned instead of reading the
    target: no Graph request."""
    run = fresh_run(run)
    decision = RestoreRunPolicy(run, actor).can(action)
    if not decision.allowed:
        raise RestoreRunRefused(decision.reasons, action=action.value)
    fingerprint = restore_run_fingerprint(run)
    source = load_source(run)
    not_reused = ""
    if reuse is not None:
        reused, not_reused = reuse(run, fingerprint, source)
        if reused is not None:
            return reused
    read_by = "checks" if action is Action.RUN_CHECKS else "preview"
    read_at = timezone.now()
    client = graph_client_for_run(run)
    before = client.request_count
    state, groups = load_target(client, source, on_progress=on_progress)
    if not source.inputs.same_tenant:
        identities = load_identities(run, client)
        source = dataclasses.replace(
            source, inputs=dataclasses.replace(source.inputs, identities=identities)
        )
    requests = client.request_count - before
    return TargetRead(
        run=run,
        fingerprint=fingerprint,
        source=source,
        state=state,
        groups=groups,
        graph_requests=requests,
        read_at=read_at,
        read_by=read_by,
        read_requests=requests,
        not_reused=not_reused,
    )


__all__ = [
    "GROUP_READ_PERMISSION",
    "KEPT_NOTE",
    "BackupNames",
    "ItemRewrite",
    "KeptElements",
    "ProgressCallback",
    "Reference",
    "ReferenceResolver",
    "Resolution",
    "ReuseRead",
    "RunInputs",
    "RunSource",
    "SourceItem",
    "SourceItems",
    "TargetGroups",
    "TargetRead",
    "TenantIdentities",
    "assignment_index",
    "assignments_plan",
    "broad_targets",
    "build_resolver",
    "foundation_type_keys",
    "fresh_run",
    "graph_client_for_run",
    "intended_item",
    "item_references",
    "items_of_types",
    "kind_label",
    "load_identities",
    "load_source",
    "load_target",
    "load_target_groups",
    "match_of",
    "never_written",
    "policy_type_of",
    "restore_order",
    "singular",
    "with_checked_identities",
    "with_kept_elements",
]
