"""Compliance (detection) scripts: Graph's rules in the emulator, and a restore round trip
(tenantguard/intune/types/compliance_scripts.py)."""

from __future__ import annotations

import base64
from typing import Any

from tenantguard.emulator.demo import DEMO_SEED_DIR
from tenantguard.emulator.testing import group_target
from tenantguard.intune import normalize, registry

from .script_update_kinds_support import DM, graph, restore_round_trip

URL = f"{DM}/deviceComplianceScripts"
ASSIGN_KEY = "deviceHealthScriptAssignments"
DETECTION = base64.b64encode(b"return @{ Ok = $true } | ConvertTo-Json -Compress\n").decode()


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceComplianceScript",
        "displayName": "WIN - Compliance Script - Test",
        "description": "",
        "publisher": "Contoso IT",
        "detectionScriptContent": DETECTION,
        "runAsAccount": "system",
        "enforceSignatureCheck": False,
        "runAs32Bit": False,
        "platform": "windows10",
        "roleScopeTagIds": ["0"],
        **extra,
    }


def test_create_answers_201_and_gives_the_script_a_version_string():
    """Graph's create page: 201 with the object. ``version`` is a String property of the
    script; a version sent by a client is not taken, a created script reads back "1"."""
    with graph() as client:
        response = client.post(URL, json=_body(version="7.3"))
        assert response.status_code == 201
        created = response.json()
        assert created["version"] == "1"
        assert created["detectionScriptContent"] == DETECTION
        assert created["platform"] == "windows10"
        assert "assignments" not in created
        client.patch(f"{URL}/{created['id']}", json={"description": "changed"})
        assert client.get(f"{URL}/{created['id']}").json()["version"] == "1"


def test_the_list_leaves_the_detection_script_empty_and_a_get_reads_it():
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        assert [s["detectionScriptContent"] for s in client.get(URL).json()["value"]] == [None]
        one = client.get(f"{URL}/{created['id']}").json()
        assert one["detectionScriptContent"] == DETECTION


def test_patch_answers_204():
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        response = client.patch(f"{URL}/{created['id']}", json={"runAs32Bit": True})
        assert response.status_code == 204
        after = client.get(f"{URL}/{created['id']}").json()
        assert after["runAs32Bit"] is True
        assert after["lastModifiedDateTime"] > created["lastModifiedDateTime"]


def test_assign_takes_device_health_script_assignments_and_answers_204():
    """Graph's assign page: ``deviceHealthScriptAssignments`` (the remediation script
    assignment type), 204 No Content."""
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        response = client.post(
            f"{URL}/{created['id']}/assign", json={ASSIGN_KEY: [group_target("g-1")]}
        )
        assert response.status_code == 204 and response.content == b""
        listed = client.get(f"{URL}/{created['id']}/assignments").json()["value"]
        assert [a["target"]["groupId"] for a in listed] == ["g-1"]
        wrong = client.post(
            f"{URL}/{created['id']}/assign",
            json={"deviceManagementScriptAssignments": [group_target("g-1")]},
        )
        assert wrong.status_code == 400


def test_the_demo_tenant_holds_compliance_scripts_with_scope_tags():
    with graph(seed_dir=DEMO_SEED_DIR) as client:
        listed = client.get(URL).json()["value"]
        assert len(listed) >= 2
        assert any(set(s["roleScopeTagIds"]) - {"0"} for s in listed)
        # Portal-made compliance scripts are never assigned: compliance policies use them.
        expanded = client.get(URL, params={"$expand": "assignments"}).json()["value"]
        assert all(s["assignments"] == [] for s in expanded)


def test_the_type_takes_its_platform_from_the_script_and_reads_content_per_item():
    ptype = registry.get("compliance_script")
    assert registry.platform_of(ptype, {"platform": "linux"}) == "linux"
    assert registry.platform_of(ptype, {"platform": "windows10"}) == "windows"
    assert [f.merge_fields for f in ptype.per_item_fetch if f.kind == "scriptContent"] == [
        ("detectionScriptContent",)
    ]
    compared = normalize.normalize_payload(
        "compliance_script", {"displayName": "x", "version": "4", "runSummary": {"noIssue": 1}}
    )
    assert "version" not in compared and "runSummary" not in compared
    # A foundation: created before the compliance policies that point at it.
    order = [t.key for t in registry.all_types()]
    assert ptype.is_foundation
    assert order.index("compliance_script") < order.index("compliance_policy")


def _change(obj: dict[str, Any]) -> None:
    obj["detectionScriptContent"] = base64.b64encode(b"return '{}'\n").decode()
    obj["runAsAccount"] = "user"
    obj["roleScopeTagIds"] = ["0"]


def test_compliance_scripts_restore_round_trip(personas, tenant, emulated, demo_objects):
    restore_round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="compliance_script",
        modified="WIN - Compliance Script - Finance Defender and disk encryption",
        modify=_change,
        deleted="WIN - Compliance Script - Kiosk local administrators",
    )
    recreated = next(
        o
        for o in emulated.list_objects("deviceManagement/deviceComplianceScripts")
        if o["displayName"] == "WIN - Compliance Script - Kiosk local administrators"
    )
    kiosk_tag = next(
        o["id"]
        for o in emulated.list_objects("deviceManagement/roleScopeTags")
        if o["displayName"] == "Kiosk"
    )
    assert recreated["version"] == "1" and recreated["roleScopeTagIds"] == [kiosk_tag]
