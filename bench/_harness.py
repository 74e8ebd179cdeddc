"""Shared helpers for the benchmarks: a loopback Graph emulator, measurements, a result table.

Import it from a benchmark script in this folder (``from _harness import ...``; Python puts the
script's folder on ``sys.path``). Run directly, it serves an emulator in its own process, so a
benchmark can keep the emulator's memory out of its own numbers::

    python bench/_harness.py serve --seed-dir DIR --tenant-id bench --token bench-token

prints ``READY http://127.0.0.1:PORT`` once it listens, then serves until killed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from types import ModuleType
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def require(module: str, *, what: str) -> ModuleType:
    """Import ``module`` or exit with a message that says which part is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise SystemExit(
            f"This benchmark needs {what} ({module}), which cannot be imported yet: {exc}.\n"
            "Run it from the repository's virtualenv once that package has landed."
        ) from exc


# ------------------------------------------------------------------------------------------
# Loopback emulator
# ------------------------------------------------------------------------------------------


class _Server(Protocol):
    server_port: int

    def serve_forever(self, poll_interval: float = ...) -> None: ...

    def shutdown(self) -> None: ...

    def server_close(self) -> None: ...


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _make_server(app: Any, host: str, port: int) -> _Server:
    """The emulator's own ``serve_app`` when it exists, else a threading wsgiref server."""
    try:
        server_module = importlib.import_module("tenantguard.emulator.server")
    except ImportError:
        server_module = None
    serve_app = getattr(server_module, "serve_app", None)
    if serve_app is not None:
        server: _Server = serve_app(app, host=host, port=port)
        return server
    return make_server(
        host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )


@dataclass
class LoopbackEmulator:
    """A WSGI app served on 127.0.0.1 from a daemon thread."""

    app: Any
    server: _Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@contextlib.contextmanager
def loopback_emulator(app: Any, *, port: int = 0) -> Iterator[LoopbackEmulator]:
    """Serve ``app`` (a ``GraphEmulator``) on loopback for the duration of the block."""
    server = _make_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, name="bench-emulator", daemon=True)
    thread.start()
    running = LoopbackEmulator(app=app, server=server, thread=thread)
    try:
        yield running
    finally:
        running.close()


@dataclass
class EmulatorProcess:
    """An emulator in a child process (``python bench/_harness.py serve``)."""

    process: subprocess.Popen[str]
    base_url: str

    def request_log(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.base_url}/_emulator/requests", timeout=60) as answer:
            return list(json.load(answer)["value"])

    def rss_kib(self) -> int | None:
        """Resident memory of the emulator process now (Linux only)."""
        status = Path(f"/proc/{self.process.pid}/status")
        if not status.exists():
            return None
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):  # peak resident set size
                return int(line.split()[1])
        return None


@contextlib.contextmanager
def emulator_process(
    *, seed_dir: Path, tenant_id: str, token: str, startup_timeout: float = 600.0
) -> Iterator[EmulatorProcess]:
    """Start a loopback emulator process seeded from ``seed_dir``; stop it afterwards."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "serve",
        "--seed-dir",
        str(seed_dir),
        "--tenant-id",
        tenant_id,
        "--token",
        token,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + startup_timeout
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line or line.startswith("READY "):
                break
        if not line.startswith("READY "):
            raise SystemExit(f"the emulator process did not start (exit code {process.poll()})")
        yield EmulatorProcess(process=process, base_url=line.split()[1])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _serve_main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description="Serve a seeded Graph emulator on loopback.")
    parser.add_argument("--seed-dir", type=Path, required=True)
    parser.add_argument("--tenant-id", default="bench")
    parser.add_argument("--token", default="bench-token")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    emulator_module = require("tenantguard.emulator", what="the Graph emulator")
    emulator = emulator_module.GraphEmulator(
        config=emulator_module.EmulatorConfig(
            throttle=emulator_module.ThrottleConfig(enabled=False)
        )
    )
    emulator.add_tenant(tenant_id=args.tenant_id, token=args.token, seed_dir=args.seed_dir)
    server = _make_server(emulator, "127.0.0.1", args.port)
    print(f"READY http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# ------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (``ru_maxrss``: KiB on Linux, bytes on
    macOS)."""
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


@dataclass
class Measurement:
    """Filled in when the ``measure()`` block ends."""

    wall_seconds: float = 0.0
    tracemalloc_peak_bytes: int | None = None
    max_rss_before_bytes: int = 0
    max_rss_after_bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def measure(*, trace_memory: bool = True) -> Iterator[Measurement]:
    """Wall time, Python-heap peak (``tracemalloc``, slows the code down ~2x) and process peak
    RSS around a block."""
    result = Measurement(max_rss_before_bytes=max_rss_bytes())
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.wall_seconds = time.perf_counter() - started
        if trace_memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            result.tracemalloc_peak_bytes = peak
        result.max_rss_after_bytes = max_rss_bytes()


def mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / (1024 * 1024):,.1f} MiB"


def print_table(title: str, rows: Sequence[tuple[str, object]]) -> None:
    """Two aligned columns under a title."""
    width = max((len(label) for label, _ in rows), default=0)
    print(f"\n{title}")
    print("-" * max(len(title), width + 20))
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        _serve_main(sys.argv[2:])
    else:
        raise SystemExit(__doc__)

__all__ = [
    "REPO_ROOT",
    "EmulatorProcess",
    "LoopbackEmulator",
    "Measurement",
    "emulator_process",
    "loopback_emulator",
    "max_rss_bytes",
    "measure",
    "mib",
    "print_table",
    "require",
]


class HeapWatch:
    """With tracemalloc on (``enabled``), a thread keeps a snapshot of the Python heap at its
    largest (taken when the traced size grew by 10 % since the last one); ``peak`` is the
    traced peak once the block ends, ``top(n)`` the snapshot's ``n`` largest allocation sites."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.snapshot: Any = None
        self.size = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> HeapWatch:
        if self.enabled:
            tracemalloc.start()
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            current, _ = tracemalloc.get_traced_memory()
            if current > self.size * 1.1:
                self.snapshot = tracemalloc.take_snapshot()
                self.size = current

    def top(self, limit: int) -> list[tuple[str, int, int]]:
        """``(file:line, bytes, blocks)`` of the ``limit`` largest allocation sites."""
        if self.snapshot is None or not limit:
            return []
        found = []
        for stat in self.snapshot.statistics("lineno")[:limit]:
            frame = stat.traceback[0]
            where = frame.filename.split("/tenantguard/", 1)[-1].split("/site-packages/", 1)[-1]
            found.append((f"{where}:{frame.lineno}", stat.size, stat.count))
        return found
