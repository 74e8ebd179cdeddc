"""Application permissions: a denied permission makes its collections answer 403."""

from __future__ import annotations

import json

import httpx
import pytest

from tenantguard.emulator import GraphEmulator, Tenant
from tenantguard.emulator.testing import emulator_client, graph_error

READS = [
    ("DeviceManagementConfiguration.Read.All", "/beta/deviceManagement/deviceConfigurations"),
    ("DeviceManagementConfiguration.Read.All", "/beta/deviceManagement/configurationPolicies"),
    ("DeviceManagementRBAC.Read.All", "/beta/deviceManagement/roleScopeTags"),
    (
        "DeviceManagementServiceConfig.Read.All",
        "/beta/deviceManagement/windowsAutopilotDeploymentProfiles",
    ),
    (
        "DeviceManagementServiceConfig.Read.All",
        "/beta/deviceManagement/notificationMessageTemplates",
    ),
    ("DeviceManagementApps.Read.All", "/beta/deviceAppManagement/iosManagedAppProtections"),
    ("DeviceManagementApps.Read.All", "/beta/deviceAppManagement/managedAppPolicies"),
    ("Group.Read.All", "/v1.0/groups"),
    ("Policy.Read.All", "/v1.0/identity/conditionalAccess/policies"),
]


@pytest.mark.parametrize(("permission", "url"), READS, ids=[u.split("/")[-1] for _, u in READS])
def test_denied_read_permission_is_403(
    client: httpx.Client, tenant: Tenant, permission: str, url: str
) -> None:
    """Graph: without the collection's read permission the app gets 403."""
    assert client.get(url).status_code == 200
    tenant.denied_permissions = {permission}
    response = client.get(url)
    assert response.status_code == 403
    graph_error(response)


def test_intune_403_body_names_the_scopes_not_secrets(client: httpx.Client, tenant: Tenant) -> None:
    """Graph (Intune): 403 Forbidden whose message says which scopes the app needs."""
    tenant.denied_permissions = {"DeviceManagementApps.Read.All"}
    response = client.get("/beta/deviceAppManagement/androidManagedAppProtections")
    error = graph_error(response)
    assert error["code"] == "Forbidden"
    message = json.loads(error["message"])["Message"]
    assert "DeviceManagementApps.Read.All" in message
    assert "static-token-1" not in response.text
    assert client.get("/beta/deviceManagement/deviceConfigurations").status_code == 200


def test_groups_403_uses_the_directory_code(client: httpx.Client, tenant: Tenant) -> None:
    """Graph (directory): 403 Authorization_RequestDenied."""
    tenant.denied_permissions = {"Group.Read.All"}
    assert graph_error(client.get("/v1.0/groups"))["code"] == "Authorization_RequestDenied"


def test_denied_write_permission_still_allows_reads(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: a read-only app (no .ReadWrite.All) reads but cannot write (403)."""
    tenant.denied_permissions = {"DeviceManagementConfiguration.ReadWrite.All"}
    url = "/beta/deviceManagement/deviceManagementScripts"
    assert client.get(url).status_code == 200
    assert client.post(url, json={"displayName": "s"}).status_code == 403


def test_denied_permission_applies_inside_batch(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: each batch sub-request is authorised on its own."""
    tenant.denied_permissions = {"DeviceManagementRBAC.Read.All"}
    body = {
        "requests": [
            {"id": "1", "method": "GET", "url": "/deviceManagement/roleScopeTags"},
            {"id": "2", "method": "GET", "url": "/deviceManagement/assignmentFilters"},
        ]
    }
    results = {
        r["id"]: r["status"] for r in client.post("/beta/$batch", json=body).json()["responses"]
    }
    assert results == {"1": 403, "2": 200}


def test_permissions_from_add_tenant_and_admin_endpoint(emu: GraphEmulator) -> None:
    """Emulator knobs: add_tenant(denied_permissions=...) and
    POST /_emulator/tenants/{id}/permissions."""
    emu.add_tenant(tenant_id="t", token="tok", denied_permissions={"Group.Read.All"})
    with emulator_client(emu, "tok") as c:
        assert c.get("/v1.0/groups").status_code == 403
        c.post("/_emulator/tenants/t/permissions", json={"denied_permissions": []})
        assert c.get("/v1.0/groups").status_code == 200
