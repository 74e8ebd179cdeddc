"""Each failure surfaces as its own exception type with a message an admin can act on."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantguard.graph import (
    ApprovalRequiredError,
    AuthenticationError,
    BadRequestError,
    GraphError,
    GraphTransportError,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    ServerError,
    ThrottledError,
)
from tenantguard.graph.errors import error_from_response, parse_error_body
from tenantguard.graph.testing import graph_error_response

PATH = "deviceManagement/deviceConfigurations/abc"

STATIC_TOKEN = "tok-3f9a1c-never-log-me"  # what make_client uses


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "BadRequest", BadRequestError),
        (400, "ApprovalRequired", ApprovalRequiredError),
        (403, "ApprovalRequired", ApprovalRequiredError),
        (401, "InvalidAuthenticationToken", PermissionDeniedError),
        (403, "Forbidden", PermissionDeniedError),
        (404, "ResourceNotFound", NotFoundError),
        (409, "Conflict", GraphError),
        (429, "TooManyRequests", ThrottledError),
        (500, "InternalServerError", ServerError),
        (503, "ServiceUnavailable", ServerError),
    ],
)
def test_each_status_raises_its_exception(make_client, status, code, expected):
    def handler(request: httpx.Request) -> httpx.Response:
        return graph_error_response(
            status, code, "Something happened.", headers={"Retry-After": "1"}
        )

    client = make_client(handler, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(expected) as caught:
        client.get(PATH)

    error = caught.value
    assert type(error) is expected
    assert isinstance(error, GraphError)
    assert error.status == status
    assert error.code == code
    assert error.method == "GET"
    assert error.url is not None and error.url.endswith("/beta/" + PATH)
    assert error.request_id == "req-123"
    assert STATIC_TOKEN not in str(error)


def test_transport_error_is_graph_transport_error(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("name or service not known")

    with pytest.raises(GraphTransportError) as caught:
        make_client(handler, retry=RetryPolicy(max_attempts=1)).get(PATH)

    assert caught.value.status is None
    assert "Check network access" in str(caught.value)


def test_permission_denied_names_the_request_and_what_to_do(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        return graph_error_response(
            403, "Forbidden", "Application is not authorized to perform this operation."
        )

    with pytest.raises(PermissionDeniedError) as caught:
        make_client(handler).get(PATH)

    text = str(caught.value)
    assert text.startswith(f"Graph denied GET /beta/{PATH} (403 Forbidden): Application is not")
    assert "Grant the app the permission this resource needs and admin-consent it." in text
    assert "req-123" in text


def test_approval_required_says_an_approved_request_is_needed(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        return graph_error_response(403, "ApprovalRequired", "This operation requires approval.")

    with pytest.raises(ApprovalRequiredError) as caught:
        make_client(handler).patch(PATH, json={"displayName": "x"})

    assert "Multi Admin Approval" in str(caught.value)
    assert "approved request" in str(caught.value)


def test_intune_json_inside_message_is_unwrapped(make_client):
    inner = json.dumps(
        {
            "_version": 3,
            "Message": "Compliance policy must have one and only one block scheduled action - "
            "Operation ID (for customer support): 0000",
            "CustomApiErrorPhrase": "",
            "RetryAfter": None,
        }
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return graph_error_response(400, "BadRequest", inner)

    with pytest.raises(BadRequestError) as caught:
        make_client(handler).post("deviceManagement/deviceCompliancePolicies", json={})

    assert caught.value.message.startswith("Compliance policy must have one and only one block")
    assert "_version" not in str(caught.value)


def test_request_id_header_wins_over_inner_error(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        return graph_error_response(
            404, "Request_ResourceNotFound", "gone", headers={"request-id": "hdr-9"}
        )

    with pytest.raises(NotFoundError) as caught:
        make_client(handler).get(PATH)
    assert caught.value.request_id == "hdr-9"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", (None, None, None)),
        (b"not json at all", (None, "not json at all", None)),
        ({"error": {"code": "X", "message": "plain"}}, ("X", "plain", None)),
        (
            {"error": {"code": "X", "message": 'prefix: {"Message": "inner text"}'}},
            ("X", "prefix: inner text", None),
        ),
        ({"error": {"code": "X", "message": "{broken json"}}, ("X", "{broken json", None)),
        (
            {"error": "invalid_client", "error_description": "AADSTS7000215"},
            ("invalid_client", "AADSTS7000215", None),
        ),
        ({"error": {"code": "X", "innerError": {"request-id": "r1"}}}, ("X", None, "r1")),
        ([1, 2], (None, None, None)),
    ],
)
def test_parse_error_body_never_fails(body, expected):
    assert parse_error_body(body) == expected


def test_authentication_error_is_a_graph_error_response():
    assert issubclass(AuthenticationError, GraphError)


def test_approval_required_is_recognised_in_inner_error_and_any_casing(make_client):
    def inner_code(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "error": {
                    "code": "BadRequest",
                    "message": "x",
                    "innerError": {"code": "ApprovalRequired"},
                }
            },
        )

    with pytest.raises(ApprovalRequiredError):
        make_client(inner_code).post("deviceManagement/deviceConfigurations", json={})

    def lower_case(request: httpx.Request) -> httpx.Response:
        return graph_error_response(403, "approvalRequired", "Approval needed")

    with pytest.raises(ApprovalRequiredError):
        make_client(lower_case).post("deviceManagement/deviceConfigurations", json={})


def test_intune_message_keeps_text_around_the_nested_json():
    body = {
        "error": {
            "code": "BadRequest",
            "message": 'Validation failed: {"_version": 3, "Message": "Name is required"} (id 7)',
        }
    }
    assert parse_error_body(body)[1] == "Validation failed: Name is required (id 7)"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        json_values,
        st.binary(max_size=60),
        st.text(max_size=60),
        st.builds(lambda error: {"error": error}, json_values),
        st.builds(
            lambda message: {"error": {"code": "X", "message": message}}, st.text(max_size=80)
        ),
    ),
    status=st.sampled_from([400, 401, 403, 404, 409, 429, 500, 503]),
)
def test_any_error_body_becomes_a_graph_error(body, status):
    error = error_from_response(
        status=status, body=body, headers={}, method="GET", url="https://g/beta/x"
    )
    assert isinstance(error, GraphError)
    assert error.status == status
    assert "GET /beta/x" in str(error)
