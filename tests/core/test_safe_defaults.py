"""Safe defaults: DEBUG off unless asked for; a fresh install generates its own secret key and
encryption key into the data directory (owner-only), keeps them, and the environment wins.

Each case imports the settings in a fresh interpreter, as a start of TenantGuard does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet, MultiFernet

from config.keys import derived_encryption_key, legacy_encryption_key

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json, config.settings as s; print(json.dumps({'debug': s.DEBUG, "
    "'secret_key': s.SECRET_KEY, 'keys': s.TENANTGUARD_ENCRYPTION_KEYS}))"
)


def _env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {**os.environ, "TENANTGUARD_DATA_DIR": str(data_dir)}
    for name in (
        "TENANTGUARD_DEBUG",
        "SECRET_KEY",
        "TENANTGUARD_ENCRYPTION_KEY",
        "DATABASE_URL",
        "TEST_DATABASE_URL",
        "TENANTGUARD_HTTPS",
        "DJANGO_SETTINGS_MODULE",
    ):
        env.pop(name, None)
    env.update(overrides)
    return env


def _settings(data_dir: Path, **overrides: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env=_env(data_dir, **overrides),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_fresh_install_runs_without_debug_on_keys_of_its_own(tmp_path):
    first = _settings(tmp_path)

    assert first["debug"] is False
    secrets_file = tmp_path / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    stored = json.loads(secrets_file.read_text())
    assert first["secret_key"] == stored["secret_key"] and len(first["secret_key"]) >= 50
    assert first["keys"] == [stored["encryption_key"]]
    Fernet(first["keys"][0].encode())  # a valid Fernet key
    assert first["secret_key"] != "insecure-development-key-only-for-the-embedded-demo"
    assert legacy_encryption_key() not in first["keys"]

    second = _settings(tmp_path)
    assert second == first  # the same keys on every start

    elsewhere = _settings(tmp_path / "another-install")
    assert elsewhere["secret_key"] != first["secret_key"]
    assert elsewhere["keys"] != first["keys"]  # a copied database does not decrypt elsewhere


def test_the_environment_wins_over_the_generated_keys(tmp_path):
    generated = _settings(tmp_path)
    key = Fernet.generate_key().decode()

    configured = _settings(
        tmp_path, SECRET_KEY="from-the-secret-store", TENANTGUARD_ENCRYPTION_KEY=key
    )
    assert configured["secret_key"] == "from-the-secret-store"
    assert configured["keys"] == [key]

    only_secret_key = _settings(tmp_path, SECRET_KEY="from-the-secret-store")
    assert only_secret_key["keys"] == generated["keys"]


def test_with_both_keys_in_the_environment_no_file_is_written(tmp_path):
    _settings(
        tmp_path, SECRET_KEY="x" * 50, TENANTGUARD_ENCRYPTION_KEY=Fernet.generate_key().decode()
    )
    assert not (tmp_path / "secrets.json").exists()


def test_debug_only_when_asked_for(tmp_path):
    assert _settings(tmp_path, TENANTGUARD_DEBUG="1")["debug"] is True
    assert _settings(tmp_path, TENANTGUARD_DEBUG="0")["debug"] is False


def test_processes_starting_together_agree_on_one_pair_of_keys(tmp_path):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: _settings(tmp_path), range(4)))

    assert all(result == results[0] for result in results)
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]  # no temporary file left


def test_an_install_from_before_keeps_reading_its_secrets(tmp_path):
    """A data directory with a database but no secrets.json was encrypted with the key derived
    from the old public development key: it still decrypts, new values use the new key."""
    (tmp_path / "tenantguard.sqlite3").write_bytes(b"")
    old_value = Fernet(legacy_encryption_key().encode()).encrypt(b"client-secret")

    keys = _settings(tmp_path)["keys"]

    assert keys[1:] == [legacy_encryption_key()]
    fernet = MultiFernet([Fernet(key.encode()) for key in keys])
    assert fernet.decrypt(old_value) == b"client-secret"
    assert Fernet(keys[0].encode()).decrypt(fernet.encrypt(b"new")) == b"new"


def test_an_install_from_before_with_its_own_secret_key_keeps_reading_its_secrets(tmp_path):
    """Such an install had SECRET_KEY set but no encryption key: crypto derived it from that."""
    (tmp_path / "tenantguard.sqlite3").write_bytes(b"")
    old_value = Fernet(derived_encryption_key("its-own-secret-key").encode()).encrypt(b"token")

    keys = _settings(tmp_path, SECRET_KEY="its-own-secret-key")["keys"]

    assert MultiFernet([Fernet(key.encode()) for key in keys]).decrypt(old_value) == b"token"
    assert keys[0] not in (legacy_encryption_key(), derived_encryption_key("its-own-secret-key"))


def test_a_widened_secrets_file_is_made_owner_only_again(tmp_path):
    _settings(tmp_path)
    (tmp_path / "secrets.json").chmod(0o644)

    _settings(tmp_path)

    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_a_damaged_secrets_file_stops_the_start_with_a_clear_error(tmp_path):
    (tmp_path / "secrets.json").write_text('{"secret_key": "s3cr3t-value", "encry')

    done = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    assert (
        "ImproperlyConfigured" in done.stderr
        and "is not a valid TenantGuard secrets file" in done.stderr
    )
    assert "s3cr3t-value" not in done.stderr
    assert "secret_key" in (tmp_path / "secrets.json").read_text()  # never overwritten


def test_the_cli_reports_a_damaged_secrets_file_in_one_line(tmp_path):
    (tmp_path / "secrets.json").write_text("not json")

    done = subprocess.run(
        [sys.executable, "-m", "tenantguard.cli", "tenant", "list"],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("configuration error:")
    assert "secrets.json is not a valid TenantGuard secrets file" in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_tenantguard_run_serves_styles_and_plain_http_cookies_without_debug(tmp_path):
    port = _free_port()
    env = _env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings")
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tenantguard.cli",
            "run",
            "--no-demo",
            "--no-worker",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert run.poll() is None, run.stdout.read()
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
                if login.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "TenantGuard did not start within 90 s"
            time.sleep(0.5)
        css = httpx.get(f"http://127.0.0.1:{port}/static/tenantguard/wizard.css", timeout=10)
        missing = httpx.get(f"http://127.0.0.1:{port}/no-such-page/", timeout=10)
    finally:
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=60)

    assert css.status_code == 200 and "css" in css.headers["content-type"]
    # Debug off: no technical 404 page listing the URL patterns.
    assert missing.status_code == 404 and "URLconf" not in missing.text
    # Plain HTTP on loopback: the CSRF cookie must not be HTTPS-only, or nobody could log in.
    assert "csrftoken" in login.headers["set-cookie"]
    assert "secure" not in login.headers["set-cookie"].lower()
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    keys = json.loads((tmp_path / "secrets.json").read_text())
    assert keys["secret_key"] not in output and keys["encryption_key"] not in output


def test_the_auto_resume_delay_comes_from_the_environment_with_a_floor(tmp_path):
    script = (
        "import config.settings as s; "
        "print(getattr(s, 'TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS', 'unset'))"
    )

    def settings_with(**overrides: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script],
            env=_env(tmp_path, **overrides),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert settings_with().stdout.strip() == "unset"
    assert settings_with(TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS="600").stdout.strip() == "600"
    refused = settings_with(TENANTGUARD_RESTORE_AUTO_RESUME_SECONDS="30")
    assert refused.returncode != 0 and "at least 120" in refused.stderr
