"""RestoreRunPolicy: the one place that decides what may happen next to a restore run.

Every entry point (web wizard, API, CLI, task worker) goes through the services in ``runs.py``,
and every service asks this policy before it changes anything. The policy never writes; it answers
``can(action)`` with a ``Decision``: allowed or not, and the reasons in words an admin can act on.

Lifecycle::

    draft -> scoped -> checked -> previewed -> queued -> running -> completed | partial | failed
      (any status before running) -> cancelled;  running -> cancelled (via a cancel request)

Going back: changing the scope, mapping or options of a ``checked`` or ``previewed`` run sends it
back to ``scoped`` (the checks and preview become stale through their fingerprints); selecting
another backup set sends it back to ``draft`` and clears scope, mapping, checks, preview and
confirmation. Re-running the checks of a ``previewed`` run sends it back to ``checked``.

Dry runs: a run with dry-run on is never queued (``execute`` is refused with the dry-run reason,
whatever the client sends). A dry run ends with ``finish_dry_run``: the run becomes ``completed``
with ``results = {"dry_run": true, "written": 0, ...}`` and nothing is written to the tenant.

Actions taken by the task worker (``claim``, ``finish``) are asked with ``user=None``: they re-check
everything about the run itself (dry-run, checks, preview, blockers, confirmation) but no role,
except that ``claim`` re-checks the source-tenant roles of the user who queued a cross-tenant run.

Cross-tenant runs (the backup set belongs to another tenant than the target): every step except
picking another source and cancelling needs Operator or Admin on the SOURCE tenant too, and
confirming, executing and resuming need Admin there when scoped items carry captured secret
values (``source_role_reasons``). The checks report the latter early as
``secret_values_need_source_admin``.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Final

from django.conf import settings
from django.utils import timezone

from tenantguard.accounts.models import Role
from tenantguard.accounts.permissions import Capability, has_capability, minimum_role, role_on
from tenantguard.backups.models import BackupItem, BackupStatus
from tenantguard.restores.models import RestoreRun, RestoreStatus, ScopeMode
from tenantguard.restores.services.fingerprint import (
    changed_parts,
    describe_changes,
    restore_run_fingerprint,
    restore_run_fingerprint_parts,
)
from tenantguard.tenants.models import Environment


class Action(enum.StrEnum):
    SELECT_SOURCE = "select_source"
    SET_SCOPE = "set_scope"
    EDIT_MAPPING = "edit_mapping"
    EDIT_OPTIONS = "edit_options"
    SET_DRY_RUN = "set_dry_run"
    RUN_CHECKS = "run_checks"
    RUN_PREVIEW = "run_preview"
    CONFIRM = "confirm"
    EXECUTE = "execute"  # queue for execution
    FINISH_DRY_RUN = "finish_dry_run"
    CANCEL = "cancel"
    RESUME = "resume"
    # Task worker only (user=None).
    CLAIM = "claim"
    FINISH = "finish"


EDITABLE_STATUSES: Final = frozenset(
    {RestoreStatus.DRAFT, RestoreStatus.SCOPED, RestoreStatus.CHECKED, RestoreStatus.PREVIEWED}
)
TERMINAL_STATUSES: Final = frozenset(
    {RestoreStatus.COMPLETED, RestoreStatus.PARTIAL, RestoreStatus.FAILED, RestoreStatus.CANCELLED}
)
#: Statuses a worker may end a running run with.
FINISH_STATUSES: Final = TERMINAL_STATUSES

#: Checks or a preview running in the background (``analysis.py``) whose worker has not
#: reported for this long are presumed abandoned; a queued one may wait longer, behind other
#: work of the task worker (a long restore, the night's scheduled backups).
ANALYSIS_ABANDONED_AFTER: Final = timedelta(minutes=10)
ANALYSIS_QUEUED_ABANDONED_AFTER: Final = timedelta(hours=2)
_ANALYSIS_LABELS: Final = {
    "checks": ("The checks", "are", "them"),
    "preview": ("The preview", "is", "it"),
}


def analysis_pending(run: RestoreRun, *, now: datetime | None = None) -> bool:
    """Whether checks or a preview are queued or running for ``run`` (and not abandoned)."""
    job = run.analysis or {}
    if job.get("state") not in ("queued", "running"):
        return False
    try:
        updated = datetime.fromisoformat(str(job.get("updated_at")))
    except ValueError:
        return False
    limit = (
        ANALYSIS_QUEUED_ABANDONED_AFTER
        if job.get("state") == "queued"
        else ANALYSIS_ABANDONED_AFTER
    )
    return (now or timezone.now()) - updated < limit


def analysis_pending_reason(run: RestoreRun) -> str | None:
    """In words, the checks or preview still reading the target; None when nothing is pending."""
    if not analysis_pending(run):
        return None
    job = run.analysis
    label, verb, pronoun = _ANALYSIS_LABELS.get(
        str(job.get("step")), ("A read of the target", "is", "it")
    )
    doing = "reading" if job.get("state") == "running" else "waiting for the task worker to read"
    return (
        f"{label} requested by {job.get('requested_by') or 'someone'} {verb} {doing} "
        f"{run.tenant_label}: wait for {pronoun} to finish."
    )


#: Why a run whose preview plans no create or update is not executed.
NOTHING_TO_RESTORE: Final = (
    "Nothing to restore: every item is unchanged or skipped in the preview. Finish it as a dry "
    "run, or change the scope or options and run the checks and the preview again."
)

#: The preview's skip code of an item a blocking check stops (``diff.SKIP_BLOCKED``; the diff
#: engine imports this module, so the code is repeated here).
SKIP_BLOCKED_BY_CHECK: Final = "blocked_by_check"

#: A running run whose worker has not sent a heartbeat for this long is presumed dead.
DEFAULT_HEARTBEAT_STALE_AFTER: Final = timedelta(minutes=5)


def heartbeat_stale_after() -> timedelta:
    seconds = getattr(settings, "TENANTGUARD_RESTORE_HEARTBEAT_STALE_SECONDS", None)
    return timedelta(seconds=seconds) if seconds else DEFAULT_HEARTBEAT_STALE_AFTER


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class ResultState:
    """Whether recorded checks or a recorded preview exist and are current."""

    present: bool
    current: bool
    #: ``PART_LABELS`` keys that changed, or ``["checks"]`` for a preview older than the checks.
    changes: list[str] = field(default_factory=list)

    @property
    def out_of_date_because(self) -> str:
        """Why a recorded result is out of date, in words: "the scope changed after it ran"."""
        if self.changes == ["checks"]:
            return "the checks ran again after it"
        return f"{describe_changes(self.changes)} after it ran"


def create_decision(user: Any, tenant: Any) -> Decision:
    """Whether ``user`` may start a restore run targeting ``tenant``."""
    if has_capability(user, tenant, Capability.PREPARE_RESTORE):
        return Decision(allowed=True)
    return Decision(
        allowed=False,
        reasons=[
            _missing_role_reason(user, tenant, Capability.PREPARE_RESTORE, "prepare restores")
        ],
    )


def source_reasons(user: Any, tenant: Any, backup_set: Any) -> list[str]:
    """Why ``backup_set`` cannot be the source of a restore into ``tenant`` (empty when it can).

    A backup set of the target tenant is always eligible; one of another tenant (a cross-tenant
    restore, e.g. TEST -> PROD) only when the user is Operator or Admin on that source tenant
    (viewing its backups is not enough to copy them elsewhere).
    """
    reasons = []
    if backup_set.tenant_id != tenant.pk:
        reasons += source_role_reasons(user, backup_set, target=tenant)
    if backup_set.status not in (BackupStatus.COMPLETED, BackupStatus.PARTIAL):
        status = BackupStatus(backup_set.status).label.lower()
        reasons.append(f"Backup set '{backup_set.name}' is {status}: pick a completed backup set.")
    return reasons


def source_role_reasons(
    user: Any, backup_set: Any, *, target: Any, secret_items: Sequence[str] = ()
) -> list[str]:
    """Why ``user`` may not restore ``backup_set`` (of another tenant) into ``target``: Operator
    on the source tenant is needed, and Admin there when ``secret_items`` (names of scoped items
    carrying the source's captured secret values) are restored. Empty when allowed."""
    source = backup_set.tenant
    role = role_on(user, source)
    if role is None:
        # Not even the source tenant's name: the user has no role there.
        return [
            f"You cannot view the backups of the tenant backup set '{backup_set.name}' comes "
            f"from: pick a backup set of '{target.display_name}' or ask that tenant's admin "
            "for access."
        ]
    if not has_capability(user, source, Capability.RESTORE_FROM):
        return [
            f"You are {role.label} on tenant '{source.display_name}', where backup set "
            f"'{backup_set.name}' comes from: restoring its backups into "
            f"'{target.display_name}' needs the Operator role or higher on "
            f"'{source.display_name}'. Pick a backup set of '{target.display_name}', or ask an "
            f"admin of '{source.display_name}' for the Operator role."
        ]
    if secret_items and not has_capability(user, source, Capability.RESTORE_SECRETS_FROM):
        shown = ", ".join(f"'{name}'" for name in secret_items[:5])
        more = f" and {len(secret_items) - 5} more" if len(secret_items) > 5 else ""
        noun = "item carries" if len(secret_items) == 1 else "items carry"
        return [
            f"{len(secret_items)} {noun} secret values captured in '{source.display_name}' "
            f"({shown}{more}): only an Admin of '{source.display_name}' may restore them into "
            f"'{target.display_name}' (you are {role.label} there). Leave them out of the scope in step 2, or ask an admin of "
            f"'{source.display_name}' to execute the run."
        ]
    return []


def _active_user(user_id: Any) -> Any:
    from django.contrib.auth import get_user_model

    if not isinstance(user_id, int):
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def _missing_role_reason(user: Any, tenant: Any, capability: Capability, what: str) -> str:
    role = role_on(user, tenant)
    if role is None:
        return f"You have no role on tenant '{tenant.display_name}': ask a tenant admin for access."
    needed = minimum_role(capability, tenant)
    return (
        f"You are {role.label} on tenant '{tenant.display_name}': "
        f"to {what} you need the {needed.label} role or higher."
    )


_EXECUTE_ACTIONS: Final = frozenset({Action.CONFIRM, Action.EXECUTE, Action.RESUME})
_WORKER_ACTIONS: Final = frozenset({Action.CLAIM, Action.FINISH})


def confirmation_record(
    *, user: Any, acknowledged: bool, typed_label: str, preview_token: Any, at: datetime
) -> dict[str, Any]:
    """The confirmation step 5 records on the run (``metadata["confirmation"]``): it counts only
    for this user and for the preview they saw."""
    return {
        "acknowledged": bool(acknowledged),
        "typed_label": str(typed_label or ""),
        "user_id": getattr(user, "pk", None),
        "username": user.get_username() if getattr(user, "is_authenticated", False) else "system",
        "preview_token": preview_token,
        "at": at.isoformat(),
    }


class RestoreRunPolicy:
    """What ``user`` may do next with ``run``. Build a new one after the run changes."""

    def __init__(self, run: RestoreRun, user: Any, *, now: datetime | None = None) -> None:
        self.run = run
        self.user = user
        self.now = now or timezone.now()

    # ---- public ------------------------------------------------------------------------------

    def execute_decision_if_confirmed(self, *, acknowledged: bool, typed_label: str) -> Decision:
        """What ``can(EXECUTE)`` would answer if this user confirmed now with these values.

        Nothing is saved: step 5 shows the unmet conditions live while the admin types and
        ticks; the Execute request itself confirms and queues through the services, which decide
        again.
        """
        run = copy.copy(self.run)
        run.metadata = {
            **(self.run.metadata or {}),
            "confirmation": confirmation_record(
                user=self.user,
                acknowledged=acknowledged,
                typed_label=typed_label,
                preview_token=(self.preview or {}).get("token"),
                at=self.now,
            ),
        }
        return RestoreRunPolicy(run, self.user, now=self.now).can(Action.EXECUTE)

    def can(self, action: Action | str) -> Decision:
        action = Action(action)
        reasons = self._permission_reasons(action) + self._status_reasons(action)
        if not reasons:
            reasons = self._gate_reasons(action)
        return Decision(allowed=not reasons, reasons=reasons)

    def decisions(self) -> dict[str, Decision]:
        """Every user action with its decision (for pages that grey out what is not possible)."""
        return {
            action.value: self.can(action) for action in Action if action not in _WORKER_ACTIONS
        }

    def source_reasons(self, backup_set: Any) -> list[str]:
        """Why ``backup_set`` cannot be this run's source (empty when it can)."""
        return source_reasons(self.user, self.run.tenant, backup_set)

    def execution_reasons(self) -> list[str]:
        """Everything about the run itself that keeps it from executing (no role check)."""
        return self._content_gate_reasons(confirmer_id=self._user_id())

    @cached_property
    def current_fingerprint(self) -> str:
        return restore_run_fingerprint(self.run)

    @cached_property
    def current_parts(self) -> dict[str, str]:
        return restore_run_fingerprint_parts(self.run)

    @property
    def checks(self) -> dict[str, Any] | None:
        return (self.run.metadata or {}).get("checks")

    @property
    def preview(self) -> dict[str, Any] | None:
        return (self.run.metadata or {}).get("preview")

    @property
    def confirmation(self) -> dict[str, Any] | None:
        return (self.run.metadata or {}).get("confirmation")

    def checks_state(self) -> ResultState:
        return self._result_state(self.checks)

    def preview_state(self) -> ResultState:
        state = self._result_state(self.preview)
        if (
            state.current
            and self.checks
            and self.preview
            and self.preview.get("checks_token") != self.checks.get("token")
        ):
            return ResultState(present=True, current=False, changes=["checks"])
        return state

    def preview_writes_nothing(self) -> bool:
        """Whether the recorded preview plans no create and no update (of policies or
        foundations): executing it would write nothing, so it is not offered (a dry run can
        still be finished)."""
        summary = (self.preview or {}).get("summary") or {}
        planned = [summary.get("policies"), summary.get("foundations")]
        counted = [counts for counts in planned if isinstance(counts, dict)]
        if len(counted) != len(planned):
            return False  # no summary to judge by: the other gates decide
        return not any(
            int(counts.get(action) or 0) for counts in counted for action in ("create", "update")
        )

    def blocking_count(self) -> int:
        return int(((self.checks or {}).get("counts") or {}).get("blocking", 0))

    def preview_held_back_count(self) -> int:
        """Items the recorded preview skips because a blocking check stops them (they would be
        written once the blockers are resolved)."""
        by_reason = ((self.preview or {}).get("summary") or {}).get("skipped_by_reason") or {}
        return int(by_reason.get(SKIP_BLOCKED_BY_CHECK) or 0)

    def nothing_to_restore(self) -> bool:
        """Whether the target already matches the backup for this scope: the preview is current
        and plans no create or update, no item is held back by a blocking check and the checks
        report no blocker. The one answer the pages (steps 4 and 5) and the execution gate use:
        a preview that writes nothing only because blockers hold items back is not "nothing to
        restore" (``held_back_reason`` says what it is)."""
        state = self.preview_state()
        return (
            state.present
            and state.current
            and self.preview_writes_nothing()
            and not self.preview_held_back_count()
            and not self.blocking_count()
        )

    def held_back_reason(self) -> str | None:
        """In words, the items a current preview holds back because of blocking checks (None
        when it holds back none)."""
        state = self.preview_state()
        count = self.preview_held_back_count()
        if not (state.present and state.current and count):
            return None
        items = "1 item is" if count == 1 else f"{count} items are"
        return f"{items} held back by blocking checks: resolve them in step 3."

    def heartbeat_is_stale(self) -> bool:
        last = self.run.heartbeat_at or self.run.started_at
        return last is None or self.now - last > heartbeat_stale_after()

    # ---- permission --------------------------------------------------------------------------

    def _user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    def _permission_reasons(self, action: Action) -> list[str]:
        tenant = self.run.tenant
        if action in _WORKER_ACTIONS:
            return []
        if action in _EXECUTE_ACTIONS:
            return self._execute_permission_reasons() + self._source_permission_reasons(action)
        # Everything else (including cancel, which is always safe) needs the prepare capability.
        if has_capability(self.user, tenant, Capability.PREPARE_RESTORE):
            return self._source_permission_reasons(action)
        return [self._missing_role_reason(Capability.PREPARE_RESTORE, "prepare restores")]

    def _source_permission_reasons(self, action: Action) -> list[str]:
        """A cross-tenant run also needs the user's role on the SOURCE tenant, asked at every
        step (a role removed later stops the run). Picking another source and cancelling stay
        open: both only take the source's data away."""
        if action in (Action.SELECT_SOURCE, Action.CANCEL):
            return []
        return self.source_role_reasons_for(self.user, executes=action in _EXECUTE_ACTIONS)

    def source_role_reasons_for(self, user: Any, *, executes: bool) -> list[str]:
        """Why ``user`` may not use this run's source (empty when the run restores its own
        tenant's backup); with ``executes``, also the source Admin role secret values need."""
        backup_set = self.run.backup_set
        if backup_set is None or backup_set.tenant_id == self.run.tenant_id:
            return []
        return source_role_reasons(
            user,
            backup_set,
            target=self.run.tenant,
            secret_items=self.secret_item_names if executes else (),
        )

    @cached_property
    def secret_item_names(self) -> list[str]:
        """Names of the scoped backup items that carry captured secret values (no decryption:
        an item without secrets stores an empty value)."""
        run = self.run
        if not run.backup_set_id:
            return []
        items = BackupItem.objects.filter(backup_set_id=run.backup_set_id).exclude(secrets="")
        if run.scope_mode == ScopeMode.SELECTED:
            items = items.filter(pk__in=list(run.requested_items or []))
        return list(items.order_by("display_name", "pk").values_list("display_name", flat=True))

    def _execute_permission_reasons(self, user: Any = None) -> list[str]:
        """Why ``user`` (default: the policy's user) may not execute this run on its target."""
        user = self.user if user is None else user
        tenant = self.run.tenant
        # The environment frozen on the run counts as much as the tenant's current one: a run
        # started against PROD stays PROD-protected even if the tenant is relabelled later.
        if self.run.environment == Environment.PROD or tenant.is_prod:
            if role_on(user, tenant) == Role.ADMIN:
                return []
            if role_on(user, tenant) is None:
                return [
                    _missing_role_reason(
                        user, tenant, Capability.EXECUTE_RESTORE, "execute restores"
                    )
                ]
            return ["Only tenant admins can execute restores on PROD tenants."]
        if has_capability(user, tenant, Capability.EXECUTE_RESTORE):
            return []
        return [_missing_role_reason(user, tenant, Capability.EXECUTE_RESTORE, "execute restores")]

    def _missing_role_reason(self, capability: Capability, what: str) -> str:
        return _missing_role_reason(self.user, self.run.tenant, capability, what)

    # ---- status ------------------------------------------------------------------------------

    def _status_reasons(self, action: Action) -> list[str]:
        status = RestoreStatus(self.run.status)
        label = status.label
        if status in TERMINAL_STATUSES:
            return [f"This run is {label.lower()}: start a new run to restore again."]
        if action is Action.CANCEL:
            if status == RestoreStatus.RUNNING and self.run.cancel_requested_at is not None:
                return ["Cancellation was already requested: the run stops after its current item."]
            return []
        if action is Action.CLAIM:
            return (
                []
                if status == RestoreStatus.QUEUED
                else [f"The run is {label.lower()}, not queued."]
            )
        if action in (Action.FINISH, Action.RESUME):
            return (
                []
                if status == RestoreStatus.RUNNING
                else [f"The run is {label.lower()}, not running."]
            )
        if status == RestoreStatus.QUEUED:
            return ["The run is queued for execution: cancel it to change anything."]
        if status == RestoreStatus.RUNNING:
            return ["The run is executing: wait for it to finish or cancel it."]
        return []

    # ---- gates -------------------------------------------------------------------------------

    def _gate_reasons(self, action: Action) -> list[str]:
        run = self.run
        if action is Action.SELECT_SOURCE or action is Action.SET_DRY_RUN:
            return []
        if action in (Action.SET_SCOPE, Action.EDIT_MAPPING, Action.EDIT_OPTIONS):
            return [] if run.backup_set_id else ["No backup set yet: pick one in step 1."]
        if action is Action.RUN_CHECKS:
            return self._source_and_scope_reasons()
        if action is Action.RUN_PREVIEW:
            return self._source_and_scope_reasons() or self._checks_reasons()
        if action is Action.CONFIRM:
            return self._source_and_scope_reasons() or self._preview_reasons()
        if action is Action.FINISH_DRY_RUN:
            if not run.dry_run:
                return [
                    "Dry-run is off: execute the run, or turn dry-run on to end it without writing."
                ]
            return self._source_and_scope_reasons() or (
                self._checks_reasons() + self._preview_reasons()
            )
        if action is Action.EXECUTE:
            reasons = self._content_gate_reasons(confirmer_id=self._user_id())
            if not reasons and run.status != RestoreStatus.PREVIEWED:
                status = RestoreStatus(run.status).label.lower()
                reasons.append(f"The run is {status}: it must be previewed to execute.")
            return reasons
        if action is Action.CLAIM:
            queued = (run.metadata or {}).get("queued") or {}
            reasons = self._content_gate_reasons(confirmer_id=queued.get("by_id"))
            if queued.get("fingerprint") != self.current_fingerprint:
                reasons.append("The run's inputs changed after it was queued: prepare it again.")
            # The roles of the person who queued it, as they are now: on the target (a PROD
            # admin demoted after queueing no longer executes) and on the source.
            queuer = _active_user(queued.get("by_id"))
            if queuer is None:
                reasons.append(
                    "The person who queued the run is no longer an active user: prepare it again."
                )
            else:
                reasons += self._execute_permission_reasons(queuer)
            reasons += self.source_role_reasons_for(queuer, executes=True)
            return reasons
        if action is Action.RESUME:
            if self.heartbeat_is_stale():
                return []
            return [
                "The run's worker is still alive (recent heartbeat): wait for it, or cancel the run."
            ]
        return []

    def _source_and_scope_reasons(self) -> list[str]:
        if not self.run.backup_set_id:
            return ["No backup set yet: pick one in step 1."]
        if self.run.status == RestoreStatus.DRAFT:
            return ["No scope yet: choose all items or a selection in step 2."]
        return []

    def _checks_reasons(self) -> list[str]:
        state = self.checks_state()
        if not state.present:
            return ["No checks yet: run the checks in step 3."]
        if not state.current:
            return [
                f"Checks are out of date: {describe_changes(state.changes)} after they ran. "
                "Run them again in step 3."
            ]
        return []

    def _preview_reasons(self) -> list[str]:
        state = self.preview_state()
        if not state.present:
            return ["No preview yet: run the preview in step 4."]
        if not state.current:
            reason = f"Preview is out of date: {state.out_of_date_because}."
            if state.changes == ["checks"]:
                reason += " Run the preview again in step 4."
            return [reason]
        return []

    def _content_gate_reasons(self, *, confirmer_id: int | None) -> list[str]:
        """The execution gates about the run itself, each with its own reason."""
        run = self.run
        reasons: list[str] = []
        if pending := analysis_pending_reason(run):
            reasons.append(pending)
        if run.dry_run:
            reasons.append("Dry-run is on: turn it off to write to the tenant.")
        reasons += self._source_and_scope_reasons()
        checks_reasons = self._checks_reasons()
        reasons += checks_reasons
        if not checks_reasons and self.blocking_count():
            count = self.blocking_count()
            noun = "problem" if count == 1 else "problems"
            reasons.append(f"Checks found {count} blocking {noun}: resolve them in step 3.")
        preview_reasons = self._preview_reasons()
        if not preview_reasons and self.nothing_to_restore():
            preview_reasons = [NOTHING_TO_RESTORE]
        elif (
            not preview_reasons
            and self.preview_writes_nothing()
            and (held_back := self.held_back_reason())
        ):
            # Nothing is planned only because blockers hold items back: say so, not "nothing
            # to restore" beside the blockers.
            preview_reasons = [held_back]
        reasons += preview_reasons
        if not preview_reasons:
            reasons += self._confirmation_reasons(confirmer_id=confirmer_id)
        elif not self.confirmation or not self.confirmation.get("acknowledged"):
            reasons.append("Tick 'I reviewed the impact'.")
        return reasons

    def _confirmation_reasons(self, *, confirmer_id: int | None) -> list[str]:
        label = self.run.tenant_label
        confirmation = self.confirmation
        if not confirmation:
            return ["Tick 'I reviewed the impact'.", f"Type the tenant name '{label}' to confirm."]
        if confirmation.get("preview_token") != (self.preview or {}).get("token"):
            return [
                "The confirmation was given for an earlier preview: review the preview and confirm again."
            ]
        if confirmer_id is None or confirmation.get("user_id") != confirmer_id:
            who = confirmation.get("username") or "another user"
            return [f"The confirmation was given by {who}: confirm it yourself before executing."]
        reasons = []
        if not confirmation.get("acknowledged"):
            reasons.append("Tick 'I reviewed the impact'.")
        typed = confirmation.get("typed_label") or ""
        if not typed:
            reasons.append(f"Type the tenant name '{label}' to confirm.")
        elif typed != label:
            reasons.append(
                f"The typed tenant name does not match '{label}' exactly (it is case-sensitive)."
            )
        return reasons

    # ---- helpers -----------------------------------------------------------------------------

    def _result_state(self, recorded: dict[str, Any] | None) -> ResultState:
        if not recorded:
            return ResultState(present=False, current=False)
        if recorded.get("fingerprint") == self.current_fingerprint:
            return ResultState(present=True, current=True)
        changes = changed_parts(recorded.get("parts"), self.current_parts)
        return ResultState(present=True, current=False, changes=changes)
