from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantguard.intune import normalize, reference_kinds, registry
from tenantguard.intune.normalize import (
    MissingSecretError,
    content_hash,
    foundation_refs,
    normalize_assignments,
    normalize_payload,
    strip_annotations,
    strip_for_write,
)

GRAPH = "https://graph.microsoft.com/beta"


def _all_keys(node: Any) -> list[str]:
    keys: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            keys.append(key)
            keys.extend(_all_keys(value))
    elif isinstance(node, list):
        for item in node:
            keys.extend(_all_keys(item))
    return keys


def _annotations_left(node: Any) -> list[str]:
    return [
        key
        for key in _all_keys(node)
        if ("@" in key or key.startswith("#")) and key != "@odata.type"
    ]


def _shuffle_settings(node: Any, rng: random.Random) -> None:
    """Shuffle every list whose order Graph does not guarantee for a settings catalog policy."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"settings", "children"} and isinstance(value, list):
                rng.shuffle(value)
            _shuffle_settings(value, rng)
    elif isinstance(node, list):
        for item in node:
            _shuffle_settings(item, rng)


def _setting(definition_id: str, value: Any, children: list[dict] | None = None) -> dict:
    instance: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
        "settingDefinitionId": definition_id,
        "choiceSettingValue": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue",
            "value": value,
            "children@odata.type": "#Collection(microsoft.graph.deviceManagementConfigurationSettingInstance)",
            "children": children or [],
        },
    }
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
        "settingInstance": instance,
    }


def settings_catalog_policy() -> dict[str, Any]:
    settings_list = [
        _setting(f"device_vendor_msft_policy_config_{name}", f"{name}_1")
        for name in ("defender_a", "defender_b", "edge_c", "browser_d", "update_e")
    ]
    settings_list.append(
        _setting(
            "parent_setting",
            "parent_setting_1",
            children=[
                {
                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                    "settingDefinitionId": f"parent_setting_child_{n}",
                    "simpleSettingValue": {
                        "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                        "value": n,
                    },
                }
                for n in range(4)
            ],
        )
    )
    for index, setting in enumerate(settings_list):
        setting["id"] = str(index)
    return {
        "@odata.context": f"{GRAPH}/$metadata#deviceManagement/configurationPolicies(assignments(),settings())/$entity",
        "id": "11111111-2222-3333-4444-555555555555",
        "name": "Baseline",
        "description": "",
        "platforms@odata.type": "#microsoft.graph.deviceManagementConfigurationPlatforms",
        "platforms": "windows10",
        "technologies": "mdm",
        "createdDateTime": "2024-01-01T00:00:00Z",
        "lastModifiedDateTime": "2024-01-02T00:00:00Z",
        "settingCount": 6,
        "creationSource": None,
        "isAssigned": True,
        "roleScopeTagIds": ["0", "7"],
        "templateReference": {"templateId": "", "templateFamily": "none"},
        "assignments@odata.navigationLink": f"{GRAPH}/x/assignments",
        "assignments": [
            {
                "id": "a1",
                "source": "direct",
                "sourceId": "x",
                "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"},
            }
        ],
        "settings@odata.context": f"{GRAPH}/$metadata#x/settings",
        "settings": settings_list,
        "#microsoft.graph.assign": {
            "title": "microsoft.graph.assign",
            "target": f"{GRAPH}/x/assign",
        },
    }


def compliance_policy() -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "@odata.id": "deviceManagement/deviceCompliancePolicies('c1')",
        "id": "c1",
        "displayName": "Compliance",
        "version": 3,
        "createdDateTime": "2024-01-01T00:00:00Z",
        "lastModifiedDateTime": "2024-01-01T00:00:00Z",
        "roleScopeTagIds": ["0", "12"],
        "passwordRequired": True,
        "scheduledActionsForRule@odata.context": "x",
        "scheduledActionsForRule": [
            {
                "@odata.type": "#microsoft.graph.deviceComplianceScheduledActionForRule",
                "id": "c1",
                "ruleName": None,
                "scheduledActionConfigurations": [
                    {"id": "s2", "actionType": "notification", "gracePeriodHours": 24,
                     "notificationTemplateId": "aaaaaaaa-0000-0000-0000-000000000001", "notificationMessageCCList": []},
                    {"id": "s1", "actionType": "block", "gracePeriodHours": 0,
                     "notificationTemplateId": "00000000-0000-0000-0000-000000000000", "notificationMessageCCList": []},
                ],
            }
        ],
    }  # fmt: skip


def oma_profile() -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.windows10CustomConfiguration",
        "id": "d1",
        "displayName": "OMA",
        "version": 1,
        "roleScopeTagIds": ["0"],
        "omaSettings": [
            {
                "@odata.type": "#microsoft.graph.omaSettingString",
                "displayName": "Wi-Fi key",
                "omaUri": "./Vendor/MSFT/WiFi/Profile/Key",
                "isEncrypted": True,
                "secretReferenceValueId": "ref-1",
                "value": None,
            },
            {
                "@odata.type": "#microsoft.graph.omaSettingInteger",
                "displayName": "Plain",
                "omaUri": "./Device/Vendor/MSFT/Policy/Config/X/Y",
                "isEncrypted": False,
                "secretReferenceValueId": None,
                "value": 1,
            },
        ],
    }


# ---- strip_annotations --------------------------------------------------------------------


def test_strip_annotations_keeps_only_odata_type_everywhere():
    raw = settings_catalog_policy()
    stripped = strip_annotations(raw)
    assert _annotations_left(stripped) == []
    assert stripped["settings"][0]["settingInstance"]["@odata.type"].endswith(
        "ChoiceSettingInstance"
    )
    assert "#microsoft.graph.assign" not in stripped
    assert "platforms@odata.type" not in stripped
    assert raw["settings@odata.context"]  # input untouched


def test_corpus_strip_annotations(corpus_object):
    stripped = strip_annotations(corpus_object.obj)
    assert _annotations_left(stripped) == []
    assert stripped.get("@odata.type") == corpus_object.obj.get("@odata.type")
    # nothing but annotations went away
    assert json.dumps(stripped).count('"@odata.type"') == json.dumps(corpus_object.obj).count(
        '"@odata.type"'
    )


# ---- normalize_payload --------------------------------------------------------------------


def test_corpus_normalize_removes_annotations_server_fields_and_is_idempotent(corpus_object):
    ptype = registry.classify(corpus_object.collection, corpus_object.obj)
    assert not registry.is_unsupported(ptype)
    normalized = normalize_payload(ptype.key, corpus_object.obj)
    assert _annotations_left(normalized) == []
    for key in (
        "id",
        "createdDateTime",
        "lastModifiedDateTime",
        "version",
        "assignments",
        "roleScopeTagIds",
        "settingCount",
        "isAssigned",
    ):
        assert key not in normalized
    assert normalize_payload(ptype.key, normalized) == normalized
    assert normalize_payload(ptype.key, strip_annotations(corpus_object.obj)) == normalized
    # child ids gone: nothing named id survives except in expanded references we keep on purpose
    if ptype.key in {"settings_catalog", "endpoint_security"}:
        assert all("id" not in setting for setting in normalized["settings"])


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rng=st.randoms(use_true_random=False))
def test_corpus_settings_order_does_not_change_normalized_form(corpus_objects, rng):
    for item in corpus_objects:
        ptype = registry.classify(item.collection, item.obj)
        if ptype.key not in {"settings_catalog", "endpoint_security"}:
            continue
        shuffled = copy.deepcopy(item.obj)
        _shuffle_settings(shuffled, rng)
        assert normalize_payload(ptype.key, shuffled) == normalize_payload(ptype.key, item.obj)
        assert content_hash(ptype.key, shuffled, None, ["0"]) == content_hash(
            ptype.key, item.obj, None, ["0"]
        )


@given(rng=st.randoms(use_true_random=False))
def test_settings_order_does_not_change_normalized_form(rng):
    policy = settings_catalog_policy()
    shuffled = copy.deepcopy(policy)
    _shuffle_settings(shuffled, rng)
    assert normalize_payload("settings_catalog", shuffled) == normalize_payload(
        "settings_catalog", policy
    )


def test_settings_are_sorted_by_definition_id_not_position():
    normalized = normalize_payload("settings_catalog", settings_catalog_policy())
    ids = [s["settingInstance"]["settingDefinitionId"] for s in normalized["settings"]]
    assert ids == sorted(ids)
    children = next(
        s
        for s in normalized["settings"]
        if s["settingInstance"]["settingDefinitionId"] == "parent_setting"
    )
    child_ids = [
        c["settingDefinitionId"]
        for c in children["settingInstance"]["choiceSettingValue"]["children"]
    ]
    assert child_ids == sorted(child_ids)


def test_a_changed_setting_value_changes_the_normalized_form():
    policy = settings_catalog_policy()
    changed = copy.deepcopy(policy)
    changed["settings"][0]["settingInstance"]["choiceSettingValue"]["value"] = "other"
    assert normalize_payload("settings_catalog", changed) != normalize_payload(
        "settings_catalog", policy
    )


def test_compliance_actions_sorted_and_ids_dropped():
    normalized = normalize_payload("compliance_policy", compliance_policy())
    configs = normalized["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
    assert [c["actionType"] for c in configs] == ["block", "notification"]
    assert all("id" not in c for c in configs)
    assert "id" not in normalized["scheduledActionsForRule"][0]


def test_oma_secret_reference_is_not_part_of_the_compare_form():
    first = oma_profile()
    second = oma_profile()
    second["omaSettings"][0]["secretReferenceValueId"] = "ref-after-restore"
    assert normalize_payload("custom_oma_uri", first) == normalize_payload("custom_oma_uri", second)
    settings_by_uri = {
        s["omaUri"]: s for s in normalize_payload("custom_oma_uri", first)["omaSettings"]
    }
    assert settings_by_uri["./Device/Vendor/MSFT/Policy/Config/X/Y"]["value"] == 1
    assert "value" not in settings_by_uri["./Vendor/MSFT/WiFi/Profile/Key"]


def test_admin_template_definition_reduced_to_identity():
    payload = {
        "id": "g1",
        "displayName": "ADMX",
        "definitionValues": [
            {
                "id": "dv2",
                "enabled": True,
                "createdDateTime": "x",
                "definition": {"id": "def-b", "displayName": "B", "explainText": "long text"},
                "presentationValues": [
                    {"id": "pv1", "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": "v", "presentation": {"id": "p1", "label": "L"}},
                ],
            },
            {"id": "dv1", "enabled": False, "definition": {"id": "def-a", "displayName": "A"}, "presentationValues": []},
        ],
    }  # fmt: skip
    normalized = normalize_payload("administrative_template", payload)
    values = normalized["definitionValues"]
    assert [v["definition"] for v in values] == [
        {"id": "def-a", "displayName": "A"},
        {"id": "def-b", "displayName": "B"},
    ]
    assert values[1]["presentationValues"] == [
        {
            "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText",
            "value": "v",
            "presentation": {"id": "p1"},
        }
    ]


# ---- assignments and hashes -----------------------------------------------------------------

FILTER = "deviceAndAppManagementAssignmentFilterId"


def test_normalize_assignments_canonical_and_sorted():
    assignments = [
        {"id": "x_2", "source": "direct", "sourceId": "x", "intent": "apply",
         "@odata.type": "#microsoft.graph.deviceConfigurationAssignment",
         "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g2",
                    FILTER: "f1", "deviceAndAppManagementAssignmentFilterType": "include"}},
        {"id": "x_1", "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
                                 FILTER: None, "deviceAndAppManagementAssignmentFilterType": "none"}},
        {"id": "x_3", "runRemediationScript": True,
         "target": {"@odata.type": "microsoft.graph.exclusionGroupAssignmentTarget", "groupId": "g1",
                    "groupId@odata.type": "#String"}},
    ]  # fmt: skip
    result = normalize_assignments(assignments)
    assert result == sorted(result, key=normalize.canonical_json)
    assert {"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}} in result
    assert {
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g2", FILTER: "f1",
                   "deviceAndAppManagementAssignmentFilterType": "include"}
    } in result  # fmt: skip
    assert {
        "runRemediationScript": True,
        "target": {
            "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
            "groupId": "g1",
        },
    } in result
    assert normalize_assignments(list(reversed(assignments))) == result


def test_content_hash_is_stable_and_sensitive():
    policy = settings_catalog_policy()
    assignments = policy["assignments"]
    base = content_hash("settings_catalog", policy, assignments, ["0", "7"])
    assert len(base) == 64 and int(base, 16) >= 0
    assert content_hash("settings_catalog", copy.deepcopy(policy), assignments, ["7", "0"]) == base
    assert (
        content_hash("settings_catalog", strip_annotations(policy), assignments, ["0", "7"]) == base
    )
    renamed = {**policy, "name": "Other"}
    assert content_hash("settings_catalog", renamed, assignments, ["0", "7"]) != base
    assert content_hash("settings_catalog", policy, [], ["0", "7"]) != base
    assert content_hash("settings_catalog", policy, None, ["0", "7"]) != content_hash(
        "settings_catalog", policy, [], ["0", "7"]
    )
    assert content_hash("settings_catalog", policy, assignments, ["0"]) != base
    # server-side churn does not change it
    touched = {
        **policy,
        "lastModifiedDateTime": "2030-01-01T00:00:00Z",
        "id": "new-id",
        "settingCount": 99,
    }
    assert content_hash("settings_catalog", touched, assignments, ["0", "7"]) == base


def test_corpus_content_hash_is_stable(corpus_object):
    ptype = registry.classify(corpus_object.collection, corpus_object.obj)
    obj = corpus_object.obj
    tags = registry.scope_tag_ids_of(ptype, obj)
    first = content_hash(ptype.key, obj, obj.get("assignments"), tags)
    again = content_hash(ptype.key, json.loads(json.dumps(obj)), obj.get("assignments"), tags)
    assert first == again
    assert (
        content_hash(ptype.key, normalize_payload(ptype.key, obj), obj.get("assignments"), tags)
        == first
    )


# ---- foundation references ------------------------------------------------------------------


def test_foundation_refs_collects_scope_tags_filters_and_templates():
    assignments = [
        {"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g", FILTER: "filter-1"}},
        {"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget", FILTER: "00000000-0000-0000-0000-000000000000"}},
    ]  # fmt: skip
    refs = foundation_refs("compliance_policy", compliance_policy(), assignments)
    # Every kind backed by a foundation type is a key (reference_kinds), empty when unused.
    none = {kind.key: set() for kind in reference_kinds.foundation_kinds()}
    assert refs == {
        **none,
        "scope_tag": {"12"},
        "assignment_filter": {"filter-1"},
        "notification_template": {"aaaaaaaa-0000-0000-0000-000000000001"},
    }
    filter_refs = foundation_refs("assignment_filter", {"roleScopeTags": ["0", "5"]}, None)
    assert filter_refs["scope_tag"] == {"5"}
    assert foundation_refs("scope_tag", {"id": "5"}, None) == none


# ---- strip_for_write ------------------------------------------------------------------------


def test_strip_for_write_common_rules():
    policy = settings_catalog_policy()
    policy["@odata.type"] = "#microsoft.graph.deviceManagementConfigurationPolicy"
    body = strip_for_write("settings_catalog", policy)
    for key in (
        "id",
        "createdDateTime",
        "lastModifiedDateTime",
        "settingCount",
        "creationSource",
        "isAssigned",
        "assignments",
    ):
        assert key not in body
    assert _annotations_left(body) == []
    assert body["@odata.type"] == "#microsoft.graph.deviceManagementConfigurationPolicy"
    assert body["roleScopeTagIds"] == ["0", "7"]  # the restore engine rewrites, not strips, them
    assert all("id" not in setting for setting in body["settings"])
    assert body["settings"][0]["settingInstance"]["@odata.type"].endswith("ChoiceSettingInstance")
    # settings catalog updates are PUT of the whole policy: settings stay on update
    assert strip_for_write("settings_catalog", policy, for_update=True)["settings"]
    assert policy["id"]  # input untouched


def test_strip_for_write_compliance_actions_only_on_create():
    created = strip_for_write("compliance_policy", compliance_policy())
    actions = created["scheduledActionsForRule"]
    assert [c["actionType"] for c in actions[0]["scheduledActionConfigurations"]].count(
        "block"
    ) == 1
    assert "id" not in actions[0]
    assert all("id" not in c for c in actions[0]["scheduledActionConfigurations"])
    assert created["@odata.type"] == "#microsoft.graph.windows10CompliancePolicy"
    updated = strip_for_write("compliance_policy", compliance_policy(), for_update=True)
    assert "scheduledActionsForRule" not in updated
    assert "version" not in updated and "id" not in updated


def test_strip_for_write_app_protection_apps_on_create_only():
    payload = {
        "@odata.type": "#microsoft.graph.iosManagedAppProtection",
        "id": "T_1", "displayName": "iOS", "deployedAppCount": 3, "isAssigned": False,
        "apps": [{"id": "com.x.ios", "version": "1", "mobileAppIdentifier": {"@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": "com.x"}}],
        "assignments": [],
    }  # fmt: skip
    created = strip_for_write("ios_app_protection", payload)
    assert created["apps"] == [
        {
            "mobileAppIdentifier": {
                "@odata.type": "#microsoft.graph.iosMobileAppIdentifier",
                "bundleId": "com.x",
            }
        }
    ]
    assert "deployedAppCount" not in created and "isAssigned" not in created
    assert "apps" not in strip_for_write("ios_app_protection", payload, for_update=True)


def test_strip_for_write_excludes_children_written_separately():
    template = {
        "id": "n1",
        "displayName": "Mail",
        "localizedNotificationMessages": [{"id": "l", "locale": "en-us"}],
    }
    assert "localizedNotificationMessages" not in strip_for_write("notification_template", template)
    admx = {"id": "g1", "displayName": "ADMX", "definitionValues": [{"id": "dv"}]}
    assert "definitionValues" not in strip_for_write("administrative_template", admx)
    scope_tag = {"id": "5", "displayName": "Berlin", "isBuiltIn": False}
    assert strip_for_write("scope_tag", scope_tag) == {"displayName": "Berlin"}


def test_strip_for_write_reinserts_oma_secrets_as_plaintext():
    secrets = {"omaSettings[./Vendor/MSFT/WiFi/Profile/Key]": "correct horse"}
    body = strip_for_write("custom_oma_uri", oma_profile(), secrets=secrets)
    secret_setting, plain_setting = body["omaSettings"]
    assert secret_setting["value"] == "correct horse"
    assert secret_setting["isEncrypted"] is False
    assert secret_setting["secretReferenceValueId"] is None
    assert plain_setting["value"] == 1
    assert body["@odata.type"] == "#microsoft.graph.windows10CustomConfiguration"
    assert normalize.missing_secrets("custom_oma_uri", oma_profile(), secrets) == []
    assert normalize.missing_secrets("custom_oma_uri", oma_profile(), {}) == [
        "omaSettings[./Vendor/MSFT/WiFi/Profile/Key]"
    ]
    with pytest.raises(MissingSecretError, match="omaSettings"):
        strip_for_write("custom_oma_uri", oma_profile(), secrets={})
    # without secrets the reference stays: a preview body, not something Graph could use
    assert strip_for_write("custom_oma_uri", oma_profile())["omaSettings"][0]["isEncrypted"] is True


def test_corpus_strip_for_write(corpus_object):
    ptype = registry.classify(corpus_object.collection, corpus_object.obj)
    for for_update in (False, True):
        body = strip_for_write(ptype.key, corpus_object.obj, for_update=for_update)
        assert _annotations_left(body) == []
        for key in (
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "version",
            "assignments",
            "isAssigned",
            "settingCount",
            "creationSource",
        ):
            assert key not in body
        if "@odata.type" in corpus_object.obj:
            assert body["@odata.type"] == corpus_object.obj["@odata.type"]
        if ptype.key == "compliance_policy":
            assert ("scheduledActionsForRule" in body) is (not for_update)
        if ptype.key in {"ios_app_protection", "android_app_protection"}:
            assert ("apps" in body) is (not for_update)
        if ptype.key == "settings_catalog":
            assert body["settings"]


def test_definition_value_bodies_bind_by_url():
    payload = {
        "definitionValues": [
            {"id": "dv", "enabled": True, "definition": {"id": "def-1"}, "createdDateTime": "x",
             "presentationValues": [{"id": "pv", "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText",
                                     "value": "hello", "presentation": {"id": "p-1"}}]},
        ]
    }  # fmt: skip
    bodies = normalize.definition_value_bodies(payload, graph_base_url=GRAPH + "/")
    assert bodies == [
        {
            "enabled": True,
            "definition@odata.bind": f"{GRAPH}/deviceManagement/groupPolicyDefinitions('def-1')",
            "presentationValues": [
                {
                    "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText",
                    "value": "hello",
                    "presentation@odata.bind": f"{GRAPH}/deviceManagement/groupPolicyDefinitions('def-1')/presentations('p-1')",
                }
            ],
        }
    ]
