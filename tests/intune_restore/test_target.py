"""The live target as the restore engine reads it: one read per collection, matching, re-reads
and the group lookups of the mapping editor."""

from __future__ import annotations

import copy

import pytest

from tenantguard.graph import PermissionDeniedError
from tenantguard.intune import normalize, registry, target
from tenantguard.intune.capture import CapturedItem

from .conftest import Env

ALL_TYPES = [ptype.key for ptype in registry.all_types()]


def _normalized(item: CapturedItem) -> tuple[object, object, object]:
    return (
        normalize.normalize_payload(item.type_key, item.payload),
        normalize.normalize_assignments(item.assignments or []),
        sorted(item.scope_tag_ids),
    )


def test_read_target_holds_every_object_once_indexed_by_id_and_name(env: Env) -> None:
    state = target.read_target(env.client, type_keys=ALL_TYPES)
    assert state.unreadable == {}
    for item in env.backup:
        assert state.by_id(item.type_key, item.source_id) is not None
        assert item.source_id in {
            i.source_id for i in state.by_name(item.type_key, item.display_name)
        }
    assert sum(len(state.items(key)) for key in ALL_TYPES) == len(env.backup)
    # Target items have the backup's shape: they normalize identically.
    for item in env.backup:
        live = state.by_id(item.type_key, item.source_id)
        assert live is not None and _normalized(live) == _normalized(item)


def test_read_target_reads_each_collection_once(env: Env) -> None:
    mark = env.log_mark()
    target.read_target(env.client, type_keys=["settings_catalog", "endpoint_security"])
    lists = [
        p
        for m, p, _ in env.requests_since(mark)
        if p == "/beta/deviceManagement/configurationPolicies"
    ]
    assert len(lists) == 1


def test_by_name_is_exact_and_case_sensitive(env: Env) -> None:
    state = target.read_target(env.client, type_keys=["compliance_policy"])
    item = state.items("compliance_policy")[0]
    assert state.by_name("compliance_policy", item.display_name) == [item]
    assert state.by_name("compliance_policy", item.display_name.upper()) == []
    assert state.by_name("compliance_policy", item.display_name + " ") == []
    assert state.by_name("settings_catalog", item.display_name) == []


def test_group_names_of_the_targets_assignments(env: Env) -> None:
    state = target.read_target(env.client, type_keys=["settings_catalog"])
    used = {g for item in state.items("settings_catalog") for g in item.group_refs}
    assert used and set(state.group_names) == used
    groups = {o["id"]: o["displayName"] for o in env.groups()}
    assert all(state.group_names[g] == groups[g] for g in used)


def test_a_type_the_app_cannot_read_is_unreadable_not_empty(env: Env) -> None:
    env.tenant.denied_permissions = {"DeviceManagementApps.Read.All"}
    state = target.read_target(
        env.client, type_keys=["ios_app_protection", "android_app_protection", "compliance_policy"]
    )
    assert set(state.unreadable) == {"ios_app_protection", "android_app_protection"}
    assert "DeviceManagementApps.Read.All" in state.unreadable["ios_app_protection"]
    assert state.items("ios_app_protection") == []
    assert state.items("compliance_policy")


def test_match_same_tenant_by_id_then_name(env: Env) -> None:
    state = target.read_target(env.client, type_keys=["compliance_policy"])
    item = env.item("compliance_policy")
    by_id = target.match_item(
        state,
        type_key=item.type_key,
        source_id=item.source_id,
        display_name="renamed",
        same_tenant=True,
    )
    assert (
        by_id.kind == "id" and by_id.target is not None and by_id.target.source_id == item.source_id
    )

    by_name = target.match_item(
        state,
        type_key=item.type_key,
        source_id="gone-id",
        display_name=item.display_name,
        same_tenant=True,
    )
    assert by_name.kind == "name" and by_name.target is not None
    assert by_name.target.source_id == item.source_id

    none = target.match_item(
        state,
        type_key=item.type_key,
        source_id="gone-id",
        display_name="nothing like it",
        same_tenant=True,
    )
    assert none.kind == "none" and none.target is None and none.candidates == []


def test_match_cross_tenant_uses_the_name_only(env: Env) -> None:
    state = target.read_target(env.client, type_keys=["compliance_policy"])
    first, second = env.items("compliance_policy")[:2]
    # The source id exists in the target, but ids never carry over between tenants.
    match = target.match_item(
        state,
        type_key=first.type_key,
        source_id=first.source_id,
        display_name=second.display_name,
        same_tenant=False,
    )
    assert (
        match.kind == "name"
        and match.target is not None
        and match.target.source_id == second.source_id
    )
    missing = target.match_item(
        state,
        type_key=first.type_key,
        source_id=first.source_id,
        display_name="absent",
        same_tenant=False,
    )
    assert missing.kind == "none"


def test_several_objects_with_the_name_are_ambiguous(env: Env) -> None:
    item = env.item("compliance_policy")
    duplicate = copy.deepcopy(env.live("compliance_policy", item.source_id))
    assert duplicate is not None
    duplicate["id"] = "dup-of-" + item.source_id
    env.tenant.put_object(env.collection("compliance_policy"), duplicate)
    state = target.read_target(env.client, type_keys=["compliance_policy"])
    match = target.match_item(
        state,
        type_key=item.type_key,
        source_id="gone",
        display_name=item.display_name,
        same_tenant=True,
    )
    assert match.kind == "ambiguous" and match.target is None
    assert {c.source_id for c in match.candidates} == {item.source_id, duplicate["id"]}
    # The source id still wins in the same tenant.
    assert (
        target.match_item(
            state,
            type_key=item.type_key,
            source_id=item.source_id,
            display_name=item.display_name,
            same_tenant=True,
        ).kind
        == "id"
    )
    across = target.match_item(
        state,
        type_key=item.type_key,
        source_id=item.source_id,
        display_name=item.display_name,
        same_tenant=False,
    )
    assert across.kind == "ambiguous"


def test_read_one_equals_the_backup_item_for_every_type(env: Env) -> None:
    for item in env.backup:
        again = target.read_one(env.client, type_key=item.type_key, object_id=item.source_id)
        assert again is not None, item.display_name
        assert again.type_key == item.type_key
        assert _normalized(again) == _normalized(item), f"{item.type_key} {item.display_name}"
        assert again.secrets == item.secrets
        assert again.warnings == item.warnings == []


def test_read_one_of_a_missing_object_is_none(env: Env) -> None:
    assert target.read_one(env.client, type_key="settings_catalog", object_id="no-such-id") is None


def test_find_groups_in_input_order_without_the_missing(env: Env) -> None:
    groups = env.groups()[:3]
    ids = [groups[2]["id"], "00000000-dead-beef-0000-000000000000", groups[0]["id"]]
    found = target.find_groups(env.client, ids=ids)
    assert found == [
        {"id": groups[2]["id"], "displayName": groups[2]["displayName"]},
        {"id": groups[0]["id"], "displayName": groups[0]["displayName"]},
    ]
    assert target.find_groups(env.client, ids=[]) == []


def test_search_groups_by_prefix(env: Env) -> None:
    found = target.search_groups(env.client, "SG-Intune-")
    names = {g["displayName"] for g in found}
    assert names and all(name.startswith("SG-Intune-") for name in names)
    assert "SG-Finance-Users" not in names
    assert len(target.search_groups(env.client, "SG-", top=2)) == 2


def test_search_groups_escapes_quotes(env: Env) -> None:
    env.tenant.put_object(
        "groups",
        {
            "@odata.type": "#microsoft.graph.group",
            "id": "0be1e7c4-0000-4000-8000-000000000001",
            "displayName": "O'Brien's laptops",
        },
    )
    found = target.search_groups(env.client, "O'Brien")
    assert found == [
        {"id": "0be1e7c4-0000-4000-8000-000000000001", "displayName": "O'Brien's laptops"}
    ]
    assert target.odata_string_literal("a'b") == "'a''b'"


def test_find_groups_without_permission_raises_instead_of_finding_nothing(env: Env) -> None:
    env.tenant.denied_permissions = {"Group.Read.All"}
    with pytest.raises(PermissionDeniedError):
        target.find_groups(env.client, ids=[env.groups()[0]["id"]])


def test_find_groups_reads_fifteen_ids_a_filter_twenty_filters_a_batch(env: Env) -> None:
    ids = [g["id"] for g in env.groups()] + [
        f"00000000-0000-4000-8000-{n:012d}" for n in range(320)
    ]
    mark = env.log_mark()
    found = target.find_groups(env.client, ids=ids)
    assert [g["id"] for g in found] == [g["id"] for g in env.groups()]
    sent = env.requests_since(mark)
    filters = [r for r in sent if r[1] == "/beta/groups"]  # the log keeps paths, not queries
    assert len(filters) == -(-len(ids) // 15)
    assert len([r for r in sent if r[1] == "/beta/$batch"]) == -(-len(filters) // 20)


def test_find_groups_matches_ids_whatever_their_case(env: Env) -> None:
    group = env.groups()[0]
    found = target.find_groups(env.client, ids=[group["id"].upper()])
    assert found == [{"id": group["id"].upper(), "displayName": group["displayName"]}]


def test_an_id_that_is_not_a_guid_is_no_group(env: Env) -> None:
    # (a 400 for a filter of GUIDs raises instead: "could not look" is not "missing")
    assert target.find_groups(env.client, ids=["not-a-guid"]) == []
