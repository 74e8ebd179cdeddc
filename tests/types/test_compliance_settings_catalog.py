"""Compliance policies on the settings catalog (tenantguard/intune/types/
compliance_settings_catalog.py): Graph's rules in the emulator (settings paged like
configurationPolicies, scheduled actions, setScheduledActions, assign, PUT), the engine's
scheduled actions written through setScheduledActions after a create and on update, and a
restore round trip."""

from __future__ import annotations

from typing import Any

from tenantguard.emulator.testing import group_target
from tenantguard.intune import registry
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, seed, take_backup
from .endpoint_support import DM, backup_state, graph, log_mark, named, writes_since

URL = f"{DM}/compliancePolicies"
COLLECTION = "deviceManagement/compliancePolicies"
ZERO = "00000000-0000-0000-0000-000000000000"


def _setting(index: int) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
        "settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": f"linux_passwordpolicy_setting_{index}",
            "simpleSettingValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                "value": index,
            },
        },
    }


def _actions(grace: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "ruleName": None,
            "scheduledActionConfigurations": [
                {"actionType": "block", "gracePeriodHours": grace, "notificationTemplateId": ZERO}
            ],
        }
    ]


def _body(settings: int = 2) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementCompliancePolicy",
        "name": "LNX - Compliance - Test",
        "description": "",
        "platforms": "linux",
        "technologies": "linuxMdm",
        "roleScopeTagIds": ["0"],
        "settings": [_setting(i) for i in range(settings)],
    }


def test_create_takes_settings_and_fills_what_graph_fills():
    with graph() as client:
        response = client.post(URL, json={**_body(), "isAssigned": True, "settingCount": 9})
        assert response.status_code == 201
        created = response.json()
        assert created["settingCount"] == 2 and created["isAssigned"] is False
        assert created["creationSource"] is None
        assert "version" not in created  # the resource page lists none
        assert "settings" not in created
        settings = client.get(f"{URL}/{created['id']}/settings").json()["value"]
        assert [s["id"] for s in settings] == ["0", "1"]


def test_settings_page_at_25_unless_top_asks_for_more_as_intunecd_does():
    with graph() as client:
        created = client.post(URL, json=_body(settings=30)).json()
        first = client.get(f"{URL}/{created['id']}/settings").json()
        assert len(first["value"]) == 25 and "@odata.nextLink" in first
        whole = client.get(f"{URL}/{created['id']}/settings?&top=1000").json()
        assert len(whole["value"]) == 30 and "@odata.nextLink" not in whole
        expanded = client.get(URL, params={"$expand": "settings"}).json()["value"]
        assert len(expanded[0]["settings"]) == 30


def test_set_scheduled_actions_replaces_them_and_answers_200_with_the_list():
    """Graph's setScheduledActions page: {"scheduledActions": [...]}, 200 with the collection;
    IntuneCD reads them back with $expand=scheduledActionConfigurations."""
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        response = client.post(
            f"{URL}/{created['id']}/setScheduledActions", json={"scheduledActions": _actions(12)}
        )
        assert response.status_code == 200
        (rule,) = response.json()["value"]
        assert rule["id"] and rule["scheduledActionConfigurations"][0]["gracePeriodHours"] == 12
        again = client.post(
            f"{URL}/{created['id']}/setScheduledActions", json={"scheduledActions": _actions(48)}
        )
        assert again.status_code == 200
        read = client.get(
            f"{URL}/{created['id']}/scheduledActionsForRule",
            params={"$expand": "scheduledActionConfigurations"},
        ).json()["value"]
        assert [r["scheduledActionConfigurations"][0]["gracePeriodHours"] for r in read] == [48]
        item = read[0]["scheduledActionConfigurations"][0]
        assert item["notificationMessageCCList"] == [] and item["id"]
        bad = client.post(f"{URL}/{created['id']}/setScheduledActions", json={"x": []})
        assert bad.status_code == 400


def test_assign_answers_200_and_put_replaces_the_settings():
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        assigned = client.post(
            f"{URL}/{created['id']}/assign", json={"assignments": [group_target("g-1")]}
        )
        assert assigned.status_code == 200
        assert [a["target"]["groupId"] for a in assigned.json()["value"]] == ["g-1"]
        client.post(
            f"{URL}/{created['id']}/setScheduledActions", json={"scheduledActions": _actions()}
        )
        put = client.put(f"{URL}/{created['id']}", json=_body(settings=1))
        assert put.status_code == 204
        after = client.get(
            f"{URL}/{created['id']}",
            params={"$expand": "settings,assignments,scheduledActionsForRule"},
        ).json()
        assert after["settingCount"] == 1 and len(after["settings"]) == 1
        assert len(after["assignments"]) == 1 and len(after["scheduledActionsForRule"]) == 1


def test_the_type_writes_scheduled_actions_through_set_scheduled_actions():
    ptype = registry.get("compliance_settings_catalog")
    (action,) = ptype.child_list_actions
    assert (action.property, action.action, action.body_key) == (
        "scheduledActionsForRule",
        "setScheduledActions",
        "scheduledActions",
    )
    assert action.after_create and not action.merges
    assert "scheduledActionsForRule" in ptype.write_excluded_fields
    assert ptype.update_method == "PUT" and ptype.display_name_property == "name"
    assert registry.platform_of(ptype, {"platforms": "linux"}) == "linux"
    kinds = {ref.foundation for ref in ptype.foundation_refs}
    assert {"scope_tag", "notification_template", "reusable_setting"} <= kinds


def test_compliance_settings_catalog_restore_round_trip(personas, tenant, emulated, demo_objects):
    """Seed, back up, change one policy's settings and scheduled actions and delete the
    other, restore, back up again: equal. The deleted one is created (POST) and then gets
    its scheduled actions (setScheduledActions); the changed one is PUT and gets
    setScheduledActions."""
    owner = personas["owner"]
    seed(emulated, demo_objects)
    baseline = take_backup(owner, tenant)
    before = backup_state(baseline, "compliance_settings_catalog")
    assert set(before) == {"LNX - Compliance - Baseline", "LNX - Compliance - Password"}
    policies = emulated.list_objects(COLLECTION)
    changed = named(policies, "LNX - Compliance - Baseline", "name")
    changed["settings"] = changed["settings"][:-1]
    rule = changed["scheduledActionsForRule"][0]
    rule["scheduledActionConfigurations"] = [
        item for item in rule["scheduledActionConfigurations"] if item["actionType"] == "block"
    ]
    rule["scheduledActionConfigurations"][0]["gracePeriodHours"] = 120
    emulated.put_object(COLLECTION, changed)
    deleted = named(policies, "LNX - Compliance - Password", "name")
    emulated.delete_object(COLLECTION, deleted["id"])

    mark = log_mark()
    items = baseline.items.filter(policy_type="compliance_settings_catalog")
    run = prepare_run(owner, tenant, baseline, item_ids=[i.pk for i in items])
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    writes = [(method, path.split("/beta/")[-1]) for method, path, _ in writes_since(mark)]
    created = named(emulated.list_objects(COLLECTION), "LNX - Compliance - Password", "name")
    assert writes.index(("POST", COLLECTION)) < writes.index(
        ("POST", f"{COLLECTION}/{created['id']}/setScheduledActions")
    )
    assert ("PUT", f"{COLLECTION}/{changed['id']}") in writes
    assert ("POST", f"{COLLECTION}/{changed['id']}/setScheduledActions") in writes

    after = backup_state(take_backup(owner, tenant), "compliance_settings_catalog")
    assert after == before
