"""Policy sets (``deviceAppManagement/policySets``, tenantguard/intune/types/policy_sets.py):
Graph's rules in the emulator; backed up, diffed, never written, with the reason shown."""

from __future__ import annotations

import copy

from tenantguard.intune import registry, write
from tenantguard.intune.types.policy_sets import PREVIEW_ONLY_REASON
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, take_backup
from .apps_support import (
    APPS,
    BETA,
    backup_state,
    by_name,
    graph,
    log_size,
    seed_collections,
    writes_to,
)

COLLECTION = "deviceAppManagement/policySets"
URL = f"{BETA}/policySets"


def _item(payload_id):
    return {
        "@odata.type": "#microsoft.graph.mobileAppPolicySetItem",
        "payloadId": payload_id,
        "intent": "required",
    }


def test_list_and_get_expand_items_and_assignments_and_graph_fills_the_status():
    with graph() as client:
        body = {
            "@odata.type": "#microsoft.graph.policySet",
            "displayName": "Baseline",
            "roleScopeTags": ["0"],
            "items": [_item("app-1")],
            "status": "success",
        }
        created = client.post(URL, json=body)
        assert created.status_code == 201
        policy_set = created.json()
        assert policy_set["status"] == "notAssigned" and policy_set["errorCode"] == "noError"
        assert "version" not in policy_set and "items" not in policy_set
        listed = client.get(URL, params={"$expand": "assignments,items"}).json()["value"]
        assert [i["payloadId"] for i in listed[0]["items"]] == ["app-1"]
        assert listed[0]["assignments"] == []
        items = client.get(f"{URL}/{policy_set['id']}/items").json()["value"]
        assert items[0]["@odata.type"] == "#microsoft.graph.mobileAppPolicySetItem"


def test_policy_sets_are_preview_only_with_a_reason():
    ptype = registry.get("policy_set")
    assert ptype.is_preview_only
    assert ptype.preview_only_reason == PREVIEW_ONLY_REASON
    assert "Policy sets" in PREVIEW_ONLY_REASON
    assert not write.is_writable("policy_set")
    assert ptype.scope_tag_property == "roleScopeTags"


def test_policy_sets_are_backed_up_and_diffed_but_never_written(
    personas, tenant, emulated, demo_objects
):
    owner = personas["owner"]
    seed_collections(emulated, demo_objects, APPS, COLLECTION)
    baseline = take_backup(owner, tenant)
    before = backup_state(baseline, "policy_set")
    assert set(before) == {"Windows - Baseline apps", "iOS - Finance bundle"}
    sets = by_name(emulated, "policy_set")
    changed = copy.deepcopy(sets["Windows - Baseline apps"])
    changed["description"] = "Edited in the portal"
    changed["items"] = changed["items"][:1]
    emulated.put_object(COLLECTION, changed)
    emulated.delete_object(COLLECTION, sets["iOS - Finance bundle"]["id"])

    start = log_size()
    run = prepare_run(owner, tenant, baseline)
    checks = run.check_results.filter(code="preview_only_type", item_type="policy_set")
    assert checks.count() == 2
    assert all(check.resolution == PREVIEW_ONLY_REASON for check in checks)
    planned = {p.display_name: p for p in run.preview_items.filter(policy_type="policy_set")}
    edited = planned["Windows - Baseline apps"]
    assert (edited.action, edited.diff["skip_code"]) == ("skip", "preview_only_type")
    assert PREVIEW_ONLY_REASON in edited.reason
    paths = {change["path"] for change in edited.diff["changes"]}
    assert "description" in paths
    assert any(path.startswith("items[") for path in paths)
    assert planned["iOS - Finance bundle"].action == "skip"

    restore_run_execute(run_id=run.pk)
    assert writes_to(emulated, COLLECTION, since=start) == []
    assert set(by_name(emulated, "policy_set")) == {"Windows - Baseline apps"}
