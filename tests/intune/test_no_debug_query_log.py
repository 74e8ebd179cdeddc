"""No DEBUG SQL log outside development (issue 10): every way TenantGuard starts (the
``tenantguard`` command, ``manage.py``, the task worker and web server that ``tenantguard run``
starts with ``python -m django``, the WSGI application) runs with Django's DEBUG off unless
``TENANTGUARD_DEBUG=1`` asks for it, so a long backup keeps no copy of its SQL in memory.

Each case starts a fresh interpreter the way that entry point does, runs SQL there and reports
``settings.DEBUG`` and the length of Django's query log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Runs SQL in the process the entry point set up, then reports DEBUG and the query log.
PROBE = (
    "import json; from django.conf import settings; from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    for _ in range(3): cursor.execute('SELECT 1')\n"
    "print('PROBE' + json.dumps({'debug': settings.DEBUG, 'logged': len(connection.queries_log)}))"
)

#: ``tenantguard`` (``tenantguard.cli:main``): a real command, then the probe in its process.
CLI = (
    "import contextlib, io; from tenantguard import cli\n"
    "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
    "    cli.main(['tenant', 'list'])\n" + PROBE
)

ENTRY_POINTS = {
    "tenantguard command": [sys.executable, "-c", CLI],
    "manage.py": [sys.executable, "manage.py", "shell", "-c", PROBE],
    # ``tenantguard run`` starts the worker (db_worker) and web server as `python -m django`
    # with DJANGO_SETTINGS_MODULE=config.settings and its own environment.
    "python -m django (worker, tenantguard run)": [
        sys.executable,
        "-m",
        "django",
        "shell",
        "-c",
        PROBE,
    ],
    "WSGI application": [sys.executable, "-c", "import config.wsgi\n" + PROBE],
}


def _env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {**os.environ, "TENANTGUARD_DATA_DIR": str(data_dir)}
    for name in ("TENANTGUARD_DEBUG", "DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY"):
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(overrides)
    return env


def _probe(argv: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE")]
    assert done.returncode == 0 and lines, (done.stdout[-2000:], done.stderr[-3000:])
    return json.loads(lines[-1].removeprefix("PROBE"))


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_no_entry_point_keeps_a_sql_log_by_default(entry_point, tmp_path):
    result = _probe(ENTRY_POINTS[entry_point], _env(tmp_path))

    assert result == {"debug": False, "logged": 0}, entry_point


def test_the_probe_sees_the_log_when_development_asks_for_debug(tmp_path):
    # The same probe with TENANTGUARD_DEBUG=1 (development) finds DEBUG on and the SQL kept,
    # so the cases above would notice an entry point that turns DEBUG on.
    result = _probe(ENTRY_POINTS["manage.py"], _env(tmp_path, TENANTGUARD_DEBUG="1"))

    assert result["debug"] is True
    assert isinstance(result["logged"], int) and result["logged"] >= 3
