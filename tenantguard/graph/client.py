"""``GraphClient``: Microsoft Graph over httpx with paging, batching, retries and pacing.

The HTTP transport is injected (``httpx.BaseTransport``): production uses the network, tests
and the embedded demo pass the emulator's transport. Time is injected the same way (``clock``)
so throttling and pacing are testable without waiting.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx

from tenantguard.graph.auth import TokenProvider
from tenantguard.graph.batch import (
    MAX_BATCH_SIZE,
    BatchRequest,
    BatchResponse,
    dependents_of,
    plan_chunks,
    validate_requests,
)
from tenantguard.graph.errors import (
    GraphError,
    GraphTransportError,
    OutcomeUnknownError,
    describe_target,
    error_from_response,
    outcome_unknown_error,
)
from tenantguard.graph.pacing import (
    WRITE_METHODS,
    RequestPacer,
    SlidingWindowPacer,
    WritePacer,
    reserve_together,
)
from tenantguard.graph.retry import (
    NOT_PROCESSED_STATUSES,
    RETRYABLE_STATUSES,
    UNCLEAR_STATUSES,
    Clock,
    RetryPolicy,
    SystemClock,
    parse_retry_after,
)

__all__ = ["GraphClient"]

logger = logging.getLogger("tenantguard.graph")

_VERSION_PREFIXES = ("/v1.0/", "/beta/")

#: Transport errors raised before the request left the client: nothing can have been applied.
_NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)

Params = Mapping[str, str | int | float | bool] | None


class GraphClient:
    """A Microsoft Graph client for one tenant (one token provider).

    Paths are relative to ``{graph_url}/{api_version}/``; a path starting with ``/v1.0/`` or
    ``/beta/`` picks that version; an absolute ``https://`` URL (a nextLink) is used verbatim.
    Safe to share between threads (httpx's client is).

    Every request waits for a slot in ``request_pacer`` (a ``$batch`` for each of its
    sub-requests) and every write also for one in ``pacer`` (the write pacer), both taken at the
    moment the request is sent; retries take new slots. Give the clients that talk to the same
    tenant with the same app one shared pair of pacers, since Intune's limits are per app per
    tenant; ``None`` gives this client its own.
    """

    def __init__(
        self,
        *,
        graph_url: str,
        token_provider: TokenProvider,
        api_version: str = "beta",
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        pacer: SlidingWindowPacer | None = None,
        request_pacer: SlidingWindowPacer | None = None,
        clock: Clock | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.graph_url = graph_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.retry = retry if retry is not None else RetryPolicy()
        # own pacers unless the caller shares them across clients of the same tenant
        self.pacer: SlidingWindowPacer = pacer if pacer is not None else WritePacer()
        self.request_pacer: SlidingWindowPacer = (
            request_pacer if request_pacer is not None else RequestPacer()
        )
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.request_count = 0
        self._count_lock = threading.Lock()
        self._token_provider = token_provider
        self._http = httpx.Client(transport=transport, timeout=timeout)

    def __repr__(self) -> str:
        return f"GraphClient(graph_url={self.graph_url!r}, api_version={self.api_version!r})"

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- public API -------------------------------------------------------------------------

    def get(self, path: str, *, params: Params = None) -> dict[str, Any]:
        body = self._json(self._send("GET", path, params=params))
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise GraphError(
                f"Graph answered GET {path} with JSON that is not an object", method="GET"
            )
        return body

    def iter_collection(self, path: str, *, params: Params = None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink`` verbatim until absent."""
        next_url: str | None = path
        page_params = params
        seen_links: set[str] = set()
        while next_url is not None:
            page = self.get(next_url, params=page_params)
            yield from page.get("value") or []
            link = page.get("@odata.nextLink")
            if not link:
                return
            if link in seen_links:
                raise GraphError(
                    f"Graph returned the same @odata.nextLink twice while listing {path}; "
                    "stopped paging to avoid an endless loop",
                    method="GET",
                    url=link,
                )
            seen_links.add(link)
            next_url, page_params = str(link), None

    def list_collection(self, path: str, *, params: Params = None) -> list[dict[str, Any]]:
        return list(self.iter_collection(path, params=params))

    def post(
        self, path: str, *, json: Any = None, idempotent: bool = False
    ) -> dict[str, Any] | None:
        """POST ``json``. A POST is taken to create something: it is sent again only when Graph
        cannot have processed it (429, a connection never made); after an unclear answer
        (502/503/504, a timeout or dropped connection) ``OutcomeUnknownError`` is raised.
        ``idempotent=True`` is for actions that may safely be repeated (``assign``, which
        replaces the whole list): they are retried like a GET."""
        response = self._send("POST", path, json=json, idempotent=idempotent)
        try:
            return self._json(response)
        except GraphError as exc:
            if idempotent:
                raise
            # Graph applied the create (2xx) but its answer cannot be read (truncated JSON, an
            # HTML page from a proxy): the new object's id is lost as surely as after a 504.
            raise outcome_unknown_error(
                method="POST",
                url=str(response.request.url),
                status=response.status_code,
                headers=response.headers,
                cause="unreadable answer",
            ) from exc

    def patch(self, path: str, *, json: Any = None) -> dict[str, Any] | None:
        return self._json(self._send("PATCH", path, json=json))

    def put(self, path: str, *, json: Any = None) -> dict[str, Any] | None:
        return self._json(self._send("PUT", path, json=json))

    def delete(self, path: str) -> None:
        self._send("DELETE", path)

    def batch(self, requests: Iterable[BatchRequest]) -> list[BatchResponse]:
        """Send through ``$batch`` (20 per POST); responses in input order.

        Sub-requests answered 429/503/504 are sent again in a later batch after the longest
        ``Retry-After`` among them, within the retry policy; when it runs out their response
        keeps the throttled status and ``raise_for_status()`` raises ``ThrottledError``.
        A non-idempotent sub-request (a POST not marked ``idempotent``) is sent again only
        after 429: after 502/503/504, or when the ``$batch`` carrying it got no clear answer,
        its response has ``outcome_unknown`` set (``status`` 0 when there was no answer) and
        ``raise_for_status()`` raises ``OutcomeUnknownError``.
        """
        requests = list(requests)
        validate_requests(requests)
        if not requests:
            return []
        results: dict[str, BatchResponse] = {}
        attempts: dict[str, int] = {}
        started = self.clock.monotonic()
        waited = 0.0
        # seconds each chunk waited for the pacers: not spent on retrying, left out of the budget
        paced: list[float] = []
        pending = requests
        round_number = 0
        while pending:
            round_number += 1
            for chunk in plan_chunks(
                pending,
                max_writes=self.pacer.limit,
                # a chunk must fit the request window at once: each sub-request counts
                max_size=min(MAX_BATCH_SIZE, self.request_pacer.limit),
            ):
                for response in self._send_batch_chunk_or_mark(chunk, paced=paced):
                    results[response.id] = response
                    attempts[response.id] = attempts.get(response.id, 0) + 1
            throttled = {r.id for r in pending if _may_resend(r, results[r.id])}
            if not throttled:
                break
            # a request that failed only because what it depends on was throttled goes again too
            blocked = {
                request_id
                for request_id in dependents_of(pending, throttled)
                if results[request_id].status == 424
            }
            retry_ids = throttled | blocked
            hints = [parse_retry_after(results[i].headers) for i in throttled]
            given = [hint for hint in hints if hint is not None]
            delay = max(given) if given else self.retry.backoff_delay(round_number)
            elapsed = self.clock.monotonic() - started - sum(paced)
            if not self.retry.allows_retry(
                attempts_made=round_number, elapsed=elapsed, delay=delay
            ):
                logger.warning(
                    "$batch: giving up on %d throttled sub-request(s) after %d attempt(s) "
                    "and %.1f s of waiting",
                    len(throttled),
                    round_number,
                    waited,
                )
                break
            logger.info(
                "$batch: %d sub-request(s) throttled, retrying them in %.1f s (attempt %d of %d)",
                len(retry_ids),
                delay,
                round_number + 1,
                self.retry.max_attempts,
            )
            self.clock.sleep(delay)
            waited += delay
            pending = [r for r in pending if r.id in retry_ids]
        by_id = {request.id: request for request in requests}
        for request_id, response in results.items():
            if not by_id[request_id].is_idempotent and response.status in UNCLEAR_STATUSES:
                response.outcome_unknown = True
            response.attempts = attempts[request_id]
            retried = attempts[request_id] > 1 or response.status in RETRYABLE_STATUSES
            response.waited_seconds = waited if retried else 0.0
        return [results[r.id] for r in requests]

    # -- internals --------------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        """The absolute URL a path resolves to (see the class docstring)."""
        if path.startswith(("https://", "http://")):
            return path
        if path.startswith(_VERSION_PREFIXES):
            return f"{self.graph_url}{path}"
        return f"{self.graph_url}/{self.api_version}/{path.lstrip('/')}"

    def _send_batch_chunk_or_mark(
        self, chunk: list[BatchRequest], *, paced: list[float] | None = None
    ) -> list[BatchResponse]:
        """Send one chunk; when the ``$batch`` carrying creates got no clear answer, its
        creates are marked ``outcome_unknown`` and its other sub-requests answered 503 so that
        they are sent again like throttled ones."""
        try:
            return self._send_batch_chunk(chunk, paced=paced)
        except OutcomeUnknownError as exc:
            logger.warning("$batch of %d sub-request(s): %s", len(chunk), exc)
            return [
                BatchResponse(
                    id=request.id,
                    status=(exc.status or 0) if not request.is_idempotent else 503,
                    method=request.method.upper(),
                    url=self.url_for(request.url),
                    outcome_unknown=not request.is_idempotent,
                )
                for request in chunk
            ]

    def _send_batch_chunk(
        self, chunk: list[BatchRequest], *, paced: list[float] | None = None
    ) -> list[BatchResponse]:
        sent_ids = {request.id for request in chunk}
        payload = {"requests": [request.to_json(sent_ids=sent_ids) for request in chunk]}
        writes = sum(1 for request in chunk if request.is_write)
        response = self._send(
            "POST",
            "$batch",
            json=payload,
            writes=writes,
            requests=len(chunk),
            paced=paced,
            # the $batch envelope may be sent again only when every part of it may
            idempotent=all(request.is_idempotent for request in chunk),
        )
        body = self._json(response) or {}
        answers = body.get("responses") if isinstance(body, dict) else None
        by_id: dict[str, Mapping[str, Any]] = {}
        for answer in answers or []:
            if isinstance(answer, Mapping) and "id" in answer:
                by_id[str(answer["id"])] = answer
        results = []
        for request in chunk:
            answer = by_id.get(request.id)
            if answer is None:
                raise GraphError(
                    f"Graph's $batch answer has no response for sub-request {request.id!r} "
                    f"({request.method.upper()} {request.url}); the batch outcome is unknown",
                    method="POST",
                    url=str(response.request.url),
                )
            raw_headers = answer.get("headers")
            headers = (
                {str(k): str(v) for k, v in raw_headers.items()}
                if isinstance(raw_headers, Mapping)
                else {}
            )
            results.append(
                BatchResponse(
                    id=request.id,
                    status=int(answer.get("status", 0)),
                    headers=headers,
                    body=answer.get("body"),
                    method=request.method.upper(),
                    url=self.url_for(request.url),
                )
            )
        return results

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise GraphError(
                f"Graph answered {describe_target(response.request.method, str(response.request.url))} "
                f"with {response.status_code} but the body is not JSON",
                status=response.status_code,
                method=response.request.method,
                url=str(response.request.url),
            ) from exc

    def _count_request(self) -> None:
        sent = _requests_sent.get()
        with self._count_lock:
            self.request_count += 1
        if sent is not None:
            # worker threads of one capture share the caller's counter (a copied context)
            with _requests_sent_lock:
                sent[0] += 1

    def _refresh_token(self) -> None:
        invalidate = getattr(self._token_provider, "invalidate", None)
        if callable(invalidate):
            invalidate()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Any = None,
        writes: int | None = None,
        requests: int = 1,
        paced: list[float] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send with retries, pacing and one token refresh; return a 2xx/3xx response or raise.

        ``idempotent`` (default: every method but POST) decides what may be sent again: see
        ``retry``'s module docstring. A non-idempotent request whose answer is unclear raises
        ``OutcomeUnknownError``.

        ``requests`` is how many requests this one counts for against the request pacer and
        ``writes`` how many against the write pacer (a ``$batch`` counts its sub-requests and
        its writing sub-requests); ``writes`` is by default 1 for POST/PUT/PATCH/DELETE, else 0.
        Every attempt, retries included, is paced; the seconds waited for the pacers are left
        out of the retry budget and, when ``paced`` is given, appended to it.
        """
        method = method.upper()
        url = self.url_for(path)
        target = describe_target(method, url)
        if writes is None:
            writes = 1 if method in WRITE_METHODS else 0
        if idempotent is None:
            idempotent = method != "POST"
        started = self.clock.monotonic()
        waited = 0.0
        # waiting for the pacers is not spent on retrying: the retry budget leaves it out
        paced_total = 0.0
        attempt = 0
        token_refreshed = False
        while True:
            attempt += 1
            client_request_id = str(uuid.uuid4())
            headers = {
                "Authorization": f"Bearer {self._token_provider.get_token()}",
                "client-request-id": client_request_id,
                "Accept": "application/json",
            }
            # slots are reserved now and stamped when the answer is in (see pacing's docstring)
            waited_for_pacers, slots = reserve_together(
                self.clock, [(self.request_pacer, requests), (self.pacer, writes)]
            )
            if waited_for_pacers > 0.0:
                paced_total += waited_for_pacers
                if paced is not None:
                    paced.append(waited_for_pacers)
                logger.debug(
                    "%s: paced %.3f s to stay under the request/write limits "
                    "(client-request-id=%s, %d request(s), %d write(s))",
                    target,
                    waited_for_pacers,
                    client_request_id,
                    requests,
                    writes,
                )
            sent_at = self.clock.monotonic()
            try:
                self._count_request()
                response = self._http.request(
                    method, url, params=params, json=json, headers=headers
                )
            except httpx.TransportError as exc:
                slots.release()
                elapsed = self.clock.monotonic() - sent_at
                logger.info(
                    "%s -> transport error %s (client-request-id=%s, %.3f s)",
                    target,
                    type(exc).__name__,
                    client_request_id,
                    elapsed,
                )
                never_sent = isinstance(exc, _NOT_SENT_ERRORS)
                if not idempotent and not never_sent:
                    # It may have reached Graph and been applied: never send it again blindly.
                    raise outcome_unknown_error(
                        method=method, url=url, cause=type(exc).__name__
                    ) from exc
                delay = self.retry.backoff_delay(attempt)
                if self.retry.allows_retry(
                    attempts_made=attempt,
                    elapsed=self.clock.monotonic() - started - paced_total,
                    delay=delay,
                ):
                    self.clock.sleep(delay)
                    waited += delay
                    continue
                tried = f" after {attempt} attempts" if attempt > 1 else ""
                raise GraphTransportError(
                    f"Could not reach Graph for {target}{tried}: {type(exc).__name__}: {exc}. "
                    "Check network access to the Graph endpoint (proxy, firewall, DNS) and "
                    "retry.",
                    method=method,
                    url=url,
                ) from exc
            except BaseException:
                slots.release()
                raise
            slots.release()

            status = response.status_code
            request_id = response.headers.get("request-id") or response.headers.get(
                "client-request-id"
            )
            logger.debug(
                "%s -> %d (request-id=%s, client-request-id=%s, %.3f s)",
                target,
                status,
                request_id,
                client_request_id,
                self.clock.monotonic() - sent_at,
            )
            if status < 400:
                return response

            if status == 401 and not token_refreshed:
                # the token may have expired or been revoked since it was cached
                logger.info("%s -> 401: refreshing the access token and retrying once", target)
                token_refreshed = True
                self._refresh_token()
                attempt -= 1
                continue

            if not idempotent and status in UNCLEAR_STATUSES:
                logger.info("%s -> %d: outcome unknown, not sent again", target, status)
                raise outcome_unknown_error(
                    method=method,
                    url=url,
                    status=status,
                    headers=response.headers,
                    body=response.content,
                )

            retry_after_beyond_budget = None
            if status in RETRYABLE_STATUSES:
                retry_after = parse_retry_after(response.headers)
                delay = self.retry.delay_for(attempt=attempt, retry_after=retry_after)
                if self.retry.allows_retry(
                    attempts_made=attempt,
                    elapsed=self.clock.monotonic() - started - paced_total,
                    delay=delay,
                ):
                    logger.info(
                        "%s -> %d: retrying in %.1f s (%s, attempt %d of %d)",
                        target,
                        status,
                        delay,
                        "Retry-After" if retry_after is not None else "back-off",
                        attempt + 1,
                        self.retry.max_attempts,
                    )
                    self.clock.sleep(delay)
                    waited += delay
                    continue
                if attempt < self.retry.max_attempts:
                    # attempts were left: the wait Graph asked for is what did not fit
                    retry_after_beyond_budget = retry_after

            raise error_from_response(
                status=status,
                body=response.content,
                headers=response.headers,
                method=method,
                url=url,
                attempts=attempt,
                waited_seconds=waited,
                retry_after=retry_after_beyond_budget,
            )


def _may_resend(request: BatchRequest, response: BatchResponse) -> bool:
    """Whether a sub-request's answer lets it be sent again in the next round."""
    if response.status not in RETRYABLE_STATUSES:
        return False
    return request.is_idempotent or response.status in NOT_PROCESSED_STATUSES


#: Graph requests sent in the current context, by any client (see ``graph_requests_counted``).
_requests_sent: ContextVar[list[int] | None] = ContextVar("graph_requests_sent", default=None)
_requests_sent_lock = threading.Lock()


@contextmanager
def graph_requests_counted() -> Iterator[list[int]]:
    """Count the Graph requests any client sends inside the block (``counted[0]``): whether an
    action reached the live tenant, whatever happened after (the rate limiter asks)."""
    counted = [0]
    token = _requests_sent.set(counted)
    try:
        yield counted
    finally:
        _requests_sent.reset(token)
