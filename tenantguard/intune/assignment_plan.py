"""The assignment list a restore writes, and what it adds to and removes from the target.

One function, ``plan_assignments``, decides it for the preview and for the executor (which calls
it again with the target's assignments as it re-read them before assigning), so what the
preview lists as added and removed is exactly what the write does:

- ``replace``: the written list is the backup's (references rewritten, explicitly skipped
  assignments left out). Every target assignment not in it is removed, and listed as a removal.
- ``merge``: the target's assignments are kept and the backup's are added. Where both assign the
  same target (a group, included or excluded; All devices; All users) the backup's settings and
  intent win; the target's differing version is then listed as removed and the backup's as
  added.

A skipped assignment is never added and never causes a removal by itself. Types whose
assignments are created one by one (``PolicyType.assign.per_assignment``: Autopilot) can only
add, so they are always planned as ``merge``.

Pure functions on plain values, no Django (docs/architecture.md §3b).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from tenantguard.intune import normalize

AssignmentMode = Literal["merge", "replace"]
ASSIGNMENT_MODES: Final[tuple[AssignmentMode, ...]] = ("merge", "replace")
_INCLUDE_OR_EXCLUDE: Final = frozenset(
    {"#microsoft.graph.groupAssignmentTarget", "#microsoft.graph.exclusionGroupAssignmentTarget"}
)


@dataclass(frozen=True)
class AssignmentPlan:
    """``written``: the list the assign action receives (``None``: assignments are not written).
    ``added`` / ``removed``: normalized assignments the write adds to / removes from the target's
    current list. ``kept``: the target's own assignments a merge keeps (not in the backup)."""

    mode: AssignmentMode
    written: list[dict[str, Any]] | None
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.removed)


def _target_of(assignment: Mapping[str, Any]) -> dict[str, Any]:
    return normalize.normalize_assignments([assignment])[0]["target"]


def assignment_key(assignment: Mapping[str, Any], *, whole_target: bool = False) -> str:
    """What one assignment targets: its target type and group (``whole_target``: the whole
    normalized target, filter included, as per-assignment types compare them)."""
    target = _target_of(assignment)
    if whole_target:
        return normalize.canonical_json(target)
    group = target.get("groupId")
    if target.get("@odata.type") in _INCLUDE_OR_EXCLUDE and isinstance(group, str) and group:
        # Including and excluding one group are two intents for the same target: a merge keeps
        # the backup's, never both (Intune would let the exclusion win over what was "added").
        return normalize.canonical_json({"group": group.lower()})
    return normalize.canonical_json({"type": target.get("@odata.type"), "group": group})


def plan_assignments(
    *,
    backup: Sequence[Mapping[str, Any]] | None,
    current: Sequence[Mapping[str, Any]] | None,
    mode: AssignmentMode,
    per_assignment: bool = False,
) -> AssignmentPlan:
    """The list to write for ``backup`` (the backup's assignments after the mapping, skipped ones
    already left out; ``None``: not captured, nothing is written) given the target's ``current``
    assignments (``None`` or ``[]`` for an object the restore creates)."""
    if per_assignment:
        mode = "merge"
    if backup is None:
        return AssignmentPlan(mode=mode, written=None)
    wanted = [dict(assignment) for assignment in backup]
    existing = [dict(assignment) for assignment in current or []]
    kept: list[dict[str, Any]] = []
    if mode == "merge":
        backup_keys = {assignment_key(a, whole_target=per_assignment) for a in wanted}
        kept = [
            a for a in existing if assignment_key(a, whole_target=per_assignment) not in backup_keys
        ]
    written = wanted + kept
    after = {normalize.canonical_json(a): a for a in normalize.normalize_assignments(written)}
    before = {normalize.canonical_json(a): a for a in normalize.normalize_assignments(existing)}
    return AssignmentPlan(
        mode=mode,
        written=written,
        added=[after[key] for key in sorted(set(after) - set(before))],
        removed=[before[key] for key in sorted(set(before) - set(after))],
        kept=normalize.normalize_assignments(kept),
    )


__all__ = [
    "ASSIGNMENT_MODES",
    "AssignmentMode",
    "AssignmentPlan",
    "assignment_key",
    "plan_assignments",
]
