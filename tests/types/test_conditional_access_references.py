"""Conditional Access policies refer to named locations, authentication strengths and groups
(tenantguard/intune/types/conditional_access.py): the references are found, the expanded
authentication strength is compared by id, and the policies stay preview-only."""

from __future__ import annotations

import copy

from tenantguard.intune import references, registry, write
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, take_backup
from .apps_support import by_name, log_size, seed_collections, writes_to

CA = "identity/conditionalAccess/policies"
IDENTITY = ("identity/conditionalAccess/namedLocations", "policies/authenticationStrengthPolicies")
MFA_ADMINS = "CA001 - Require MFA for administrators"
COMPLIANT = "CA010 - Require compliant device for Office 365"


def test_the_demo_policies_use_a_named_location_a_custom_strength_and_groups(demo_objects):
    locations = {o["id"] for o in demo_objects if "namedLocations" in str(o["@odata.context"])}
    strengths = {
        o["id"]
        for o in demo_objects
        if "authenticationStrengthPolicies" in str(o["@odata.context"])
    }
    policies = {o["displayName"]: o for o in demo_objects if f"#{CA}" in o["@odata.context"]}
    found = {
        name: references.references_of(
            type_key="conditional_access", payload=p, assignments=None, scope_tag_ids=None
        )
        for name, p in policies.items()
    }
    by_kind = {
        name: {(r.kind, r.source_id in locations | strengths) for r in refs}
        for name, refs in found.items()
    }
    assert ("authentication_strength", True) in by_kind[MFA_ADMINS]
    assert ("named_location", True) in by_kind[COMPLIANT]
    assert ("group", False) in by_kind[COMPLIANT]
    # "All" is included in CA010's locations: a keyword, not a reference.
    assert [r.source_id for r in found[COMPLIANT] if r.kind == "named_location"] == [
        policies[COMPLIANT]["conditions"]["locations"]["excludeLocations"][0]
    ]


def test_policies_are_compared_by_their_strength_id_and_never_written(
    personas, tenant, emulated, demo_objects
):
    owner = personas["owner"]
    assert registry.get("conditional_access").is_preview_only
    assert not write.is_writable("conditional_access")
    seed_collections(emulated, demo_objects, *IDENTITY, CA)
    baseline = take_backup(owner, tenant)
    (item,) = baseline.items.filter(policy_type="conditional_access", display_name=MFA_ADMINS)
    assert item.payload["grantControls"]["authenticationStrength"]["displayName"]

    policies = by_name(emulated, "conditional_access")
    # Graph expands the strength in the policy: a renamed strength is not a changed policy.
    (strength,) = [
        s
        for s in by_name(emulated, "authentication_strength").values()
        if s["policyType"] == "custom"
    ]
    emulated.put_object(IDENTITY[1], {**strength, "displayName": "Renamed strength"})
    edited = copy.deepcopy(policies[COMPLIANT])
    edited["conditions"]["locations"]["excludeLocations"] = []
    emulated.put_object(CA, edited)

    start = log_size()
    run = prepare_run(owner, tenant, baseline)
    planned = {
        p.display_name: p for p in run.preview_items.filter(policy_type="conditional_access")
    }
    assert planned[MFA_ADMINS].diff["changes"] == []
    assert planned[MFA_ADMINS].action == "skip"  # preview-only, whatever the difference
    changed = planned[COMPLIANT]
    assert (changed.action, changed.diff["skip_code"]) == ("skip", "preview_only_type")
    assert any(
        c["path"].startswith("conditions.locations.excludeLocations")
        for c in changed.diff["changes"]
    )
    restore_run_execute(run_id=run.pk)
    assert writes_to(emulated, CA, since=start) == []
