"""`tenantguard restore …`: the wizard on the command line, gated by the same policy."""

from __future__ import annotations

import json

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.cli import main
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun


def _seeded_backup(personas, tenant, emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup_set = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )
    apply_demo_drift(emulated, seed=1)
    return backup_set


def test_prepare_then_execute_inline(personas, tenant, emulated, demo_objects, monkeypatch, capsys):
    backup_set = _seeded_backup(personas, tenant, emulated, demo_objects)
    monkeypatch.setenv("TENANTGUARD_CLI_USER", "operator")
    assert (
        main(["restore", "prepare", "--tenant", "Contoso Test", "--backup-set", str(backup_set.pk)])
        == 0
    )
    out = capsys.readouterr().out
    run = RestoreRun.objects.get()
    assert run.status == "previewed" and run.dry_run
    assert "TEST" in out and f"restore execute {run.pk}" in out

    # Wrong-case name: refused with the policy's reason, audited, nothing written.
    assert (
        main(
            [
                "restore",
                "execute",
                str(run.pk),
                "--confirm",
                "contoso test",
                "--reviewed",
                "--inline",
            ]
        )
        == 3
    )
    assert "exactly" in capsys.readouterr().err
    run.refresh_from_db()
    assert run.status == "previewed"
    assert AuditEvent.objects.filter(
        action="restore.execute_refused", subject_id=str(run.pk)
    ).exists()

    assert (
        main(
            [
                "restore",
                "execute",
                str(run.pk),
                "--confirm",
                "Contoso Test",
                "--reviewed",
                "--inline",
            ]
        )
        == 0
    )
    assert "created" in capsys.readouterr().out
    run.refresh_from_db()
    assert run.status == "completed"
    assert main(["restore", "show", str(run.pk), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "completed" and any(
        i["outcome"] == "created" for i in document["items"]
    )
    assert main(["restore", "undo", str(run.pk)]) == 0
    assert RestoreRun.objects.filter(metadata__undo_of=run.pk).exists()


def test_viewer_cannot_prepare(personas, tenant, emulated, demo_objects, monkeypatch, capsys):
    backup_set = _seeded_backup(personas, tenant, emulated, demo_objects)
    monkeypatch.setenv("TENANTGUARD_CLI_USER", "viewer")
    assert (
        main(["restore", "prepare", "--tenant", "Contoso Test", "--backup-set", str(backup_set.pk)])
        == 3
    )
    assert "refused" in capsys.readouterr().err
    assert not RestoreRun.objects.exists()
