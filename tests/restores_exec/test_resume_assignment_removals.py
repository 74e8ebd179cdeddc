"""A resumed run never removes an assignment the preview did not show (issue 7 A3, review).

The worker dies after writing an object and before assigning it; meanwhile an admin assigns the
policy to one more group. The resumed run reads the target's assignments only then: in
``replace`` mode it used to write the backup's list over them, removing that group's assignment
although no preview ever listed it.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import recovery
from tenantguard.restores.services.execute import RestoreExecutor, restore_run_execute

from .conftest import prepare_run, take_backup

COLLECTION = "deviceManagement/deviceConfigurations"
NAME = "macOS - Device Restrictions"


class WorkerDied(BaseException):
    """The worker process ends here (SIGKILL): nothing after it runs."""


def _object(emulated):
    return next(o for o in emulated.list_objects(COLLECTION) if o["displayName"] == NAME)


def _groups(obj):
    return {a["target"].get("groupId") for a in obj.get("assignments") or []}


@pytest.fixture
def run_died_before_assigning(personas, tenant, seeded, monkeypatch):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    changed = copy.deepcopy(_object(seeded))
    changed["description"] = "edited in the portal after the backup"
    seeded.put_object(COLLECTION, changed)
    item = baseline.items.get(display_name=NAME)
    run = prepare_run(owner, tenant, baseline, item_ids=[item.pk])
    assert run.options.get("assignment_mode") in (None, "replace"), "same tenant: replace"
    assert run.preview_items.get(display_name=NAME).action == "update"

    def die(self, *args, **kwargs):
        raise WorkerDied

    monkeypatch.setattr(RestoreExecutor, "_restore_assignments", die)
    with pytest.raises(WorkerDied):
        restore_run_execute(run_id=run.pk, worker_id="host-a:1:dead")
    monkeypatch.undo()
    assert run.item_outcomes.get(display_name=NAME).stage == "written"
    return run, baseline


def _resume(run, django_capture_on_commit_callbacks):
    RestoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.restores_recover_stalled().resumed == [run.pk]
    run.refresh_from_db()
    return run


def test_an_assignment_added_while_the_run_was_down_is_not_removed(
    run_died_before_assigning, seeded, django_capture_on_commit_callbacks
):
    run, baseline = run_died_before_assigning
    obj = copy.deepcopy(_object(seeded))
    other_group = next(g for g in baseline.group_names if g not in _groups(obj))
    obj["assignments"].append(
        {
            "target": {
                "@odata.type": "#microsoft.graph.groupAssignmentTarget",
                "groupId": other_group,
            }
        }
    )
    seeded.put_object(COLLECTION, obj)

    run = _resume(run, django_capture_on_commit_callbacks)

    assert other_group in _groups(_object(seeded)), "never shown as a removal: not removed"
    outcome = run.item_outcomes.get(display_name=NAME)
    assert outcome.outcome == "failed" and outcome.error_code == "changed_since_preview"
    assert "changed after the preview" in outcome.error_message
    assert run.status in ("partial", "failed"), "reported, never 'completed'"


def test_unchanged_assignments_are_completed_as_previewed_on_resume(
    run_died_before_assigning, seeded, django_capture_on_commit_callbacks
):
    run, _ = run_died_before_assigning
    before = _groups(_object(seeded))

    run = _resume(run, django_capture_on_commit_callbacks)

    assert run.status == "completed", run.results
    outcome = run.item_outcomes.get(display_name=NAME)
    assert outcome.outcome == "updated" and outcome.verified
    assert _groups(_object(seeded)) == before
