"""macOS shell scripts and custom attribute scripts: Graph's rules in the emulator, and a restore
round trip of each kind (tenantguard/intune/types/macos_scripts.py)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tenantguard.emulator.demo import DEMO_SEED_DIR
from tenantguard.emulator.testing import GRAPH, group_target
from tenantguard.intune import normalize, registry

from .script_update_kinds_support import DM, graph, restore_round_trip

SHELL = f"{DM}/deviceShellScripts"
ATTRIBUTE = f"{DM}/deviceCustomAttributeShellScripts"
ASSIGN_KEY = "deviceManagementScriptAssignments"


def _shell_body() -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceShellScript",
        "displayName": "macOS - Shell - Test",
        "description": "",
        "scriptContent": base64.b64encode(b"#!/bin/zsh\necho hi\n").decode(),
        "runAsAccount": "system",
        "fileName": "test.sh",
        "executionFrequency": "PT0S",
        "retryCount": 0,
        "blockExecutionNotifications": True,
        "roleScopeTagIds": ["0"],
    }


def _attribute_body() -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceCustomAttributeShellScript",
        "displayName": "macOS - Attribute - Test",
        "customAttributeName": "Test",
        "customAttributeType": "string",
        "scriptContent": base64.b64encode(b"#!/bin/zsh\necho x\n").decode(),
        "runAsAccount": "system",
        "fileName": "test.sh",
        "roleScopeTagIds": ["0"],
    }


CASES = [(SHELL, _shell_body), (ATTRIBUTE, _attribute_body)]
IDS = ["deviceShellScripts", "deviceCustomAttributeShellScripts"]


@pytest.mark.parametrize(("url", "make_body"), CASES, ids=IDS)
def test_create_answers_201_with_the_object_and_no_version(url, make_body):
    """Graph's create pages: 201 with the object; neither resource has ``version``; ids and
    timestamps in the body are the server's."""
    with graph() as client:
        body = {**make_body(), "id": "mine", "createdDateTime": "2001-01-01T00:00:00Z"}
        response = client.post(url, json=body)
        assert response.status_code == 201
        created = response.json()
        assert created["id"] != "mine" and created["createdDateTime"] != "2001-01-01T00:00:00Z"
        assert "version" not in created
        assert "assignments" not in created
        assert created["scriptContent"] == body["scriptContent"]
        assert response.headers["Location"].endswith(f"('{created['id']}')")


@pytest.mark.parametrize(("url", "make_body"), CASES, ids=IDS)
def test_the_list_leaves_script_content_empty_and_a_get_reads_it(url, make_body):
    with graph() as client:
        body = make_body()
        created = client.post(url, json=body).json()
        listed = client.get(url).json()["value"]
        assert [item["scriptContent"] for item in listed] == [None]
        one = client.get(f"{url}/{created['id']}").json()
        assert one["scriptContent"] == body["scriptContent"]


@pytest.mark.parametrize(("url", "make_body"), CASES, ids=IDS)
def test_patch_answers_204_and_moves_last_modified_without_a_version(url, make_body):
    with graph() as client:
        created = client.post(url, json=make_body()).json()
        response = client.patch(f"{url}/{created['id']}", json={"description": "changed"})
        assert response.status_code == 204
        after = client.get(f"{url}/{created['id']}").json()
        assert after["description"] == "changed"
        assert after["lastModifiedDateTime"] > created["lastModifiedDateTime"]
        assert "version" not in after
        same = client.patch(f"{url}/{created['id']}", json={"description": "changed"})
        assert same.status_code == 400  # Intune: "at least 1 property must be changed"


@pytest.mark.parametrize(("url", "make_body"), CASES, ids=IDS)
def test_assign_takes_device_management_script_assignments_and_answers_204(url, make_body):
    """Graph's assign pages: ``deviceManagementScriptAssignments``, 204 No Content; the stored
    assignments are ``id`` + ``target`` (``{script}:{group}`` ids, as for Windows scripts)."""
    with graph() as client:
        created = client.post(url, json=make_body()).json()
        response = client.post(
            f"{url}/{created['id']}/assign", json={ASSIGN_KEY: [group_target("g-1")]}
        )
        assert response.status_code == 204 and response.content == b""
        listed = client.get(f"{url}/{created['id']}/assignments").json()["value"]
        assert [(a["id"], a["target"]["groupId"]) for a in listed] == [
            (f"{created['id']}:g-1", "g-1")
        ]
        assert all(set(a) == {"id", "target"} for a in listed)
        wrong = client.post(
            f"{url}/{created['id']}/assign", json={"assignments": [group_target("g-2")]}
        )
        assert wrong.status_code == 400


@pytest.mark.parametrize(("url", "make_body"), CASES, ids=IDS)
def test_a_get_expanding_assignments_names_their_context(url, make_body):
    """IntuneCD reads ``assignments@odata.context`` from ``GET {id}?$expand=assignments`` of
    these two kinds; Graph sends it before the expanded list."""
    with graph() as client:
        created = client.post(url, json=make_body()).json()
        client.post(f"{url}/{created['id']}/assign", json={ASSIGN_KEY: [group_target("g-1")]})
        body = client.get(f"{url}/{created['id']}", params={"$expand": "assignments"}).json()
        path = url.removeprefix("/beta/")
        assert body["assignments@odata.context"] == (
            f"{GRAPH}/beta/$metadata#{path}('{created['id']}')/assignments"
        )
        keys = list(body)
        assert keys.index("assignments@odata.context") == keys.index("assignments") - 1
        plain = client.get(f"{url}/{created['id']}").json()
        assert "assignments@odata.context" not in plain and "assignments" not in plain


def test_the_demo_tenant_holds_both_kinds_with_assignments_and_scope_tags():
    with graph(seed_dir=DEMO_SEED_DIR) as client:
        for url in (SHELL, ATTRIBUTE):
            listed = client.get(url, params={"$expand": "assignments"}).json()["value"]
            assert len(listed) >= 2, url
            assert all(item["assignments"] for item in listed), url
            assert any(set(item["roleScopeTagIds"]) - {"0"} for item in listed), url


def test_the_types_read_content_per_item_and_assign_with_the_script_key():
    for key in ("macos_shell_script", "macos_custom_attribute_script"):
        ptype = registry.get(key)
        assert ptype.assign is not None and ptype.assign.body_key == ASSIGN_KEY
        assert ptype.assign.expected_status == 204
        assert [f.merge_fields for f in ptype.per_item_fetch if f.kind == "scriptContent"] == [
            ("scriptContent",)
        ]
        compared = normalize.normalize_payload(
            key, {"displayName": "x", "runSummary": {"successCount": 3}, "scriptContent": "eA=="}
        )
        assert "runSummary" not in compared and compared["scriptContent"] == "eA=="


def _change_shell(obj: dict[str, Any]) -> None:
    obj["scriptContent"] = base64.b64encode(b"#!/bin/zsh\nexit 0\n").decode()
    obj["executionFrequency"] = "PT1H"
    obj["roleScopeTagIds"] = ["0"]
    obj["assignments"] = obj["assignments"][:1]


def test_shell_scripts_restore_round_trip(personas, tenant, emulated, demo_objects):
    restore_round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="macos_shell_script",
        modified="macOS - Shell - Set Contoso dock and wallpaper",
        modify=_change_shell,
        deleted="macOS - Shell - Install Rosetta 2",
    )
    recreated = next(
        o
        for o in emulated.list_objects("deviceManagement/deviceShellScripts")
        if o["displayName"] == "macOS - Shell - Install Rosetta 2"
    )
    assert base64.b64decode(recreated["scriptContent"]).startswith(b"#!/bin/zsh")
    assert "version" not in recreated


def _change_attribute(obj: dict[str, Any]) -> None:
    obj["customAttributeType"] = "string"
    obj["scriptContent"] = base64.b64encode(b"#!/bin/zsh\nuptime\n").decode()
    obj["roleScopeTagIds"] = ["0", "1112"]
    obj["assignments"] = []


def test_custom_attribute_scripts_restore_round_trip(personas, tenant, emulated, demo_objects):
    restore_round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="macos_custom_attribute_script",
        modified="macOS - Attribute - Last reboot",
        modify=_change_attribute,
        deleted="macOS - Attribute - Free disk space (GB)",
    )


def test_the_expanded_context_names_a_derived_type_when_the_collection_is_typed_by_its_base():
    """Exports of real tenants: ``…/deviceCompliancePolicies('<id>')/microsoft.graph.
    macOSCompliancePolicy/assignments``: the cast segment appears for a derived type only."""
    with graph() as client:
        url = f"{DM}/deviceCompliancePolicies"
        created = client.post(
            url,
            json={
                "@odata.type": "#microsoft.graph.macOSCompliancePolicy",
                "displayName": "macOS - Compliance",
                "scheduledActionsForRule": [
                    {
                        "ruleName": "PasswordRequired",
                        "scheduledActionConfigurations": [
                            {"actionType": "block", "gracePeriodHours": 0}
                        ],
                    }
                ],
            },
        ).json()
        body = client.get(f"{url}/{created['id']}", params={"$expand": "assignments"}).json()
        assert body["assignments@odata.context"] == (
            f"{GRAPH}/beta/$metadata#deviceManagement/deviceCompliancePolicies('{created['id']}')"
            "/microsoft.graph.macOSCompliancePolicy/assignments"
        )


@pytest.mark.parametrize(("url", "make_body"), CASES, ids=IDS)
def test_a_macos_script_also_answers_by_id_under_device_management_scripts(url, make_body):
    """IntuneCD reads and assigns shell and custom attribute scripts through
    ``deviceManagementScripts/{id}``: Graph serves them there by id, never in that list."""
    with graph() as client:
        created = client.post(url, json=make_body()).json()
        windows = f"{DM}/deviceManagementScripts"
        target = group_target("5d1f9a8e-2b7c-4c1e-9a55-7f0a3c2b1e11")
        assigned = client.post(f"{windows}/{created['id']}/assign", json={ASSIGN_KEY: [target]})
        assert assigned.status_code == 204
        listed = client.get(f"{windows}/{created['id']}/assignments").json()
        assert f"('{created['id']}')" in listed["@odata.context"]
        assert [a["target"]["groupId"] for a in listed["value"]] == [
            "5d1f9a8e-2b7c-4c1e-9a55-7f0a3c2b1e11"
        ]
        assert client.get(f"{url}/{created['id']}/assignments").json()["value"] == listed["value"]
        assert client.get(windows).json()["value"] == []
        assert client.get(f"{windows}/not-there").status_code == 404
