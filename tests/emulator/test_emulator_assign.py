"""The assign contract per resource type: body key, status, stored assignment shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenantguard.emulator.testing import GRAPH, block_rule, custom_configuration, group_target

DM = "/beta/deviceManagement"
ALL_DEVICES = {"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}}

# collection, create body, assign body key, expected status
CASES: list[tuple[str, dict[str, Any], str, int]] = [
    (f"{DM}/deviceConfigurations", custom_configuration(), "assignments", 200),
    (
        f"{DM}/deviceCompliancePolicies",
        {
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
            "displayName": "C",
            "scheduledActionsForRule": block_rule(),
        },
        "assignments",
        200,
    ),
    (f"{DM}/configurationPolicies", {"name": "SC", "settings": []}, "assignments", 200),
    (f"{DM}/windowsDriverUpdateProfiles", {"displayName": "Drivers"}, "assignments", 200),
    (f"{DM}/windowsFeatureUpdateProfiles", {"displayName": "24H2"}, "assignments", 200),
    (f"{DM}/groupPolicyConfigurations", {"displayName": "ADMX"}, "assignments", 200),
    (
        f"{DM}/deviceManagementScripts",
        {"displayName": "S", "scriptContent": "eA=="},
        "deviceManagementScriptAssignments",
        204,
    ),
    (
        f"{DM}/deviceHealthScripts",
        {"displayName": "R", "detectionScriptContent": "eA=="},
        "deviceHealthScriptAssignments",
        204,
    ),
    (
        "/beta/deviceAppManagement/iosManagedAppProtections",
        {"displayName": "I"},
        "assignments",
        204,
    ),
    (
        "/beta/deviceAppManagement/androidManagedAppProtections",
        {"displayName": "A"},
        "assignments",
        204,
    ),
]


@pytest.mark.parametrize(
    ("url", "body", "key", "status"), CASES, ids=[c[0].split("/")[-1] for c in CASES]
)
def test_assign_body_key_and_status_per_type(
    client: httpx.Client, url: str, body: dict[str, Any], key: str, status: int
) -> None:
    """Graph: POST {id}/assign takes {"<key>": [...]} and answers 200 {"value": [...]} or 204,
    per the reference table; {id}/assignments then lists what was assigned."""
    created = client.post(url, json=body).json()
    response = client.post(
        f"{url}/{created['id']}/assign", json={key: [group_target("g-1"), ALL_DEVICES]}
    )
    assert response.status_code == status
    if status == 200:
        assert [a["target"].get("groupId") for a in response.json()["value"]] == ["g-1", None]
    else:
        assert response.content == b""
    listed = client.get(f"{url}/{created['id']}/assignments").json()
    path = url.removeprefix("/beta/")
    assert (
        listed["@odata.context"] == f"{GRAPH}/beta/$metadata#{path}('{created['id']}')/assignments"
    )
    assert len(listed["value"]) == 2


@pytest.mark.parametrize("url", [CASES[0][0], CASES[6][0]])
def test_assign_with_the_wrong_body_key_is_400(client: httpx.Client, url: str) -> None:
    """Graph: the assign action rejects a body without its collection parameter (400)."""
    body = next(c[1] for c in CASES if c[0] == url)
    created = client.post(url, json=body).json()
    wrong = "assignments" if "Scripts" in url else "deviceManagementScriptAssignments"
    response = client.post(f"{url}/{created['id']}/assign", json={wrong: [group_target("g")]})
    assert response.status_code == 400


def test_assign_replaces_the_whole_list(client: httpx.Client) -> None:
    """Graph: the assign action replaces all assignments (it is not additive)."""
    url = f"{DM}/deviceConfigurations"
    created = client.post(url, json=custom_configuration()).json()
    client.post(
        f"{url}/{created['id']}/assign",
        json={"assignments": [group_target("a"), group_target("b")]},
    )
    client.post(f"{url}/{created['id']}/assign", json={"assignments": [group_target("c")]})
    listed = client.get(f"{url}/{created['id']}/assignments").json()["value"]
    assert [a["target"]["groupId"] for a in listed] == ["c"]
    client.post(f"{url}/{created['id']}/assign", json={"assignments": []})
    assert client.get(f"{url}/{created['id']}/assignments").json()["value"] == []


def test_stored_assignments_carry_id_source_source_id_intent(client: httpx.Client) -> None:
    """Graph: read assignments hold id, source "direct", sourceId and (device configurations)
    intent "apply"; clients send only target."""
    url = f"{DM}/deviceConfigurations"
    created = client.post(url, json=custom_configuration()).json()
    assignment_filter = client.post(
        f"{DM}/assignmentFilters",
        json={
            "displayName": "F",
            "platform": "windows10AndLater",
            "rule": '(device.model -eq "x")',
        },
    ).json()
    filtered = group_target("g-9")
    filtered["target"]["deviceAndAppManagementAssignmentFilterId"] = assignment_filter["id"]
    filtered["target"]["deviceAndAppManagementAssignmentFilterType"] = "include"
    client.post(f"{url}/{created['id']}/assign", json={"assignments": [filtered]})
    (assignment,) = client.get(f"{url}/{created['id']}", params={"$expand": "assignments"}).json()[
        "assignments"
    ]
    assert assignment["id"] == f"{created['id']}_g-9"
    assert assignment["source"] == "direct"
    assert assignment["sourceId"] == created["id"]
    assert assignment["intent"] == "apply"
    assert assignment["target"]["deviceAndAppManagementAssignmentFilterType"] == "include"


def test_health_script_assignment_keeps_its_settings(client: httpx.Client) -> None:
    """Graph: deviceHealthScriptAssignments carry runRemediationScript and runSchedule."""
    url = f"{DM}/deviceHealthScripts"
    created = client.post(url, json={"displayName": "R"}).json()
    item = {
        **group_target("g"),
        "runRemediationScript": True,
        "runSchedule": {
            "@odata.type": "#microsoft.graph.deviceHealthScriptDailySchedule",
            "interval": 1,
        },
    }
    client.post(f"{url}/{created['id']}/assign", json={"deviceHealthScriptAssignments": [item]})
    (stored,) = client.get(f"{url}/{created['id']}/assignments").json()["value"]
    assert stored["runRemediationScript"] is True
    assert stored["runSchedule"]["interval"] == 1


def test_assignment_with_unknown_target_type_is_400(client: httpx.Client) -> None:
    """Graph: an assignment target must be one of the assignment target types."""
    url = f"{DM}/deviceConfigurations"
    created = client.post(url, json=custom_configuration()).json()
    bad = {"target": {"@odata.type": "#microsoft.graph.somethingElse"}}
    assert (
        client.post(f"{url}/{created['id']}/assign", json={"assignments": [bad]}).status_code == 400
    )


def test_autopilot_assignments_are_posted_one_by_one(client: httpx.Client) -> None:
    """Graph: Autopilot profiles take group targets via POST {id}/assignments {target} -> 201
    and have no assign action."""
    url = f"{DM}/windowsAutopilotDeploymentProfiles"
    created = client.post(
        url,
        json={
            "@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",
            "displayName": "AP",
        },
    ).json()
    response = client.post(f"{url}/{created['id']}/assignments", json=group_target("g-1"))
    assert response.status_code == 201
    body = response.json()
    assert body["target"]["groupId"] == "g-1"
    assert body["@odata.context"].endswith(f"('{created['id']}')/assignments/$entity")
    assert client.get(f"{url}/{created['id']}/assignments").json()["value"][0]["id"] == body["id"]
    assert client.post(f"{url}/{created['id']}/assign", json={"assignments": []}).status_code == 400
    assert client.delete(f"{url}/{created['id']}/assignments/{body['id']}").status_code == 204
    assert client.get(f"{url}/{created['id']}/assignments").json()["value"] == []


def test_assign_does_not_touch_the_policy_version(client: httpx.Client) -> None:
    """Emulator choice: assignments are a navigation write; the policy's own version and
    lastModifiedDateTime stay (documented in README)."""
    url = f"{DM}/deviceConfigurations"
    created = client.post(url, json=custom_configuration()).json()
    client.post(f"{url}/{created['id']}/assign", json={"assignments": [group_target("g")]})
    after = client.get(f"{url}/{created['id']}").json()
    assert after["version"] == created["version"]


def test_assignment_filter_must_exist(client: httpx.Client) -> None:
    """Graph (Intune): an assignment naming an assignment filter the tenant does not have is
    400 (so a restore must map filters first)."""
    url = f"{DM}/deviceConfigurations"
    created = client.post(url, json=custom_configuration()).json()
    item = group_target("g")
    item["target"]["deviceAndAppManagementAssignmentFilterId"] = (
        "11111111-2222-3333-4444-555555555555"
    )
    item["target"]["deviceAndAppManagementAssignmentFilterType"] = "include"
    response = client.post(f"{url}/{created['id']}/assign", json={"assignments": [item]})
    assert response.status_code == 400
    assert "Assignment filter" in response.json()["error"]["message"]
