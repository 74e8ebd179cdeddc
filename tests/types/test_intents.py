"""Endpoint security intents (tenantguard/intune/types/intents.py): Graph's rules in the
emulator (templates and categories as IntuneCD reads them, createInstance, updateSettings,
assign), the engine's create-through-an-action and settings-through-an-action, and a restore
round trip."""

from __future__ import annotations

from typing import Any

from tenantguard.emulator.testing import group_target
from tenantguard.intune import registry
from tenantguard.intune.types.intents import BUILTIN_TEMPLATES
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, seed, take_backup
from .endpoint_support import DM, backup_state, graph, log_mark, named, writes_since

INTENTS = f"{DM}/intents"
TEMPLATES = f"{DM}/templates"
BASELINE = "034ccd46-190c-4afc-adf1-ad7cc11262eb"
CLOUD_BLOCK = "deviceConfiguration--windows10GeneralConfiguration_defenderCloudBlockLevel"
REAL_TIME = "deviceConfiguration--windows10GeneralConfiguration_defenderRequireRealTimeMonitoring"
FIREWALL_DOMAIN = (
    "deviceConfiguration--windows10EndpointProtectionConfiguration_firewallProfileDomain"
)


def _string(definition: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementStringSettingInstance",
        "definitionId": definition,
        "value": value,
        **extra,
    }


def _create(client: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "displayName": "Baseline - test",
        "description": "made by a test",
        "settingsDelta": [_string(CLOUD_BLOCK, "high", id="ignored")],
        "roleScopeTagIds": ["0"],
        **extra,
    }
    response = client.post(f"{TEMPLATES}/{BASELINE}/createInstance", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def test_every_tenant_has_the_templates_with_their_categories():
    with graph() as client:
        listed = client.get(TEMPLATES).json()["value"]
        assert {t["id"] for t in listed} == {obj["id"] for _, obj in BUILTIN_TEMPLATES}
        assert all("categories" not in t for t in listed)  # a navigation property
        categories = client.get(f"{TEMPLATES}/{BASELINE}/categories")
        assert categories.status_code == 200
        # IntuneCD finds the categories of a template by its id in the @odata.context.
        assert BASELINE in categories.json()["@odata.context"]
        assert [c["displayName"] for c in categories.json()["value"]] == [
            "Microsoft Defender",
            "Firewall",
            "Microsoft Edge",
        ]


def test_create_instance_answers_200_with_the_intent_of_that_template():
    """Graph's createInstance page: displayName, description, settingsDelta, roleScopeTagIds;
    200 with the deviceManagementIntent (no createdDateTime, no version on the resource)."""
    with graph() as client:
        created = _create(client)
        assert created["templateId"] == BASELINE
        assert created["@odata.type"] == "#microsoft.graph.deviceManagementIntent"
        assert (
            created["isAssigned"] is False and created["isMigratingToConfigurationPolicy"] is False
        )
        assert "createdDateTime" not in created and "version" not in created
        assert "settings" not in created  # navigation properties are not in the answer
        settings = client.get(f"{INTENTS}/{created['id']}/settings").json()["value"]
        assert [s["definitionId"] for s in settings] == [CLOUD_BLOCK]
        assert settings[0]["id"] != "ignored"
        # A typed instance sent with ``value`` reads back with the base type's valueJson too.
        assert settings[0]["value"] == "high" and settings[0]["valueJson"] == '"high"'
        listed = client.get(INTENTS).json()["value"]
        assert [i["id"] for i in listed] == [created["id"]]


def test_create_instance_refuses_a_missing_name_and_unknown_scope_tags():
    with graph() as client:
        no_name = client.post(f"{TEMPLATES}/{BASELINE}/createInstance", json={"settingsDelta": []})
        assert no_name.status_code == 400
        unknown_tag = client.post(
            f"{TEMPLATES}/{BASELINE}/createInstance",
            json={"displayName": "x", "roleScopeTagIds": ["987"]},
        )
        assert unknown_tag.status_code == 400
        missing = client.post(
            f"{TEMPLATES}/not-a-template/createInstance", json={"displayName": "x"}
        )
        assert missing.status_code == 404
        assert client.get(INTENTS).json()["value"] == []


def test_categories_file_each_setting_under_its_template_category():
    """IntuneCD reads intents/{id}/categories/{categoryId}/settings for each category of the
    template; every setting of the intent must be found there exactly once."""
    with graph() as client:
        created = _create(
            client,
            settingsDelta=[
                _string(CLOUD_BLOCK, "high"),
                {
                    "@odata.type": "#microsoft.graph.deviceManagementComplexSettingInstance",
                    "definitionId": FIREWALL_DOMAIN,
                    "valueJson": '{"firewallEnabled":"allowed"}',
                },
                _string("deviceConfiguration--notInAnyCategory", "x"),
            ],
        )
        categories = client.get(f"{INTENTS}/{created['id']}/categories").json()["value"]
        filed = {}
        for category in categories:
            url = f"{INTENTS}/{created['id']}/categories/{category['id']}/settings"
            response = client.get(url)
            assert created["id"] in response.json()["@odata.context"]
            filed[category["displayName"]] = [s["definitionId"] for s in response.json()["value"]]
        assert filed == {
            "Microsoft Defender": [CLOUD_BLOCK, "deviceConfiguration--notInAnyCategory"],
            "Firewall": [FIREWALL_DOMAIN],
            "Microsoft Edge": [],
        }


def test_update_settings_changes_the_named_settings_by_definition_and_keeps_the_others():
    """updateSettings answers 204. IntuneCD sends the intent's own id as the setting id, so
    settings are matched by definitionId; settings it does not name stay."""
    with graph() as client:
        created = _create(
            client,
            settingsDelta=[
                _string(CLOUD_BLOCK, "high"),
                {
                    "@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance",
                    "definitionId": REAL_TIME,
                    "value": True,
                },
            ],
        )
        before = client.get(f"{INTENTS}/{created['id']}/settings").json()["value"]
        response = client.post(
            f"{INTENTS}/{created['id']}/updateSettings",
            json={"settings": [_string(CLOUD_BLOCK, "zeroTolerance", id=created["id"])]},
        )
        assert response.status_code == 204 and response.content == b""
        after = {
            s["definitionId"]: s
            for s in client.get(f"{INTENTS}/{created['id']}/settings").json()["value"]
        }
        assert after[CLOUD_BLOCK]["value"] == "zeroTolerance"
        assert after[CLOUD_BLOCK]["valueJson"] == '"zeroTolerance"'
        assert after[CLOUD_BLOCK]["id"] == next(
            s["id"] for s in before if s["definitionId"] == CLOUD_BLOCK
        )
        assert after[REAL_TIME]["value"] is True
        refreshed = client.get(f"{INTENTS}/{created['id']}").json()
        assert refreshed["lastModifiedDateTime"] > created["lastModifiedDateTime"]
        bad = client.post(f"{INTENTS}/{created['id']}/updateSettings", json={"settings": "x"})
        assert bad.status_code == 400


def test_assign_answers_204_and_intent_assignments_have_no_source():
    with graph() as client:
        created = _create(client)
        response = client.post(
            f"{INTENTS}/{created['id']}/assign", json={"assignments": [group_target("g-1")]}
        )
        assert response.status_code == 204 and response.content == b""
        listed = client.get(f"{INTENTS}/{created['id']}/assignments").json()["value"]
        assert [sorted(a) for a in listed] == [["id", "target"]]
        assert client.get(f"{INTENTS}/{created['id']}").json()["isAssigned"] is True


def test_patch_ignores_read_only_properties_and_changes_the_name():
    with graph() as client:
        created = _create(client)
        response = client.patch(
            f"{INTENTS}/{created['id']}",
            json={"displayName": "Renamed", "isMigratingToConfigurationPolicy": True},
        )
        assert response.status_code == 204
        after = client.get(f"{INTENTS}/{created['id']}").json()
        assert after["displayName"] == "Renamed"
        assert after["isMigratingToConfigurationPolicy"] is False


def test_an_intent_of_a_template_the_tenant_lacks_gets_a_derived_one():
    with graph() as client:
        response = client.get(f"{TEMPLATES}/0f2b5d70-d4e9-4156-8c16-1397eb6c54a5")
        assert response.status_code == 404
    from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig

    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    try:
        tenant = emu.add_tenant(tenant_id="t", token="tok")
        tenant.put_object(
            "deviceManagement/intents",
            {
                "displayName": "Account protection",
                "templateId": "0f2b5d70-d4e9-4156-8c16-1397eb6c54a5",
                "roleScopeTagIds": ["0"],
                "settings": [_string("deviceConfiguration--x", "y")],
            },
        )
        (intent,) = tenant.list_objects("deviceManagement/intents")
        (category,) = intent["categories"]
        assert [s["definitionId"] for s in category["settings"]] == ["deviceConfiguration--x"]
        template = tenant.get_object(
            "deviceManagement/templates", "0f2b5d70-d4e9-4156-8c16-1397eb6c54a5"
        )
        assert template is not None and template["categories"][0]["id"] == category["id"]
    finally:
        emu.close()


def test_the_type_is_created_by_create_instance_and_its_settings_by_update_settings():
    ptype = registry.get("endpoint_security_intent")
    assert ptype.create_action is not None
    assert ptype.create_action.path == "deviceManagement/templates/{templateId}/createInstance"
    assert [a.action for a in ptype.child_list_actions] == ["updateSettings"]
    assert "settings" in ptype.write_excluded_fields and "templateId" in ptype.create_only_fields
    assert ptype.assign is not None and ptype.assign.expected_status == 204
    # Created after the foundations and the settings catalog policies it may sit beside.
    order = [t.key for t in registry.all_types()]
    assert order.index("reusable_setting") < order.index("endpoint_security_intent")


def _change(intent: dict[str, Any]) -> None:
    intent["description"] = "changed in the portal after the backup"
    for setting in intent["settings"]:
        if setting["definitionId"] == CLOUD_BLOCK:
            setting["value"] = "zeroTolerance"
            setting["valueJson"] = '"zeroTolerance"'
    intent["settings"] = [s for s in intent["settings"] if s["definitionId"] != REAL_TIME]


def test_intents_restore_round_trip(personas, tenant, emulated, demo_objects):
    """Seed, back up, change one intent (a setting value, a removed setting, its description)
    and delete another, restore, back up again: equal. The deleted one is created through
    createInstance (never POST intents), the changed one gets updateSettings and a PATCH."""
    owner = personas["owner"]
    seed(emulated, demo_objects)
    baseline = take_backup(owner, tenant)
    before = backup_state(baseline, "endpoint_security_intent")
    assert set(before) >= {
        "Windows Security Baseline - Pilot",
        "Windows Security Baseline - Kiosk",
        "BitLocker - Corporate devices",
    }
    intents = emulated.list_objects("deviceManagement/intents")
    pilot = named(intents, "Windows Security Baseline - Pilot")
    _change(pilot)
    emulated.put_object("deviceManagement/intents", pilot)
    kiosk = named(intents, "Windows Security Baseline - Kiosk")
    emulated.delete_object("deviceManagement/intents", kiosk["id"])

    mark = log_mark()
    run = prepare_run(
        owner,
        tenant,
        baseline,
        item_ids=[i.pk for i in baseline.items.filter(policy_type="endpoint_security_intent")],
    )
    planned = {p.display_name: p.action for p in run.preview_items.all()}
    assert planned["Windows Security Baseline - Kiosk"] == "create"
    assert planned["Windows Security Baseline - Pilot"] == "update"
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    writes = writes_since(mark)
    paths = [(method, path.split("/beta/")[-1]) for method, path, _ in writes]
    assert ("POST", f"deviceManagement/templates/{BASELINE}/createInstance") in paths
    assert not [p for p in paths if p == ("POST", "deviceManagement/intents")]
    assert ("POST", f"deviceManagement/intents/{pilot['id']}/updateSettings") in paths
    assert ("PATCH", f"deviceManagement/intents/{pilot['id']}") in paths
    assert all(status < 400 for _, _, status in writes), writes

    after = backup_state(take_backup(owner, tenant), "endpoint_security_intent")
    assert after == before


def _client_and_tenant():
    from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
    from tenantguard.graph import GraphClient, StaticTokenProvider

    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    tenant = emu.add_tenant(tenant_id="contoso-test", token="tok")
    client = GraphClient(
        graph_url="https://graph.microsoft.com",
        token_provider=StaticTokenProvider("tok"),
        transport=emu.transport(),
    )
    return emu, tenant, client


def test_update_keeps_and_reports_settings_the_backup_lacks_and_sends_nothing_when_equal():
    """updateSettings cannot remove a setting: one the target has and the backup lacks is
    kept and reported; an intent that already matches gets no request at all."""
    from tenantguard.intune import capture, write

    emu, tenant, client = _client_and_tenant()
    try:
        created = write.create_object(
            client,
            type_key="endpoint_security_intent",
            payload={
                "@odata.type": "#microsoft.graph.deviceManagementIntent",
                "displayName": "Baseline",
                "description": "",
                "templateId": BASELINE,
                "roleScopeTagIds": ["0"],
                "settings": [_string(CLOUD_BLOCK, "high", id="old-id")],
            },
        )
        backup = capture.capture_item(
            client, type_key="endpoint_security_intent", object_id=created
        )
        assert backup is not None and [s["value"] for s in backup.payload["settings"]] == ["high"]
        intent = tenant.get_object("deviceManagement/intents", created)
        assert intent is not None
        intent["settings"].append(_string(REAL_TIME, "extra"))
        intent["settings"][0]["value"] = "low"
        tenant.put_object("deviceManagement/intents", intent)

        warnings: list[str] = []
        mark = len(emu.request_log)
        changed = write.update_object(
            client,
            type_key="endpoint_security_intent",
            target_id=created,
            payload=backup.payload,
            warnings=warnings,
        )
        assert changed is True
        sent = [
            (e.method, e.path.rsplit("/", 1)[-1])
            for e in emu.request_log[mark:]
            if e.method != "GET" and not e.path.endswith("$batch")
        ]
        assert sent == [("POST", "updateSettings")]
        assert len(warnings) == 1 and REAL_TIME in warnings[0] and "kept" in warnings[0]
        after = {
            s["definitionId"]: s["value"]
            for s in tenant.get_object("deviceManagement/intents", created)["settings"]
        }
        assert after == {CLOUD_BLOCK: "high", REAL_TIME: "extra"}

        tenant_intent = tenant.get_object("deviceManagement/intents", created)
        tenant_intent["settings"] = [
            s for s in tenant_intent["settings"] if s["definitionId"] != REAL_TIME
        ]
        tenant.put_object("deviceManagement/intents", tenant_intent)
        mark = len(emu.request_log)
        assert not write.update_object(
            client, type_key="endpoint_security_intent", target_id=created, payload=backup.payload
        )
        assert [
            e for e in emu.request_log[mark:] if e.method != "GET" and not e.path.endswith("$batch")
        ] == []
    finally:
        emu.close()


def test_create_without_a_template_id_is_refused_before_anything_is_sent():
    import pytest

    from tenantguard.intune import write

    emu, _tenant, client = _client_and_tenant()
    try:
        with pytest.raises(write.InvalidPayloadError, match="no templateId"):
            write.create_object(
                client,
                type_key="endpoint_security_intent",
                payload={"displayName": "Orphan", "settings": [], "roleScopeTagIds": ["0"]},
            )
        assert [
            e for e in emu.request_log if e.method != "GET" and not e.path.endswith("$batch")
        ] == []
    finally:
        emu.close()
