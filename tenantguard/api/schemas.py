"""Request and response shapes of the API.

Responses are allow-lists: a field that is not declared here never leaves the server, which is
what keeps tenant credentials and captured secret values out of every answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from ninja import Schema
from pydantic import ConfigDict, Field, create_model

from tenantguard.common.ids import MAX_ID
from tenantguard.intune import reference_kinds

T = TypeVar("T")

#: An object id as a request may give it: 1 to the largest 64-bit id (``common.ids``); anything
#: else answers 400 naming the field, instead of reaching the database.
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]


# ---- common ------------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    reasons: list[str] = Field(default_factory=list)


class Page(Schema, Generic[T]):
    count: int
    page: int
    page_size: int
    num_pages: int
    items: list[T]


# ---- tenants -----------------------------------------------------------------------------------


class TenantOut(Schema):
    id: int
    display_name: str
    entra_tenant_id: str
    environment: str
    cloud: str
    auth_method: str
    role: str | None = Field(description="The requesting user's role on the tenant.")
    connection_status: str
    connection_checked_at: datetime | None
    missing_permissions: list[str]
    backup_schedule: str = Field(description='"off" or "daily".')
    backup_hour_utc: int
    keep_scheduled_backups: int = Field(description="0 keeps every scheduled backup.")
    next_scheduled_backup_at: datetime | None


class ConnectionCheckOut(Schema):
    permission: str
    resource: str
    ok: bool
    message: str


class ConnectionTestOut(Schema):
    tenant_id: int
    connection_status: str
    checks: list[ConnectionCheckOut]
    missing_permissions: list[str]
    error: str


# ---- backups -----------------------------------------------------------------------------------


class BackupSetOut(Schema):
    id: int
    tenant_id: int
    tenant_label: str
    name: str
    status: str
    kind: str
    restore_run_id: int | None
    created_by: str | None
    created_at: datetime
    captured_at: datetime | None
    item_count: int
    progress: dict[str, Any]
    error: str


class TypeCountOut(Schema):
    category: str
    policy_type: str
    platform: str
    count: int


class CaptureWarningOut(Schema):
    type_key: str | None = None
    source_id: str | None = None
    message: str = ""
    permission: str | None = None


class BackupSetDetailOut(BackupSetOut):
    type_counts: list[TypeCountOut]
    warnings: list[CaptureWarningOut]


class ScopeTagOut(Schema):
    id: str
    name: str


class BackupItemOut(Schema):
    id: int
    policy_type: str
    category: str
    source_id: str
    display_name: str
    platform: str
    source_modified_at: str | None
    content_hash: str
    scope_tags: list[ScopeTagOut]
    assignments: list[dict[str, Any]] | None
    warnings: list[str]
    has_secret_values: bool = Field(
        description="The item holds captured secret values (e.g. OMA-URI); they are never sent."
    )
    payload: dict[str, Any] | None = Field(
        None, description="Only with ?include=payload. Secret values are references, never text."
    )


# ---- restore runs: input -----------------------------------------------------------------------


class _StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


class RestoreRunCreateIn(_StrictIn):
    tenant_id: ObjectId
    backup_set_id: ObjectId | None = None


class SourceIn(_StrictIn):
    backup_set_id: ObjectId


class ScopeIn(_StrictIn):
    mode: str = Field(description="'all' or 'selected'")
    item_ids: list[ObjectId] = Field(default_factory=list, description="Backup item ids (selected)")


_MAPPING_IN_DOC = """The whole mapping, replacing the previous one: one object per reference kind
(``group``, ``assignment_filter``, ``scope_tag``, ``notification_template``, ...), each
``{source_id: target_id}``; ``null`` skips the reference (an explicit choice: the assignments
that use a group or filter are left out, a scope tag or template reference is left out)."""

if TYPE_CHECKING:

    class MappingIn(_StrictIn):
        """One ``dict[str, str | None]`` field per reference kind (``reference_kinds``)."""

else:
    # One field per reference kind, read from ``reference_kinds`` (a new kind needs no edit).
    MappingIn = create_model(
        "MappingIn",
        __base__=_StrictIn,
        __doc__=_MAPPING_IN_DOC,
        **{
            key: (dict[str, str | None], Field(default_factory=dict))
            for key in reference_kinds.keys()
        },
    )


class OptionsIn(_StrictIn):
    create_missing: bool | None = Field(
        None,
        description="'Create missing objects': create the backup's objects the target lacks "
        "(false: an item missing in the target is a blocking check). Default: true.",
    )
    include_assignments: bool | None = Field(
        None,
        description="'Restore assignments': write the backup's assignments with each item "
        "(false: the target's assignments stay as they are). Default: true.",
    )
    assignment_mode: Literal["merge", "replace"] | None = Field(
        None,
        description="'replace': write the backup's assignments (the target's others are removed, "
        "each listed in the preview); 'merge': keep the target's other assignments and add the "
        "backup's. Default: replace into the backup's own tenant, merge into another.",
    )
    source_identifiers: Literal["undecided", "replace", "keep"] | None = Field(
        None,
        description="Cross-tenant: the source tenant's own tenant ID and domains found in "
        "payloads (check source_tenant_identifier) are replaced by the target's values or kept "
        "as they are; 'undecided' blocks the items that hold them.",
    )


class DryRunIn(_StrictIn):
    dry_run: bool


class ExecuteIn(_StrictIn):
    acknowledged: bool = False
    typed_label: str = Field("", description="The target tenant's display name, exactly.")


# ---- restore runs: output ----------------------------------------------------------------------


class DecisionOut(Schema):
    allowed: bool
    reasons: list[str]


class StepOut(Schema):
    key: str
    number: int
    title: str
    state: str = Field(
        description="done, stale (out of date), blocked (current checks have blocking results), todo or locked"
    )


class ResultStateOut(Schema):
    present: bool
    current: bool
    changes: list[str]
    ran_at: str | None = None
    recorded_by: str | None = None


class ChecksSummaryOut(ResultStateOut):
    counts: dict[str, int] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)


class PreviewSummaryOut(ResultStateOut):
    actions: dict[str, int] = Field(default_factory=dict)
    item_count: int = 0
    summary: dict[str, Any] = Field(default_factory=dict)


class RestoreRunOut(Schema):
    id: int
    tenant_id: int
    tenant_label: str
    environment: str
    status: str
    dry_run: bool
    backup_set_id: int | None
    backup_set_name: str | None
    scope_mode: str
    requested_by: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RestoreRunDetailOut(RestoreRunOut):
    requested_items: list[int]
    mapping: dict[str, dict[str, str | None]]
    options: dict[str, bool | str] = Field(
        description="Every option with its effective value (switches, or a named choice)."
    )
    cancel_requested_at: datetime | None
    undo_of: int | None
    pre_restore_snapshot_id: int | None
    steps: list[StepOut]
    decisions: dict[str, DecisionOut]
    checks: ChecksSummaryOut
    preview: PreviewSummaryOut
    progress: dict[str, int]
    outcome_counts: dict[str, int]
    results: dict[str, Any]


class CheckResultOut(Schema):
    position: int
    code: str
    severity: str
    item_type: str
    item_source_id: str
    item_name: str
    message: str
    resolution: str
    details: dict[str, Any]


class PreviewItemOut(Schema):
    position: int
    policy_type: str
    source_id: str
    display_name: str
    action: str
    reason: str
    target_id: str
    diff: dict[str, Any]
    diff_truncated: bool


class MappingItemOut(Schema):
    type: str
    source_id: str
    name: str


class MappingTargetOut(Schema):
    id: str
    name: str | None = None


class MappingNeedOut(Schema):
    kind: str
    source_id: str
    name: str | None
    status: str = Field(description="missing, mapped or skipped")
    mapped_to: str | None
    items: list[MappingItemOut]
    suggestion: MappingTargetOut | None
    candidates: list[MappingTargetOut]


class ItemOutcomeOut(Schema):
    position: int
    policy_type: str
    source_id: str
    display_name: str
    target_id: str
    stage: str
    outcome: str
    reason: str
    skip_code: str
    error_code: str
    error_message: str
    assignments_written: bool
    skipped_assignments: int
    verified: bool | None
    differences: list[Any]


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    actor: str
    action: str
    tenant_label: str
    subject_label: str
    details: dict[str, Any]
    request_id: str
