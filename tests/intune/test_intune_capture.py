"""Capture against a fake Graph (see conftest.py) through the real GraphClient."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from tenantguard.intune import capture, registry
from tenantguard.intune.capture import CapturedItem, CaptureProgress, CaptureWarning

DC = "deviceManagement/deviceConfigurations"
CP = "deviceManagement/configurationPolicies"
COMPLIANCE = "deviceManagement/deviceCompliancePolicies"
SECRET = "correct horse battery staple"


def group_target(group_id: str, filter_id: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.groupAssignmentTarget",
        "groupId": group_id,
    }
    if filter_id:
        target["deviceAndAppManagementAssignmentFilterId"] = filter_id
        target["deviceAndAppManagementAssignmentFilterType"] = "include"
    return target


def assignment(object_id: str, group_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"{object_id}_{group_id}", "source": "direct", "sourceId": object_id,
            "target": group_target(group_id), **extra}  # fmt: skip


def catalog_policy(object_id: str, n_settings: int, *, family: str = "none") -> dict[str, Any]:
    return {
        "id": object_id,
        "name": f"Catalog {object_id}",
        "platforms": "windows10",
        "technologies": "mdm",
        "roleScopeTagIds": ["0"],
        "lastModifiedDateTime": "2024-05-01T10:00:00Z",
        "templateReference": {"templateId": "", "templateFamily": family},
        "assignments": [assignment(object_id, "group-a")],
        "settings": [
            {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
                "id": str(index),
                "settingInstance": {
                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                    "settingDefinitionId": f"setting_{index:03d}",
                    "simpleSettingValue": {
                        "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                        "value": index,
                    },
                },
            }
            for index in range(n_settings)
        ],
    }


def populate(fake) -> None:
    """A little tenant with every type the capture treats specially."""
    fake.add(
        "deviceManagement/roleScopeTags", {"id": "0", "displayName": "Default", "isBuiltIn": True}
    )
    fake.add(
        "deviceManagement/roleScopeTags", {"id": "7", "displayName": "Berlin", "isBuiltIn": False}
    )
    fake.add(
        "deviceManagement/assignmentFilters",
        {
            "id": "filter-1",
            "displayName": "Corporate",
            "platform": "windows10AndLater",
            "rule": '(device.deviceOwnership -eq "Corporate")',
            "roleScopeTags": ["0", "7"],
        },
    )
    fake.add(
        "deviceManagement/notificationMessageTemplates",
        {
            "id": "tmpl-1",
            "displayName": "Mail",
            "roleScopeTagIds": ["0"],
            "localizedNotificationMessages": [
                {
                    "id": "tmpl-1_en-us",
                    "locale": "en-us",
                    "subject": "Fix it",
                    "messageTemplate": "...",
                }
            ],
        },
    )
    fake.add(
        DC,
        {
            "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
            "id": "dc-1",
            "displayName": "Restrictions",
            "roleScopeTagIds": ["0", "7"],
            "version": 2,
            "assignments": [{"id": "a", "target": group_target("group-a", "filter-1")}],
        },
    )
    fake.add(
        DC,
        {
            "@odata.type": "#microsoft.graph.windows10CustomConfiguration",
            "id": "oma-1",
            "displayName": "Custom Wi-Fi",
            "roleScopeTagIds": ["0"],
            "assignments": [assignment("oma-1", "group-b")],
            "omaSettings": [
                {
                    "@odata.type": "#microsoft.graph.omaSettingString",
                    "displayName": "Key",
                    "omaUri": "./Vendor/MSFT/WiFi/Key",
                    "isEncrypted": True,
                    "secretReferenceValueId": "ref-1",
                    "value": None,
                },
                {
                    "@odata.type": "#microsoft.graph.omaSettingInteger",
                    "displayName": "Plain",
                    "omaUri": "./Vendor/MSFT/Plain",
                    "isEncrypted": False,
                    "value": 3,
                },
            ],
        },
    )
    fake.secrets["ref-1"] = SECRET
    fake.add(
        DC,
        {
            "@odata.type": "#microsoft.graph.windowsUpdateForBusinessConfiguration",
            "id": "ring-1",
            "displayName": "Ring 1",
            "assignments": [],
        },
    )
    fake.add(
        DC,
        {
            "@odata.type": "#microsoft.graph.someFutureConfiguration",
            "id": "future-1",
            "displayName": "From the future",
            "assignments": [],
        },
    )
    fake.add(
        COMPLIANCE,
        {
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
            "id": "comp-1",
            "displayName": "Compliance",
            "roleScopeTagIds": ["0"],
            "assignments": [assignment("comp-1", "group-a")],
            "scheduledActionsForRule": [
                {
                    "id": "r",
                    "ruleName": None,
                    "scheduledActionConfigurations": [
                        {
                            "id": "b",
                            "actionType": "block",
                            "gracePeriodHours": 0,
                            "notificationTemplateId": "tmpl-1",
                        }
                    ],
                }
            ],
        },
    )
    fake.add(CP, catalog_policy("cat-1", 3))
    fake.add(CP, catalog_policy("es-1", 2, family="endpointSecurityFirewall"))
    fake.add(
        "deviceManagement/groupPolicyConfigurations",
        {
            "id": "gp-1",
            "displayName": "ADMX",
            "assignments": [],
            "definitionValues": [
                {
                    "id": "dv-1",
                    "enabled": True,
                    "definition": {"id": "def-1", "displayName": "D"},
                    "presentationValues": [],
                }
            ],
        },
    )
    fake.add(
        "deviceManagement/deviceManagementScripts",
        {
            "id": "ps-1",
            "displayName": "Script",
            "fileName": "x.ps1",
            "assignments": [],
            "scriptContent": base64.b64encode(b"Write-Host hi").decode(),
        },
    )
    fake.add(
        "deviceManagement/deviceHealthScripts",
        {
            "id": "hs-1",
            "displayName": "Remediation",
            "assignments": [
                assignment(
                    "hs-1",
                    "group-c",
                    runRemediationScript=True,
                    runSchedule={
                        "@odata.type": "#microsoft.graph.deviceHealthScriptDailySchedule",
                        "interval": 1,
                    },
                )
            ],
            "detectionScriptContent": "ZGV0ZWN0",
            "remediationScriptContent": "cmVtZWRpYXRl",
        },
    )
    fake.add(
        "deviceAppManagement/iosManagedAppProtections",
        {
            "@odata.type": "#microsoft.graph.iosManagedAppProtection",
            "id": "T_ios",
            "displayName": "iOS MAM",
            "assignments": [],
            "apps": [
                {
                    "id": "com.x.ios",
                    "mobileAppIdentifier": {
                        "@odata.type": "#microsoft.graph.iosMobileAppIdentifier",
                        "bundleId": "com.x",
                    },
                }
            ],
        },
    )
    fake.add(
        "deviceAppManagement/androidManagedAppProtections",
        {
            "@odata.type": "#microsoft.graph.androidManagedAppProtection",
            "id": "T_and",
            "displayName": "Android MAM",
            "assignments": [],
            "apps": [],
        },
    )
    fake.add(
        "deviceManagement/windowsAutopilotDeploymentProfiles",
        {
            "@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",
            "id": "ap-1",
            "displayName": "Autopilot",
            "assignments": [assignment("ap-1", "group-d")],
        },
    )
    fake.add(
        "deviceManagement/windowsDriverUpdateProfiles",
        {"id": "drv-1", "displayName": "Drivers", "assignments": []},
    )
    fake.add(
        "deviceManagement/windowsFeatureUpdateProfiles",
        {"id": "feat-1", "displayName": "24H2", "assignments": []},
    )
    fake.add(
        "identity/conditionalAccess/policies",
        {
            "id": "ca-1",
            "displayName": "MFA",
            "state": "enabled",
            "modifiedDateTime": "2024-01-01T00:00:00Z",
        },
    )
    fake.add(
        "deviceManagement/deviceEnrollmentConfigurations",
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
            "id": "enr-1",
            "displayName": "Limit",
            "limit": 5,
            "assignments": [],
        },
    )
    fake.groups.update({"group-a": "All staff", "group-b": "Wi-Fi users"})


def run(client, **kwargs) -> tuple[dict[str, CapturedItem], list[CaptureWarning]]:
    items: dict[str, CapturedItem] = {}
    warnings: list[CaptureWarning] = []
    for result in capture.iter_capture(client, **kwargs):
        if isinstance(result, CaptureWarning):
            warnings.append(result)
        else:
            assert result.source_id not in items
            items[result.source_id] = result
    return items, warnings


def test_captures_every_type_with_its_specifics(fake_graph, graph_client):
    populate(fake_graph)
    items, warnings = run(graph_client)
    assert warnings == []
    assert {i.source_id: i.type_key for i in items.values()} == {
        "0": "scope_tag", "7": "scope_tag", "filter-1": "assignment_filter",
        "tmpl-1": "notification_template", "dc-1": "device_configuration",
        "oma-1": "custom_oma_uri", "ring-1": "windows_update_ring", "future-1": "unsupported",
        "comp-1": "compliance_policy", "cat-1": "settings_catalog", "es-1": "endpoint_security",
        "gp-1": "administrative_template", "ps-1": "powershell_script", "hs-1": "remediation_script",
        "T_ios": "ios_app_protection", "T_and": "android_app_protection", "ap-1": "autopilot_profile",
        "drv-1": "windows_driver_update_profile", "feat-1": "windows_feature_update_profile",
        "ca-1": "conditional_access", "enr-1": "enrollment_limit",
        # deviceManagement/settings: one object in every tenant, under its fixed id
        "settings": "device_management_settings",
        # single-valued navigations (tenant connectors), also under their fixed ids
        "applePushNotificationCertificate": "apns_certificate",
        "androidManagedStoreAccountEnterpriseSettings": "managed_google_play",
    }  # fmt: skip
    for item in items.values():
        assert item.warnings == [], (item.source_id, item.warnings)
        assert "assignments" not in item.payload
        assert item.display_name

    dc = items["dc-1"]
    assert dc.platform == "windows"
    assert dc.scope_tag_ids == ["0", "7"]
    assert dc.assignments == [{"id": "a", "target": group_target("group-a", "filter-1")}]
    assert dc.group_refs == {"group-a"}
    assert items["filter-1"].scope_tag_ids == ["0", "7"]
    assert items["tmpl-1"].payload["localizedNotificationMessages"][0]["locale"] == "en-us"
    assert (
        items["comp-1"].payload["scheduledActionsForRule"][0]["scheduledActionConfigurations"][0][
            "actionType"
        ]
        == "block"
    )
    assert len(items["cat-1"].payload["settings"]) == 3
    assert items["cat-1"].display_name == "Catalog cat-1"
    assert items["cat-1"].source_modified_at == "2024-05-01T10:00:00Z"
    assert items["gp-1"].payload["definitionValues"][0]["definition"]["id"] == "def-1"
    assert base64.b64decode(items["ps-1"].payload["scriptContent"]) == b"Write-Host hi"
    assert items["hs-1"].payload["detectionScriptContent"] == "ZGV0ZWN0"
    assert items["hs-1"].assignments is not None
    assert items["hs-1"].assignments[0]["runRemediationScript"] is True
    assert items["T_ios"].payload["apps"][0]["mobileAppIdentifier"]["bundleId"] == "com.x"
    assert items["ap-1"].group_refs == {"group-d"}
    assert items["ca-1"].source_modified_at == "2024-01-01T00:00:00Z"
    assert items["0"].assignments == []  # scope tags have no assignments


def test_lists_each_collection_once_with_expand_and_batches_per_item_reads(
    fake_graph, graph_client
):
    populate(fake_graph)
    run(graph_client)
    direct = [path for via, path in fake_graph.log if via == "direct"]
    # one listing per collection: deviceConfigurations is shared by three types, listed once
    assert len([p for p in direct if p.split("?")[0] == f"/beta/{DC}"]) == 1
    assert len([p for p in direct if p.split("?")[0] == f"/beta/{CP}"]) == 1
    assert f"/beta/{DC}?$expand=assignments" in direct
    assert any(
        p.startswith(f"/beta/{COMPLIANCE}?")
        and "scheduledActionsForRule($expand=scheduledActionConfigurations)" in p
        for p in direct
    )
    assert "/beta/deviceAppManagement/iosManagedAppProtections?$expand=apps,assignments" in direct
    assert "/v1.0/identity/conditionalAccess/policies" in direct
    # direct requests are collection listings only: every per-item read went through $batch
    collections = {f"/{t.api_version}/{t.collection}" for t in registry.all_types()}
    assert {p.split("?")[0] for p in direct} <= collections, direct
    batched = [path for via, path in fake_graph.log if via == "batch"]
    # settings in pages as large as Graph gives (it defaults to 25)
    assert f"/beta/{CP}/cat-1/settings?$top=1000" in batched
    assert "/beta/deviceManagement/deviceManagementScripts/ps-1" in batched
    assert "/beta/deviceManagement/deviceHealthScripts/hs-1" in batched
    assert (
        f"/beta/{DC}/oma-1/getOmaSettingPlainTextValue(secretReferenceValueId='ref-1')" in batched
    )
    assert any(
        p.startswith("/beta/deviceManagement/groupPolicyConfigurations/gp-1/definitionValues?")
        for p in batched
    )
    assert "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/ap-1/assignments" in batched
    assert (
        "/beta/deviceManagement/notificationMessageTemplates/tmpl-1/localizedNotificationMessages"
        in batched
    )
    # expanded navigation properties are not read again per item
    assignment_reads = [p for p in batched if p.endswith("/assignments")]
    assert assignment_reads == [
        "/beta/deviceManagement/windowsAutopilotDeploymentProfiles/ap-1/assignments"
    ]
    assert not any("scheduledActionsForRule" in p for p in batched)


def test_permission_denied_on_one_type_warns_and_captures_the_rest(fake_graph, graph_client):
    populate(fake_graph)
    fake_graph.denied = {"deviceAppManagement/iosManagedAppProtections"}
    items, warnings = run(graph_client)
    assert [(w.type_key, w.source_id, w.permission) for w in warnings] == [
        ("ios_app_protection", None, "DeviceManagementApps.Read.All")
    ]
    assert "App protection policies (iOS/iPadOS)" in warnings[0].message
    assert "DeviceManagementApps.Read.All" in warnings[0].message
    assert "T_ios" not in items
    assert items["T_and"].type_key == "android_app_protection"
    assert items["cat-1"].type_key == "settings_catalog"


def test_denied_shared_collection_warns_once_per_type(fake_graph, graph_client):
    populate(fake_graph)
    fake_graph.denied = {DC}
    items, warnings = run(
        graph_client, type_keys=["device_configuration", "custom_oma_uri", "scope_tag"]
    )
    assert sorted(w.type_key for w in warnings) == ["custom_oma_uri", "device_configuration"]
    assert all(w.permission == "DeviceManagementConfiguration.Read.All" for w in warnings)
    assert {i.type_key for i in items.values()} == {"scope_tag"}


def test_oma_secret_goes_to_secrets_not_payload(fake_graph, graph_client):
    populate(fake_graph)
    items, _ = run(graph_client, type_keys=["custom_oma_uri"])
    item = items["oma-1"]
    assert item.secrets == {"omaSettings[./Vendor/MSFT/WiFi/Key]": SECRET}
    secret_setting = item.payload["omaSettings"][0]
    assert secret_setting["isEncrypted"] is True
    assert secret_setting["secretReferenceValueId"] == "ref-1"
    assert secret_setting["value"] is None
    assert SECRET not in json.dumps(item.payload)
    assert SECRET not in repr(item)
    assert item.payload["omaSettings"][1]["value"] == 3


def test_unreadable_secret_is_a_warning_not_a_silent_gap(fake_graph, graph_client):
    populate(fake_graph)
    fake_graph.secrets.clear()
    items, _ = run(graph_client, type_keys=["custom_oma_uri"])
    item = items["oma-1"]
    assert item.secrets == {}
    assert len(item.warnings) == 1
    assert item.warnings[0].startswith("secret_value_missing")
    assert "omaSettings[./Vendor/MSFT/WiFi/Key]" in item.warnings[0]


def test_failed_per_item_read_keeps_the_item_with_a_warning(fake_graph, graph_client):
    populate(fake_graph)
    fake_graph.failing_paths = {
        "windowsAutopilotDeploymentProfiles/ap-1/assignments": 500,
        "deviceManagementScripts/ps-1": 500,
    }
    items, warnings = run(graph_client, type_keys=["autopilot_profile", "powershell_script"])
    assert warnings == []
    autopilot = items["ap-1"]
    assert autopilot.assignments is None
    assert autopilot.warnings and autopilot.warnings[0].startswith("assignments could not be read")
    script = items["ps-1"]
    assert script.payload["scriptContent"] is None
    assert "scriptContent could not be read" in script.warnings[0]


def test_listing_interrupted_keeps_what_was_read_and_says_so(fake_graph, graph_client):
    fake_graph.list_page_size = 10
    fake_graph.list_fails_at_skip = 10
    for index in range(15):
        fake_graph.add(CP, catalog_policy(f"cat-{index}", 1))
    items, warnings = run(graph_client, type_keys=["settings_catalog"])
    assert len(items) == 10
    assert [(w.type_key, w.source_id) for w in warnings] == [("settings_catalog", None)]
    assert "stopped after 10 object(s)" in warnings[0].message


def test_permission_denied_on_a_per_item_read_names_the_permission(fake_graph, graph_client):
    populate(fake_graph)
    fake_graph.failing_paths = {"deviceHealthScripts/hs-1": 403}
    items, warnings = run(graph_client, type_keys=["remediation_script"])
    assert warnings == []
    [message] = items["hs-1"].warnings
    assert message.startswith("detectionScriptContent, remediationScriptContent could not be read")
    assert "DeviceManagementConfiguration.Read.All" in message
    assert items["hs-1"].assignments is not None


def test_settings_pages_are_followed(fake_graph, graph_client):
    fake_graph.add(CP, catalog_policy("big", 60))
    fake_graph.add(CP, catalog_policy("small", 2))
    items, _ = run(graph_client, type_keys=["settings_catalog"])
    ids = [s["settingInstance"]["settingDefinitionId"] for s in items["big"].payload["settings"]]
    assert ids == [f"setting_{i:03d}" for i in range(60)]
    assert len(items["small"].payload["settings"]) == 2
    pages = [p for via, p in fake_graph.log if via == "batch" and "/big/settings" in p]
    assert pages == [  # this fake Graph ignores $top: the nextLinks are still followed
        f"/beta/{CP}/big/settings?$top=1000",
        f"/beta/{CP}/big/settings?$skiptoken=25",
        f"/beta/{CP}/big/settings?$skiptoken=50",
    ]


def test_expand_rejected_falls_back_to_per_item_reads(fake_graph, graph_client):
    populate(fake_graph)
    fake_graph.expand_unsupported = {DC}
    items, warnings = run(graph_client, type_keys=["device_configuration"])
    assert warnings == []
    assert items["dc-1"].assignments == [{"id": "a", "target": group_target("group-a", "filter-1")}]
    assert (("batch", f"/beta/{DC}/dc-1/assignments")) in fake_graph.log


def test_unsupported_objects_only_when_asked(fake_graph, graph_client):
    populate(fake_graph)
    items, _ = run(graph_client, type_keys=["device_configuration"])
    assert set(items) == {"dc-1"}
    items, _ = run(graph_client, type_keys=["device_configuration", "unsupported"])
    assert items["future-1"].type_key == "unsupported"
    assert registry.get(items["future-1"].type_key).is_preview_only
    with pytest.raises(KeyError, match="nope"):
        run(graph_client, type_keys=["nope"])


def test_progress_reports_type_and_count(fake_graph, graph_client):
    populate(fake_graph)
    events: list[CaptureProgress] = []
    list(
        capture.iter_capture(
            graph_client, type_keys=["scope_tag", "settings_catalog"], progress=events.append
        )
    )
    assert ("scope_tag", 2) in [(e.type_key, e.done_count) for e in events]
    assert ("settings_catalog", 1) in [(e.type_key, e.done_count) for e in events]
    assert events[-1].types_done == events[-1].types_total == 2
    assert events[0] == CaptureProgress("scope_tag", 0, 0, 2)


def test_fewer_requests_than_objects(fake_graph, graph_client):
    for index in range(150):
        fake_graph.add(CP, catalog_policy(f"cat-{index}", 30 if index % 10 == 0 else 4))
    for index in range(100):
        fake_graph.add(
            "deviceManagement/deviceManagementScripts",
            {
                "id": f"ps-{index}",
                "displayName": f"S{index}",
                "assignments": [],
                "scriptContent": "eA==",
            },
        )
        fake_graph.add(DC, {"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "id": f"dc-{index}",
                            "displayName": f"D{index}", "assignments": []})  # fmt: skip
    items, warnings = run(
        graph_client, type_keys=["settings_catalog", "powershell_script", "device_configuration"]
    )
    assert warnings == [] and len(items) == 350
    assert all(
        len(items[f"cat-{i}"].payload["settings"]) == (30 if i % 10 == 0 else 4) for i in range(150)
    )
    assert all(items[f"ps-{i}"].payload["scriptContent"] == "eA==" for i in range(100))
    assert graph_client.request_count < len(items) / 5, graph_client.request_count


def test_resolve_group_names(fake_graph, graph_client):
    fake_graph.groups.update({f"g{i}": f"Group {i}" for i in range(25)})
    names = capture.resolve_group_names(graph_client, [*(f"g{i}" for i in range(25)), "gone", "g1"])
    assert names == {f"g{i}": f"Group {i}" for i in range(25)}
    # 26 distinct ids: two `id in (...)` filters of at most 15, in one $batch
    assert graph_client.request_count == 1
    filters = [target for via, target in fake_graph.log if target.startswith("/beta/groups?")]
    assert len(filters) == 2 and all("$filter=id in ('" in target for target in filters)
    assert capture.resolve_group_names(graph_client, []) == {}


def test_an_id_graph_cannot_parse_costs_only_its_own_name(fake_graph, graph_client):
    fake_graph.groups.update({f"g{i}": f"Group {i}" for i in range(20)})
    fake_graph.unparsable_group_ids = {"not a guid"}

    names = capture.read_groups_by_id(graph_client, [*(f"g{i}" for i in range(20)), "not a guid"])

    assert names == {f"g{i}": f"Group {i}" for i in range(20)}


def test_corpus_objects_capture_without_annotations(fake_graph, graph_client, corpus_objects):
    if not corpus_objects:
        pytest.skip("set TENANTGUARD_CORPUS_DIR to the corpus")
    for item in corpus_objects:
        fake_graph.add(item.collection, copy.deepcopy(item.obj))
    items, warnings = run(graph_client)
    assert warnings == []
    # The fake answers every path, so the one-per-tenant objects (tenant settings, APNs,
    # managed Google Play) are captured from it too: only the corpus's own objects count here.
    items = {
        key: item for key, item in items.items() if registry.get(item.type_key).singleton is None
    }
    assert len(items) == len(corpus_objects)
    for captured in items.values():
        text = json.dumps(captured.payload)
        assert "@odata.context" not in text and "@odata.id" not in text
        assert "#microsoft.graph.assign" not in text and "@odata.navigationLink" not in text
        assert captured.platform in {"macOS", "iOS", "android"}
        assert captured.assignments is not None
        assert not registry.is_unsupported(registry.get(captured.type_key))
