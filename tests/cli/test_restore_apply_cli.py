"""`tenantguard restore apply`: dry-run off, the tenant's name typed on a terminal (or
``--confirm-tenant NAME --reviewed`` without one), executed by the task worker like the web's
Execute, per-item outcomes at the end, exit 0 only when completed and verified; `show --json`,
`targets`, and `undo` then `apply`. Through `tenantguard.cli.main`, with real pseudo-terminals.

The database is transactional here: the queued run is executed by the task backend when the
queueing commits (the test settings' immediate backend stands in for the worker)."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tenantguard import cli_restore
from tenantguard.audit.models import AuditEvent
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.cli import main
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun

pytestmark = pytest.mark.django_db(transaction=True)

BASELINE = "WIN - Compliance - Baseline"


@pytest.fixture(autouse=True)
def bounded_wait(monkeypatch):
    """`apply` polls the run while the worker executes it: never for ever in a test."""
    calls = []

    def sleep(seconds):
        calls.append(seconds)
        assert len(calls) < 200, "apply waited for a worker that never came"

    monkeypatch.setattr(cli_restore, "_sleep", sleep)
    return calls


@pytest.fixture
def planned(personas, tenant, emulated, demo_objects, monkeypatch, capsys):
    """`restore plan` of Contoso Test's drift, by the operator: (run, emulated tenant)."""
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup_set = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )
    apply_demo_drift(emulated, seed=1)
    monkeypatch.setenv("TENANTGUARD_CLI_USER", "operator")
    assert (
        main(["restore", "plan", "--tenant", "Contoso Test", "--backup-set", str(backup_set.pk)])
        == 2
    )
    capsys.readouterr()
    return RestoreRun.objects.get(), emulated


def _min_os(emulated):
    [policy] = [
        p
        for p in emulated.list_objects("deviceManagement/deviceCompliancePolicies")
        if p["displayName"] == BASELINE
    ]
    return policy["osMinimumVersion"]


class Terminal:
    """A pseudo-terminal on stdin and stderr: what is typed, and everything shown there."""

    def __init__(self, typed: str = "") -> None:
        self.master, self.slave = pty.openpty()
        self.shown = bytearray()
        self.typed = typed

    def __enter__(self) -> Terminal:
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.stdin = open(self.slave, encoding="utf-8", closefd=False)
        self.stderr = open(self.slave, "w", encoding="utf-8", closefd=False)
        self._saved = sys.stdin, sys.stderr
        sys.stdin, sys.stderr = self.stdin, self.stderr
        if self.typed:
            os.write(self.master, self.typed.encode())
        return self

    def __exit__(self, *exc) -> None:
        sys.stdin, sys.stderr = self._saved
        self.stderr.flush()
        self.stdin.close()
        self.stderr.close()
        os.close(self.slave)
        self._reader.join(timeout=5)
        os.close(self.master)

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.shown.extend(chunk)

    @property
    def text(self) -> str:
        return self.shown.decode("utf-8", "replace")


def test_without_a_terminal_and_without_the_flags_it_refuses(planned, monkeypatch, capsys):
    run, emulated = planned
    monkeypatch.setattr(sys, "stdin", io.StringIO("Contoso Test\n"))
    before = _min_os(emulated)

    for extra in ([], ["--reviewed"], ["--confirm-tenant", "Contoso Test"]):
        code = main(["restore", "apply", str(run.pk), *extra])

        _out, err = capsys.readouterr()
        assert code == 1, extra
        assert "not a terminal" in err
        assert ("--reviewed" in err) != ("--reviewed" in extra)
        assert ('--confirm-tenant "Contoso Test"' in err) != ("--confirm-tenant" in extra)
    run.refresh_from_db()
    assert run.status == "previewed" and run.dry_run
    assert not AuditEvent.objects.filter(action="restore.queued").exists()
    assert _min_os(emulated) == before


def test_with_the_flags_it_executes_through_the_worker_and_exits_0(planned, capsys):
    run, emulated = planned

    code = main(["restore", "apply", str(run.pk), "--confirm-tenant", "Contoso Test", "--reviewed"])

    out, err = capsys.readouterr()
    assert code == 0, out + err
    run.refresh_from_db()
    assert run.status == "completed" and not run.dry_run
    assert AuditEvent.objects.filter(action="restore.queued", subject_id=str(run.pk)).exists()
    assert _min_os(emulated) == "10.0.22631"
    # What it writes (counts, removals), then the per-item outcomes: plain, 80 columns.
    assert "4 to create, 9 to update" in out
    assert "Assignments this restore removes" in out and "SG-Intune-Windows-Broad" in out
    assert "WIN - Compliance - Baseli" in out and "updated" in out and "created" in out
    assert f"Restore #{run.pk} completed: every written item was verified." in out
    assert all(len(line) <= 80 for line in out.splitlines()), out


def test_interactive_apply_asks_for_the_tenant_name(planned, capsys):
    run, emulated = planned

    with Terminal(typed="Contoso Test\n") as terminal:
        code = main(["restore", "apply", str(run.pk)])

    out, _err = capsys.readouterr()
    assert code == 0, out + terminal.text
    assert "Type the tenant's name" in terminal.text and "Contoso Test" in terminal.text
    # The progress bar on the terminal's stderr: items done out of the plan's items.
    total = run.preview_items.count()
    assert f"{total}/{total}" in terminal.text
    assert "4 to create, 9 to update" in out and "completed" in out
    run.refresh_from_db()
    assert run.status == "completed"
    confirmation = run.metadata["confirmation"]
    assert confirmation["typed_label"] == "Contoso Test" and confirmation["acknowledged"]
    assert _min_os(emulated) == "10.0.22631"


@pytest.mark.parametrize(
    ("typed", "code", "audited"),
    [("contoso test\n", 3, "restore.execute_refused"), ("\n", 1, None)],
)
def test_interactive_apply_with_a_wrong_or_no_name_writes_nothing(
    planned, capsys, typed, code, audited
):
    run, emulated = planned
    before = _min_os(emulated)

    with Terminal(typed=typed) as terminal:
        assert main(["restore", "apply", str(run.pk)]) == code

    shown = terminal.text
    assert ("exactly" in shown) if audited else ("nothing was written" in shown)
    run.refresh_from_db()
    assert run.status == "previewed" and run.dry_run
    assert _min_os(emulated) == before
    assert AuditEvent.objects.filter(action="restore.execute_refused").exists() == bool(audited)


def test_apply_refuses_a_blocked_run_without_asking(planned, monkeypatch, capsys):
    run, _ = planned
    monkeypatch.setenv("TENANTGUARD_CLI_USER", "viewer")

    with Terminal(typed="Contoso Test\n") as terminal:
        assert main(["restore", "apply", str(run.pk)]) == 3

    assert "refused" in terminal.text and "Type the tenant's name" not in terminal.text
    run.refresh_from_db()
    assert run.status == "previewed"


def test_apply_waits_for_the_worker_and_says_when_none_comes(planned, monkeypatch, capsys):
    """No task worker takes the queued run: a hint on stderr, Ctrl+C stops waiting only."""
    from tenantguard.restores import tasks
    from tests.conftest import HeldTasks

    run, _ = planned
    held = HeldTasks()
    monkeypatch.setattr(tasks, "execute_restore_run_task", held)
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        if sum(waits) > cli_restore.QUEUED_HINT_AFTER_SECONDS + 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_restore, "_sleep", sleep)

    code = main(["restore", "apply", str(run.pk), "--confirm-tenant", "Contoso Test", "--reviewed"])

    _out, err = capsys.readouterr()
    assert code == 130
    assert "still queued" in err and "tenantguard run" in err
    assert f"Stopped following restore #{run.pk}" in err
    run.refresh_from_db()
    assert run.status == "queued" and held.jobs == [(run.pk,)], "the worker still gets it"


def test_show_json_has_checks_preview_and_outcomes(planned, capsys):
    run, _ = planned
    assert (
        main(["restore", "apply", str(run.pk), "--confirm-tenant", "Contoso Test", "--reviewed"])
        == 0
    )
    capsys.readouterr()

    assert main(["restore", "show", str(run.pk), "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "completed"
    codes = {group["code"] for group in document["check_results"]}
    assert {"target_newer_than_backup", "broad_assignment", "safe"} <= codes
    assert sum(g["count"] for g in document["check_results"]) == run.check_results.count()
    baseline = next(i for i in document["preview_items"] if i["display_name"] == BASELINE)
    assert baseline["action"] == "update"
    assert [(c["before"], c["after"]) for c in baseline["changes"]] == [
        ("10.0.19045", "10.0.22631")
    ]
    outcomes = {o["display_name"]: o for o in document["outcomes"]}
    assert outcomes[BASELINE]["outcome"] == "updated" and outcomes[BASELINE]["verified"] is True
    assert document["items"] == document["outcomes"]

    # The same as text: plain, 80 columns, tables cut with "…" instead of wrapping.
    assert main(["restore", "show", str(run.pk)]) == 0
    assert main(["restore", "list"]) == 0
    text = capsys.readouterr().out
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "WIN - Compliance - Baseline" in text and "Contoso Test" in text
    assert "completed" in text and "…" in text


def test_undo_prints_a_ready_run_then_apply_restores_the_snapshot(planned, capsys):
    run, emulated = planned
    assert (
        main(["restore", "apply", str(run.pk), "--confirm-tenant", "Contoso Test", "--reviewed"])
        == 0
    )
    assert _min_os(emulated) == "10.0.22631"
    capsys.readouterr()

    assert main(["restore", "undo", str(run.pk)]) == 0

    out = capsys.readouterr().out
    undo = RestoreRun.objects.get(metadata__undo_of=run.pk)
    assert undo.status == "previewed" and undo.dry_run
    assert f"Undo of restore #{run.pk}: run #{undo.pk}" in out
    # what the undo carried, and that assignments are replaced (removals listed)
    assert "no mapping" in " ".join(out.split()) and "replace mode" in " ".join(out.split())
    assert "10.0.22631 → 10.0.19045" in out, "the plan back is shown"
    assert f"Next: tenantguard restore apply {undo.pk}" in out

    code = main(
        ["restore", "apply", str(undo.pk), "--confirm-tenant", "Contoso Test", "--reviewed"]
    )

    out, err = capsys.readouterr()
    assert code == 0, out + err
    undo.refresh_from_db()
    assert undo.status == "completed"
    assert _min_os(emulated) == "10.0.19045", "the tenant is back as it was before the restore"


def test_undo_waits_for_the_checks_and_preview_the_worker_was_asked_for(
    planned, held_analysis, monkeypatch, capsys
):
    """The undo run's checks and preview are queued for the task worker: `undo` waits for
    them instead of reading the target a second time in its own process."""
    from tenantguard.restores.services.analysis import restore_run_analysis_run

    run, _ = planned
    assert (
        main(["restore", "apply", str(run.pk), "--confirm-tenant", "Contoso Test", "--reviewed"])
        == 0
    )
    capsys.readouterr()
    turns = []

    def worker_turn(seconds):  # while the command waits, the worker takes one job
        turns.append(seconds)
        assert len(turns) < 200
        if held_analysis.jobs:
            run_id, job_id = held_analysis.jobs.pop(0)[:2]
            restore_run_analysis_run(run_id=run_id, job_id=job_id)

    monkeypatch.setattr(cli_restore, "_sleep", worker_turn)

    assert main(["restore", "undo", str(run.pk)]) == 0

    out, err = capsys.readouterr()
    undo = RestoreRun.objects.get(metadata__undo_of=run.pk)
    assert "Waiting" in err and turns
    assert undo.status == "previewed"
    assert f"Next: tenantguard restore apply {undo.pk}" in out
    recorded = list(
        AuditEvent.objects.filter(subject_id=str(undo.pk))
        .filter(action__in=["restore.checks_recorded", "restore.preview_recorded"])
        .values_list("action", flat=True)
    )
    assert sorted(recorded) == ["restore.checks_recorded", "restore.preview_recorded"], (
        "each read once, by the worker"
    )


def test_targets_lists_what_map_can_point_at(planned, capsys):
    run, emulated = planned

    assert main(["restore", "targets", str(run.pk), "--kind", "group", "--search", "SG-iOS"]) == 0

    out = capsys.readouterr().out
    groups = {g["displayName"]: g["id"] for g in emulated.list_objects("groups")}
    ios = {name: gid for name, gid in groups.items() if name.startswith("SG-iOS")}
    assert ios
    for name, gid in ios.items():
        assert name in out and gid in out
    assert "SG-Finance-Users" not in out
    assert "--map group:SOURCE_ID=ID" in out
    assert all(len(line) <= 80 for line in out.splitlines())

    assert main(["restore", "targets", str(run.pk), "--kind", "filter", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    filters = {
        f["displayName"] for f in emulated.list_objects("deviceManagement/assignmentFilters")
    }
    assert document["kind"] == "assignment_filter"
    assert {t["name"] for t in document["targets"]} == filters

    # An error exits 1 (2 means "changes planned" to a script reading `plan`'s codes).
    assert main(["restore", "targets", str(run.pk), "--kind", "gizmo"]) == 1
    assert "Unknown kind 'gizmo'" in capsys.readouterr().err


TENANTGUARD = Path(sys.executable).with_name("tenantguard")


def _read_until(fd: int, wanted: str, *, seconds: float) -> str:
    """What the pseudo-terminal ``fd`` shows until ``wanted`` appears (or it closes)."""
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted!r} within {seconds} s: {seen.decode(errors='replace')}"
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed its terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen.decode("utf-8", "replace")


@pytest.mark.slow
def test_the_console_script_plans_and_applies_with_a_real_worker(tmp_path):
    """`tenantguard demo`, `plan --json` (logs on stderr only), then `apply` typed on a
    terminal while `db_worker` (what `tenantguard run` starts) executes the run."""
    env = {
        **os.environ,
        "TENANTGUARD_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TENANTGUARD_LOG_LEVEL": "DEBUG",
    }
    for name in ("DATABASE_URL", "TEST_DATABASE_URL", "TENANTGUARD_CLI_USER", "NO_COLOR"):
        env.pop(name, None)
    subprocess.run([TENANTGUARD, "demo"], env=env, check=True, capture_output=True, timeout=300)

    planned = subprocess.run(
        [TENANTGUARD, "restore", "plan", "--tenant", "Contoso Test", "--backup-set", "1", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert planned.returncode == 2, planned.stderr
    document = json.loads(planned.stdout)  # log lines never reach stdout
    assert "DEBUG tenantguard.graph" in planned.stderr
    run_id = document["id"]
    assert document["plan"]["next"] == f"tenantguard restore apply {run_id}"

    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "db_worker", "--no-reload", "--interval", "0.2"],
        env={**env, "TENANTGUARD_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        pid, fd = pty.fork()
        if pid == 0:  # the child: `tenantguard restore apply RUN` on the terminal
            os.execve(str(TENANTGUARD), ["tenantguard", "restore", "apply", str(run_id)], env)
        shown = _read_until(fd, "to write to it", seconds=120)
        assert "4 to create, 9 to update" in shown and "Contoso Test" in shown
        os.write(fd, b"Contoso Test\n")
        shown += _read_until(fd, "\0", seconds=300)  # until it exits
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)

    assert os.waitstatus_to_exitcode(status) == 0, shown
    assert f"Restore #{run_id} completed: every written item was verified." in shown
    shown_run = subprocess.run(
        [TENANTGUARD, "restore", "show", str(run_id), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(shown_run.stdout)["status"] == "completed"
