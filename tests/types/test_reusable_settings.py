"""Reusable policy settings (tenantguard/intune/types/reusable_settings.py) and the
``reusable_setting`` reference kind: Graph's rules in the emulator, the ``**[key=value]`` path
segment that finds a setting value by its definition id at any depth, the references of
firewall rules and Linux compliance, and restores that create the reusable setting first and
write the policy with its new id (or block when it is missing)."""

from __future__ import annotations

from typing import Any

from tenantguard.intune import normalize, reference_kinds, registry
from tenantguard.intune.references import references_of
from tenantguard.intune.typespec import deep_filter, deep_matches, path_segments
from tenantguard.restores.models import RestoreCheckResult
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope

from ..restores_exec.conftest import prepare_run, seed, take_backup
from .endpoint_support import DM, backup_state, graph, log_mark, named, writes_since

URL = f"{DM}/reusablePolicySettings"
REUSABLE = "deviceManagement/reusablePolicySettings"
POLICIES = "deviceManagement/configurationPolicies"
FIREWALL_RULES = "ES - Firewall Rules - Admin access"
JUMP_HOSTS = "FW - Admin jump hosts"
KEYWORDS = (
    "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_remoteaddressdynamickeywords"
)
KW = "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}"


def _keyword_body(name: str = "FW - Test keyword") -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementReusablePolicySetting",
        "displayName": name,
        "description": "",
        "settingDefinitionId": KW,
        "settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionInstance",
            "settingDefinitionId": f"{KW}_addresses",
            "simpleSettingCollectionValue": [
                {
                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValue",
                    "value": "10.0.0.1",
                }
            ],
        },
    }


def test_create_answers_201_with_version_and_the_referencing_count():
    with graph() as client:
        response = client.post(
            URL, json={**_keyword_body(), "referencingConfigurationPolicyCount": 9}
        )
        assert response.status_code == 201
        created = response.json()
        assert created["version"] == 1
        assert created["referencingConfigurationPolicyCount"] == 0  # read-only, server's
        assert created["settingInstance"]["settingDefinitionId"] == f"{KW}_addresses"
        assert "roleScopeTagIds" not in created
        patched = client.patch(f"{URL}/{created['id']}", json={"description": "changed"})
        assert patched.status_code == 204
        after = client.get(f"{URL}/{created['id']}").json()
        assert after["version"] == 2 and after["description"] == "changed"
        # No assign action: reusable settings have no assignments.
        assign = client.post(f"{URL}/{created['id']}/assign", json={"assignments": []})
        assert assign.status_code == 400


def test_select_names_are_not_case_sensitive_as_intunecd_sends_them():
    """IntuneCD lists with $select=id,settinginstance,displayname,... and reads displayName
    and settingInstance from the answer."""
    with graph(demo=True) as client:
        params = {
            "$select": "id,settinginstance,displayname,description,settingDefinitionId,version"
        }
        listed = client.get(URL, params=params).json()["value"]
        assert len(listed) == 3
        for item in listed:
            assert {"id", "displayName", "settingInstance", "version"} <= set(item)
            assert "createdDateTime" not in item
        linux = named(listed, "LNX - Disk encryption discovery")
        assert linux["settingInstance"]["simpleSettingValue"]["value"]  # base64 script
        by_id = client.get(URL, params={"$filter": f"id eq '{linux['id']}'"}).json()["value"]
        assert [i["displayName"] for i in by_id] == ["LNX - Disk encryption discovery"]


def test_deep_segments_find_a_setting_by_definition_id_at_any_depth():
    path = "settings[].settingInstance.**[settingDefinitionId=a.b{x}].simpleSettingValue.value"
    assert path_segments(path) == [
        "settings[]",
        "settingInstance",
        "**[settingDefinitionId=a.b{x}]",
        "simpleSettingValue",
        "value",
    ]
    assert deep_filter("**[settingDefinitionId=a.b]") == ("settingDefinitionId", "a.b")
    assert deep_filter("settings[]") is None
    tree = {
        "settingDefinitionId": "top",
        "children": [
            {"settingDefinitionId": "other", "value": 1},
            {
                "settingDefinitionId": "a.b",
                "value": 2,
                "children": [{"settingDefinitionId": "a.b"}],
            },
        ],
    }
    found = list(deep_matches(tree, ("settingDefinitionId", "a.b"), "root"))
    assert [(where, match["value"]) for where, match in found] == [("root.children[1]", 2)]


def _demo_item(demo_objects: list[dict[str, Any]], collection: str, name: str) -> dict[str, Any]:
    from tenantguard.emulator.demo import collection_of

    key = "name" if collection.endswith("Policies") and collection != REUSABLE else "displayName"
    return named([o for o in demo_objects if collection_of(o) == collection], name, key)


def test_firewall_rules_and_linux_compliance_refer_to_reusable_settings(demo_objects):
    jump = _demo_item(demo_objects, REUSABLE, JUMP_HOSTS)
    controllers = _demo_item(demo_objects, REUSABLE, "FW - Domain controllers")
    rules = _demo_item(demo_objects, POLICIES, FIREWALL_RULES)
    refs = [
        r
        for r in references_of(
            type_key="endpoint_security", payload=rules, assignments=[], scope_tag_ids=["0"]
        )
        if r.kind == "reusable_setting"
    ]
    assert sorted(r.source_id for r in refs) == sorted([jump["id"], jump["id"], controllers["id"]])
    # Where: the keyword list of each rule, not the port ranges beside it.
    assert all(
        r.where.endswith("].value") and "simpleSettingCollectionValue[0]" in r.where for r in refs
    )
    assert all(
        ".groupSettingCollectionValue[" in r.where and ".children[6]" in r.where for r in refs
    )
    assert normalize.foundation_refs("endpoint_security", rules, [])["reusable_setting"] == {
        jump["id"],
        controllers["id"],
    }

    linux = _demo_item(
        demo_objects, "deviceManagement/compliancePolicies", "LNX - Compliance - Baseline"
    )
    script = _demo_item(demo_objects, REUSABLE, "LNX - Disk encryption discovery")
    linux_refs = references_of(
        type_key="compliance_settings_catalog",
        payload=linux,
        assignments=[],
        scope_tag_ids=linux["roleScopeTagIds"],
    )
    assert [r.source_id for r in linux_refs if r.kind == "reusable_setting"] == [script["id"]]
    kind = reference_kinds.get("reusable_setting")
    assert kind.foundation_type == "reusable_setting" and not kind.can_skip
    assert registry.get("reusable_setting").is_foundation


def _checked_run(owner, tenant, backup_set, items):
    run = restore_run_create(actor=owner, tenant=tenant, backup_set=backup_set)
    run = restore_run_set_scope(
        actor=owner, run=run, mode="selected", item_ids=[i.pk for i in items]
    )
    return restore_run_run_checks(actor=owner, run=run)


def test_a_missing_reusable_setting_blocks_the_policy_until_it_is_in_scope(
    personas, tenant, emulated, demo_objects
):
    owner = personas["owner"]
    seed(emulated, demo_objects)
    baseline = take_backup(owner, tenant)
    jump = named(emulated.list_objects(REUSABLE), JUMP_HOSTS)
    emulated.delete_object(REUSABLE, jump["id"])
    rules_item = baseline.items.get(policy_type="endpoint_security", display_name=FIREWALL_RULES)
    jump_item = baseline.items.get(policy_type="reusable_setting", display_name=JUMP_HOSTS)

    run = _checked_run(owner, tenant, baseline, [rules_item])
    rows = list(RestoreCheckResult.objects.filter(run=run, code="reusable_setting_missing"))
    assert len(rows) == 1 and rows[0].severity == "blocking"
    assert JUMP_HOSTS in rows[0].message and "uses reusable setting" in rows[0].message

    run = _checked_run(owner, tenant, baseline, [rules_item, jump_item])
    assert not RestoreCheckResult.objects.filter(run=run, code="reusable_setting_missing").exists()


def test_a_restore_creates_the_reusable_setting_first_and_writes_its_new_id(
    personas, tenant, emulated, demo_objects
):
    """The firewall rules policy and the reusable setting it names are both deleted; restoring
    both creates the reusable setting (a new id) before the policy, whose keyword list then
    names the new id; a backup taken afterwards equals the first (ids aside)."""
    owner = personas["owner"]
    seed(emulated, demo_objects)
    baseline = take_backup(owner, tenant)
    before = {
        "reusable_setting": backup_state(baseline, "reusable_setting"),
        "endpoint_security": backup_state(baseline, "endpoint_security"),
    }
    jump = named(emulated.list_objects(REUSABLE), JUMP_HOSTS)
    rules = named(emulated.list_objects(POLICIES), FIREWALL_RULES, "name")
    emulated.delete_object(REUSABLE, jump["id"])
    emulated.delete_object(POLICIES, rules["id"])
    controllers = named(emulated.list_objects(REUSABLE), "FW - Domain controllers")
    controllers["description"] = "changed after the backup"
    emulated.put_object(REUSABLE, controllers)

    items = [
        baseline.items.get(policy_type="endpoint_security", display_name=FIREWALL_RULES),
        baseline.items.get(policy_type="reusable_setting", display_name=JUMP_HOSTS),
        baseline.items.get(policy_type="reusable_setting", display_name="FW - Domain controllers"),
    ]
    mark = log_mark()
    run = prepare_run(owner, tenant, baseline, item_ids=[i.pk for i in items])
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    posts = [path for method, path, _ in writes_since(mark) if method == "POST"]
    assert posts.index(f"/beta/{REUSABLE}") < posts.index(f"/beta/{POLICIES}")

    new_jump = named(emulated.list_objects(REUSABLE), JUMP_HOSTS)
    assert new_jump["id"] != jump["id"]
    recreated = named(emulated.list_objects(POLICIES), FIREWALL_RULES, "name")
    found = references_of(
        type_key="endpoint_security", payload=recreated, assignments=[], scope_tag_ids=[]
    )
    assert sorted(r.source_id for r in found if r.kind == "reusable_setting") == sorted(
        [new_jump["id"], new_jump["id"], controllers["id"]]
    )
    after = take_backup(owner, tenant)
    assert backup_state(after, "reusable_setting") == before["reusable_setting"]
    rules_after = backup_state(after, "endpoint_security")[FIREWALL_RULES]
    rules_before = before["endpoint_security"][FIREWALL_RULES]
    assert rules_after[1:] == rules_before[1:]  # assignments and scope tags
    # The payload differs only by the reusable setting's id.
    text_before = normalize.canonical_json(rules_before[0]).replace(jump["id"], new_jump["id"])
    assert normalize.canonical_json(rules_after[0]) == text_before


def test_referencing_configuration_policies_lists_the_policies_that_name_it():
    """Graph's read-only relationship: the configuration policies whose settings refer to the
    reusable setting (the emulator computes it from the settings)."""
    with graph(demo=True) as client:
        listed = client.get(URL).json()["value"]
        jump = named(listed, JUMP_HOSTS)
        response = client.get(f"{URL}/{jump['id']}/referencingConfigurationPolicies")
        assert response.status_code == 200
        assert [p["name"] for p in response.json()["value"]] == [FIREWALL_RULES]
        assert "settings" not in response.json()["value"][0]
        unused = client.post(URL, json=_keyword_body("FW - Unused")).json()
        none = client.get(f"{URL}/{unused['id']}/referencingConfigurationPolicies")
        assert none.status_code == 200 and none.json()["value"] == []
        missing = client.get(f"{URL}/not-there/referencingConfigurationPolicies")
        assert missing.status_code == 404


def _reference_value(definition: str, value: str) -> dict[str, Any]:
    return {
        "settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": definition,
            "simpleSettingValue": {
                "@odata.type": (
                    "#microsoft.graph.deviceManagementConfigurationReferenceSettingValue"
                ),
                "value": value,
            },
        }
    }


def test_any_reference_setting_value_is_a_reusable_setting_reference_counted_once():
    """Graph marks "the id of a reusable setting" with ReferenceSettingValue under any setting
    definition: one the known list does not name is still found (never written with the
    source id), and a place both the list and the type name is one reference, rewritten once."""
    from tenantguard.intune.references import rewrite

    from ..intune_restore.reference_support import StaticResolver

    payload = {
        "name": "Linux - compliance",
        "settings": [
            _reference_value("some_future_setting_naming_a_reusable_setting", "rs-future"),
            _reference_value("linux_customcompliance_discoveryscript", "rs-script"),
        ],
    }
    refs = references_of(
        type_key="compliance_settings_catalog", payload=payload, assignments=None, scope_tag_ids=[]
    )
    found = sorted(ref.source_id for ref in refs if ref.kind == "reusable_setting")
    assert found == ["rs-future", "rs-script"]
    resolver = StaticResolver(
        mapping={"reusable_setting": {"rs-future": "tgt-future", "rs-script": "tgt-script"}}
    )
    written = rewrite(
        type_key="compliance_settings_catalog",
        payload=payload,
        assignments=None,
        scope_tag_ids=[],
        resolver=resolver,
    )
    values = [
        s["settingInstance"]["simpleSettingValue"]["value"] for s in written.payload["settings"]
    ]
    assert values == ["tgt-future", "tgt-script"]
    assert not written.unresolved
