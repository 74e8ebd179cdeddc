"""The child processes of ``tenantguard run``: start them, restart a dead worker, stop them all.

Each child runs in its own process group (its own session), so

- stopping means signalling the whole group: anything the child started goes with it;
- Ctrl+C in the terminal reaches only ``tenantguard run``, which stops the children in order
  (SIGTERM, a grace period, then SIGKILL) instead of every process receiving it at once;
- on Linux a child also receives SIGTERM when ``tenantguard run`` itself dies (even by SIGKILL),
  so no worker is left writing to a tenant with nobody watching it.

No Django imports: ``python -m tenantguard.supervisor --parent PID -- COMMAND…`` is the small
launcher that arranges the last point and then becomes COMMAND.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger("tenantguard.run")

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class RestartPolicy:
    """At most ``max_restarts`` within ``window_seconds``; the n-th restart of the window waits
    ``base_delay * 2**(n-1)`` seconds, at most ``max_delay``."""

    max_restarts: int = 5
    window_seconds: float = 600.0
    base_delay: float = 1.0
    max_delay: float = 30.0

    @property
    def window(self) -> str:
        seconds = self.window_seconds
        return f"{seconds:g} s" if seconds < 120 else f"{seconds / 60:g} minutes"

    def delay(self, restart_number: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** max(0, restart_number - 1)))


@dataclass
class ChildSpec:
    """``label`` names the child in messages ("the task worker"); ``restart`` says whether it is
    restarted when it dies (otherwise its death stops everything)."""

    label: str
    argv: list[str]
    env: dict[str, str]
    restart: bool


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    restart_times: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


class ChildFailed(Exception):
    """A child died and is not (or no longer) restarted: ``tenantguard run`` must stop."""


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Supervisor:
    """Starts the children, watches them (``check()``, called periodically) and stops them.

    ``report(message)`` receives each event a person must see (a child died, was restarted,
    was given up); every event is also logged on ``tenantguard.run``.
    """

    def __init__(
        self,
        *,
        report: Callable[[str], None],
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop_grace_seconds: float = 10.0,
    ) -> None:
        self._report = report
        self._policy = policy or RestartPolicy()
        self._clock = clock
        self._stop_grace_seconds = stop_grace_seconds
        self._children: list[_Child] = []

    def start(self, spec: ChildSpec) -> subprocess.Popen[bytes]:
        child = _Child(spec=spec)
        self._children.append(child)
        return self._spawn(child)

    def pids(self) -> dict[str, int]:
        return {
            child.spec.label: child.process.pid
            for child in self._children
            if child.process is not None and child.process.poll() is None
        }

    def check(self) -> None:
        """Restart dead restartable children when their backoff is over; raise ChildFailed when
        a child died that is not restarted, or died too often."""
        now = self._clock()
        for child in self._children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restart_at = None
                    process = self._spawn(child)
                    self._say(f"{child.spec.label} restarted (pid {process.pid}).", error=False)
                continue
            assert child.process is not None
            returncode = child.process.poll()
            if returncode is None:
                continue
            how = describe_exit(returncode)
            # Whatever the dead child started in its group goes with it: nothing it left
            # behind may go on writing to a tenant.
            _signal_group(child.process, signal.SIGKILL)
            if not child.spec.restart:
                raise ChildFailed(
                    f"{child.spec.label} (pid {child.process.pid}) stopped ({how}); "
                    "TenantGuard stops too. The lines above say why."
                )
            while (
                child.restart_times and now - child.restart_times[0] > self._policy.window_seconds
            ):
                child.restart_times.popleft()
            if len(child.restart_times) >= self._policy.max_restarts:
                raise ChildFailed(
                    f"{child.spec.label} (pid {child.process.pid}) stopped ({how}) and has died "
                    f"{len(child.restart_times) + 1} times in {self._policy.window}: "
                    "not restarting it, TenantGuard stops. The lines above say why; fix that "
                    "and start again."
                )
            child.restart_times.append(now)
            number = len(child.restart_times)
            delay = self._policy.delay(number)
            child.restart_at = now + delay
            self._say(
                f"{child.spec.label} (pid {child.process.pid}) stopped unexpectedly ({how}). "
                f"Backups and restores wait until it is back: restarting it in {delay:g} s "
                f"(restart {number} of at most {self._policy.max_restarts} in "
                f"{self._policy.window}).",
                error=True,
            )

    def stop(self) -> None:
        """SIGTERM every child's process group, wait up to the grace period, then SIGKILL."""
        running = [c.process for c in self._children if c.process is not None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + self._stop_grace_seconds
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("pid %s did not stop within the grace period: killed", process.pid)
        for process in running:
            # Also reaches anything a child started in its group, even when the child is gone.
            _signal_group(process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    def _spawn(self, child: _Child) -> subprocess.Popen[bytes]:
        # Call from the thread that lives as long as the supervisor (the main thread): Linux
        # sends the parent-death signal when the *thread* that forked the child ends.
        argv = [
            sys.executable,
            "-m",
            "tenantguard.supervisor",
            "--parent",
            str(os.getpid()),
            "--",
            *child.spec.argv,
        ]
        child.process = subprocess.Popen(argv, env=child.spec.env, start_new_session=True)  # noqa: S603
        logger.info("%s started (pid %s)", child.spec.label, child.process.pid)
        return child.process

    def _say(self, message: str, *, error: bool) -> None:
        (logger.error if error else logger.info)("%s", message)
        self._report(message)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    # The child leads its own group (start_new_session): the group id is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (kept across exec)."""
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        sys.exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tenantguard.supervisor")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    _die_with_parent(args.parent)
    os.execv(command[0], command)  # noqa: S606


if __name__ == "__main__":
    main()
