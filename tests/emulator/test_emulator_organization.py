"""``GET /organization``: each tenant's id and verified domains, seeded or derived."""

from __future__ import annotations

import httpx
import pytest

from tenantguard.emulator import EmulatorConfig, GraphEmulator, ThrottleConfig


@pytest.fixture
def emulator():
    emu = GraphEmulator(config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)))
    yield emu
    emu.close()


def get(emu: GraphEmulator, token: str, path: str) -> httpx.Response:
    with httpx.Client(transport=emu.transport(), base_url="https://graph.example") as client:
        return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_a_tenant_without_a_seeded_organization_gets_one_derived_from_its_id(emulator):
    emulator.add_tenant(tenant_id="contoso-test.onmicrosoft.com", token="t1")
    emulator.add_tenant(tenant_id="fabrikam.example", token="t2")

    first = get(emulator, "t1", "/v1.0/organization").json()["value"]
    second = get(emulator, "t2", "/v1.0/organization").json()["value"]

    assert len(first) == 1 and first[0]["@odata.type"] == "#microsoft.graph.organization"
    assert first[0]["verifiedDomains"] == [
        {
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": True,
            "isInitial": True,
            "name": "contoso-test.onmicrosoft.com",
            "type": "Managed",
        }
    ]
    assert {(d["name"], d["isDefault"], d["isInitial"]) for d in second[0]["verifiedDomains"]} == {
        ("fabrikam.onmicrosoft.com", False, True),
        ("fabrikam.example", True, False),
    }
    assert first[0]["id"] != second[0]["id"]
    assert first[0]["id"] == get(emulator, "t1", "/beta/organization").json()["value"][0]["id"]


def test_a_seeded_organization_is_served_with_select_and_by_id(emulator):
    guid = "8f2b1c3d-4e5f-4a6b-9c7d-0e1f2a3b4c5d"
    emulator.add_tenant(
        tenant_id=guid,
        token="t1",
        seed_objects=[
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization/$entity",
                "id": guid,
                "displayName": "Contoso",
                "verifiedDomains": [
                    {"name": "contoso.onmicrosoft.com", "isDefault": False, "isInitial": True},
                    {"name": "contoso.com", "isDefault": True, "isInitial": False},
                ],
            }
        ],
    )

    selected = get(emulator, "t1", "/v1.0/organization?$select=id").json()["value"][0]
    assert selected == {"@odata.type": "#microsoft.graph.organization", "id": guid}
    entity = get(emulator, "t1", f"/v1.0/organization/{guid}").json()
    assert entity["displayName"] == "Contoso" and len(entity["verifiedDomains"]) == 2
    assert get(emulator, "t1", "/v1.0/organization/other-id").status_code == 404


def test_organization_needs_its_permission_and_is_read_only(emulator):
    tenant = emulator.add_tenant(tenant_id="contoso", token="t1")
    tenant.denied_permissions = {"Organization.Read.All"}
    denied = get(emulator, "t1", "/v1.0/organization")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"

    tenant.denied_permissions = set()
    with httpx.Client(transport=emulator.transport(), base_url="https://graph.example") as client:
        patched = client.patch(
            "/v1.0/organization/x", json={}, headers={"Authorization": "Bearer t1"}
        )
    assert patched.status_code == 403
