"""The Contoso demo tenant: coverage of every type, Graph's shape, determinism, references."""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tenantguard.emulator.demo import (
    ALL_DEVICES_VIRTUAL_GROUP_ID,
    ALL_USERS_VIRTUAL_GROUP_ID,
    DEMO_COLLECTIONS,
    collection_of,
    demo_tenant_objects,
)
from tenantguard.intune import registry

# Minimum objects per collection in the demo tenant (the brief's contract).
EXPECTED_MINIMUM = {
    "groups": 15,
    "deviceManagement/roleScopeTags": 4,
    "deviceManagement/assignmentFilters": 3,
    "deviceManagement/notificationMessageTemplates": 1,
    "deviceManagement/deviceConfigurations": 8,
    "deviceManagement/deviceCompliancePolicies": 4,
    "deviceManagement/configurationPolicies": 10,
    "deviceManagement/groupPolicyConfigurations": 2,
    "deviceManagement/deviceManagementScripts": 2,
    "deviceManagement/deviceHealthScripts": 2,
    "deviceAppManagement/iosManagedAppProtections": 1,
    "deviceAppManagement/androidManagedAppProtections": 1,
    "deviceManagement/windowsAutopilotDeploymentProfiles": 1,
    "deviceManagement/windowsDriverUpdateProfiles": 1,
    "deviceManagement/windowsFeatureUpdateProfiles": 1,
    "identity/conditionalAccess/policies": 2,
    "deviceManagement/deviceEnrollmentConfigurations": 1,
    "deviceManagement/deviceComplianceScripts": 2,
    "deviceManagement/deviceShellScripts": 2,
    "deviceManagement/deviceCustomAttributeShellScripts": 2,
    "deviceManagement/windowsQualityUpdateProfiles": 2,
    "deviceManagement/windowsQualityUpdatePolicies": 2,
}

COMPLIANCE = "deviceManagement/deviceCompliancePolicies"
SETTINGS_CATALOG = "deviceManagement/configurationPolicies"
DEVICE_CONFIGURATIONS = "deviceManagement/deviceConfigurations"


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return demo_tenant_objects(tenant_label="Contoso Test", seed=42)


def _by_collection(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        grouped.setdefault(collection_of(obj), []).append(obj)
    return grouped


def _title(obj: dict[str, Any]) -> str:
    return registry.display_name_of(registry.classify(collection_of(obj), obj), obj)


def _is_singleton(obj: dict[str, Any]) -> bool:
    return registry.classify(collection_of(obj), obj).singleton is not None


def test_demo_tenant_covers_every_type_with_at_least_sixty_objects(objects):
    counts = Counter(collection_of(obj) for obj in objects)
    assert len(objects) >= 60
    # new kinds' seed files may add collections; the demo's own must all be there
    assert set(EXPECTED_MINIMUM) <= set(counts) == set(DEMO_COLLECTIONS)
    for collection, minimum in EXPECTED_MINIMUM.items():
        assert counts[collection] >= minimum, collection


def test_every_object_has_context_type_id_and_name(objects):
    for obj in objects:
        context = obj["@odata.context"]
        assert context.startswith("https://graph.microsoft.com/")
        collection = collection_of(obj)
        if _is_singleton(obj):  # one per tenant (deviceManagement/settings): no id, no type
            assert "id" not in obj or obj["id"]
            continue
        assert context.endswith("/$entity")
        assert obj["id"]
        if collection == "groups":
            # Entra groups: v1.0 context, and Graph sends no @odata.type on a single group.
            assert context == "https://graph.microsoft.com/v1.0/$metadata#groups/$entity"
            assert obj["displayName"]
            continue
        assert obj["@odata.type"].startswith("#microsoft.graph."), obj["id"]
        if collection == SETTINGS_CATALOG:
            assert obj["name"] and "displayName" not in obj
        else:
            assert not _title(obj).startswith("(unnamed"), obj["id"]


def test_contexts_name_the_expanded_navigation_properties(objects):
    for obj in objects:
        context = obj["@odata.context"]
        if "assignments" in obj:
            assert "assignments()" in context, _title(obj)
        for nav in ("scheduledActionsForRule", "apps", "definitionValues"):
            if nav in obj:
                assert f"{nav}(" in context, _title(obj)
        if collection_of(obj) == SETTINGS_CATALOG:  # elsewhere `settings` may be a property
            assert "settings(" in context, _title(obj)


def test_ids_are_stable_across_runs_and_seed_only_moves_timestamps():
    first = demo_tenant_objects(tenant_label="Contoso Test", seed=1)
    again = demo_tenant_objects(tenant_label="Contoso Test", seed=1)
    other_seed = demo_tenant_objects(tenant_label="Contoso Test", seed=2)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert [o.get("id") for o in first] == [o.get("id") for o in other_seed]


def test_two_tenant_labels_give_disjoint_ids():
    test_tenant = demo_tenant_objects(tenant_label="Contoso Test", seed=1)
    production = demo_tenant_objects(tenant_label="Contoso", seed=1)
    shared = {o.get("id") for o in test_tenant} & {o.get("id") for o in production}
    # only what Intune holds in every tenant with the same id: the built-in "Default" scope tag,
    # the registry's built-in objects (e.g. the default branding profile), and singletons
    builtin = {str(obj["id"]) for _, obj in registry.builtin_objects() if obj.get("id")}
    assert "0" in shared and shared <= {"0", None} | builtin
    assert [_title(o) for o in test_tenant] == [_title(o) for o in production]


def test_ids_are_unique_within_the_tenant(objects):
    ids = [(collection_of(o), o["id"]) for o in objects if "id" in o]
    assert len(ids) == len(set(ids))


def test_scope_tags_include_builtin_default_and_custom_tags(objects):
    tags = {t["displayName"]: t for t in _by_collection(objects)["deviceManagement/roleScopeTags"]}
    assert tags["Default"]["id"] == "0" and tags["Default"]["isBuiltIn"] is True
    for name in ("Finance", "EMEA", "Kiosk"):
        assert tags[name]["isBuiltIn"] is False
        assert tags[name]["id"].isdigit()


def test_assignments_reference_groups_and_filters_of_the_same_tenant(objects):
    grouped = _by_collection(objects)
    group_ids = {g["id"] for g in grouped["groups"]}
    filter_ids = {f["id"] for f in grouped["deviceManagement/assignmentFilters"]}
    seen_kinds: Counter[str] = Counter()
    seen_filter_modes: Counter[str] = Counter()
    for obj in objects:
        for assignment in obj.get("assignments", []):
            assert assignment["id"]
            target = assignment["target"]
            kind = target["@odata.type"].rsplit(".", 1)[-1]
            seen_kinds[kind] += 1
            if "groupId" in target:
                assert target["groupId"] in group_ids, (_title(obj), target)
            else:
                assert kind in ("allDevicesAssignmentTarget", "allLicensedUsersAssignmentTarget")
            filter_id = target["deviceAndAppManagementAssignmentFilterId"]
            mode = target["deviceAndAppManagementAssignmentFilterType"]
            seen_filter_modes[mode] += 1
            if filter_id is None:
                assert mode == "none"
            else:
                assert filter_id in filter_ids
                assert mode in ("include", "exclude")
                assert kind != "exclusionGroupAssignmentTarget"  # Intune forbids that
    assert set(seen_kinds) == {
        "groupAssignmentTarget",
        "exclusionGroupAssignmentTarget",
        "allDevicesAssignmentTarget",
        "allLicensedUsersAssignmentTarget",
    }
    assert seen_filter_modes["include"] and seen_filter_modes["exclude"]


def test_conditional_access_groups_exist(objects):
    grouped = _by_collection(objects)
    group_ids = {g["id"] for g in grouped["groups"]}
    for policy in grouped["identity/conditionalAccess/policies"]:
        users = policy["conditions"]["users"]
        assert set(users["includeGroups"]) | set(users["excludeGroups"]) <= group_ids


def test_virtual_group_ids_are_used_for_all_devices_and_all_users_assignment_ids(objects):
    ids = [a["id"] for o in objects for a in o.get("assignments", [])]
    assert any(i.endswith(ALL_DEVICES_VIRTUAL_GROUP_ID) for i in ids)
    assert any(i.endswith(ALL_USERS_VIRTUAL_GROUP_ID) for i in ids)


def test_scope_tag_ids_on_objects_exist(objects):
    grouped = _by_collection(objects)
    tag_ids = {t["id"] for t in grouped["deviceManagement/roleScopeTags"]}
    used: set[str] = set()
    for obj in objects:
        tags = obj.get("roleScopeTagIds", obj.get("roleScopeTags"))
        if tags is None:
            continue
        assert set(tags) <= tag_ids, _title(obj)
        used |= set(tags)
    assert used == tag_ids  # every tag is used somewhere, so restores have tags to map
    filters = grouped["deviceManagement/assignmentFilters"]
    assert all("roleScopeTags" in f and "roleScopeTagIds" not in f for f in filters)


def test_compliance_policies_have_exactly_one_block_action(objects):
    grouped = _by_collection(objects)
    template_ids = {t["id"] for t in grouped["deviceManagement/notificationMessageTemplates"]}
    types = set()
    notified = 0
    for policy in grouped[COMPLIANCE]:
        types.add(policy["@odata.type"])
        (rule,) = policy["scheduledActionsForRule"]
        actions = rule["scheduledActionConfigurations"]
        assert [a["actionType"] for a in actions].count("block") == 1, policy["displayName"]
        for action in actions:
            if action["actionType"] == "notification":
                assert action["notificationTemplateId"] in template_ids
                notified += 1
    assert types == {
        "#microsoft.graph.windows10CompliancePolicy",
        "#microsoft.graph.iosCompliancePolicy",
        "#microsoft.graph.macOSCompliancePolicy",
        "#microsoft.graph.androidWorkProfileCompliancePolicy",
    }
    assert notified >= 2


def test_notification_templates_have_localized_messages(objects):
    for template in _by_collection(objects)["deviceManagement/notificationMessageTemplates"]:
        messages = template["localizedNotificationMessages"]
        assert messages
        assert sum(m["isDefault"] for m in messages) == 1
        assert template["defaultLocale"] in {m["locale"] for m in messages}


def test_device_configurations_include_update_rings_and_custom_oma_secret(objects):
    configs = _by_collection(objects)[DEVICE_CONFIGURATIONS]
    types = Counter(c["@odata.type"] for c in configs)
    assert types["#microsoft.graph.windowsUpdateForBusinessConfiguration"] >= 2
    for odata_type in (
        "#microsoft.graph.windows10GeneralConfiguration",
        "#microsoft.graph.iosGeneralDeviceConfiguration",
        "#microsoft.graph.macOSGeneralDeviceConfiguration",
        "#microsoft.graph.windows10CustomConfiguration",
    ):
        assert types[odata_type] >= 1, odata_type
    assert any("Wifi" in t or "WiFi" in t for t in types)
    (custom,) = [c for c in configs if c["@odata.type"].endswith("windows10CustomConfiguration")]
    secrets = [s for s in custom["omaSettings"] if s.get("isEncrypted")]
    assert len(secrets) == 1
    assert secrets[0]["@odata.type"] == "#microsoft.graph.omaSettingString"
    assert isinstance(secrets[0]["value"], str) and secrets[0]["value"]
    assert secrets[0]["secretReferenceValueId"] is None


def _walk(instances):
    for instance in instances:
        yield instance
        choice = instance.get("choiceSettingValue") or {}
        yield from _walk(choice.get("children") or [])
        for group in instance.get("groupSettingCollectionValue") or []:
            yield from _walk(group.get("children") or [])


def test_settings_catalog_has_large_nested_and_endpoint_security_policies(objects):
    policies = _by_collection(objects)[SETTINGS_CATALOG]
    assert sum(len(p["settings"]) > 25 for p in policies) >= 2  # paging matters
    families = {p["templateReference"]["templateFamily"] for p in policies}
    assert {
        "none",
        "endpointSecurityAntivirus",
        "endpointSecurityFirewall",
        "endpointSecurityDiskEncryption",
    } <= families
    nested = 0
    for policy in policies:
        assert policy["settingCount"] == len(policy["settings"])
        assert [s["id"] for s in policy["settings"]] == [
            str(i) for i in range(len(policy["settings"]))
        ]
        top = [s["settingInstance"] for s in policy["settings"]]
        if any(i["@odata.type"].endswith("GroupSettingCollectionInstance") for i in top):
            nested += 1
        is_endpoint_security = policy["templateReference"]["templateFamily"] != "none"
        for instance in top if is_endpoint_security else _walk(top):
            has_ref = instance["settingInstanceTemplateReference"] is not None
            assert has_ref == is_endpoint_security, (
                policy["name"],
                instance["settingDefinitionId"],
            )
        if is_endpoint_security:
            assert policy["templateReference"]["templateId"]
    assert nested >= 3


def test_administrative_templates_expand_definitions_and_presentations(objects):
    templates = _by_collection(objects)["deviceManagement/groupPolicyConfigurations"]
    with_presentations = 0
    for template in templates:
        assert template["definitionValues"]
        for value in template["definitionValues"]:
            definition = value["definition"]
            assert {"id", "displayName", "classType", "categoryPath"} <= set(definition)
            assert definition["classType"] in ("machine", "user")
            for presentation_value in value["presentationValues"]:
                assert presentation_value["presentation"]["id"]
                with_presentations += 1
    assert with_presentations >= 3


def test_admx_definition_ids_are_the_same_in_both_tenants():
    def definitions(label: str) -> set[str]:
        return {
            value["definition"]["id"]
            for obj in demo_tenant_objects(tenant_label=label, seed=1)
            for value in obj.get("definitionValues", [])
        }

    assert definitions("Contoso") == definitions("Contoso Test")


def test_scripts_hold_base64_powershell(objects):
    grouped = _by_collection(objects)
    for script in grouped["deviceManagement/deviceManagementScripts"]:
        text = base64.b64decode(script["scriptContent"]).decode("utf-8")
        assert text.strip() and script["fileName"].endswith(".ps1")
    for script in grouped["deviceManagement/deviceHealthScripts"]:
        assert "exit" in base64.b64decode(script["detectionScriptContent"]).decode("utf-8")
        assert base64.b64decode(script["remediationScriptContent"]).decode("utf-8").strip()
        for assignment in script["assignments"]:
            assert assignment["runRemediationScript"] is True
            assert assignment["runSchedule"]["@odata.type"].startswith(
                "#microsoft.graph.deviceHealthScript"
            )


def test_app_protection_lists_apps_with_platform_identifiers(objects):
    grouped = _by_collection(objects)
    for collection, identifier_key in (
        ("deviceAppManagement/iosManagedAppProtections", "bundleId"),
        ("deviceAppManagement/androidManagedAppProtections", "packageId"),
    ):
        for policy in grouped[collection]:
            assert policy["id"].startswith("T_")
            assert policy["apps"] and policy["deployedAppCount"] == len(policy["apps"])
            for app in policy["apps"]:
                assert app["mobileAppIdentifier"][identifier_key]


CORPUS = os.environ.get("TENANTGUARD_CORPUS_DIR")


def _plain_keys(obj: dict[str, Any]) -> set[str]:
    return {
        k for k in obj if not k.startswith("#") and ("@odata." not in k or k.startswith("@odata."))
    } - {
        "@odata.id",
        "@odata.editLink",
    }


@pytest.mark.skipif(not CORPUS, reason="set TENANTGUARD_CORPUS_DIR to compare with real exports")
@pytest.mark.parametrize(
    ("corpus_file", "demo_title"),
    [
        (
            "BYOD/AppProtection/iOS - Baseline - BYOD - App Protection.json",
            "iOS - APP - BYOD Baseline",
        ),
        (
            "BYOD/AppProtection/Android - Baseline - BYOD - App Protection.json",
            "Android - APP - BYOD Baseline",
        ),
        (
            "MACOS/IntuneManagement/CompliancePolicies/MacOS - OIB - Compliance - U - Password - v1.0.json",
            "macOS - Compliance - Baseline",
        ),
        (
            "MACOS/IntuneManagement/SettingsCatalog/MacOS - OIB - Firewall - D - Gatekeeper - v1.0.json",
            "macOS - SC - Firewall and Gatekeeper",
        ),
    ],
)
def test_demo_objects_carry_every_property_of_real_exports(objects, corpus_file, demo_title):
    path = Path(str(CORPUS)) / corpus_file
    if not path.exists():
        pytest.skip(f"{path} not present")
    real = json.loads(path.read_bytes().decode("utf-8-sig"))
    (demo,) = [o for o in objects if _title(o) == demo_title]
    assert _plain_keys(real) - _plain_keys(demo) == set()
    assert collection_of(real) == collection_of(demo)
