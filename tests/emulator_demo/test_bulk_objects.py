"""generate_bulk_objects: benchmark-sized, mixed, referentially sound, deterministic.

Its speed is part of bench/backup_5000.py, not asserted here."""

from __future__ import annotations

from collections import Counter

from tenantguard.emulator.demo import collection_of, generate_bulk_objects

FOUNDATIONS = {
    "groups",
    "deviceManagement/roleScopeTags",
    "deviceManagement/assignmentFilters",
    "deviceManagement/notificationMessageTemplates",
}


def test_five_thousand_policies_quickly_with_their_groups_and_foundations():
    objects = generate_bulk_objects(count=5000, seed=11, tenant_label="Bench")
    counts = Counter(collection_of(o) for o in objects)
    policies = [o for o in objects if collection_of(o) not in FOUNDATIONS]
    assert len(policies) == 5000
    assert FOUNDATIONS <= set(counts)
    # The mix looks like a large tenant: device configurations and settings catalog dominate.
    assert (
        counts["deviceManagement/deviceConfigurations"]
        > counts["deviceManagement/deviceManagementScripts"]
    )
    assert counts["deviceManagement/configurationPolicies"] > 800
    assert len([c for c in counts if c not in FOUNDATIONS]) == 11  # every policy collection

    group_ids = {o["id"] for o in objects if collection_of(o) == "groups"}
    filter_ids = {
        o["id"] for o in objects if collection_of(o) == "deviceManagement/assignmentFilters"
    }
    for policy in policies:
        assert 1 <= len(policy["assignments"]) <= 4
        for assignment in policy["assignments"]:
            target = assignment["target"]
            if "groupId" in target:
                assert target["groupId"] in group_ids
            if target["deviceAndAppManagementAssignmentFilterId"]:
                assert target["deviceAndAppManagementAssignmentFilterId"] in filter_ids
    ids = [(collection_of(o), o["id"]) for o in objects]
    assert len(ids) == len(set(ids))


def test_bulk_objects_are_deterministic_and_differ_by_seed():
    first = generate_bulk_objects(count=300, seed=5, tenant_label="Bench")
    again = generate_bulk_objects(count=300, seed=5, tenant_label="Bench")
    other = generate_bulk_objects(count=300, seed=6, tenant_label="Bench")
    assert first == again
    assert first != other


def test_bulk_compliance_keeps_one_block_action():
    objects = generate_bulk_objects(count=600, seed=1, tenant_label="Bench")
    compliance = [
        o for o in objects if collection_of(o) == "deviceManagement/deviceCompliancePolicies"
    ]
    assert compliance
    for policy in compliance:
        actions = policy["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
        assert [a["actionType"] for a in actions].count("block") == 1


def test_zero_count_still_returns_foundations():
    objects = generate_bulk_objects(count=0, seed=1, tenant_label="Bench")
    assert {collection_of(o) for o in objects} == FOUNDATIONS
