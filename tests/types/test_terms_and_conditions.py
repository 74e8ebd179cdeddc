"""Terms and conditions: Graph's rules in the emulator (assignments created one by one, no
assign action) and a restore round trip (tenantguard/intune/types/tenant_administration.py)."""

from __future__ import annotations

from tenantguard.emulator.testing import group_target
from tenantguard.intune import registry

from .tenant_admin_support import DM, demo_of, graph, round_trip

URL = f"{DM}/termsAndConditions"
GROUP = "8793e9dd-3338-58fd-9767-98874ff564c8"


def _body(**extra):
    return {
        "@odata.type": "#microsoft.graph.termsAndConditions",
        "displayName": "Visitor terms",
        "description": "",
        "title": "Visitor device terms",
        "bodyText": "Be nice.",
        "acceptanceStatement": "I agree.",
        "roleScopeTagIds": ["0"],
        **extra,
    }


def test_create_answers_201_with_timestamps_and_version_and_patch_moves_them():
    with graph() as client:
        response = client.post(URL, json=_body(version=9, modifiedDateTime="2001-01-01T00:00:00Z"))
        assert response.status_code == 201
        created = response.json()
        assert created["version"] == 1
        assert created["createdDateTime"] and created["lastModifiedDateTime"]
        assert created.get("modifiedDateTime") != "2001-01-01T00:00:00Z"
        assert "assignments" not in created
        patched = client.patch(f"{URL}/{created['id']}", json={"bodyText": "Be very nice."})
        assert patched.status_code == 204
        after = client.get(f"{URL}/{created['id']}").json()
        assert after["version"] == 2
        assert after["lastModifiedDateTime"] > created["lastModifiedDateTime"]


def test_assignments_are_created_one_by_one_and_there_is_no_assign_action():
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        assign = client.post(f"{URL}/{created['id']}/assign", json={"assignments": []})
        assert assign.status_code == 400
        one = client.post(f"{URL}/{created['id']}/assignments", json=group_target(GROUP))
        assert one.status_code == 201
        body = one.json()
        assert body["target"]["groupId"] == GROUP
        # Graph's termsAndConditionsAssignment has an id and a target, no source / intent.
        assert set(body) - {"@odata.context"} == {"id", "target"}
        listed = client.get(f"{URL}/{created['id']}/assignments").json()["value"]
        assert [a["id"] for a in listed] == [body["id"]]
        expanded = client.get(f"{URL}/{created['id']}", params={"$expand": "assignments"})
        assert [a["id"] for a in expanded.json()["assignments"]] == [body["id"]]


def test_the_type_assigns_one_by_one_and_reads_assignments_per_item(demo_objects):
    ptype = registry.get("terms_and_conditions")
    assert ptype.assign is not None and ptype.assign.per_assignment
    assert ptype.assign.path == "assignments" and ptype.assign.expected_status == 201
    assert "acceptanceStatuses" in ptype.write_excluded_fields
    terms = demo_of(demo_objects, ptype.collection)
    assert len(terms) == 2 and all(t["assignments"] for t in terms)
    assert any(set(t["roleScopeTagIds"]) - {"0"} for t in terms)


def _change(obj):
    obj["bodyText"] = "Shortened in the portal."
    obj["assignments"] = obj["assignments"][:1]


def test_terms_and_conditions_restore_round_trip(personas, tenant, emulated, demo_objects):
    """The removed assignment is added back (per-assignment types can only add), the deleted
    terms are created with theirs."""
    round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="terms_and_conditions",
        modify={"Contoso acceptable use": _change},
        delete=[("terms_and_conditions", "EMEA data handling terms")],
        expect={"Contoso acceptable use": "update", "EMEA data handling terms": "create"},
    )
