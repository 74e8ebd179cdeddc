"""The `tenantguard` command: run the product, serve the emulator, manage tenants and backups.

Commands that touch the database act as a TenantGuard user (``--user``, default the
``TENANTGUARD_CLI_USER`` environment variable, else ``admin``), with that user's roles: the
command line is authorized and audited like the web UI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
# Errors are one line each, however narrow the terminal: never wrapped.
err_console = Console(stderr=True, soft_wrap=True)


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _cli_user(args: argparse.Namespace) -> Any:
    from django.contrib.auth import get_user_model

    username = args.user or os.environ.get("TENANTGUARD_CLI_USER", "admin")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(
            f"No active TenantGuard user '{username}'. Create one with `python manage.py createsuperuser` "
            "or pass --user NAME."
        )
    return user


def _tenant_by_name(name: str, *, user: Any = None) -> Any:
    """The tenant named ``name`` among those ``user`` has a role on (``tenants_visible_to``):
    any other tenant is answered as not found, and only the user's own tenants are named.
    Without ``user``, the tenant of that name, and no tenant's name in the error."""
    from tenantguard.accounts.permissions import tenants_visible_to
    from tenantguard.tenants.models import Tenant

    tenants = Tenant.objects.all() if user is None else tenants_visible_to(user)
    tenant = tenants.filter(display_name=name).first()
    if tenant is None:
        if user is None:
            raise CommandError(
                f"No tenant named '{name}'. Names are case-sensitive; `tenantguard tenant list` "
                "shows the tenants you have a role on."
            )
        known = ", ".join(tenants.values_list("display_name", flat=True)) or "none"
        raise CommandError(
            f"No tenant named '{name}' that you have a role on (yours: {known}). Names are "
            "case-sensitive."
        )
    return tenant


# --- run -------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    """Migrate, seed the demo, serve the emulator on loopback, start the worker and the web server.

    No autoreloader anywhere: a touched file never restarts a worker in the middle of a restore.
    The worker is restarted when it dies (with backoff, reported on stderr and in the log); the
    web server's death stops everything. Ctrl+C or SIGTERM stops the web server, the worker and
    the scheduler (each child's whole process group, SIGKILL after a grace period).
    """
    _require_free_port(args.port)
    # `tenantguard run` serves plain HTTP on loopback (the embedded demo): cookies cannot be
    # HTTPS-only there. A deployment behind TLS runs config.wsgi and keeps the secure default.
    os.environ.setdefault("TENANTGUARD_HTTPS", "0")
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from rich.markup import escape

    from tenantguard.demo import demo_setup
    from tenantguard.emulator.server import serve_app
    from tenantguard.supervisor import ChildFailed, ChildSpec, Supervisor
    from tenantguard.tenants.graph_access import (
        embedded_emulator,
        emulated_tenant,
        emulator_server_record_remove,
        emulator_server_record_write,
    )
    from tenantguard.tenants.models import Cloud, Tenant

    console.print("[bold]TenantGuard[/bold]: preparing the database…")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not args.no_demo:
        console.print("Preparing the demo tenants (first run takes a few seconds)…")
        report = demo_setup()
        for line in report.created:
            console.print(f"  created {line}")
    for tenant in Tenant.objects.filter(cloud=Cloud.EMULATOR):
        emulated_tenant(tenant)
    # One emulator process serves every TenantGuard process (web, worker) so they share state.
    server = serve_app(embedded_emulator(), host="127.0.0.1", port=args.emulator_port)
    emulator_url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True, name="graph-emulator").start()
    emulator_server_record_write(url=emulator_url)
    env = {
        **os.environ,
        "TENANTGUARD_EMULATOR_URL": emulator_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    manage = [sys.executable, "-m", "django"]
    supervisor = Supervisor(
        report=lambda message: err_console.print(f"[bold red]{escape(message)}[/]")
    )
    stop = threading.Event()
    # SIGHUP too: a closed terminal reaches only this process (the children have sessions of
    # their own), and dying of it would leave them running wherever there is no parent-death
    # signal (outside Linux).
    for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
        signal.signal(signum, lambda *_: stop.set())
    exit_code = 0
    scheduler: threading.Thread | None = None
    try:
        if not args.no_worker:
            supervisor.start(
                ChildSpec(
                    label="The task worker",
                    argv=[*manage, "db_worker", "--no-reload", "--interval", "0.5"],
                    env=env,
                    restart=True,
                )
            )
        web = [*manage, "runserver", "--noreload", "--insecure", f"127.0.0.1:{args.port}"]
        supervisor.start(ChildSpec(label="The web server", argv=web, env=env, restart=False))
        console.print(
            f"\n[bold green]TenantGuard is running on http://127.0.0.1:{args.port}/[/bold green]\n"
            f"  Log in as [bold]admin[/bold] / [bold]{os.environ.get('TENANTGUARD_DEMO_PASSWORD', 'tenantguard-demo')}[/bold]"
            " (also [bold]operator[/bold] and [bold]viewer[/bold], same password)\n"
            f"  Graph emulator: {emulator_url}   Task worker and backup scheduler: "
            f"{'off' if args.no_worker else 'on'}\n"
            f"  Data directory: {escape(str(settings.DATA_DIR))} (`tenantguard` commands use it too)\n"
            "  `tenantguard` commands on this data directory use this emulator while it runs\n"
            f"  (elsewhere: TENANTGUARD_EMULATOR_URL={emulator_url})\n"
            "  Press Ctrl+C to stop."
        )
        if not args.no_worker:
            from tenantguard.backups.scheduling import SCHEDULER_INTERVAL_SECONDS

            scheduler = threading.Thread(
                target=_scheduler_loop,
                args=(stop, SCHEDULER_INTERVAL_SECONDS),
                daemon=True,
                name="backup-scheduler",
            )
            scheduler.start()
        while not stop.wait(0.5):
            supervisor.check()
    except ChildFailed as exc:
        err_console.print(f"[bold red]{escape(str(exc))}[/]")
        exit_code = 1
    finally:
        stop.set()
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            console.print("Stopping TenantGuard: web server, task worker and scheduler…")
        supervisor.stop()
        if scheduler is not None:
            scheduler.join(timeout=10)
        emulator_server_record_remove()
        server.shutdown()
        server.server_close()
    return exit_code


def _require_free_port(port: int) -> None:
    import socket

    with socket.socket() as probe:
        # As the web server binds (SO_REUSEADDR): a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise CommandError(
                f"Port {port} on 127.0.0.1 is already in use ({exc.strerror}): stop what uses it "
                "(another `tenantguard run`?) or pass --port with a free one."
            ) from exc


# --- emulator --------------------------------------------------------------------------------


def cmd_emulator_serve(args: argparse.Namespace) -> int:
    from tenantguard.emulator.seed import SeedError
    from tenantguard.emulator.server import parse_tenant_spec, serve

    try:
        tenants = [parse_tenant_spec(spec) for spec in args.tenant]
    except ValueError as exc:
        raise CommandError(f"{exc} (SEED_DIR may be empty: ID:TOKEN:).") from exc
    if not tenants:
        raise CommandError("Give at least one --tenant ID:TOKEN:SEED_DIR (SEED_DIR may be empty).")

    def announce(port: int) -> None:
        console.print(
            f"Graph emulator on http://{args.host}:{port} for {len(tenants)} tenant(s). "
            "Ctrl+C stops it."
        )

    try:
        serve(
            host=args.host,
            port=args.port,
            tenants=tenants,
            state_dir=Path(args.state_dir) if args.state_dir else None,
            throttle=not args.no_throttle,
            on_ready=announce,
        )
    except SeedError as exc:
        raise CommandError(
            f"Cannot load the seed: {exc}. Fix the file or the --tenant SEED_DIR and start again."
        ) from exc
    except OSError as exc:
        if exc.filename:  # the state directory, not the socket
            raise CommandError(
                f"Cannot use {exc.filename} for the Graph emulator: {exc.strerror}. Check the "
                "path and its permissions (--state-dir)."
            ) from exc
        raise CommandError(
            f"Cannot serve the Graph emulator on {args.host}:{args.port}: "
            f"{exc.strerror or exc}. Stop what uses that port or pass --port with a free one."
        ) from exc
    return 0


# --- tenants ---------------------------------------------------------------------------------


def cmd_tenant_add(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.tenants.services import tenant_create

    fields: dict[str, Any] = {
        "display_name": args.name,
        "entra_tenant_id": args.tenant_id,
        "environment": args.environment,
        "cloud": args.cloud,
        "graph_url": args.graph_url or "",
        "login_url": args.login_url or "",
        "client_id": args.client_id or "",
    }
    if args.daily_backup_hour is not None:
        fields["backup_schedule"] = "daily"
        fields["backup_hour_utc"] = args.daily_backup_hour
    if args.token_env:
        fields["auth_method"] = "static_token"
        fields["static_token"] = _secret_from_env(args.token_env)
    elif args.client_secret_env:
        fields["auth_method"] = "client_secret"
        fields["client_secret"] = _secret_from_env(args.client_secret_env)
    elif args.certificate_key_file:
        fields["auth_method"] = "certificate"
        fields["certificate_private_key"] = Path(args.certificate_key_file).read_text()
        fields["certificate_thumbprint"] = args.certificate_thumbprint or ""
    else:
        raise CommandError(
            "Say how to authenticate: --token-env VAR, --client-secret-env VAR or --certificate-key-file PEM."
        )
    from django.core.exceptions import ValidationError

    try:
        tenant = tenant_create(actor=_cli_user(args), **fields)
    except ValidationError as exc:
        raise CommandError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        ) from exc
    console.print(
        f"Added tenant [bold]{tenant.display_name}[/bold] ({tenant.get_environment_display()})."
    )
    return 0


def _secret_from_env(variable: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise CommandError(
            f"Environment variable {variable} is empty; set it to the secret (secrets are never passed as arguments)."
        )
    return value


def cmd_tenant_list(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.accounts.permissions import tenants_visible_to

    table = Table("Name", "Environment", "Cloud", "Connection", "Entra tenant")
    for tenant in tenants_visible_to(_cli_user(args)):
        table.add_row(
            tenant.display_name,
            tenant.get_environment_display(),
            tenant.cloud,
            tenant.get_connection_status_display(),
            tenant.entra_tenant_id,
        )
    console.print(table)
    return 0


def cmd_tenant_test(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.tenants.services import tenant_test_connection

    tenant = _tenant_by_name(args.name)
    details = tenant_test_connection(actor=_cli_user(args), tenant=tenant)
    if details["error"]:
        err_console.print(f"[red]Cannot connect to {tenant.display_name}:[/red] {details['error']}")
        return 1
    table = Table("Permission", "Resource", "Result")
    for check in details["checks"]:
        table.add_row(
            check["permission"],
            check["resource"],
            "[green]works[/green]" if check["ok"] else f"[red]{check['message']}[/red]",
        )
    console.print(table)
    return 0 if not details["missing_permissions"] else 2


# --- backups ---------------------------------------------------------------------------------


def cmd_backup_create(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.backups.services import backup_set_capture, backup_set_start

    tenant = _tenant_by_name(args.tenant)
    backup_set = backup_set_start(
        actor=_cli_user(args), tenant=tenant, name=args.name or "", enqueue=False
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[items]} objects"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task(f"Backing up {tenant.display_name}", total=None, items=0)

        def on_progress(state: dict[str, Any]) -> None:
            total = state.get("types_total") or None
            progress.update(
                bar,
                total=total,
                completed=state.get("types_done", 0),
                items=state.get("items", 0),
                description=f"Backing up {tenant.display_name}: {state.get('current_type') or 'finishing'}",
            )

        backup_set = backup_set_capture(backup_set=backup_set, on_progress=on_progress)
    console.print(
        f"Backup set #{backup_set.pk} [bold]{backup_set.get_status_display()}[/bold]: {backup_set.item_count} objects."
    )
    for warning in backup_set.warnings:
        console.print(f"  [yellow]warning[/yellow] {warning['type_key']}: {warning['message']}")
    if backup_set.error:
        err_console.print(f"[red]{backup_set.error}[/red]")
    return {"completed": 0, "partial": 0}.get(backup_set.status, 1)


def cmd_backup_schedule(args: argparse.Namespace) -> int:
    if args.interval < 1:
        raise CommandError(f"--interval must be at least 1 second (got {args.interval:g}).")
    _setup_django()
    if args.once:
        _scheduler_pass(quiet=False)
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"Backup scheduler: a pass every {args.interval:g} s. Press Ctrl+C to stop.")
    try:
        _scheduler_loop(stop, args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def _scheduler_pass(*, quiet: bool) -> None:
    """One pass of the scheduler: restores and checks/preview jobs whose worker died are taken
    over (``restores.services.recovery``), then due scheduled backups are started; the work
    itself runs on the task worker."""
    from tenantguard.backups.scheduling import scheduled_backups_start_due

    _recovery_pass()
    result = scheduled_backups_start_due()
    for backup_set in result.started:
        console.print(
            f"Scheduled backup started: [bold]{backup_set.tenant.display_name}[/bold] "
            f"(backup set #{backup_set.pk})."
        )
    for name in result.waiting:
        console.print(f"Scheduled backup of [bold]{name}[/bold] waits: a backup is running.")
    for name in result.pruned:
        console.print(f"Deleted the old scheduled backup [bold]{name}[/bold] (retention).")
    for problem in result.errors:
        err_console.print(f"[red]{problem}[/red] (details in the log; the next pass tries again)")
    if not quiet and not result.started and not result.waiting and not result.errors:
        console.print("No scheduled backup is due.")


def _recovery_pass() -> None:
    """Resume stalled restore runs and requeue abandoned checks/preview jobs (audited as the
    system). Its failure is logged and never keeps the backup scheduler from its pass."""
    import logging

    from tenantguard.restores.services.recovery import restores_recover_stalled

    try:
        recovered = restores_recover_stalled()
    except Exception:
        logging.getLogger(__name__).exception("stalled restores pass failed")
        return
    for run_id in recovered.resumed:
        console.print(f"Restore run #{run_id}: its worker stopped; resumed automatically.")
    for run_id in recovered.cancelled:
        console.print(f"Restore run #{run_id}: its worker stopped; cancelled as requested.")
    for run_id in recovered.gave_up:
        err_console.print(
            f"[red]Restore run #{run_id}: its worker stopped too often; the run was failed.[/red]"
        )
    for run_id in recovered.analysis_requeued:
        console.print(f"Restore run #{run_id}: checks/preview queued again (worker stopped).")
    for problem in recovered.errors:
        err_console.print(f"[red]{problem}[/red] (details in the log; the next pass tries again)")


def _scheduler_loop(stop: threading.Event, interval: float) -> None:
    """The scheduler of ``tenantguard run`` (a thread) and of ``tenantguard backup schedule``: a
    pass now, then every ``interval`` seconds. A failed pass (database restart, ...) is logged
    and the next one runs anyway."""
    import logging

    from django.db import close_old_connections

    while not stop.is_set():
        try:
            _scheduler_pass(quiet=True)
        except Exception:  # a failed pass must not stop the next one
            logging.getLogger(__name__).exception("scheduled backups pass failed")
        finally:
            close_old_connections()
        stop.wait(interval)


def cmd_backup_list(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.backups.selectors import backup_sets_visible_to

    backup_sets = backup_sets_visible_to(_cli_user(args))
    if args.tenant:
        backup_sets = backup_sets.filter(tenant=_tenant_by_name(args.tenant))
    table = Table("ID", "Tenant", "Name", "Status", "Kind", "Items", "Captured")
    for backup_set in backup_sets[: args.limit]:
        table.add_row(
            str(backup_set.pk),
            backup_set.tenant.display_name,
            backup_set.name,
            backup_set.status,
            backup_set.kind,
            str(backup_set.item_count),
            f"{backup_set.captured_at:%Y-%m-%d %H:%M}" if backup_set.captured_at else "—",
        )
    console.print(table)
    return 0


def cmd_backup_show(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.backups.selectors import (
        backup_item_export,
        backup_sets_visible_to,
        scope_tag_names,
    )

    backup_set = backup_sets_visible_to(_cli_user(args)).filter(pk=args.id).first()
    if backup_set is None:
        raise CommandError(
            f"No backup set #{args.id} that you can see. `tenantguard backup list` shows them."
        )
    tags = scope_tag_names(backup_set=backup_set)
    items = backup_set.items.defer("secrets").order_by("category", "policy_type", "display_name")
    if args.json:
        document = {
            "id": backup_set.pk,
            "tenant": backup_set.tenant.display_name,
            "name": backup_set.name,
            "status": backup_set.status,
            "kind": backup_set.kind,
            "captured_at": backup_set.captured_at.isoformat() if backup_set.captured_at else None,
            "item_count": backup_set.item_count,
            "warnings": backup_set.warnings,
            "items": [
                backup_item_export(item=item, group_names=backup_set.group_names, tag_names=tags)
                for item in items.iterator()
            ],
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
        return 0
    console.print(
        f"Backup set #{backup_set.pk} of [bold]{backup_set.tenant.display_name}[/bold]: {backup_set.status}, {backup_set.item_count} objects"
    )
    table = Table("Category", "Type", "Platform", "Name", "Assignments", "Scope tags")
    for item in items.iterator():
        assigned = "not captured" if item.assignments is None else str(len(item.assignments))
        table.add_row(
            item.category,
            item.policy_type,
            item.platform or "—",
            item.display_name,
            assigned,
            ", ".join(tags.get(t, t) for t in item.scope_tag_ids),
        )
    console.print(table)
    return 0


# --- API tokens --------------------------------------------------------------------------------


def cmd_token_create(args: argparse.Namespace) -> int:
    _setup_django()
    from django.contrib.auth import get_user_model

    from tenantguard.accounts.tokens import ApiTokenError, api_token_create

    actor = _cli_user(args)
    owner = None
    if args.for_user:
        owner = get_user_model().objects.filter(username=args.for_user).first()
        if owner is None:
            raise CommandError(f"No TenantGuard user named '{args.for_user}'.")
    try:
        issued = api_token_create(actor=actor, name=args.name, days=args.days, user=owner)
    except ApiTokenError as exc:
        raise CommandError(str(exc)) from exc
    err_console.print(
        f"API token #{issued.record.pk} '{issued.record.name}' for {issued.record.user} until "
        f"{issued.record.expires_at:%Y-%m-%d} UTC. It is printed once, on standard output; "
        "store it in your secret store now."
    )
    print(issued.plaintext)  # alone on stdout, so `TOKEN=$(tenantguard token create …)` works
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    _setup_django()
    from django.utils import timezone

    from tenantguard.accounts.tokens import api_tokens_visible_to

    table = Table("ID", "Name", "User", "Starts with", "State", "Expires", "Last used")
    now = timezone.now()
    for token in api_tokens_visible_to(_cli_user(args)):
        state = (
            "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "active"
        )
        table.add_row(
            str(token.pk),
            token.name,
            token.user.get_username(),
            token.prefix + "…",
            state,
            f"{token.expires_at:%Y-%m-%d}",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
        )
    console.print(table)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    _setup_django()
    from tenantguard.accounts.tokens import api_token_revoke, api_tokens_visible_to

    actor = _cli_user(args)
    token = api_tokens_visible_to(actor).filter(pk=args.id).first()
    if token is None:
        raise CommandError(f"No API token #{args.id} of yours (see `tenantguard token list`).")
    api_token_revoke(actor=actor, token=token)
    console.print(f"API token #{token.pk} '{token.name}' is revoked.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    from tenantguard.demo import demo_setup

    call_command("migrate", interactive=False, verbosity=0)
    report = demo_setup()
    for line in report.created or ["nothing: the demo already exists"]:
        console.print(f"created {line}")
    return 0


# --- audit -------------------------------------------------------------------------------------


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Walk the audit hash chain: one line per problem and exit 1, or "N events, chain intact"."""
    _setup_django()
    from tenantguard.audit.verify import audit_chain_verify

    user = _cli_user(args)
    if not user.is_superuser:
        raise CommandError(
            f"Verifying the audit trail reads every tenant's events: user '{user.get_username()}' "
            "is not a superuser. Pass --user NAME of a superuser."
        )
    report = audit_chain_verify(anchor=_audit_anchor(args.anchor) if args.anchor else None)
    # Plain print, not rich: one unwrapped line per problem, for people and for scripts.
    for problem in report.problems:
        print(problem.message)
    print(report.summary())
    return 0 if report.intact else 1


def _audit_anchor(value: str) -> tuple[int, str]:
    sequence, _, digest = value.partition(":")
    is_hex = len(digest) == 64 and all(c in "0123456789abcdef" for c in digest.lower())
    if not (sequence.isascii() and sequence.isdigit()) or not is_hex:
        raise CommandError(
            f"--anchor '{value}' is not SEQUENCE:HASH (the head an earlier "
            "`tenantguard audit verify` printed, e.g. 1234:3f2a…, 64 hex digits)."
        )
    return int(sequence), digest.lower()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantguard", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--user", help="TenantGuard user to act as (default: $TENANTGUARD_CLI_USER or admin)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="start TenantGuard with its demo, emulator and task worker",
        description=(
            "Migrate the database, seed the demo (users admin / operator / viewer and the "
            "emulated Contoso tenants), then serve TenantGuard on http://127.0.0.1:PORT/ with "
            "its Graph emulator, task worker and backup scheduler until Ctrl+C. Data lives in "
            "the data directory ($TENANTGUARD_DATA_DIR, default: var/ in the checkout); other "
            "`tenantguard` commands use the same one."
        ),
    )
    run.add_argument(
        "--port",
        type=int,
        default=8000,
        help="loopback port of the web server (default: 8000; `make run PORT=8080` passes it)",
    )
    run.add_argument(
        "--emulator-port",
        type=int,
        default=0,
        help="loopback port of the Graph emulator (0 = any free port)",
    )
    run.add_argument(
        "--no-worker",
        action="store_true",
        help="start neither the task worker nor the backup scheduler: backups, checks, "
        "previews and restores then wait in the queue until a worker runs "
        "(`python -m django db_worker`)",
    )
    run.add_argument(
        "--no-demo",
        action="store_true",
        help="do not create or refresh the demo users, tenants and baseline backups",
    )
    run.set_defaults(handler=cmd_run)

    commands.add_parser("demo", help="create or refresh the demo data only").set_defaults(
        handler=cmd_demo
    )

    emulator = commands.add_parser("emulator", help="the Graph emulator").add_subparsers(
        dest="emulator_command", required=True
    )
    serve = emulator.add_parser("serve", help="serve the Graph emulator on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--tenant", action="append", default=[], metavar="ID:TOKEN:SEED_DIR")
    serve.add_argument("--state-dir", help="persist tenant state here (survives restarts)")
    serve.add_argument("--no-throttle", action="store_true", help="switch Intune throttling off")
    serve.set_defaults(handler=cmd_emulator_serve)

    tenant = commands.add_parser("tenant", help="tenants").add_subparsers(
        dest="tenant_command", required=True
    )
    add = tenant.add_parser("add", help="add a tenant")
    add.add_argument("--name", required=True, help="display name (typed to confirm restores)")
    add.add_argument("--tenant-id", required=True, help="Entra tenant id or domain")
    add.add_argument("--environment", choices=["prod", "test"], default="test")
    add.add_argument(
        "--cloud",
        choices=["global", "usgov", "usgov_dod", "china", "custom", "emulator"],
        default="global",
    )
    add.add_argument(
        "--graph-url", help="Graph root for --cloud custom, e.g. http://127.0.0.1:8765"
    )
    add.add_argument(
        "--login-url", help="login authority root for --cloud custom (default: the Graph URL)"
    )
    add.add_argument("--client-id")
    add.add_argument(
        "--client-secret-env",
        metavar="VAR",
        help="read the client secret from this environment variable",
    )
    add.add_argument("--certificate-key-file", metavar="PEM")
    add.add_argument("--certificate-thumbprint")
    add.add_argument(
        "--token-env", metavar="VAR", help="static bearer token from this environment variable"
    )
    add.add_argument(
        "--daily-backup-hour",
        type=int,
        metavar="HOUR",
        help="back the tenant up every day at this hour, UTC (0-23); default: no schedule",
    )
    add.set_defaults(handler=cmd_tenant_add)
    tenant.add_parser("list", help="list tenants").set_defaults(handler=cmd_tenant_list)
    test = tenant.add_parser("test", help="test a tenant's connection and permissions")
    test.add_argument("name")
    test.set_defaults(handler=cmd_tenant_test)

    backup = commands.add_parser("backup", help="backups").add_subparsers(
        dest="backup_command", required=True
    )
    create = backup.add_parser("create", help="back up a tenant now")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name")
    create.set_defaults(handler=cmd_backup_create)
    listing = backup.add_parser("list", help="list backup sets")
    listing.add_argument("--tenant")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=cmd_backup_list)
    show = backup.add_parser("show", help="show a backup set")
    show.add_argument("id", type=int)
    show.add_argument(
        "--json", action="store_true", help="print items with payloads, assignments and scope tags"
    )
    show.set_defaults(handler=cmd_backup_show)

    schedule = backup.add_parser(
        "schedule",
        help="start the scheduled backups that are due (runs until stopped; --once for cron)",
    )
    schedule.add_argument("--once", action="store_true", help="one pass, then exit")
    schedule.add_argument(
        "--interval", type=float, default=60.0, help="seconds between passes (default 60)"
    )
    schedule.set_defaults(handler=cmd_backup_schedule)

    token = commands.add_parser("token", help="personal API tokens").add_subparsers(
        dest="token_command", required=True
    )
    token_create = token.add_parser("create", help="create an API token (printed once)")
    token_create.add_argument("--name", required=True, help="what the token is for")
    token_create.add_argument("--days", type=int, default=90, help="lifetime (default 90)")
    token_create.add_argument(
        "--for-user", metavar="USERNAME", help="superusers only: issue it for another user"
    )
    token_create.set_defaults(handler=cmd_token_create)
    token.add_parser("list", help="list your API tokens").set_defaults(handler=cmd_token_list)
    token_revoke = token.add_parser("revoke", help="revoke an API token now")
    token_revoke.add_argument("id", type=int)
    token_revoke.set_defaults(handler=cmd_token_revoke)

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    audit_verify = audit.add_parser(
        "verify",
        help="check the audit trail's hash chain: edited, deleted or reordered events "
        "(superusers; exit 1 when tampered with)",
    )
    audit_verify.add_argument(
        "--anchor",
        metavar="SEQUENCE:HASH",
        help="the head an earlier verify printed, kept outside the database: also detects "
        "events cut off the end and a recomputed chain",
    )
    audit_verify.set_defaults(handler=cmd_audit_verify)

    from tenantguard.cli_restore import add_restore_commands

    add_restore_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A failure prints one line on stderr (what failed, what to do) and
    exits non-zero: 2 for a command the user can correct, 3 for a refusal, 1 for anything
    else. ``TENANTGUARD_DEBUG=1`` shows the traceback of an unexpected error."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        _print_failure("interrupted", "stopped by Ctrl+C.")
        return 130
    except Exception as exc:
        import logging

        # The traceback stays available: TENANTGUARD_LOG_LEVEL=DEBUG shows it.
        logging.getLogger("tenantguard.cli").debug("%s failed", args.command, exc_info=exc)
        label, message, exit_code = _describe_failure(exc)
        if exit_code is None:
            if os.environ.get("TENANTGUARD_DEBUG", "").strip().lower() in {"1", "true", "yes"}:
                raise
            exit_code = 1
        _print_failure(label, message)
        return exit_code


def _print_failure(label: str, message: str) -> None:
    from rich.markup import escape

    text = " ".join(message.split())  # one line, whatever the exception's message holds
    err_console.print(f"[red]{label}:[/red] {escape(text)}", soft_wrap=True)


def _loaded(module: str, name: str) -> type[BaseException] | None:
    """The exception class ``module.name`` if that module is already imported: an exception
    can only be of a class whose module was loaded, and importing Django apps here (before
    Django is set up, e.g. in `emulator serve`) would itself fail."""
    loaded = sys.modules.get(module)
    return getattr(loaded, name, None) if loaded is not None else None


def _sentence(text: str) -> str:
    """``text`` ending with a full stop, so a message can follow it."""
    text = text.rstrip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def _describe_failure(exc: Exception) -> tuple[str, str, int | None]:
    """(label, message, exit code) for a failure; exit code None = unexpected (a bug)."""

    def isinstance_of(module: str, name: str) -> bool:
        cls = _loaded(module, name)
        return cls is not None and isinstance(exc, cls)

    if isinstance(exc, CommandError):
        return "error", str(exc), 2
    if isinstance_of("tenantguard.accounts.permissions", "AccessDenied") or (
        isinstance(exc, PermissionError) and exc.errno is None  # not the file system's
    ):
        return "refused", str(exc), 3
    if isinstance_of("tenantguard.restores.services.errors", "RestoreRunError"):
        return "error", str(exc), 2
    if isinstance_of("tenantguard.graph.errors", "GraphError"):
        return (
            "Graph error",
            f"{_sentence(str(exc))} Nothing more was done; check the tenant's connection "
            "(`tenantguard tenant test NAME`) and try again.",
            1,
        )
    if isinstance_of("tenantguard.crypto", "DecryptionError"):
        return (
            "cannot decrypt",
            f"{exc} (The key is TENANTGUARD_ENCRYPTION_KEY, else secrets.json in the data "
            "directory.) Otherwise enter the tenant's credentials again.",
            1,
        )
    if isinstance_of("django.core.exceptions", "ImproperlyConfigured"):
        return "configuration error", str(exc), 2
    if isinstance_of("django.db.utils", "DatabaseError"):
        return (
            "database error",
            f"{exc}. Check that the database is reachable and migrated "
            "(`python -m django migrate`, or start `tenantguard run` once), then try again.",
            1,
        )
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return "error", f"{exc.strerror}{where}.", 1
    return (
        "unexpected error",
        f"{type(exc).__name__}: {exc}. This is a bug in TenantGuard: run the command again with "
        "TENANTGUARD_DEBUG=1 to see the traceback, and report it.",
        None,
    )


if __name__ == "__main__":
    sys.exit(main())
