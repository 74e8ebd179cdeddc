"""Device categories: Graph's rules in the emulator and a restore round trip
(tenantguard/intune/types/tenant_administration.py)."""

from __future__ import annotations

from tenantguard.emulator.testing import graph_error
from tenantguard.intune import registry

from .tenant_admin_support import DM, demo_of, graph, round_trip

URL = f"{DM}/deviceCategories"


def _body(**extra):
    return {
        "@odata.type": "#microsoft.graph.deviceCategory",
        "displayName": "Loaner laptops",
        "description": "Short-term loaner devices",
        "roleScopeTagIds": ["0"],
        **extra,
    }


def test_create_answers_201_without_timestamps_version_or_assignments():
    """Graph's deviceCategory has displayName, description and roleScopeTagIds only."""
    with graph() as client:
        response = client.post(URL, json=_body(id="mine"))
        assert response.status_code == 201
        created = response.json()
        assert created["id"] != "mine"
        assert created["displayName"] == "Loaner laptops"
        for absent in ("version", "lastModifiedDateTime", "createdDateTime", "assignments"):
            assert absent not in created, absent
        listed = client.get(URL).json()["value"]
        assert [item["id"] for item in listed] == [created["id"]]


def test_patch_answers_204_and_a_no_op_patch_is_refused():
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        response = client.patch(f"{URL}/{created['id']}", json={"description": "Loaners"})
        assert response.status_code == 204
        assert client.get(f"{URL}/{created['id']}").json()["description"] == "Loaners"
        again = client.patch(f"{URL}/{created['id']}", json={"description": "Loaners"})
        assert again.status_code == 400
        assert "at least 1 property" in graph_error(again)["message"]


def test_there_is_no_assign_action_and_unknown_scope_tags_are_refused():
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        assign = client.post(f"{URL}/{created['id']}/assign", json={"assignments": []})
        assert assign.status_code == 400
        bad_tag = client.post(URL, json=_body(roleScopeTagIds=["999"]))
        assert bad_tag.status_code == 400


def test_the_type_has_no_assignments_and_references_scope_tags(demo_objects):
    ptype = registry.get("device_category")
    assert ptype.assign is None and ptype.scope_tag_property == "roleScopeTagIds"
    categories = demo_of(demo_objects, ptype.collection)
    assert len(categories) == 3
    assert any(set(c["roleScopeTagIds"]) - {"0"} for c in categories)


def _rename_description(obj):
    obj["description"] = "Changed in the portal"
    obj["roleScopeTagIds"] = ["0"]


def test_device_categories_restore_round_trip(personas, tenant, emulated, demo_objects):
    round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="device_category",
        modify={"Kiosk devices": _rename_description},
        delete=[("device_category", "Finance workstations")],
        expect={
            "Kiosk devices": "update",
            "Finance workstations": "create",
            "Corporate laptops": "no_change",
        },
    )
