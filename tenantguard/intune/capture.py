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

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from tenantguard.intune import nested, registry
from tenantguard.intune.normalize import (
    encrypted_oma_settings,
    group_refs,
    strip_annotations,
    values_at,
)
from tenantguard.intune.registry import PerItemFetch, PolicyType

logger = logging.getLogger("tenantguard.intune")

BATCH_CHUNK: Final = 20

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
    return "?" + urlencode(list(params), quote_via=quote, safe="$,()")


def _odata_string(value: str) -> str:
    return value.replace("'", "''")


def _plan_jobs(item: _Item) -> list[_Job]:
    ptype, raw = item.ptype, item.raw
    object_id = item.source_id
    if not object_id:
        return []
    base = "/" + ptype.item_path(quote(object_id, safe=""))
    jobs: list[_Job] = []
    for fetch in ptype.per_item_fetch:
        if fetch.kind == "omaSecrets":
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
    return [strip_annotations(entry) for entry in value if isinstance(entry, Mapping)]


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
    payload: dict[str, Any] = strip_annotations(item.raw)
    for key in ptype.never_stored_fields:  # secrets a backup never holds
        payload.pop(key, None)
    for key in (nested.PARENT_ID_KEY, nested.PARENT_NAME_KEY):  # a nested object's parent
        if key in item.raw:
            payload[key] = item.raw[key]
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


def _list_collection(
    client: GraphClient, ptypes: list[PolicyType]
) -> tuple[list[dict[str, Any]], GraphError | None]:
    """All objects of the collection (as many as could be read) and the error that stopped it."""
    first = ptypes[0]
    path = f"/{first.api_version}/{first.collection}"
    if first.singleton is not None:
        try:
            return [_singleton_object(first, client.get(path))], None
        except NotFoundError:
            return [], None  # an entity singleton the tenant has none of (no APNs certificate)
        except GraphError as exc:
            return [], exc
    params = first.list_params.as_params()
    objects: list[dict[str, Any]] = []
    if first.parent is not None:  # under each object of another collection
        try:
            return nested.list_nested(client, first, params or None), None
        except GraphError as exc:
            return objects, exc
    try:
        objects.extend(client.iter_collection(path, params=params or None))
        return objects, None
    except BadRequestError as exc:
        if objects or "$expand" not in params:
            return objects, exc
        # Some tenants reject an $expand a collection normally takes: list plainly, the
        # per-item fetches then read what the expand would have brought.
        logger.info("Listing %s with %s failed (%s); listing without it", path, params, exc)
    except GraphError as exc:
        return objects, exc
    try:
        objects.extend(client.iter_collection(path))
    except GraphError as exc:
        return objects, exc
    return objects, None


def _singleton_object(ptype: PolicyType, body: Mapping[str, Any]) -> dict[str, Any]:
    """A singleton as read (one object per tenant), under its fixed ``source_id``."""
    assert ptype.singleton is not None
    obj = {key: value for key, value in body.items() if key != "@odata.context"}
    obj["id"] = ptype.singleton.source_id
    return obj


def iter_capture(
    client: GraphClient,
    *,
    type_keys: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[CapturedItem | CaptureWarning]:
    """Capture the selected types (default: all, unsupported objects included) in registry
    order, foundations first; items of one type are yielded together.

    ``type_keys`` may include ``"unsupported"`` to keep objects no type claims. Needs a client
    whose default API version is ``beta`` (per-item reads go through its ``$batch``).
    """
    selected, include_unsupported = _selected_types(type_keys)
    selected_keys = {ptype.key for ptype in selected}
    groups: dict[tuple[str, str], list[PolicyType]] = {}
    for ptype in selected:
        groups.setdefault((ptype.api_version, ptype.collection), []).append(ptype)
    types_total = len(selected)
    types_done = 0

    def report(type_key: str, done: int) -> None:
        if progress is not None:
            progress(CaptureProgress(type_key, done, types_done, types_total))

    for ptypes in groups.values():
        report(ptypes[0].key, 0)
        objects, error = _list_collection(client, ptypes)
        if error is not None:
            for ptype in ptypes:
                if objects:
                    message = (
                        f"Listing {ptype.label} stopped after {len(objects)} object(s) of "
                        f"{ptype.collection}; objects after that are missing from this backup: "
                        f"{_describe_error(error, ptype)}"
                    )
                else:
                    message = _type_unreadable_message(ptype, error)
                permission = (
                    ptype.required_permission if isinstance(error, PermissionDeniedError) else None
                )
                yield CaptureWarning(ptype.key, None, message, permission=permission)
        items: list[_Item] = []
        for obj in objects:
            if not isinstance(obj, dict):
                continue
            ptype = registry.classify(ptypes[0].collection, obj)
            if ptype.key in selected_keys or (
                include_unsupported and registry.is_unsupported(ptype)
            ):
                items.append(_Item(ptype, obj))
        jobs = [job for item in items for job in _plan_jobs(item)]
        if jobs:
            _run_jobs(client, jobs)

        order = [ptype.key for ptype in ptypes] + [registry.UNSUPPORTED.key]
        for type_key in order:
            done = 0
            for item in items:
                if item.ptype.key != type_key:
                    continue
                captured = _build_item(item)
                done += 1
                yield captured
                report(type_key, done)
            if type_key in selected_keys:
                types_done += 1
                report(type_key, done)


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
    item = _Item(registry.classify(ptype.collection, raw), strip_annotations(raw))
    jobs = _plan_jobs(item)
    if jobs:
        _run_jobs(client, jobs)
    return _build_item(item)


def resolve_group_names(client: GraphClient, group_ids: Iterable[str]) -> dict[str, str]:
    """``{group id: displayName}`` for the groups that exist, read through ``$batch``.

    Groups that are missing (404) are absent from the result; so are groups that could not be
    read for another reason (logged), so a missing ``Group.Read.All`` never fails a capture.
    """
    ids = sorted({group_id for group_id in group_ids if group_id})
    names: dict[str, str] = {}
    for start in range(0, len(ids), BATCH_CHUNK):
        chunk = ids[start : start + BATCH_CHUNK]
        requests = [
            BatchRequest(
                id=str(index),
                method="GET",
                url=f"/groups/{quote(group_id, safe='')}?$select=id,displayName",
            )
            for index, group_id in enumerate(chunk)
        ]
        try:
            responses = client.batch(requests)
        except GraphError as exc:
            logger.warning("Could not read %d group name(s): %s", len(chunk), exc)
            continue
        for group_id, response in zip(chunk, responses, strict=True):
            if response.ok and isinstance(response.body, Mapping):
                name = response.body.get("displayName")
                names[group_id] = name if isinstance(name, str) else ""
            elif response.status != 404:
                try:
                    response.raise_for_status()
                except NotFoundError:
                    pass
                except GraphError as exc:
                    logger.warning("Could not read group %s: %s", group_id, exc)
    return names


__all__ = [
    "SECRET_VALUE_MISSING",
    "CaptureProgress",
    "CaptureWarning",
    "CapturedItem",
    "ProgressCallback",
    "capture_item",
    "iter_capture",
    "resolve_group_names",
]
