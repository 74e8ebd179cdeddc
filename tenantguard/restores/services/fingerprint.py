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

from tenantguard.intune.normalize import canonical_json
from tenantguard.restores.models import RestoreRun, ScopeMode

FINGERPRINT_VERSION: Final = 1

#: Options of a run and their defaults. Only these keys are accepted.
DEFAULT_OPTIONS: Final[dict[str, bool]] = {
    # Create objects that are missing in the target (off: a missing target is a blocking check).
    "create_missing": True,
    # Write assignments (off: the target's assignments are left exactly as they are).
    "include_assignments": True,
}

#: Kinds of references the mapping rewrites, as keys of ``RestoreRun.group_mapping``.
#: Each maps a source id to a target id, or to ``None`` meaning "skip these assignments".
MAPPING_KINDS: Final = ("group", "assignment_filter", "scope_tag", "notification_template")

#: Input groups, in the order the policy names them, with the words it uses.
PART_LABELS: Final[dict[str, str]] = {
    "source": "the backup set",
    "scope": "the scope",
    "mapping": "the mapping",
    "options": "the options",
}


def effective_options(run: RestoreRun) -> dict[str, bool]:
    """The run's options with defaults filled in (an explicit default equals an absent one)."""
    options = dict(DEFAULT_OPTIONS)
    options.update(
        {key: bool(value) for key, value in (run.options or {}).items() if key in DEFAULT_OPTIONS}
    )
    return options


def normalized_mapping(mapping: dict[str, Any] | None) -> dict[str, dict[str, str | None]]:
    """The mapping without empty kinds, so ``{}`` and ``{"group": {}}`` fingerprint alike."""
    result: dict[str, dict[str, str | None]] = {}
    for kind in MAPPING_KINDS:
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
