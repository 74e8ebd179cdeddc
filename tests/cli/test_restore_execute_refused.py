"""`tenantguard restore execute` refused: the run is left exactly as it was (issue 7, D15).

Turning dry-run off, recording the confirmation and queueing are decided together: when the
policy refuses, none of them stays, and the refusal is in the audit trail.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.cli import main
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def previewed_run(personas, tenant):
    """A TEST run previewed by the operator, dry-run still on (as `restore prepare` leaves it)."""
    operator = personas["operator"]
    backup_set = BackupSet.objects.create(
        tenant=tenant, name="Nightly", status="completed", captured_at=timezone.now()
    )
    item = BackupItem.objects.create(
        backup_set=backup_set,
        policy_type="device_configuration",
        category="Device configuration",
        source_id="cfg-1",
        display_name="Windows baseline",
        payload={"displayName": "Windows baseline"},
        content_hash="a" * 64,
    )
    run = runs.restore_run_create(actor=operator, tenant=tenant, backup_set=backup_set)
    run = runs.restore_run_set_scope(actor=operator, run=run, mode="all")
    run = runs.restore_run_record_checks(actor=operator, run=run, results=[], summary={})
    return runs.restore_run_record_preview(
        actor=operator,
        run=run,
        summary={"update": 1},
        items=[
            {
                "policy_type": item.policy_type,
                "source_id": item.source_id,
                "display_name": item.display_name,
                "action": "update",
                "target_id": "t-1",
                "target_hash": "a" * 64,
                "diff": {},
            }
        ],
    )


def _snapshot(run):
    run = RestoreRun.objects.get(pk=run.pk)
    return {
        "status": run.status,
        "dry_run": run.dry_run,
        "metadata": run.metadata,
        "updated_at": run.updated_at,
    }


@pytest.mark.parametrize(
    ("persona", "typed", "reason"),
    [
        ("operator", "contoso test", "exactly"),  # wrong case: the operator may execute on TEST
        ("viewer", "Contoso Test", "Viewer"),  # no role to execute at all
    ],
)
def test_a_refused_execute_changes_nothing_and_is_audited(
    previewed_run, monkeypatch, capsys, persona, typed, reason
):
    before = _snapshot(previewed_run)
    assert before["dry_run"] is True and "confirmation" not in before["metadata"]
    events_before = set(AuditEvent.objects.values_list("pk", flat=True))
    monkeypatch.setenv("TENANTGUARD_CLI_USER", persona)

    code = main(["restore", "execute", str(previewed_run.pk), "--confirm", typed, "--reviewed"])

    assert code == 3
    assert reason in capsys.readouterr().err
    assert _snapshot(previewed_run) == before
    new_events = AuditEvent.objects.exclude(pk__in=events_before)
    assert [e.action for e in new_events] == ["restore.execute_refused"]
    [event] = new_events
    assert event.subject_id == str(previewed_run.pk)
    assert event.actor_label.startswith(persona)
    assert any(reason in r for r in event.details["reasons"])
