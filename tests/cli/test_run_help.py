"""What the README's first minutes promise about `make run` / `tenantguard run`: another port,
flags that explain themselves, and one data directory for the server and the command line."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tenantguard.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _run_parser() -> argparse.ArgumentParser:
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return commands.choices["run"]


def test_every_flag_of_tenantguard_run_has_a_help_text():
    options = [action for action in _run_parser()._actions if action.dest != "help"]
    assert {action.dest for action in options} >= {"port", "emulator_port", "no_worker", "no_demo"}
    silent = [action.option_strings[0] for action in options if not (action.help or "").strip()]
    assert not silent, f"`tenantguard run` flags without a help text: {silent}"


def test_run_help_names_the_port_default_and_the_shared_data_directory():
    text = " ".join(_run_parser().format_help().split())  # unwrapped
    assert "default: 8000" in text and "make run PORT=8080" in text
    assert "TENANTGUARD_DATA_DIR" in text and "other `tenantguard` commands use the same" in text


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_port_passes_the_port_to_tenantguard_run():
    def planned(*args: str) -> str:
        env = {key: value for key, value in os.environ.items() if key != "PORT"}
        return subprocess.run(
            ["make", "-n", "run", *args], cwd=ROOT, env=env, capture_output=True, text=True
        ).stdout

    assert "tenantguard run --port 8080" in planned("PORT=8080")
    assert "tenantguard run --port 8000" in planned()


def test_the_command_line_finds_the_checkout_data_directory_from_any_directory(tmp_path):
    """The README tells people to run `.venv/bin/tenantguard ...` next to `make run`: without
    TENANTGUARD_DATA_DIR both must use <checkout>/var, wherever the command is started."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TENANTGUARD_DATA_DIR", "DATABASE_URL", "TENANTGUARD_EMULATOR_STATE_DIR"}
    }
    # Keys from the environment: the settings then generate no secrets.json anywhere.
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "test-only-secret-key-for-a-settings-import",
        "TENANTGUARD_ENCRYPTION_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
    }
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATA_DIR); print(settings.DATABASES['default']['NAME']); "
        "print(settings.TENANTGUARD_EMULATOR_STATE_DIR)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    data_dir, database, emulator_state = result.stdout.split()
    assert Path(data_dir) == ROOT / "var"
    assert Path(database) == ROOT / "var" / "tenantguard.sqlite3"
    assert Path(emulator_state) == ROOT / "var" / "emulator"
