"""The pure parts of the engines, without database or Graph: the diff's flattening and bounds,
and RestoreRiskChecker / RestoreDiffGenerator over hand-built target states."""

from __future__ import annotations

import json
from typing import Any

from tenantguard.intune import normalize
from tenantguard.intune.capture import CapturedItem
from tenantguard.intune.target import TargetState
from tenantguard.restores.services.checks import RestoreRiskChecker
from tenantguard.restores.services.diff import (
    MAX_CHANGES,
    MAX_DIFF_BYTES,
    MAX_VALUE_BYTES,
    RestoreDiffGenerator,
    bound_diff,
    flatten,
    payload_changes,
)
from tenantguard.restores.services.source import BackupNames, RunInputs, SourceItem, TargetGroups

GROUP_TARGET = "#microsoft.graph.groupAssignmentTarget"
FILTER_ID = "deviceAndAppManagementAssignmentFilterId"
FILTER_TYPE = "deviceAndAppManagementAssignmentFilterType"


def setting(definition_id: str, value: str, children: list[Any] | None = None) -> dict[str, Any]:
    instance: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": definition_id,
        "choiceSettingValue": {"value": value, "children": children or []},
    }
    return {"settingInstance": instance}


def test_settings_are_addressed_by_definition_id_at_every_depth():
    child = {"settingDefinitionId": "child_b", "simpleSettingValue": {"value": 1}}
    leaves = flatten({"settings": [setting("a", "a_on"), setting("b", "b_on", [child])]})
    assert leaves["settings[a].settingInstance.choiceSettingValue.value"] == "a_on"
    assert (
        leaves[
            "settings[b].settingInstance.choiceSettingValue.children[child_b]"
            ".simpleSettingValue.value"
        ]
        == 1
    )
    assert leaves["settings[a].settingInstance.choiceSettingValue.children"] == []


def test_reordering_list_elements_with_an_identity_is_no_change():
    before = {"settings": [setting("a", "1"), setting("b", "2")], "platforms": ["x", "y"]}
    after = {"settings": [setting("b", "2"), setting("a", "1")], "platforms": ["x", "y"]}
    assert payload_changes(before, after) == []
    # a list of plain values is compared whole: its order is its content
    after["platforms"] = ["y", "x"]
    assert payload_changes(before, after) == [
        {"path": "platforms", "before": ["x", "y"], "after": ["y", "x"]}
    ]


def test_elements_without_a_distinct_identity_are_addressed_by_position():
    leaves = flatten({"rules": [{"x": 1}, {"x": 2}]})
    assert leaves == {"rules[0].x": 1, "rules[1].x": 2}


def test_absent_and_null_are_the_same():
    assert payload_changes({"a": None}, {}) == []
    assert payload_changes(None, {"a": 1}) == [{"path": "a", "before": None, "after": 1}]


def test_bound_diff_keeps_small_diffs_untouched():
    diff = {"changes": [{"path": "a", "before": 1, "after": 2}], "assignments": {}}
    bounded, truncated = bound_diff(diff)
    assert truncated is False
    assert bounded == diff


def test_bound_diff_cuts_large_values_and_many_changes_and_counts_them():
    big = "x" * (MAX_VALUE_BYTES + 10)
    changes = [{"path": f"p{i:04}", "before": None, "after": i} for i in range(MAX_CHANGES + 50)]
    changes[0] = {"path": "script", "before": big, "after": "short"}
    bounded, truncated = bound_diff({"changes": changes, "assignments": {"added": []}})
    assert truncated is True
    assert bounded["changes"][0]["before"] == {"omitted": True, "bytes": len(big) + 2}
    assert len(bounded["changes"]) == MAX_CHANGES
    assert bounded["truncated"] == {"changes": 50, "values": 1, "assignments": 0}


def test_bound_diff_stays_under_the_byte_budget():
    value = "v" * (MAX_VALUE_BYTES - 100)
    changes = [{"path": f"p{i}", "before": value, "after": None} for i in range(20)]
    bounded, truncated = bound_diff({"changes": changes})
    assert truncated is True
    assert len(json.dumps(bounded)) <= MAX_DIFF_BYTES
    assert len(bounded["changes"]) + bounded["truncated"]["changes"] == 20


# ---- checker and generator over a hand-built target ---------------------------------------------


def source_item(assignments: list[dict[str, Any]] | None, **payload: Any) -> SourceItem:
    body = {
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "displayName": "Kiosk lockdown",
        "roleScopeTagIds": ["0"],
        **payload,
    }
    return SourceItem(
        type_key="device_configuration",
        source_id="src-1",
        display_name="Kiosk lockdown",
        payload=body,
        assignments=assignments,
        scope_tag_ids=list(body["roleScopeTagIds"]),
        content_hash=normalize.content_hash(
            "device_configuration", body, assignments, body["roleScopeTagIds"]
        ),
    )


def captured(item: SourceItem, object_id: str, **changes: Any) -> CapturedItem:
    payload = {**item.payload, "id": object_id, **changes}
    return CapturedItem(
        type_key=item.type_key,
        source_id=object_id,
        display_name=item.display_name,
        platform="windows",
        payload=payload,
        assignments=[],
        scope_tag_ids=list(payload["roleScopeTagIds"]),
        source_modified_at=None,
    )


def group_assignment(group: str, filter_id: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"@odata.type": GROUP_TARGET, "groupId": group}
    if filter_id:
        target[FILTER_ID] = filter_id
        target[FILTER_TYPE] = "include"
    return {"target": target}


def checker(
    item: SourceItem, state: TargetState, mapping: dict[str, Any], *, same_tenant: bool
) -> RestoreRiskChecker:
    return RestoreRiskChecker(
        items=[item],
        target_state=state,
        inputs=RunInputs(mapping=mapping, same_tenant=same_tenant, target_label="Contoso"),
        backup_names=BackupNames(groups={"g-kiosk": "SG-Kiosk"}),
        target_groups=TargetGroups(
            existing={"g-kiosk": "SG-Kiosk"} if same_tenant else {"g-prod": "SG-Kiosk-Prod"},
            named={},
        ),
    )


def test_same_tenant_references_that_still_exist_are_fine():
    item = source_item([group_assignment("g-kiosk")])
    state = TargetState(items=[captured(item, "src-1")])
    results = checker(item, state, {}, same_tenant=True).run()
    assert [r.code for r in results] == ["safe"]


def test_across_tenants_the_same_ids_are_not_trusted():
    item = source_item([group_assignment("g-kiosk", filter_id="f-1")])
    state = TargetState(items=[captured(item, "prod-1")])
    codes = sorted(r.code for r in checker(item, state, {}, same_tenant=False).run())
    assert codes == ["filter_missing", "group_missing"]


def test_a_skipped_group_needs_no_filter_and_a_bad_mapping_still_blocks():
    item = source_item([group_assignment("g-kiosk", filter_id="f-1")])
    state = TargetState(items=[captured(item, "prod-1")])
    skipped = checker(item, state, {"group": {"g-kiosk": None}}, same_tenant=False).run()
    assert [r.code for r in skipped] == ["safe"], "the whole assignment is skipped"
    bad = checker(item, state, {"group": {"g-kiosk": "g-gone"}}, same_tenant=False).run()
    group = next(r for r in bad if r.code == "group_missing")
    assert group.details["status"] == "mapped_missing"
    summary = RestoreRiskChecker.summarize(bad)
    assert summary["blocking"] == 2 and summary["blocked_items"] == 1
    assert summary["by_code"] == {"filter_missing": 1, "group_missing": 1}


def test_generator_plans_create_update_and_no_change_without_io():
    item = source_item([group_assignment("g-prod")], passwordRequired=True)
    same = TargetState(items=[captured(item, "prod-1")])
    changed = TargetState(items=[captured(item, "prod-1", passwordRequired=False)])
    empty = TargetState()

    def plan(state: TargetState) -> Any:
        generator = RestoreDiffGenerator(
            items=[item],
            target_state=state,
            inputs=RunInputs(mapping={}, same_tenant=False, target_label="Contoso"),
            backup_names=BackupNames(groups={"g-prod": "SG-Kiosk-Prod"}),
            target_groups=TargetGroups(existing={"g-prod": "SG-Kiosk-Prod"}),
        )
        [planned] = generator.run()
        return planned

    created = plan(empty)
    assert created.action == "create" and created.target_hash == ""
    assert created.diff["assignments"]["added"][0]["group"] == "SG-Kiosk-Prod"
    updated = plan(changed)
    assert updated.action == "update"
    assert {"path": "passwordRequired", "before": False, "after": True} in updated.diff["changes"]
    # the target has no assignments while the backup has one: that is a difference too
    assert updated.diff["assignments"]["counts"]["added"] == 1
    assert updated.target_hash == normalize.content_hash(
        item.type_key,
        changed.items(item.type_key)[0].payload,
        [],
        ["0"],
    )
    no_assignments = source_item([], passwordRequired=True)
    generator = RestoreDiffGenerator(
        items=[no_assignments],
        target_state=same,
        inputs=RunInputs(mapping={}, same_tenant=False),
        backup_names=BackupNames(),
        target_groups=TargetGroups(),
    )
    assert generator.run()[0].action == "no_change"
