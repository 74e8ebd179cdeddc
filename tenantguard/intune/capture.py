"""Read a tenant's Intune configuration: ``iter_capture`` yields one ``CapturedItem`` per object
and a ``CaptureWarning`` for whatever could not be read.

How many requests a capture costs: each Graph collection is listed once (with ``$expand`` where
the registry says it works; collections shared by several types are listed once and each object
classified), and everything fetched per item (settings, script content, OMA-URI secrets,
definition values, ...) goes through ``$batch`` in chunks of 20, continuation pages included.
Nothing is dropped silently: a type that cannot be read yields a warning naming the missing
permission, and an item whose per-item read fails is still captured with a warning saying what
is missing.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlencode

from tenantguard.graph import (
    BadRequestError,
    BatchRequest,
    GraphClient,
    GraphError,
    NotFoundError,
    PermissionDeniedError,
)
from tenantguard.graph.pacing import SlidingWindowPacer
from tenantguard.graph.retry import Clock, SystemClock
from tenantguard.graph.workers import DEFAULT_REQUEST_WORKERS, RequestWorkers
from tenantguard.intune import nested, registry
from tenantguard.intune.normalize import (
    encrypted_oma_settings,
    group_refs,
    strip_annotations,
    strip_annotations_in_place,
    values_at,
)
from tenantguard.intune.registry import PerItemFetch, PolicyType

logger = logging.getLogger("tenantguard.intune")

BATCH_CHUNK: Final = 20

#: Listed objects a capture holds at most, waiting for their per-item reads or to be yielded
#: (besides the page just read): its memory does not grow with the tenant.
CAPTURE_LOOKAHEAD: Final = 400

#: Shortest wait for the request pacer to have room (seconds): no busy loop at window edges.
_ROOM_POLL_MIN: Final = 0.002

#: ``@odata.type`` values a listing remembers the type of (Graph has a few per collection).
_CLASSIFIED_MAX: Final = 256

#: Item warning code when an encrypted OMA-URI value could not be read.
SECRET_VALUE_MISSING: Final = "secret_value_missing"


@dataclass
class CapturedItem:
    """One object as read from the tenant (see docs/architecture.md §3)."""

    type_key: str
    source_id: str
    display_name: str
    platform: str
    #: The object as read: annotations except ``@odata.type`` removed, per-item fetches
    #: merged in, ``assignments`` removed; encrypted OMA-URI values are ``None``.
    payload: dict[str, Any]
    #: ``[{"target": ..., + type-specific settings}]``; ``None`` when they could not be read.
    assignments: list[dict[str, Any]] | None
    scope_tag_ids: list[str]
    source_modified_at: str | None
    #: ``{"omaSettings[<omaUri>]": plaintext}``; encrypt at rest, never log.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)
    group_refs: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class CaptureWarning:
    """Something that could not be read. ``source_id=None``: the whole type."""

    type_key: str
    source_id: str | None
    message: str
    permission: str | None = None


@dataclass(frozen=True)
class CaptureProgress:
    """Passed to the ``progress`` callback: ``done_count`` objects of ``type_key`` captured so
    far (0 when a type starts); ``types_done`` of ``types_total`` selected types finished."""

    type_key: str
    done_count: int
    types_done: int
    types_total: int


ProgressCallback = Callable[[CaptureProgress], None]


# --------------------------------------------------------------------------------------------
# Per-item state and fetch jobs
# --------------------------------------------------------------------------------------------


@dataclass
class _Item:
    ptype: PolicyType
    raw: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    assignments_failed: bool = False

    @property
    def source_id(self) -> str:
        return str(self.raw.get("id") or "")


@dataclass
class _Job:
    """One per-item GET (plus its continuation pages)."""

    item: _Item
    fetch: PerItemFetch
    url: str
    secret_key: str | None = None
    values: list[Any] = field(default_factory=list)


def _describe_error(exc: GraphError, ptype: PolicyType) -> str:
    if isinstance(exc, PermissionDeniedError):
        return f"the app lacks {ptype.required_permission} ({exc})"
    return str(exc)


def _type_unreadable_message(ptype: PolicyType, exc: GraphError) -> str:
    if isinstance(exc, PermissionDeniedError):
        return (
            f"Could not read {ptype.label}: the app lacks {ptype.required_permission}. Grant "
            "this application permission to the app registration (with admin consent) and "
            f"capture again. Graph said: {exc}"
        )
    return f"Could not read {ptype.label}: {exc}"


def _query(params: Sequence[tuple[str, str]]) -> str:
    if not params:
        return ""
    return _encoded_query(tuple(params))


@functools.lru_cache(maxsize=256)
def _encoded_query(params: tuple[tuple[str, str], ...]) -> str:
    """``_query`` of the registry's fixed parameters, encoded once (per-item reads of every
    object of a type share them)."""
    return "?" + urlencode(list(params), quote_via=quote, safe="$,()")


def _odata_string(value: str) -> str:
    return value.replace("'", "''")


def _plan_jobs(item: _Item, *, secret_values: bool = True) -> list[_Job]:
    """The per-item reads of ``item``; without ``secret_values`` no OMA-URI secret value is
    read (nor warned about: the caller does not want them)."""
    ptype, raw = item.ptype, item.raw
    object_id = item.source_id
    if not object_id:
        return []
    base = "/" + ptype.item_path(quote(object_id, safe=""))
    jobs: list[_Job] = []
    for fetch in ptype.per_item_fetch:
        if fetch.kind == "omaSecrets":
            if not secret_values:
                continue
            for secret_key, setting in encrypted_oma_settings(raw):
                reference = setting.get("secretReferenceValueId")
                if not isinstance(reference, str) or not reference:
                    item.warnings.append(
                        f"{SECRET_VALUE_MISSING}: {secret_key} is encrypted but Graph gave no "
                        "secretReferenceValueId, so its value could not be read; a restore "
                        "needs the value entered again."
                    )
                    continue
                path = fetch.path.format(secretReferenceValueId=_odata_string(reference))
                jobs.append(_Job(item, fetch, f"{base}/{path}", secret_key=secret_key))
            continue
        if (
            fetch.only_if_missing
            and fetch.merge_into
            and isinstance(raw.get(fetch.merge_into), list)
        ):
            continue
        url = base if not fetch.path else f"{base}/{fetch.path}"
        jobs.append(_Job(item, fetch, url + _query(fetch.params)))
    return jobs


def _relative_batch_url(client: GraphClient, link: str) -> str | None:
    """A nextLink as a ``$batch`` sub-request URL, when it is under the batch's API version."""
    graph_url = str(getattr(client, "graph_url", "")).rstrip("/")
    version = str(getattr(client, "api_version", "beta")).strip("/")
    prefix = f"{graph_url}/{version}/"
    if graph_url and link.startswith(prefix):
        return "/" + link[len(prefix) :]
    return None


def _fail_job(job: _Job, exc: GraphError) -> None:
    item, fetch = job.item, job.fetch
    reason = _describe_error(exc, item.ptype)
    if fetch.kind == "omaSecrets":
        item.warnings.append(
            f"{SECRET_VALUE_MISSING}: the value of {job.secret_key} could not be read: {reason}"
        )
    elif fetch.kind == "assignments":
        item.assignments_failed = True
        item.warnings.append(f"assignments could not be read: {reason}")
    else:
        what = fetch.merge_into or ", ".join(fetch.merge_fields) or fetch.kind
        item.warnings.append(
            f"{what} could not be read: {reason}; the captured object is incomplete"
        )
        if fetch.merge_into:
            # Mark the gap explicitly rather than leaving a plausible-looking empty list.
            item.raw[fetch.merge_into] = None


def _complete_job(job: _Job) -> None:
    item, fetch = job.item, job.fetch
    if fetch.kind == "omaSecrets":
        return
    if fetch.merge_into:
        item.raw[fetch.merge_into] = job.values


def _apply_body(job: _Job, body: Any) -> str | None:
    """Take a successful response; return a continuation link to follow, if any."""
    item, fetch = job.item, job.fetch
    body = body if isinstance(body, Mapping) else {}
    if fetch.kind == "omaSecrets":
        value = body.get("value")
        if isinstance(value, str) and job.secret_key is not None:
            item.secrets[job.secret_key] = value
        else:
            item.warnings.append(
                f"{SECRET_VALUE_MISSING}: Graph returned no value for {job.secret_key}"
            )
        return None
    if not fetch.is_collection:
        for name in fetch.merge_fields:
            if name in body:
                item.raw[name] = body[name]
        return None
    job.values.extend(body.get("value") or [])
    link = body.get("@odata.nextLink")
    return str(link) if link else None


def _run_jobs(client: GraphClient, jobs: list[_Job]) -> None:
    """Run every job through ``$batch`` (chunks of 20), following continuation pages."""
    pending = [(job, job.url) for job in jobs]
    while pending:
        follow: list[tuple[_Job, str]] = []
        for start in range(0, len(pending), BATCH_CHUNK):
            chunk = pending[start : start + BATCH_CHUNK]
            requests = [
                BatchRequest(id=str(index), method="GET", url=url)
                for index, (_, url) in enumerate(chunk)
            ]
            try:
                responses = client.batch(requests)
            except GraphError as exc:
                for job, _ in chunk:
                    _fail_job(job, exc)
                continue
            for (job, _), response in zip(chunk, responses, strict=True):
                if not response.ok:
                    try:
                        response.raise_for_status()
                    except GraphError as exc:
                        _fail_job(job, exc)
                    continue
                link = _apply_body(job, response.body)
                if link is None:
                    _complete_job(job)
                    continue
                relative = _relative_batch_url(client, link)
                if relative is not None:
                    follow.append((job, relative))
                else:
                    _follow_directly(client, job, link)
        pending = follow


def _follow_directly(client: GraphClient, job: _Job, link: str) -> None:
    try:
        job.values.extend(client.iter_collection(link))
    except GraphError as exc:
        _fail_job(job, exc)
        return
    _complete_job(job)


# --------------------------------------------------------------------------------------------
# Building the captured item
# --------------------------------------------------------------------------------------------


def _clean_assignments(value: Any) -> list[dict[str, Any]]:
    """The assignment objects of a payload ``_build_item`` already stripped of annotations."""
    return [
        entry if type(entry) is dict else strip_annotations(entry)
        for entry in value
        if isinstance(entry, Mapping)
    ]


def _payload_group_refs(ptype: PolicyType, payload: Mapping[str, Any]) -> set[str]:
    """Groups the object names outside its assignments (``foundation_refs`` of kind
    ``group``, e.g. Apple enrollment profiles' ``enrollmentTimeAzureAdGroupIds``)."""
    found: set[str] = set()
    for ref in ptype.foundation_refs:
        if ref.foundation == "group" and not ref.in_assignments:
            found |= {str(v) for v in values_at(payload, ref.path) if isinstance(v, str) and v}
    return found


def _build_item(item: _Item) -> CapturedItem:
    ptype = item.ptype
    parent: dict[str, Any] = {  # a nested object's parent (annotations, kept)
        key: item.raw[key]
        for key in (nested.PARENT_ID_KEY, nested.PARENT_NAME_KEY)
        if key in item.raw
    }
    # item.raw is this capture's own decoded response: stripped where it is, not copied (the
    # payload is the raw object from here on; build each _Item once).
    payload: dict[str, Any] = strip_annotations_in_place(item.raw)
    for key in ptype.never_stored_fields:  # secrets a backup never holds
        payload.pop(key, None)
    payload.update(parent)
    raw_assignments = payload.pop("assignments", None)
    assignments: list[dict[str, Any]] | None
    if item.assignments_failed:
        assignments = None
    elif isinstance(raw_assignments, list):
        assignments = _clean_assignments(raw_assignments)
    elif ptype.assign is None and not registry.is_unsupported(ptype):
        assignments = []
    elif registry.is_unsupported(ptype):
        assignments = None
    else:
        assignments = None
        item.warnings.append("assignments could not be read: Graph did not return them")
    if ptype.has_oma_secrets:
        for _, setting in encrypted_oma_settings(payload):
            setting["value"] = None
    return CapturedItem(
        type_key=ptype.key,
        source_id=item.source_id,
        display_name=(
            ptype.singleton.display_name
            if ptype.singleton is not None
            else registry.display_name_of(ptype, payload)
        ),
        platform=registry.platform_of(ptype, payload),
        payload=payload,
        assignments=assignments,
        scope_tag_ids=registry.scope_tag_ids_of(ptype, payload),
        source_modified_at=registry.modified_at_of(ptype, payload),
        secrets=item.secrets,
        warnings=item.warnings,
        group_refs=group_refs(assignments) | _payload_group_refs(ptype, payload),
    )


# --------------------------------------------------------------------------------------------
# The capture
# --------------------------------------------------------------------------------------------


def _selected_types(type_keys: Iterable[str] | None) -> tuple[list[PolicyType], bool]:
    """The types to capture in registry order, and whether unsupported objects are wanted."""
    if type_keys is None:
        return registry.all_types(), True
    wanted = set(type_keys)
    for key in wanted:
        registry.get(key)  # KeyError naming the known types
    include_unsupported = registry.UNSUPPORTED.key in wanted
    return [ptype for ptype in registry.all_types() if ptype.key in wanted], include_unsupported


def _singleton_object(ptype: PolicyType, body: Mapping[str, Any]) -> dict[str, Any]:
    """A singleton as read (one object per tenant), under its fixed ``source_id``."""
    assert ptype.singleton is not None
    obj = {key: value for key, value in body.items() if key != "@odata.context"}
    obj["id"] = ptype.singleton.source_id
    return obj


def _read_page(client: GraphClient, url: str, params: Mapping[str, str] | None) -> _Page:
    """One page of a collection (``url`` is a nextLink after the first page, taken verbatim).

    The first page falls back to a plain listing when Graph rejects its ``$expand`` (some
    tenants do): the per-item fetches then read what the expand would have brought."""
    try:
        body = client.get(url, params=params or None)
    except BadRequestError as exc:
        if not params or "$expand" not in params:
            return _Page(error=exc)
        logger.info("Listing %s with %s failed (%s); listing without it", url, params, exc)
        try:
            body = client.get(url)
        except GraphError as plain_exc:
            return _Page(error=plain_exc)
    except GraphError as exc:
        return _Page(error=exc)
    link = body.get("@odata.nextLink")
    return _Page(objects=list(body.get("value") or []), next_link=str(link) if link else None)


def _read_whole(client: GraphClient, first: PolicyType, params: Mapping[str, str]) -> _Page:
    """A singleton, or a nested type under every parent: read at once, as one page."""
    path = f"/{first.api_version}/{first.collection}"
    try:
        if first.singleton is not None:
            try:
                return _Page(objects=[_singleton_object(first, client.get(path))])
            except NotFoundError:
                return _Page()  # an entity singleton the tenant has none of (no APNs certificate)
        return _Page(objects=list(nested.list_nested(client, first, params or None)))
    except GraphError as exc:
        return _Page(error=exc)


@dataclass
class _Page:
    objects: list[Any] = field(default_factory=list)
    next_link: str | None = None
    error: GraphError | None = None


@dataclass
class _Unit:
    """Listed items whose per-item reads go out together (one ``$batch`` of at most
    ``BATCH_CHUNK`` sub-requests, unless one item alone needs more) and that are yielded
    together once those reads are done."""

    items: list[_Item]
    jobs: list[_Job]
    done: Future[None] | None = None


@dataclass
class _Listing:
    """One collection being read (the types that share it), in the capture's order."""

    ptypes: list[PolicyType]
    params: dict[str, str]
    next_url: str | None
    page: Future[_Page] | None = None
    seen_links: set[str] = field(default_factory=set)
    units: deque[_Unit] = field(default_factory=deque)
    unsent: deque[_Unit] = field(default_factory=deque)
    listed: int = 0
    error: GraphError | None = None
    #: ``classify``'s answers by ``@odata.type``, kept when ``remembers_types``: no type of
    #: the collection has a discriminator (None: not known before the first object)
    classified: dict[str, PolicyType] | None = None
    remembers_types: bool | None = None

    @property
    def first(self) -> PolicyType:
        return self.ptypes[0]

    def classify(self, obj: dict[str, Any]) -> PolicyType:
        """``registry.classify`` for an object of this collection, remembered per
        ``@odata.type`` value when no type of the collection looks at anything else (a
        discriminator): the same answer for every object of that value, found once."""
        collection = self.first.collection
        if self.remembers_types is None:
            candidates = registry.types_for_collection(collection)
            self.remembers_types = all(ptype.discriminator is None for ptype in candidates)
            self.classified = {}
        odata_type = obj.get("@odata.type")
        if not self.remembers_types or type(odata_type) is not str or self.classified is None:
            return registry.classify(collection, obj)
        found = self.classified.get(odata_type)
        if found is None:
            found = registry.classify(collection, obj)
            if len(self.classified) < _CLASSIFIED_MAX:
                self.classified[odata_type] = found
        return found

    @property
    def finished_listing(self) -> bool:
        return self.next_url is None and self.page is None


class _Capture:
    """The capture's schedule: which requests to send next (at most ``workers`` at once, the
    earliest collection first) and which items are ready to be yielded, in a fixed order.

    Everything but the requests runs in the caller's thread: classifying objects, planning the
    per-item reads, building the items. A worker only sends requests and fills in the items of
    its own unit, which nothing else touches until its future is done.
    """

    def __init__(
        self,
        client: GraphClient,
        workers: RequestWorkers,
        groups: Iterable[list[PolicyType]],
        *,
        wanted: Callable[[PolicyType], bool],
        lookahead: int,
        secret_values: bool = True,
    ) -> None:
        self.client = client
        self.workers = workers
        self.wanted = wanted
        self.lookahead = lookahead
        self.secret_values = secret_values
        self.listings = [
            _Listing(
                ptypes=ptypes,
                params=ptypes[0].list_params.as_params(),
                next_url=f"/{ptypes[0].api_version}/{ptypes[0].collection}",
            )
            for ptypes in groups
        ]
        self.head = 0
        # what runs: the listing whose page it reads (None: per-item reads), and its cost in
        # requests as the request pacer counts them
        self.running: dict[Future[Any], tuple[_Listing | None, int]] = {}
        self.buffered = 0
        # the cost of the next request to send when the pacer had no room for it (0: none)
        self.blocked_cost = 0

    # -- sending ------------------------------------------------------------------------------

    def send_more(self) -> None:
        """Start requests while a worker is free, in the capture's order: for each collection
        its next page (the critical path), then its per-item reads.

        A request is started only when the request pacer has room for it now (unless nothing
        else runs): one that had to wait in the pacer could be overtaken by later ones, and
        the items after it would wait a whole window to be yielded."""
        self._reap()
        self.blocked_cost = 0
        for listing in self.listings[self.head :]:
            if listing.next_url is not None and listing.page is None and self._may_list(listing):
                if not self._room_for(1):
                    return
                self._read_next_page(listing)
            while listing.unsent:
                cost = min(len(listing.unsent[0].jobs), BATCH_CHUNK)
                if not self._room_for(cost):
                    return
                unit = listing.unsent.popleft()
                unit.done = self.workers.submit(_run_jobs, self.client, unit.jobs)
                self.running[unit.done] = (None, cost)

    def _room_for(self, cost: int) -> bool:
        if len(self.running) >= self.workers.size:
            return False
        pacer, clock = self._pacer()
        if pacer is None or clock is None or not self.running:
            return True
        if pacer.in_window(clock) + self._not_reserved(pacer) + cost <= pacer.limit:
            return True
        self.blocked_cost = cost
        return False

    def _not_reserved(self, pacer: SlidingWindowPacer) -> int:
        """Requests started here that may not have reserved their pacer slots yet (what runs,
        less what the pacer has in flight: those are in its window already)."""
        started = sum(started_cost for _, started_cost in self.running.values())
        return max(0, started - pacer.in_flight())

    def _pacer(self) -> tuple[SlidingWindowPacer | None, Clock | None]:
        pacer = getattr(self.client, "request_pacer", None)
        clock = getattr(self.client, "clock", None)
        return (pacer if isinstance(pacer, SlidingWindowPacer) else None), clock

    def bursting(self) -> bool:
        """Whether the caller should wait while requests go out: the request pacer has plenty
        of room (a tenth of its window, at least one ``$batch``) and there is more to send. A
        fresh window's requests then leave as fast as they can (building items in the caller's
        thread would share the interpreter with the workers and spread them out), and the
        caller catches up while the pacer waits; the lookahead bounds what piles up meanwhile.
        While slots free up a few at a time, the caller's work overlaps the waiting instead."""
        if not self.running or not self._more_to_send():
            return False
        pacer, clock = self._pacer()
        if pacer is None or clock is None:
            return False
        room = max(BATCH_CHUNK, pacer.limit // 10)
        return pacer.in_window(clock) + room <= pacer.limit

    def _more_to_send(self) -> bool:
        for listing in self.listings[self.head :]:
            if listing.unsent:
                return True
            if listing.next_url is not None and listing.page is None and self._may_list(listing):
                return True
        return False

    def _may_list(self, listing: _Listing) -> bool:
        # bounded memory: no more than ``lookahead`` listed objects waiting to be yielded, but
        # the collection being yielded may always read on when it has nothing left to yield
        if self.buffered < self.lookahead:
            return True
        return listing is self.listings[self.head] and not listing.units

    def _read_next_page(self, listing: _Listing) -> None:
        url, listing.next_url = listing.next_url, None
        assert url is not None
        first = listing.first
        if first.singleton is not None or first.parent is not None:
            future = self.workers.submit(_read_whole, self.client, first, listing.params)
        else:
            params = listing.params if not listing.seen_links else None
            future = self.workers.submit(_read_page, self.client, url, params)
        listing.page = future
        self.running[future] = (listing, 1)

    # -- receiving ----------------------------------------------------------------------------

    def wait(self) -> None:
        """Wait until a request finishes, or until the request pacer has room for the next
        request to send (a worker being free): at Intune's limits slots free up one by one as
        the previous window's answers age, and the next request goes out then, not only once
        another answer came. Take in the pages that came."""
        if not self.running:  # pragma: no cover - the schedule always has something running
            raise RuntimeError("capture schedule stalled: nothing running, nothing ready")
        futures_wait(list(self.running), timeout=self._until_room(), return_when=FIRST_COMPLETED)
        self._reap()

    def _until_room(self) -> float | None:
        """Seconds until the pacer has room for the blocked request (None: wait for an answer).
        Only on the real clock: a test's fake clock does not advance while threads wait."""
        pacer, clock = self._pacer()
        if (
            not self.blocked_cost
            or pacer is None
            or not isinstance(clock, SystemClock)
            or len(self.running) >= self.workers.size
        ):
            return None
        count = self._not_reserved(pacer) + self.blocked_cost
        if count > pacer.limit:
            return None
        delay = pacer.seconds_until_room(clock, count)
        return None if delay >= pacer.per_seconds else max(delay, _ROOM_POLL_MIN)

    def _reap(self) -> None:
        for future in [future for future in self.running if future.done()]:
            listing, _ = self.running.pop(future)
            if listing is not None:
                listing.page = None
                self._take_page(listing, future.result())

    def _take_page(self, listing: _Listing, page: _Page) -> None:
        if page.error is not None:
            listing.error = page.error
        elif page.next_link is not None:
            if page.next_link in listing.seen_links:
                listing.error = GraphError(
                    f"Graph returned the same @odata.nextLink twice while listing "
                    f"{listing.first.collection}; stopped paging to avoid an endless loop",
                    method="GET",
                    url=page.next_link,
                )
            else:
                listing.seen_links.add(page.next_link)
                listing.next_url = page.next_link
        listing.listed += len(page.objects)
        items: list[_Item] = []
        for obj in page.objects:
            if not isinstance(obj, dict):
                continue
            ptype = listing.classify(obj)
            if self.wanted(ptype):
                items.append(_Item(ptype, obj))
        # within a page, the types of a shared collection one after the other (registry order)
        order = {ptype.key: index for index, ptype in enumerate(listing.ptypes)}
        items.sort(key=lambda item: order.get(item.ptype.key, len(order)))
        for unit in _units_of(items, secret_values=self.secret_values):
            listing.units.append(unit)
            if unit.jobs:
                listing.unsent.append(unit)
        self.buffered += len(items)

    # -- yielding ---------------------------------------------------------------------------

    def ready_unit(self, listing: _Listing) -> _Unit | None:
        """The collection's next unit when its reads are done (errors raised by a worker that
        are not Graph's surface here)."""
        if not listing.units:
            return None
        unit = listing.units[0]
        if unit.jobs and (unit.done is None or not unit.done.done()):
            return None
        listing.units.popleft()
        if unit.done is not None:
            self.running.pop(unit.done, None)
            unit.done.result()
        self.buffered -= len(unit.items)
        return unit


def _units_of(items: list[_Item], *, secret_values: bool = True) -> Iterator[_Unit]:
    """Consecutive items packed so that each unit's reads fill one ``$batch``."""
    unit = _Unit(items=[], jobs=[])
    for item in items:
        jobs = _plan_jobs(item, secret_values=secret_values)
        if unit.jobs and len(unit.jobs) + len(jobs) > BATCH_CHUNK:
            yield unit
            unit = _Unit(items=[], jobs=[])
        unit.items.append(item)
        unit.jobs.extend(jobs)
    if unit.items:
        yield unit


def iter_capture(
    client: GraphClient,
    *,
    type_keys: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    secret_values: bool = True,
) -> Iterator[CapturedItem | CaptureWarning]:
    """Capture the selected types (default: all, unsupported objects included), foundations
    first.

    Collections are read one after the other: foundations, then those a listing reads alone,
    then those that need reads per object, each group in registry order. A collection shared
    by several types yields its objects page by page, each page's objects by type in registry
    order and otherwise in Graph's order. The order is the same whenever the tenant is. A
    collection whose listing failed yields its warnings after its objects. ``progress`` is
    called when a collection starts and, for each of its types, when it is done.

    ``workers`` requests are kept in flight at once (default ``DEFAULT_REQUEST_WORKERS``;
    ``1`` sends one after another from the calling thread): listing pages of the next
    collections and ``$batch`` chunks of per-item reads, as far as the client's pacers allow,
    while the caller works on what was yielded. At most about ``CAPTURE_LOOKAHEAD`` listed
    objects wait to be yielded, so memory does not grow with the tenant.

    ``type_keys`` may include ``"unsupported"`` to keep objects no type claims. Needs a client
    whose default API version is ``beta`` (per-item reads go through its ``$batch``).
    ``secret_values=False`` skips the reads of OMA-URI secret values (a restore's checks and
    preview never look at the target's; a backup and the pre-restore snapshot keep them).
    """
    selected, include_unsupported = _selected_types(type_keys)
    selected_keys = {ptype.key for ptype in selected}
    groups: dict[tuple[str, str], list[PolicyType]] = {}
    for ptype in selected:
        groups.setdefault((ptype.api_version, ptype.collection), []).append(ptype)
    types_total = len(selected)
    types_done = 0

    def wanted(ptype: PolicyType) -> bool:
        return ptype.key in selected_keys or (
            include_unsupported and registry.is_unsupported(ptype)
        )

    def report(type_key: str, done: int) -> None:
        if progress is not None:
            progress(CaptureProgress(type_key, done, types_done, types_total))

    with RequestWorkers(DEFAULT_REQUEST_WORKERS if workers is None else workers) as pool:
        schedule = _Capture(
            client,
            pool,
            _in_capture_order(groups.values()),
            wanted=wanted,
            lookahead=CAPTURE_LOOKAHEAD,
            secret_values=secret_values,
        )
        for index, listing in enumerate(schedule.listings):
            schedule.head = index
            report(listing.first.key, 0)
            done: Counter[str] = Counter()
            while True:
                schedule.send_more()
                unit = None if schedule.bursting() else schedule.ready_unit(listing)
                if unit is not None:
                    for item in unit.items:
                        captured = _build_item(item)
                        done[captured.type_key] += 1
                        yield captured
                    continue
                if listing.finished_listing and not listing.units:
                    break
                schedule.wait()
            if listing.error is not None:
                yield from _listing_warnings(listing)
            for type_key in [ptype.key for ptype in listing.ptypes]:
                if type_key in selected_keys:
                    types_done += 1
                    report(type_key, done[type_key])


def _expanded(ptype: PolicyType) -> set[str]:
    """Navigation properties the listing expands (top-level names of ``$expand``)."""
    names: set[str] = set()
    depth = 0
    current = ""
    for char in ptype.list_params.expand or "":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            names.add(current.strip())
            current = ""
            continue
        if depth == 0 and char != ")":
            current += char
    names.add(current.strip())
    return {name for name in names if name}


def _reads_each_object(ptypes: list[PolicyType]) -> bool:
    """Whether objects of the collection need per-item reads besides the listing (OMA-URI
    secrets aside: only encrypted settings have them)."""
    for ptype in ptypes:
        expanded = _expanded(ptype)
        for fetch in ptype.per_item_fetch:
            if fetch.kind == "omaSecrets":
                continue
            if fetch.only_if_missing and fetch.merge_into in expanded:
                continue
            return True
    return False


def _in_capture_order(groups: Iterable[list[PolicyType]]) -> list[list[PolicyType]]:
    """Foundations first, then the collections read by listing alone, then those that need
    reads per object, each in registry order. At Intune's limits the last window of requests
    then carries per-object reads (about one object each) rather than listing pages (up to a
    hundred each), so little is left to build and store after the last answer."""
    return sorted(
        groups,
        key=lambda ptypes: (not ptypes[0].is_foundation, _reads_each_object(ptypes)),
    )


def _listing_warnings(listing: _Listing) -> Iterator[CaptureWarning]:
    error = listing.error
    assert error is not None
    for ptype in listing.ptypes:
        if listing.listed:
            message = (
                f"Listing {ptype.label} stopped after {listing.listed} object(s) of "
                f"{ptype.collection}; objects after that are missing from this backup: "
                f"{_describe_error(error, ptype)}"
            )
        else:
            message = _type_unreadable_message(ptype, error)
        permission = ptype.required_permission if isinstance(error, PermissionDeniedError) else None
        yield CaptureWarning(ptype.key, None, message, permission=permission)


def capture_item(client: GraphClient, *, type_key: str, object_id: str) -> CapturedItem | None:
    """One object read exactly as ``iter_capture`` reads it (same ``$expand`` as the listing,
    same per-item fetches), so its normalized form compares with a backup item's.

    The object is classified by what Graph returns, so the result's ``type_key`` may differ
    from ``type_key`` when the object belongs to a sibling type of the same collection.
    ``None`` when the object does not exist (404); other Graph errors are raised.
    """
    ptype = registry.get(type_key)
    if not ptype.collection:
        raise ValueError(f"{ptype.label} has no Graph collection to read {object_id!r} from")
    path = f"/{ptype.api_version}/{ptype.item_path(quote(object_id, safe=''))}"
    params = ptype.list_params.as_params(listing=False)
    if ptype.parent is not None:
        found = nested.get_nested(client, ptype, object_id, params or None)
        if found is None:
            return None
        item = _Item(registry.classify(ptype.collection, found), found)
        return _build_item(item)
    try:
        try:
            raw = client.get(path, params=params or None)
        except BadRequestError:
            if "$expand" not in params:
                raise
            # Same fallback as the listing: the per-item fetches read what $expand would bring.
            raw = client.get(path)
    except NotFoundError:
        return None
    if ptype.singleton is not None:
        raw = _singleton_object(ptype, raw)
    item = _Item(registry.classify(ptype.collection, raw), raw)
    jobs = _plan_jobs(item)
    if jobs:
        _run_jobs(client, jobs)
    return _build_item(item)


#: Graph's ``in`` operator takes at most 15 values in a directory object filter.
GROUP_IDS_PER_FILTER: Final = 15


_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def read_groups_by_id(client: GraphClient, group_ids: Iterable[str]) -> dict[str, str]:
    """``{group id: displayName}`` for the groups among ``group_ids`` that exist (absent: no
    such group), keyed by the ids as given and matched whatever their case (Entra answers in
    lower case), read with ``id in (...)`` filters of 15 ids, 20 filters a ``$batch``: 15 times
    fewer requests than one read per group, and Intune's request limit counts each one.

    A filter Graph refuses (400: an id in it is not a GUID) is asked again one id at a time, so
    only that id reads as missing. Any other failure, and a 400 for a GUID, raises the Graph
    error: "could not look" must never read as "does not exist".
    """
    asked: dict[str, list[str]] = {}
    for group_id in group_ids:
        if group_id:
            spellings = asked.setdefault(group_id.lower(), [])
            if group_id not in spellings:
                spellings.append(group_id)
    wanted = sorted(asked)
    chunks = [
        wanted[start : start + GROUP_IDS_PER_FILTER]
        for start in range(0, len(wanted), GROUP_IDS_PER_FILTER)
    ]
    requests = [
        BatchRequest(id=str(index), method="GET", url=_groups_filter_url(chunk))
        for index, chunk in enumerate(chunks)
    ]
    found: dict[str, str] = {}
    refused: list[str] = []

    def keep(group: Any) -> None:
        if isinstance(group, Mapping):
            name = group.get("displayName")
            for spelling in asked.get(str(group.get("id") or "").lower(), ()):
                found[spelling] = name if isinstance(name, str) else ""

    for start in range(0, len(requests), BATCH_CHUNK):
        answers = client.batch(requests[start : start + BATCH_CHUNK])
        for chunk, response in zip(chunks[start : start + BATCH_CHUNK], answers, strict=True):
            if response.status == 400 and not all(_GUID.match(value) for value in chunk):
                refused.extend(chunk)
                continue
            response.raise_for_status()
            body = response.body if isinstance(response.body, Mapping) else {}
            for group in body.get("value") or []:
                keep(group)
    for start in range(0, len(refused), BATCH_CHUNK):
        chunk = refused[start : start + BATCH_CHUNK]
        answers = client.batch(
            [
                BatchRequest(id=str(index), method="GET", url=_groups_filter_url([group_id]))
                for index, group_id in enumerate(chunk)
            ]
        )
        for group_id, response in zip(chunk, answers, strict=True):
            if response.status == 400 and not _GUID.match(group_id):
                continue  # not an Entra id: no such group
            response.raise_for_status()
            body = response.body if isinstance(response.body, Mapping) else {}
            for group in body.get("value") or []:
                keep(group)
    return found


def _groups_filter_url(group_ids: Sequence[str]) -> str:
    literals = ",".join(f"'{_odata_string(group_id)}'" for group_id in group_ids)
    query = urlencode(
        {"$filter": f"id in ({literals})", "$select": "id,displayName", "$top": "999"},
        quote_via=quote,
        safe="$,()'",
    )
    return f"/groups?{query}"


def resolve_group_names(client: GraphClient, group_ids: Iterable[str]) -> dict[str, str]:
    """``{group id: displayName}`` for the groups that exist (``read_groups_by_id``), or ``{}``
    when they could not be read (logged): names are for display, so a missing
    ``Group.Read.All`` never fails a capture."""
    try:
        return read_groups_by_id(client, group_ids)
    except GraphError as exc:
        logger.warning("Could not read the names of the assigned groups: %s", exc)
        return {}


__all__ = [
    "CAPTURE_LOOKAHEAD",
    "SECRET_VALUE_MISSING",
    "CaptureProgress",
    "CaptureWarning",
    "CapturedItem",
    "ProgressCallback",
    "capture_item",
    "iter_capture",
    "read_groups_by_id",
    "resolve_group_names",
]
