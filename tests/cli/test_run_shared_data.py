"""The README's promise: `tenantguard` commands in another terminal work on the data of a running
`make run` (`tenantguard run`), which prints where that data is and how to reach its emulator."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_a_command_in_another_terminal_backs_up_through_the_running_servers_data(tmp_path):
    data_dir = tmp_path / "data"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "TEST_DATABASE_URL", "TENANTGUARD_EMULATOR_URL"}
    }
    # COLUMNS: rich would wrap the banner's long lines at 80 columns in a pipe.
    env |= {
        "TENANTGUARD_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "COLUMNS": "400",
    }
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tenantguard.cli", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not any("Press Ctrl+C" in line for line in lines):
            assert server.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "tenantguard run did not start within 180 s"
            time.sleep(0.5)
        banner = "".join(lines)
        shown_dir = re.search(r"Data directory: (\S+)", banner).group(1)
        assert Path(shown_dir) == data_dir.resolve()
        emulator_url = re.search(r"TENANTGUARD_EMULATOR_URL=(http://127\.0\.0\.1:\d+)", banner)
        assert emulator_url, banner
        served_before = len(
            httpx.get(f"{emulator_url.group(1)}/_emulator/requests").json()["value"]
        )

        # Another terminal, another directory, nothing set beyond the data directory: the same
        # data, and the server's own emulator (found from the record `tenantguard run` keeps).
        command = subprocess.run(
            [
                sys.executable,
                "-m",
                "tenantguard.cli",
                "backup",
                "create",
                "--tenant",
                "Contoso Test",
                "--name",
                "From another terminal",
            ],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert command.returncode == 0, command.stdout + command.stderr
        assert "Completed" in command.stdout
        served_after = len(httpx.get(f"{emulator_url.group(1)}/_emulator/requests").json()["value"])
        assert served_after > served_before, "the command read its own copy of the demo tenant"

        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", follow_redirects=True, timeout=10
        ) as browser:
            browser.get("/admin/login/")
            browser.post(
                "/admin/login/",
                data={
                    "username": "admin",
                    "password": "tenantguard-demo",
                    "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                },
            )
            backups = browser.get("/admin/backups/backupset/").text
        assert "From another terminal" in backups
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        reader.join(timeout=5)
    assert not (data_dir / "emulator-server.json").exists(), "the record outlived the server"
