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


def _request_id(request: dict[str, Any]) -> str | None:
    """The request's ``id`` as Graph reads it: a string, or a JSON number (IntuneCD sends
    ``"id": 1``), answered as its string form (``"1"``)."""
    value = request.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value:
        return value
    return None


def validate(body: Any) -> list[dict[str, Any]]:
    """The batch envelope rules; any violation fails the whole batch with 400.

    Returns the requests with ``id`` (and ``dependsOn``) as strings. Ids are compared without
    regard to case, as Graph does ("Request Id A has to be unique in a batch." for "a", "A")."""
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
    out: list[dict[str, Any]] = []
    for request in requests:
        if not isinstance(request, dict):
            raise _invalid("Invalid batch payload format: each request must be an object.")
        request_id = _request_id(request)
        if request_id is None:
            raise _invalid("Invalid batch payload format: a request lacks 'id'.")
        for key in ("method", "url"):
            if not isinstance(request.get(key), str) or not request[key]:
                raise _invalid(f"Invalid batch payload format: a request lacks '{key}'.")
        if request_id.casefold() in seen:
            raise _invalid(f"Request Id {request_id} has to be unique in a batch.")
        seen.add(request_id.casefold())
        headers = request.get("headers", {})
        if not isinstance(headers, dict):
            raise _invalid(f"Batch request '{request_id}': headers must be an object.")
        out.append({**request, "id": request_id})
    by_key = {r["id"].casefold(): r["id"] for r in out}
    for request in out:
        depends = request.get("dependsOn", [])
        if not isinstance(depends, list):
            raise _invalid(f"Batch request '{request['id']}' depends on an unknown request id.")
        names = [_request_id({"id": d}) for d in depends]
        if any(name is None or name.casefold() not in by_key for name in names):
            raise _invalid(f"Batch request '{request['id']}' depends on an unknown request id.")
        resolved = [by_key[str(name).casefold()] for name in names]
        if request["id"] in resolved:
            raise _invalid(f"Batch request '{request['id']}' depends on itself.")
        request["dependsOn"] = resolved
    return out


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
