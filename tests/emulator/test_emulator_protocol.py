"""Protocol-level Graph behaviour: versions, @odata.context, headers, error bodies, auth."""

from __future__ import annotations

import json

import httpx
import pytest

from tenantguard.emulator import GraphEmulator
from tenantguard.emulator.testing import GRAPH, custom_configuration, emulator_client, graph_error

DC = "deviceManagement/deviceConfigurations"


def test_collection_context_is_built_from_the_request_host(client: httpx.Client) -> None:
    """Graph: a collection answers {"@odata.context": ".../$metadata#<path>", "value": [...]}."""
    response = client.get(f"/beta/{DC}")
    assert response.status_code == 200
    assert response.json() == {
        "@odata.context": f"{GRAPH}/beta/$metadata#{DC}",
        "value": [],
    }


def test_context_follows_another_host(emu: GraphEmulator, tenant: object) -> None:
    """Graph: @odata.context is absolute on the service root the client called."""
    with httpx.Client(
        transport=emu.transport(),
        base_url="https://graph.microsoft.us",
        headers={"Authorization": "Bearer static-token-1"},
    ) as other:
        body = other.get("/v1.0/groups").json()
    assert body["@odata.context"] == "https://graph.microsoft.us/v1.0/$metadata#groups"


def test_entity_context_and_both_versions(client: httpx.Client) -> None:
    """Graph: a single entity carries "#<collection>/$entity"; /v1.0 and /beta both route."""
    created = client.post(f"/beta/{DC}", json=custom_configuration()).json()
    for version in ("beta", "v1.0"):
        body = client.get(f"/{version}/{DC}/{created['id']}").json()
        assert body["@odata.context"] == f"{GRAPH}/{version}/$metadata#{DC}/$entity"
        assert body["id"] == created["id"]


def test_odata_key_syntax_is_accepted(client: httpx.Client) -> None:
    """Graph: collection('id') addresses the same entity as collection/id."""
    created = client.post(f"/beta/{DC}", json=custom_configuration()).json()
    assert client.get(f"/beta/{DC}('{created['id']}')").json()["id"] == created["id"]


def test_response_headers_echo_client_request_id(client: httpx.Client) -> None:
    """Graph: every response has request-id, echoes client-request-id, JSON content type."""
    response = client.get(f"/beta/{DC}", headers={"client-request-id": "abc-123"})
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"]
    assert response.headers["content-type"] == "application/json"
    fresh = client.get(f"/beta/{DC}")
    assert fresh.headers["client-request-id"] == fresh.headers["request-id"]


def test_unknown_intune_route_is_400_no_method_match(client: httpx.Client) -> None:
    """Graph: an unknown Intune path is 400 "No method match route template"."""
    response = client.get("/beta/deviceManagement/notAThing")
    assert response.status_code == 400
    assert graph_error(response)["code"] == "No method match route template"


def test_unknown_segment_is_400_bad_request(client: httpx.Client) -> None:
    """Graph: an unknown first segment is 400 BadRequest "Resource not found for the segment"."""
    response = client.get("/beta/noSuchThing")
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "BadRequest"
    assert "noSuchThing" in error["message"]


def test_missing_intune_object_is_404_resource_not_found_with_json_message(
    client: httpx.Client,
) -> None:
    """Graph (Intune): 404 ResourceNotFound, message is a JSON string with _version 3."""
    response = client.get(f"/beta/{DC}/00000000-0000-0000-0000-00000000dead")
    assert response.status_code == 404
    error = graph_error(response)
    assert error["code"] == "ResourceNotFound"
    inner = json.loads(error["message"])
    assert inner["_version"] == 3
    assert "Message" in inner
    assert error["innerError"]["request-id"] == response.headers["request-id"]


def test_missing_group_is_404_request_resource_not_found(client: httpx.Client) -> None:
    """Graph (directory): missing directory objects are 404 Request_ResourceNotFound."""
    response = client.get("/v1.0/groups/11111111-1111-1111-1111-111111111111")
    assert response.status_code == 404
    assert graph_error(response)["code"] == "Request_ResourceNotFound"


def test_missing_bearer_token_is_401(emu: GraphEmulator, tenant: object) -> None:
    """Graph: no Authorization header -> 401 InvalidAuthenticationToken."""
    with emulator_client(emu, None) as anonymous:
        response = anonymous.get(f"/beta/{DC}")
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"


def test_unknown_bearer_token_is_401_without_echoing_it(emu: GraphEmulator, tenant: object) -> None:
    """Graph: an invalid token -> 401 InvalidAuthenticationToken; the token is never echoed."""
    with emulator_client(emu, "not-a-real-token") as stranger:
        response = stranger.get(f"/beta/{DC}")
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"
    assert "not-a-real-token" not in response.text


def test_token_selects_the_tenant(emu: GraphEmulator) -> None:
    """Graph: the bearer token decides which tenant answers."""
    emu.add_tenant(tenant_id="a", token="token-a", seed_objects=[("groups", {"displayName": "A"})])
    emu.add_tenant(tenant_id="b", token="token-b", seed_objects=[("groups", {"displayName": "B"})])
    with emulator_client(emu, "token-a") as a, emulator_client(emu, "token-b") as b:
        assert [g["displayName"] for g in a.get("/v1.0/groups").json()["value"]] == ["A"]
        assert [g["displayName"] for g in b.get("/v1.0/groups").json()["value"]] == ["B"]


def test_invalid_json_body_is_400(client: httpx.Client) -> None:
    """Graph: an unreadable JSON payload is 400 BadRequest."""
    response = client.post(
        f"/beta/{DC}", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


def test_request_log_records_method_path_status(emu: GraphEmulator, client: httpx.Client) -> None:
    """Emulator: request_log lists (tenant_id, method, path, status) of each Graph request."""
    client.get(f"/beta/{DC}")
    entry = emu.request_log[-1]
    assert (entry.tenant_id, entry.method, entry.path, entry.status) == (
        "contoso-test",
        "GET",
        f"/beta/{DC}",
        200,
    )


def test_internal_failure_is_a_graph_shaped_500(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Graph: a server fault is 500 with the usual error body (inside a batch: only that
    sub-request)."""
    import tenantguard.emulator.app as app_module

    def broken(request: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module, "handle", broken)
    response = client.get("/v1.0/groups")
    assert response.status_code == 500
    assert graph_error(response)["code"] == "InternalServerError"
    batch = client.post(
        "/v1.0/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/groups"}]}
    )
    assert batch.status_code == 200
    assert batch.json()["responses"][0]["status"] == 500


def test_seed_objects_may_be_bare_graph_objects(emu: GraphEmulator) -> None:
    """Seed format: seed_objects items without a collection are classified by @odata.context."""
    context = (
        "https://graph.microsoft.com/beta/$metadata#deviceManagement/assignmentFilters/$entity"
    )
    tenant = emu.add_tenant(
        tenant_id="bare",
        token="bare-token",
        seed_objects=[{"@odata.context": context, "id": "f1", "displayName": "F"}],
    )
    assert tenant.get_object("deviceManagement/assignmentFilters", "f1") is not None


def test_request_log_keeps_the_newest_entries(clock: object) -> None:
    """Emulator knob: request_log_limit bounds the log of a long-running emulator."""
    from tenantguard.emulator import EmulatorConfig, ThrottleConfig

    emu = GraphEmulator(
        config=EmulatorConfig(throttle=ThrottleConfig(enabled=False), request_log_limit=3)
    )
    emu.add_tenant(tenant_id="t", token="tok")
    with emulator_client(emu, "tok") as c:
        for i in range(5):
            c.get(f"/v1.0/groups/g{i}")
    assert [e.path for e in emu.request_log] == [f"/v1.0/groups/g{i}" for i in (2, 3, 4)]
