"""Routing: find the collection a Graph path names and hand the request to reads / writes."""

from __future__ import annotations

from tenantguard.emulator import (
    reads,
    setting_definitions,
    traits_endpoint,
    traits_identity,
    traits_tenant_admin,
    writes,
)
from tenantguard.emulator.errors import EmulatorHTTPError, no_route
from tenantguard.emulator.messages import GraphRequest, GraphResponse, Segment, parse_path
from tenantguard.emulator.odata import apply_select, parse_select, project
from tenantguard.emulator.permissions import authorize
from tenantguard.emulator.resources import BY_COLLECTION, RESOURCES, ResourceSpec

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Actions are POST {id}/<name> (the getOmaSettingPlainTextValue function is a GET).
ACTIONS = frozenset(
    {
        "assign",
        "scheduleactionsforrules",
        "updatedefinitionvalues",
        "targetapps",
        "getomasettingplaintextvalue",
        "setpriority",
        *traits_endpoint.ACTIONS,  # createInstance, updateSettings, setScheduledActions
        *traits_identity.ACTIONS,  # updateAllowedCombinations
    }
)
_SPECS_BY_DEPTH = sorted(RESOURCES, key=lambda s: -s.collection.count("/"))


def is_write(method: str, path: str) -> bool:
    if method.upper() == "POST" and path.rstrip("/").lower().endswith("getbyids"):
        return False
    return method.upper() in WRITE_METHODS


def handle(req: GraphRequest) -> GraphResponse:
    segments = parse_path(req.path)
    lowered = [s.name.lower() for s in segments]
    if lowered[:2] == ["deviceappmanagement", "managedapppolicies"]:
        return reads.managed_app_policies(req, segments[2:])
    if lowered == ["directoryobjects", "getbyids"]:
        return reads.get_by_ids(req)
    if lowered[:1] == ["organization"]:
        return reads.organization(req, segments[1:])
    if lowered[:1] == ["devicemanagement"] and setting_definitions.serves(lowered[1:2]):
        return setting_definitions.handle(req, lowered[1], segments[2:])  # read-only
    if lowered == ["devicemanagement"]:  # GET / PATCH of the singleton's own properties
        return traits_tenant_admin.device_management(req)
    for spec in _SPECS_BY_DEPTH:
        parts = spec.collection.lower().split("/")
        if lowered[: len(parts)] == parts:
            return _dispatch(req, spec, segments[len(parts) :])
    if lowered and lowered[0] in ("devicemanagement", "deviceappmanagement", "identity"):
        raise no_route(req.path)
    name = segments[0].name if segments else ""
    raise EmulatorHTTPError(400, "BadRequest", f"Resource not found for the segment '{name}'.")


# --- dispatch ----------------------------------------------------------------------------


def _dispatch(req: GraphRequest, spec: ResourceSpec, rest: list[Segment]) -> GraphResponse:
    method = req.method
    rest = [s for s in rest if not _is_type_cast(s, spec)]
    if rest and spec.id_aliases:
        spec = _owner_of(req, spec, rest[0].name)
    authorize(spec, req.tenant, write=method in WRITE_METHODS)
    if "singleton" in spec.traits:
        return traits_tenant_admin.singleton(req, spec, rest)
    if not rest:
        if method == "GET":
            return reads.list_collection(req, spec)
        if method == "POST":
            return writes.create(req, spec)
        raise no_route(req.path)
    object_id = rest[0].name
    if len(rest) == 1:
        if method == "GET":
            return reads.get_entity(req, spec, object_id)
        if method == "PATCH":
            return writes.patch(req, spec, object_id)
        if method == "PUT" and "PUT" in spec.update_methods:
            return writes.put(req, spec, object_id)
        if method == "DELETE":
            return writes.delete(req, spec, object_id)
        raise no_route(req.path)
    name = _action_name(rest[1].name)
    if len(rest) == 2 and name.lower() in ACTIONS:
        return writes.run_action(req, spec, object_id, name.lower(), rest[1].params or {})
    if "role_definitions" in spec.traits:  # its roleAssignments live in their own collection
        return traits_tenant_admin.role_definition_navigation(req, spec, object_id, rest[1:])
    if "reusable_settings" in spec.traits and len(rest) == 2 and method == "GET":
        return traits_endpoint.referencing_policies(req, spec, object_id, name)
    if name not in spec.navigation:
        raise no_route(req.path)
    obj = reads.require(req, spec, object_id)
    if len(rest) == 2:
        if method == "GET":
            return reads.nav_list(req, spec, obj, name)
        if method == "POST" and name in spec.child_posts:
            return writes.nav_create(req, spec, obj, name)
        raise no_route(req.path)
    child = reads.find_child(obj, name, rest[2].name, spec)
    if len(rest) == 3:
        if method == "GET":
            expand, definitions = reads.nav_expand(req, spec, name)
            body = project(child, spec.navigation[name], expand)
            body = apply_select(body, parse_select(req.option("select")), {})
            if definitions:  # settings/{id}?$expand=settingDefinitions
                body = setting_definitions.with_definitions(req, body)
            fragment = f"{spec.collection}('{object_id}')/{name}/$entity"
            return GraphResponse(200, {"@odata.context": req.context(fragment), **body})
        if method in ("DELETE", "PATCH") and name in spec.child_posts:
            return writes.nav_write(req, spec, obj, name, child)
        raise no_route(req.path)
    sub = rest[3].name
    sub_nav = spec.navigation[name]
    if len(rest) == 4 and method == "GET" and sub in sub_nav:
        items = child.get(sub) or []
        expand = reads.expand_option(req, sub_nav[sub])
        fragment = f"{spec.collection}('{object_id}')/{name}('{child['id']}')/{sub}"
        if isinstance(items, dict):  # single-valued, e.g. definitionValues/{id}/definition
            body = project(items, sub_nav[sub], expand)
            return GraphResponse(
                200, {"@odata.context": req.context(f"{fragment}/$entity"), **body}
            )
        values = [project(i, sub_nav[sub], expand) for i in items if isinstance(i, dict)]
        return GraphResponse(200, {"@odata.context": req.context(fragment), "value": values})
    raise no_route(req.path)


def _owner_of(req: GraphRequest, spec: ResourceSpec, object_id: str) -> ResourceSpec:
    """The collection that holds ``object_id``: ``spec`` itself, else the first of its
    ``id_aliases`` that has it (Graph serves those objects by id under ``spec`` too)."""
    if req.tenant.get_object(spec.collection, object_id) is not None:
        return spec
    for collection in spec.id_aliases:
        if req.tenant.get_object(collection, object_id) is not None:
            return BY_COLLECTION[collection]
    return spec


def _is_type_cast(segment: Segment, spec: ResourceSpec) -> bool:
    if not segment.name.startswith("microsoft.graph."):
        return False
    return _action_name(segment.name).lower() not in ACTIONS


def _action_name(name: str) -> str:
    return name.removeprefix("microsoft.graph.")
