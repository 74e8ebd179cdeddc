"""JSON batching (``POST $batch``): request and response types and how requests are grouped.

Graph takes at most 20 sub-requests per ``$batch``; ``dependsOn`` may only name requests of the
same batch, so requests linked by ``depends_on`` are kept in one chunk. Sending is done by
``GraphClient.batch``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenantguard.graph.errors import error_from_response, outcome_unknown_error
from tenantguard.graph.pacing import WRITE_METHODS

__all__ = ["MAX_BATCH_SIZE", "BatchRequest", "BatchResponse"]

MAX_BATCH_SIZE = 20


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One sub-request; ``url`` is relative to the batch's API version (``/deviceManagement/…``).

    ``idempotent`` (default: every method but POST) says whether it may be sent again after an
    unclear answer; a POST that creates must not be (see ``GraphClient.post``)."""

    id: str
    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] | None = None
    depends_on: Sequence[str] | None = None
    idempotent: bool | None = None

    @property
    def is_write(self) -> bool:
        return self.method.upper() in WRITE_METHODS

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() != "POST"

    def to_json(self, *, sent_ids: set[str]) -> dict[str, Any]:
        """The sub-request as Graph expects it; ``dependsOn`` keeps only ids sent alongside."""
        payload: dict[str, Any] = {"id": self.id, "method": self.method.upper(), "url": self.url}
        headers = dict(self.headers or {})
        if self.body is not None:
            payload["body"] = self.body
            if not any(key.lower() == "content-type" for key in headers):
                headers["Content-Type"] = "application/json"
        if headers:
            payload["headers"] = headers
        depends_on = [dep for dep in (self.depends_on or ()) if dep in sent_ids]
        if depends_on:
            payload["dependsOn"] = depends_on
        return payload


@dataclass(slots=True)
class BatchResponse:
    """One sub-response. ``raise_for_status()`` raises what a direct call would have raised.

    ``attempts`` and ``waited_seconds`` tell how often the sub-request was sent and how long
    the client waited for throttling before giving up on it (they shape ``ThrottledError``).
    ``outcome_unknown``: a non-idempotent sub-request got no clear answer (502/503/504, or the
    ``$batch`` itself got none: ``status`` 0); it may have been applied and
    ``raise_for_status()`` raises ``OutcomeUnknownError``.
    """

    id: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    method: str = ""
    url: str = ""
    attempts: int = 1
    waited_seconds: float = 0.0
    outcome_unknown: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def raise_for_status(self) -> None:
        if self.ok:
            return
        if self.outcome_unknown:
            raise outcome_unknown_error(
                method=self.method or "POST",
                url=self.url,
                status=self.status or None,
                headers=self.headers,
                body=self.body,
                cause="the $batch carrying it got no answer",
            )
        raise error_from_response(
            status=self.status,
            body=self.body,
            headers=self.headers,
            method=self.method or None,
            url=self.url or None,
            attempts=self.attempts,
            waited_seconds=self.waited_seconds,
        )


def validate_requests(requests: Sequence[BatchRequest]) -> None:
    """Reject what Graph would answer 400 for, with a message naming the culprit."""
    seen: set[str] = set()
    for request in requests:
        if request.id in seen:
            raise ValueError(f"batch request id {request.id!r} is used twice; ids must be unique")
        seen.add(request.id)
    for request in requests:
        for dependency in request.depends_on or ():
            if dependency not in seen:
                raise ValueError(
                    f"batch request {request.id!r} depends on {dependency!r}, "
                    "which is not in the batch"
                )


def _dependency_groups(requests: Sequence[BatchRequest]) -> list[list[BatchRequest]]:
    """Requests linked through ``depends_on`` (either way), in input order."""
    index = {request.id: position for position, request in enumerate(requests)}
    parent = list(range(len(requests)))

    def root(position: int) -> int:
        while parent[position] != position:
            parent[position] = parent[parent[position]]
            position = parent[position]
        return position

    for position, request in enumerate(requests):
        for dependency in request.depends_on or ():
            if dependency in index:
                parent[root(position)] = root(index[dependency])
    groups: dict[int, list[BatchRequest]] = {}
    for position, request in enumerate(requests):
        groups.setdefault(root(position), []).append(request)
    return sorted(groups.values(), key=lambda group: index[group[0].id])


def plan_chunks(
    requests: Sequence[BatchRequest], *, max_writes: int, max_size: int = MAX_BATCH_SIZE
) -> list[list[BatchRequest]]:
    """Split into chunks of at most ``max_size`` requests and ``max_writes`` writes.

    Dependency groups are never split; a group that cannot fit one chunk is an error.
    """
    chunks: list[list[BatchRequest]] = []
    current: list[BatchRequest] = []
    current_writes = 0
    for group in _dependency_groups(requests):
        group_writes = sum(1 for request in group if request.is_write)
        if len(group) > max_size or group_writes > max_writes:
            raise ValueError(
                f"batch requests {[r.id for r in group]} depend on each other but do not fit "
                f"in one $batch (at most {max_size} requests and {max_writes} writes)"
            )
        if current and (
            len(current) + len(group) > max_size or current_writes + group_writes > max_writes
        ):
            chunks.append(current)
            current, current_writes = [], 0
        current.extend(group)
        current_writes += group_writes
    if current:
        chunks.append(current)
    return chunks


def dependents_of(requests: Iterable[BatchRequest], failed_ids: set[str]) -> set[str]:
    """Ids of requests that (transitively) depend on any of ``failed_ids``."""
    requests = list(requests)
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for request in requests:
            if request.id in found or request.id in failed_ids:
                continue
            if any(dep in failed_ids or dep in found for dep in request.depends_on or ()):
                found.add(request.id)
                changed = True
    return found
