"""GraphClient basics: URLs, paging, verbs, headers, request counting."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tenantguard.graph import GraphError

GRAPH_ROOT = "https://graph.example.test"  # what make_client uses
STATIC_TOKEN = "tok-3f9a1c-never-log-me"  # what make_client uses


def test_paging_follows_next_links_verbatim_across_pages_including_an_empty_one(make_client):
    seen_urls: list[str] = []
    next_link_2 = (
        f"{GRAPH_ROOT}/beta/deviceManagement/configurationPolicies?$skiptoken=A%2BB&$top=2"
    )
    next_link_3 = f"{GRAPH_ROOT}/beta/deviceManagement/configurationPolicies?$skiptoken=C"
    pages = {
        f"{GRAPH_ROOT}/beta/deviceManagement/configurationPolicies?%24expand=settings": {
            "value": [{"id": "1"}, {"id": "2"}],
            "@odata.nextLink": next_link_2,
        },
        next_link_2: {"value": [], "@odata.nextLink": next_link_3},
        next_link_3: {"value": [{"id": "3"}]},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        seen_urls.append(url)
        return httpx.Response(200, json=pages[url])

    client = make_client(handler)
    items = client.list_collection(
        "deviceManagement/configurationPolicies", params={"$expand": "settings"}
    )

    assert [item["id"] for item in items] == ["1", "2", "3"]
    # the nextLink is requested exactly as Graph gave it: no re-encoding, no added params
    assert seen_urls[1:] == [next_link_2, next_link_3]
    assert client.request_count == 3


def test_iter_collection_is_lazy(make_client):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(
            200,
            json={
                "value": [{"id": "a"}],
                "@odata.nextLink": f"{GRAPH_ROOT}/beta/x?page={len(calls)}",
            },
        )

    iterator = make_client(handler).iter_collection("x")
    assert next(iterator)["id"] == "a"
    assert len(calls) == 1


def test_a_repeated_next_link_stops_paging_with_an_error(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"value": [{"id": "a"}], "@odata.nextLink": f"{GRAPH_ROOT}/beta/loop"}
        )

    with pytest.raises(GraphError, match=r"same @odata\.nextLink"):
        make_client(handler).list_collection("x")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "deviceManagement/deviceConfigurations",
            f"{GRAPH_ROOT}/beta/deviceManagement/deviceConfigurations",
        ),
        (
            "/deviceManagement/deviceConfigurations",
            f"{GRAPH_ROOT}/beta/deviceManagement/deviceConfigurations",
        ),
        ("/v1.0/groups", f"{GRAPH_ROOT}/v1.0/groups"),
        ("/beta/groups", f"{GRAPH_ROOT}/beta/groups"),
        (
            "https://other.example.test/beta/groups?$skiptoken=x",
            "https://other.example.test/beta/groups?$skiptoken=x",
        ),
    ],
)
def test_path_resolution(make_client, path, expected):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    make_client(handler).get(path)
    assert seen == [expected]


def test_api_version_v1(make_client):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"id": "g"})

    client = make_client(handler, api_version="v1.0", graph_url=GRAPH_ROOT + "/")
    assert client.get("groups/g") == {"id": "g"}
    assert seen == ["/v1.0/groups/g"]


def test_get_sends_params_token_and_a_fresh_client_request_id(make_client):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "abc"})

    client = make_client(handler)
    client.get("deviceManagement/deviceConfigurations/abc", params={"$expand": "assignments"})
    client.get("deviceManagement/deviceConfigurations/abc")

    first, second = seen
    assert second.url.params.get("$expand") is None
    assert first.url.params["$expand"] == "assignments"
    assert first.headers["Authorization"] == f"Bearer {STATIC_TOKEN}"
    ids = [r.headers["client-request-id"] for r in seen]
    assert all(uuid.UUID(value).version == 4 for value in ids)
    assert ids[0] != ids[1]


def test_writes_send_json_and_return_the_body_or_none_for_204(make_client):
    seen: list[tuple[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, json.loads(request.content or b"null")))
        if request.method == "POST" and request.url.path.endswith("/assign"):
            return httpx.Response(204)
        return httpx.Response(200 if request.method != "POST" else 201, json={"id": "new"})

    client = make_client(handler)
    assert client.post("deviceManagement/deviceConfigurations", json={"a": 1}) == {"id": "new"}
    assert client.patch("deviceManagement/deviceConfigurations/new", json={"b": 2}) == {"id": "new"}
    assert client.put("deviceManagement/configurationPolicies/new", json={"c": 3}) == {"id": "new"}
    assert client.post("deviceManagement/deviceManagementScripts/x/assign", json={}) is None
    assert seen == [
        ("POST", {"a": 1}),
        ("PATCH", {"b": 2}),
        ("PUT", {"c": 3}),
        ("POST", {}),
    ]
    assert client.request_count == 4


def test_a_non_json_body_is_a_graph_error_response(make_client):
    client = make_client(lambda request: httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(GraphError, match="not JSON"):
        client.get("x")


def test_client_is_a_context_manager(make_client):
    with make_client(lambda request: httpx.Response(200, json={})) as client:
        assert client.get("x") == {}
