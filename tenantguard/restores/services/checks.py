"""RestoreRiskChecker: the wizard's step 3, safety and conflict checks against the live target.

``restore_run_run_checks(actor=, run=)`` loads the run's scoped backup items, reads the target
tenant once per type (``target.read_target``: one listing per collection, per-item reads
batched) plus the groups it needs (batched), computes the results with ``RestoreRiskChecker``
and persists them with ``restore_run_record_checks`` (which stamps the inputs' fingerprint,
moves the run to ``checked`` and audits).

``RestoreRiskChecker`` itself is pure: it takes the items, the target state and the run's inputs
and returns ``CheckResult`` values, so it can be tested without a database or Graph.

Check codes (stable strings; ``CHECK_CODES``):

=================================  ===========================================================
``target_missing``                 warning (will be created); blocking when ``create_missing``
                                   is off
``target_newer_than_backup``       warning: the target changed after the backup's version (into
                                   another tenant: after the backup was taken)
``ambiguous_match``                blocking: several target objects share the type and name
``group_missing``                  blocking until mapped or the assignment is skipped; details
                                   propose a unique same-name target group
``filter_missing``                 blocking until mapped, in scope or skipped
``scope_tag_missing``              blocking until mapped, in scope or skipped
``notification_template_missing``  blocking until mapped, in scope or skipped
``<kind>_missing``                 the same for every other reference kind
                                   (``reference_kinds``: ``ReferenceKind.missing_code``, e.g.
                                   ``role_definition_missing``; a kind whose ``on_skip`` is
                                   ``not_allowed`` cannot be skipped)
``preview_only_type``              warning: shown in the preview, never written
``unsupported_type``               warning: never written
``broad_assignment``               warning: All users / All devices
``assignments_not_captured``       warning: the target's assignments are left as they are
``secret_value_missing``           blocking: an encrypted OMA-URI value is not in the backup
``secret_values_need_source_admin`` blocking: into another tenant, an item carries the source's
                                   captured secret values and the user running the checks is
                                   not Admin of the source tenant
``source_tenant_identifier``       into another tenant: the payload holds the source tenant's
                                   own tenant ID or domains (each place listed); blocking until
                                   the ``source_identifiers`` option says ``replace`` (warning;
                                   blocking for places with no counterpart in the target) or
                                   ``keep`` (warning)
``permission_limited``             warning: a type of the target could not be read (tenant-wide
                                   and per affected item)
``payload_integrity``              blocking: the stored item no longer matches its hash
``safe``                           one per item with nothing to report
=================================  ===========================================================

A reference (group, filter, scope tag, notification template, ...: ``reference_kinds``) is
fine when the mapping names an existing target object or explicitly skips it (``None``), when
the foundation is in scope (this run matches or creates it), or, restoring into the tenant the
backup came from, when the same id still exists there. Missing-reference results carry ``details``: ``kind``,
``source_id``, ``source_name``, ``where`` and, when exactly one target object has the same name,
``suggested_target_id`` / ``suggested_target_name`` (a proposal: nothing is applied until the
user maps it).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from django.db import DatabaseError

from tenantguard.accounts.permissions import Capability, has_capability
from tenantguard.catalog.selectors import setting_labels
from tenantguard.catalog.services import LabelsEnsured
from tenantguard.intune import normalize, reference_kinds, references
from tenantguard.intune.setting_definitions import SettingLabel
from tenantguard.intune.target import TargetState
from tenantguard.intune.tenant_identity import KIND_LABELS as IDENTIFIER_LABELS
from tenantguard.intune.tenant_identity import ORGANIZATION_READ_PERMISSION
from tenantguard.restores.models import RestoreCheckResult, RestoreRun
from tenantguard.restores.services.fingerprint import MAPPING_KINDS, normalized_mapping
from tenantguard.restores.services.policy import Action
from tenantguard.restores.services.records import CheckItem, CheckResult
from tenantguard.restores.services.refusals import audits_refusal
from tenantguard.restores.services.runs import (
    restore_run_record_checks,
)
from tenantguard.restores.services.setting_labels import restore_run_setting_definitions_ensure
from tenantguard.restores.services.source import (
    GROUP_READ_PERMISSION,
    NEVER_WRITTEN_BUILTIN_OBJECT,
    BackupNames,
    ProgressCallback,
    ReferenceResolver,
    Resolution,
    RunInputs,
    SourceItem,
    SourceItems,
    TargetGroups,
    TargetRead,
    assignment_index,
    broad_targets,
    build_resolver,
    foundation_type_keys,
    intended_item,
    item_references,
    items_of_types,
    match_of,
    never_written,
    policy_type_of,
    read_target_for,
    singular,
)
from tenantguard.restores.services.target_read import restore_target_read_keep

logger = logging.getLogger("tenantguard.restores")

# Severities (``CheckSeverity`` values).
BLOCKING: Final = "blocking"
WARNING: Final = "warning"
SAFE: Final = "safe"

TARGET_MISSING: Final = "target_missing"
TARGET_NEWER_THAN_BACKUP: Final = "target_newer_than_backup"
AMBIGUOUS_MATCH: Final = "ambiguous_match"
PREVIEW_ONLY_TYPE: Final = "preview_only_type"
UNSUPPORTED_TYPE: Final = "unsupported_type"
BROAD_ASSIGNMENT: Final = "broad_assignment"
ASSIGNMENTS_NOT_CAPTURED: Final = "assignments_not_captured"
SECRET_VALUE_MISSING: Final = "secret_value_missing"
SECRET_VALUES_NEED_SOURCE_ADMIN: Final = "secret_values_need_source_admin"
SOURCE_TENANT_IDENTIFIER: Final = "source_tenant_identifier"
#: Places of source tenant identifiers kept in one result's details (``place_count`` is all).
MAX_IDENTIFIER_PLACES: Final = 200
PERMISSION_LIMITED: Final = "permission_limited"
PAYLOAD_INTEGRITY: Final = "payload_integrity"
SAFE_CODE: Final = "safe"

#: The code of a missing reference, by reference kind (``ReferenceKind.missing_code``).
MISSING_CODES: Final[dict[str, str]] = {
    kind.key: kind.missing_code for kind in reference_kinds.all_kinds()
}

CHECK_CODES: Final = (
    TARGET_MISSING,
    TARGET_NEWER_THAN_BACKUP,
    AMBIGUOUS_MATCH,
    *MISSING_CODES.values(),
    PREVIEW_ONLY_TYPE,
    UNSUPPORTED_TYPE,
    BROAD_ASSIGNMENT,
    ASSIGNMENTS_NOT_CAPTURED,
    SECRET_VALUE_MISSING,
    SECRET_VALUES_NEED_SOURCE_ADMIN,
    SOURCE_TENANT_IDENTIFIER,
    PERMISSION_LIMITED,
    PAYLOAD_INTEGRITY,
    SAFE_CODE,
)


def _when(value: Any) -> str:
    """A timestamp as an admin reads it (``2026-11-20 14:03 UTC``)."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text[:16].replace("T", " ") + " UTC"


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class CheckTally:
    """``RestoreRiskChecker.summarize``, counted one result at a time."""

    def __init__(self) -> None:
        self.severities: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.blocked_items: set[tuple[str, str]] = set()

    def add(self, result: CheckResult) -> CheckResult:
        self.severities[result.severity] += 1
        self.codes[result.code] += 1
        if result.item is not None and result.severity == BLOCKING:
            self.blocked_items.add((result.item.type, result.item.source_id))
        return result

    def summary(self) -> dict[str, Any]:
        return {
            BLOCKING: self.severities.get(BLOCKING, 0),
            WARNING: self.severities.get(WARNING, 0),
            SAFE: self.severities.get(SAFE, 0),
            "by_code": dict(sorted(self.codes.items())),
            "blocked_items": len(self.blocked_items),
        }


class RestoreRiskChecker:
    """Computes the check results of a run's scoped items against the target (no I/O).

    ``items``: the scoped backup items (foundations included); ``target_state``: the target as
    read by ``target.read_target``; ``inputs``: mapping, options and whether the target is the
    backup's own tenant; ``backup_names``: group and foundation names the backup knows;
    ``target_groups``: the target's groups looked up by id and by name.
    """

    def __init__(
        self,
        *,
        items: Sequence[SourceItem] | SourceItems,
        target_state: TargetState,
        inputs: RunInputs,
        backup_names: BackupNames,
        target_groups: TargetGroups,
        secrets_need_admin_of: str = "",
        setting_labels: Mapping[str, SettingLabel] | None = None,
    ) -> None:
        #: Re-read at each pass when streamed (``SourceItems``): never copied into a list.
        self.items = items
        #: Settings catalog names (``catalog.selectors.setting_labels``) for places in messages.
        self.setting_labels: Mapping[str, SettingLabel] = setting_labels or {}
        self.state = target_state
        self.inputs = inputs
        self.names = backup_names
        self.groups = target_groups
        self.target_label = inputs.target_label
        self.resolver: ReferenceResolver = build_resolver(
            items=self.items,
            target_state=target_state,
            target_groups=target_groups,
            backup_names=backup_names,
            inputs=inputs,
        )
        #: Foundation ids (by kind) present somewhere in the backup set: they could be scoped.
        self._in_backup = {kind: set(names) for kind, names in backup_names.foundations.items()}
        #: Items in scope the run never writes (``never_written``): never "will be created".
        #: (only the foundations: what references point at; an item's own reason is asked of
        #: ``never_written`` directly)
        self._never_written = {
            (item.type_key, item.source_id): why
            for item in items_of_types(self.items, foundation_type_keys())
            if (why := never_written(item))
        }
        #: The source tenant whose Admin role restoring its captured secret values into another
        #: tenant needs, when the user running the checks lacks it ("" when allowed).
        self.secrets_need_admin_of = secrets_need_admin_of

    # ---- public ------------------------------------------------------------------------------

    def run(self) -> list[CheckResult]:
        """Tenant-wide results first, then each item's results in scope order."""
        return list(self.iter_results())

    def iter_results(self) -> Iterator[CheckResult]:
        """``run``, one item at a time (the service records them as they come, so a large
        scope's results are never all held as objects)."""
        yield from self._tenant_results()
        for item in self.items:
            yield from self.check_item(item)

    @staticmethod
    def summarize(results: Iterable[CheckResult]) -> dict[str, Any]:
        """``{"blocking", "warning", "safe"}`` counts, ``by_code`` counts and the number of
        items with at least one blocking result."""
        tally = CheckTally()
        for result in results:
            tally.add(result)
        return tally.summary()

    def check_item(self, item: SourceItem) -> list[CheckResult]:
        results: list[CheckResult] = []
        ref = CheckItem(type=item.type_key, source_id=item.source_id, name=item.display_name)
        results += self._integrity(item, ref)
        if item.is_unsupported:
            odata_type = item.payload.get("@odata.type") or "an unknown type"
            results.append(
                CheckResult(
                    code=UNSUPPORTED_TYPE,
                    severity=WARNING,
                    item=ref,
                    message=(
                        f"'{item.display_name}' is of a type TenantGuard cannot restore "
                        f"({odata_type}): it is never written to {self.target_label}."
                    ),
                    resolution=(
                        "Recreate it by hand in the Intune admin center if you need it, or "
                        "remove it from the scope in step 2."
                    ),
                    details={"odata_type": odata_type},
                )
            )
            return results
        if item.is_preview_only:
            results.append(
                CheckResult(
                    code=PREVIEW_ONLY_TYPE,
                    severity=WARNING,
                    item=ref,
                    message=(
                        f"{item.label} is preview-only: the preview shows how it differs in "
                        f"{self.target_label}, but TenantGuard never writes it."
                    ),
                    resolution=(
                        item.ptype.preview_only_reason
                        or "Apply the differences by hand in the admin center if you need them."
                    ),
                )
            )
            return results
        if item.is_builtin_scope_tag:
            results.append(
                CheckResult(
                    code=SAFE_CODE,
                    severity=SAFE,
                    item=ref,
                    message=(
                        f"The built-in scope tag '{item.display_name}' exists in every tenant: "
                        "it is never written."
                    ),
                )
            )
            return results
        if never_written(item) and item.type_key not in self.state.unreadable:
            return results + self._never_written_results(item, ref)
        if item.type_key in self.state.unreadable:
            results.append(
                CheckResult(
                    code=PERMISSION_LIMITED,
                    severity=WARNING,
                    item=ref,
                    message=(
                        f"{self.target_label} could not be read for "
                        f"{item.ptype.label.lower()}, so whether {item.label} exists there is "
                        "unknown: it will be skipped."
                    ),
                    resolution=self._permission_resolution(item.type_key),
                )
            )
        else:
            results += self._match_results(item, ref)
        results += self._secret_results(item, ref)
        results += self._source_secret_results(item, ref)
        results += self._identifier_results(item, ref)
        results += self._reference_results(item, ref)
        results += self._assignment_results(item, ref)
        if not results:
            results.append(self._safe(item, ref))
        return results

    # ---- tenant-wide -------------------------------------------------------------------------

    def _tenant_results(self) -> list[CheckResult]:
        results = []
        if self.groups.unreadable:
            results.append(
                CheckResult(
                    code=PERMISSION_LIMITED,
                    severity=WARNING,
                    message=(
                        f"The groups of {self.target_label} could not be read, so no assigned "
                        f"group can be confirmed to exist. {self.groups.unreadable}"
                    ),
                    resolution=(
                        f"Grant the app {GROUP_READ_PERMISSION} in {self.target_label} (with "
                        "admin consent) and run the checks again."
                    ),
                    details={"type": "groups"},
                )
            )
        identities = self.inputs.identities
        for note in identities.notes if identities is not None else ():
            results.append(
                CheckResult(
                    code=PERMISSION_LIMITED,
                    severity=WARNING,
                    message=note,
                    resolution=(
                        f"Grant the app {ORGANIZATION_READ_PERMISSION} (with admin consent) in the "
                        "tenant named and run the checks again."
                    ),
                    details={"type": "organization"},
                )
            )
        for type_key, message in sorted(self.state.unreadable.items()):
            label = policy_type_of(type_key).label
            results.append(
                CheckResult(
                    code=PERMISSION_LIMITED,
                    severity=WARNING,
                    message=(
                        f"{self.target_label} could not be fully read for {label.lower()}, so "
                        f"the checks may be incomplete. {message}"
                    ),
                    resolution=self._permission_resolution(type_key),
                    details={"type": type_key},
                )
            )
        return results

    def _permission_resolution(self, type_key: str) -> str:
        permission = policy_type_of(type_key).required_permission
        return (
            f"Grant the app {permission} in {self.target_label} (with admin consent) "
            "and run the checks again."
        )

    # ---- per item ----------------------------------------------------------------------------

    def _integrity(self, item: SourceItem, ref: CheckItem) -> list[CheckResult]:
        try:
            computed = normalize.content_hash(
                item.type_key, item.payload, item.assignments, item.scope_tag_ids
            )
        except Exception as exc:
            computed = f"error: {type(exc).__name__}"
        if computed == item.content_hash:
            return []
        return [
            CheckResult(
                code=PAYLOAD_INTEGRITY,
                severity=BLOCKING,
                item=ref,
                message=(
                    f"The stored copy of {item.label} does not match the checksum taken when it "
                    "was backed up: it was changed or damaged in the database since."
                ),
                resolution=(
                    "Do not restore this copy: remove the item from the scope in step 2, or pick "
                    "another backup set in step 1."
                ),
                details={"stored_hash": item.content_hash, "computed_hash": computed},
            )
        ]

    def _is_never_written(self, type_key: str, source_id: str) -> bool:
        """The backup set's foundation is one a run never writes, in scope or not."""
        return (type_key, source_id) in self._never_written or source_id in (
            self.names.never_written.get(type_key) or ()
        )

    def _never_written_words(self, type_key: str, source_id: str, why: str | None = None) -> str:
        ptype = policy_type_of(type_key)
        why = why or self._never_written.get((type_key, source_id))
        if why == NEVER_WRITTEN_BUILTIN_OBJECT or (
            why is None and ptype.builtin_when is not None and not ptype.is_preview_only
        ):
            return f"it is one of Microsoft's built-in {ptype.label.lower()}"
        return f"{ptype.label.lower()} are never written"

    def _never_written_results(self, item: SourceItem, ref: CheckItem) -> list[CheckResult]:
        """An item the run never writes (``never_written``, e.g. one of Microsoft's built-in
        apps): never "will be created"; what refers to it uses the target's match, if any."""
        why = self._never_written_words(item.type_key, item.source_id, never_written(item))
        match = match_of(item, self.state, self.inputs)
        if match.target is not None:
            return [
                CheckResult(
                    code=SAFE_CODE,
                    severity=SAFE,
                    item=ref,
                    message=(
                        f"{item.label} is never written ({why}); {self.target_label} has it, "
                        "and what refers to it is written with the id it has there."
                    ),
                    details={"never_written": True, "target_id": match.target.source_id},
                )
            ]
        return [
            CheckResult(
                code=TARGET_MISSING,
                severity=WARNING,
                item=ref,
                message=(
                    f"{item.label} does not exist in {self.target_label}, and TenantGuard never "
                    f"writes it ({why}): it will be skipped."
                ),
                resolution=(
                    "Items of this run that refer to it are blocked (see their checks) until "
                    f"you map it to an existing object of {self.target_label} in step 3."
                ),
                details={"never_written": True, "never_created": True},
            )
        ]

    def _match_results(self, item: SourceItem, ref: CheckItem) -> list[CheckResult]:
        match = match_of(item, self.state, self.inputs)
        type_label = singular(item.ptype.label).lower()
        if match.kind == "ambiguous":
            return [
                CheckResult(
                    code=AMBIGUOUS_MATCH,
                    severity=BLOCKING,
                    item=ref,
                    message=(
                        f"{len(match.candidates)} {item.ptype.label.lower()} in "
                        f"{self.target_label} are named '{item.display_name}': TenantGuard "
                        "cannot tell which one to restore into."
                    ),
                    resolution=(
                        f"Rename or remove the duplicates in {self.target_label} so that only one "
                        f"{type_label} is named '{item.display_name}', then run the checks again; "
                        "or remove the item from the scope in step 2."
                    ),
                    details={"candidates": [c.source_id for c in match.candidates]},
                )
            ]
        if match.kind == "none":
            limit = item.ptype.create_limit_for(item.payload)
            if limit is not None:
                # Never created (e.g. an app whose content is not in the backup): skipped.
                return [
                    CheckResult(
                        code=TARGET_MISSING,
                        severity=WARNING,
                        item=ref,
                        message=(
                            f"{item.label} does not exist in {self.target_label}, and "
                            "TenantGuard never creates it: it will be skipped."
                        ),
                        resolution=f"Because {limit.reason}",
                        details={"never_created": True},
                    )
                ]
            if self.inputs.create_missing:
                return [
                    CheckResult(
                        code=TARGET_MISSING,
                        severity=WARNING,
                        item=ref,
                        message=(
                            f"{item.label} does not exist in {self.target_label}: "
                            "it will be created."
                        ),
                        resolution=(
                            "Nothing to do if that is what you want; otherwise remove the item "
                            "from the scope in step 2."
                        ),
                    )
                ]
            return [
                CheckResult(
                    code=TARGET_MISSING,
                    severity=BLOCKING,
                    item=ref,
                    message=(
                        f"{item.label} does not exist in {self.target_label}, and "
                        "'Create missing objects' is turned off for this run."
                    ),
                    resolution=(
                        "Turn on 'Create missing objects', or remove the item from the scope "
                        "in step 2."
                    ),
                )
            ]
        assert match.target is not None
        target_time = _parse_time(match.target.source_modified_at)
        same_tenant = self.inputs.same_tenant
        backup_time = (
            _parse_time(item.source_modified_at) if same_tenant else self.inputs.backup_taken_at
        )
        if target_time is None or backup_time is None or target_time <= backup_time:
            return []
        current_hash = normalize.content_hash(
            item.type_key,
            match.target.payload,
            match.target.assignments,
            match.target.scope_tag_ids,
        )
        if current_hash == item.content_hash:
            return []  # touched, but back to exactly the backed-up state
        return [
            CheckResult(
                code=TARGET_NEWER_THAN_BACKUP,
                severity=WARNING,
                item=ref,
                message=(
                    f"{item.label} was changed in {self.target_label} on {_when(target_time)}, "
                    + (
                        f"after the version in this backup ({_when(backup_time)})"
                        if same_tenant
                        else f"after this backup was taken from another tenant "
                        f"({_when(backup_time)})"
                    )
                    + ": restoring overwrites those changes."
                ),
                resolution=(
                    "Review the differences in the preview; take a new backup of "
                    f"{self.target_label} first if you may need the current version."
                ),
                details={
                    "target_modified_at": target_time.isoformat(),
                    "backup_modified_at": backup_time.isoformat(),
                    "target_id": match.target.source_id,
                },
            )
        ]

    def _secret_results(self, item: SourceItem, ref: CheckItem) -> list[CheckResult]:
        missing = normalize.missing_secrets(item.type_key, item.payload, item.secrets)
        if not missing:
            return []
        settings = ", ".join(missing)
        if item.secrets_problem:
            # The backup holds them, encrypted under a key this install no longer has.
            message = (
                f"{item.label} holds encrypted value(s) ({settings}) whose plaintext the backup "
                "stores under an encryption key this installation no longer has: it cannot be "
                "restored faithfully."
            )
            resolution = (
                "Add the old key to TENANTGUARD_ENCRYPTION_KEY (after the current one), take a "
                "new backup, or remove the item from the scope in step 2."
            )
        else:
            message = (
                f"{item.label} holds encrypted value(s) whose plaintext is not in the backup "
                f"({settings}): it cannot be restored faithfully."
            )
            resolution = (
                "Take a new backup with an app that may read the secret values, or remove "
                "the item from the scope in step 2."
            )
        return [
            CheckResult(
                code=SECRET_VALUE_MISSING,
                severity=BLOCKING,
                item=ref,
                message=message,
                resolution=resolution,
                details={"settings": missing},
            )
        ]

    def _identifier_results(self, item: SourceItem, ref: CheckItem) -> list[CheckResult]:
        """Into another tenant: each place where the payload holds the source tenant's own
        tenant ID or domains, found on the payload the restore would write."""
        identities = self.inputs.identities
        if identities is None or self.inputs.same_tenant:
            return []
        intended = intended_item(
            type_key=item.type_key,
            payload=item.payload,
            assignments=None,
            scope_tag_ids=None,
            resolver=self.resolver,
            identities=identities,
            source_identifiers="keep",
            secrets=item.secrets,
        )
        places = intended.identifier_places
        if not places:
            return []
        choice = self.inputs.source_identifiers
        source_name = identities.source.display_name or "the source tenant"
        from tenantguard.restores.presentation import payload_place_label

        listed = "; ".join(
            f"{IDENTIFIER_LABELS.get(p.kind, p.kind)} {p.found} in "
            f"{payload_place_label(item.payload, p.path, labels=self.setting_labels)} [{p.path}]"
            + (
                f" ({'becomes' if choice == 'replace' else 'would become'} {p.replacement})"
                if p.replacement and choice != "keep"
                else ""
            )
            for p in places[:20]
        )
        if len(places) > 20:
            listed += f"; and {len(places) - 20} more place(s)"
        details: dict[str, Any] = {
            "choice": choice,
            "places": [place.to_json() for place in places[:MAX_IDENTIFIER_PLACES]],
            "place_count": len(places),
        }
        unreplaceable = [place for place in places if place.replacement is None]
        what = f"{item.label} holds identifiers of {source_name}"
        if choice == "keep":
            return [
                CheckResult(
                    code=SOURCE_TENANT_IDENTIFIER,
                    severity=WARNING,
                    item=ref,
                    message=f"{what}, kept as they are by your choice: {listed}.",
                    resolution=(
                        "They point at the source tenant once written to "
                        f"{self.target_label}; choose 'replace' in step 3 options to write "
                        f"{self.target_label}'s values instead."
                    ),
                    details=details,
                )
            ]
        if choice == "replace" and not unreplaceable:
            return [
                CheckResult(
                    code=SOURCE_TENANT_IDENTIFIER,
                    severity=WARNING,
                    item=ref,
                    message=f"{what}, replaced by {self.target_label}'s values: {listed}.",
                    resolution="Check the replaced values in the preview.",
                    details=details,
                )
            ]
        if choice == "replace":
            missing = ", ".join(sorted({place.found for place in unreplaceable}))
            return [
                CheckResult(
                    code=SOURCE_TENANT_IDENTIFIER,
                    severity=BLOCKING,
                    item=ref,
                    message=(
                        f"{what}: {listed}. {self.target_label} has no counterpart for "
                        f"{missing}, so it cannot be replaced."
                    ),
                    resolution=(
                        "Choose 'keep' in step 3 options to write them as they are, or remove "
                        "the item from the scope in step 2 and set it up by hand."
                    ),
                    details=details,
                )
            ]
        return [
            CheckResult(
                code=SOURCE_TENANT_IDENTIFIER,
                severity=BLOCKING,
                item=ref,
                message=(
                    f"{what} (its tenant ID or domains), which would point {self.target_label} "
                    f"at the wrong tenant: {listed}."
                ),
                resolution=(
                    f"In step 3 options, choose 'replace' (the preview then shows "
                    f"{self.target_label}'s own values in their place) or 'keep' (written as "
                    "they are in the backup)."
                ),
                details=details,
            )
        ]

    def _source_secret_results(self, item: SourceItem, ref: CheckItem) -> list[CheckResult]:
        source = self.secrets_need_admin_of
        if not source or self.inputs.same_tenant or not item.secrets:
            return []
        settings = sorted(item.secrets)  # where the values sit, never the values
        return [
            CheckResult(
                code=SECRET_VALUES_NEED_SOURCE_ADMIN,
                severity=BLOCKING,
                item=ref,
                message=(
                    f"{item.label} carries secret values captured in '{source}' "
                    f"({', '.join(settings)}): restoring them into {self.target_label} needs "
                    f"the Admin role on '{source}'."
                ),
                resolution=(
                    "Remove the item from the scope in step 2, or ask an admin of "
                    f"'{source}' to run the checks and execute the run."
                ),
                details={"settings": settings, "source_tenant": source},
            )
        ]

    def _reference_results(self, item: SourceItem, ref: CheckItem) -> list[CheckResult]:
        refs = item_references(item, include_assignments=self.inputs.include_assignments)
        resolutions = [(r, self.resolver.resolve(r.kind, r.source_id)) for r in refs]
        # An assignment skipped through one reference needs none of its other references.
        skipped = {
            assignment_index(r)
            for r, resolution in resolutions
            if resolution.status == "skipped" and assignment_index(r) is not None
        }
        problems: dict[tuple[str, str], tuple[Resolution, list[str]]] = {}
        for reference, resolution in resolutions:
            if resolution.resolved or assignment_index(reference) in skipped:
                continue
            key = (reference.kind, reference.source_id)
            problems.setdefault(key, (resolution, []))[1].append(reference.where)
        return [
            self._missing_reference(item, ref, kind, source_id, resolution, where)
            for (kind, source_id), (resolution, where) in problems.items()
        ]

    def _missing_reference(
        self,
        item: SourceItem,
        ref: CheckItem,
        kind: str,
        source_id: str,
        resolution: Resolution,
        where: list[str],
    ) -> CheckResult:
        spec = reference_kinds.get(kind)
        label = spec.singular
        name = self.resolver.source_name(kind, source_id)
        named = f"{label} '{name}' (id {source_id})" if name else f"{label} with id {source_id}"
        uses = spec.uses
        details: dict[str, Any] = {
            "kind": kind,
            "source_id": source_id,
            "source_name": name,
            "where": where,
            "status": resolution.status,
        }
        skip_words = spec.skip_words
        if resolution.status == "mapped_missing":
            details["mapped_to"] = resolution.target_id
            message = (
                f"{item.label} {uses} {named}, which is mapped to {label} id "
                f"{resolution.target_id}; that does not exist in {self.target_label}."
            )
            resolution_text = (
                f"Map it to an existing {label} of {self.target_label} in step 3, or {skip_words}."
            )
        else:
            not_there = f"which does not exist in {self.target_label}"
            if self.resolver.unreadable(kind):
                not_there = f"which could not be read in {self.target_label}"
            message = f"{item.label} {uses} {named}, {not_there}."
            options = [f"Map it to an existing {label} of {self.target_label} in step 3"]
            in_backup = spec.is_foundation and source_id in self._in_backup.get(
                str(spec.foundation_type), set()
            )
            if in_backup and self._is_never_written(str(spec.foundation_type), source_id):
                in_backup = False  # in scope, but never written: including it cannot help
                options.append(
                    f"(restoring the {label} from this backup does not help: TenantGuard never "
                    f"writes it, {self._never_written_words(str(spec.foundation_type), source_id)})"
                )
            if in_backup and references.restored_before_referrers(kind):
                options.insert(
                    0, f"Include the {label} in the scope in step 2 (it will be created)"
                )
            resolution_text = ", ".join(options) + f", or {skip_words}."
            if in_backup and not references.restored_before_referrers(kind):
                backing = policy_type_of(str(spec.foundation_type))
                why = (
                    f"TenantGuard never writes {backing.label.lower()}."
                    if backing.is_preview_only
                    else f"a run writes {backing.label.lower()} only after "
                    f"{item.ptype.label.lower()}. Restore the {label} first, then run the "
                    "restore of this item again."
                )
                resolution_text += f" Restoring the {label} from this backup does not help: {why}"
        suggestions = self.resolver.suggestions(kind, source_id)
        if len(suggestions) == 1:
            details["suggested_target_id"] = suggestions[0]["id"]
            details["suggested_target_name"] = suggestions[0]["name"]
            resolution_text += (
                f" Suggested: the {label} '{suggestions[0]['name']}' of {self.target_label} "
                "has the same name."
            )
        elif suggestions:
            details["candidates"] = suggestions
        return CheckResult(
            code=MISSING_CODES[kind],
            severity=BLOCKING,
            item=ref,
            message=message,
            resolution=resolution_text,
            details=details,
        )

    def _assignment_results(self, item: SourceItem, ref: CheckItem) -> list[CheckResult]:
        if not self.inputs.include_assignments or item.ptype.assign is None:
            return []
        if item.ptype.is_tenant_default(item.source_id) or (
            isinstance(item.payload, dict) and item.ptype.is_tenant_default(item.payload)
        ):
            return []  # a tenant default applies to everyone by design; it is never assigned
        if item.assignments is None:
            return [
                CheckResult(
                    code=ASSIGNMENTS_NOT_CAPTURED,
                    severity=WARNING,
                    item=ref,
                    message=(
                        f"The backup of {item.label} holds no assignments (they could not be "
                        f"read when it was taken): its assignments in {self.target_label} are "
                        "left as they are."
                    ),
                    resolution=(
                        "Take a new backup with permission to read assignments if they must be "
                        "restored too."
                    ),
                )
            ]
        broad = broad_targets(item.assignments)
        if not broad:
            return []
        targets = " and ".join(broad)
        return [
            CheckResult(
                code=BROAD_ASSIGNMENT,
                severity=WARNING,
                item=ref,
                message=(
                    f"{item.label} is assigned to {targets}: restoring its assignments applies it "
                    f"to every {'device' if broad == ['All devices'] else 'user or device'} of "
                    f"{self.target_label}."
                ),
                resolution=(
                    "Check in the preview that this is intended; turn off 'Restore assignments' "
                    "to leave the target's assignments as they are."
                ),
                details={"targets": broad},
            )
        ]

    def _safe(self, item: SourceItem, ref: CheckItem) -> CheckResult:
        match = match_of(item, self.state, self.inputs)
        if match.target is not None:
            how = "by id" if match.kind == "id" else "by name"
            message = (
                f"{item.label}: no problems found; it matches '{match.target.display_name}' in "
                f"{self.target_label} ({how})."
            )
            details = {"target_id": match.target.source_id, "match": match.kind}
        else:
            message = f"{item.label}: no problems found."
            details = {}
        return CheckResult(
            code=SAFE_CODE, severity=SAFE, item=ref, message=message, details=details
        )


# --------------------------------------------------------------------------------------------
# Services and selectors
# --------------------------------------------------------------------------------------------


@audits_refusal
def restore_run_run_checks(
    *, actor: Any, run: RestoreRun, on_progress: ProgressCallback | None = None
) -> RestoreRun:
    """Step 3: check the scoped items against the live target and persist results + summary.

    Asks the policy before reading anything; the inputs' fingerprint is taken before the read
    so results computed for inputs that changed meanwhile are refused when recorded.
    """
    read = read_target_for(run, actor=actor, action=Action.RUN_CHECKS, on_progress=on_progress)
    try:
        return _checks_recorded(actor=actor, read=read)
    finally:
        # its objects (and their temporary file) are let go of now; the kept copy is apart
        read.state.close()


def _checks_recorded(*, actor: Any, read: TargetRead) -> RestoreRun:
    """Check and record the run of ``read`` (the checks' read of its target)."""
    run, source = read.run, read.source
    # Setting names first (never fails the checks; ``problem`` says why names are missing), so
    # messages that name a settings catalog place use the admin center's words.
    labels = restore_run_setting_definitions_ensure(read=read)
    checker = RestoreRiskChecker(
        items=source.items,
        target_state=read.state,
        inputs=source.inputs,
        backup_names=source.names,
        target_groups=read.groups,
        secrets_need_admin_of=_secrets_need_admin_of(run, actor),
        setting_labels=setting_labels(tenant=run.tenant, definition_ids=labels.definition_ids),
    )
    # Recorded as they are produced: the results of a large scope are never all held.
    tally = CheckTally()
    results = (tally.add(result) for result in checker.iter_results())

    def summarize() -> dict[str, Any]:  # once every result was produced
        summary = tally.summary()
        summary.update(_summary_extras(run, read, checker, labels))
        return summary

    recorded = restore_run_record_checks(
        actor=actor,
        run=run,
        results=results,
        summary=summarize,
        inputs_fingerprint=read.fingerprint,
    )
    # Kept for the preview, which plans from it while the inputs are unchanged and it is recent
    # (when it cannot be kept, the preview reads the target again: the checks stand).
    try:
        restore_target_read_keep(run=recorded, read=read)
    except DatabaseError:
        logger.warning(
            "Restore #%s: the checks' read of the target could not be kept for the preview, "
            "which will read the target again.",
            recorded.pk,
            exc_info=True,
        )
    return recorded


def _summary_extras(
    run: RestoreRun, read: TargetRead, checker: RestoreRiskChecker, labels: LabelsEnsured
) -> dict[str, Any]:
    """What the checks' summary says besides the counts."""
    source = read.source
    summary: dict[str, Any] = {}
    summary.update(
        items=len(source.items),
        graph_requests=read.graph_requests + labels.graph_requests,
        setting_definitions=labels.to_json(),
        unreadable_types=sorted(read.state.unreadable),
        # Cross-tenant: the identities these results judged; the preview replaces with them.
        tenant_identities=source.inputs.identities.to_json() if source.inputs.identities else None,
        # Names of the target objects the mapping points at, so the editor shows names, not ids.
        mapped_names={
            kind: {
                target_id: checker.resolver.target_name(kind, target_id)
                for target_id in entries.values()
                if target_id
            }
            for kind, entries in normalized_mapping(run.group_mapping).items()
        },
    )
    summary["target_read"] = read.summary()
    return summary


def _secrets_need_admin_of(run: RestoreRun, actor: Any) -> str:
    """The source tenant's name when ``actor`` may not restore its captured secret values into
    the run's target (a cross-tenant run without the source Admin role); "" otherwise."""
    backup_set = run.backup_set
    if backup_set is None or backup_set.tenant_id == run.tenant_id:
        return ""
    if has_capability(actor, backup_set.tenant, Capability.RESTORE_SECRETS_FROM):
        return ""
    return str(backup_set.tenant.display_name)


def restore_run_mapping_needs(run: RestoreRun) -> dict[str, list[dict[str, Any]]]:
    """For the mapping editor: per reference kind (``reference_kinds``: ``group``,
    ``assignment_filter``, ...), the references the last checks found missing and those the
    mapping already decides, each once::

        {"kind", "source_id", "name", "status": "missing" | "mapped" | "skipped",
         "mapped_to", "items": [{"type", "source_id", "name"}],
         "suggestion": {"id", "name"} | None, "candidates": [{"id", "name"}],
         "unreadable_permission": str | None}

    ``unreadable_permission`` names the read permission the app lacked when the last checks
    read the target for that kind (its objects cannot be listed to map to; skipping still
    works). Read from the persisted check results (no Graph call): run the checks again after
    editing the mapping to refresh it.
    """
    needs: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in MAPPING_KINDS}
    mapping = run.group_mapping or {}
    unreadable = restore_run_unreadable_kinds(run)
    codes = {code: kind for kind, code in MISSING_CODES.items()}
    rows = RestoreCheckResult.objects.filter(run=run, code__in=list(codes)).order_by("position")
    for row in rows:
        kind = codes[row.code]
        details = row.details or {}
        source_id = str(details.get("source_id") or "")
        if not source_id:
            continue
        entry = needs[kind].setdefault(
            source_id,
            {
                "kind": kind,
                "source_id": source_id,
                "name": details.get("source_name"),
                "status": "missing",
                "mapped_to": details.get("mapped_to"),
                "mapped_to_name": None,
                "items": [],
                "suggestion": None,
                "candidates": list(details.get("candidates") or []),
            },
        )
        if details.get("suggested_target_id"):
            entry["suggestion"] = {
                "id": details["suggested_target_id"],
                "name": details.get("suggested_target_name"),
            }
        entry["items"].append(
            {"type": row.item_type, "source_id": row.item_source_id, "name": row.item_name}
        )
    summary = ((run.metadata or {}).get("checks") or {}).get("summary") or {}
    mapped_names: dict[str, dict[str, str | None]] = summary.get("mapped_names") or {}
    if run.backup_set_id:
        names = _backup_names_for(run, mapping)
        for kind in MAPPING_KINDS:
            for source_id, target_id in (mapping.get(kind) or {}).items():
                found = needs[kind].get(source_id)
                if found is not None and target_id is not None and found["mapped_to"] == target_id:
                    continue  # the checks found this very mapping pointing at nothing
                needs[kind][source_id] = {
                    "kind": kind,
                    "source_id": source_id,
                    "name": names.name(kind, source_id),
                    "status": "skipped" if target_id is None else "mapped",
                    "mapped_to": target_id,
                    "mapped_to_name": mapped_names.get(kind, {}).get(target_id or ""),
                    "items": found["items"] if found else [],
                    "suggestion": found["suggestion"] if found else None,
                    "candidates": found["candidates"] if found else [],
                }
    for kind, entries in needs.items():
        for entry in entries.values():
            entry["unreadable_permission"] = unreadable.get(kind)
    return {
        kind: sorted(entries.values(), key=lambda e: (str(e["name"] or ""), e["source_id"]))
        for kind, entries in needs.items()
    }


def restore_run_unreadable_kinds(run: RestoreRun) -> dict[str, str]:
    """Reference kind -> the read permission the app lacked when the last checks read the
    target for it (from their tenant-wide ``permission_limited`` results)."""
    types = RestoreCheckResult.objects.filter(
        run=run, code=PERMISSION_LIMITED, item_source_id=""
    ).values_list("details__type", flat=True)
    unreadable: dict[str, str] = {}
    for type_key in types:
        if type_key == "groups":
            for kind in reference_kinds.all_kinds():
                if not kind.is_foundation:
                    unreadable[kind.key] = GROUP_READ_PERMISSION
        elif (kind_of := reference_kinds.kind_of_type(str(type_key))) is not None:
            unreadable[kind_of.key] = policy_type_of(str(type_key)).required_permission
    return unreadable


def _backup_names_for(run: RestoreRun, mapping: Mapping[str, Any]) -> BackupNames:
    from tenantguard.backups.models import BackupItem

    assert run.backup_set is not None
    wanted = {kind: list((mapping.get(kind) or {}).keys()) for kind in MAPPING_KINDS}
    foundations: dict[str, dict[str, str]] = {}
    for kind in reference_kinds.foundation_kinds():
        type_key = str(kind.foundation_type)
        if wanted[kind.key]:
            foundations[type_key] = dict(
                BackupItem.objects.filter(
                    backup_set_id=run.backup_set_id,
                    policy_type=type_key,
                    source_id__in=wanted[kind.key],
                ).values_list("source_id", "display_name")
            )
    return BackupNames(groups=dict(run.backup_set.group_names or {}), foundations=foundations)


__all__ = [
    "CHECK_CODES",
    "MISSING_CODES",
    "RestoreRiskChecker",
    "restore_run_mapping_needs",
    "restore_run_run_checks",
    "restore_run_unreadable_kinds",
]
