"""bench/bulk_tenant.py: benchmark-sized, cloned from the demo seed, referentially sound,
deterministic, and mixing every (writable) collection the seed directory holds.

Its speed is part of bench/backup_5000.py, not asserted here."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter

import pytest

from bench.bulk_tenant import (
    BULK_GROUP_COUNT,
    bulk_foundation_collections,
    bulk_originals,
    generate_bulk_objects,
)
from tenantguard.emulator import demo
from tenantguard.emulator.demo import collection_of, demo_tenant_objects
from tenantguard.intune import registry

FOUNDATIONS = bulk_foundation_collections()
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_foundations_are_the_registrys_and_the_groups():
    assert {
        "groups",
        "deviceManagement/roleScopeTags",
        "deviceManagement/assignmentFilters",
        "deviceManagement/notificationMessageTemplates",
    } <= FOUNDATIONS


def test_five_thousand_policies_with_their_groups_and_foundations():
    objects = generate_bulk_objects(count=5000, seed=11, tenant_label="Bench")
    counts = Counter(collection_of(o) for o in objects)
    policies = [o for o in objects if collection_of(o) not in FOUNDATIONS]
    assert len(policies) == 5000
    assert FOUNDATIONS <= set(counts)
    demo_groups = [
        o for o in demo_tenant_objects(tenant_label="Bench", seed=0) if collection_of(o) == "groups"
    ]
    assert counts["groups"] == BULK_GROUP_COUNT + len(demo_groups)
    # The mix follows the demo tenant: device configurations and settings catalog dominate.
    assert (
        counts["deviceManagement/deviceConfigurations"]
        > counts["deviceManagement/deviceManagementScripts"]
    )
    assert counts["deviceManagement/configurationPolicies"] > 500
    # every kind of the seed directory a restore can create, and only those
    originals = bulk_originals()
    assert set(counts) - FOUNDATIONS == {collection for collection, _ in originals}
    assert len({collection for collection, _ in originals}) >= 11
    assert "identity/conditionalAccess/policies" not in counts  # preview-only
    assert "deviceManagement/settings" not in counts  # one per tenant

    ids = [(collection_of(o), o["id"]) for o in objects]
    assert len(ids) == len(set(ids))
    names = [
        (collection_of(o), registry.display_name_of(registry.classify(collection_of(o), o), o))
        for o in objects
    ]
    assert len(names) == len(set(names))


def test_bulk_references_point_at_the_bulk_tenants_own_objects():
    objects = generate_bulk_objects(count=800, seed=3, tenant_label="Bench")
    by_collection: dict[str, set[str]] = {}
    for obj in objects:
        by_collection.setdefault(collection_of(obj), set()).add(obj["id"])
    group_ids = by_collection["groups"]
    filter_ids = by_collection["deviceManagement/assignmentFilters"]
    tag_ids = by_collection["deviceManagement/roleScopeTags"]
    template_ids = by_collection["deviceManagement/notificationMessageTemplates"]
    demo_objects = demo_tenant_objects(tenant_label="Bench", seed=3)
    demo_group_ids = {o["id"] for o in demo_objects if collection_of(o) == "groups"}
    # GUIDs that name a whole object of the demo tenant (T_<guid>, <guid>_Suffix too)
    demo_object_guids = {g for o in demo_objects for g in GUID.findall(o.get("id", ""))}
    bulk_object_guids = {g for o in objects for g in GUID.findall(o.get("id", ""))}
    assigned_groups: set[str] = set()
    clones = 0
    for policy in objects:
        if collection_of(policy) in FOUNDATIONS:
            continue
        assert set(policy.get("roleScopeTagIds") or []) <= tag_ids
        for assignment in policy.get("assignments") or []:
            target = assignment["target"]
            if "groupId" in target:
                assert target["groupId"] in group_ids
                assigned_groups.add(target["groupId"])
            if target.get("deviceAndAppManagementAssignmentFilterId"):
                assert target["deviceAndAppManagementAssignmentFilterId"] in filter_ids
        for rule in policy.get("scheduledActionsForRule") or []:
            for action in rule["scheduledActionConfigurations"]:
                if action["actionType"] == "notification":
                    assert action["notificationTemplateId"] in template_ids
        text = json.dumps(policy)
        # no reference to an object of the demo tenant the bulk tenant does not hold
        assert set(GUID.findall(text)) & demo_object_guids <= bulk_object_guids
        if "#" in registry.display_name_of(
            registry.classify(collection_of(policy), policy), policy
        ):
            clones += 1
            # a clone's groups are bulk groups
            assert not set(GUID.findall(text)) & demo_group_ids
    assert clones == 800 - len(bulk_originals())
    assert len(assigned_groups) > BULK_GROUP_COUNT // 2  # spread over the bulk groups


def test_clones_get_fresh_ids_for_nested_items_too():
    objects = generate_bulk_objects(count=400, seed=2, tenant_label="Bench")
    action_ids = [
        action["id"]
        for o in objects
        for rule in o.get("scheduledActionsForRule") or []
        for action in rule["scheduledActionConfigurations"]
    ]
    assert action_ids and len(action_ids) == len(set(action_ids))
    admx_value_ids = [v["id"] for o in objects for v in o.get("definitionValues") or []]
    assert admx_value_ids and len(admx_value_ids) == len(set(admx_value_ids))


def test_bulk_objects_are_deterministic_and_differ_by_seed():
    first = generate_bulk_objects(count=300, seed=5, tenant_label="Bench")
    again = generate_bulk_objects(count=300, seed=5, tenant_label="Bench")
    other = generate_bulk_objects(count=300, seed=6, tenant_label="Bench")
    assert first == again
    assert first != other


def test_two_labels_give_disjoint_bulk_tenants():
    first = {o["id"] for o in generate_bulk_objects(count=200, seed=5, tenant_label="Lab")}
    second = {o["id"] for o in generate_bulk_objects(count=200, seed=5, tenant_label="Bench")}
    assert first & second == {"0"}  # only the built-in "Default" scope tag


def test_bulk_compliance_keeps_one_block_action():
    objects = generate_bulk_objects(count=600, seed=1, tenant_label="Bench")
    compliance = [
        o for o in objects if collection_of(o) == "deviceManagement/deviceCompliancePolicies"
    ]
    assert compliance
    for policy in compliance:
        actions = policy["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
        assert [a["actionType"] for a in actions].count("block") == 1


def test_the_first_policies_are_the_demo_objects_of_every_kind():
    originals = bulk_originals()
    objects = generate_bulk_objects(count=len(originals), seed=1, tenant_label="Bench")
    policies = [o for o in objects if collection_of(o) not in FOUNDATIONS]
    assert [(collection_of(o), o["id"]) for o in policies] == originals
    # the demo objects in the bulk tenant are the demo tenant's, for the same label
    demo_ids = {o.get("id") for o in demo_tenant_objects(tenant_label="Bench", seed=1)}
    assert {o["id"] for o in objects} - demo_ids == {
        o["id"] for o in objects if collection_of(o) == "groups" and o["id"] not in demo_ids
    }


def test_zero_count_still_returns_foundations():
    objects = generate_bulk_objects(count=0, seed=1, tenant_label="Bench")
    assert {collection_of(o) for o in objects} == FOUNDATIONS


def test_negative_count_is_refused():
    with pytest.raises(ValueError, match="count"):
        generate_bulk_objects(count=-1, seed=1, tenant_label="Bench")


def test_the_mix_follows_the_seed_directory(tmp_path, monkeypatch):
    """Kinds come from the files: a collection missing from the seed directory is missing from
    the bulk tenant, and one present is mixed in, with no code change."""
    seed_dir = tmp_path / "demo"
    shutil.copytree(demo.DEMO_SEED_DIR, seed_dir)
    shutil.rmtree(seed_dir / "deviceManagement" / "windowsDriverUpdateProfiles")
    monkeypatch.setattr(demo, "DEMO_SEED_DIR", seed_dir)
    without = {collection_of(o) for o in generate_bulk_objects(count=300, seed=1, tenant_label="B")}
    assert "deviceManagement/windowsDriverUpdateProfiles" not in without
    monkeypatch.undo()
    full = {collection_of(o) for o in generate_bulk_objects(count=300, seed=1, tenant_label="B")}
    assert full - without == {"deviceManagement/windowsDriverUpdateProfiles"}


def test_every_kind_adds_the_kinds_a_restore_never_creates_once():
    from bench.bulk_tenant import generate_bulk_objects as bulk
    from tenantguard.intune import registry

    objects = bulk(count=200, seed=3, tenant_label="Every Kind", every_kind=True)
    kinds = set()
    for obj in objects:
        collection = collection_of(obj)
        if collection in ("groups", "organization"):
            continue
        kinds.add(registry.classify(collection, obj).key)
        if obj.get("enrollmentProfiles"):  # Apple profiles live under their DEP token
            kinds.add("apple_enrollment_profile")
    # plus what every tenant already holds (the emulator's built-in objects)
    kinds |= {registry.classify(c, obj).key for c, obj in registry.builtin_objects()}
    missing = {ptype.key for ptype in registry.all_types()} - kinds
    assert not missing, missing
    assert len(objects) > 200
