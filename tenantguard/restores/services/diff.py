"""RestoreDiffGenerator: the wizard's step 4, a dry-run simulation of the restore.

``restore_run_run_preview(actor=, run=)`` plans from the checks' read of the live target when
the run's inputs are unchanged since and that read is recent (``target_read.py``), else reads
the target again (the same batched reads as the checks); it plans every scoped item with
``RestoreDiffGenerator`` and persists the plan with ``restore_run_record_preview`` (fingerprint
stamped, run ``previewed``, audited).

Per item the planned action is one of

- ``create``: no target object matches and ``create_missing`` is on;
- ``update``: the target object differs from the backup (after the mapping);
- ``no_change``: payload, assignments and scope tags are equal once normalized and mapped;
- ``skip`` with a reason: preview-only or unsupported type, built-in scope tag, the target type
  could not be read, several target objects share the name, a blocking check is open for the
  item, or the object is missing and ``create_missing`` is off.

``target_hash`` (``RestorePreviewItem.target_hash``) is
``normalize.content_hash(type_key, target.payload, target.assignments, target.scope_tag_ids)``
of the matched target object exactly as read for the preview (``""`` when nothing matched).
The executor re-reads the object (``target.read_one``), computes the same hash and skips the
item as ``changed_since_preview`` when it differs; for a planned ``create`` it must find that
still nothing matches.

The diff (``RestorePreviewItem.diff``) compares the backup, rewritten through the mapping, with
the live target::

    {
      "changes": [{"path": str, "before": Any, "after": Any}],   # before = target, after = backup
      "assignments": {"mode": "merge" | "replace", "added": [A], "removed": [A], "skipped": [A],
                      "counts": {"added": int, "removed": int, "skipped": int, "kept": int}},
      "scope_tags": {"added": [str], "removed": [str]},           # names
      "tenant_identifiers": {"choice": str, "count": int,          # places (first 200)
                             "places": [{"path", "kind", "found", "written"}]},
                                                                  # cross-tenant, when found
      "kept": [{"path": str, "note": str}],   # elements a merge-only child list keeps
      "truncated": {"changes": int, "values": int, "assignments": int},   # only when cut
      "skip_code": str,                                           # only for skipped items
    }

``assignments`` / ``scope_tags`` are ``{}`` for types without assignments / scope tags; a
skipped item without a target has only ``skip_code``. ``skip_code`` is one of
``unsupported_type``, ``builtin_scope_tag``, ``target_unreadable``, ``preview_only_type``,
``ambiguous_match``, ``create_missing_off``, ``blocked_by_check``, ``builtin_object``
(Microsoft's own objects, ``PolicyType.builtin_when``), ``never_created`` (missing in the target
and a ``CreateLimit`` of its type forbids creating it: the reason says what to do),
``no_parent`` (missing in the target, of a type nested under another collection's objects, and
the target has no such object to create it under: e.g. an Apple enrollment profile in a tenant
without a DEP token).

- ``changes`` compares ``normalize.normalize_payload`` forms (read-only, server and annotation
  fields ignored) leaf by leaf. A path is dotted (``scheduledActionsForRule[block]...``); list
  elements that carry an identity are addressed by it, not by position: settings catalog
  settings and their children by ``settingDefinitionId``
  (``settings[device_vendor_msft_...].settingInstance.choiceSettingValue.value``), OMA-URI
  settings by ``omaUri``, administrative template values by definition id, and so on. Lists
  of plain values are compared whole. ``before`` is ``null`` for a create.
- ``assignments`` compares the list the restore writes (``source.assignments_plan``: the
  backup's list in ``replace`` mode, the target's others kept in ``merge`` mode; the executor
  calls the same function) with the target's, as sets of targets; ``removed`` lists every
  target assignment the write removes, ``counts.kept`` the target's own a merge keeps. ``A`` is
  ``{"target": "group" | "exclusion" | "all_devices" | "all_users" | <type>, "group",
  "group_id", "filter", "filter_id", "filter_type", "settings"}`` with group and filter shown
  by name (target names from the target, names of objects this run creates from the backup).
  ``skipped`` lists the backup's assignments the mapping explicitly skips. Server stamps of
  assignments (``lastModifiedDateTime``) are ignored. When the run's ``include_assignments``
  is off, assignments are not compared: the section is ``{"left_as_is": true}`` (also, with
  ``not_captured`` / ``target_unreadable``, when either side's assignments are unknown).
- ``scope_tags`` compares the scope tags by name.
- ``kept`` (only when there are any): elements of child lists a restore only merges into
  (``PolicyType.merge_only_lists``: intent settings, administrative template definition
  values, localized notification messages) the target has and the backup lacks. The write
  never removes them, so they are not changes: ``note`` says "kept (a restore never
  deletes)" (``source.with_kept_elements``; verification expects them still there).

The summary (``run.metadata["preview"]["summary"]``)::

    {
      "policies":    {"create", "update", "no_change", "skip"},   # counts, foundations apart
      "foundations": {"create", "update", "no_change", "skip"},
      "assignments": {"included": true, "mode", "added", "removed", "skipped", "kept",
                      "removals": [{"type", "source_id", "name", "removed": [A]}],  # <= 100
                      "removal_items": int}
                     | {"included": false, "note": "... left exactly as they are."},
      "tenant_identifiers": {} | {"choice", "items", "places", "identities"},  # cross-tenant
      "scope_tags":  {"added", "removed", "items_changed"},
      "skipped_by_reason": {skip_code: count}, "items": int, "truncated_diffs": int,
      "graph_requests": int,          # the setting definitions' requests included
      "setting_definitions": {"graph_requests", "definitions", "problem"},  # setting names
      "target_read": {"read_at": iso, "read_by": "checks" | "preview", "reused": bool,
                      "graph_requests": int,   # what that read cost (the checks' when reused)
                      "not_reused": str},      # why a preview read again (only then)
    }

Assignment and scope-tag counts are over the items that will be created or updated.

A diff is bounded: at most ``MAX_CHANGES`` changes, ``MAX_ASSIGNMENTS`` assignments per list,
values over ``MAX_VALUE_BYTES`` replaced by ``{"omitted": true, "bytes": n}`` and the whole
at most ``MAX_DIFF_BYTES`` of JSON. Whatever is cut is counted in ``truncated`` and the item
has ``diff_truncated=True``: never silently cut.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tenantguard.intune import nested, normalize, references, registry
from tenantguard.intune.capture import CapturedItem
from tenantguard.intune.normalize import FILTER_ID_KEY, FILTER_TYPE_KEY
from tenantguard.intune.registry import BUILTIN_SCOPE_TAG_ID
from tenantguard.intune.target import TargetState
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services.policy import Action
from tenantguard.restores.services.records import PreviewItem
from tenantguard.restores.services.refusals import audits_refusal
from tenantguard.restores.services.runs import (
    restore_run_record_preview,
)
from tenantguard.restores.services.setting_labels import restore_run_setting_definitions_ensure
from tenantguard.restores.services.source import (
    KEPT_NOTE,
    NEVER_WRITTEN_BUILTIN_OBJECT,
    NEVER_WRITTEN_BUILTIN_SCOPE_TAG,
    NEVER_WRITTEN_PREVIEW_ONLY,
    NEVER_WRITTEN_UNSUPPORTED,
    BackupNames,
    ProgressCallback,
    ReferenceResolver,
    RunInputs,
    SourceItem,
    SourceItems,
    TargetGroups,
    TargetRead,
    assignments_plan,
    build_resolver,
    intended_item,
    match_of,
    never_written,
    read_target_for,
    target_type,
    with_checked_identities,
    with_kept_elements,
)
from tenantguard.restores.services.target_read import restore_target_read_reusable

# Planned actions (``PreviewAction`` values).
CREATE: Final = "create"
UPDATE: Final = "update"
NO_CHANGE: Final = "no_change"
SKIP: Final = "skip"
ACTIONS: Final = (CREATE, UPDATE, NO_CHANGE, SKIP)

MAX_CHANGES: Final = 200
MAX_ASSIGNMENTS: Final = 200
MAX_VALUE_BYTES: Final = 8 * 1024
MAX_DIFF_BYTES: Final = 64 * 1024
#: Items with removed assignments listed in the summary (and on step 5); the count is complete.
MAX_REMOVAL_ITEMS: Final = 100

#: Assignment target kinds as the diff names them.
_TARGET_KINDS: Final[dict[str, str]] = {
    "#microsoft.graph.groupAssignmentTarget": "group",
    "#microsoft.graph.exclusionGroupAssignmentTarget": "exclusion",
    "#microsoft.graph.allDevicesAssignmentTarget": "all_devices",
    "#microsoft.graph.allLicensedUsersAssignmentTarget": "all_users",
}

# Skip reason codes (kept in the diff as ``skip_code`` for filters and reports).
SKIP_UNSUPPORTED: Final = "unsupported_type"
SKIP_PREVIEW_ONLY: Final = "preview_only_type"
SKIP_BUILTIN: Final = "builtin_scope_tag"
SKIP_UNREADABLE: Final = "target_unreadable"
SKIP_AMBIGUOUS: Final = "ambiguous_match"
SKIP_BLOCKED: Final = "blocked_by_check"
SKIP_NO_CREATE: Final = "create_missing_off"
SKIP_BUILTIN_OBJECT: Final = "builtin_object"
SKIP_CREATE_LIMITED: Final = "never_created"
SKIP_NO_PARENT: Final = "no_parent"


# --------------------------------------------------------------------------------------------
# Flattening and comparing payloads
# --------------------------------------------------------------------------------------------


def _dotted(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _identities(elements: list[Any], identity_keys: Sequence[str]) -> list[str] | None:
    """Labels for list elements by their identity property (the type's ``list_identities``),
    when every element has a distinct one; ``None``: address them by position."""
    if not elements or not all(isinstance(element, Mapping) for element in elements):
        return None
    for key in identity_keys:
        values = [_dotted(element, key) for element in elements]
        if all(isinstance(value, str | int) and str(value) for value in values):
            labels = [str(value) for value in values]
            if len(set(labels)) == len(labels):
                return labels
    return None


def flatten(
    value: Any, path: str = "", *, identity_keys: Sequence[str] | None = None
) -> dict[str, Any]:
    """Leaf values of a normalized payload by path (see the module docstring). List elements
    are addressed by the first of ``identity_keys`` they all hold distinctly (default: every
    type's ``list_identities``)."""
    leaves: dict[str, Any] = {}
    keys = registry.list_identity_keys() if identity_keys is None else identity_keys
    _flatten_into(value, path, leaves, keys)
    return leaves


def _flatten_into(
    value: Any, path: str, leaves: dict[str, Any], identity_keys: Sequence[str]
) -> None:
    if isinstance(value, Mapping):
        if not value:
            if path:  # an empty object is a value; an empty payload has no leaves
                leaves[path] = {}
            return
        for key in sorted(value):
            key_path = f"{path}.{key}" if path else str(key)
            _flatten_into(value[key], key_path, leaves, identity_keys)
        return
    if isinstance(value, list) and value and any(isinstance(e, Mapping | list) for e in value):
        labels = _identities(value, identity_keys) or [str(i) for i in range(len(value))]
        for label, element in zip(labels, value, strict=True):
            _flatten_into(element, f"{path}[{label}]", leaves, identity_keys)
        return
    leaves[path] = value


def _priority_change(
    item: SourceItem, payload: Mapping[str, Any], target: CapturedItem | None
) -> list[dict[str, Any]]:
    """A priority Graph takes only through an action (``PolicyType.priority``: enrollment
    configurations' setPriority) is not part of the compared payload (Graph renumbers the
    others when one moves), but the executor writes it when it differs: the preview shows it,
    with the note that the kind's other objects move."""
    rule = item.ptype.priority
    if rule is None or item.ptype.is_tenant_default(item.source_id):
        return []
    wanted = payload.get(rule.property)
    current = target.payload.get(rule.property) if target is not None else None
    if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 1 or wanted == current:
        return []
    note = f"Graph renumbers the other {item.ptype.label.lower()} around it"
    return [{"path": rule.property, "before": current, "after": wanted, "note": note}]


def payload_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    identity_keys: Sequence[str] | None = None,
) -> list[dict]:
    """``[{"path", "before", "after"}]`` between two normalized payloads, sorted by path
    (``identity_keys``: the type's ``list_identities``; see ``flatten``)."""
    old = flatten(before, identity_keys=identity_keys) if before is not None else {}
    new = flatten(after, identity_keys=identity_keys)
    changes = []
    for path in sorted(set(old) | set(new)):
        previous, current = old.get(path), new.get(path)
        if path in old and path in new and previous == current:
            continue
        if previous is None and current is None:
            continue  # absent and null are the same to Graph
        changes.append({"path": path, "before": previous, "after": current})
    return changes


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    action: str
    reason: str = ""
    skip_code: str = ""
    target: CapturedItem | None = None


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


class RestoreDiffGenerator:
    """Plans every scoped item (no I/O): action, target match, target hash and a bounded diff.

    ``blocking``: ``{(type_key, source_id): [check codes]}`` of the item's open blocking checks.
    """

    def __init__(
        self,
        *,
        items: Sequence[SourceItem] | SourceItems,
        target_state: TargetState,
        inputs: RunInputs,
        backup_names: BackupNames,
        target_groups: TargetGroups,
        blocking: Mapping[tuple[str, str], Sequence[str]] | None = None,
    ) -> None:
        #: Re-read at each pass when streamed (``SourceItems``): never copied into a list.
        self.items = items
        self.state = target_state
        self.inputs = inputs
        self.names = backup_names
        self.groups = target_groups
        self.blocking = blocking or {}
        self.target_label = inputs.target_label
        self.resolver: ReferenceResolver = build_resolver(
            items=self.items,
            target_state=target_state,
            target_groups=target_groups,
            backup_names=backup_names,
            inputs=inputs,
        )
        # References are written as the resolver says (the executor's own resolver decides
        # the same way); foundations this run creates are written as a readable placeholder
        # (their id exists only after the write: ``resolver.placeholders``).

    # ---- public ------------------------------------------------------------------------------

    def run(self) -> list[PreviewItem]:
        return list(self.iter_planned())

    def iter_planned(self) -> Iterator[PreviewItem]:
        """``run``, one item at a time (the service records them as they come, so a large
        scope's plan is never all held as objects)."""
        for item in self.items:
            yield self.plan_item(item)

    def summarize(self, planned: Iterable[PreviewItem]) -> dict[str, Any]:
        """Counts an admin reads before confirming (see the module docstring)."""
        tally = PreviewTally(self)
        for item in planned:
            tally.add(item)
        return tally.summary()

    def _identifier_summary(self, items: int, places: int) -> dict[str, Any]:
        """Cross-tenant only: the choice, how many places and items, and both identities (the
        executor replaces with exactly these)."""
        identities = self.inputs.identities
        if identities is None:
            return {}
        return {
            "choice": self.inputs.source_identifiers,
            "items": items,
            "places": places,
            "identities": identities.to_json(),
        }

    def plan_item(self, item: SourceItem) -> PreviewItem:
        plan = self._plan(item)
        target = plan.target
        diff: dict[str, Any] = {}
        truncated = False
        if not item.is_unsupported and (target is not None or plan.action == "create"):
            diff = self._diff(item, target)
            if plan.action == UPDATE and not self._has_changes(diff):
                plan.action = NO_CHANGE
            diff, truncated = bound_diff(diff)
        if plan.skip_code:
            diff["skip_code"] = plan.skip_code
        return PreviewItem(
            policy_type=item.type_key,
            source_id=item.source_id,
            display_name=item.display_name,
            action=plan.action,
            reason=plan.reason,
            target_id=target.source_id if target is not None else "",
            target_hash=target_hash(item.type_key, target) if target is not None else "",
            diff=diff,
            diff_truncated=truncated,
        )

    # ---- planning ----------------------------------------------------------------------------

    def _plan(self, item: SourceItem) -> _Plan:
        why = never_written(item)  # the one predicate the checks and the resolver use too
        if why == NEVER_WRITTEN_UNSUPPORTED:
            return _Plan(
                SKIP,
                "TenantGuard cannot restore objects of this type: it is never written.",
                SKIP_UNSUPPORTED,
            )
        if why == NEVER_WRITTEN_BUILTIN_SCOPE_TAG:
            return _Plan(
                SKIP,
                "The built-in scope tag exists in every tenant and is never written.",
                SKIP_BUILTIN,
            )
        if why == NEVER_WRITTEN_BUILTIN_OBJECT:
            return _Plan(
                SKIP,
                f"One of Microsoft's built-in {item.ptype.label.lower()}: it exists in every "
                "tenant and is never written.",
                SKIP_BUILTIN_OBJECT,
            )
        if item.type_key in self.state.unreadable:
            return _Plan(
                SKIP,
                f"{self.target_label} could not be read for {item.ptype.label.lower()}: "
                "without knowing its current state TenantGuard does not write it.",
                SKIP_UNREADABLE,
            )
        match = match_of(item, self.state, self.inputs)
        if why == NEVER_WRITTEN_PREVIEW_ONLY:
            return _Plan(
                SKIP,
                # One object per tenant ("Managed Google Play") is singular, a collection
                # ("Apple VPP tokens") plural.
                f"{item.ptype.label} {'is' if item.ptype.singleton else 'are'} preview-only: "
                "the differences are shown, nothing is written."
                + (f" {item.ptype.preview_only_reason}" if item.ptype.preview_only_reason else ""),
                SKIP_PREVIEW_ONLY,
                match.target,
            )
        if why:  # otherwise never written (``write.is_writable``)
            return _Plan(
                SKIP,
                f"TenantGuard never writes {item.ptype.label.lower()}: the differences are "
                "shown, nothing is written.",
                SKIP_PREVIEW_ONLY,
                match.target,
            )
        if match.kind == "ambiguous":
            return _Plan(
                SKIP,
                f"{len(match.candidates)} objects in {self.target_label} are named "
                f"'{item.display_name}': resolve the ambiguous match first (see the checks).",
                SKIP_AMBIGUOUS,
            )
        if match.target is None and not self.inputs.create_missing:
            return _Plan(
                SKIP,
                f"It does not exist in {self.target_label} and creating missing objects is off.",
                SKIP_NO_CREATE,
            )
        codes = list(self.blocking.get((item.type_key, item.source_id), ()))
        if codes:
            return _Plan(
                SKIP,
                (
                    f"Blocked by the check {codes[0]}: resolve it in step 3."
                    if len(set(codes)) == 1
                    else f"Blocked by the checks {', '.join(sorted(set(codes)))}: resolve them "
                    "in step 3."
                ),
                SKIP_BLOCKED,
                match.target,
            )
        if match.target is None:
            limit = item.ptype.create_limit_for(item.payload)
            if limit is not None:
                return _Plan(
                    SKIP,
                    f"It does not exist in {self.target_label}, and TenantGuard never creates "
                    f"it: {limit.reason}",
                    SKIP_CREATE_LIMITED,
                )
            if item.ptype.is_tenant_default(item.payload):
                return _Plan(
                    SKIP,
                    f"It is the tenant's own default {item.ptype.label.lower()}, which every "
                    f"tenant has, but {self.target_label} shows none: TenantGuard updates it, "
                    "never creates it. Run the checks again once the target can be read whole.",
                    SKIP_CREATE_LIMITED,
                )
            if item.ptype.parent is not None and item.type_key in self.state.parents:
                try:  # under each object of another collection: the target needs one
                    nested.choose_parent(
                        item.ptype, item.payload, self.state.parents[item.type_key]
                    )
                except nested.NoParentError as exc:
                    return _Plan(
                        SKIP,
                        f"It does not exist in {self.target_label}, and it cannot be created "
                        f"there: {exc}",
                        SKIP_NO_PARENT,
                    )
            return _Plan(CREATE)
        return _Plan(UPDATE, target=match.target)

    # ---- diffing -----------------------------------------------------------------------------

    @staticmethod
    def _has_changes(diff: Mapping[str, Any]) -> bool:
        assignments = diff.get("assignments") or {}
        tags = diff.get("scope_tags") or {}
        return bool(
            diff.get("changes")
            or assignments.get("added")
            or assignments.get("removed")
            or tags.get("added")
            or tags.get("removed")
        )

    def _diff(self, item: SourceItem, target: CapturedItem | None) -> dict[str, Any]:
        intended = intended_item(
            type_key=item.type_key,
            payload=item.payload,
            assignments=item.assignments,
            scope_tag_ids=item.scope_tag_ids,
            resolver=self.resolver,
            identities=self.inputs.identities,
            source_identifiers=self.inputs.source_identifiers,
            secrets=item.secrets,
        )
        rewritten = intended.rewritten
        # Child lists a write only merges into keep the target's other elements: shown as
        # kept, never as removals (the executor sends nothing to remove them).
        merged = with_kept_elements(
            type_key=item.type_key,
            intended=rewritten.payload,
            current=target.payload if target is not None else None,
        )
        after = normalize.normalize_payload(item.type_key, merged.payload)
        before = (
            normalize.normalize_payload(item.type_key, target.payload)
            if target is not None
            else None
        )
        changes = payload_changes(before, after, identity_keys=item.ptype.list_identities)
        changes.extend(_priority_change(item, rewritten.payload, target))
        diff: dict[str, Any] = {"changes": changes}
        if merged.kept:
            diff["kept"] = [{"path": path, "note": KEPT_NOTE} for path in merged.kept[:MAX_CHANGES]]
        diff["assignments"] = self._assignment_diff(item, target, rewritten)
        diff["scope_tags"] = self._scope_tag_diff(item, target, rewritten.scope_tag_ids)
        if intended.identifier_places:
            diff["tenant_identifiers"] = {
                "choice": self.inputs.source_identifiers,
                "places": [
                    {
                        "path": place.path,
                        "kind": place.kind,
                        "found": place.found,
                        "written": place.replacement
                        if intended.identifiers_replaced and place.replacement
                        else place.found,
                    }
                    for place in intended.identifier_places[:MAX_CHANGES]
                ],
                "count": len(intended.identifier_places),
            }
        return diff

    def _assignment_diff(
        self, item: SourceItem, target: CapturedItem | None, rewritten: references.Rewritten
    ) -> dict[str, Any]:
        if item.ptype.assign is None:
            return {}
        if item.ptype.is_tenant_default(item.source_id) or item.ptype.is_tenant_default(
            item.payload
        ):
            # A tenant default applies to everyone: never assigned (the executor agrees).
            return {"left_as_is": True, "tenant_default": True}
        if not self.inputs.include_assignments:
            return {"left_as_is": True}
        if item.assignments is None:
            return {"left_as_is": True, "not_captured": True}
        if target is not None and target.assignments is None:
            return {"left_as_is": True, "target_unreadable": True}
        # The same function the executor calls with the assignments it re-reads.
        plan = assignments_plan(
            type_key=item.type_key,
            backup=rewritten.assignments or [],
            current=(target.assignments or []) if target else [],
            mode=self.inputs.assignment_mode,
        )
        added = [self._show_assignment(entry) for entry in plan.added]
        removed = [self._show_assignment(entry) for entry in plan.removed]
        skipped = [
            self._show_assignment(entry, source=True)
            for entry in normalize.normalize_assignments(rewritten.skipped_assignments)
        ]
        return {
            "mode": plan.mode,
            "added": added,
            "removed": removed,
            "skipped": skipped,
            "counts": {
                "added": len(added),
                "removed": len(removed),
                "skipped": len(skipped),
                "kept": len(plan.kept),
            },
        }

    def _name(self, kind: str, object_id: str, *, source: bool) -> str | None:
        if object_id in self.resolver.placeholders:
            return self.resolver.placeholders[object_id]
        if source:
            return self.names.name(kind, object_id)
        if kind == "group":
            name = self.groups.name_of(object_id) or self.state.group_names.get(object_id)
        elif kind == "scope_tag" and object_id == BUILTIN_SCOPE_TAG_ID:
            name = "Default"
        else:
            name = self.state.name_of(kind, object_id)
        if name is None and self.names.name(kind, object_id):
            # An unresolved reference (its check blocks the item): show the backup's name.
            name = f"{self.names.name(kind, object_id)} (not in {self.target_label})"
        return name

    def _show_assignment(
        self, assignment: Mapping[str, Any], *, source: bool = False
    ) -> dict[str, Any]:
        """An assignment as the preview shows it: kind, group and filter by name.

        ``source``: ids are the backup's (skipped assignments), else the target's."""
        target = dict(assignment.get("target") or {})
        kind = target_type(assignment)
        shown: dict[str, Any] = {"target": _TARGET_KINDS.get(kind, kind.removeprefix("#"))}
        group_id = target.get("groupId")
        if group_id:
            shown["group_id"] = str(group_id)
            shown["group"] = self._name("group", str(group_id), source=source)
        filter_id = target.get(FILTER_ID_KEY)
        if filter_id:
            shown["filter_id"] = str(filter_id)
            shown["filter"] = self._name("assignment_filter", str(filter_id), source=source)
            shown["filter_type"] = target.get(FILTER_TYPE_KEY)
        settings = {key: value for key, value in assignment.items() if key != "target"}
        if settings:
            shown["settings"] = settings
        return shown

    def _scope_tag_diff(
        self, item: SourceItem, target: CapturedItem | None, wanted_ids: Sequence[str]
    ) -> dict[str, Any]:
        if item.ptype.scope_tag_property is None:
            return {}
        current_ids = list(target.scope_tag_ids) if target is not None else []
        wanted = set(wanted_ids)
        current = set(current_ids)
        if target is None:
            # A new object without tags gets the built-in Default tag: not a change to show.
            wanted.discard(BUILTIN_SCOPE_TAG_ID)
        return {
            "added": sorted(self._tag_name(tag) for tag in wanted - current),
            "removed": sorted(self._tag_name(tag) for tag in current - wanted),
        }

    def _tag_name(self, tag_id: str) -> str:
        return self._name("scope_tag", tag_id, source=False) or f"(scope tag {tag_id})"


class PreviewTally:
    """``RestoreDiffGenerator.summarize``, counted one planned item at a time."""

    def __init__(self, generator: RestoreDiffGenerator) -> None:
        self.generator = generator
        self.policies: Counter[str] = Counter()
        self.foundations: Counter[str] = Counter()
        self.skip_codes: Counter[str] = Counter()
        self.added = self.removed = self.skipped_assignments = self.kept = 0
        self.tags_added = self.tags_removed = self.tags_changed_items = 0
        self.truncated = 0
        self.removals: list[dict[str, Any]] = []
        self.removal_items = 0
        self.identifier_items = self.identifier_places = 0
        self.foundation_types = {ptype.key for ptype in registry.foundations()}

    def add(self, item: PreviewItem) -> PreviewItem:
        found = item.diff.get("tenant_identifiers") or {}
        if found.get("count") and item.action in (CREATE, UPDATE, NO_CHANGE):
            self.identifier_items += 1
            self.identifier_places += int(found["count"])
        # The type says (device configurations are named by app assignments, yet are
        # policies, not foundations).
        is_foundation = item.policy_type in self.foundation_types
        (self.foundations if is_foundation else self.policies)[item.action] += 1
        if item.action == SKIP:
            self.skip_codes[str(item.diff.get("skip_code") or "other")] += 1
        self.truncated += bool(item.diff_truncated)
        if item.action not in (CREATE, UPDATE):
            return item
        section = item.diff.get("assignments") or {}
        counts = section.get("counts") or {}
        self.added += int(counts.get("added", 0))
        self.removed += int(counts.get("removed", 0))
        self.skipped_assignments += int(counts.get("skipped", 0))
        self.kept += int(counts.get("kept", 0))
        self.removal_items += bool(counts.get("removed"))
        if section.get("removed") and len(self.removals) < MAX_REMOVAL_ITEMS:
            self.removals.append(
                {
                    "type": item.policy_type,
                    "source_id": item.source_id,
                    "name": item.display_name,
                    "removed": list(section["removed"]),
                }
            )
        tags = item.diff.get("scope_tags") or {}
        tag_counts = (len(tags.get("added") or []), len(tags.get("removed") or []))
        self.tags_added += tag_counts[0]
        self.tags_removed += tag_counts[1]
        self.tags_changed_items += any(tag_counts)
        return item

    def summary(self) -> dict[str, Any]:
        inputs = self.generator.inputs
        assignments: dict[str, Any] = {"included": inputs.include_assignments}
        if inputs.include_assignments:
            assignments.update(
                mode=inputs.assignment_mode,
                added=self.added,
                removed=self.removed,
                skipped=self.skipped_assignments,
                kept=self.kept,
                # Every item whose assignments lose something, repeated on step 5.
                removals=self.removals,
                removal_items=self.removal_items,
            )
        else:
            assignments["note"] = (
                f"Assignments are not restored: the assignments in {self.generator.target_label} "
                "are left exactly as they are."
            )
        return {
            "policies": {action: self.policies.get(action, 0) for action in ACTIONS},
            "foundations": {action: self.foundations.get(action, 0) for action in ACTIONS},
            "assignments": assignments,
            "scope_tags": {
                "added": self.tags_added,
                "removed": self.tags_removed,
                "items_changed": self.tags_changed_items,
            },
            "skipped_by_reason": dict(sorted(self.skip_codes.items())),
            "items": sum(self.policies.values()) + sum(self.foundations.values()),
            "truncated_diffs": self.truncated,
            "tenant_identifiers": self.generator._identifier_summary(
                self.identifier_items, self.identifier_places
            ),
        }


def target_hash(type_key: str, target: CapturedItem) -> str:
    """The hash the executor compares before writing (see the module docstring)."""
    return normalize.content_hash(
        type_key, target.payload, target.assignments, target.scope_tag_ids
    )


def bound_diff(diff: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Cut ``diff`` to the size bounds; return it and whether anything was cut (counted in
    ``diff["truncated"]``)."""
    cut = {"changes": 0, "values": 0, "assignments": 0}
    changes: list[dict[str, Any]] = []
    for change in diff.get("changes") or []:
        change = dict(change)
        for side in ("before", "after"):
            size = _json_size(change[side])
            if size > MAX_VALUE_BYTES:
                change[side] = {"omitted": True, "bytes": size}
                cut["values"] += 1
        changes.append(change)
    if len(changes) > MAX_CHANGES:
        cut["changes"] += len(changes) - MAX_CHANGES
        changes = changes[:MAX_CHANGES]
    assignments = dict(diff.get("assignments") or {})
    for key in ("added", "removed", "skipped"):
        values = assignments.get(key)
        if isinstance(values, list) and len(values) > MAX_ASSIGNMENTS:
            cut["assignments"] += len(values) - MAX_ASSIGNMENTS
            assignments[key] = values[:MAX_ASSIGNMENTS]
    result = {**diff, "changes": changes}
    if "assignments" in diff:
        result["assignments"] = assignments
    budget = MAX_DIFF_BYTES - _json_size({**result, "changes": [], "truncated": cut})
    kept: list[dict[str, Any]] = []
    for change in changes:
        size = _json_size(change) + 1
        if size > budget:
            break
        budget -= size
        kept.append(change)
    cut["changes"] += len(changes) - len(kept)
    result["changes"] = kept
    truncated = any(cut.values())
    if truncated:
        result["truncated"] = cut
    return result, truncated


# --------------------------------------------------------------------------------------------
# Service
# --------------------------------------------------------------------------------------------


def _open_blocking(run: RestoreRun) -> dict[tuple[str, str], list[str]]:
    blocking: dict[tuple[str, str], list[str]] = {}
    rows = run.check_results.filter(severity="blocking").exclude(item_source_id="")
    for type_key, source_id, code in rows.values_list("item_type", "item_source_id", "code"):
        blocking.setdefault((type_key, source_id), []).append(code)
    return blocking


@audits_refusal
def restore_run_run_preview(
    *, actor: Any, run: RestoreRun, on_progress: ProgressCallback | None = None
) -> RestoreRun:
    """Step 4: plan every scoped item against the live target and persist the plan + summary.

    Needs current checks (the policy says so); items with an open blocking check are planned as
    skipped. Nothing is written to the tenant.
    """
    read = read_target_for(
        run,
        actor=actor,
        action=Action.RUN_PREVIEW,
        on_progress=on_progress,
        reuse=restore_target_read_reusable,
    )
    try:
        return _preview_recorded(actor=actor, read=read)
    finally:
        # its objects (and their temporary file) are let go of now the plan is recorded
        read.state.close()


def _preview_recorded(*, actor: Any, read: TargetRead) -> RestoreRun:
    """Plan and record the run of ``read`` (the preview's read of its target)."""
    run, source = read.run, with_checked_identities(read.run, read.source)
    generator = RestoreDiffGenerator(
        items=source.items,
        target_state=read.state,
        inputs=source.inputs,
        backup_names=source.names,
        target_groups=read.groups,
        blocking=_open_blocking(run),
    )
    # setting names for the diff (never fails the preview; ``problem`` says why names are missing)
    labels = restore_run_setting_definitions_ensure(read=read)
    # Recorded as they are planned: the plan of a large scope is never all held as objects.
    tally = PreviewTally(generator)

    def summarize() -> dict[str, Any]:  # once every item was planned
        summary = tally.summary()
        summary["setting_definitions"] = labels.to_json()
        summary["graph_requests"] = read.graph_requests + labels.graph_requests
        summary["target_read"] = read.summary()
        return summary

    return restore_run_record_preview(
        actor=actor,
        run=run,
        summary=summarize,
        items=(tally.add(item) for item in generator.iter_planned()),
        inputs_fingerprint=read.fingerprint,
    )


__all__ = [
    "MAX_CHANGES",
    "MAX_DIFF_BYTES",
    "RestoreDiffGenerator",
    "bound_diff",
    "flatten",
    "payload_changes",
    "restore_run_run_preview",
    "target_hash",
]
