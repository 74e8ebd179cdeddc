"""A failing `tenantguard` command prints one clear line and exits non-zero: never a traceback.

Through the real entry point (`tenantguard.cli.main`) or a subprocess of it, against real
sockets: a Graph that answers HTML or cut-off JSON, a port already taken, a bad seed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.tenants.models import Tenant

ROOT = Path(__file__).resolve().parents[2]
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def _one_line_error(captured) -> str:
    """The command's stderr is exactly one line, with no traceback."""
    err = captured.err if hasattr(captured, "err") else captured.stderr
    out = captured.out if hasattr(captured, "out") else captured.stdout
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


class _BrokenGraph(BaseHTTPRequestHandler):
    """Answers every request with what ``server.answer`` holds: (status, content type, body)."""

    def _answer(self) -> None:
        status, content_type, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, format, *args):
        pass


@pytest.fixture
def broken_graph():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenGraph)
    server.answer = (200, "application/json", b"{}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def lab_tenant(db, superuser, broken_graph, monkeypatch):
    monkeypatch.setenv("TENANTGUARD_CLI_USER", superuser.username)
    return Tenant.objects.create(
        display_name="Lab",
        entra_tenant_id="lab",
        environment="test",
        cloud="custom",
        graph_url=f"http://127.0.0.1:{broken_graph.server_port}",
        auth_method="static_token",
        static_token="lab-token-123",
    )


BROKEN_ANSWERS = {
    "html_502": (502, "text/html", HTML_502),
    "truncated_json": (200, "application/json", b'{"value": [{"id": "a", "displayNa'),
    "html_200": (200, "text/html", b"<html><body>Sign in to continue</body></html>"),
}


@pytest.mark.parametrize("answer", sorted(BROKEN_ANSWERS))
def test_graph_answering_garbage_never_gives_a_traceback(answer, lab_tenant, broken_graph, capsys):
    """The Graph client turns a non-JSON body into a GraphError; every command reports it."""
    from tenantguard.backups.models import BackupItem, BackupSet

    backup_set = BackupSet.objects.create(
        tenant=lab_tenant, name="before", status="completed", item_count=1
    )
    BackupItem.objects.create(
        backup_set=backup_set,
        policy_type="device_configuration",
        source_id="cfg-1",
        display_name="Baseline",
        payload={"@odata.type": "#microsoft.graph.windows10GeneralConfiguration"},
        assignments=[],
    )
    broken_graph.answer = BROKEN_ANSWERS[answer]

    tested = main(["tenant", "test", "Lab"])
    test_output = capsys.readouterr()
    main(["restore", "prepare", "--tenant", "Lab", "--backup-set", str(backup_set.pk)])
    prepare_output = capsys.readouterr()
    main(["backup", "create", "--tenant", "Lab"])
    backup_output = capsys.readouterr()

    assert tested != 0
    for captured in (test_output, prepare_output, backup_output):
        assert "Traceback" not in captured.err + captured.out
    expected = "502" if answer == "html_502" else "not JSON"
    assert expected in " ".join(test_output.out.split())


def test_a_secret_that_no_longer_decrypts_is_one_line(lab_tenant, capsys):
    """The database holds a token encrypted with a key this install no longer has."""
    from cryptography.fernet import Fernet
    from django.test import override_settings

    with override_settings(TENANTGUARD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        exit_code = main(["tenant", "test", "Lab"])

    line = _one_line_error(capsys.readouterr())
    assert exit_code != 0
    assert "Lab" in line and "lab-token-123" not in line


def test_a_decryption_error_escaping_a_command_is_one_line(db, monkeypatch, capsys):
    import tenantguard.cli as cli
    from tenantguard.crypto import DecryptionError, decrypt_str

    def reads_a_secret(args):
        return decrypt_str("enc:v1:not-a-token-of-any-key")

    monkeypatch.setattr(cli, "cmd_demo", reads_a_secret)
    with pytest.raises(DecryptionError):
        reads_a_secret(None)

    assert main(["demo"]) == 1
    line = _one_line_error(capsys.readouterr())
    assert "could not be decrypted" in line and "TENANTGUARD_ENCRYPTION_KEY" in line


def _serve_emulator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenantguard.cli", "emulator", "serve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_emulator_serve_on_a_busy_port_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve_emulator("--tenant", "lab:tok:", "--port", str(port))

    assert done.returncode == 2
    line = _one_line_error(done)
    assert f"127.0.0.1:{port}" in line and "--port" in line
    assert "Graph emulator on" not in done.stdout  # it never claimed to be serving


def test_emulator_serve_with_a_bad_seed_is_one_line(tmp_path):
    (tmp_path / "policy.json").write_text("{not json", encoding="utf-8")

    missing = _serve_emulator("--tenant", f"lab:tok:{tmp_path / 'missing'}", "--port", "0")
    broken = _serve_emulator("--tenant", f"lab:tok:{tmp_path}", "--port", "0")
    malformed = _serve_emulator("--tenant", "lab-without-token")

    for done in (missing, broken, malformed):
        assert done.returncode == 2
    assert "does not exist" in _one_line_error(missing)
    assert "policy.json" in _one_line_error(broken)
    assert "ID:TOKEN:SEED_DIR" in _one_line_error(malformed)


def test_an_unexpected_error_is_one_line_unless_debugging(db, monkeypatch, capsys):
    import tenantguard.cli as cli

    def explode(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(cli, "cmd_demo", explode)
    monkeypatch.delenv("TENANTGUARD_DEBUG", raising=False)

    assert main(["demo"]) == 1
    line = _one_line_error(capsys.readouterr())
    assert "RuntimeError: boom second line" in line and "TENANTGUARD_DEBUG=1" in line

    monkeypatch.setenv("TENANTGUARD_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["demo"])


def test_run_on_a_busy_port_is_one_line_before_touching_anything(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exit_code = main(["run", "--port", str(port)])

    assert exit_code == 2
    line = _one_line_error(capsys.readouterr())
    assert f"Port {port} on 127.0.0.1 is already in use" in line and "--port" in line


@pytest.mark.parametrize("description", ["the answer is not JSON", "the answer is not JSON."])
def test_a_graph_error_reads_as_sentences(description):
    from tenantguard.cli import _describe_failure
    from tenantguard.graph.errors import GraphError

    label, message, code = _describe_failure(GraphError(description))
    assert (label, code) == ("Graph error", 1)
    assert message.startswith("the answer is not JSON. Nothing more was done;")
