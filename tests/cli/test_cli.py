"""The `tenantguard` command, end to end against the emulator served on loopback."""

from __future__ import annotations

import json
import threading

import pytest

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupSet
from tenantguard.cli import main
from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
from tenantguard.emulator.server import parse_tenant_spec, serve_app
from tenantguard.tenants.models import Tenant


@pytest.fixture
def loopback_emulator(demo_objects):
    emulator = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    emulator.add_tenant(tenant_id="lab", token="lab-token-123", seed_objects=demo_objects)
    server = serve_app(emulator, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", emulator
    server.shutdown()
    server.server_close()


@pytest.fixture
def cli_admin(superuser, monkeypatch):
    monkeypatch.setenv("TENANTGUARD_CLI_USER", superuser.username)
    return superuser


def _add_lab_tenant(url, monkeypatch):
    monkeypatch.setenv("LAB_TOKEN", "lab-token-123")
    return main(
        [
            "tenant",
            "add",
            "--name",
            "Lab",
            "--tenant-id",
            "lab",
            "--cloud",
            "custom",
            "--graph-url",
            url,
            "--token-env",
            "LAB_TOKEN",
        ]
    )


def test_tenant_add_list_test_and_backup_over_loopback(
    db, cli_admin, loopback_emulator, monkeypatch, capsys
):
    url, _ = loopback_emulator
    assert _add_lab_tenant(url, monkeypatch) == 0
    tenant = Tenant.objects.get(display_name="Lab")
    assert tenant.static_token == "lab-token-123"
    assert main(["tenant", "list"]) == 0
    assert "Lab" in capsys.readouterr().out
    assert main(["tenant", "test", "Lab"]) == 0
    assert "works" in capsys.readouterr().out

    assert main(["backup", "create", "--tenant", "Lab"]) == 0
    backup_set = BackupSet.objects.get(tenant=tenant)
    assert backup_set.status == "completed" and backup_set.item_count >= 55
    assert main(["backup", "list"]) == 0
    assert str(backup_set.pk) in capsys.readouterr().out

    assert main(["backup", "show", str(backup_set.pk), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["item_count"] == backup_set.item_count
    item = next(
        i
        for i in document["items"]
        if i["assignments"] and any(a["target"].get("groupId") for a in i["assignments"])
    )
    assert all("payload" in i and "scope_tags" in i for i in document["items"])
    assert any(
        a["target"].get("groupDisplayName", "").startswith("SG-") for a in item["assignments"]
    )
    assert "lab-token-123" not in json.dumps(document)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "tenant.created",
        "tenant.connection_tested",
        "backup.started",
        "backup.completed",
    } <= actions


def test_secrets_are_never_taken_from_arguments(db, cli_admin, capsys):
    assert (
        main(
            [
                "tenant",
                "add",
                "--name",
                "X",
                "--tenant-id",
                "x",
                "--token-env",
                "UNSET_VARIABLE_XYZ",
            ]
        )
        == 2
    )
    assert "UNSET_VARIABLE_XYZ is empty" in capsys.readouterr().err
    assert not Tenant.objects.exists()


def test_unknown_tenant_gives_a_clear_error(db, cli_admin, capsys):
    assert main(["backup", "create", "--tenant", "Nope"]) == 2
    assert "No tenant named 'Nope'" in capsys.readouterr().err


def test_cli_is_authorized_like_the_web(db, personas, tenant, monkeypatch, capsys):
    monkeypatch.setenv("TENANTGUARD_CLI_USER", "viewer")
    assert main(["backup", "create", "--tenant", tenant.display_name]) == 3
    assert "needs Operator" in capsys.readouterr().err
    assert not BackupSet.objects.exists()


def test_unknown_cli_user_is_explained(db, monkeypatch, capsys):
    monkeypatch.setenv("TENANTGUARD_CLI_USER", "ghost")
    assert main(["tenant", "list"]) == 2
    assert "No active TenantGuard user 'ghost'" in capsys.readouterr().err


def test_emulator_tenant_spec_parsing():
    spec = parse_tenant_spec("contoso:tok:/tmp/seed")
    assert (spec[0], spec[1], str(spec[2])) == ("contoso", "tok", "/tmp/seed")
    with pytest.raises(ValueError, match="ID:TOKEN"):
        parse_tenant_spec("nonsense")
