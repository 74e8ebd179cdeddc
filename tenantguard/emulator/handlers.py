"""Graph resource operations: route a request to a collection and apply its Graph rules."""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tenantguard.emulator.errors import EmulatorHTTPError, bad_request, no_route, not_found
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
from tenantguard.emulator.resources import (
    APP_PROTECTION_COLLECTIONS,
    BY_COLLECTION,
    MANAGED_APP_POLICIES,
    RESOURCES,
    TARGET_TYPES,
    NavTree,
    ResourceSpec,
)
from tenantguard.emulator.tenant import INTUNE_READ_ONLY, SERVER_MANAGED, Tenant, normalise_app

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Actions are POST {id}/<name> (the getOmaSettingPlainTextValue function is a GET).
ACTIONS = frozenset(
    {
        "assign",
        "scheduleactionsforrules",
        "updatedefinitionvalues",
        "targetapps",
        "getomasettingplaintextvalue",
    }
)
_SPECS_BY_DEPTH = sorted(RESOURCES, key=lambda s: -s.collection.count("/"))
_SEGMENT = re.compile(r"^(?P<name>[^()]+)(?:\((?P<args>.*)\))?$")


@dataclass
class GraphRequest:
    method: str
    version: str  # "beta" or "v1.0"
    path: str  # below the version, no leading slash
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any
    base_url: str  # scheme://host of the emulator as the client sees it
    tenant: Tenant
    default_page_size: int = 100

    def context(self, fragment: str) -> str:
        return f"{self.base_url}/{self.version}/$metadata#{fragment}"

    def option(self, name: str) -> str | None:
        return self.query.get(f"${name}", self.query.get(name))


@dataclass
class GraphResponse:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Segment:
    name: str
    params: dict[str, str] | None = None


def parse_path(path: str) -> list[Segment]:
    """``a/b('id')/fn(x='y')`` -> ``[a, b, id, fn{x: y}]`` (OData key syntax or plain ids)."""
    segments: list[Segment] = []
    for raw in path.split("/"):
        if not raw:
            continue
        match = _SEGMENT.match(raw)
        if not match:
            raise no_route(path)
        name, args = match.group("name"), match.group("args")
        if args is None:
            segments.append(Segment(name))
        elif "=" in args:
            params = {}
            for part in args.split(","):
                key, _, value = part.partition("=")
                params[key.strip()] = value.strip().strip("'")
            segments.append(Segment(name, params))
        else:
            segments.append(Segment(name))
            segments.append(Segment(args.strip().strip("'")))
    return segments


def path_ids(path: str) -> list[str]:
    """Every segment and key of a path, for fault injection by object id."""
    try:
        return [segment.name for segment in parse_path(path)]
    except EmulatorHTTPError:
        return []


def is_write(method: str, path: str) -> bool:
    if method.upper() == "POST" and path.rstrip("/").lower().endswith("getbyids"):
        return False
    return method.upper() in WRITE_METHODS


def handle(req: GraphRequest) -> GraphResponse:
    segments = parse_path(req.path)
    lowered = [s.name.lower() for s in segments]
    if lowered[:2] == ["deviceappmanagement", "managedapppolicies"]:
        return _managed_app_policies(req, segments[2:])
    if lowered == ["directoryobjects", "getbyids"]:
        return _get_by_ids(req)
    for spec in _SPECS_BY_DEPTH:
        parts = spec.collection.lower().split("/")
        if lowered[: len(parts)] == parts:
            return _dispatch(req, spec, segments[len(parts) :])
    if lowered and lowered[0] in ("devicemanagement", "deviceappmanagement", "identity"):
        raise no_route(req.path)
    name = segments[0].name if segments else ""
    raise EmulatorHTTPError(400, "BadRequest", f"Resource not found for the segment '{name}'.")


# --- permissions -------------------------------------------------------------------------


def authorize(spec: ResourceSpec, tenant: Tenant, *, write: bool) -> None:
    denied = tenant.denied_permissions
    missing = spec.read_permission in denied or (
        write and (spec.write_permission in denied or not spec.writable)
    )
    if not missing:
        return
    if spec.directory:
        raise EmulatorHTTPError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    needed = spec.write_permission if write else spec.read_permission
    if spec.collection.startswith("identity/"):
        raise EmulatorHTTPError(
            403,
            "AccessDenied",
            f"You cannot perform the requested operation, required scopes are missing in the "
            f"token: {needed}.",
        )
    scopes = spec.write_permission if write else f"{spec.read_permission}, {spec.write_permission}"
    raise EmulatorHTTPError(
        403,
        "Forbidden",
        "Application is not authorized to perform this operation. Application must have one "
        f"of the following scopes: {scopes}",
        intune=True,
    )


# --- dispatch ----------------------------------------------------------------------------


def _dispatch(req: GraphRequest, spec: ResourceSpec, rest: list[Segment]) -> GraphResponse:
    method = req.method
    rest = [s for s in rest if not _is_type_cast(s, spec)]
    authorize(spec, req.tenant, write=method in WRITE_METHODS)
    if not rest:
        if method == "GET":
            return _list(req, spec)
        if method == "POST":
            return _create(req, spec)
        raise no_route(req.path)
    object_id = rest[0].name
    if len(rest) == 1:
        if method == "GET":
            return _get(req, spec, object_id)
        if method == "PATCH":
            return _patch(req, spec, object_id)
        if method == "PUT" and "PUT" in spec.update_methods:
            return _put(req, spec, object_id)
        if method == "DELETE":
            return _delete(req, spec, object_id)
        raise no_route(req.path)
    name = _action_name(rest[1].name)
    if len(rest) == 2 and name.lower() in ACTIONS:
        return _action(req, spec, object_id, name.lower(), rest[1].params or {})
    if name not in spec.navigation:
        raise no_route(req.path)
    obj = _require(req, spec, object_id)
    if len(rest) == 2:
        if method == "GET":
            return _nav_list(req, spec, obj, name)
        if method == "POST" and name in spec.child_posts:
            return _nav_create(req, spec, obj, name)
        raise no_route(req.path)
    child = _find_child(obj, name, rest[2].name, spec)
    if len(rest) == 3:
        if method == "GET":
            body = project(child, spec.navigation[name], _expand(req, spec.navigation[name]))
            body = apply_select(body, parse_select(req.option("select")), {})
            fragment = f"{spec.collection}('{object_id}')/{name}/$entity"
            return GraphResponse(200, {"@odata.context": req.context(fragment), **body})
        if method in ("DELETE", "PATCH") and name in spec.child_posts:
            return _nav_write(req, spec, obj, name, child)
        raise no_route(req.path)
    sub = rest[3].name
    sub_nav = spec.navigation[name]
    if len(rest) == 4 and method == "GET" and sub in sub_nav:
        items = child.get(sub) or []
        expand = _expand(req, sub_nav[sub])
        fragment = f"{spec.collection}('{object_id}')/{name}('{child['id']}')/{sub}"
        if isinstance(items, dict):  # single-valued, e.g. definitionValues/{id}/definition
            body = project(items, sub_nav[sub], expand)
            return GraphResponse(
                200, {"@odata.context": req.context(f"{fragment}/$entity"), **body}
            )
        values = [project(i, sub_nav[sub], expand) for i in items if isinstance(i, dict)]
        return GraphResponse(200, {"@odata.context": req.context(fragment), "value": values})
    raise no_route(req.path)


def _is_type_cast(segment: Segment, spec: ResourceSpec) -> bool:
    if not segment.name.startswith("microsoft.graph."):
        return False
    return _action_name(segment.name).lower() not in ACTIONS


def _action_name(name: str) -> str:
    return name.removeprefix("microsoft.graph.")


def _require(req: GraphRequest, spec: ResourceSpec, object_id: str) -> dict[str, Any]:
    obj = req.tenant.stored(spec, object_id)
    if obj is None:
        raise not_found(spec.noun, object_id, directory=spec.directory)
    return obj


def _find_child(obj: dict[str, Any], nav: str, child_id: str, spec: ResourceSpec) -> dict[str, Any]:
    for item in obj.get(nav) or []:
        if isinstance(item, dict) and str(item.get("id")) == child_id:
            return item
    raise not_found(nav, child_id, directory=spec.directory)


def _expand(req: GraphRequest, navigation: NavTree) -> ExpandTree:
    expand = parse_expand(req.option("expand"))
    check_expand(expand, navigation, "microsoft.graph.entity")
    return expand


# --- reads -------------------------------------------------------------------------------


def _present(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], expand: ExpandTree
) -> dict[str, Any]:
    return apply_select(
        project(obj, spec.navigation, expand), parse_select(req.option("select")), expand
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
    req: GraphRequest, items: list[dict[str, Any]], *, size: int, path: str, fragment: str
) -> GraphResponse:
    token = req.option("skiptoken")
    offset = decode_skiptoken(token) if token else 0
    page = items[offset : offset + size]
    body: dict[str, Any] = {"@odata.context": req.context(fragment)}
    if offset + size < len(items):
        params = {k: v for k, v in req.query.items() if k.lstrip("$").lower() != "skiptoken"}
        params["$skiptoken"] = encode_skiptoken(offset + size)
        query = urlencode(params, safe="$(),='/")
        body["@odata.nextLink"] = f"{req.base_url}/{req.version}/{path}?{query}"
    body["value"] = page
    return GraphResponse(200, body)


def _list_items(req: GraphRequest, spec: ResourceSpec, objects: list[dict[str, Any]]) -> list[Any]:
    expand = _expand(req, spec.navigation)
    predicate = parse_filter(req.option("filter"))
    out = []
    for obj in objects:
        if predicate is not None and not predicate(obj):
            continue
        shown = project(obj, spec.navigation, expand)
        for name in spec.list_nulls:
            shown[name] = None
        out.append(apply_select(shown, parse_select(req.option("select")), expand))
    return out


def _list(req: GraphRequest, spec: ResourceSpec) -> GraphResponse:
    items = _list_items(req, spec, req.tenant.stored_list(spec))
    size = _page_size(req, spec, spec.page_size or req.default_page_size, spec.max_page_size)
    select = parse_select(req.option("select"))
    fragment = spec.collection + (f"({','.join(select)})" if select else "")
    return _paged(req, items, size=size, path=spec.collection, fragment=fragment)


def _get(req: GraphRequest, spec: ResourceSpec, object_id: str) -> GraphResponse:
    obj = _require(req, spec, object_id)
    body = _present(req, spec, obj, _expand(req, spec.navigation))
    return GraphResponse(200, {"@odata.context": req.context(f"{spec.collection}/$entity"), **body})


def _nav_list(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], name: str
) -> GraphResponse:
    sub_nav = spec.navigation[name]
    expand = _expand(req, sub_nav)
    select = parse_select(req.option("select"))
    items = [
        apply_select(project(item, sub_nav, expand), select, expand)
        for item in obj.get(name) or []
        if isinstance(item, dict)
    ]
    size = spec.nav_page_sizes.get(name, 1000)
    path = f"{spec.collection}('{obj['id']}')/{name}"
    return _paged(req, items, size=_page_size(req, None, size, size), path=path, fragment=path)


def _managed_app_policies(req: GraphRequest, rest: list[Segment]) -> GraphResponse:
    specs = [BY_COLLECTION[c] for c in APP_PROTECTION_COLLECTIONS]
    if req.method != "GET" or len(rest) > 1:
        raise no_route(req.path)
    authorize(specs[0], req.tenant, write=False)
    if rest:
        for spec in specs:
            obj = req.tenant.stored(spec, rest[0].name)
            if obj is not None:
                body = _present(req, spec, obj, _expand(req, spec.navigation))
                context = req.context(f"{MANAGED_APP_POLICIES}/$entity")
                odata_type = _entity_type(spec)
                return GraphResponse(
                    200, {"@odata.context": context, "@odata.type": odata_type, **body}
                )
        raise not_found("managed app policy", rest[0].name)
    items = []
    for spec in specs:
        # The entity set's declared type is the base type here, so Graph names each item's.
        odata_type = _entity_type(spec)
        for item in _list_items(req, spec, req.tenant.stored_list(spec)):
            items.append({"@odata.type": odata_type, **item})
    size = _page_size(req, None, req.default_page_size, 999)
    return _paged(req, items, size=size, path=MANAGED_APP_POLICIES, fragment=MANAGED_APP_POLICIES)


def _entity_type(spec: ResourceSpec) -> str:
    """``…/iosManagedAppProtections`` -> ``#microsoft.graph.iosManagedAppProtection``."""
    return "#microsoft.graph." + spec.collection.rsplit("/", 1)[-1].removesuffix("s")


def _get_by_ids(req: GraphRequest) -> GraphResponse:
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


# --- writes ------------------------------------------------------------------------------


def _body(req: GraphRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise bad_request("The request body must be a JSON object.", intune=False)
    return req.body


def _clean(spec: ResourceSpec, body: dict[str, Any], *, keep_nav: set[str]) -> dict[str, Any]:
    """Drop what the server owns: server-managed and read-only properties, and navigation
    properties the operation does not take (Graph ignores them)."""
    out = {}
    for key, value in body.items():
        if key in SERVER_MANAGED or key.startswith("__") or key in spec.read_only:
            continue
        if spec.intune and key in INTUNE_READ_ONLY:
            continue
        if key in spec.navigation and key not in keep_nav:
            continue
        out[key] = value
    return out


def _check_block_action(rules: Any) -> None:
    blocks = 0
    for rule in rules if isinstance(rules, list) else []:
        for item in (rule or {}).get("scheduledActionConfigurations") or []:
            if isinstance(item, dict) and item.get("actionType") == "block":
                blocks += 1
    if blocks != 1:
        raise bad_request("Compliance policy must have one and only one block scheduled action")


def _create(req: GraphRequest, spec: ResourceSpec) -> GraphResponse:
    body = _body(req)
    if spec.requires_odata_type and not body.get("@odata.type"):
        raise bad_request(
            f"Cannot create an abstract class: the request for a {spec.noun} must carry "
            "@odata.type."
        )
    if "compliance_actions" in spec.traits:
        _check_block_action(body.get("scheduledActionsForRule"))
    if spec.directory and not body.get("displayName"):
        raise EmulatorHTTPError(
            400, "Request_BadRequest", "A value is required for property 'displayName'."
        )
    keep = set(spec.navigation) - {"assignments"}
    cleaned = _clean(spec, body, keep_nav=keep)
    if "admin_templates" in spec.traits:
        cleaned["definitionValues"] = [
            _definition_value(item, tenant=req.tenant)
            for item in cleaned.get("definitionValues") or []
        ]
    if "settings_catalog" in spec.traits:
        cleaned["settings"] = _renumbered(cleaned.get("settings"))
    if "scope_tags" in spec.traits:
        cleaned["isBuiltIn"] = False
    stored = req.tenant.ingest(spec, cleaned)
    req.tenant.stamp_new(spec, stored)
    req.tenant.save(spec, stored)
    shown = project(stored, spec.navigation, {})
    location = f"{req.base_url}/{req.version}/{spec.collection}('{stored['id']}')"
    return GraphResponse(
        201,
        {"@odata.context": req.context(f"{spec.collection}/$entity"), **shown},
        {"Location": location},
    )


def _renumbered(settings: Any) -> list[Any]:
    out = []
    for index, setting in enumerate(settings if isinstance(settings, list) else []):
        item = dict(setting) if isinstance(setting, dict) else {"value": setting}
        item["id"] = str(index)
        out.append(item)
    return out


def _check_not_builtin(spec: ResourceSpec, obj: dict[str, Any], verb: str) -> None:
    if "scope_tags" in spec.traits and obj.get("isBuiltIn"):
        raise bad_request(f"Cannot {verb} a built-in role scope tag ('{obj.get('displayName')}').")


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("lastModifiedDateTime", "version")}


def _patch(req: GraphRequest, spec: ResourceSpec, object_id: str) -> GraphResponse:
    old = _require(req, spec, object_id)
    body = _body(req)
    _check_not_builtin(spec, old, "update")
    sent_type = body.get("@odata.type")
    if sent_type and old.get("@odata.type") and sent_type != old["@odata.type"]:
        raise bad_request(
            f"The @odata.type '{sent_type}' does not match the object's type "
            f"'{old['@odata.type']}'; a PATCH cannot change the type.",
            intune=spec.intune,
        )
    cleaned = _clean(spec, body, keep_nav=set())
    merged = copy.deepcopy(old)
    merged.pop("__secrets", None)
    merged.update(cleaned)
    if "oma_secrets" in spec.traits and "omaSettings" not in cleaned:
        merged["omaSettings"] = copy.deepcopy(old.get("omaSettings"))
    stored = req.tenant.ingest(spec, merged, previous=old)
    if spec.intune and _comparable(stored) == _comparable(old):
        raise bad_request("at least 1 property must be changed")
    req.tenant.stamp_write(spec, stored, previous=old)
    req.tenant.save(spec, stored)
    return GraphResponse(204)


def _put(req: GraphRequest, spec: ResourceSpec, object_id: str) -> GraphResponse:
    old = _require(req, spec, object_id)
    cleaned = _clean(spec, _body(req), keep_nav={"settings"})
    cleaned["settings"] = _renumbered(cleaned.get("settings"))
    replacement = {
        **cleaned,
        "id": old["id"],
        "createdDateTime": old.get("createdDateTime"),
        "assignments": old.get("assignments", []),
    }
    stored = req.tenant.ingest(spec, replacement, previous=old)
    req.tenant.stamp_write(spec, stored, previous=old)
    req.tenant.save(spec, stored)
    return GraphResponse(204)


def _delete(req: GraphRequest, spec: ResourceSpec, object_id: str) -> GraphResponse:
    old = _require(req, spec, object_id)
    _check_not_builtin(spec, old, "delete")
    req.tenant.remove(spec, object_id)
    return GraphResponse(204)


# --- actions and navigation writes -------------------------------------------------------


def _action(
    req: GraphRequest, spec: ResourceSpec, object_id: str, name: str, params: dict[str, str]
) -> GraphResponse:
    if name == "getomasettingplaintextvalue":
        if req.method != "GET" or "oma_secrets" not in spec.traits:
            raise no_route(req.path)
        obj = _require(req, spec, object_id)
        ref = params.get("secretReferenceValueId", "")
        secrets = obj.get("__secrets") or {}
        if ref not in secrets:
            raise not_found("secret reference value", ref)
        return GraphResponse(
            200, {"@odata.context": req.context("Edm.String"), "value": secrets[ref]}
        )
    if req.method != "POST":
        raise no_route(req.path)
    obj = _require(req, spec, object_id)
    body = _body(req)
    if name == "assign" and spec.assign is not None:
        return _assign(req, spec, obj, body)
    if name == "scheduleactionsforrules" and "compliance_actions" in spec.traits:
        rules = body.get("deviceComplianceScheduledActionForRules")
        if not isinstance(rules, list):
            raise bad_request("deviceComplianceScheduledActionForRules must be a list.")
        _check_block_action(rules)
        updated = copy.deepcopy(obj)
        updated["scheduledActionsForRule"] = rules
        _save_children(req, spec, obj, updated)
        return GraphResponse(204)
    if name == "updatedefinitionvalues" and "admin_templates" in spec.traits:
        return _update_definition_values(req, spec, obj, body)
    if name == "targetapps" and "app_protection" in spec.traits:
        apps = body.get("apps")
        if not isinstance(apps, list):
            raise bad_request("apps must be a list.")
        updated = copy.deepcopy(obj)
        updated["apps"] = [normalise_app(a, spec) for a in apps if isinstance(a, dict)]
        _save_children(req, spec, obj, updated)
        return GraphResponse(204)
    raise no_route(req.path)


def _save_children(
    req: GraphRequest, spec: ResourceSpec, old: dict[str, Any], updated: dict[str, Any]
) -> None:
    """Navigation writes (assign, scheduled actions, definition values, apps) leave the
    object's own lastModifiedDateTime and version alone."""
    req.tenant.save(spec, req.tenant.ingest(spec, updated, previous=old))


def _check_target(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("target"), dict):
        raise bad_request("Each assignment must carry a target.")
    target_type = item["target"].get("@odata.type")
    if target_type not in TARGET_TYPES:
        raise bad_request(f"Unknown assignment target type {target_type!r}.")
    if "group" in str(target_type).lower() and not item["target"].get("groupId"):
        raise bad_request("A group assignment target needs a groupId.")
    return {
        k: v
        for k, v in item.items()
        if k not in ("id", "source", "sourceId", "intent") and "@" not in k
    }


def _assign(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], body: dict[str, Any]
) -> GraphResponse:
    assert spec.assign is not None
    items = body.get(spec.assign.body_key)
    if not isinstance(items, list):
        raise bad_request(f"The assign action expects '{spec.assign.body_key}' as a list.")
    updated = copy.deepcopy(obj)
    updated["assignments"] = [_check_target(item) for item in items]
    _save_children(req, spec, obj, updated)
    if spec.assign.status == 204:
        return GraphResponse(204)
    stored = req.tenant.stored(spec, obj["id"]) or updated
    fragment = f"{spec.collection}('{obj['id']}')/assignments"
    return GraphResponse(
        200,
        {"@odata.context": req.context(fragment), "value": copy.deepcopy(stored["assignments"])},
    )


def _bind_id(url: Any, segment: str) -> str:
    match = re.search(rf"{segment}(?:\('([^']+)'\)|/([^/?('\"]+))", str(url))
    if not match:
        raise bad_request(f"Invalid {segment} reference in @odata.bind: {url!r}.")
    return match.group(1) or match.group(2)


def _definition_value(
    item: Any, *, tenant: Tenant, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise bad_request("A definition value must be an object.")
    value = copy.deepcopy(existing) if existing else {}
    for key, val in item.items():
        if key.endswith("@odata.bind") or key == "presentationValues" or key in SERVER_MANAGED:
            continue
        value[key] = val
    bind = item.get("definition@odata.bind")
    if bind:
        value["definition"] = {"id": _bind_id(bind, "groupPolicyDefinitions")}
    elif "definition" not in value:
        raise bad_request("A definition value needs definition@odata.bind.")
    if "presentationValues" in item or existing is None:
        presentations = []
        for raw in item.get("presentationValues") or []:
            if not isinstance(raw, dict):
                raise bad_request("A presentation value must be an object.")
            presentation = {
                k: v for k, v in raw.items() if not k.endswith("@odata.bind") and k != "id"
            }
            pbind = raw.get("presentation@odata.bind")
            if pbind:
                presentation["presentation"] = {"id": _bind_id(pbind, "presentations")}
            presentation["id"] = str(uuid.uuid4())
            presentation.setdefault("lastModifiedDateTime", tenant.now())
            presentations.append(presentation)
        value["presentationValues"] = presentations
    value.setdefault("id", str(uuid.uuid4()))
    value.setdefault("createdDateTime", tenant.now())
    value["lastModifiedDateTime"] = tenant.now()
    value.setdefault("enabled", True)
    return value


def _update_definition_values(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], body: dict[str, Any]
) -> GraphResponse:
    updated = copy.deepcopy(obj)
    values: list[dict[str, Any]] = updated.get("definitionValues") or []
    by_id = {str(v.get("id")): index for index, v in enumerate(values)}
    for item in body.get("updated") or []:
        value_id = str((item or {}).get("id"))
        if value_id not in by_id:
            raise not_found("definition value", value_id)
        index = by_id[value_id]
        values[index] = _definition_value(item, tenant=req.tenant, existing=values[index])
    deleted = {str(i) for i in body.get("deletedIds") or []}
    missing = deleted - set(by_id)
    if missing:
        raise not_found("definition value", sorted(missing)[0])
    values = [v for v in values if str(v.get("id")) not in deleted]
    values += [_definition_value(item, tenant=req.tenant) for item in body.get("added") or []]
    updated["definitionValues"] = values
    _save_children(req, spec, obj, updated)
    return GraphResponse(204)


def _nav_create(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], name: str
) -> GraphResponse:
    body = _body(req)
    updated = copy.deepcopy(obj)
    children: list[dict[str, Any]] = updated.setdefault(name, [])
    if name == "assignments":
        item = req.tenant.make_assignment(spec, obj["id"], _check_target(body))
        children[:] = [c for c in children if c.get("id") != item["id"]]
    elif name == "definitionValues":
        item = _definition_value(body, tenant=req.tenant)
    else:  # localizedNotificationMessages
        item = {k: v for k, v in body.items() if k not in SERVER_MANAGED}
        item["id"] = f"{obj['id']}_{item.get('locale', uuid.uuid4())}"
        item["lastModifiedDateTime"] = req.tenant.now()
        children[:] = [c for c in children if c.get("id") != item["id"]]
    children.append(item)
    _save_children(req, spec, obj, updated)
    fragment = f"{spec.collection}('{obj['id']}')/{name}/$entity"
    shown = project(item, spec.navigation[name], {})
    return GraphResponse(201, {"@odata.context": req.context(fragment), **shown})


def _nav_write(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], name: str, child: dict[str, Any]
) -> GraphResponse:
    updated = copy.deepcopy(obj)
    children = [c for c in updated.get(name) or [] if c.get("id") != child["id"]]
    if req.method == "PATCH":
        body = _body(req)
        if name == "definitionValues":
            replacement = _definition_value(body, tenant=req.tenant, existing=child)
        else:
            replacement = {**child, **{k: v for k, v in body.items() if k not in SERVER_MANAGED}}
            replacement["lastModifiedDateTime"] = req.tenant.now()
        children = [
            replacement if c.get("id") == child["id"] else c for c in updated.get(name) or []
        ]
    updated[name] = children
    _save_children(req, spec, obj, updated)
    return GraphResponse(204)
