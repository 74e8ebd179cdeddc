"""References from a policy to other objects (groups, assignment filters, scope tags,
notification templates) and their rewriting through a restore run's mapping.

Pure functions, no I/O (docs/architecture.md §3b). Reference kinds are the mapping keys:
``group``, ``assignment_filter``, ``scope_tag``, ``notification_template``.

Not references: empty values, the all-zero GUID (no filter / no template) and the built-in
scope tag ``"0"`` (it exists in every tenant under the same id).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from tenantguard.intune import registry
from tenantguard.intune.normalize import FILTER_ID_KEY
from tenantguard.intune.registry import BUILTIN_SCOPE_TAG_ID, EMPTY_GUID, PolicyType

ReferenceKind = Literal["group", "assignment_filter", "scope_tag", "notification_template"]
REFERENCE_KINDS: Final[tuple[ReferenceKind, ...]] = (
    "group",
    "assignment_filter",
    "scope_tag",
    "notification_template",
)


@dataclass(frozen=True)
class Reference:
    """``source_id`` of a ``kind`` object, used at ``where`` (e.g. ``assignments[2].target.groupId``,
    ``scopeTagIds[0]``, ``scheduledActionsForRule[0].scheduledActionConfigurations[1]
    .notificationTemplateId``)."""

    kind: ReferenceKind
    source_id: str
    where: str


@dataclass
class Rewritten:
    """What ``rewrite`` produced.

    ``unresolved``: references with neither a mapping nor a foundation id from this run; they
    keep their source id (right in the same tenant, dangling in another: the caller decides).
    ``skipped_assignments``: the assignments left out because a group or filter they use is
    mapped to ``None``, as they were given; ``skip_reasons[i]`` is the reference that caused
    ``skipped_assignments[i]`` to be skipped. ``dropped``: scope tags mapped to ``None`` (left
    out of the scope tag list) and notification templates mapped to ``None`` (replaced by the
    all-zero GUID: no notification).
    """

    payload: dict[str, Any]
    assignments: list[dict[str, Any]] | None
    scope_tag_ids: list[str]
    unresolved: list[Reference] = field(default_factory=list)
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
    """Every place a FoundationRef-style path (``a[].b.c[]``) names, with indexed ``where``."""
    if not segments or not isinstance(node, dict):
        return
    head, rest = segments[0], segments[1:]
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


def _is_reference(kind: str, value: Any) -> bool:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return False
    text = str(value)
    if text in ("", EMPTY_GUID):
        return False
    return not (kind == "scope_tag" and text == BUILTIN_SCOPE_TAG_ID)


def _payload_ref_paths(ptype: PolicyType) -> list[tuple[ReferenceKind, str]]:
    """Payload references other than the scope tag property (scope tags are handled through
    ``scope_tag_ids``)."""
    scope_path = f"{ptype.scope_tag_property}[]" if ptype.scope_tag_property else None
    paths: list[tuple[ReferenceKind, str]] = []
    for ref in ptype.foundation_refs:
        if ref.in_assignments or ref.path == scope_path:
            continue
        paths.append((ref.foundation, ref.path))
    return paths


def _assignment_slots(
    assignment: Mapping[str, Any], index: int
) -> Iterator[tuple[ReferenceKind, _Slot]]:
    target = assignment.get("target")
    if not isinstance(target, dict):
        return
    where = f"assignments[{index}].target"
    if _is_reference("group", target.get("groupId")):
        yield "group", _Slot(f"{where}.groupId", target, "groupId")
    if _is_reference("assignment_filter", target.get(FILTER_ID_KEY)):
        yield "assignment_filter", _Slot(f"{where}.{FILTER_ID_KEY}", target, FILTER_ID_KEY)


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
    """Every group, assignment filter, scope tag and notification template the object uses,
    one ``Reference`` per occurrence, in payload / scope tag / assignment order.

    Groups and filters are read from every assignment target whatever the type; scope tags
    from ``scope_tag_ids`` (``None``: the payload's scope tag property).
    """
    ptype = registry.get(type_key)
    refs: list[Reference] = []
    for kind, path in _payload_ref_paths(ptype):
        for slot in _slots(payload, path.split("."), ""):
            if _is_reference(kind, slot.value):
                refs.append(Reference(kind, str(slot.value), slot.where))
    for index, tag in enumerate(_scope_tags(ptype, payload, scope_tag_ids)):
        if _is_reference("scope_tag", tag):
            refs.append(Reference("scope_tag", tag, f"scopeTagIds[{index}]"))
    for index, assignment in enumerate(assignments or []):
        for kind, slot in _assignment_slots(assignment, index):
            refs.append(Reference(kind, str(slot.value), slot.where))
    return refs


# --------------------------------------------------------------------------------------------
# Rewriting
# --------------------------------------------------------------------------------------------

_KEEP: Final = object()  # sentinel: no mapping, no foundation id


class _Resolver:
    def __init__(
        self,
        mapping: Mapping[str, Mapping[str, str | None]] | None,
        foundation_ids: Mapping[str, Mapping[str, str]] | None,
    ) -> None:
        self.mapping = mapping or {}
        self.foundation_ids = foundation_ids or {}

    def resolve(self, kind: str, source_id: str) -> object:
        """The target id, ``None`` (skip), or ``_KEEP`` (unresolved: keep the source id)."""
        explicit = self.mapping.get(kind) or {}
        if source_id in explicit:
            return explicit[source_id]
        created = self.foundation_ids.get(kind) or {}
        if created.get(source_id):
            return created[source_id]
        return _KEEP


def rewrite(
    *,
    type_key: str,
    payload: Mapping[str, Any],
    assignments: Sequence[Mapping[str, Any]] | None,
    scope_tag_ids: Sequence[str] | None,
    mapping: Mapping[str, Mapping[str, str | None]] | None,
    foundation_ids: Mapping[str, Mapping[str, str]] | None = None,
) -> Rewritten:
    """Replace every reference through ``mapping`` (wins), then ``foundation_ids`` (objects
    created or matched by this run's foundations), else keep the id and report it unresolved.

    A group or filter mapped to ``None`` drops the assignments that use it (reported in
    ``skipped_assignments``, never silently). The payload's scope tag property is set to the
    rewritten ``scope_tag_ids`` (added when the type has one and the list is not empty). The
    inputs are not modified.
    """
    ptype = registry.get(type_key)
    resolver = _Resolver(mapping, foundation_ids)
    result_payload: dict[str, Any] = copy.deepcopy(dict(payload))
    unresolved: list[Reference] = []
    dropped: list[Reference] = []

    for kind, path in _payload_ref_paths(ptype):
        for slot in _slots(result_payload, path.split("."), ""):
            if not _is_reference(kind, slot.value):
                continue
            ref = Reference(kind, str(slot.value), slot.where)
            resolved = resolver.resolve(kind, ref.source_id)
            if resolved is _KEEP:
                unresolved.append(ref)
            elif resolved is None:
                dropped.append(ref)
                slot.set(EMPTY_GUID)
            else:
                slot.set(resolved)

    new_tags: list[str] = []
    for index, tag in enumerate(_scope_tags(ptype, payload, scope_tag_ids)):
        if not _is_reference("scope_tag", tag):
            if tag and tag not in new_tags:
                new_tags.append(tag)
            continue
        ref = Reference("scope_tag", tag, f"scopeTagIds[{index}]")
        resolved = resolver.resolve("scope_tag", tag)
        if resolved is None:
            dropped.append(ref)
            continue
        if resolved is _KEEP:
            unresolved.append(ref)
            resolved = tag
        if resolved not in new_tags:
            new_tags.append(str(resolved))
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
            pending: list[tuple[Reference, _Slot, object]] = []
            skip_reason: Reference | None = None
            for kind, slot in _assignment_slots(assignment, index):
                ref = Reference(kind, str(slot.value), slot.where)
                resolved = resolver.resolve(kind, ref.source_id)
                if resolved is None:
                    skip_reason = ref
                    break
                pending.append((ref, slot, resolved))
            if skip_reason is not None:
                skipped.append(copy.deepcopy(dict(original)))
                skip_reasons.append(skip_reason)
                continue
            for ref, slot, resolved in pending:
                if resolved is _KEEP:
                    unresolved.append(ref)
                else:
                    slot.set(resolved)
            new_assignments.append(assignment)

    return Rewritten(
        payload=result_payload,
        assignments=new_assignments,
        scope_tag_ids=new_tags,
        unresolved=unresolved,
        skipped_assignments=skipped,
        skip_reasons=skip_reasons,
        dropped=dropped,
    )


def unresolved_ids(refs: Sequence[Reference]) -> dict[str, set[str]]:
    """``{kind: {source ids}}`` of ``refs`` (for reports that list each object once)."""
    grouped: dict[str, set[str]] = {kind: set() for kind in REFERENCE_KINDS}
    for ref in refs:
        grouped.setdefault(ref.kind, set()).add(ref.source_id)
    return grouped


__all__ = [
    "REFERENCE_KINDS",
    "Reference",
    "ReferenceKind",
    "Rewritten",
    "references_of",
    "rewrite",
    "unresolved_ids",
]
