"""References from a policy to other objects (groups, assignment filters, scope tags,
notification templates, ...: the kinds of ``reference_kinds``) and their rewriting.

Pure functions, no I/O (docs/architecture.md §3b). The kinds, where they occur and which values
are not references are data in ``reference_kinds``; this module reads them at call time, so a
kind added there is located and rewritten here without a change.

``rewrite`` does not decide anything itself: a resolver (``Resolver``: the restore engine's
``source.ReferenceResolver``, the same one the checks and the preview use) says for each
reference whether it is written as a target id, skipped by the user's explicit choice, or
unresolved. An unresolved reference keeps its source id in the result and is reported in
``Rewritten.unresolved``: the caller must never write such a result (the executor fails the
item).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tenantguard.intune import reference_kinds, registry
from tenantguard.intune.reference_kinds import EMPTY_GUID
from tenantguard.intune.registry import PolicyType
from tenantguard.intune.typespec import deep_filter, deep_matches, path_segments

#: A reference kind's key (``reference_kinds.keys()``).
ReferenceKind = str


@dataclass(frozen=True)
class Reference:
    """``source_id`` of a ``kind`` object, used at ``where`` (e.g. ``assignments[2].target.groupId``,
    ``scopeTagIds[0]``, ``scheduledActionsForRule[0].scheduledActionConfigurations[1]
    .notificationTemplateId``)."""

    kind: ReferenceKind
    source_id: str
    where: str


ResolutionStatus = Literal[
    "mapped", "skipped", "in_scope", "exists", "missing", "mapped_missing", "not_restored"
]


@dataclass(frozen=True)
class Resolution:
    """How one reference is written.

    - ``mapped``: the mapping names an existing target object (``target_id``).
    - ``skipped``: the mapping says ``None``: the assignments using it (or the scope tag /
      template reference itself) are left out, by the user's explicit choice.
    - ``in_scope``: a foundation of this run; ``target_id`` is its target object (matched, or
      created by the run), ``None`` while the run has not created it yet.
    - ``exists``: same-tenant restore and the id still exists in the target; or a foundation
      in scope the run never writes (e.g. one of Microsoft's built-in apps), and ``target_id``
      is the target object it matches.
    - ``missing`` / ``mapped_missing``: cannot be written (blocking until resolved); the mapping
      of ``mapped_missing`` points at something the target does not hold.
    - ``not_restored``: (execution only) a foundation of this run that the run did not create
      or match (it failed or was skipped), so there is no target id to write.
    """

    status: ResolutionStatus
    target_id: str | None = None
    #: Name of what the reference becomes in the target (target name, or the backup's name of
    #: an object this run creates; ``None`` when unknown).
    target_name: str | None = None

    @property
    def resolved(self) -> bool:
        return self.status not in ("missing", "mapped_missing", "not_restored")


class Resolver(Protocol):
    """What ``rewrite`` asks about each reference: the id to write (``Resolution.target_id`` of a
    resolved status), ``skipped``, or anything unresolved."""

    def resolve_for_write(self, kind: str, source_id: str) -> Resolution: ...


@dataclass
class Rewritten:
    """What ``rewrite`` produced.

    ``unresolved``: references the resolver could not resolve (``unresolved_resolutions[i]``
    says why for ``unresolved[i]``); they keep their source id here, so this result must not be
    written while any is left (only assignment references when assignments are not written).
    ``skipped_assignments``: the assignments left out because a reference they use is mapped to
    ``None``, as they were given; ``skip_reasons[i]`` is the reference that caused
    ``skipped_assignments[i]`` to be skipped. ``dropped``: other references mapped to ``None``:
    left out of their list (scope tags) or replaced by the all-zero GUID (notification
    templates: no notification), as ``reference_kinds.ReferenceKind.on_skip`` says.
    """

    payload: dict[str, Any]
    assignments: list[dict[str, Any]] | None
    scope_tag_ids: list[str]
    unresolved: list[Reference] = field(default_factory=list)
    unresolved_resolutions: list[Resolution] = field(default_factory=list)
    skipped_assignments: list[dict[str, Any]] = field(default_factory=list)
    skip_reasons: list[Reference] = field(default_factory=list)
    dropped: list[Reference] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Locating references
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """A place holding a reference: ``container[key]``."""

    where: str
    container: Any
    key: Any

    @property
    def value(self) -> Any:
        return self.container[self.key]

    def set(self, value: Any) -> None:
        self.container[self.key] = value


def _slots(node: Any, segments: Sequence[str], where: str) -> Iterator[_Slot]:
    """Every place a FoundationRef-style path (``a[].b.c[]``, ``**[key=value]``) names, with
    indexed ``where``."""
    if not segments or not isinstance(node, dict):
        return
    head, rest = segments[0], segments[1:]
    condition = deep_filter(head)
    if condition is not None:
        for match_where, match in deep_matches(node, condition, where):
            yield from _slots(match, rest, match_where)
        return
    name = head.removesuffix("[]")
    here = f"{where}.{name}" if where else name
    if name not in node:
        return
    if head.endswith("[]"):
        child = node[name]
        if not isinstance(child, list):
            return
        for index, element in enumerate(child):
            if rest:
                yield from _slots(element, rest, f"{here}[{index}]")
            else:
                yield _Slot(f"{here}[{index}]", child, index)
    elif rest:
        yield from _slots(node[name], rest, here)
    else:
        yield _Slot(here, node, name)


def is_reference(kind: str, value: Any) -> bool:
    """A reference of ``kind`` (``reference_kinds``), and not one of the foundation type's
    built-in objects (the same id in every tenant: nothing to map or create)."""
    return reference_kinds.is_reference(kind, value) and str(value) not in _builtin_ids(kind)


_is_reference = is_reference


def _builtin_ids(kind: str) -> frozenset[str]:
    if not reference_kinds.is_kind(kind):
        return frozenset()
    type_key = reference_kinds.get(kind).foundation_type
    if type_key is None:
        return frozenset()
    return _builtin_ids_of_type(type_key)


@functools.lru_cache(maxsize=64)
def _builtin_ids_of_type(type_key: str) -> frozenset[str]:
    try:
        collection = registry.get(type_key).collection
    except KeyError:
        return frozenset()
    return frozenset(
        str(obj["id"])
        for where, obj in registry.builtin_objects()
        if where == collection and obj.get("id") is not None
    )


def restored_before_referrers(kind: str) -> bool:
    """A run that has objects of ``kind`` in scope writes them before anything that refers to
    them, so an object of the scope resolves such a reference (matched, or created by the run).

    True when the kind's backing type is a foundation (restored first) that is written. Not so
    for a type never written (preview-only, e.g. VPP tokens) nor for one restored among the
    policies (device configurations come after the apps whose assignments name them): such a
    reference is resolved only by the mapping or, in the same tenant, by the id existing there.
    """
    if not reference_kinds.is_kind(kind):
        return False
    type_key = reference_kinds.get(kind).foundation_type
    if type_key is None:
        return False
    try:
        ptype = registry.get(type_key)
    except KeyError:
        return False
    return ptype.is_foundation and not ptype.is_preview_only


def _scope_tag_key() -> str | None:
    kind = reference_kinds.scope_tag_kind()
    return kind.key if kind is not None else None


def _payload_ref_paths(ptype: PolicyType) -> list[tuple[ReferenceKind, str]]:
    """Payload references other than the scope tag property (scope tags are handled through
    ``scope_tag_ids`` when a kind says it is the scope tag property)."""
    scope_path = (
        f"{ptype.scope_tag_property}[]"
        if ptype.scope_tag_property and _scope_tag_key() is not None
        else None
    )
    paths: list[tuple[ReferenceKind, str]] = []
    for ref in ptype.foundation_refs:
        if ref.in_assignments or ref.path == scope_path:
            continue
        paths.append((str(ref.foundation), ref.path))
    return paths


def _assignment_ref_paths(ptype: PolicyType) -> list[tuple[ReferenceKind, str]]:
    """Paths (relative to each assignment) of references in assignments: every kind's
    ``assignment_target_key`` whatever the type, plus the type's own ``in_assignments`` refs."""
    paths = [
        (kind.key, f"target.{kind.assignment_target_key}")
        for kind in reference_kinds.assignment_kinds()
    ]
    for ref in ptype.foundation_refs:
        entry = (str(ref.foundation), ref.path)
        if ref.in_assignments and entry not in paths:
            paths.append(entry)
    return paths


def _assignment_slots(
    ptype: PolicyType, assignment: Mapping[str, Any], index: int
) -> Iterator[tuple[ReferenceKind, _Slot]]:
    for kind, path in _assignment_ref_paths(ptype):
        for slot in _slots(assignment, path_segments(path), f"assignments[{index}]"):
            if _is_reference(kind, slot.value):
                yield kind, slot


def _scope_tags(
    ptype: PolicyType, payload: Mapping[str, Any], scope_tag_ids: Sequence[str] | None
) -> list[str]:
    if scope_tag_ids is not None:
        return [str(tag) for tag in scope_tag_ids]
    return registry.scope_tag_ids_of(ptype, payload)


def references_of(
    *,
    type_key: str,
    payload: Mapping[str, Any],
    assignments: Sequence[Mapping[str, Any]] | None,
    scope_tag_ids: Sequence[str] | None,
) -> list[Reference]:
    """Every reference the object holds, one ``Reference`` per occurrence, in payload / scope
    tag / assignment order.

    Assignment-target kinds (groups, filters) are read from every assignment whatever the
    type; scope tags from ``scope_tag_ids`` (``None``: the payload's scope tag property).
    """
    ptype = registry.get(type_key)
    refs: list[Reference] = []
    seen: set[str] = set()  # a place two paths name (a known setting and a generic one) counts once
    for kind, path in _payload_ref_paths(ptype):
        for slot in _slots(payload, path_segments(path), ""):
            if slot.where in seen:
                continue
            seen.add(slot.where)
            if _is_reference(kind, slot.value):
                refs.append(Reference(kind, str(slot.value), slot.where))
    tag_kind = _scope_tag_key()
    if tag_kind is not None:
        for index, tag in enumerate(_scope_tags(ptype, payload, scope_tag_ids)):
            if _is_reference(tag_kind, tag):
                refs.append(Reference(tag_kind, tag, f"scopeTagIds[{index}]"))
    for index, assignment in enumerate(assignments or []):
        for kind, slot in _assignment_slots(ptype, assignment, index):
            refs.append(Reference(kind, str(slot.value), slot.where))
    return refs


# --------------------------------------------------------------------------------------------
# Rewriting
# --------------------------------------------------------------------------------------------


def _on_skip(kind: str) -> str:
    return reference_kinds.get(kind).on_skip if reference_kinds.is_kind(kind) else "empty_guid"


def rewrite(
    *,
    type_key: str,
    payload: Mapping[str, Any],
    assignments: Sequence[Mapping[str, Any]] | None,
    scope_tag_ids: Sequence[str] | None,
    resolver: Resolver,
) -> Rewritten:
    """Replace every reference by what ``resolver`` says (``resolve_for_write``).

    A reference resolved to a target id is replaced by it; one the user skipped (``skipped``)
    leaves out the assignments that use it for a ``skip_assignment`` kind (reported in
    ``skipped_assignments``, never silently), is left out of its list (scope tags, and other
    ``drop`` kinds in a payload list) or becomes the all-zero GUID; an unresolved one keeps its
    source id and is reported in ``unresolved``. The payload's scope tag property is set to the
    rewritten ``scope_tag_ids`` (added when the type has one and the list is not empty). The
    inputs are not modified.
    """
    ptype = registry.get(type_key)
    result_payload: dict[str, Any] = copy.deepcopy(dict(payload))
    unresolved: list[Reference] = []
    why: list[Resolution] = []
    dropped: list[Reference] = []

    def note_unresolved(ref: Reference, resolution: Resolution) -> None:
        unresolved.append(ref)
        why.append(resolution)

    removals: list[_Slot] = []
    seen: set[str] = set()  # each place is rewritten once, whichever paths name it
    for kind, path in _payload_ref_paths(ptype):
        for slot in _slots(result_payload, path_segments(path), ""):
            if slot.where in seen:
                continue
            seen.add(slot.where)
            if not _is_reference(kind, slot.value):
                continue
            ref = Reference(kind, str(slot.value), slot.where)
            resolution = resolver.resolve_for_write(kind, ref.source_id)
            if resolution.status == "skipped":
                dropped.append(ref)
                if _on_skip(kind) != "empty_guid" and isinstance(slot.container, list):
                    removals.append(slot)
                else:
                    slot.set(EMPTY_GUID)
            elif resolution.resolved and resolution.target_id is not None:
                slot.set(resolution.target_id)
            else:
                note_unresolved(ref, resolution)
    # List elements go last to first, so the indexes of the others still hold.
    for slot in sorted(removals, key=lambda s: s.key, reverse=True):
        del slot.container[slot.key]

    new_tags: list[str] = _scope_tags(ptype, payload, scope_tag_ids)
    tag_kind = _scope_tag_key()
    if tag_kind is not None:
        new_tags = []
        for index, tag in enumerate(_scope_tags(ptype, payload, scope_tag_ids)):
            if not _is_reference(tag_kind, tag):
                if tag and tag not in new_tags:
                    new_tags.append(tag)
                continue
            ref = Reference(tag_kind, tag, f"scopeTagIds[{index}]")
            resolution = resolver.resolve_for_write(tag_kind, tag)
            if resolution.status == "skipped":
                dropped.append(ref)
                continue
            written = tag
            if resolution.resolved and resolution.target_id is not None:
                written = resolution.target_id
            else:
                note_unresolved(ref, resolution)
            if written not in new_tags:
                new_tags.append(str(written))
    if ptype.scope_tag_property and (ptype.scope_tag_property in result_payload or new_tags):
        # The write body carries the scope tags: keep it in step with the rewritten list.
        result_payload[ptype.scope_tag_property] = list(new_tags)

    new_assignments: list[dict[str, Any]] | None = None
    skipped: list[dict[str, Any]] = []
    skip_reasons: list[Reference] = []
    if assignments is not None:
        new_assignments = []
        for index, original in enumerate(assignments):
            assignment: dict[str, Any] = copy.deepcopy(dict(original))
            pending: list[tuple[Reference, _Slot, Resolution]] = []
            skip_reason: Reference | None = None
            for kind, slot in _assignment_slots(ptype, assignment, index):
                ref = Reference(kind, str(slot.value), slot.where)
                resolution = resolver.resolve_for_write(kind, ref.source_id)
                if resolution.status == "skipped" and _on_skip(kind) == "skip_assignment":
                    skip_reason = ref
                    break
                pending.append((ref, slot, resolution))
            if skip_reason is not None:
                skipped.append(copy.deepcopy(dict(original)))
                skip_reasons.append(skip_reason)
                continue
            for ref, slot, resolution in pending:
                if resolution.status == "skipped":
                    dropped.append(ref)
                    slot.set(EMPTY_GUID)
                elif resolution.resolved and resolution.target_id is not None:
                    slot.set(resolution.target_id)
                else:
                    note_unresolved(ref, resolution)
            new_assignments.append(assignment)

    return Rewritten(
        payload=result_payload,
        assignments=new_assignments,
        scope_tag_ids=new_tags,
        unresolved=unresolved,
        unresolved_resolutions=why,
        skipped_assignments=skipped,
        skip_reasons=skip_reasons,
        dropped=dropped,
    )


def in_assignment(ref: Reference) -> bool:
    """``ref`` sits in an assignment (``assignments[i]...``), not in the payload or scope tags."""
    return ref.where.startswith("assignments[")


def unresolved_ids(refs: Sequence[Reference]) -> dict[str, set[str]]:
    """``{kind: {source ids}}`` of ``refs`` (for reports that list each object once)."""
    grouped: dict[str, set[str]] = {kind: set() for kind in reference_kinds.keys()}
    for ref in refs:
        grouped.setdefault(ref.kind, set()).add(ref.source_id)
    return grouped


__all__ = [
    "Reference",
    "ReferenceKind",
    "Resolution",
    "ResolutionStatus",
    "Resolver",
    "Rewritten",
    "in_assignment",
    "is_reference",
    "references_of",
    "restored_before_referrers",
    "rewrite",
    "unresolved_ids",
]
