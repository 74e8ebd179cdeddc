"""Graph reads: collections (paged, filtered, expanded, selected), entities, navigations."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from tenantguard.emulator import setting_definitions, traits_apps, traits_identity
from tenantguard.emulator.errors import EmulatorHTTPError, no_route, not_found
from tenantguard.emulator.messages import GraphRequest, GraphResponse, Segment
from tenantguard.emulator.nav_context import annotate_expanded
from tenantguard.emulator.odata import (
    ExpandTree,
    apply_select,
    check_expand,
    decode_skiptoken,
    encode_skiptoken,
    parse_expand,
    parse_filter,
    parse_select,
    project,
)
from tenantguard.emulator.permissions import authorize
from tenantguard.emulator.resources import (
    APP_PROTECTION_COLLECTIONS,
    BY_COLLECTION,
    MANAGED_APP_POLICIES,
    NavTree,
    ResourceSpec,
)

_T = TypeVar("_T")
Render = Callable[[dict[str, Any]], dict[str, Any]]


def require(req: GraphRequest, spec: ResourceSpec, object_id: str) -> dict[str, Any]:
    obj = req.tenant.stored(spec, object_id)
    if obj is None:
        raise not_found(spec.noun, object_id, directory=spec.directory)
    return obj


def find_child(obj: dict[str, Any], nav: str, child_id: str, spec: ResourceSpec) -> dict[str, Any]:
    for item in obj.get(nav) or []:
        if isinstance(item, dict) and str(item.get("id")) == child_id:
            return item
    raise not_found(nav, child_id, directory=spec.directory)


def expand_option(req: GraphRequest, navigation: NavTree) -> ExpandTree:
    expand = parse_expand(req.option("expand"))
    check_expand(expand, navigation, "microsoft.graph.entity")
    return expand


def nav_expand(req: GraphRequest, spec: ResourceSpec, name: str) -> tuple[ExpandTree, bool]:
    """The ``$expand`` of a read of ``{id}/{name}``, and whether it asks for
    ``settingDefinitions`` (a settings catalog's settings: setting_definitions.py)."""
    expand = parse_expand(req.option("expand"))
    definitions = False
    if name == "settings" and "settings_catalog" in spec.traits:
        expand, definitions = setting_definitions.split_expand(expand)
    check_expand(expand, spec.navigation[name], "microsoft.graph.entity")
    return expand, definitions


def entity_expand(req: GraphRequest, spec: ResourceSpec) -> tuple[ExpandTree, bool]:
    """The ``$expand`` of an object read, and whether it asks for
    ``settings($expand=settingDefinitions)`` (settings catalog policies)."""
    expand = parse_expand(req.option("expand"))
    definitions = False
    if "settings_catalog" in spec.traits:
        expand, definitions = setting_definitions.strip_nested(expand)
    check_expand(expand, spec.navigation, "microsoft.graph.entity")
    return expand, definitions


def _with_setting_definitions(req: GraphRequest, body: dict[str, Any]) -> dict[str, Any]:
    settings = body.get("settings")
    if isinstance(settings, list):
        body["settings"] = [
            setting_definitions.with_definitions(req, s) if isinstance(s, dict) else s
            for s in settings
        ]
    return body


# --- reads -------------------------------------------------------------------------------


def present(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], expand: ExpandTree
) -> dict[str, Any]:
    return apply_select(
        project(traits_identity.as_shown(req, spec, obj), spec.navigation, expand),
        parse_select(req.option("select")),
        expand,
        keep_id=spec.intune,
    )


def _page_size(req: GraphRequest, spec: ResourceSpec | None, default: int, maximum: int) -> int:
    top = req.option("top")
    if top is None:
        return min(default, maximum)
    try:
        size = int(top)
    except ValueError:
        size = -1
    if size < 1 or (spec is not None and spec.directory and size > maximum):
        raise EmulatorHTTPError(
            400,
            "Request_BadRequest" if spec is not None and spec.directory else "BadRequest",
            f"Invalid page size specified: '{top}'. Must be between 1 and {maximum} inclusive.",
        )
    return min(size, maximum)


def _paged(
    req: GraphRequest,
    items: Sequence[_T],
    render: Callable[[_T], dict[str, Any]],  # applied to the page only
    *,
    size: int,
    path: str,
    fragment: str,
) -> GraphResponse:
    """One page of ``items`` (only that page is rendered) with a nextLink when more follow."""
    token = req.option("skiptoken")
    offset = decode_skiptoken(token) if token else 0
    body: dict[str, Any] = {"@odata.context": req.context(fragment)}
    if (req.option("count") or "").lower() == "true":
        body["@odata.count"] = len(items)
    if offset + size < len(items):
        params = {k: v for k, v in req.query.items() if k.lstrip("$").lower() != "skiptoken"}
        params["$skiptoken"] = encode_skiptoken(offset + size)
        query = urlencode(params, safe="$(),='/")
        body["@odata.nextLink"] = f"{req.base_url}/{req.version}/{path}?{query}"
    body["value"] = [render(item) for item in items[offset : offset + size]]
    return GraphResponse(200, body)


def _filtered(req: GraphRequest, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    predicate = parse_filter(req.option("filter"))
    return objects if predicate is None else [obj for obj in objects if predicate(obj)]


def _list_renderer(
    req: GraphRequest, spec: ResourceSpec
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    expand, definitions = entity_expand(req, spec)
    select = parse_select(req.option("select"))

    def render(obj: dict[str, Any]) -> dict[str, Any]:
        shown = project(traits_identity.as_shown(req, spec, obj), spec.navigation, expand)
        for name in spec.list_nulls:
            shown[name] = None
        shown = apply_select(shown, select, expand, keep_id=spec.intune)
        return _with_setting_definitions(req, shown) if definitions else shown

    return render


def list_collection(req: GraphRequest, spec: ResourceSpec) -> GraphResponse:
    render = _list_renderer(req, spec)
    items = traits_apps.searched(req, spec, _filtered(req, req.tenant.stored_list(spec)))
    size = _page_size(req, spec, spec.page_size or req.default_page_size, spec.max_page_size)
    select = parse_select(req.option("select"))
    fragment = spec.collection + (f"({','.join(select)})" if select else "")
    return _paged(req, items, render, size=size, path=spec.collection, fragment=fragment)


def get_entity(req: GraphRequest, spec: ResourceSpec, object_id: str) -> GraphResponse:
    obj = require(req, spec, object_id)
    expand, definitions = entity_expand(req, spec)
    body = annotate_expanded(req, spec, obj, present(req, spec, obj, expand), expand)
    if definitions:
        body = _with_setting_definitions(req, body)
    return GraphResponse(200, {"@odata.context": req.context(f"{spec.collection}/$entity"), **body})


def nav_list(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], name: str
) -> GraphResponse:
    sub_nav = spec.navigation[name]
    expand, definitions = nav_expand(req, spec, name)
    select = parse_select(req.option("select"))
    items = [item for item in obj.get(name) or [] if isinstance(item, dict)]

    def render(item: dict[str, Any]) -> dict[str, Any]:
        shown = apply_select(project(item, sub_nav, expand), select, expand, keep_id=spec.intune)
        return setting_definitions.with_definitions(req, shown) if definitions else shown

    size = spec.nav_page_sizes.get(name, 1000)
    maximum = spec.nav_max_page_sizes.get(name, size)
    path = f"{spec.collection}('{obj['id']}')/{name}"
    return _paged(
        req, items, render, size=_page_size(req, None, size, maximum), path=path, fragment=path
    )


def managed_app_policies(req: GraphRequest, rest: list[Segment]) -> GraphResponse:
    specs = [BY_COLLECTION[c] for c in APP_PROTECTION_COLLECTIONS]
    if req.method != "GET" or len(rest) > 1:
        raise no_route(req.path)
    authorize(specs[0], req.tenant, write=False)
    if rest:
        for spec in specs:
            obj = req.tenant.stored(spec, rest[0].name)
            if obj is not None:
                body = present(req, spec, obj, expand_option(req, spec.navigation))
                context = req.context(f"{MANAGED_APP_POLICIES}/$entity")
                odata_type = _entity_type(spec)
                return GraphResponse(
                    200, {"@odata.context": context, "@odata.type": odata_type, **body}
                )
        raise not_found("managed app policy", rest[0].name)
    pairs: list[tuple[Render, str, dict[str, Any]]] = []
    for spec in specs:
        render = _list_renderer(req, spec)
        # The entity set's declared type is the base type here, so Graph names each item's.
        odata_type = _entity_type(spec)
        pairs += [(render, odata_type, obj) for obj in _filtered(req, req.tenant.stored_list(spec))]

    def render_pair(
        pair: tuple[Render, str, dict[str, Any]],
    ) -> dict[str, Any]:
        render, odata_type, obj = pair
        return {"@odata.type": odata_type, **render(obj)}

    size = _page_size(req, None, req.default_page_size, 999)
    return _paged(
        req, pairs, render_pair, size=size, path=MANAGED_APP_POLICIES, fragment=MANAGED_APP_POLICIES
    )


def _entity_type(spec: ResourceSpec) -> str:
    """``…/iosManagedAppProtections`` -> ``#microsoft.graph.iosManagedAppProtection``."""
    return "#microsoft.graph." + spec.collection.rsplit("/", 1)[-1].removesuffix("s")


def get_by_ids(req: GraphRequest) -> GraphResponse:
    if req.method != "POST":
        raise no_route(req.path)
    spec = BY_COLLECTION["groups"]
    authorize(spec, req.tenant, write=False)
    body = req.body if isinstance(req.body, dict) else {}
    ids = body.get("ids")
    if not isinstance(ids, list):
        raise EmulatorHTTPError(400, "Request_BadRequest", "The 'ids' parameter is required.")
    types = [str(t).lower() for t in body.get("types") or ["group"]]
    values = []
    if "group" in types:
        for object_id in ids:
            obj = req.tenant.stored(spec, str(object_id))
            if obj is not None:
                values.append({"@odata.type": "#microsoft.graph.group", **project(obj, {}, {})})
    return GraphResponse(200, {"@odata.context": req.context("directoryObjects"), "value": values})


# --- organization ------------------------------------------------------------------------

ORGANIZATION = "organization"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ONMICROSOFT = ".onmicrosoft.com"


def default_organization(tenant_id: str) -> dict[str, Any]:
    """The ``organization`` of a tenant whose seed has none, derived from its tenant id: ``id``
    is the tenant id when it is a GUID (else a stable GUID derived from it); the initial domain
    is the tenant id when it is an ``*.onmicrosoft.com`` name, else ``<first label>
    .onmicrosoft.com``; a tenant id that is another domain is the default domain too."""
    text = tenant_id.strip().lower()
    if _GUID.match(text):
        object_id = text
        label = "tenant" + text.replace("-", "")[:12]
    else:
        object_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"tenantguard-emulator:{text}"))
        first = text[: -len(_ONMICROSOFT)] if text.endswith(_ONMICROSOFT) else text.split(".")[0]
        label = re.sub(r"[^a-z0-9-]", "", first).strip("-") or "tenant"
    domain = {
        "capabilities": "Email, OfficeCommunicationsOnline",
        "isDefault": True,
        "isInitial": True,
        "name": f"{label}{_ONMICROSOFT}",
        "type": "Managed",
    }
    domains = [domain]
    if "." in text and not text.endswith(_ONMICROSOFT):
        domains = [{**domain, "isDefault": False}, {**domain, "isInitial": False, "name": text}]
    return {
        "id": object_id,
        "displayName": label.replace("-", " ").title(),
        "verifiedDomains": domains,
    }


def organization(req: GraphRequest, rest: list[Segment]) -> GraphResponse:
    """``GET /organization`` (a collection of exactly one) and ``GET /organization/{id}``."""
    spec = BY_COLLECTION[ORGANIZATION]
    authorize(spec, req.tenant, write=req.method != "GET")
    if req.method != "GET" or len(rest) > 1:
        raise no_route(req.path)
    stored = req.tenant.stored_list(spec)
    if stored:
        obj = {key: value for key, value in stored[0].items() if key != "createdDateTime"}
    else:
        obj = default_organization(req.tenant.tenant_id)
    select = parse_select(req.option("select"))
    if rest:
        if rest[0].name.lower() != str(obj.get("id", "")).lower():
            raise not_found(spec.noun, rest[0].name, directory=True)
        body = apply_select(project(obj, {}, {}), select, {}, keep_id=False)
        return GraphResponse(
            200, {"@odata.context": req.context(f"{ORGANIZATION}/$entity"), **body}
        )
    value = [
        {
            "@odata.type": "#microsoft.graph.organization",
            **apply_select(project(obj, {}, {}), select, {}, keep_id=False),
        }
    ]
    return GraphResponse(200, {"@odata.context": req.context(ORGANIZATION), "value": value})
