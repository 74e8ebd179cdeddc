"""What the checks engine and the preview engine hand to the run services to persist.

``RestoreRiskChecker`` produces ``CheckResult`` values and ``RestoreDiffGenerator`` produces
``PreviewItem`` values; ``restore_run_record_checks`` / ``restore_run_record_preview`` store them.
Plain dicts of the same shape are accepted too (e.g. from a task payload).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenantguard.restores.models import CheckSeverity, PreviewAction
from tenantguard.restores.services.errors import RestoreRunError


@dataclass(frozen=True)
class CheckItem:
    """The backup item a check result is about."""

    type: str
    source_id: str
    name: str = ""


@dataclass(frozen=True)
class CheckResult:
    code: str
    severity: str  # CheckSeverity: blocking / warning / safe
    message: str
    resolution: str = ""
    item: CheckItem | None = None  # None for tenant-wide results (e.g. permission_limited)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def coerce(cls, value: CheckResult | Mapping[str, Any]) -> CheckResult:
        if isinstance(value, CheckResult):
            result = value
        else:
            item = value.get("item")
            if isinstance(item, Mapping):
                item = CheckItem(
                    type=str(item.get("type", "")),
                    source_id=str(item.get("source_id", "")),
                    name=str(item.get("name", "")),
                )
            result = cls(
                code=str(value.get("code", "")),
                severity=str(value.get("severity", "")),
                message=str(value.get("message", "")),
                resolution=str(value.get("resolution", "")),
                item=item,
                details=dict(value.get("details") or {}),
            )
        if not result.code:
            raise RestoreRunError("A check result has no code.")
        if result.severity not in CheckSeverity.values:
            raise RestoreRunError(
                f"Check result '{result.code}' has severity '{result.severity}'; "
                f"expected one of {', '.join(CheckSeverity.values)}."
            )
        if not result.message:
            raise RestoreRunError(f"Check result '{result.code}' has no message.")
        return result


@dataclass(frozen=True)
class PreviewItem:
    policy_type: str
    source_id: str
    action: str  # PreviewAction: create / update / no_change / skip
    display_name: str = ""
    reason: str = ""
    target_id: str = ""
    # Hash of the live target object as the preview read it (for changed_since_preview).
    target_hash: str = ""
    diff: dict[str, Any] = field(default_factory=dict)
    diff_truncated: bool = False

    @classmethod
    def coerce(cls, value: PreviewItem | Mapping[str, Any]) -> PreviewItem:
        if isinstance(value, PreviewItem):
            item = value
        else:
            item = cls(
                policy_type=str(value.get("policy_type", "")),
                source_id=str(value.get("source_id", "")),
                action=str(value.get("action", "")),
                display_name=str(value.get("display_name", "")),
                reason=str(value.get("reason", "")),
                target_id=str(value.get("target_id") or ""),
                target_hash=str(value.get("target_hash") or ""),
                diff=dict(value.get("diff") or {}),
                diff_truncated=bool(value.get("diff_truncated", False)),
            )
        if not item.policy_type or not item.source_id:
            raise RestoreRunError("A preview item needs its policy type and source id.")
        if item.action not in PreviewAction.values:
            raise RestoreRunError(
                f"Preview item '{item.display_name or item.source_id}' has action '{item.action}'; "
                f"expected one of {', '.join(PreviewAction.values)}."
            )
        if item.action == PreviewAction.SKIP and not item.reason:
            raise RestoreRunError(
                f"Preview item '{item.display_name or item.source_id}' is skipped without a reason: "
                "nothing is dropped silently."
            )
        return item
