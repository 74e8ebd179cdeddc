"""Named locations (``identity/conditionalAccess/namedLocations``,
tenantguard/intune/types/identity.py): Graph's rules in the emulator and a restore round trip."""

from __future__ import annotations

from tenantguard.emulator.testing import graph_error
from tenantguard.intune import reference_kinds, registry

from .tenant_admin_support import demo_of, graph, round_trip

URL = "/v1.0/identity/conditionalAccess/namedLocations"
IP = "#microsoft.graph.ipNamedLocation"


def _ip_location(**extra):
    return {
        "@odata.type": IP,
        "displayName": "Lab network",
        "isTrusted": False,
        "ipRanges": [
            {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "192.0.2.0/24"}
        ],
        **extra,
    }


def test_create_answers_201_with_entra_timestamps_and_needs_the_odata_type():
    with graph() as client:
        response = client.post(
            URL, json=_ip_location(id="mine", createdDateTime="2000-01-01T00:00:00Z")
        )
        assert response.status_code == 201
        created = response.json()
        assert created["id"] != "mine" and created["@odata.type"] == IP
        assert created["createdDateTime"] != "2000-01-01T00:00:00Z"
        assert (
            created["modifiedDateTime"] and created["ipRanges"][0]["cidrAddress"] == "192.0.2.0/24"
        )
        for absent in ("version", "lastModifiedDateTime", "assignments", "roleScopeTagIds"):
            assert absent not in created, absent
        untyped = _ip_location()
        del untyped["@odata.type"]
        assert client.post(URL, json=untyped).status_code == 400
        listed = client.get(URL).json()["value"]
        assert [item["id"] for item in listed] == [created["id"]]


def test_patch_needs_the_odata_type_answers_204_and_moves_modified_date_time():
    with graph() as client:
        created = client.post(URL, json=_ip_location()).json()
        item = f"{URL}/{created['id']}"
        refused = client.patch(item, json={"isTrusted": True})
        assert refused.status_code == 400
        assert "@odata.type" in graph_error(refused)["message"]
        patched = client.patch(item, json={"@odata.type": IP, "isTrusted": True})
        assert patched.status_code == 204
        read = client.get(item).json()
        assert read["isTrusted"] is True
        assert read["modifiedDateTime"] > created["modifiedDateTime"]
        assert read["createdDateTime"] == created["createdDateTime"]
        assert client.post(f"{item}/assign", json={"assignments": []}).status_code == 400


def test_the_type_is_a_foundation_and_keywords_are_not_references(demo_objects):
    ptype = registry.get("named_location")
    assert ptype.is_foundation and not ptype.is_preview_only
    assert ptype.assign is None and ptype.scope_tag_property is None
    assert ptype.required_permission == "Policy.Read.All"
    assert ptype.write_permission == "Policy.ReadWrite.ConditionalAccess"
    kind = reference_kinds.get("named_location")
    assert kind.foundation_type == "named_location"
    assert not kind.is_reference("All") and not kind.is_reference("AllTrusted")
    assert kind.is_reference("e585355e-2c8c-51cb-bc30-d99a87c3fb38")
    locations = demo_of(demo_objects, ptype.collection)
    assert {o["@odata.type"] for o in locations} == {
        "#microsoft.graph.ipNamedLocation",
        "#microsoft.graph.countryNamedLocation",
    }
    assert len(locations) == 3


def _new_ranges(obj):
    obj["ipRanges"] = obj["ipRanges"][:1]
    obj["isTrusted"] = False


def test_named_locations_restore_round_trip(personas, tenant, emulated, demo_objects):
    planned, _run, _baseline = round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="named_location",
        modify={"Contoso HQ and branch offices": _new_ranges},
        delete=[("named_location", "Blocked countries")],
        expect={
            "Contoso HQ and branch offices": "update",
            "Blocked countries": "create",
            "EMEA operating countries": "no_change",
        },
    )
    paths = {c["path"] for c in planned["Contoso HQ and branch offices"].diff["changes"]}
    assert "isTrusted" in paths and any(p.startswith("ipRanges") for p in paths)
