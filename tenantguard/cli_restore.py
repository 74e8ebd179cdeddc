"""`tenantguard restore …`: the Restore Run Wizard on the command line.

The same services and `RestoreRunPolicy` as the web wizard decide everything; a refusal prints
the policy's reasons. Dry-run stays on unless `execute` is given the typed tenant name and
`--reviewed`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.table import Table

from tenantguard.cli import (
    CommandError,
    _cli_user,
    _setup_django,
    _tenant_by_name,
    console,
    err_console,
)
from tenantguard.intune import reference_kinds


def _run_for(args: argparse.Namespace) -> Any:
    from tenantguard.restores.selectors import restore_run_visible_to

    run = restore_run_visible_to(_cli_user(args), run_id=args.run)
    if run is None:
        raise CommandError(
            f"No restore run #{args.run} that you can see. `tenantguard restore list` shows them."
        )
    return run


def _refused(exc: Any) -> int:
    err_console.print("[red]refused:[/red]")
    for reason in exc.reasons:
        err_console.print(f"  - {reason}")
    return 3


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
        mapping.setdefault(kind, {})[source] = None if target == "skip" else target
    return mapping


def _print_run(run: Any) -> None:
    from tenantguard.restores.services.policy import Action, RestoreRunPolicy

    metadata = run.metadata or {}
    badge = (
        "[bold white on red] PROD [/]"
        if run.environment == "prod"
        else "[bold white on blue] TEST [/]"
    )
    console.print(
        f"{badge} Restore #{run.pk} to [bold]{run.tenant_label}[/bold]: {run.status}, dry-run {'on' if run.dry_run else 'off'}"
    )
    checks = (metadata.get("checks") or {}).get("summary")
    if checks:
        console.print(
            f"  checks: {checks.get('blocking', 0)} blocking, {checks.get('warning', 0)} warnings, {checks.get('safe', 0)} safe"
        )
        for result in run.check_results.filter(severity="blocking")[:20]:
            console.print(
                f"    [red]✗ {result.code}[/red] {result.item_name}: {result.message} {result.resolution}"
            )
    preview = (metadata.get("preview") or {}).get("summary")
    if preview:
        console.print(f"  preview: {json.dumps(preview.get('policies', preview), default=str)}")
        assignments = preview.get("assignments") or {}
        if assignments.get("included"):
            console.print(
                f"  assignments ({assignments.get('mode', 'replace')}): "
                f"+{assignments.get('added', 0)} added, -{assignments.get('removed', 0)} removed"
            )
            for removal in assignments.get("removals") or []:
                groups = ", ".join(
                    str(a.get("group") or a.get("group_id") or a.get("target"))
                    for a in removal.get("removed") or []
                )
                console.print(
                    f"    [yellow]- removed from {removal.get('name')}:[/yellow] {groups}"
                )
    if run.item_outcomes.exists():
        table = Table("Item", "Type", "Outcome", "Verified", "Details")
        for outcome in run.item_outcomes.all():
            details = (
                outcome.error_message or outcome.reason or "; ".join(outcome.differences or [])
            )
            verified = "—" if outcome.verified is None else ("yes" if outcome.verified else "no")
            table.add_row(
                outcome.display_name, outcome.policy_type, outcome.outcome, verified, details
            )
        console.print(table)
    decision = RestoreRunPolicy(run, None).can(Action.CLAIM) if run.status == "queued" else None
    if decision is not None and not decision.allowed:
        console.print("  [yellow]queued, but:[/yellow] " + " ".join(decision.reasons))


def cmd_restore_prepare(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.backups.selectors import backup_sets_visible_to
    from tenantguard.restores.services.checks import restore_run_run_checks
    from tenantguard.restores.services.diff import restore_run_run_preview
    from tenantguard.restores.services.errors import RestoreRunRefused
    from tenantguard.restores.services.runs import (
        restore_run_create,
        restore_run_set_scope,
        restore_run_update_mapping,
        restore_run_update_options,
    )

    user = _cli_user(args)
    tenant = _tenant_by_name(args.tenant)
    backup_set = backup_sets_visible_to(user).filter(pk=args.backup_set).first()
    if backup_set is None:
        raise CommandError(
            f"No backup set #{args.backup_set} that you can see. `tenantguard backup list` shows them."
        )
    try:
        run = restore_run_create(actor=user, tenant=tenant, backup_set=backup_set)
        run = restore_run_set_scope(
            actor=user, run=run, mode="selected" if args.item else "all", item_ids=args.item or ()
        )
        if args.map:
            run = restore_run_update_mapping(actor=user, run=run, mapping=_parse_mapping(args.map))
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
        run = restore_run_run_preview(actor=user, run=run)
    except RestoreRunRefused as exc:
        return _refused(exc)
    _print_run(run)
    console.print(
        f'Next: `tenantguard restore execute {run.pk} --confirm "{run.tenant_label}" --reviewed`'
    )
    return 0


def cmd_restore_execute(args: argparse.Namespace) -> int:
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
        return _refused(exc)
    if not args.inline:
        console.print(
            f"Restore #{run.pk} queued: the task worker executes it. `tenantguard restore show {run.pk}` follows it."
        )
        return 0
    with console.status(f"Executing restore #{run.pk} on {run.tenant_label}…"):
        run = restore_run_execute(run_id=run.pk)
    _print_run(run)
    return {"completed": 0, "partial": 1}.get(run.status, 2)


def cmd_restore_show(args: argparse.Namespace) -> int:
    _setup_django()
    run = _run_for(args)
    if args.json:
        document = {
            "id": run.pk,
            "tenant": run.tenant_label,
            "environment": run.environment,
            "status": run.status,
            "dry_run": run.dry_run,
            "backup_set": run.backup_set_id,
            "scope_mode": run.scope_mode,
            "checks": (run.metadata or {}).get("checks"),
            "preview": (run.metadata or {}).get("preview"),
            "results": run.results,
            "items": list(
                run.item_outcomes.values(
                    "policy_type",
                    "source_id",
                    "display_name",
                    "target_id",
                    "outcome",
                    "reason",
                    "skip_code",
                    "error_code",
                    "error_message",
                    "verified",
                    "differences",
                )
            ),
        }
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
        return 0
    _print_run(run)
    return 0


def cmd_restore_list(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.restores.selectors import restore_runs_visible_to

    runs = restore_runs_visible_to(_cli_user(args))
    table = Table("ID", "Target", "Env", "Status", "Dry-run", "Started by", "Created")
    for run in runs[: args.limit]:
        table.add_row(
            str(run.pk),
            run.tenant_label,
            run.environment.upper(),
            run.status,
            "on" if run.dry_run else "off",
            run.requested_by.get_username() if run.requested_by else "—",
            f"{run.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)
    return 0


def _simple(service_name: str, done: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        _setup_django()
        from tenantguard.restores.services import runs, undo
        from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused

        service = getattr(undo, service_name, None) or getattr(runs, service_name)
        try:
            run = service(actor=_cli_user(args), run=_run_for(args))
        except RestoreRunRefused as exc:
            return _refused(exc)
        except RestoreRunError as exc:
            raise CommandError(str(exc)) from exc
        console.print(done.format(run=run))
        return 0

    return handler


def add_restore_commands(commands: Any) -> None:
    restore = commands.add_parser("restore", help="the Restore Run Wizard").add_subparsers(
        dest="restore_command", required=True
    )
    prepare = restore.add_parser(
        "prepare", help="steps 1-4: source, scope, checks and preview (writes nothing)"
    )
    prepare.add_argument("--tenant", required=True, help="target tenant (display name)")
    prepare.add_argument("--backup-set", type=int, required=True)
    prepare.add_argument(
        "--item", type=int, action="append", help="backup item id to restore (repeat); default: all"
    )
    prepare.add_argument(
        "--map",
        action="append",
        metavar="KIND:SRC=DST",
        help=f"map a missing {' / '.join(reference_kinds.keys())}, or =skip it",
    )
    prepare.add_argument("--no-create-missing", action="store_true")
    prepare.add_argument(
        "--no-assignments", action="store_true", help="leave the target's assignments as they are"
    )
    prepare.add_argument(
        "--assignment-mode",
        choices=("merge", "replace"),
        help="merge: keep the target's other assignments and add the backup's; replace: the "
        "backup's state, the target's others are removed (listed in the preview). Default: "
        "replace into the backup's own tenant, merge into another",
    )
    prepare.add_argument(
        "--source-identifiers",
        choices=("replace", "keep"),
        help="into another tenant: replace the source tenant's own tenant ID and domains found "
        "in payloads with the target's, or keep them (undecided: a blocking check)",
    )
    prepare.set_defaults(handler=cmd_restore_prepare)

    execute = restore.add_parser("execute", help="step 5: turn dry-run off, confirm and execute")
    execute.add_argument("run", type=int)
    execute.add_argument(
        "--confirm", metavar="TENANT_NAME", help="the target tenant's name, typed exactly"
    )
    execute.add_argument("--reviewed", action="store_true", help="I reviewed the impact")
    execute.add_argument(
        "--inline", action="store_true", help="execute in this process instead of the task worker"
    )
    execute.set_defaults(handler=cmd_restore_execute)

    show = restore.add_parser("show", help="a run: checks, preview and per-item outcomes")
    show.add_argument("run", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_restore_show)
    listing = restore.add_parser("list", help="restore runs")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=cmd_restore_list)
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
        (
            "undo",
            "restore_run_undo",
            "Undo run #{run.pk} created (draft, dry-run on) from the pre-restore snapshot.",
            "start a run that restores the pre-restore snapshot",
        ),
    ):
        command = restore.add_parser(name, help=text)
        command.add_argument("run", type=int)
        command.set_defaults(handler=_simple(service, done))
