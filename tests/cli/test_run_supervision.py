"""`tenantguard run` supervises its children: no autoreloader, a dead worker is restarted and
reported, stopping `run` leaves no process behind (Linux: reads /proc)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tenantguard.supervisor import ChildFailed, ChildSpec, RestartPolicy, Supervisor

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def _children(pid: int) -> dict[int, str]:
    """Direct children of ``pid``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def _wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker_of(run_pid: int) -> int | None:
    workers = [pid for pid, cmd in _children(run_pid).items() if "db_worker" in cmd]
    return workers[0] if len(workers) == 1 else None


@pytest.mark.slow
def test_run_restarts_a_killed_worker_never_reloads_and_stops_every_child(tmp_path):
    env = {
        **os.environ,
        "TENANTGUARD_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Debug on is where Django's commands default to their autoreloader.
        "TENANTGUARD_DEBUG": "1",
    }
    for name in ("TEST_DATABASE_URL", "DATABASE_URL", "SECRET_KEY", "TENANTGUARD_ENCRYPTION_KEY"):
        env.pop(name, None)
    port = _free_port()
    log = tmp_path / "run.log"
    with log.open("w") as output:
        run = subprocess.Popen(
            [sys.executable, "-m", "tenantguard.cli", "run", "--no-demo", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    seen: set[int] = set()
    try:

        def web_is_up() -> bool:
            assert run.poll() is None, log.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2).is_success
            except httpx.TransportError:
                return False

        _wait_for(web_is_up, seconds=90, what="the web server")
        worker = _wait_for(lambda: _worker_of(run.pid), seconds=30, what="the worker")
        children = _children(run.pid)
        seen.update(children)
        assert len(children) == 2, children  # the web server and the worker, nothing else
        for child in children:
            assert _children(child) == {}, f"{children[child]} runs under a reloader"

        # A touched source file restarts nothing (the reloader would, within a second or two).
        touched = ROOT / "config" / "keys.py"
        stat = touched.stat()
        os.utime(touched, ns=(stat.st_atime_ns, time.time_ns()))
        try:
            time.sleep(3)
        finally:
            os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert _children(run.pid) == children
        assert all(_children(child) == {} for child in children)

        # A worker that dies is restarted, and said so on stderr.
        os.kill(worker, signal.SIGKILL)
        restarted = _wait_for(
            lambda: (pid := _worker_of(run.pid)) not in (None, worker) and pid,
            seconds=30,
            what="a new worker",
        )
        seen.update(_children(run.pid))
        # The new pid shows in /proc a moment before the supervisor has written its report.
        _wait_for(
            lambda: f"restarted (pid {restarted})" in log.read_text(),
            seconds=10,
            what="the restart report",
        )
        output = log.read_text()
        assert f"task worker (pid {worker}) stopped unexpectedly (killed by SIGKILL)" in output
        assert f"restarted (pid {restarted})" in output
        assert web_is_up()
    finally:
        run.send_signal(signal.SIGTERM)
        exit_code = run.wait(timeout=60)

    assert exit_code == 0, log.read_text()
    assert seen
    _wait_for(lambda: not any(_alive(pid) for pid in seen), seconds=10, what="every child to stop")
    assert "Stopping TenantGuard" in log.read_text()


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_that_keeps_dying_is_restarted_with_backoff_then_given_up():
    reports: list[str] = []
    now = [0.0]
    supervisor = Supervisor(
        report=reports.append,
        policy=RestartPolicy(max_restarts=2, window_seconds=60, base_delay=1.0, max_delay=30),
        clock=lambda: now[0],
        stop_grace_seconds=5,
    )
    first = supervisor.start(
        ChildSpec(
            label="The task worker",
            argv=_python("raise SystemExit(3)"),
            env=dict(os.environ),
            restart=True,
        )
    )
    first.wait(timeout=30)
    try:
        supervisor.check()  # death 1: restart in 1 s
        assert "exit code 3" in reports[-1] and "restarting it in 1 s" in reports[-1]
        now[0] = 0.5
        supervisor.check()
        assert len(reports) == 1  # still waiting out the backoff
        now[0] = 1.0
        supervisor.check()
        assert reports[-1].startswith("The task worker restarted (pid ")
        _wait_for(lambda: not supervisor.pids(), seconds=30, what="the second death")
        supervisor.check()  # death 2: restart in 2 s
        assert "restarting it in 2 s" in reports[-1] and "restart 2 of at most 2" in reports[-1]
        now[0] = 3.0
        supervisor.check()
        _wait_for(lambda: not supervisor.pids(), seconds=30, what="the third death")
        with pytest.raises(ChildFailed, match="died 3 times in 60 s: not restarting"):
            supervisor.check()
    finally:
        supervisor.stop()


def test_a_child_that_must_not_restart_stops_everything():
    supervisor = Supervisor(report=lambda message: None, stop_grace_seconds=5)
    web = supervisor.start(
        ChildSpec(
            label="The web server",
            argv=_python("raise SystemExit(1)"),
            env=dict(os.environ),
            restart=False,
        )
    )
    web.wait(timeout=30)
    with pytest.raises(ChildFailed, match=r"The web server \(pid \d+\) stopped \(exit code 1\)"):
        supervisor.check()
    supervisor.stop()


def test_stop_reaches_what_a_child_started_and_kills_what_ignores_sigterm():
    supervisor = Supervisor(report=lambda message: None, stop_grace_seconds=1)
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "time.sleep(120)\n"
    )
    child = supervisor.start(
        ChildSpec(label="A stubborn child", argv=_python(code), env=dict(os.environ), restart=True)
    )
    grandchild = _wait_for(lambda: list(_children(child.pid)), seconds=30, what="the grandchild")[0]

    started = time.monotonic()
    supervisor.stop()

    assert time.monotonic() - started < 10
    assert child.poll() == -signal.SIGKILL
    _wait_for(lambda: not _alive(grandchild), seconds=10, what="the grandchild to stop")


def test_a_child_gets_sigterm_when_run_itself_is_killed(tmp_path):
    """Even a SIGKILLed `tenantguard run` leaves no worker behind (Linux parent-death signal)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux only")
    pid_file = tmp_path / "child.pid"
    parent_code = (
        "import os, sys, time\n"
        "from tenantguard.supervisor import ChildSpec, Supervisor\n"
        "s = Supervisor(report=print)\n"
        "child = s.start(ChildSpec(label='worker', argv=[sys.executable, '-c', "
        "'import time; time.sleep(120)'], env=dict(os.environ), restart=True))\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=ROOT)
    try:
        child_pid = int(
            _wait_for(lambda: pid_file.exists() and pid_file.read_text(), seconds=30, what="pid")
        )
        _wait_for(lambda: _alive(child_pid), seconds=10, what="the child")
    finally:
        parent.kill()
        parent.wait(timeout=10)
    _wait_for(lambda: not _alive(child_pid), seconds=10, what="the orphaned child to stop")


def test_what_a_dead_child_left_running_is_stopped_before_it_is_restarted(tmp_path):
    """A worker that died must not leave a process of its own writing to a tenant."""
    pid_file = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "raise SystemExit(1)\n"
    )
    reports: list[str] = []
    supervisor = Supervisor(report=reports.append, stop_grace_seconds=5)
    child = supervisor.start(
        ChildSpec(label="The task worker", argv=_python(code), env=dict(os.environ), restart=True)
    )
    try:
        child.wait(timeout=30)
        grandchild = int(pid_file.read_text())
        assert _alive(grandchild)

        supervisor.check()

        assert "stopped unexpectedly (exit code 1)" in reports[-1]
        _wait_for(lambda: not _alive(grandchild), seconds=10, what="the orphan to stop")
    finally:
        supervisor.stop()


@pytest.mark.slow
def test_closing_the_terminal_stops_run_and_its_children_in_order(tmp_path):
    """A closed terminal sends SIGHUP to `tenantguard run` only (its children have their own
    sessions): it must stop them as on Ctrl+C, not die and leave them to the platform (outside
    Linux nothing else stops them)."""
    env = {**os.environ, "TENANTGUARD_DATA_DIR": str(tmp_path)}
    for name in ("TEST_DATABASE_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    port = _free_port()
    log = tmp_path / "run.log"
    with log.open("w") as output:
        run = subprocess.Popen(
            [sys.executable, "-m", "tenantguard.cli", "run", "--no-demo", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: len(_children(run.pid)) == 2, seconds=90, what="web server and worker")
        children = set(_children(run.pid))
    finally:
        run.send_signal(signal.SIGHUP)
        exit_code = run.wait(timeout=60)

    assert exit_code == 0, log.read_text()
    assert "Stopping TenantGuard" in log.read_text()
    _wait_for(lambda: not any(_alive(pid) for pid in children), seconds=10, what="the children")
