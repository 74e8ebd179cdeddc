"""The tenant-wide device management settings (``deviceManagement/settings``): one object per
tenant, read with a GET of the property, updated with a PATCH of ``deviceManagement``, never
created (tenantguard/intune/types/tenant_administration.py)."""

from __future__ import annotations

import pytest

from tenantguard.emulator.testing import graph_error
from tenantguard.intune import registry, write
from tenantguard.intune.types.tenant_administration import DEFAULT_DEVICE_MANAGEMENT_SETTINGS

from .tenant_admin_support import DM, demo_of, graph, round_trip

URL = f"{DM}/settings"
NAME = "Tenant-wide device management settings"


def test_a_get_answers_the_settings_themselves_without_id_or_paging():
    with graph() as client:
        response = client.get(URL)
        assert response.status_code == 200
        body = response.json()
        assert body["@odata.context"].endswith("$metadata#deviceManagement/settings")
        assert "value" not in body and "id" not in body and "createdDateTime" not in body
        for key, value in DEFAULT_DEVICE_MANAGEMENT_SETTINGS.items():
            assert body[key] == value, key
        selected = client.get(DM, params={"$select": "settings"}).json()
        assert selected["settings"]["secureByDefault"] is False


def test_they_are_updated_by_a_patch_of_device_management_and_never_created():
    with graph() as client:
        patched = client.patch(DM, json={"settings": {"secureByDefault": True}})
        assert patched.status_code == 204
        assert client.get(URL).json()["secureByDefault"] is True
        unchanged = client.patch(DM, json={"settings": {"secureByDefault": True}})
        assert unchanged.status_code == 400
        assert "at least 1 property" in graph_error(unchanged)["message"]
        assert client.post(URL, json={"secureByDefault": False}).status_code == 400
        assert client.patch(URL, json={"secureByDefault": False}).status_code == 400
        other = client.patch(DM, json={"intuneBrand": {}})
        assert other.status_code == 400
        unknown = client.patch(DM, json={"settings": {"secureByDefualt": False}})
        assert unknown.status_code == 400
        assert "secureByDefualt" in unknown.json()["error"]["message"]


def test_the_type_is_a_singleton_with_a_fixed_identity(demo_objects):
    ptype = registry.get("device_management_settings")
    assert ptype.label == NAME
    assert ptype.singleton is not None and ptype.singleton.source_id == "settings"
    assert ptype.assign is None and ptype.scope_tag_property is None
    (demo,) = demo_of(demo_objects, ptype.collection)
    assert demo["deviceComplianceCheckinThresholdDays"] != 30  # not the defaults
    with pytest.raises(write.NotWritableError, match="never created"):
        write.create_object(None, type_key=ptype.key, payload=demo)  # type: ignore[arg-type]


def _loosen(obj):
    obj["secureByDefault"] = False
    obj["deviceComplianceCheckinThresholdDays"] = 60


def test_settings_restore_round_trip(personas, tenant, emulated, demo_objects):
    planned, _run, baseline = round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="device_management_settings",
        modify={NAME: _loosen},
        expect={NAME: "update"},
    )
    (item,) = baseline.items.filter(policy_type="device_management_settings")
    assert item.source_id == "settings" and item.display_name == NAME
    assert {c["path"] for c in planned[NAME].diff["changes"]} == {
        "secureByDefault",
        "deviceComplianceCheckinThresholdDays",
    }
    (live,) = emulated.list_objects("deviceManagement/settings")
    assert live["secureByDefault"] is True and live["deviceComplianceCheckinThresholdDays"] == 14
