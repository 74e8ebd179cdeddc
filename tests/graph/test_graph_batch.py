"""$batch: chunking, order, per-sub-request throttling and errors."""

from __future__ import annotations

import json

import httpx
import pytest

from tenantguard.graph import (
    BatchRequest,
    NotFoundError,
    RetryPolicy,
    ThrottledError,
    WritePacer,
)


def batch_server(answer):
    """A fake $batch endpoint; ``answer(sub_request, round)`` -> (status, headers, body)."""
    posts: list[list[dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/beta/$batch":
            return httpx.Response(204)  # a direct call next to the batches
        assert request.method == "POST"
        subs = json.loads(request.content or b"null")["requests"]
        posts.append(subs)
        responses = []
        for sub in subs:
            status, headers, body = answer(sub, len(posts))
            responses.append({"id": sub["id"], "status": status, "headers": headers, "body": body})
        responses.reverse()  # Graph answers in any order
        return httpx.Response(200, json={"responses": responses})

    handler.posts = posts  # type: ignore[attr-defined]
    return handler


def test_45_requests_go_in_3_posts_and_come_back_in_input_order(make_client):
    handler = batch_server(lambda sub, _round: (200, {}, {"id": sub["url"].rsplit("/", 1)[-1]}))
    client = make_client(handler)
    requests = [
        BatchRequest(id=str(i), method="GET", url=f"/deviceManagement/deviceConfigurations/{i}")
        for i in range(45)
    ]

    responses = client.batch(requests)

    assert [len(post) for post in handler.posts] == [20, 20, 5]
    assert [r.id for r in responses] == [str(i) for i in range(45)]
    assert [r.body["id"] for r in responses] == [str(i) for i in range(45)]
    assert client.request_count == 3


def test_mixed_200_404_429_retries_only_the_throttled_one(make_client, clock):
    def answer(sub, round_number):
        if sub["id"] == "missing":
            return 404, {}, {"error": {"code": "ResourceNotFound", "message": "No such policy"}}
        if sub["id"] == "busy" and round_number == 1:
            return (
                429,
                {"Retry-After": "9"},
                {"error": {"code": "TooManyRequests", "message": "slow"}},
            )
        if sub["id"] == "busy2" and round_number == 1:
            return (
                429,
                {"retry-after": "4"},
                {"error": {"code": "TooManyRequests", "message": "slow"}},
            )
        return 200, {}, {"id": sub["id"]}

    handler = batch_server(answer)
    client = make_client(handler)
    responses = client.batch(
        [
            BatchRequest(id="ok", method="GET", url="/deviceManagement/deviceConfigurations/ok"),
            BatchRequest(
                id="busy", method="GET", url="/deviceManagement/deviceConfigurations/busy"
            ),
            BatchRequest(
                id="missing", method="GET", url="/deviceManagement/deviceConfigurations/missing"
            ),
            BatchRequest(id="busy2", method="GET", url="/deviceManagement/deviceConfigurations/b2"),
        ]
    )

    assert [r.id for r in responses] == ["ok", "busy", "missing", "busy2"]
    assert [r.status for r in responses] == [200, 200, 404, 200]
    assert [[sub["id"] for sub in post] for post in handler.posts] == [
        ["ok", "busy", "missing", "busy2"],
        ["busy", "busy2"],
    ]
    assert clock.sleeps == [9.0]  # the longest Retry-After among the throttled ones
    responses[0].raise_for_status()
    with pytest.raises(NotFoundError) as caught:
        responses[2].raise_for_status()
    assert "GET /beta/deviceManagement/deviceConfigurations/missing" in str(caught.value)
    assert "No such policy" in str(caught.value)


def test_budget_exhausted_keeps_429_and_raises_throttled_error(make_client, clock):
    handler = batch_server(
        lambda sub, _round: (
            429,
            {"Retry-After": "5"},
            {"error": {"code": "TooManyRequests", "message": "slow down"}},
        )
    )
    client = make_client(handler, retry=RetryPolicy(max_attempts=3))

    (response,) = client.batch([BatchRequest(id="1", method="GET", url="/deviceManagement/x")])

    assert response.status == 429
    assert len(handler.posts) == 3
    assert clock.sleeps == [5.0, 5.0]
    with pytest.raises(ThrottledError) as caught:
        response.raise_for_status()
    assert caught.value.attempts == 3
    assert "3 attempt(s)" in str(caught.value)
    assert "10.0 s" in str(caught.value)


def test_sub_request_bodies_get_a_content_type_and_depends_on_is_sent(make_client):
    handler = batch_server(lambda sub, _round: (204, {}, None))
    make_client(handler).batch(
        [
            BatchRequest(id="1", method="PATCH", url="/deviceManagement/x/1", body={"a": 1}),
            BatchRequest(
                id="2",
                method="post",
                url="/deviceManagement/x/1/assign",
                body={"assignments": []},
                depends_on=["1"],
            ),
            BatchRequest(
                id="3",
                method="GET",
                url="/deviceManagement/x/1",
                headers={"ConsistencyLevel": "eventual"},
            ),
        ]
    )
    first, second, third = handler.posts[0]
    assert first == {
        "id": "1",
        "method": "PATCH",
        "url": "/deviceManagement/x/1",
        "body": {"a": 1},
        "headers": {"Content-Type": "application/json"},
    }
    assert second["method"] == "POST"
    assert second["dependsOn"] == ["1"]
    assert third == {
        "id": "3",
        "method": "GET",
        "url": "/deviceManagement/x/1",
        "headers": {"ConsistencyLevel": "eventual"},
    }


def test_a_424_blocked_by_a_throttled_dependency_is_retried_with_it(make_client, clock):
    def answer(sub, round_number):
        if round_number == 1 and sub["id"] == "create":
            return 429, {"Retry-After": "1"}, None
        if round_number == 1 and sub["id"] == "assign":
            return 424, {}, {"error": {"code": "FailedDependency", "message": "dependency failed"}}
        return 200, {}, {}

    handler = batch_server(answer)
    responses = make_client(handler).batch(
        [
            BatchRequest(id="other", method="GET", url="/a"),
            BatchRequest(id="create", method="PATCH", url="/b", body={}),
            BatchRequest(
                id="assign", method="POST", url="/b/assign", body={}, depends_on=["create"]
            ),
        ]
    )
    assert [r.status for r in responses] == [200, 200, 200]
    assert [sub["id"] for sub in handler.posts[1]] == ["create", "assign"]
    assert handler.posts[1][1]["dependsOn"] == ["create"]


def test_dependency_groups_are_not_split_across_chunks(make_client):
    handler = batch_server(lambda sub, _round: (200, {}, {}))
    requests = [BatchRequest(id=f"g{i}", method="GET", url=f"/x/{i}") for i in range(19)]
    requests += [
        BatchRequest(id="p", method="PATCH", url="/p", body={}),
        BatchRequest(id="c", method="POST", url="/p/assign", body={}, depends_on=["p"]),
    ]
    make_client(handler).batch(requests)
    assert [len(post) for post in handler.posts] == [19, 2]


def test_chunks_hold_no_more_writes_than_the_pacer_allows(make_client):
    handler = batch_server(lambda sub, _round: (204, {}, None))
    requests = [BatchRequest(id=str(i), method="PATCH", url=f"/x/{i}", body={}) for i in range(12)]
    make_client(handler, pacer=WritePacer(max_writes=5, per_seconds=20)).batch(requests)
    assert [len(post) for post in handler.posts] == [5, 5, 2]


def test_batch_writes_count_against_the_pacer(make_client, clock):
    handler = batch_server(lambda sub, _round: (204, {}, None))
    client = make_client(handler, pacer=WritePacer(max_writes=20, per_seconds=20))
    writes = [BatchRequest(id=str(i), method="PATCH", url=f"/x/{i}", body={}) for i in range(20)]
    reads = [BatchRequest(id=f"r{i}", method="GET", url=f"/x/{i}") for i in range(20)]

    client.batch(reads)
    assert clock.sleeps == []
    client.batch(writes)
    assert clock.sleeps == []
    client.patch("x/1", json={})  # the window is full of batch writes: this one has to wait
    assert sum(clock.sleeps) == pytest.approx(20.0)


def test_duplicate_ids_and_unknown_dependencies_are_rejected(make_client):
    client = make_client(batch_server(lambda sub, _round: (200, {}, {})))
    with pytest.raises(ValueError, match="used twice"):
        client.batch(
            [
                BatchRequest(id="1", method="GET", url="/a"),
                BatchRequest(id="1", method="GET", url="/b"),
            ]
        )
    with pytest.raises(ValueError, match="not in the batch"):
        client.batch([BatchRequest(id="1", method="GET", url="/a", depends_on=["9"])])
    assert client.batch([]) == []


def test_a_missing_sub_response_is_an_error(make_client):
    from tenantguard.graph import GraphError

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"responses": []})

    with pytest.raises(GraphError, match="no response for sub-request '1'"):
        make_client(handler).batch([BatchRequest(id="1", method="GET", url="/a")])


def test_a_throttled_batch_post_itself_is_retried(make_client, clock):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(
                429, headers={"Retry-After": "3"}, json={"error": {"code": "TooManyRequests"}}
            )
        return httpx.Response(200, json={"responses": [{"id": "1", "status": 200, "body": {}}]})

    (response,) = make_client(handler).batch([BatchRequest(id="1", method="GET", url="/a")])
    assert response.status == 200
    assert clock.sleeps == [3.0]
