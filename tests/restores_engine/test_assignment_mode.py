"""Assignment removals are never silent; ``assignment_mode`` merges or replaces.

The scenario of the report: a cross-tenant restore where the backup's group "SG-Pilot" is
skipped in the mapping and the target's own copy of the policy is assigned to its own
"SG-Pilot" (and to "SG-Target-Only"). Skipping means "do not add": with ``merge`` (the default
into another tenant) the target keeps both; with ``replace`` both are listed as removals in the
preview summary, per item and on step 5, and the execution removes exactly those.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tenantguard.cli import main
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import runs
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import emulated_tenant

from .helpers import preview_of

POLICY = "WIN - Device restrictions - Pilot"
DEVICE_CONFIGURATIONS = "deviceManagement/deviceConfigurations"
GROUP_TARGET = "#microsoft.graph.groupAssignmentTarget"

SRC_PILOT = "0a000000-0000-4000-8000-000000000001"
SRC_BROAD = "0a000000-0000-4000-8000-000000000002"
TGT_PILOT = "0b000000-0000-4000-8000-000000000001"
TGT_BROAD = "0b000000-0000-4000-8000-000000000002"
TGT_ONLY = "0b000000-0000-4000-8000-000000000003"


def group(group_id: str, name: str) -> dict[str, Any]:
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups/$entity",
        "id": group_id,
        "displayName": name,
        "securityEnabled": True,
        "mailEnabled": False,
    }


def policy(*group_ids: str, camera_blocked: bool) -> dict[str, Any]:
    return {
        "@odata.context": f"https://graph.microsoft.com/beta/$metadata#{DEVICE_CONFIGURATIONS}/$entity",
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "displayName": POLICY,
        "description": "",
        "roleScopeTagIds": ["0"],
        "cameraBlocked": camera_blocked,
        "assignments": [
            {"target": {"@odata.type": GROUP_TARGET, "groupId": group_id}} for group_id in group_ids
        ],
    }


def put(emulated: Any, *objects: dict[str, Any]) -> None:
    for obj in objects:
        emulated.put_object(collection_of(obj, source="test"), obj)


@pytest.fixture
def source_backup(emulated: Any, tenant: Any, take_backup: Any) -> Any:
    put(
        emulated,
        group(SRC_PILOT, "SG-Pilot"),
        group(SRC_BROAD, "SG-Broad"),
        policy(SRC_PILOT, SRC_BROAD, camera_blocked=True),
    )
    return take_backup(tenant)


@pytest.fixture
def target(prod_tenant: Any) -> Any:
    emulated = emulated_tenant(prod_tenant)
    put(
        emulated,
        group(TGT_PILOT, "SG-Pilot"),
        group(TGT_BROAD, "SG-Broad"),
        group(TGT_ONLY, "SG-Target-Only"),
        policy(TGT_PILOT, TGT_ONLY, camera_blocked=False),
    )
    return emulated


def prepared(
    owner: Any, start_run: Any, prod_tenant: Any, backup: Any, **options: Any
) -> RestoreRun:
    """Checks and preview with SG-Pilot skipped and SG-Broad mapped to the target's."""
    run = start_run(
        prod_tenant,
        backup,
        items=list(backup.items.filter(display_name=POLICY)),
        mapping={"group": {SRC_PILOT: None, SRC_BROAD: TGT_BROAD}},
        options=options or None,
    )
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.metadata["checks"]["counts"]["blocking"] == 0, list(
        run.check_results.filter(severity="blocking").values_list("code", "message")
    )
    return restore_run_run_preview(actor=owner, run=run)


def execute(owner: Any, run: RestoreRun, label: str) -> RestoreRun:
    run = runs.restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = runs.restore_run_confirm(actor=owner, run=run, acknowledged=True, typed_label=label)
    return restore_run_execute(run_id=runs.restore_run_queue_execution(actor=owner, run=run).pk)


def assigned_groups(emulated: Any) -> set[str]:
    obj = next(
        o for o in emulated.list_objects(DEVICE_CONFIGURATIONS) if o["displayName"] == POLICY
    )
    return {a["target"]["groupId"] for a in obj["assignments"]}


def test_cross_tenant_default_is_merge_and_a_skip_removes_nothing(
    source_backup, target, prod_tenant, owner, start_run
):
    run = prepared(owner, start_run, prod_tenant, source_backup)

    item = preview_of(run, POLICY)
    section = item.diff["assignments"]
    assert section["mode"] == "merge"
    assert [(a["group"], a["group_id"]) for a in section["added"]] == [("SG-Broad", TGT_BROAD)]
    assert section["removed"] == []
    assert [a["group"] for a in section["skipped"]] == ["SG-Pilot"]
    assert section["counts"]["kept"] == 2
    summary = run.metadata["preview"]["summary"]["assignments"]
    assert (summary["mode"], summary["added"], summary["removed"]) == ("merge", 1, 0)

    run = execute(owner, run, prod_tenant.display_name)
    assert run.status == "completed", run.results
    assert assigned_groups(target) == {TGT_PILOT, TGT_ONLY, TGT_BROAD}
    assert run.item_outcomes.get(display_name=POLICY).verified


def test_replace_lists_each_removal_in_summary_item_and_step_5_and_removes_exactly_those(
    source_backup, target, prod_tenant, owner, start_run
):
    run = prepared(owner, start_run, prod_tenant, source_backup, assignment_mode="replace")

    item = preview_of(run, POLICY)
    section = item.diff["assignments"]
    assert section["mode"] == "replace"
    removed = {a["group_id"]: a["group"] for a in section["removed"]}
    assert removed == {TGT_PILOT: "SG-Pilot", TGT_ONLY: "SG-Target-Only"}
    summary = run.metadata["preview"]["summary"]["assignments"]
    assert (summary["removed"], summary["removal_items"]) == (2, 1)
    assert summary["removals"][0]["name"] == POLICY
    assert {a["group"] for a in summary["removals"][0]["removed"]} == {"SG-Pilot", "SG-Target-Only"}

    client = Client()
    client.force_login(owner)
    preview_page = client.get(reverse("restores:preview", args=[run.pk])).content.decode()
    assert "2 assignments of Contoso will be removed" in preview_page
    assert "removed: group <strong>SG-Target-Only</strong>" in preview_page
    run = runs.restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    confirm_page = client.get(reverse("restores:confirm", args=[run.pk])).content.decode()
    assert "2 assignments of Contoso will be removed" in confirm_page
    assert "group <strong>SG-Pilot</strong>" in confirm_page
    assert "group <strong>SG-Target-Only</strong>" in confirm_page

    before = assigned_groups(target)
    run = execute(owner, run, prod_tenant.display_name)
    assert run.status == "completed", run.results
    added = {a["group_id"] for a in section["added"]}
    assert assigned_groups(target) == (before - set(removed)) | added == {TGT_BROAD}
    assert run.item_outcomes.get(display_name=POLICY).verified


def test_same_tenant_default_is_replace(source_backup, tenant, owner, start_run):
    run = start_run(tenant, source_backup)
    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)
    assert run.metadata["preview"]["summary"]["assignments"]["mode"] == "replace"


def test_changing_the_mode_makes_checks_and_preview_stale_and_bad_values_are_refused(
    source_backup, target, prod_tenant, owner, start_run
):
    run = prepared(owner, start_run, prod_tenant, source_backup)
    assert run.status == "previewed"
    client = Client()
    client.force_login(owner)
    response = client.post(
        reverse("restores:options", args=[run.pk]),
        {"create_missing": "on", "include_assignments": "on", "assignment_mode": "replace"},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.options["assignment_mode"] == "replace"
    assert run.status == "scoped", "checks and preview are out of date"

    with pytest.raises(runs.RestoreRunError, match="assignment_mode must be one of merge, replace"):
        runs.restore_run_update_options(actor=owner, run=run, options={"assignment_mode": "wipe"})


def test_api_and_cli_set_the_mode(source_backup, target, prod_tenant, owner, monkeypatch, capsys):
    monkeypatch.setenv("TENANTGUARD_CLI_USER", "owner")
    code = main(
        [
            "restore",
            "prepare",
            "--tenant",
            "Contoso",
            "--backup-set",
            str(source_backup.pk),
            "--map",
            f"group:{SRC_PILOT}=skip",
            "--map",
            f"group:{SRC_BROAD}={TGT_BROAD}",
            "--assignment-mode",
            "replace",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    run = RestoreRun.objects.get()
    assert run.options["assignment_mode"] == "replace"
    assert "-2 removed" in out and "SG-Pilot" in out and "SG-Target-Only" in out

    client = Client()
    client.force_login(owner)
    answer = client.put(
        f"/api/restore-runs/{run.pk}/options",
        data=json.dumps({"assignment_mode": "merge"}),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["options"]["assignment_mode"] == "merge"
    assert answer.json()["status"] == "scoped", "preview out of date"
    refused = client.put(
        f"/api/restore-runs/{run.pk}/options",
        data=json.dumps({"assignment_mode": "wipe"}),
        content_type="application/json",
    )
    assert refused.status_code in (400, 422)
