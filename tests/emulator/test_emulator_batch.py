"""JSON $batch rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenantguard.emulator import EmulatorConfig, FaultConfig, GraphEmulator, Tenant, ThrottleConfig
from tenantguard.emulator.testing import (
    FakeClock,
    custom_configuration,
    emulator_client,
    graph_error,
)

DC = "/deviceManagement/deviceConfigurations"


def _get(request_id: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"id": request_id, "method": "GET", "url": url, **extra}


def _by_id(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200
    return {r["id"]: r for r in response.json()["responses"]}


def test_batch_mixes_statuses(client: httpx.Client, tenant: Tenant) -> None:
    """Graph: $batch answers 200 with one {id, status, headers, body} per request, each with
    its own status (here 200, 404, 201 and a throttled 429 with its own Retry-After)."""
    created = client.post(f"/beta{DC}", json=custom_configuration()).json()
    busy = client.post(f"/beta{DC}", json=custom_configuration()).json()
    tenant.faults = FaultConfig(failing_ids={busy["id"]: 429}, retry_after_seconds=7)
    response = client.post(
        "/beta/$batch",
        json={
            "requests": [
                _get("1", f"{DC}/{created['id']}"),
                _get("2", f"{DC}/does-not-exist"),
                _get("4", f"{DC}/{busy['id']}"),
                {
                    "id": "3",
                    "method": "POST",
                    "url": DC,
                    "headers": {"Content-Type": "application/json"},
                    "body": custom_configuration(displayName="From batch"),
                },
            ]
        },
    )
    results = _by_id(response)
    assert results["1"]["status"] == 200
    assert results["1"]["body"]["id"] == created["id"]
    assert results["2"]["status"] == 404
    assert results["2"]["body"]["error"]["code"] == "ResourceNotFound"
    assert results["3"]["status"] == 201
    assert results["4"]["status"] == 429
    assert results["4"]["headers"]["Retry-After"] == "7"
    assert set(results["1"]) == {"id", "status", "headers", "body"}


def test_batch_responses_are_not_in_request_order(client: httpx.Client) -> None:
    """Graph: responses may come in any order; the emulator reverses them to keep clients
    from relying on order."""
    response = client.post(
        "/v1.0/$batch", json={"requests": [_get(str(i), "/groups") for i in range(1, 4)]}
    )
    assert [r["id"] for r in response.json()["responses"]] == ["3", "2", "1"]


def test_batch_with_more_than_20_requests_is_400(client: httpx.Client) -> None:
    """Graph: at most 20 requests per batch; more is a 400 for the whole batch."""
    response = client.post(
        "/beta/$batch", json={"requests": [_get(str(i), "/groups") for i in range(21)]}
    )
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


def test_batch_with_duplicate_ids_is_400(client: httpx.Client) -> None:
    """Graph: request ids must be unique within a batch."""
    response = client.post("/beta/$batch", json={"requests": [_get("1", "/groups")] * 2})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"requests": "nope"},
        {"requests": []},
        {"requests": [{"id": "1", "url": "/groups"}]},
        {"requests": [_get("1", "/groups", dependsOn=["9"])]},
    ],
    ids=["no-requests", "not-a-list", "empty", "no-method", "unknown-dependency"],
)
def test_malformed_batch_is_400(client: httpx.Client, payload: dict[str, Any]) -> None:
    """Graph: a malformed batch payload is 400 for the whole batch."""
    assert client.post("/beta/$batch", json=payload).status_code == 400


def test_body_without_content_type_fails_that_request(client: httpx.Client) -> None:
    """Graph: a sub-request with a body needs a Content-Type header; without it that
    sub-request is 400 and the others run."""
    response = client.post(
        "/beta/$batch",
        json={
            "requests": [
                {"id": "1", "method": "POST", "url": DC, "body": custom_configuration()},
                _get("2", "/groups"),
            ]
        },
    )
    results = _by_id(response)
    assert results["1"]["status"] == 400
    assert results["2"]["status"] == 200


def test_absolute_url_in_batch_is_400_for_that_request(client: httpx.Client) -> None:
    """Graph: batch urls are relative to the batch endpoint."""
    response = client.post(
        "/beta/$batch", json={"requests": [_get("1", "https://graph.microsoft.com/beta/groups")]}
    )
    assert _by_id(response)["1"]["status"] == 400


def test_failed_dependency_is_424(client: httpx.Client) -> None:
    """Graph: a request whose dependsOn request failed is answered 424 Failed Dependency."""
    response = client.post(
        "/beta/$batch",
        json={
            "requests": [
                _get("1", f"{DC}/missing"),
                _get("2", "/groups", dependsOn=["1"]),
                _get("3", "/groups"),
                _get("4", "/groups", dependsOn=["3"]),
            ]
        },
    )
    results = _by_id(response)
    assert results["1"]["status"] == 404
    assert results["2"]["status"] == 424
    assert results["2"]["body"]["error"]["code"] == "FailedDependency"
    assert results["4"]["status"] == 200


def test_each_sub_request_is_throttled_with_its_own_retry_after() -> None:
    """Graph: each batch sub-request is throttled on its own: 429 with a Retry-After header
    in that sub-response while the others succeed."""
    clock = FakeClock()
    emu = GraphEmulator(
        config=EmulatorConfig(
            throttle=ThrottleConfig(window_seconds=20, app_request_limit=3), clock=clock
        )
    )
    emu.add_tenant(tenant_id="t", token="tok")
    with emulator_client(emu, "tok") as c:
        response = c.post(
            "/beta/$batch", json={"requests": [_get(str(i), "/groups") for i in range(1, 6)]}
        )
    results = _by_id(response)
    assert [results[str(i)]["status"] for i in range(1, 6)] == [200, 200, 200, 429, 429]
    assert results["4"]["headers"]["Retry-After"] == "20"
    assert results["4"]["body"]["error"]["code"] == "TooManyRequests"


def test_batch_needs_a_token(emu: GraphEmulator, tenant: object) -> None:
    """Graph: the batch envelope is authenticated like any request (401 without a token)."""
    with emulator_client(emu, None) as anonymous:
        response = anonymous.post("/beta/$batch", json={"requests": [_get("1", "/groups")]})
    assert response.status_code == 401


def test_batch_urls_are_percent_decoded(client: httpx.Client, tenant: object) -> None:
    """Graph: sub-request urls are URLs: percent-encoded ids and OData function parameters
    address the same resources as in a direct request."""
    tenant.put_object("groups", {"id": "a b", "displayName": "Spaced"})  # type: ignore[attr-defined]
    response = client.post("/beta/$batch", json={"requests": [_get("1", "/groups/a%20b")]})
    assert _by_id(response)["1"]["body"]["displayName"] == "Spaced"
