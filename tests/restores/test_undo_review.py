"""Review findings on undo and on the run page's "Changes" filter (issue 9 §2).

- An undo's source is the target's own pre-restore snapshot: its references are the target's
  ids, so the original run's mapping (keyed by the source backup's ids) is not carried. A
  carried scope tag key of another tenant hit an unrelated tag of the target, and a carried
  "skip" of a group dropped an assignment the snapshot holds.
- An undo of a restore that wrote assignments writes the snapshot's assignments back in
  ``replace`` mode: ``merge`` could never remove the assignments the restore added.
- An item whose object was unchanged but whose assignments were written changed the tenant:
  the run page's default "Changes" filter (and its count) lists it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.models import BackupSet
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import apply_demo_drift, demo_tenant_objects
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import registry
from tenantguard.restores import selectors
from tenantguard.restores.models import (
    ItemOutcome,
    RestorePreviewItem,
    RestoreRun,
    RestoreStatus,
)
from tenantguard.restores.services import runs
from tenantguard.restores.services.analysis import restore_run_analysis_run
from tenantguard.restores.services.checks import (
    restore_run_mapping_needs,
    restore_run_run_checks,
)
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.restores.services.undo import restore_run_undo
from tenantguard.tenants.graph_access import emulated_tenant

FINANCE_PRINTERS = "WIN - PS - Map Finance printers"
SCRIPTS = "deviceManagement/deviceManagementScripts"
SCOPE_TAGS = "deviceManagement/roleScopeTags"
PILOT_RING = "WIN - Update Ring - Pilot"


@pytest.fixture
def baseline(personas: dict[str, Any], tenant: Any, emulated: Any, demo_objects: Any) -> BackupSet:
    """A backup of TEST (Contoso Test) holding the demo configuration."""
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup_set = backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    return backup_set_capture(backup_set=backup_set)


def _execute(owner: Any, run: RestoreRun) -> RestoreRun:
    """Checks, preview, dry-run off, confirmation, execution: as an admin does it."""
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.metadata["checks"]["counts"]["blocking"] == 0, [
        (row.code, row.message) for row in run.check_results.filter(severity="blocking")
    ]
    run = restore_run_run_preview(actor=owner, run=run)
    run = runs.restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = runs.restore_run_confirm(
        actor=owner, run=run, acknowledged=True, typed_label=run.tenant_label
    )
    run = restore_run_execute(run_id=runs.restore_run_queue_execution(actor=owner, run=run).pk)
    assert run.status in (RestoreStatus.COMPLETED, RestoreStatus.PARTIAL), run.results
    return run


def _undo_analysed(owner: Any, run: RestoreRun, held_analysis: Any) -> RestoreRun:
    """Undo ``run`` and let the worker run the undo's checks, then its preview."""
    undo = restore_run_undo(actor=owner, run=run)
    assert held_analysis.jobs[-1] == (undo.pk, undo.analysis["job"])
    assert restore_run_analysis_run(run_id=undo.pk, job_id=undo.analysis["job"]) == "done"
    undo = RestoreRun.objects.get(pk=undo.pk)
    assert restore_run_analysis_run(run_id=undo.pk, job_id=undo.analysis["job"]) == "done"
    undo = RestoreRun.objects.select_related("tenant", "backup_set").get(pk=undo.pk)
    assert undo.status == RestoreStatus.PREVIEWED, undo.analysis
    return undo


def _live(emulated: Any, item: Any) -> dict[str, Any]:
    obj = emulated.get_object(registry.get(item.policy_type).collection, item.source_id)
    assert obj is not None, f"{item.display_name} is not in the emulated tenant"
    return obj


def _groups(obj: dict[str, Any]) -> set[str]:
    return {str(a["target"].get("groupId")) for a in obj.get("assignments") or []}


def test_undo_of_a_cross_tenant_restore_puts_back_the_scope_tag_the_restore_removed(
    personas, baseline, prod_tenant, held_analysis, django_capture_on_commit_callbacks
):
    """The reviewer's scenario: TEST's Finance tag is 1352; in PROD, 1352 is another tag (HR).
    The restore maps 1352 -> PROD's Finance (1112) and removes HR from the script; a carried
    mapping turned the snapshot's HR (1352) into Finance again, so the undo saw nothing to do."""
    owner = personas["owner"]
    prod = emulated_tenant(prod_tenant)
    for obj in demo_tenant_objects(tenant_label="Contoso", seed=202):
        prod.put_object(collection_of(obj, source="test"), obj)
    printers = baseline.items.get(display_name=FINANCE_PRINTERS)
    test_finance = printers.scope_tag_ids[0]
    prod_finance = next(
        tag["id"] for tag in prod.list_objects(SCOPE_TAGS) if tag["displayName"] == "Finance"
    )
    assert test_finance != prod_finance
    # PROD has a tag of its own under TEST's Finance id, and the script carries it.
    prod.put_object(SCOPE_TAGS, {"id": test_finance, "displayName": "HR", "description": ""})
    script = next(
        obj for obj in prod.list_objects(SCRIPTS) if obj["displayName"] == FINANCE_PRINTERS
    )
    script["roleScopeTagIds"] = [prod_finance, test_finance]
    prod.put_object(SCRIPTS, script)

    run = runs.restore_run_create(actor=owner, tenant=prod_tenant)
    run = runs.restore_run_select_source(actor=owner, run=run, backup_set=baseline)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=[printers.pk])
    run = restore_run_run_checks(actor=owner, run=run)
    mapping = {
        kind: {need["source_id"]: need["suggestion"]["id"] for need in needs if need["suggestion"]}
        for kind, needs in restore_run_mapping_needs(run).items()
        if needs
    }
    assert mapping["scope_tag"] == {test_finance: prod_finance}
    run = runs.restore_run_update_mapping(actor=owner, run=run, mapping=mapping)
    run = runs.restore_run_update_options(
        actor=owner, run=run, options={"source_identifiers": "replace"}
    )
    run = _execute(owner, run)
    assert prod.get_object(SCRIPTS, script["id"])["roleScopeTagIds"] == [prod_finance]

    undo = _undo_analysed(owner, run, held_analysis)

    assert undo.group_mapping == {}
    item = RestorePreviewItem.objects.get(run=undo, display_name=FINANCE_PRINTERS)
    assert item.action == "update", item.diff
    assert item.diff["scope_tags"] == {"added": ["HR"], "removed": []}
    undo = _execute(owner, undo)
    assert sorted(prod.get_object(SCRIPTS, script["id"])["roleScopeTagIds"]) == sorted(
        [prod_finance, test_finance]
    )
    event = AuditEvent.objects.get(action="restore.undo_started", subject_id=str(undo.pk))
    assert event.details["mapping"] == {}
    assert event.details["original_mapping"] == {"group": len(mapping["group"]), "scope_tag": 1}
    assert "target tenant's own ids" in event.details["mapping_reason"]


def test_undo_does_not_carry_a_group_skip_and_puts_back_the_assignment_the_restore_removed(
    personas, tenant, baseline, emulated, held_analysis, django_capture_on_commit_callbacks
):
    """The restore skipped SG-Intune-Windows-Broad and replaced the drifted ring's assignment
    to it; a carried skip dropped that assignment from the undo too."""
    owner = personas["owner"]
    apply_demo_drift(emulated, seed=1)  # the Pilot ring now targets Broad only
    ring = baseline.items.get(display_name=PILOT_RING)
    broad = next(
        gid for gid, name in baseline.group_names.items() if name == "SG-Intune-Windows-Broad"
    )
    drifted = _groups(_live(emulated, ring))
    assert drifted == {broad}
    run = runs.restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=[ring.pk])
    run = runs.restore_run_update_mapping(actor=owner, run=run, mapping={"group": {broad: None}})
    run = _execute(owner, run)
    assert broad not in _groups(_live(emulated, ring))

    undo = _undo_analysed(owner, run, held_analysis)

    assert undo.group_mapping == {}
    item = RestorePreviewItem.objects.get(run=undo, display_name=PILOT_RING)
    assert [row["group_id"] for row in item.diff["assignments"]["added"]] == [broad]
    assert item.diff["assignments"]["skipped"] == []
    _execute(owner, undo)
    assert _groups(_live(emulated, ring)) == drifted


def test_undo_of_a_merge_restore_that_added_assignments_plans_and_makes_their_removal(
    personas, tenant, baseline, emulated, held_analysis, django_capture_on_commit_callbacks
):
    owner = personas["owner"]
    apply_demo_drift(emulated, seed=1)
    ring = baseline.items.get(display_name=PILOT_RING)
    drifted = _groups(_live(emulated, ring))
    run = runs.restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=[ring.pk])
    run = runs.restore_run_update_options(
        actor=owner, run=run, options={"assignment_mode": "merge"}
    )
    run = _execute(owner, run)
    added = _groups(_live(emulated, ring)) - drifted
    assert added, "the merge added the backup's assignments"

    undo = _undo_analysed(owner, run, held_analysis)

    assert undo.options["assignment_mode"] == "replace"
    assert undo.options["include_assignments"] is True
    item = RestorePreviewItem.objects.get(run=undo, display_name=PILOT_RING)
    assert {row["group_id"] for row in item.diff["assignments"]["removed"]} == added
    summary = undo.metadata["preview"]["summary"]["assignments"]
    assert summary["mode"] == "replace" and summary["removed"] == len(added)
    assert [entry["name"] for entry in summary["removals"]] == [PILOT_RING]
    event = AuditEvent.objects.get(action="restore.undo_started", subject_id=str(undo.pk))
    assert event.details["options"]["assignment_mode"] == "replace"
    assert event.details["original_options"] == {"assignment_mode": "merge"}
    assert "merge" in event.details["options_reasons"]["assignment_mode"]
    _execute(owner, undo)
    assert _groups(_live(emulated, ring)) == drifted


def test_undo_of_a_restore_that_left_assignments_alone_leaves_them_alone(
    personas, tenant, baseline, emulated, held_analysis, django_capture_on_commit_callbacks
):
    owner = personas["owner"]
    apply_demo_drift(emulated, seed=1)  # the Broad ring's deferrals changed
    ring = baseline.items.get(display_name="WIN - Update Ring - Broad")
    run = runs.restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=[ring.pk])
    run = runs.restore_run_update_options(
        actor=owner, run=run, options={"include_assignments": False}
    )
    run = _execute(owner, run)
    assert run.item_outcomes.get().outcome == ItemOutcome.UPDATED

    undo = _undo_analysed(owner, run, held_analysis)

    assert undo.options["include_assignments"] is False
    assert undo.metadata["preview"]["summary"]["assignments"]["included"] is False
    event = AuditEvent.objects.get(action="restore.undo_started", subject_id=str(undo.pk))
    assert "include_assignments" in event.details["options_reasons"]


def test_an_assignment_only_update_is_listed_under_changes_on_the_run_page(
    personas, tenant, baseline, emulated, client
):
    """The merge adds the backup's assignments to an object whose payload is as in the
    backup: its outcome is ``unchanged`` with ``assignments_written``; the page's default
    filter must not tell the admin that nothing changed."""
    owner = personas["owner"]
    apply_demo_drift(emulated, seed=1)
    ring = baseline.items.get(display_name=PILOT_RING)
    run = runs.restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=[ring.pk])
    run = runs.restore_run_update_options(
        actor=owner, run=run, options={"assignment_mode": "merge"}
    )
    run = _execute(owner, run)
    outcome = run.item_outcomes.get()
    assert (outcome.outcome, outcome.assignments_written) == (ItemOutcome.UNCHANGED, True)

    changes = selectors.item_outcomes(run, outcome=selectors.CHANGES_FILTER)
    assert list(changes) == [outcome]
    assert list(selectors.item_outcomes(run, outcome=ItemOutcome.UNCHANGED)) == [outcome]

    client.force_login(owner)
    page = client.get(reverse("restores:run", args=[run.pk])).content.decode()
    assert 'data-filter="changes"' in page and "Changes (1)" in page
    assert 'id="no-changes"' not in page
    assert PILOT_RING in page
    # The row says what was written, not "Unchanged".
    assert 'data-assignments-written="true">Assignments updated</span>' in page


def test_an_unchanged_item_without_assignment_writes_stays_out_of_changes(
    personas, tenant, baseline, emulated
):
    """The other side of the filter: an object and assignments as in the backup is quiet."""
    owner = personas["owner"]
    apply_demo_drift(emulated, seed=1)
    ring = baseline.items.get(display_name="WIN - Update Ring - Broad")
    unchanged = baseline.items.get(display_name="WIN - PS - Set Contoso wallpaper")
    run = runs.restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    run = runs.restore_run_set_scope(
        actor=owner, run=run, mode="selected", item_ids=[ring.pk, unchanged.pk]
    )
    run = runs.restore_run_update_options(
        actor=owner, run=run, options={"include_assignments": False}
    )
    run = _execute(owner, run)
    quiet = run.item_outcomes.get(source_id=unchanged.source_id)
    assert (quiet.outcome, quiet.assignments_written) == (ItemOutcome.UNCHANGED, False)
    changes = selectors.item_outcomes(run, outcome=selectors.CHANGES_FILTER)
    assert [row.display_name for row in changes] == ["WIN - Update Ring - Broad"]


def test_the_undo_message_says_what_the_undo_carried(
    personas, tenant, baseline, emulated, held_analysis, client, django_capture_on_commit_callbacks
):
    owner = personas["owner"]
    apply_demo_drift(emulated, seed=1)
    ring = baseline.items.get(display_name=PILOT_RING)
    run = runs.restore_run_create(actor=owner, tenant=tenant, backup_set=baseline)
    run = runs.restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=[ring.pk])
    run = runs.restore_run_update_options(
        actor=owner, run=run, options={"assignment_mode": "merge"}
    )
    run = _execute(owner, run)

    client.force_login(owner)
    response = client.post(reverse("restores:undo", args=[run.pk]))

    assert response.status_code == 302
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert "assignments in replace mode" in message
    assert "those the restore added are removed" in message
    assert "no mapping" in message
    assert "same scope, mapping and options" not in message
