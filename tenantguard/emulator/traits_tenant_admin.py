"""Graph rules of the tenant administration collections that are not generic (README.md,
"Tenant administration"): Intune roles and role assignments, the default branding profile and
the ``deviceManagement/settings`` singleton.

Switched on by the collections' traits (``role_definitions``, ``role_assignments``,
``branding_profiles``, ``singleton``; see ``tenantguard/intune/types/roles.py`` and
``tenant_administration.py``); ``writes``, ``handlers`` and ``tenant`` call in here.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from tenantguard.emulator.errors import bad_request, no_route, not_found
from tenantguard.emulator.messages import GraphRequest, GraphResponse, Segment
from tenantguard.emulator.odata import apply_select, parse_select, project
from tenantguard.emulator.permissions import authorize
from tenantguard.emulator.reads import expand_option, find_child, require
from tenantguard.emulator.resources import BY_COLLECTION, ResourceSpec
from tenantguard.emulator.schema import check_write_body

ROLE_DEFINITIONS = "deviceManagement/roleDefinitions"
ROLE_ASSIGNMENTS = "deviceManagement/roleAssignments"
ROLE_DEFINITION_BIND = "roleDefinition@odata.bind"
#: The one id a singleton is stored under (its collection's last segment).
SINGLETON_MARK = "singleton"
#: A singleton that is an entity (a single-valued navigation of ``deviceManagement``), not a
#: complex property: see ``singleton``.
SINGLETON_ENTITY = "singleton_entity"
_BIND_ID = re.compile(r"roleDefinitions(?:\('([^']+)'\)|/([^/?('\"]+))", re.IGNORECASE)
# A singleton shows neither an id nor timestamps (it is a complex value, not an entity).
_SINGLETON_HIDDEN = ("id", "createdDateTime", "lastModifiedDateTime", "version")


# --- writes ------------------------------------------------------------------------------


def check_protected(spec: ResourceSpec, obj: dict[str, Any], verb: str) -> None:
    """Built-in role definitions are never changed or deleted; the default branding profile
    is never deleted (Intune answers 400) nor assigned (it applies to every user: the portal
    offers no assignments for it. Whether Graph's assign action refuses it is not documented;
    the emulator does, so a client that would assign it is caught)."""
    if "role_definitions" in spec.traits and obj.get("isBuiltIn"):
        raise bad_request(
            f"Cannot {verb} the built-in role definition '{obj.get('displayName')}': built-in "
            "roles are maintained by Microsoft."
        )
    if "branding_profiles" in spec.traits and obj.get("isDefaultProfile") and verb == "delete":
        raise bad_request("The default branding profile cannot be deleted.")
    if "branding_profiles" in spec.traits and obj.get("isDefaultProfile") and verb == "assign":
        raise bad_request(
            "The default branding profile applies to all users and cannot be assigned."
        )


def prepare_write(
    req: GraphRequest, spec: ResourceSpec, body: dict[str, Any], *, creating: bool
) -> None:
    """Adjust a cleaned POST / PATCH body (in place) as Graph does for these collections."""
    if "role_definitions" in spec.traits:
        if creating:
            body["isBuiltIn"] = False
            body["isBuiltInRoleDefinition"] = False
        if "rolePermissions" in body:  # ``permissions`` is Graph's older name for the same list
            body["permissions"] = copy.deepcopy(body["rolePermissions"])
    if "role_assignments" in spec.traits:
        bind = body.pop(ROLE_DEFINITION_BIND, None)
        if not creating:
            if bind is not None:
                raise bad_request(
                    "The role definition of a role assignment cannot be changed; create a new "
                    "role assignment instead."
                )
            return
        if not bind:
            raise bad_request(
                f"A role assignment needs its role: send {ROLE_DEFINITION_BIND} with the URL of "
                "a deviceManagement/roleDefinitions object."
            )
        body["roleDefinition"] = _bound_role(req, bind)
    if "branding_profiles" in spec.traits and creating:
        body["isDefaultProfile"] = False  # a tenant has one default profile, Intune's own


def _bound_role(req: GraphRequest, bind: Any) -> dict[str, Any]:
    match = _BIND_ID.search(str(bind))
    if not match:
        raise bad_request(f"Invalid roleDefinition reference in @odata.bind: {bind!r}.")
    role_id = match.group(1) or match.group(2)
    role = req.tenant.stored(BY_COLLECTION[ROLE_DEFINITIONS], role_id)
    if role is None:
        raise bad_request(f"Role definition with id '{role_id}' does not exist.")
    return _role_link(role)


def _role_link(role: dict[str, Any]) -> dict[str, Any]:
    """What a role assignment's expanded ``roleDefinition`` shows."""
    return project(role, BY_COLLECTION[ROLE_DEFINITIONS].navigation, {})


# --- reads -------------------------------------------------------------------------------


def role_definition_navigation(
    req: GraphRequest, spec: ResourceSpec, object_id: str, rest: list[Segment]
) -> GraphResponse:
    """``GET roleDefinitions/{id}/roleAssignments[/{assignmentId}]``: the role assignments whose
    role is this definition (they live in ``deviceManagement/roleAssignments``). Graph routes
    no POST here: role assignments are created at the top level."""
    role = require(req, spec, object_id)
    name = rest[0].name
    if name != "roleAssignments" or req.method != "GET" or len(rest) > 2:
        raise no_route(req.path)
    assignments_spec = BY_COLLECTION[ROLE_ASSIGNMENTS]
    linked = [
        assignment
        for assignment in req.tenant.stored_list(assignments_spec)
        if str((assignment.get("roleDefinition") or {}).get("id")) == str(role["id"])
    ]
    navigation = spec.navigation[name]
    expand = expand_option(req, navigation)
    select = parse_select(req.option("select"))
    fragment = f"{spec.collection}('{role['id']}')/{name}"
    if len(rest) == 2:
        child = find_child({name: linked}, name, rest[1].name, spec)
        body = apply_select(project(child, navigation, expand), select, expand)
        return GraphResponse(200, {"@odata.context": req.context(f"{fragment}/$entity"), **body})
    values = [apply_select(project(a, navigation, expand), select, expand) for a in linked]
    return GraphResponse(200, {"@odata.context": req.context(fragment), "value": values})


def singleton(req: GraphRequest, spec: ResourceSpec, rest: list[Segment]) -> GraphResponse:
    """``GET deviceManagement/settings``: the complex value itself (no id, no paging). Graph
    updates it only through ``PATCH deviceManagement`` (``device_management``).

    A ``singleton_entity`` (``deviceManagement/applePushNotificationCertificate``, ...) is a
    single-valued navigation: shown as an entity (its id, its timestamps), 404 when the
    tenant has none (no APNs certificate uploaded), never part of ``PATCH deviceManagement``.
    """
    if rest or req.method != "GET":
        raise no_route(req.path)
    if SINGLETON_ENTITY in spec.traits:
        stored = req.tenant.stored(spec, singleton_id(spec))
        if stored is None:
            raise not_found(spec.noun, singleton_id(spec))
        fragment = f"{spec.collection}/$entity"
        body = {"@odata.context": req.context(fragment), **project(stored, {}, {})}
        return GraphResponse(200, body)
    return GraphResponse(
        200, {"@odata.context": req.context(spec.collection), **_singleton_value(req, spec)}
    )


def _singleton_value(req: GraphRequest, spec: ResourceSpec) -> dict[str, Any]:
    stored = req.tenant.stored(spec, singleton_id(spec)) or {}
    return {
        key: value for key, value in project(stored, {}, {}).items() if key not in _SINGLETON_HIDDEN
    }


def singleton_id(spec: ResourceSpec) -> str:
    return spec.collection.rsplit("/", 1)[-1]


def _singletons_of(root: str) -> list[ResourceSpec]:
    prefix = root.lower() + "/"
    return [
        spec
        for spec in BY_COLLECTION.values()
        if "singleton" in spec.traits
        and SINGLETON_ENTITY not in spec.traits
        and spec.collection.lower().startswith(prefix)
        and spec.collection.count("/") == root.count("/") + 1
    ]


def device_management(req: GraphRequest) -> GraphResponse:
    """``GET deviceManagement`` (``$select`` of its singleton properties) and ``PATCH
    deviceManagement`` with ``{"<property>": {...}}`` → 204, for the singleton properties the
    emulator serves (``settings``). Other properties or navigations in the body → 400."""
    root = "deviceManagement"
    specs = {singleton_id(spec): spec for spec in _singletons_of(root)}
    if req.method == "GET":
        for spec in specs.values():
            authorize(spec, req.tenant, write=False)
        wanted = parse_select(req.option("select")) or sorted(specs)
        body: dict[str, Any] = {"@odata.context": req.context(f"{root}/$entity")}
        body["id"] = req.tenant.tenant_id
        for name in wanted:
            if name in specs:
                body[name] = _singleton_value(req, specs[name])
        return GraphResponse(200, body)
    if req.method != "PATCH":
        raise no_route(req.path)
    if not isinstance(req.body, dict) or not req.body:
        raise bad_request("The request body must be a JSON object.", intune=False)
    unknown = sorted(key for key in req.body if key not in specs and key != "@odata.type")
    if unknown:
        raise bad_request(
            f"The emulator updates only {', '.join(sorted(specs))} of deviceManagement; "
            f"not {', '.join(unknown)}."
        )
    changed = False
    for name, value in req.body.items():
        if name not in specs:
            continue
        spec = specs[name]
        authorize(spec, req.tenant, write=True)
        if not isinstance(value, dict):
            raise bad_request(f"deviceManagement.{name} must be an object.")
        check_write_body(value, collection=spec.collection)  # unknown properties → 400
        old = req.tenant.stored(spec, singleton_id(spec)) or {"id": singleton_id(spec)}
        sent = {k: v for k, v in value.items() if k not in _SINGLETON_HIDDEN and "@" not in k[1:]}
        merged = {**copy.deepcopy(old), **sent}
        if merged != old:
            stored = req.tenant.ingest(spec, merged, previous=old)
            req.tenant.save(spec, stored)
            changed = True
    if not changed:
        raise bad_request("at least 1 property must be changed")
    return GraphResponse(204)
