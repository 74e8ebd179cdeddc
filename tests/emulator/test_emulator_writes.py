"""Create / update / delete rules of the Intune collections."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tenantguard.emulator import Tenant
from tenantguard.emulator.testing import block_rule, custom_configuration, graph_error

DM = "/beta/deviceManagement"
DC = f"{DM}/deviceConfigurations"
COMPLIANCE = f"{DM}/deviceCompliancePolicies"
SC = f"{DM}/configurationPolicies"


def _message(response: httpx.Response) -> str:
    return str(json.loads(graph_error(response)["message"])["Message"])


def _compliance(**extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "displayName": "Win compliance",
        "passwordRequired": True,
        "scheduledActionsForRule": block_rule(),
        **extra,
    }


def _settings(count: int) -> list[dict[str, Any]]:
    return [
        {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
            "settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                "settingDefinitionId": f"device_vendor_msft_policy_setting_{i}",
                "simpleSettingValue": {
                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                    "value": i,
                },
            },
        }
        for i in range(count)
    ]


def test_post_returns_201_with_server_assigned_fields(client: httpx.Client) -> None:
    """Graph: POST answers 201 with the created object, a new GUID id, timestamps, version."""
    body = custom_configuration(id="client-chosen", version=99, createdDateTime="2000-01-01")
    response = client.post(DC, json=body)
    assert response.status_code == 201
    created = response.json()
    assert created["id"] != "client-chosen" and len(created["id"]) == 36
    assert created["version"] == 1
    assert created["createdDateTime"] == created["lastModifiedDateTime"]
    assert (
        created["createdDateTime"].startswith("20") and created["createdDateTime"] != "2000-01-01"
    )
    assert response.headers["location"].endswith(f"deviceConfigurations('{created['id']}')")


def test_device_configuration_post_without_odata_type_is_400(client: httpx.Client) -> None:
    """Graph: deviceConfigurations are polymorphic; POST without @odata.type is 400."""
    response = client.post(DC, json={"displayName": "No type"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"
    assert "@odata.type" in _message(response)


def test_patch_is_204_and_moves_last_modified_and_version(client: httpx.Client) -> None:
    """Graph: PATCH answers 204; lastModifiedDateTime and version change on every write."""
    created = client.post(DC, json=custom_configuration()).json()
    assert client.patch(f"{DC}/{created['id']}", json={"description": "v2"}).status_code == 204
    after = client.get(f"{DC}/{created['id']}").json()
    assert after["description"] == "v2"
    assert after["version"] == 2
    assert after["lastModifiedDateTime"] > created["lastModifiedDateTime"]
    assert after["createdDateTime"] == created["createdDateTime"]


def test_patch_that_changes_nothing_is_400(client: httpx.Client) -> None:
    """Graph [observed]: a PATCH that changes nothing is 400 "at least 1 property must be changed"."""
    created = client.post(DC, json=custom_configuration(description="same")).json()
    response = client.patch(f"{DC}/{created['id']}", json={"description": "same"})
    assert response.status_code == 400
    assert "at least 1 property must be changed" in _message(response)


def test_read_only_properties_in_a_body_are_ignored(client: httpx.Client) -> None:
    """Graph: server-managed properties (id, createdDateTime, version, ...) in a write body
    are ignored; only real changes count."""
    created = client.post(DC, json=custom_configuration()).json()
    sent = {**created, "version": 42, "id": "other", "description": "changed"}
    assert client.patch(f"{DC}/{created['id']}", json=sent).status_code == 204
    after = client.get(f"{DC}/{created['id']}").json()
    assert after["id"] == created["id"]
    assert after["version"] == 2


def test_delete_is_204_then_404(client: httpx.Client) -> None:
    """Graph: DELETE answers 204; the object is gone afterwards (404)."""
    created = client.post(DC, json=custom_configuration()).json()
    assert client.delete(f"{DC}/{created['id']}").status_code == 204
    assert client.get(f"{DC}/{created['id']}").status_code == 404
    assert client.delete(f"{DC}/{created['id']}").status_code == 404


def test_compliance_post_requires_exactly_one_block_action(client: httpx.Client) -> None:
    """Graph: compliance POST needs exactly one block scheduled action, else 400."""
    for rules in (None, [], block_rule(blocks=2)):
        response = client.post(COMPLIANCE, json=_compliance(scheduledActionsForRule=rules))
        assert response.status_code == 400
        assert "one and only one block scheduled action" in _message(response)
    assert client.post(COMPLIANCE, json=_compliance()).status_code == 201


def test_compliance_get_hides_scheduled_actions_unless_expanded(client: httpx.Client) -> None:
    """Graph: a plain GET of a compliance policy omits scheduledActionsForRule; it comes with
    $expand=scheduledActionsForRule($expand=scheduledActionConfigurations)."""
    created = client.post(COMPLIANCE, json=_compliance()).json()
    assert "scheduledActionsForRule" not in created
    plain = client.get(f"{COMPLIANCE}/{created['id']}").json()
    assert "scheduledActionsForRule" not in plain
    expand = "scheduledActionsForRule($expand=scheduledActionConfigurations)"
    full = client.get(f"{COMPLIANCE}/{created['id']}", params={"$expand": expand}).json()
    actions = full["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
    assert [a["actionType"] for a in actions] == ["block", "notification"]
    assert all(a["id"] for a in actions)
    shallow = client.get(
        f"{COMPLIANCE}/{created['id']}", params={"$expand": "scheduledActionsForRule"}
    ).json()
    assert "scheduledActionConfigurations" not in shallow["scheduledActionsForRule"][0]


def test_compliance_actions_change_through_schedule_actions_for_rules(
    client: httpx.Client,
) -> None:
    """Graph: after create, scheduled actions change through POST {id}/scheduleActionsForRules."""
    created = client.post(COMPLIANCE, json=_compliance()).json()
    url = f"{COMPLIANCE}/{created['id']}/scheduleActionsForRules"
    bad = client.post(url, json={"deviceComplianceScheduledActionForRules": []})
    assert bad.status_code == 400
    rules = [
        {
            "ruleName": "PasswordRequired",
            "scheduledActionConfigurations": [{"actionType": "block", "gracePeriodHours": 12}],
        }
    ]
    good = client.post(url, json={"deviceComplianceScheduledActionForRules": rules})
    assert good.status_code == 204
    expand = "scheduledActionsForRule($expand=scheduledActionConfigurations)"
    full = client.get(f"{COMPLIANCE}/{created['id']}", params={"$expand": expand}).json()
    assert (
        full["scheduledActionsForRule"][0]["scheduledActionConfigurations"][0]["gracePeriodHours"]
        == 12
    )


def test_settings_catalog_create_then_put_replaces_settings(client: httpx.Client) -> None:
    """Graph: settings catalog policies are created with settings and updated by PUT of the
    whole policy (204); settings are read via {id}/settings or $expand=settings."""
    body = {"name": "SC", "platforms": "windows10", "technologies": "mdm", "settings": _settings(3)}
    created = client.post(SC, json=body)
    assert created.status_code == 201
    policy = created.json()
    assert policy["settingCount"] == 3 and "settings" not in policy
    put = client.put(
        f"{SC}/{policy['id']}", json={**body, "name": "SC v2", "settings": _settings(2)}
    )
    assert put.status_code == 204
    after = client.get(f"{SC}/{policy['id']}", params={"$expand": "settings"}).json()
    assert after["name"] == "SC v2"
    assert [s["id"] for s in after["settings"]] == ["0", "1"]
    assert after["settingCount"] == 2
    assert after["lastModifiedDateTime"] > policy["lastModifiedDateTime"]


def test_put_is_not_routed_for_device_configurations(client: httpx.Client) -> None:
    """Graph: only the settings catalog takes PUT; elsewhere it is not routed (400)."""
    created = client.post(DC, json=custom_configuration()).json()
    response = client.put(f"{DC}/{created['id']}", json=custom_configuration())
    assert response.status_code == 400
    assert graph_error(response)["code"] == "No method match route template"


def test_script_list_nulls_script_content_but_get_returns_it(client: httpx.Client) -> None:
    """Graph: a scripts list returns scriptContent: null; GET by id returns the content."""
    url = f"{DM}/deviceManagementScripts"
    created = client.post(
        url, json={"displayName": "S", "fileName": "s.ps1", "scriptContent": "V3JpdGUtSG9zdA=="}
    ).json()
    listed = client.get(url).json()["value"][0]
    assert listed["scriptContent"] is None
    assert client.get(f"{url}/{created['id']}").json()["scriptContent"] == "V3JpdGUtSG9zdA=="


def test_oma_secret_is_returned_as_a_reference(client: httpx.Client) -> None:
    """Graph: encrypted OMA-URI values come back as isEncrypted + secretReferenceValueId with
    no value; getOmaSettingPlainTextValue(secretReferenceValueId='…') returns the plaintext."""
    created = client.post(DC, json=custom_configuration()).json()
    secret, plain = client.get(f"{DC}/{created['id']}").json()["omaSettings"]
    assert secret["isEncrypted"] is True and secret["value"] is None
    assert secret["secretReferenceValueId"]
    assert plain["value"] == 3 and plain["isEncrypted"] is False
    assert "hunter2" not in client.get(DC).text
    ref = secret["secretReferenceValueId"]
    url = f"{DC}/{created['id']}/getOmaSettingPlainTextValue(secretReferenceValueId='{ref}')"
    response = client.get(url)
    assert response.status_code == 200
    assert response.json()["value"] == "hunter2"
    assert client.get(url.replace(ref, "nope")).status_code == 404


def test_oma_plaintext_restore_is_re_encrypted(client: httpx.Client) -> None:
    """Graph: restoring with isEncrypted: false + plaintext stores the value; Graph
    re-encrypts it and answers the reference form again."""
    created = client.post(DC, json=custom_configuration()).json()
    settings = custom_configuration()["omaSettings"]
    settings[0] = {
        **settings[0],
        "isEncrypted": False,
        "secretReferenceValueId": None,
        "value": "new-secret",
    }
    assert client.patch(f"{DC}/{created['id']}", json={"omaSettings": settings}).status_code == 204
    secret = client.get(f"{DC}/{created['id']}").json()["omaSettings"][0]
    assert secret["isEncrypted"] is True and secret["value"] is None
    ref = secret["secretReferenceValueId"]
    url = f"{DC}/{created['id']}/getOmaSettingPlainTextValue(secretReferenceValueId='{ref}')"
    assert client.get(url).json()["value"] == "new-secret"


def test_oma_reference_form_round_trip_keeps_the_secret(client: httpx.Client) -> None:
    """Graph: sending back the reference form (value null) keeps the stored secret."""
    created = client.post(DC, json=custom_configuration()).json()
    current = client.get(f"{DC}/{created['id']}").json()
    patch = {"omaSettings": current["omaSettings"], "description": "touched"}
    assert client.patch(f"{DC}/{created['id']}", json=patch).status_code == 204
    ref = current["omaSettings"][0]["secretReferenceValueId"]
    url = f"{DC}/{created['id']}/getOmaSettingPlainTextValue(secretReferenceValueId='{ref}')"
    assert client.get(url).json()["value"] == "hunter2"


def test_seeded_oma_plaintext_is_stored_and_referenced(emu: Any) -> None:
    """Seed format: omaSettings[i].value with isEncrypted: true is the plaintext to store."""
    seeded = emu.add_tenant(
        tenant_id="seeded",
        token="seeded-token",
        seed_objects=[("deviceManagement/deviceConfigurations", custom_configuration(id="c1"))],
    )
    shown = seeded.get_object("deviceManagement/deviceConfigurations", "c1")
    secret = shown["omaSettings"][0]
    assert secret["value"] is None and secret["isEncrypted"] is True
    from tenantguard.emulator.testing import emulator_client

    with emulator_client(emu, "seeded-token") as c:
        ref = secret["secretReferenceValueId"]
        url = f"{DC}/c1/getOmaSettingPlainTextValue(secretReferenceValueId='{ref}')"
        assert c.get(url).json()["value"] == "hunter2"


def test_admin_template_definition_values_with_bind_urls(client: httpx.Client) -> None:
    """Graph: definition values are created with definition@odata.bind /
    presentation@odata.bind URLs; updateDefinitionValues {added, updated, deletedIds} -> 204;
    read with $expand=definitionValues($expand=definition,presentationValues)."""
    url = f"{DM}/groupPolicyConfigurations"
    gpc = client.post(url, json={"displayName": "ADMX"}).json()
    definitions = "https://graph.microsoft.com/beta/deviceManagement/groupPolicyDefinitions"
    added = {
        "enabled": True,
        "definition@odata.bind": f"{definitions}('def-1')",
        "presentationValues": [
            {
                "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText",
                "value": "hello",
                "presentation@odata.bind": f"{definitions}('def-1')/presentations('p-1')",
            }
        ],
    }
    action = f"{url}/{gpc['id']}/updateDefinitionValues"
    assert (
        client.post(action, json={"added": [added], "updated": [], "deletedIds": []}).status_code
        == 204
    )
    expand = "definitionValues($expand=definition,presentationValues)"
    full = client.get(f"{url}/{gpc['id']}", params={"$expand": expand}).json()
    (value,) = full["definitionValues"]
    assert value["definition"]["id"] == "def-1"
    assert value["presentationValues"][0]["value"] == "hello"
    listed = client.get(
        f"{url}/{gpc['id']}/definitionValues", params={"$expand": "presentationValues"}
    ).json()["value"]
    assert listed[0]["presentationValues"][0]["value"] == "hello"
    assert "definition" not in listed[0]
    definition = client.get(f"{url}/{gpc['id']}/definitionValues/{value['id']}/definition")
    assert definition.json()["id"] == "def-1"
    presentations = client.get(
        f"{url}/{gpc['id']}/definitionValues/{value['id']}/presentationValues"
    ).json()["value"]
    assert len(presentations) == 1
    update = {"added": [], "updated": [{"id": value["id"], "enabled": False}], "deletedIds": []}
    assert client.post(action, json=update).status_code == 204
    delete = {"added": [], "updated": [], "deletedIds": [value["id"]]}
    assert client.post(action, json=delete).status_code == 204
    assert client.get(f"{url}/{gpc['id']}/definitionValues").json()["value"] == []


def test_definition_value_needs_a_bind(client: httpx.Client) -> None:
    """Graph: a definition value without definition@odata.bind is rejected (400)."""
    url = f"{DM}/groupPolicyConfigurations"
    gpc = client.post(url, json={"displayName": "ADMX"}).json()
    response = client.post(f"{url}/{gpc['id']}/definitionValues", json={"enabled": True})
    assert response.status_code == 400
    bound = client.post(
        f"{url}/{gpc['id']}/definitionValues",
        json={"enabled": True, "definition@odata.bind": f"{url}/x/groupPolicyDefinitions('d')"},
    )
    assert bound.status_code == 201


def test_builtin_scope_tag_is_read_only(client: httpx.Client) -> None:
    """Graph: the built-in "Default" scope tag has id "0" and isBuiltIn; it cannot be changed."""
    url = f"{DM}/roleScopeTags"
    default = client.get(f"{url}/0").json()
    assert default["displayName"] == "Default" and default["isBuiltIn"] is True
    assert client.patch(f"{url}/0", json={"displayName": "Mine"}).status_code == 400
    assert client.delete(f"{url}/0").status_code == 400
    created = client.post(url, json={"displayName": "Paris", "isBuiltIn": True}).json()
    assert created["isBuiltIn"] is False
    assert created["id"] == "1"


def test_assignment_filter_uses_role_scope_tags_property(client: httpx.Client) -> None:
    """Graph: assignment filters carry their scope tags in `roleScopeTags`."""
    url = f"{DM}/assignmentFilters"
    body = {
        "displayName": "Corporate",
        "platform": "windows10AndLater",
        "rule": '(device.deviceOwnership -eq "Corporate")',
        "roleScopeTags": ["0"],
    }
    created = client.post(url, json=body).json()
    assert client.get(f"{url}/{created['id']}").json()["roleScopeTags"] == ["0"]


def test_notification_template_localized_messages(client: httpx.Client) -> None:
    """Graph: notificationMessageTemplates have child localizedNotificationMessages (POST 201,
    GET, $expand)."""
    url = f"{DM}/notificationMessageTemplates"
    created = client.post(url, json={"displayName": "Warn", "defaultLocale": "en-us"}).json()
    child = client.post(
        f"{url}/{created['id']}/localizedNotificationMessages",
        json={"locale": "en-us", "subject": "Hi", "messageTemplate": "Fix it", "isDefault": True},
    )
    assert child.status_code == 201
    expanded = client.get(
        f"{url}/{created['id']}", params={"$expand": "localizedNotificationMessages"}
    ).json()
    assert expanded["localizedNotificationMessages"][0]["subject"] == "Hi"


def test_conditional_access_is_read_only(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: Conditional Access policies can be read; writes are refused (403) for this app."""
    tenant.put_object(
        "identity/conditionalAccess/policies",
        {"id": "ca1", "displayName": "Require MFA", "state": "enabled"},
    )
    url = "/v1.0/identity/conditionalAccess/policies"
    assert client.get(url).json()["value"][0]["displayName"] == "Require MFA"
    assert client.get(f"{url}/ca1").status_code == 200
    assert client.post(url, json={"displayName": "x"}).status_code == 403
    assert client.patch(f"{url}/ca1", json={"state": "disabled"}).status_code == 403


def test_enrollment_restrictions_are_listed(client: httpx.Client) -> None:
    """Graph: deviceEnrollmentConfigurations lists the default enrollment restrictions."""
    values = client.get(f"{DM}/deviceEnrollmentConfigurations").json()["value"]
    kinds = {v["deviceEnrollmentConfigurationType"] for v in values}
    assert {"limit", "platformRestrictions"} <= kinds


def test_app_protection_crud_and_managed_app_policies(client: httpx.Client) -> None:
    """Graph: iOS/Android app protections are CRUD; managedAppPolicies lists all of them."""
    base = "/beta/deviceAppManagement"
    ios = client.post(
        f"{base}/iosManagedAppProtections",
        json={
            "displayName": "iOS MAM",
            "apps": [
                {
                    "mobileAppIdentifier": {
                        "@odata.type": "#microsoft.graph.iosMobileAppIdentifier",
                        "bundleId": "com.microsoft.office.outlook",
                    }
                }
            ],
        },
    )
    assert ios.status_code == 201
    assert isinstance(ios.json()["version"], str)
    assert ios.json()["id"].startswith("T_")
    android = client.post(f"{base}/androidManagedAppProtections", json={"displayName": "Droid"})
    assert android.status_code == 201
    listed = client.get(f"{base}/managedAppPolicies").json()["value"]
    assert {p["displayName"] for p in listed} == {"iOS MAM", "Droid"}
    apps = client.get(
        f"{base}/iosManagedAppProtections/{ios.json()['id']}", params={"$expand": "apps"}
    ).json()["apps"]
    assert apps[0]["id"] == "com.microsoft.office.outlook.ios"


def test_groups_can_be_created_and_resolved_by_ids(client: httpx.Client) -> None:
    """Graph: POST /groups creates a group; directoryObjects/getByIds resolves ids."""
    group = client.post(
        "/v1.0/groups",
        json={
            "displayName": "Pilot",
            "mailEnabled": False,
            "mailNickname": "pilot",
            "securityEnabled": True,
        },
    )
    assert group.status_code == 201
    resolved = client.post(
        "/v1.0/directoryObjects/getByIds",
        json={"ids": [group.json()["id"], "missing"], "types": ["group"]},
    ).json()["value"]
    assert [g["displayName"] for g in resolved] == ["Pilot"]
    assert resolved[0]["@odata.type"] == "#microsoft.graph.group"


def test_patch_cannot_change_the_odata_type(client: httpx.Client) -> None:
    """Graph: a PATCH whose @odata.type differs from the object's type is 400."""
    created = client.post(DC, json=custom_configuration()).json()
    body = {"@odata.type": "#microsoft.graph.iosGeneralDeviceConfiguration", "description": "x"}
    assert client.patch(f"{DC}/{created['id']}", json=body).status_code == 400
    same = {"@odata.type": created["@odata.type"], "description": "x"}
    assert client.patch(f"{DC}/{created['id']}", json=same).status_code == 204


def test_managed_app_policies_name_each_item_type(client: httpx.Client) -> None:
    """Graph: managedAppPolicies is typed by its base type, so each item carries @odata.type."""
    base = "/beta/deviceAppManagement"
    client.post(f"{base}/iosManagedAppProtections", json={"displayName": "I"})
    client.post(f"{base}/androidManagedAppProtections", json={"displayName": "A"})
    types = {
        p["displayName"]: p["@odata.type"]
        for p in client.get(f"{base}/managedAppPolicies").json()["value"]
    }
    assert types == {
        "I": "#microsoft.graph.iosManagedAppProtection",
        "A": "#microsoft.graph.androidManagedAppProtection",
    }


def test_unknown_scope_tag_ids_are_400(client: httpx.Client) -> None:
    """Graph (Intune): roleScopeTagIds (and a filter's roleScopeTags) must name existing scope
    tags; the built-in "0" always exists."""
    response = client.post(DC, json=custom_configuration(roleScopeTagIds=["0", "42"]))
    assert response.status_code == 400
    assert "42" in _message(response)
    created = client.post(DC, json=custom_configuration(roleScopeTagIds=["0"]))
    assert created.status_code == 201
    tag = client.post(f"{DM}/roleScopeTags", json={"displayName": "Paris"}).json()
    patch = {"roleScopeTagIds": ["0", tag["id"]]}
    assert client.patch(f"{DC}/{created.json()['id']}", json=patch).status_code == 204
    bad_filter = {"displayName": "F", "platform": "iOS", "rule": "x", "roleScopeTags": ["9"]}
    assert client.post(f"{DM}/assignmentFilters", json=bad_filter).status_code == 400


def test_oma_secret_placeholder_knob() -> None:
    """Emulator knob: oma_secret_placeholder="****" shows encrypted values as "****" (another
    form tenants answer); sending it back keeps the secret."""
    from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig
    from tenantguard.emulator.testing import emulator_client

    emu = GraphEmulator(
        config=EmulatorConfig(throttle=ThrottleConfig(enabled=False), oma_secret_placeholder="****")
    )
    emu.add_tenant(tenant_id="t", token="tok")
    with emulator_client(emu, "tok") as c:
        created = c.post(DC, json=custom_configuration()).json()
        secret = created["omaSettings"][0]
        assert secret["value"] == "****" and secret["isEncrypted"] is True
        patch = {"omaSettings": created["omaSettings"], "description": "x"}
        assert c.patch(f"{DC}/{created['id']}", json=patch).status_code == 204
        ref = secret["secretReferenceValueId"]
        url = f"{DC}/{created['id']}/getOmaSettingPlainTextValue(secretReferenceValueId='{ref}')"
        assert c.get(url).json()["value"] == "hunter2"
