"""JSON ``$batch``: up to 20 sub-requests, ``dependsOn``, per-request throttling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tenantguard.emulator.errors import EmulatorHTTPError
from tenantguard.emulator.messages import GraphResponse

MAX_REQUESTS = 20

# (method, relative url, headers, body) -> response; errors already rendered as bodies.
SubRequestRunner = Callable[[str, str, dict[str, str], Any], GraphResponse]
ErrorRenderer = Callable[[EmulatorHTTPError], GraphResponse]


def _invalid(message: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(400, "BadRequest", message)


def validate(body: Any) -> list[dict[str, Any]]:
    """The batch envelope rules; any violation fails the whole batch with 400."""
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise _invalid("Invalid batch payload format: a 'requests' array is required.")
    requests = body["requests"]
    if not requests:
        raise _invalid("Invalid batch payload format: the 'requests' array is empty.")
    if len(requests) > MAX_REQUESTS:
        raise _invalid(
            f"The number of batch requests ({len(requests)}) exceeds the limit of {MAX_REQUESTS}."
        )
    seen: set[str] = set()
    for request in requests:
        if not isinstance(request, dict):
            raise _invalid("Invalid batch payload format: each request must be an object.")
        for key in ("id", "method", "url"):
            if not isinstance(request.get(key), str) or not request[key]:
                raise _invalid(f"Invalid batch payload format: a request lacks '{key}'.")
        if request["id"] in seen:
            raise _invalid(f"Batch request id '{request['id']}' is duplicated.")
        seen.add(request["id"])
        headers = request.get("headers", {})
        if not isinstance(headers, dict):
            raise _invalid(f"Batch request '{request['id']}': headers must be an object.")
    for request in requests:
        depends = request.get("dependsOn", [])
        if not isinstance(depends, list) or any(d not in seen for d in depends):
            raise _invalid(f"Batch request '{request['id']}' depends on an unknown request id.")
        if request["id"] in depends:
            raise _invalid(f"Batch request '{request['id']}' depends on itself.")
    return requests


def run_batch(
    body: Any, *, run: SubRequestRunner, render: ErrorRenderer, reverse: bool
) -> dict[str, Any]:
    requests = validate(body)
    by_id = {r["id"]: r for r in requests}
    results: dict[str, GraphResponse] = {}
    in_progress: set[str] = set()

    def execute(request_id: str) -> GraphResponse:
        if request_id in results:
            return results[request_id]
        if request_id in in_progress:
            raise _invalid(f"Batch request '{request_id}' is part of a dependsOn cycle.")
        in_progress.add(request_id)
        request = by_id[request_id]
        failed = [d for d in request.get("dependsOn", []) if not 200 <= execute(d).status < 300]
        if failed:
            response = render(
                EmulatorHTTPError(
                    424, "FailedDependency", f"Dependency '{failed[0]}' of this request failed."
                )
            )
        else:
            response = _run_one(request, run, render)
        results[request_id] = response
        return response

    for request in requests:
        execute(request["id"])
    ordered = [r["id"] for r in requests]
    if reverse:
        ordered.reverse()  # Graph answers in any order: keep clients from relying on it.
    return {"responses": [_render_sub(request_id, results[request_id]) for request_id in ordered]}


def _run_one(
    request: dict[str, Any], run: SubRequestRunner, render: ErrorRenderer
) -> GraphResponse:
    url: str = request["url"]
    headers = {str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()}
    if "://" in url:
        return render(_invalid("Batch request urls must be relative to the batch endpoint."))
    if url.lstrip("/").lower().startswith("$batch"):
        return render(_invalid("A batch request cannot contain another batch."))
    if "body" in request and request["body"] is not None and "content-type" not in headers:
        return render(_invalid("Content-Type header must be specified for a request with a body."))
    return run(request["method"].upper(), url, headers, request.get("body"))


def _render_sub(request_id: str, response: GraphResponse) -> dict[str, Any]:
    headers = dict(response.headers)
    out: dict[str, Any] = {"id": request_id, "status": response.status}
    if response.body is not None:
        headers.setdefault("Content-Type", "application/json")
    out["headers"] = headers
    if response.body is not None:
        out["body"] = response.body
    return out
