"""A create is never sent twice after an unclear answer (issue 7 A1).

Graph's throttling answer (429) says the request was not processed; a 502/503/504 or a
connection lost after sending does not, so a non-idempotent POST then raises
``OutcomeUnknownError`` instead of being retried. Idempotent requests keep their retries.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tenantguard.graph import (
    BatchRequest,
    GraphError,
    GraphTransportError,
    OutcomeUnknownError,
    RetryPolicy,
    ServerError,
)
from tenantguard.graph.testing import graph_error_response, sequence_handler

CREATE = "deviceManagement/deviceConfigurations"


def gateway(status: int) -> httpx.Response:
    return graph_error_response(status, "GatewayTimeout", "The gateway timed out.")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_create_answered_502_503_504_is_not_sent_again(make_client, status):
    handler = sequence_handler(gateway(status), httpx.Response(201, json={"id": "duplicate"}))
    client = make_client(handler)

    with pytest.raises(OutcomeUnknownError) as caught:
        client.post(CREATE, json={"displayName": "Baseline"})

    assert len(handler.seen) == 1
    assert caught.value.status == status
    assert isinstance(caught.value, GraphError)
    assert "may or may not have been applied" in str(caught.value)
    assert "POST /beta/deviceManagement/deviceConfigurations" in str(caught.value)


@pytest.mark.parametrize(
    "lost",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
        httpx.WriteTimeout("write timed out"),
    ],
    ids=type,
)
def test_a_create_whose_connection_is_lost_after_sending_is_not_sent_again(make_client, lost):
    handler = sequence_handler(lost, httpx.Response(201, json={"id": "duplicate"}))
    client = make_client(handler)

    with pytest.raises(OutcomeUnknownError) as caught:
        client.post(CREATE, json={"displayName": "Baseline"})

    assert len(handler.seen) == 1
    assert caught.value.status is None
    assert type(lost).__name__ in str(caught.value)
    assert caught.value.__cause__ is lost


def test_a_create_whose_connection_never_opened_is_retried(make_client, clock):
    handler = sequence_handler(
        httpx.ConnectError("refused"), httpx.Response(201, json={"id": "once"})
    )
    client = make_client(handler)

    assert client.post(CREATE, json={}) == {"id": "once"}
    assert len(handler.seen) == 2


def test_a_create_that_never_reaches_graph_is_a_transport_error(make_client):
    handler = sequence_handler(*[httpx.ConnectError("refused")] * 2)
    client = make_client(handler, retry=RetryPolicy(max_attempts=2, base_delay=0.0))

    with pytest.raises(GraphTransportError) as caught:
        client.post(CREATE, json={})
    assert not isinstance(caught.value, OutcomeUnknownError)


def test_a_throttled_create_is_retried_after_retry_after(make_client, clock):
    throttled = graph_error_response(429, "TooManyRequests", "slow", headers={"Retry-After": "3"})
    handler = sequence_handler(throttled, httpx.Response(201, json={"id": "once"}))
    client = make_client(handler)

    assert client.post(CREATE, json={}) == {"id": "once"}
    assert len(handler.seen) == 2
    assert clock.sleeps == [3.0]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201, content=b'{"id": "3f2a', headers={"Content-Type": "application/json"}),
        httpx.Response(200, content=b"<html>proxy</html>", headers={"Content-Type": "text/html"}),
    ],
    ids=["truncated-json", "html"],
)
def test_a_create_applied_with_an_unreadable_answer_is_an_unknown_outcome(make_client, answer):
    """Graph created the object (2xx) but its id cannot be read: as after a 504 the caller
    must look for it before creating again, never take the create for failed."""
    handler = sequence_handler(answer, httpx.Response(201, json={"id": "duplicate"}))

    with pytest.raises(OutcomeUnknownError) as caught:
        make_client(handler).post(CREATE, json={"displayName": "Baseline"})

    assert len(handler.seen) == 1
    assert caught.value.status == answer.status_code
    assert "unreadable answer" in str(caught.value)


def test_an_idempotent_action_with_an_unreadable_answer_stays_a_graph_error(make_client):
    handler = sequence_handler(
        httpx.Response(200, content=b"<html>", headers={"Content-Type": "text/html"})
    )
    with pytest.raises(GraphError) as caught:
        make_client(handler).post(f"{CREATE}/abc/assign", json={}, idempotent=True)
    assert not isinstance(caught.value, OutcomeUnknownError)


def test_a_500_on_a_create_stays_a_server_error(make_client):
    handler = sequence_handler(graph_error_response(500, "InternalServerError", "boom"))
    with pytest.raises(ServerError) as caught:
        make_client(handler).post(CREATE, json={})
    assert not isinstance(caught.value, OutcomeUnknownError)


@pytest.mark.parametrize("status", [503, 504])
def test_an_idempotent_action_is_retried_on_503_504(make_client, status):
    handler = sequence_handler(gateway(status), httpx.Response(204))
    client = make_client(handler)

    assert client.post(f"{CREATE}/abc/assign", json={"assignments": []}, idempotent=True) is None
    assert len(handler.seen) == 2


def test_an_idempotent_action_is_retried_after_a_lost_connection(make_client):
    handler = sequence_handler(httpx.ReadTimeout("timed out"), httpx.Response(204))
    client = make_client(handler)

    assert client.post(f"{CREATE}/abc/assign", json={}, idempotent=True) is None
    assert len(handler.seen) == 2


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT"])
def test_reads_and_updates_keep_their_retries(make_client, method):
    handler = sequence_handler(
        gateway(504), httpx.ReadTimeout("timed out"), httpx.Response(200, json={"id": "x"})
    )
    client = make_client(handler)

    call = {"GET": client.get, "PATCH": client.patch, "PUT": client.put}[method]
    assert call(f"{CREATE}/x", **({} if method == "GET" else {"json": {}})) == {"id": "x"}
    assert len(handler.seen) == 3


# ---- $batch ------------------------------------------------------------------------------------


def batch_handler(answer):
    """``answer(sub, round)`` -> (status, body) per sub-request, or an exception for the POST."""
    rounds: list[list[dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        subs = json.loads(request.content)["requests"]
        rounds.append(subs)
        outcome = answer(None, len(rounds))
        if isinstance(outcome, Exception):
            raise outcome
        responses = []
        for sub in subs:
            status, body = answer(sub, len(rounds))
            responses.append({"id": sub["id"], "status": status, "headers": {}, "body": body})
        return httpx.Response(200, json={"responses": responses})

    handler.rounds = rounds  # type: ignore[attr-defined]
    return handler


def _create(request_id: str) -> BatchRequest:
    return BatchRequest(id=request_id, method="POST", url=f"/{CREATE}", body={"n": request_id})


def test_batch_create_parts_answered_504_are_not_resent_but_reads_are(make_client):
    def answer(sub, round_number):
        if sub is None:
            return None
        if round_number == 1:
            return 504, {"error": {"code": "GatewayTimeout", "message": "late"}}
        return 200, {"id": sub["id"]}

    handler = batch_handler(answer)
    client = make_client(handler, retry=RetryPolicy(max_attempts=3, base_delay=0.0))
    read = BatchRequest(id="read", method="GET", url=f"/{CREATE}/r")
    assign = BatchRequest(
        id="assign", method="POST", url=f"/{CREATE}/r/assign", body={}, idempotent=True
    )

    create, read_back, assigned = client.batch([_create("create"), read, assign])

    assert [[s["id"] for s in r] for r in handler.rounds] == [
        ["create", "read", "assign"],
        ["read", "assign"],
    ]
    assert create.outcome_unknown and create.status == 504
    assert read_back.ok and assigned.ok
    with pytest.raises(OutcomeUnknownError):
        create.raise_for_status()


def test_batch_create_parts_answered_429_are_resent(make_client):
    def answer(sub, round_number):
        if sub is None:
            return None
        if round_number == 1:
            return 429, {"error": {"code": "TooManyRequests", "message": "slow"}}
        return 201, {"id": "made"}

    handler = batch_handler(answer)
    client = make_client(handler, retry=RetryPolicy(max_attempts=3, base_delay=0.0))

    (created,) = client.batch([_create("c")])

    assert len(handler.rounds) == 2
    assert created.status == 201 and not created.outcome_unknown


def test_a_batch_carrying_creates_that_loses_its_answer_marks_them_unknown(make_client):
    def answer(sub, round_number):
        if sub is None:
            return httpx.ReadTimeout("timed out") if round_number == 1 else None
        return 200, {"id": sub["id"]}

    handler = batch_handler(answer)
    client = make_client(handler, retry=RetryPolicy(max_attempts=3, base_delay=0.0))
    read = BatchRequest(id="read", method="GET", url=f"/{CREATE}/r")

    created, read_back = client.batch([_create("c"), read])

    # the $batch envelope is not sent again as a whole; only the read goes again
    assert [[s["id"] for s in r] for r in handler.rounds] == [["c", "read"], ["read"]]
    assert created.outcome_unknown and created.status == 0
    assert read_back.ok
    with pytest.raises(OutcomeUnknownError, match="no answer"):
        created.raise_for_status()


def test_a_batch_of_reads_is_retried_as_a_whole_after_a_lost_connection(make_client):
    def answer(sub, round_number):
        if sub is None:
            return httpx.ReadTimeout("timed out") if round_number == 1 else None
        return 200, {"id": sub["id"]}

    handler = batch_handler(answer)
    client = make_client(handler, retry=RetryPolicy(max_attempts=3, base_delay=0.0))

    (read,) = client.batch([BatchRequest(id="r", method="GET", url=f"/{CREATE}/r")])

    assert len(handler.rounds) == 2 and read.ok
