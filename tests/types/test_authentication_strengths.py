"""Authentication strengths (``policies/authenticationStrengthPolicies``,
tenantguard/intune/types/identity.py): Graph's rules in the emulator (built-in strengths,
PATCH of the name only, ``updateAllowedCombinations``) and restore round trips."""

from __future__ import annotations

from tenantguard.emulator.testing import graph_error
from tenantguard.intune import reference_kinds, references, registry
from tenantguard.intune.types.identity import BUILTIN_STRENGTH_IDS

from .apps_support import log_size, writes_to
from .tenant_admin_support import demo_of, graph, round_trip

COLLECTION = "policies/authenticationStrengthPolicies"
URL = f"/v1.0/{COLLECTION}"
NAME = "Contoso admins - phishing-resistant or OTP"


def _strength(**extra):
    return {
        "@odata.type": "#microsoft.graph.authenticationStrengthPolicy",
        "displayName": "Contractors",
        "description": "Authenticator or OTP",
        "allowedCombinations": ["password,microsoftAuthenticatorPush", "password,softwareOath"],
        **extra,
    }


def test_every_tenant_has_the_three_builtin_strengths_which_cannot_change():
    with graph() as client:
        listed = client.get(URL).json()["value"]
        assert {s["id"] for s in listed} == BUILTIN_STRENGTH_IDS
        assert {s["policyType"] for s in listed} == {"builtIn"}
        builtin = f"{URL}/00000000-0000-0000-0000-000000000004"
        assert client.patch(builtin, json={"description": "x"}).status_code == 400
        assert client.delete(builtin).status_code == 400
        action = client.post(
            f"{builtin}/updateAllowedCombinations", json={"allowedCombinations": ["fido2"]}
        )
        assert action.status_code == 400


def test_create_answers_201_and_graph_sets_the_policy_type():
    with graph() as client:
        response = client.post(URL, json=_strength(policyType="builtIn"))
        assert response.status_code == 201
        created = response.json()
        assert created["policyType"] == "custom" and created["requirementsSatisfied"] == "mfa"
        assert created["allowedCombinations"] == _strength()["allowedCombinations"]
        assert created["combinationConfigurations"] == []
        assert created["createdDateTime"] and created["modifiedDateTime"]
        assert "version" not in created and "lastModifiedDateTime" not in created
        missing = _strength()
        del missing["allowedCombinations"]
        assert client.post(URL, json=missing).status_code == 400


def test_patch_changes_the_name_only_and_combinations_change_through_the_action():
    with graph() as client:
        created = client.post(URL, json=_strength()).json()
        item = f"{URL}/{created['id']}"
        refused = client.patch(item, json={"allowedCombinations": ["fido2"]})
        assert refused.status_code == 400
        assert "updateAllowedCombinations" in graph_error(refused)["message"]
        assert client.patch(item, json={"description": "Changed"}).status_code == 204
        result = client.post(
            f"{item}/updateAllowedCombinations", json={"allowedCombinations": ["fido2"]}
        )
        assert result.status_code == 200
        body = result.json()
        assert body["previousCombinations"] == _strength()["allowedCombinations"]
        assert body["currentCombinations"] == ["fido2"]
        assert body["conditionalAccessReferences"] == []
        read = client.get(item).json()
        assert (read["description"], read["allowedCombinations"]) == ("Changed", ["fido2"])
        empty = client.post(f"{item}/updateAllowedCombinations", json={"allowedCombinations": []})
        assert empty.status_code == 400


def test_builtin_strengths_are_not_references_and_custom_ones_are(demo_objects):
    ptype = registry.get("authentication_strength")
    assert ptype.is_foundation and not ptype.is_preview_only
    assert reference_kinds.get("authentication_strength").foundation_type == ptype.key
    (custom,) = demo_of(demo_objects, ptype.collection)
    assert custom["policyType"] == "custom"
    for strength_id, expected in (
        ("00000000-0000-0000-0000-000000000002", []),
        (custom["id"], [custom["id"]]),
    ):
        payload = {"grantControls": {"authenticationStrength": {"id": strength_id}}}
        found = references.references_of(
            type_key="conditional_access", payload=payload, assignments=None, scope_tag_ids=None
        )
        assert [r.source_id for r in found if r.kind == "authentication_strength"] == expected


def _weaken(obj):
    obj["description"] = "Weakened in the portal"
    obj["allowedCombinations"] = ["password,sms"]


def test_a_changed_strength_is_restored_by_patch_and_the_action(
    personas, tenant, emulated, demo_objects
):
    start = log_size()
    planned, _run, _baseline = round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="authentication_strength",
        modify={NAME: _weaken},
        expect={NAME: "update", "Phishing-resistant MFA": "skip"},
    )
    paths = {c["path"] for c in planned[NAME].diff["changes"]}
    assert "description" in paths and any(p.startswith("allowedCombinations") for p in paths)
    # The name by PATCH, the combinations by the action; the built-in strengths untouched.
    writes = [
        (method, path, status)
        for method, path, status in writes_to(emulated, COLLECTION, since=start)
    ]
    assert [(method, path.rsplit("/", 1)[-1], status) for method, path, status in writes][1:] == [
        ("POST", "updateAllowedCombinations", 200)
    ]
    assert writes[0][0] == "PATCH" and writes[0][2] == 204
    assert not any("00000000-0000-0000-0000-00000000000" in path for _, path, _ in writes)


def test_a_deleted_strength_is_created_with_its_combinations(
    personas, tenant, emulated, demo_objects
):
    round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="authentication_strength",
        modify={},
        delete=[("authentication_strength", NAME)],
        expect={NAME: "create", "Multifactor authentication": "skip"},
    )


def test_a_conditional_access_policy_reads_its_strength_as_it_is_now(demo_objects):
    wanted = ("authenticationStrengthPolicies", "conditionalAccess/policies")
    seeded = [o for o in demo_objects if any(w in o["@odata.context"] for w in wanted)]
    with graph(seed_objects=seeded) as client:
        strengths = client.get(URL).json()["value"]
        (custom,) = [s for s in strengths if s["policyType"] == "custom"]
        item = f"{URL}/{custom['id']}"
        assert client.patch(item, json={"displayName": "Admins - renamed"}).status_code == 204
        policies = client.get("/v1.0/identity/conditionalAccess/policies").json()["value"]
        (using,) = [p for p in policies if (p["grantControls"] or {}).get("authenticationStrength")]
        shown = using["grantControls"]["authenticationStrength"]
        assert (shown["id"], shown["displayName"]) == (custom["id"], "Admins - renamed")
        one = client.get(f"/v1.0/identity/conditionalAccess/policies/{using['id']}").json()
        assert one["grantControls"]["authenticationStrength"]["displayName"] == "Admins - renamed"
