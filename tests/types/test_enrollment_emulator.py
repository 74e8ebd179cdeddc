"""Graph's rules for device enrollment configurations, as the emulator serves them.

Sources: learn.microsoft.com Graph beta pages ``intune-onboarding-deviceenrollmentconfiguration``
(setPriority, assign → 204), ``…-deviceenrollmentlimitconfiguration-create`` (POST → 201 with
``@odata.type``), ``…-devicecomanagementauthorityconfiguration``; the defaults of a fresh tenant
from a real tenant's export (ids ``<account id>_Default…``, priority 0, assigned to all devices).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tenantguard.emulator import EmulatorConfig, GraphEmulator, Tenant, ThrottleConfig
from tenantguard.emulator.testing import emulator_client, graph_error
from tenantguard.emulator.traits_enrollment import account_id
from tenantguard.intune import registry
from tenantguard.intune.typespec import odata

URL = "/beta/deviceManagement/deviceEnrollmentConfigurations"
COLLECTION = "deviceManagement/deviceEnrollmentConfigurations"
DEFAULT_SUFFIXES = (
    "_DefaultLimit",
    "_DefaultPlatformRestrictions",
    "_DefaultWindowsHelloForBusiness",
    "_DefaultWindows10EnrollmentCompletionPageConfiguration",
    "_WindowsRestore",
)


@pytest.fixture
def emu() -> Iterator[GraphEmulator]:
    emulator = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    yield emulator
    emulator.close()


@pytest.fixture
def graph_tenant(emu: GraphEmulator) -> Tenant:
    return emu.add_tenant(tenant_id="enrollment-test", token="tok-enrollment")


@pytest.fixture
def client(emu: GraphEmulator, graph_tenant: Tenant) -> Iterator[httpx.Client]:
    with emulator_client(emu, "tok-enrollment") as c:
        yield c


def _limit(name: str, limit: int = 5, **extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": odata("deviceEnrollmentLimitConfiguration"),
        "displayName": name,
        "description": "",
        "limit": limit,
        "roleScopeTagIds": ["0"],
        **extra,
    }


def _message(response: httpx.Response) -> str:
    error = graph_error(response)
    try:
        return str(json.loads(error["message"])["Message"])
    except (ValueError, KeyError, TypeError):
        return str(error["message"])


def _priorities(client: httpx.Client) -> dict[str, int]:
    values = client.get(URL).json()["value"]
    return {
        v["displayName"]: v["priority"]
        for v in values
        if v["@odata.type"] == odata("deviceEnrollmentLimitConfiguration")
    }


def test_a_fresh_tenant_lists_the_defaults_with_its_own_account_id(client):
    values = client.get(URL, params={"$expand": "assignments"}).json()["value"]
    prefix = account_id("enrollment-test") + "_"
    by_suffix = {v["id"].removeprefix(prefix): v for v in values}
    assert set(by_suffix) == {suffix.lstrip("_") for suffix in DEFAULT_SUFFIXES}
    for default in by_suffix.values():
        assert default["id"].startswith(prefix)
        assert default["priority"] == 0
        assert default["displayName"] == "All users and all devices"
        assert [a["target"]["@odata.type"] for a in default["assignments"]] == [
            "#microsoft.graph.allDevicesAssignmentTarget"
        ]
    assert by_suffix["DefaultLimit"]["limit"] == 5
    # each default belongs to its own restorable type, the unknown kind to the catch-all
    keys = {registry.classify(COLLECTION, v).key for v in values}
    assert keys == {
        "enrollment_limit",
        "enrollment_platform_restrictions",
        "windows_hello_enrollment",
        "enrollment_status_page",
        "enrollment_restriction",
    }


def test_other_tenants_have_other_account_ids(emu):
    first = emu.add_tenant(tenant_id="tenant-one", token="tok-1")
    second = emu.add_tenant(tenant_id="tenant-two", token="tok-2")
    ids_one = {o["id"] for o in first.list_objects(COLLECTION)}
    ids_two = {o["id"] for o in second.list_objects(COLLECTION)}
    assert not ids_one & ids_two
    assert {i.split("_", 1)[1] for i in ids_one} == {i.split("_", 1)[1] for i in ids_two}


def test_a_seeded_default_replaces_the_built_in_one(emu):
    seeded = emu.add_tenant(
        tenant_id="seeded-default",
        token="tok-seeded",
        seed_objects=[
            (
                COLLECTION,
                {
                    "@odata.type": odata("deviceEnrollmentLimitConfiguration"),
                    "id": "636b62ee-ef57-4f54-a1f3-0046fafc9c11_DefaultLimit",
                    "displayName": "All users and all devices",
                    "priority": 0,
                    "limit": 9,
                },
            )
        ],
    )
    limits = [o for o in seeded.list_objects(COLLECTION) if o["id"].endswith("_DefaultLimit")]
    assert [(o["id"], o["limit"]) for o in limits] == [
        ("636b62ee-ef57-4f54-a1f3-0046fafc9c11_DefaultLimit", 9)
    ]


def test_create_answers_201_with_the_kind_id_priority_and_type(client):
    first = client.post(URL, json=_limit("Limit A", priority=7))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["id"].endswith("_Limit") and len(body["id"]) == 36 + len("_Limit")
    assert body["priority"] == 1  # the next of its kind; the body's priority is ignored
    assert body["deviceEnrollmentConfigurationType"] == "limit"
    assert body["version"] == 1
    second = client.post(URL, json=_limit("Limit B")).json()
    assert second["priority"] == 2
    esp = client.post(
        URL,
        json={
            "@odata.type": odata("windows10EnrollmentCompletionPageConfiguration"),
            "displayName": "ESP",
            "showInstallationProgress": True,
        },
    ).json()
    assert esp["id"].endswith("_Windows10EnrollmentCompletionPageConfiguration")
    assert esp["priority"] == 1  # priorities are per kind
    assert (
        esp["deviceEnrollmentConfigurationType"] == "windows10EnrollmentCompletionPageConfiguration"
    )


def test_create_without_odata_type_is_refused(client):
    response = client.post(URL, json={"displayName": "No type", "limit": 3})
    assert response.status_code == 400


def test_patch_answers_204_and_ignores_priority(client):
    created = client.post(URL, json=_limit("Limit A")).json()
    response = client.patch(f"{URL}/{created['id']}", json={"limit": 8, "priority": 5})
    assert response.status_code == 204
    after = client.get(f"{URL}/{created['id']}").json()
    assert (after["limit"], after["priority"], after["version"]) == (8, 1, 2)
    only_priority = client.patch(f"{URL}/{created['id']}", json={"priority": 3})
    assert only_priority.status_code == 400  # nothing writable changed


def test_set_priority_moves_the_object_and_renumbers_its_kind(client):
    ids = [client.post(URL, json=_limit(name)).json()["id"] for name in ("A", "B", "C")]
    response = client.post(f"{URL}/{ids[2]}/setPriority", json={"priority": 1})
    assert response.status_code == 204 and not response.content
    assert _priorities(client) == {"All users and all devices": 0, "C": 1, "A": 2, "B": 3}
    # past the last: the last
    client.post(f"{URL}/{ids[2]}/microsoft.graph.setPriority", json={"priority": 40})
    assert _priorities(client) == {"All users and all devices": 0, "A": 1, "B": 2, "C": 3}
    version = client.get(f"{URL}/{ids[0]}").json()["version"]
    assert version == 1  # a priority move is not a write of the object
    bad = client.post(f"{URL}/{ids[0]}/setPriority", json={"priority": 0})
    assert bad.status_code == 400


def test_delete_renumbers_the_rest_of_the_kind(client):
    ids = [client.post(URL, json=_limit(name)).json()["id"] for name in ("A", "B", "C")]
    assert client.delete(f"{URL}/{ids[0]}").status_code == 204
    assert _priorities(client) == {"All users and all devices": 0, "B": 1, "C": 2}


def test_defaults_are_never_deleted_assigned_or_reprioritised(client, graph_tenant):
    default_id = next(
        o["id"] for o in graph_tenant.list_objects(COLLECTION) if o["id"].endswith("_DefaultLimit")
    )
    target = {"target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}}
    for response in (
        client.delete(f"{URL}/{default_id}"),
        client.post(
            f"{URL}/{default_id}/assign", json={"enrollmentConfigurationAssignments": [target]}
        ),
        client.post(f"{URL}/{default_id}/setPriority", json={"priority": 1}),
    ):
        assert response.status_code == 400, response.text
        assert "default enrollment configuration" in _message(response)
    # but updated in place
    assert client.patch(f"{URL}/{default_id}", json={"limit": 12}).status_code == 204
    assert client.get(f"{URL}/{default_id}").json()["limit"] == 12


def test_assign_answers_204_and_replaces_the_list(client):
    created = client.post(URL, json=_limit("Limit A")).json()
    group = {
        "target": {
            "@odata.type": "#microsoft.graph.groupAssignmentTarget",
            "groupId": "8ee9b286-a690-58bd-b3c9-a752ec1cd47d",
        }
    }
    response = client.post(
        f"{URL}/{created['id']}/assign", json={"enrollmentConfigurationAssignments": [group]}
    )
    assert response.status_code == 204 and not response.content
    listed = client.get(f"{URL}/{created['id']}/assignments").json()["value"]
    assert [a["target"]["groupId"] for a in listed] == [group["target"]["groupId"]]
    assert listed[0]["source"] == "direct" and listed[0]["sourceId"] == created["id"]
    wrong_key = client.post(f"{URL}/{created['id']}/assign", json={"assignments": [group]})
    assert wrong_key.status_code == 400


def test_intunecd_reads_every_configuration_and_its_assignments(client):
    """IntuneCD 2.6.0: GET the collection (no $expand), then ``{id}/assignments`` per item in
    ``$batch``; ESP apps by ``mobileApps/{id}``."""
    values = client.get(URL).json()["value"]
    assert all("@odata.type" in v for v in values)
    requests = [
        {
            "id": index + 1,
            "method": "GET",
            "url": f"/deviceManagement/deviceEnrollmentConfigurations/{v['id']}/assignments",
        }
        for index, v in enumerate(values)
    ]
    answer = client.post("/beta/$batch", json={"requests": requests}).json()
    assert sorted(int(r["id"]) for r in answer["responses"]) == list(range(1, len(values) + 1))
    assert all(r["status"] == 200 for r in answer["responses"])


def test_autopilot_profile_without_a_management_app_reads_an_empty_string(client):
    """Graph answers ``managementServiceAppId: ""`` for a profile that has none (IntuneCD writes
    ``""`` back for a missing one and must read no change)."""
    response = client.post(
        "/beta/deviceManagement/windowsAutopilotDeploymentProfiles",
        json={
            "@odata.type": odata("azureADWindowsAutopilotDeploymentProfile"),
            "displayName": "Autopilot - Test",
            "deviceType": "windowsPc",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["managementServiceAppId"] == ""
    profile_id = response.json()["id"]
    got = client.get(f"/beta/deviceManagement/windowsAutopilotDeploymentProfiles/{profile_id}")
    assert got.json()["managementServiceAppId"] == ""
