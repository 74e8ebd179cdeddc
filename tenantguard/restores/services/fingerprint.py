"""Fingerprints of what checks and the preview were computed from.

Checks and the preview are only valid for the inputs they saw: the backup set, the scope, the
mapping and the options. Each records the fingerprint of those inputs when it ran; when the run's
current fingerprint differs, the result is stale and gates execution exactly like a missing one.

Besides the overall fingerprint, each input group has its own hash (its "part"), so the policy
can say *what* changed ("the mapping changed after it ran") instead of only "something changed".
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from tenantguard.intune import reference_kinds
from tenantguard.intune.normalize import canonical_json
from tenantguard.restores.models import RestoreRun, ScopeMode

FINGERPRINT_VERSION: Final = 1

#: Yes/no options of a run and their defaults.
DEFAULT_OPTIONS: Final[dict[str, bool]] = {
    # Create objects that are missing in the target (off: a missing target is a blocking check).
    "create_missing": True,
    # Write assignments (off: the target's assignments are left exactly as they are).
    "include_assignments": True,
}

#: How the written assignment list is made: ``replace`` writes the backup's state (the target's
#: other assignments are removed, each shown as a removal); ``merge`` keeps the target's other
#: assignments and adds the backup's. Default: replace into the backup's own tenant, merge into
#: another tenant.
ASSIGNMENT_MODES: Final = ("merge", "replace")
#: What a cross-tenant restore does with the source tenant's own identifiers (tenant ID,
#: domains) found in payloads: ``undecided`` (a blocking check), ``replace`` (with the target's
#: values) or ``keep`` (written as in the backup, by explicit choice).
SOURCE_IDENTIFIER_CHOICES: Final = ("undecided", "replace", "keep")

#: Options with a fixed set of values, and those values.
CHOICE_OPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "assignment_mode": ASSIGNMENT_MODES,
    "source_identifiers": SOURCE_IDENTIFIER_CHOICES,
}
#: Every option a run accepts.
OPTION_KEYS: Final = (*DEFAULT_OPTIONS, *CHOICE_OPTIONS)

#: Kinds of references the mapping rewrites, as keys of ``RestoreRun.group_mapping``
#: (``reference_kinds``). Each maps a source id to a target id, or to ``None`` meaning "skip"
#: (what skipping does is the kind's ``on_skip``).
MAPPING_KINDS: Final = reference_kinds.keys()

#: Input groups, in the order the policy names them, with the words it uses.
PART_LABELS: Final[dict[str, str]] = {
    "source": "the backup set",
    "scope": "the scope",
    "mapping": "the mapping",
    "options": "the options",
}


def is_same_tenant(run: RestoreRun) -> bool:
    """The run restores into the tenant its backup set was taken from (or has no source yet)."""
    if run.backup_set_id is None or run.backup_set is None:
        return True
    return run.backup_set.tenant_id == run.tenant_id


def default_choice_options(run: RestoreRun) -> dict[str, str]:
    return {
        "assignment_mode": "replace" if is_same_tenant(run) else "merge",
        "source_identifiers": "undecided",
    }


def effective_options(run: RestoreRun) -> dict[str, Any]:
    """The run's options with defaults filled in (an explicit default equals an absent one):
    the yes/no options as ``bool``, ``assignment_mode`` and ``source_identifiers`` as strings."""
    options: dict[str, Any] = dict(DEFAULT_OPTIONS)
    stored = run.options or {}
    options.update({key: bool(value) for key, value in stored.items() if key in DEFAULT_OPTIONS})
    for key, default in default_choice_options(run).items():
        value = stored.get(key)
        options[key] = value if value in CHOICE_OPTIONS[key] else default
    return options


def normalized_mapping(mapping: dict[str, Any] | None) -> dict[str, dict[str, str | None]]:
    """The mapping without empty kinds, so ``{}`` and ``{"group": {}}`` fingerprint alike."""
    result: dict[str, dict[str, str | None]] = {}
    for kind in reference_kinds.keys():
        entries = (mapping or {}).get(kind) or {}
        if entries:
            result[kind] = {
                str(source): (None if target is None else str(target))
                for source, target in entries.items()
            }
    return result


def restore_run_inputs(run: RestoreRun) -> dict[str, Any]:
    """Everything checks and the preview depend on, per input group, as plain JSON data."""
    items = (
        sorted({int(item) for item in run.requested_items or []})
        if run.scope_mode == ScopeMode.SELECTED
        else []
    )
    return {
        "source": {"tenant_id": run.tenant_id, "backup_set_id": run.backup_set_id},
        "scope": {"mode": run.scope_mode, "items": items},
        "mapping": normalized_mapping(run.group_mapping),
        "options": effective_options(run),
    }


def _sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def restore_run_fingerprint_parts(run: RestoreRun) -> dict[str, str]:
    """One hash per input group (see ``PART_LABELS``)."""
    return {part: _sha256(value) for part, value in restore_run_inputs(run).items()}


def restore_run_fingerprint(run: RestoreRun) -> str:
    """The sha256 of the canonical JSON of all inputs (with a format version)."""
    return _sha256({"version": FINGERPRINT_VERSION, "inputs": restore_run_inputs(run)})


def changed_parts(recorded: dict[str, str] | None, current: dict[str, str]) -> list[str]:
    """Input groups whose hash differs from the recorded one, in ``PART_LABELS`` order."""
    recorded = recorded or {}
    return [part for part in PART_LABELS if recorded.get(part) != current.get(part)]


def describe_changes(parts: list[str]) -> str:
    """``["scope", "mapping"]`` -> ``"the scope and the mapping changed"``."""
    labels = [PART_LABELS[part] for part in parts] or ["the inputs"]
    if len(labels) == 1:
        joined = labels[0]
    else:
        joined = ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"{joined} changed"
