"""`tenantguard restore …`: the Restore Run Wizard on the command line, as `plan` and `apply`.

The same services and `RestoreRunPolicy` as the web wizard decide everything; a refusal prints
the policy's reasons, in the command line's words (flags, not buttons).

- ``plan`` runs steps 1-4 (source, scope, checks, preview) in this process and prints the checks
  and the per-item plan. Exit codes as ``terraform plan -detailed-exitcode``: 0 nothing to
  change, 2 changes planned and executable, 3 planned but blocked (blocking checks, missing
  decisions, or a gate such as a PROD tenant that needs an admin), 1 error.
- ``apply`` turns dry-run off, confirms (the tenant's name typed on a terminal, or
  ``--confirm-tenant NAME --reviewed``) and queues the run for the task worker like the web's
  Execute, then follows it with a progress bar (``--inline`` executes in this process). Exit 0
  only when the run completed and every written item was verified.
- ``targets``, ``show``, ``list``, ``undo`` (a run back to the pre-restore state, planned and
  ready for ``apply``), ``dry-run``, ``cancel``, ``resume``.
- ``prepare`` / ``execute`` are the earlier forms and keep their contract: ``prepare`` exits 0
  once the plan is recorded (3 when refused); ``execute`` queues and returns unless
  ``--inline``.

What a run shows (text and JSON) is ``cli_restore_output``; how any command writes (stdout only
for its output, colour only on a terminal, 80 columns when piped) is ``cli_output``.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final, NoReturn

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tenantguard.cli import (
    CommandError,
    _cli_user,
    _setup_django,
    _tenant_by_name,
)
from tenantguard.cli_output import (
    fitted_table,
    plural,
    stderr_console,
    stdin_is_terminal,
    stdout_console,
    write_json,
)
from tenantguard.cli_restore_output import (
    TERMINAL_STATUSES,
    Verdict,
    badge,
    check_groups,
    cli_words,
    outcome_rows,
    render_assignment_summary,
    render_outcomes,
    render_removals,
    render_run,
    render_warnings,
    run_document,
    say,
)
from tenantguard.intune import reference_kinds

#: ``plan`` exit codes (``terraform plan -detailed-exitcode``).
EXIT_NO_CHANGES: Final = 0
EXIT_ERROR: Final = 1
EXIT_CHANGES: Final = 2
EXIT_BLOCKED: Final = 3
#: ``apply`` exit codes besides 0 (completed, every written item verified) and 1 (error, not
#: confirmed, failed or cancelled): partial run, and a refusal of the policy.
EXIT_PARTIAL: Final = 2
EXIT_REFUSED: Final = 3

#: How often ``apply`` looks at the run while the worker executes it, and after how long a run
#: still queued gets the hint that no task worker may be running.
POLL_SECONDS: Final = 0.5
QUEUED_HINT_AFTER_SECONDS: Final = 20.0
#: How long ``undo`` waits for checks or a preview that the task worker was asked to run.
ANALYSIS_WAIT_SECONDS: Final = 600.0

#: How waiting sleeps (tests bound it).
_sleep = time.sleep

#: The policy's refusal of an Operator executing on a PROD tenant (``RestoreRunPolicy``).
_PROD_NEEDS_ADMIN: Final = "Only tenant admins can execute restores on PROD tenants."

#: Short names accepted for the reference kinds on the command line.
KIND_ALIASES: Final = {"filter": "assignment_filter", "template": "notification_template"}


class _RestoreParser(argparse.ArgumentParser):
    """Usage errors exit with ``usage_exit_code`` (``plan``: 1, so a script reading its
    detailed exit codes never takes a typo for "changes planned")."""

    usage_exit_code = 2

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(self.usage_exit_code, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self.usage_exit_code != 2:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


# ---- inputs ------------------------------------------------------------------------------------


def _run_for(args: argparse.Namespace) -> Any:
    from tenantguard.restores.selectors import restore_run_visible_to

    run = restore_run_visible_to(_cli_user(args), run_id=args.run)
    if run is None:
        raise CommandError(
            f"No restore run #{args.run} that you can see. `tenantguard restore list` shows them."
        )
    return run


def _errors_exit_1(handler: Any) -> Any:
    """A `restore` command whose errors (no such run, a wrong --kind, a service's error) print
    one line and exit 1, as `plan`'s do: 2 means "changes planned" (plan) or "partial" (apply)
    to a script, never "error"."""
    from functools import wraps

    @wraps(handler)
    def run(args: argparse.Namespace) -> int:
        _setup_django()
        from tenantguard.accounts.permissions import AccessDenied
        from tenantguard.restores.services.errors import RestoreRunError

        try:
            return int(handler(args))
        except (CommandError, RestoreRunError) as exc:
            return _error(str(exc))
        except AccessDenied as exc:
            _refusal_lines([str(exc)])
            return EXIT_REFUSED

    return run


def _kind(value: str) -> str:
    kind = KIND_ALIASES.get(value, value)
    if not reference_kinds.is_kind(kind):
        known = ", ".join([*KIND_ALIASES, *reference_kinds.keys()])
        raise CommandError(f"Unknown kind '{value}': use one of {known}.")
    return kind


def _parse_mapping(entries: list[str]) -> dict[str, dict[str, str | None]]:
    """``group:SOURCE=TARGET`` or ``group:SOURCE=skip`` -> the run's mapping shape."""
    mapping: dict[str, dict[str, str | None]] = {}
    for entry in entries:
        kind, _, rest = entry.partition(":")
        source, _, target = rest.partition("=")
        if not kind or not source or not target:
            raise CommandError(
                f"--map {entry!r}: write KIND:SOURCE_ID=TARGET_ID or KIND:SOURCE_ID=skip."
            )
        mapping.setdefault(_kind(kind), {})[source] = None if target == "skip" else target
    return mapping


def _scoped_item_ids(backup_set: Any, args: argparse.Namespace) -> list[int]:
    """``--item`` ids plus every item of each ``--type``; empty means all items."""
    ids = list(args.item or [])
    for type_key in args.type or []:
        found = list(backup_set.items.filter(policy_type=type_key).values_list("pk", flat=True))
        if not found:
            present = sorted(set(backup_set.items.values_list("policy_type", flat=True)))
            raise CommandError(
                f"Backup set #{backup_set.pk} has no item of type '{type_key}'. Its types: "
                f"{', '.join(present) or 'none'}."
            )
        ids += found
    return ids


def execution_reasons(run: Any, user: Any) -> list[str]:
    """Why ``user`` could not execute ``run`` once dry-run is off and the confirmation given
    (what ``apply`` does); empty when nothing else stands in the way."""
    from tenantguard.restores.services.policy import RestoreRunPolicy

    candidate = copy.copy(run)
    candidate.dry_run = False
    decision = RestoreRunPolicy(candidate, user).execute_decision_if_confirmed(
        acknowledged=True, typed_label=run.tenant_label
    )
    return [
        _with_admins(cli_words(reason, run_id=run.pk), run, user) for reason in decision.reasons
    ]


def _with_admins(reason: str, run: Any, user: Any) -> str:
    """The PROD refusal of an Operator, with the tenant's admins named (as the wizard's steps 1
    and 2 name them) and the command one of them runs."""
    from tenantguard.restores.selectors import execute_needs_admin

    if reason != _PROD_NEEDS_ADMIN:
        return reason
    admins = execute_needs_admin(user, run)
    if admins is None:
        return reason
    if not admins:
        return (
            f"{reason} {run.tenant_label} has no admin yet: ask whoever manages TenantGuard to "
            f"make someone Admin of {run.tenant_label}, then have them run "
            f"`tenantguard restore apply {run.pk}`."
        )
    who = "Its admin is" if len(admins) == 1 else "Its admins are"
    return (
        f"{reason} {who} {', '.join(admins)}: ask one of them to run "
        f"`tenantguard restore apply {run.pk}`."
    )


def blocking_reasons(run: Any) -> list[str]:
    """One reason per blocking check code, in the order found: how many, its sentence and code,
    and that code's own remedy in this command line's flags (``check_hint``), then "plan
    again"."""
    reasons = []
    for group in check_groups(run):
        if group["severity"] != "blocking":
            continue
        advice = group["hint"] or group["resolution"] or "See the check results above."
        title = group["title"]
        code = "" if title == group["code"] else f" [{group['code']}]"
        reasons.append(
            f"{plural(group['count'], 'blocking result')} of {title}{code}: {advice} "
            "Then plan again."
        )
    return reasons


def plan_verdict(run: Any, user: Any) -> Verdict:
    from tenantguard.restores.services.policy import RestoreRunPolicy

    policy = RestoreRunPolicy(run, user)
    actions = (policy.preview or {}).get("actions") or {}
    changes = int(actions.get("create", 0)) + int(actions.get("update", 0))
    if policy.blocking_count():
        return Verdict("blocked", EXIT_BLOCKED, blocking_reasons(run))
    if not changes:
        return Verdict("no_changes", EXIT_NO_CHANGES)
    reasons = execution_reasons(run, user)
    if reasons:
        return Verdict("blocked", EXIT_BLOCKED, reasons)
    return Verdict("changes", EXIT_CHANGES, next_command=f"tenantguard restore apply {run.pk}")


# ---- plan --------------------------------------------------------------------------------------


def _accept_suggestions(
    user: Any, run: Any, *, explicit: Mapping[str, Mapping[str, Any]]
) -> tuple[Any, list[dict[str, Any]]]:
    """Map every missing reference the checks found a same-name target object for, except the
    ones ``--map`` decided (``explicit``: the command's own decision wins)."""
    from tenantguard.restores.services.checks import restore_run_mapping_needs
    from tenantguard.restores.services.runs import (
        restore_run_update_mapping,
        restore_run_update_mapping_entries,
    )

    suggested = [
        {
            "kind": entry["kind"],
            "source_id": entry["source_id"],
            "name": entry["name"],
            "target_id": entry["suggestion"]["id"],
            "target_name": entry["suggestion"]["name"],
        }
        for entries in restore_run_mapping_needs(run).values()
        for entry in entries
        if entry["status"] == "missing" and entry["suggestion"]
    ]
    accepted = [e for e in suggested if e["source_id"] not in explicit.get(e["kind"], {})]
    if not accepted:
        return run, []
    if len(accepted) == len(suggested):
        # The wizard's "Accept all same-name suggestions": one change, one audit event.
        run = restore_run_update_mapping_entries(actor=user, run=run, decision="accept_suggestions")
        return run, accepted
    mapping: dict[str, dict[str, str | None]] = {
        kind: dict(entries) for kind, entries in (run.group_mapping or {}).items()
    }
    for entry in accepted:
        mapping.setdefault(entry["kind"], {})[entry["source_id"]] = entry["target_id"]
    return restore_run_update_mapping(actor=user, run=run, mapping=mapping), accepted


def _prepare(args: argparse.Namespace, user: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Steps 1-4 through the wizard's services, checks and preview run in this process."""
    from tenantguard.backups.selectors import backup_sets_visible_to
    from tenantguard.restores.services.checks import restore_run_run_checks
    from tenantguard.restores.services.diff import restore_run_run_preview
    from tenantguard.restores.services.runs import (
        restore_run_create,
        restore_run_set_scope,
        restore_run_update_mapping,
        restore_run_update_options,
    )

    tenant = _tenant_by_name(args.tenant, user=user)
    backup_set = backup_sets_visible_to(user).filter(pk=args.backup_set).first()
    if backup_set is None:
        raise CommandError(
            f"No backup set #{args.backup_set} that you can see. `tenantguard backup list` shows them."
        )
    mapping = _parse_mapping(args.map or [])
    item_ids = _scoped_item_ids(backup_set, args)
    run = restore_run_create(actor=user, tenant=tenant, backup_set=backup_set)
    run = restore_run_set_scope(
        actor=user, run=run, mode="selected" if item_ids else "all", item_ids=item_ids
    )
    if mapping:
        run = restore_run_update_mapping(actor=user, run=run, mapping=mapping)
    options: dict[str, Any] = {
        "create_missing": not args.no_create_missing,
        "include_assignments": not args.no_assignments,
    }
    if args.assignment_mode:
        options["assignment_mode"] = args.assignment_mode
    if args.source_identifiers:
        options["source_identifiers"] = args.source_identifiers
    run = restore_run_update_options(actor=user, run=run, options=options)
    run = restore_run_run_checks(actor=user, run=run)
    accepted: list[dict[str, Any]] = []
    if getattr(args, "accept_suggestions", False):
        run, accepted = _accept_suggestions(user, run, explicit=mapping)
        if accepted:
            run = restore_run_run_checks(actor=user, run=run)
    run = restore_run_run_preview(actor=user, run=run)
    return run, accepted


def _error(message: str, *, label: str = "error") -> int:
    err = stderr_console()
    err.print(f"[red]{label}:[/red] {escape(' '.join(message.split()))}", soft_wrap=True)
    return EXIT_ERROR


def _refusal_lines(reasons: Iterable[str]) -> None:
    err = stderr_console()
    err.print("[red]refused:[/red]")
    for reason in reasons:
        err.print("  - " + escape(cli_words(reason)), soft_wrap=True)


def cmd_restore_plan(args: argparse.Namespace) -> int:
    """Steps 1-4, then the checks and the plan; exit 0 / 2 / 3 / 1 (see the module)."""
    _setup_django()
    from tenantguard.accounts.permissions import AccessDenied
    from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
    from tenantguard.tenants.graph_access import TenantConfigurationError

    legacy = getattr(args, "legacy", False)
    try:
        user = _cli_user(args)
        run, accepted = _prepare(args, user)
    except RestoreRunRefused as exc:
        _refusal_lines(exc.reasons)
        return EXIT_REFUSED if legacy else EXIT_ERROR
    except TenantConfigurationError as exc:
        return _error(f"{exc} Fix the tenant's connection, then plan again.")
    except (CommandError, RestoreRunError, AccessDenied) as exc:
        if legacy:
            raise  # `prepare`: the command line's usual exit codes (2: correct the command)
        return _error(str(exc))
    verdict = plan_verdict(run, user)
    if legacy:
        # `prepare`: its earlier contract (exit 0 once prepared) and its Next command.
        if verdict.next_command:
            verdict.next_command = (
                f'tenantguard restore execute {run.pk} --confirm "{run.tenant_label}" --reviewed'
            )
    document = run_document(run)
    if args.json:
        write_json(
            {
                **document,
                "plan": {
                    "result": verdict.result,
                    "exit_code": verdict.exit_code,
                    "executable": verdict.result == "changes",
                    "reasons": verdict.reasons,
                    "next": verdict.next_command,
                    "accepted_suggestions": accepted,
                },
            }
        )
    else:
        console = stdout_console()
        if accepted:
            say(console, f"--accept-suggestions mapped {len(accepted)} to the same name:")
        for entry in accepted:
            say(
                console,
                f"{reference_kinds.label(entry['kind'])} {entry['name'] or entry['source_id']} "
                f"→ {entry['target_name']} (id {entry['target_id']})",
                indent=2,
                bullet="- ",
            )
        render_run(console, run, document, all_checks=args.all_checks, verdict=verdict)
    return 0 if legacy else verdict.exit_code


def cmd_restore_prepare(args: argparse.Namespace) -> int:
    args.legacy = True
    return cmd_restore_plan(args)


# ---- apply -------------------------------------------------------------------------------------


def _impact(console: Console, run: Any) -> None:
    """What applying ``run`` writes, as the wizard's step 5 shows it before the confirmation:
    counts, every warning of the checks and every assignment it removes."""
    from tenantguard.restores.selectors import preview_removals

    preview = (run.metadata or {}).get("preview") or {}
    actions = preview.get("actions") or {}
    console.print(
        f"{badge(run)} Apply restore #{run.pk} to [bold]{escape(run.tenant_label)}[/bold]: "
        f"{actions.get('create', 0)} to create, {actions.get('update', 0)} to update "
        f"({actions.get('no_change', 0)} unchanged, {actions.get('skip', 0)} skipped)",
        overflow="fold",
    )
    summary = preview.get("summary") or {}
    render_assignment_summary(console, summary)
    render_warnings(console, check_groups(run))
    render_removals(console, preview_removals(run))


def _typed_confirmation(run: Any) -> str | None:
    """Ask on the terminal for the tenant's name; None when the person gives nothing."""
    err = stderr_console()
    err.print(
        f"Type the tenant's name [bold]{escape(run.tenant_label)}[/bold] to write to it "
        "(anything else cancels): ",
        end="",
    )
    line = sys.stdin.readline()
    typed = line.rstrip("\r\n")
    return typed if typed.strip() else None


def _progress(run: Any) -> Progress:
    err = stderr_console()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("items"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _follow(run: Any, *, inline: bool) -> Any:
    """Until ``run`` ends: a progress bar (items done / total) on standard error while the
    task worker executes it, or while this process does (``inline``)."""
    import threading

    from django.db import connections

    from tenantguard.restores.models import RestoreRun
    from tenantguard.restores.selectors import restore_run_progress
    from tenantguard.restores.services.execute import restore_run_execute

    err = stderr_console()
    with _progress(run) as progress:
        bar = progress.add_task(f"Restoring to {run.tenant_label}", total=None)

        def show(current: Any) -> None:
            state = restore_run_progress(current)
            progress.update(bar, total=state["total"] or None, completed=state["done"])

        if inline:
            # This process executes; a thread shows the checkpoints it saves (its own database
            # connection, closed when done).
            done = threading.Event()

            def watch() -> None:
                try:
                    while not done.wait(POLL_SECONDS):
                        try:
                            show(RestoreRun.objects.get(pk=run.pk))
                        except Exception:  # noqa: S112 - the bar only; the run is unaffected
                            continue
                finally:
                    connections.close_all()

            watcher = threading.Thread(target=watch, daemon=True, name="apply-progress")
            watcher.start()
            try:
                run = restore_run_execute(run_id=run.pk)
            finally:
                done.set()
                watcher.join(timeout=5)
            show(run)
            if run.status in TERMINAL_STATUSES:
                return run
            # A task worker claimed it first (the run was queued for it too): follow that one.
        waited = 0.0
        hinted = False
        while True:
            run = RestoreRun.objects.select_related("tenant", "backup_set").get(pk=run.pk)
            show(run)
            if run.status in TERMINAL_STATUSES:
                return run
            if run.status == "queued" and waited >= QUEUED_HINT_AFTER_SECONDS and not hinted:
                hinted = True
                err.print(
                    f"Restore #{run.pk} is still queued after {waited:.0f} s: is a task worker "
                    "running on this data directory (`tenantguard run`, or `python -m django "
                    "db_worker`)? Waiting; Ctrl+C stops waiting, the run stays queued.",
                    soft_wrap=True,
                )
            _sleep(POLL_SECONDS)
            waited += POLL_SECONDS


def _apply_exit(run: Any) -> tuple[int, str]:
    results = run.results or {}
    if run.status == "completed":
        return 0, f"Restore #{run.pk} completed: every written item was verified."
    if run.status == "partial":
        parts = []
        for key, words in (
            ("failed", "failed"),
            ("unverified", "written but not verified"),
            ("changed_since_preview", "changed in the target after the plan (not written)"),
        ):
            if results.get(key):
                parts.append(f"{results[key]} {words}")
        detail = "; ".join(parts) or "see the items above"
        return (
            EXIT_PARTIAL,
            f"Restore #{run.pk} is partial: {detail}. `tenantguard restore undo {run.pk}` "
            "prepares the way back.",
        )
    if run.status == "failed":
        return (
            EXIT_ERROR,
            f"Restore #{run.pk} failed: {results.get('error') or 'see the items above'}",
        )
    return EXIT_ERROR, f"Restore #{run.pk} ended {run.status}."


def cmd_restore_apply(args: argparse.Namespace) -> int:
    """Dry-run off, confirmation, queue (as the web's Execute), then follow it to the end."""
    _setup_django()
    from tenantguard.accounts.permissions import AccessDenied
    from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
    from tenantguard.restores.services.runs import restore_run_request_execution

    try:
        user = _cli_user(args)
        run = _run_for(args)
    except (CommandError, AccessDenied) as exc:
        return _error(str(exc))
    blockers = execution_reasons(run, user)
    if blockers:
        _refusal_lines(blockers)
        return EXIT_REFUSED
    console = stdout_console()
    given = args.confirm_tenant is not None and args.reviewed
    if given:
        typed, acknowledged = args.confirm_tenant, True
    elif stdin_is_terminal():
        _impact(console, run)
        answer = _typed_confirmation(run)
        if answer is None:
            return _error("Not confirmed: nothing was written.", label="cancelled")
        typed, acknowledged = answer, True
    else:
        missing = " and ".join(
            flag
            for flag, present in (
                (f'--confirm-tenant "{run.tenant_label}"', args.confirm_tenant is not None),
                ("--reviewed", args.reviewed),
            )
            if not present
        )
        return _error(
            f"Restore #{run.pk} writes to {run.tenant_label} ({run.environment.upper()}) and "
            f"standard input is not a terminal, so nobody can type its name: pass {missing} "
            "to apply it without a prompt (`tenantguard restore show "
            f"{run.pk}` shows what it writes). Nothing was written.",
            label="not confirmed",
        )
    try:
        run = restore_run_request_execution(
            actor=user, run=run, acknowledged=acknowledged, typed_label=typed, dry_run=False
        )
    except RestoreRunRefused as exc:
        _refusal_lines(exc.reasons)
        return EXIT_REFUSED
    except RestoreRunError as exc:
        return _error(str(exc))
    if given:
        _impact(console, run)
    try:
        run = _follow(run, inline=args.inline)
    except KeyboardInterrupt:
        _error(
            f"Stopped following restore #{run.pk}; it goes on in the task worker. "
            f"`tenantguard restore show {run.pk}` shows where it is.",
            label="interrupted",
        )
        return 130
    render_outcomes(console, outcome_rows(run))
    code, message = _apply_exit(run)
    if code == 0:
        console.print(f"[green]{escape(message)}[/green]", overflow="fold")
    else:
        stderr_console().print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    return code


def cmd_restore_execute(args: argparse.Namespace) -> int:
    """The earlier form of ``apply``: queue and return, or ``--inline`` execute here."""
    _setup_django()
    from tenantguard.restores.services.errors import RestoreRunRefused
    from tenantguard.restores.services.execute import restore_run_execute
    from tenantguard.restores.services.runs import restore_run_request_execution

    user = _cli_user(args)
    run = _run_for(args)
    try:
        # Dry-run off, the confirmation and the queueing are decided together: a refusal
        # leaves the run exactly as it was.
        run = restore_run_request_execution(
            actor=user,
            run=run,
            acknowledged=args.reviewed,
            typed_label=args.confirm or "",
            dry_run=False,
        )
    except RestoreRunRefused as exc:
        _refusal_lines(exc.reasons)
        return EXIT_REFUSED
    console = stdout_console()
    if not args.inline:
        console.print(
            f"Restore #{run.pk} queued: the task worker executes it. "
            f"`tenantguard restore show {run.pk}` follows it."
        )
        return 0
    with stderr_console().status(f"Executing restore #{run.pk} on {run.tenant_label}…"):
        run = restore_run_execute(run_id=run.pk)
    render_run(console, run, run_document(run), all_checks=False)
    return {"completed": 0, "partial": 1}.get(run.status, 2)


# ---- show, list, targets, undo ------------------------------------------------------------------


def cmd_restore_show(args: argparse.Namespace) -> int:
    _setup_django()
    run = _run_for(args)
    document = run_document(run)
    if args.json:
        write_json(document)
        return 0
    render_run(stdout_console(), run, document, all_checks=args.all_checks)
    return 0


def cmd_restore_list(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.restores.selectors import restore_runs_visible_to

    runs = restore_runs_visible_to(_cli_user(args))
    console = stdout_console()
    rows = [
        [
            str(run.pk),
            run.tenant_label,
            run.environment.upper(),
            run.status,
            "on" if run.dry_run else "off",
            run.requested_by.get_username() if run.requested_by else "—",
            f"{run.created_at:%y-%m-%d %H:%M}",
        ]
        for run in runs[: args.limit]
    ]
    console.print(
        fitted_table(
            console,
            [
                ("ID", 4),
                ("Target", 0),
                ("Env", 4),
                ("Status", 9),
                ("Dry-run", 7),
                ("By", 8),
                ("Created", 14),
            ],
            rows,
            flexible=1,
        )
    )
    return 0


def cmd_restore_targets(args: argparse.Namespace) -> int:
    """The target's objects a missing reference of ``--kind`` can be mapped to: searching the
    target's directory through TenantGuard needs the prepare capability, as the wizard's
    mapping step does (a Viewer may see the run, not search the tenant)."""
    _setup_django()
    from tenantguard.restores.selectors import can_prepare, mapping_target_options
    from tenantguard.restores.services.errors import RestoreRunError

    run = _run_for(args)
    decision = can_prepare(_cli_user(args), run)
    if not decision.allowed:
        _refusal_lines(decision.reasons)
        return EXIT_REFUSED
    kind = _kind(args.kind)
    try:
        options = mapping_target_options(run, kind=kind, text=args.search or "")
    except RestoreRunError as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        write_json({"run": run.pk, "kind": kind, "search": args.search or "", "targets": options})
        return 0
    console = stdout_console()
    if not options:
        what = f" matching '{args.search}'" if args.search else ""
        console.print(
            f"No {reference_kinds.label(kind)} in {escape(run.tenant_label)}{escape(what)}.",
            overflow="fold",
        )
        return 0
    console.print(
        fitted_table(
            console, [("ID", 36), ("Name", 0)], ([o["id"], o["name"]] for o in options), flexible=1
        )
    )
    note = " (the first 20 whose name starts with it; --search narrows)" if kind == "group" else ""
    console.print(
        escape(f"Use one with: --map {kind}:SOURCE_ID=ID{note}"),
        overflow="fold",
    )
    return 0


def _wait_for_analysis(run: Any) -> Any:
    """Checks (and the preview that follows them) the task worker was asked to run for ``run``
    (an undo run opens that way): wait for them, so this process does not read the target a
    second time, nor record a preview the worker's would replace."""
    from tenantguard.restores.models import RestoreRun
    from tenantguard.restores.services.policy import (
        RestoreRunPolicy,
        analysis_pending,
        analysis_pending_reason,
    )

    if not analysis_pending(run):
        return run
    err = stderr_console()
    err.print(escape(analysis_pending_reason(run) or "") + " Waiting…", soft_wrap=True)
    waited, hinted, idle = 0.0, False, 0.0
    expects_preview = (run.analysis or {}).get("then") == "preview"
    while waited < ANALYSIS_WAIT_SECONDS:
        pending = analysis_pending(run)
        if pending:
            idle = 0.0
            if run.analysis.get("then") == "preview":
                expects_preview = True
            queued = run.analysis.get("state") == "queued"
            if queued and waited >= QUEUED_HINT_AFTER_SECONDS and not hinted:
                hinted = True
                err.print(
                    f"No task worker has started it after {waited:.0f} s: is one running on "
                    "this data directory (`tenantguard run`)? Waiting.",
                    soft_wrap=True,
                )
        elif not expects_preview or RestoreRunPolicy(run, None).preview_state().current:
            return run
        elif idle >= 5.0:  # the preview the checks were to be followed by never came
            return run
        else:
            idle += POLL_SECONDS
        _sleep(POLL_SECONDS)
        waited += POLL_SECONDS
        run = RestoreRun.objects.select_related("tenant", "backup_set").get(pk=run.pk)
    raise CommandError(
        f"Restore #{run.pk}: {analysis_pending_reason(run) or 'its checks are still pending.'} "
        f"Start the task worker (`tenantguard run`), then `tenantguard restore show {run.pk}`."
    )


def _ready_for_apply(user: Any, run: Any) -> Any:
    """Scope (all of the snapshot when none is set), then checks and preview when they are
    missing or out of date, in this process."""
    from tenantguard.restores.services.checks import restore_run_run_checks
    from tenantguard.restores.services.diff import restore_run_run_preview
    from tenantguard.restores.services.policy import RestoreRunPolicy
    from tenantguard.restores.services.runs import restore_run_set_scope

    run = _wait_for_analysis(run)
    if run.status == "draft":
        run = restore_run_set_scope(actor=user, run=run, mode="all")
    policy = RestoreRunPolicy(run, user)
    if not policy.checks_state().current:
        run = restore_run_run_checks(actor=user, run=run)
        policy = RestoreRunPolicy(run, user)
    if not policy.preview_state().current:
        run = restore_run_run_preview(actor=user, run=run)
    return run


def cmd_restore_undo(args: argparse.Namespace) -> int:
    """A new run restoring ``RUN``'s pre-restore snapshot, planned and ready for ``apply``."""
    _setup_django()
    from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
    from tenantguard.restores.services.undo import restore_run_undo

    user = _cli_user(args)
    original = _run_for(args)
    try:
        run = restore_run_undo(actor=user, run=original)
        run = _ready_for_apply(user, run)
    except RestoreRunRefused as exc:
        _refusal_lines(exc.reasons)
        return EXIT_REFUSED
    except RestoreRunError as exc:
        raise CommandError(str(exc)) from exc
    from tenantguard.restores.services.undo import undo_carried_summary

    verdict = plan_verdict(run, user)
    document = run_document(run)
    carried = undo_carried_summary(run)
    if args.json:
        write_json(
            {
                **document,
                "undo": {"of": original.pk, "carried": carried},
                "plan": {"result": verdict.result, "next": verdict.next_command},
            }
        )
        return 0
    console = stdout_console()
    console.print(
        f"Undo of restore #{original.pk}: run #{run.pk} restores the pre-restore snapshot "
        f"of {escape(run.tenant_label)}, {escape(carried)}.",
        overflow="fold",
    )
    render_run(console, run, document, all_checks=False, verdict=verdict)
    return 0


def _simple(service_name: str, done: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        _setup_django()
        from tenantguard.restores.services import runs
        from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused

        service = getattr(runs, service_name)
        try:
            run = service(actor=_cli_user(args), run=_run_for(args))
        except RestoreRunRefused as exc:
            _refusal_lines(exc.reasons)
            return EXIT_REFUSED
        except RestoreRunError as exc:
            raise CommandError(str(exc)) from exc
        stdout_console().print(done.format(run=run))
        return 0

    return handler


# ---- parser ------------------------------------------------------------------------------------


def _quiet_logs(handler: Any) -> Any:
    """Run ``handler`` with the log at WARNING unless ``TENANTGUARD_LOG_LEVEL`` says otherwise:
    log lines go to standard error (``settings.LOGGING``), and a person at a terminal sees the
    command's own output and progress, not every Graph request (INFO shows them)."""

    def run(args: argparse.Namespace) -> int:
        if "TENANTGUARD_LOG_LEVEL" in os.environ:
            return int(handler(args))
        os.environ["TENANTGUARD_LOG_LEVEL"] = "WARNING"
        try:
            return int(handler(args))
        finally:
            os.environ.pop("TENANTGUARD_LOG_LEVEL", None)

    return run


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = " / ".join(reference_kinds.keys())
    parser.add_argument("--tenant", required=True, help="target tenant (its display name)")
    parser.add_argument(
        "--backup-set", type=int, required=True, help="the backup set to restore from (its id)"
    )
    parser.add_argument(
        "--item",
        type=int,
        action="append",
        metavar="ID",
        help="a backup item to restore (repeat); with --type, both; default: every item",
    )
    parser.add_argument(
        "--type",
        action="append",
        metavar="KEY",
        help="every item of this type (repeat), e.g. settings_catalog",
    )
    parser.add_argument(
        "--map",
        action="append",
        metavar="KIND:SRC=DST",
        help=f"map a missing {kinds} (also filter, template) to a target object, or "
        "KIND:SRC=skip to leave it out explicitly",
    )
    parser.add_argument(
        "--accept-suggestions",
        action="store_true",
        help="map every missing reference to the target object of the same name the checks found",
    )
    parser.add_argument(
        "--no-create-missing",
        action="store_true",
        help="never create objects missing in the target (their items are blocked)",
    )
    parser.add_argument(
        "--no-assignments", action="store_true", help="leave the target's assignments as they are"
    )
    parser.add_argument(
        "--assignment-mode",
        choices=("merge", "replace"),
        help="merge: keep the target's other assignments and add the backup's; replace: the "
        "backup's state, the target's others are removed (listed in the plan). Default: "
        "replace into the backup's own tenant, merge into another",
    )
    parser.add_argument(
        "--source-identifiers",
        choices=("replace", "keep"),
        help="into another tenant: replace the source tenant's own tenant ID and domains found "
        "in payloads with the target's, or keep them (undecided: a blocking check)",
    )
    parser.add_argument(
        "--all-checks", action="store_true", help="list every check result, not the first ten"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the whole run as one JSON document"
    )


def add_restore_commands(commands: Any) -> None:
    restore = commands.add_parser(
        "restore",
        help="the Restore Run Wizard: plan, then apply",
        description="Restore from a backup like `terraform plan` / `apply`: `plan` shows what "
        "would change and writes nothing; `apply RUN` writes it after you type the tenant's name. "
        "An error (no such run, a wrong argument) exits 1 in every restore command but the "
        "earlier forms `prepare` and `execute`; 3 is a refusal of the policy.",
    ).add_subparsers(dest="restore_command", required=True, parser_class=_RestoreParser)

    plan = restore.add_parser(
        "plan",
        help="steps 1-4: scope, checks and the per-item plan (writes nothing to the tenant)",
        description="Create a restore run and plan it: the checks, grouped, and what each item "
        "would change. Exit codes: 0 nothing to change, 2 changes planned and ready to apply, "
        "3 planned but blocked, 1 error.",
    )
    plan.usage_exit_code = EXIT_ERROR  # type: ignore[attr-defined]
    _plan_arguments(plan)
    plan.set_defaults(handler=_quiet_logs(cmd_restore_plan))

    prepare = restore.add_parser(
        "prepare", help="the earlier form of `plan` (exits 0 once planned, 3 when refused)"
    )
    _plan_arguments(prepare)
    prepare.set_defaults(handler=_quiet_logs(cmd_restore_prepare))

    apply = restore.add_parser(
        "apply",
        help="step 5: turn dry-run off, confirm and execute a planned run, following it to the end",
        description="Execute a planned run: on a terminal you type the tenant's name; "
        "otherwise pass --confirm-tenant NAME --reviewed. Exit 0 only when the run completed "
        "and every written item was verified; 2 partial; 3 refused by the policy (your role, "
        "blocking checks, a wrong tenant name); 1 otherwise (an error, not confirmed, failed "
        "or cancelled).",
    )
    apply.add_argument("run", type=int, help="the run's id (`plan` printed it)")
    apply.add_argument(
        "--confirm-tenant",
        metavar="NAME",
        help="the target tenant's name, typed exactly (no prompt; needs --reviewed)",
    )
    apply.add_argument(
        "--reviewed",
        action="store_true",
        help="I reviewed the plan (no prompt; with --confirm-tenant)",
    )
    apply.add_argument(
        "--inline",
        action="store_true",
        help="execute in this process instead of waiting for the task worker",
    )
    apply.set_defaults(handler=_quiet_logs(cmd_restore_apply))

    execute = restore.add_parser(
        "execute", help="the earlier form of `apply` (queues and returns unless --inline)"
    )
    execute.add_argument("run", type=int)
    execute.add_argument(
        "--confirm", metavar="TENANT_NAME", help="the target tenant's name, typed exactly"
    )
    execute.add_argument("--reviewed", action="store_true", help="I reviewed the impact")
    execute.add_argument(
        "--inline", action="store_true", help="execute in this process instead of the task worker"
    )
    execute.set_defaults(handler=_quiet_logs(cmd_restore_execute))

    targets = restore.add_parser(
        "targets",
        help="the target's objects a missing reference can be mapped to (for --map)",
    )
    targets.add_argument("run", type=int)
    targets.add_argument(
        "--kind",
        required=True,
        metavar="KIND",
        help=f"group, filter, scope_tag, template (or {', '.join(reference_kinds.keys())})",
    )
    targets.add_argument(
        "--search", metavar="TEXT", help="names starting with (groups) or containing TEXT"
    )
    targets.add_argument("--json", action="store_true")
    targets.set_defaults(handler=_quiet_logs(_errors_exit_1(cmd_restore_targets)))

    show = restore.add_parser("show", help="a run: checks, plan and per-item outcomes")
    show.add_argument("run", type=int)
    show.add_argument("--json", action="store_true", help="the whole run as one JSON document")
    show.add_argument("--all-checks", action="store_true", help="list every check result")
    show.set_defaults(handler=_quiet_logs(_errors_exit_1(cmd_restore_show)))

    listing = restore.add_parser("list", help="restore runs")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=_quiet_logs(cmd_restore_list))

    undo = restore.add_parser(
        "undo",
        help="a new run restoring a run's pre-restore snapshot, planned and ready for `apply`",
    )
    undo.add_argument("run", type=int)
    undo.add_argument("--json", action="store_true")
    undo.set_defaults(handler=_quiet_logs(_errors_exit_1(cmd_restore_undo)))

    for name, service, done, text in (
        (
            "dry-run",
            "restore_run_finish_dry_run",
            "Dry run #{run.pk} recorded as completed; nothing was written.",
            "finish as a dry run",
        ),
        (
            "cancel",
            "restore_run_cancel",
            "Restore #{run.pk}: {run.status}.",
            "cancel (a running run stops between items)",
        ),
        (
            "resume",
            "restore_run_resume",
            "Restore #{run.pk} queued again; it continues from its checkpoints.",
            "resume a run whose worker died",
        ),
    ):
        command = restore.add_parser(name, help=text)
        command.add_argument("run", type=int)
        command.set_defaults(handler=_quiet_logs(_errors_exit_1(_simple(service, done))))
