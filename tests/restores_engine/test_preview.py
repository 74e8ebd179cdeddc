"""RestoreDiffGenerator through ``restore_run_run_preview``: planned actions, normalized diffs,
target hashes and the persisted summary, against the emulated demo tenant."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantguard.intune import normalize, target
from tenantguard.restores.models import RestorePreviewItem, RestoreRun
from tenantguard.restores.services import runs
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import (
    MAX_CHANGES,
    MAX_DIFF_BYTES,
    flatten,
    restore_run_run_preview,
)
from tenantguard.restores.services.errors import RestoreRunRefused
from tenantguard.tenants.graph_access import graph_client_for

from .helpers import collection, group_id, item_named, live, preview_of

EDGE = "WIN - SC - Microsoft Edge - Security"
HELLO = "WIN - SC - Windows Hello for Business"
BASELINE = "WIN - SC - Security Hardening Baseline"
WALLPAPER = "WIN - PS - Set Contoso wallpaper"
RESTRICTIONS = "WIN - Device Restrictions - General"


def previewed(owner: Any, run: RestoreRun) -> RestoreRun:
    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)
    return RestoreRun.objects.get(pk=run.pk)


def first_choice_setting(obj: dict[str, Any]) -> dict[str, Any]:
    return next(
        setting["settingInstance"]
        for setting in obj["settings"]
        if "choiceSettingValue" in setting["settingInstance"]
    )


def test_preview_plans_create_update_no_change_and_skip(backup, seeded, tenant, owner, start_run):
    edge = item_named(backup, EDGE)
    seeded.delete_object(collection(edge), edge.source_id)
    hello = item_named(backup, HELLO)
    obj = live(seeded, hello)
    obj["description"] = "changed after the backup"
    seeded.put_object(collection(hello), obj)

    run = previewed(owner, start_run(tenant, backup))

    assert run.status == "previewed"
    assert preview_of(run, EDGE).action == "create"
    assert preview_of(run, EDGE).target_id == ""
    updated = preview_of(run, HELLO)
    assert updated.action == "update"
    assert updated.target_id == hello.source_id
    assert updated.diff["changes"] == [
        {"path": "description", "before": "changed after the backup", "after": ""}
    ]
    assert preview_of(run, WALLPAPER).action == "no_change"
    ca = preview_of(run, "CA001 - Require MFA for administrators")
    assert ca.action == "skip" and "preview-only" in ca.reason
    default_tag = preview_of(run, "Default", "scope_tag")
    assert default_tag.action == "skip" and "built-in" in default_tag.reason

    summary = run.metadata["preview"]["summary"]  # read back from the database
    scoped = backup.items.count()
    assert summary["items"] == scoped == RestorePreviewItem.objects.filter(run=run).count()
    assert summary["policies"]["create"] == 1
    assert summary["policies"]["update"] == 1
    # 2 Conditional Access + 3 enrollment restrictions + 2 policy sets + 9 tenant connectors
    assert summary["policies"]["skip"] == 16
    # 9 tags/filters/templates + 3 reusable settings + 2 custom roles + 6 apps
    # + 3 compliance scripts + 3 named locations + 1 custom authentication strength; skipped:
    # the built-in scope tag and Microsoft's 3 built-in authentication strengths
    assert summary["foundations"] == {"create": 0, "update": 0, "no_change": 27, "skip": 4}
    assert sum(summary["policies"].values()) + sum(summary["foundations"].values()) == scoped
    edge_assignments = len(edge.assignments)
    assert summary["assignments"] == {
        "included": True,
        "added": edge_assignments,
        "removed": 0,
        "skipped": 0,
        "mode": "replace",  # same tenant: the backup's state
        "kept": 0,
        "removals": [],
        "removal_items": 0,
    }
    assert summary["skipped_by_reason"] == {
        "builtin_scope_tag": 1,
        "builtin_object": 3,  # Microsoft's built-in authentication strengths
        "preview_only_type": 16,
    }


def test_settings_catalog_is_compared_per_setting_definition(
    backup, seeded, tenant, owner, start_run
):
    baseline = item_named(backup, BASELINE)
    reordered = live(seeded, baseline)
    assert len(reordered["settings"]) > 3
    reordered["settings"] = list(reversed(reordered["settings"]))
    seeded.put_object(collection(baseline), reordered)
    edge = item_named(backup, EDGE)
    changed = live(seeded, edge)
    instance = first_choice_setting(changed)
    original_value = instance["choiceSettingValue"]["value"]
    instance["choiceSettingValue"]["value"] = original_value + "_changed"
    seeded.put_object(collection(edge), changed)

    run = previewed(owner, start_run(tenant, backup, items=[baseline, edge]))

    assert preview_of(run, BASELINE).action == "no_change", (
        "reordering settings alone changes nothing"
    )
    diff = preview_of(run, EDGE).diff
    assert diff["changes"] == [
        {
            "path": f"settings[{instance['settingDefinitionId']}]"
            ".settingInstance.choiceSettingValue.value",
            "before": original_value + "_changed",
            "after": original_value,
        }
    ]


def test_assignments_are_compared_as_sets_shown_with_group_and_filter_names(
    backup, seeded, tenant, owner, start_run
):
    wallpaper = item_named(backup, WALLPAPER)
    obj = live(seeded, wallpaper)
    broad = group_id(backup, "SG-Intune-Windows-Broad")
    finance = group_id(backup, "SG-Finance-Users")
    for assignment in obj["assignments"]:
        if assignment["target"].get("groupId") == broad:
            assignment["target"]["groupId"] = finance
    obj["assignments"].reverse()  # order alone is no difference
    seeded.put_object(collection(wallpaper), obj)
    restrictions = item_named(backup, RESTRICTIONS)
    obj = live(seeded, restrictions)
    for assignment in obj["assignments"]:
        if assignment["target"].get("deviceAndAppManagementAssignmentFilterId"):
            assignment["target"]["deviceAndAppManagementAssignmentFilterType"] = "exclude"
    seeded.put_object(collection(restrictions), obj)

    run = previewed(owner, start_run(tenant, backup, items=[wallpaper, restrictions]))

    diff = preview_of(run, WALLPAPER).diff
    assert preview_of(run, WALLPAPER).action == "update"
    assert diff["changes"] == []
    assert diff["assignments"]["added"] == [
        {"target": "group", "group_id": broad, "group": "SG-Intune-Windows-Broad"}
    ]
    assert diff["assignments"]["removed"] == [
        {"target": "group", "group_id": finance, "group": "SG-Finance-Users"}
    ]
    filtered = preview_of(run, RESTRICTIONS).diff["assignments"]
    assert [a["filter"] for a in filtered["added"]] == ["Corporate-owned Windows"]
    assert [a["filter_type"] for a in filtered["added"]] == ["include"]
    assert [a["filter_type"] for a in filtered["removed"]] == ["exclude"]
    summary = run.metadata["preview"]["summary"]["assignments"]
    assert summary["added"] == 2 and summary["removed"] == 2


def test_scope_tags_are_compared_by_name(backup, seeded, tenant, owner, start_run):
    wallpaper = item_named(backup, WALLPAPER)
    obj = live(seeded, wallpaper)
    finance = item_named(backup, "Finance", "scope_tag")
    obj["roleScopeTagIds"] = ["0", finance.source_id]
    seeded.put_object(collection(wallpaper), obj)

    run = previewed(owner, start_run(tenant, backup, items=[wallpaper]))

    item = preview_of(run, WALLPAPER)
    assert item.action == "update"
    assert item.diff["scope_tags"] == {"added": [], "removed": ["Finance"]}
    assert run.metadata["preview"]["summary"]["scope_tags"] == {
        "added": 0,
        "removed": 1,
        "items_changed": 1,
    }


def test_a_mapped_group_is_diffed_under_its_target_name(backup, seeded, tenant, owner, start_run):
    wallpaper = item_named(backup, WALLPAPER)
    broad = group_id(backup, "SG-Intune-Windows-Broad")
    pilot = group_id(backup, "SG-Intune-Windows-Pilot")
    run = start_run(tenant, backup, items=[wallpaper], mapping={"group": {broad: pilot}})

    run = previewed(owner, run)

    diff = preview_of(run, WALLPAPER).diff["assignments"]
    assert [a["group"] for a in diff["added"]] == ["SG-Intune-Windows-Pilot"]
    assert [a["group"] for a in diff["removed"]] == ["SG-Intune-Windows-Broad"]


def test_an_explicitly_skipped_assignment_is_listed_not_dropped(
    backup, seeded, tenant, owner, start_run
):
    wallpaper = item_named(backup, WALLPAPER)
    kiosk = group_id(backup, "SG-Kiosk-Exclusions")
    run = start_run(tenant, backup, items=[wallpaper], mapping={"group": {kiosk: None}})

    run = previewed(owner, run)

    diff = preview_of(run, WALLPAPER).diff["assignments"]
    assert [a["group"] for a in diff["skipped"]] == ["SG-Kiosk-Exclusions"]
    assert [a["target"] for a in diff["removed"]] == ["exclusion"]
    assert run.metadata["preview"]["summary"]["assignments"]["skipped"] == 1


def test_without_assignments_they_are_left_as_they_are(backup, seeded, tenant, owner, start_run):
    wallpaper = item_named(backup, WALLPAPER)
    obj = live(seeded, wallpaper)
    obj["assignments"] = obj["assignments"][:1]
    seeded.put_object(collection(wallpaper), obj)

    run = start_run(tenant, backup, items=[wallpaper], options={"include_assignments": False})
    run = previewed(owner, run)

    item = preview_of(run, WALLPAPER)
    assert item.action == "no_change"
    assert item.diff["assignments"] == {"left_as_is": True}
    summary = run.metadata["preview"]["summary"]["assignments"]
    assert summary["included"] is False
    assert "left exactly as they are" in summary["note"]


def test_skips_carry_their_reason(backup, seeded, tenant, owner, start_run):
    edge = item_named(backup, EDGE)
    seeded.delete_object(collection(edge), edge.source_id)
    hello = item_named(backup, HELLO)
    original = live(seeded, hello)
    seeded.delete_object(collection(hello), hello.source_id)
    for _ in range(2):
        seeded.put_object(collection(hello), {k: v for k, v in original.items() if k != "id"})
    wallpaper = item_named(backup, WALLPAPER)
    seeded.delete_object("groups", group_id(backup, "SG-Kiosk-Exclusions"))
    run = start_run(
        tenant, backup, items=[edge, hello, wallpaper], options={"create_missing": False}
    )

    run = previewed(owner, run)

    missing = preview_of(run, EDGE)
    assert missing.action == "skip" and "creating missing objects is off" in missing.reason
    ambiguous = preview_of(run, HELLO)
    assert ambiguous.action == "skip" and "named" in ambiguous.reason
    blocked = preview_of(run, WALLPAPER)
    assert blocked.action == "skip" and "group_missing" in blocked.reason
    assert blocked.target_id == wallpaper.source_id, "a blocked item still shows its target"
    reasons = run.metadata["preview"]["summary"]["skipped_by_reason"]
    assert reasons == {"ambiguous_match": 1, "blocked_by_check": 1, "create_missing_off": 1}


def test_target_hash_is_what_the_executor_recomputes_on_re_read(
    backup, seeded, tenant, owner, start_run
):
    hello = item_named(backup, HELLO)
    obj = live(seeded, hello)
    obj["description"] = "drifted"
    seeded.put_object(collection(hello), obj)
    run = previewed(owner, start_run(tenant, backup, items=[hello]))
    item = preview_of(run, HELLO)

    current = target.read_one(
        graph_client_for(tenant), type_key=hello.policy_type, object_id=item.target_id
    )
    assert current is not None
    recomputed = normalize.content_hash(
        hello.policy_type, current.payload, current.assignments, current.scope_tag_ids
    )
    assert item.target_hash == recomputed

    obj["description"] = "changed again after the preview"
    seeded.put_object(collection(hello), obj)
    current = target.read_one(
        graph_client_for(tenant), type_key=hello.policy_type, object_id=item.target_id
    )
    assert current is not None
    assert item.target_hash != normalize.content_hash(
        hello.policy_type, current.payload, current.assignments, current.scope_tag_ids
    )


def test_large_diffs_are_truncated_with_a_flag_and_counts(
    emulated, tenant, owner, start_run, take_backup
):
    settings = [
        {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
            "settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                "settingDefinitionId": f"vendor_msft_bulk_setting_{index:03}",
                "simpleSettingValue": {
                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValue",
                    "value": f"value {index}",
                },
            },
        }
        for index in range(300)
    ]
    emulated.put_object(
        "deviceManagement/configurationPolicies",
        {
            "name": "WIN - SC - Very large",
            "platforms": "windows10",
            "technologies": "mdm",
            "roleScopeTagIds": ["0"],
            "settings": settings,
        },
    )
    backup = take_backup(tenant)
    large = item_named(backup, "WIN - SC - Very large")
    emulated.delete_object(collection(large), large.source_id)

    run = previewed(owner, start_run(tenant, backup, items=[large]))

    item = preview_of(run, "WIN - SC - Very large")
    assert item.action == "create"
    assert item.diff_truncated is True
    assert 0 < len(item.diff["changes"]) <= MAX_CHANGES
    assert len(json.dumps(item.diff)) <= MAX_DIFF_BYTES
    shown, cut = len(item.diff["changes"]), item.diff["truncated"]["changes"]
    leaves = flatten(normalize.normalize_payload(large.policy_type, large.payload))
    assert len(leaves) > 1500
    assert shown + cut == len(leaves), "what is shown plus what was cut is every change"
    assert run.metadata["preview"]["summary"]["truncated_diffs"] == 1


def test_preview_needs_current_checks_and_reads_nothing_otherwise(
    backup, tenant, owner, start_run, request_log
):
    run = start_run(tenant, backup)
    before = len(request_log())
    with pytest.raises(RestoreRunRefused) as refused:
        restore_run_run_preview(actor=owner, run=run)
    assert "No checks yet" in str(refused.value.reasons)
    assert len(request_log()) == before

    run = restore_run_run_checks(actor=owner, run=run)
    run = runs.restore_run_update_options(actor=owner, run=run, options={"create_missing": False})
    with pytest.raises(RestoreRunRefused) as refused:
        restore_run_run_preview(actor=owner, run=run)
    assert "out of date" in str(refused.value.reasons)


def test_preview_never_writes(backup, seeded, tenant, owner, start_run, request_log):
    edge = item_named(backup, EDGE)
    seeded.delete_object(collection(edge), edge.source_id)
    before = len(request_log())
    previewed(owner, start_run(tenant, backup))
    methods = {entry.method for entry in request_log()[before:]}
    assert methods <= {"GET", "POST"}
    posts = {entry.path for entry in request_log()[before:] if entry.method == "POST"}
    assert posts == {"/beta/$batch"}, "the only POSTs are $batch envelopes of reads"
