"""Graph writes: create, update (PATCH / PUT), delete, actions and navigation writes, with the
Intune rules of each resource family."""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from tenantguard.emulator import (
    traits_apple_enrollment,
    traits_apps,
    traits_endpoint,
    traits_enrollment,
    traits_identity,
    traits_quality_updates,
    traits_tenant_admin,
)
from tenantguard.emulator.errors import EmulatorHTTPError, bad_request, no_route, not_found
from tenantguard.emulator.messages import GraphRequest, GraphResponse
from tenantguard.emulator.odata import project
from tenantguard.emulator.reads import require
from tenantguard.emulator.resources import BY_COLLECTION, TARGET_TYPES, ResourceSpec
from tenantguard.emulator.schema import check_write_body
from tenantguard.emulator.tenant import (
    INTUNE_READ_ONLY,
    POLICY_CATALOG,
    SERVER_MANAGED,
    Tenant,
    normalise_app,
)


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


def create(req: GraphRequest, spec: ResourceSpec) -> GraphResponse:
    body = _body(req)
    if spec.requires_odata_type and not body.get("@odata.type"):
        raise bad_request(
            f"Cannot create an abstract class: the request for a {spec.noun} must carry "
            "@odata.type."
        )
    _check_schema(spec, body)
    if "compliance_actions" in spec.traits:
        _check_block_action(body.get("scheduledActionsForRule"))
    if spec.directory and not body.get("displayName"):
        raise EmulatorHTTPError(
            400, "Request_BadRequest", "A value is required for property 'displayName'."
        )
    keep = set(spec.navigation) - {"assignments"}
    cleaned = _clean(spec, body, keep_nav=keep)
    _check_scope_tags(req, spec, cleaned)
    traits_apps.check_body(req, spec, cleaned)
    traits_tenant_admin.prepare_write(req, spec, cleaned, creating=True)
    traits_identity.prepare_write(req, spec, body, cleaned, old=None)
    if traits_enrollment.TRAIT in spec.traits:
        traits_enrollment.before_create(req, spec, cleaned)
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
    req.tenant.fill_server_properties(spec, stored)
    if traits_quality_updates.TRAIT in spec.traits:
        traits_quality_updates.fill_release_names(stored)
    req.tenant.save(spec, stored)
    shown = project(stored, spec.navigation, {})
    location = f"{req.base_url}/{req.version}/{spec.collection}('{stored['id']}')"
    return GraphResponse(
        201,
        {"@odata.context": req.context(f"{spec.collection}/$entity"), **shown},
        {"Location": location},
    )


def _check_schema(
    spec: ResourceSpec,
    body: dict[str, Any],
    *,
    old: dict[str, Any] | None = None,
    navigation: str | None = None,
) -> None:
    """Unknown properties are answered the way Graph does (schema.py, README "Schema")."""
    check_write_body(
        body,
        collection=spec.collection,
        object_type=(old or {}).get("@odata.type"),
        navigation=navigation,
        directory=spec.directory,
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
    traits_tenant_admin.check_protected(spec, obj, verb)
    traits_identity.check_protected(spec, obj, verb)


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("lastModifiedDateTime", "version")}


def patch(req: GraphRequest, spec: ResourceSpec, object_id: str) -> GraphResponse:
    old = require(req, spec, object_id)
    body = _body(req)
    _check_not_builtin(spec, old, "update")
    _check_same_type(spec, old, body, "PATCH")
    _check_schema(spec, body, old=old)
    cleaned = _clean(spec, body, keep_nav=set())
    _check_scope_tags(req, spec, cleaned)
    traits_apps.check_body(req, spec, cleaned)
    traits_tenant_admin.prepare_write(req, spec, cleaned, creating=False)
    traits_identity.prepare_write(req, spec, body, cleaned, old=old)
    merged = {**copy.deepcopy(old), **cleaned}  # OData PATCH replaces each sent property
    stored = req.tenant.ingest(spec, merged, previous=old)
    if spec.intune and _comparable(stored) == _comparable(old):
        raise bad_request("at least 1 property must be changed")
    req.tenant.stamp_write(spec, stored, previous=old)
    req.tenant.save(spec, stored)
    return GraphResponse(204)


def _check_same_type(
    spec: ResourceSpec, old: dict[str, Any], body: dict[str, Any], verb: str
) -> None:
    """An update never changes an object's kind (Graph: 400)."""
    sent_type = body.get("@odata.type")
    if sent_type and old.get("@odata.type") and sent_type != old["@odata.type"]:
        raise bad_request(
            f"The @odata.type '{sent_type}' does not match the object's type "
            f"'{old['@odata.type']}'; a {verb} cannot change the type.",
            intune=spec.intune,
        )


def put(req: GraphRequest, spec: ResourceSpec, object_id: str) -> GraphResponse:
    old = require(req, spec, object_id)
    body = _body(req)
    _check_not_builtin(spec, old, "update")
    _check_same_type(spec, old, body, "PUT")
    _check_schema(spec, body, old=old)
    cleaned = _clean(spec, body, keep_nav={"settings"})
    _check_scope_tags(req, spec, cleaned)
    cleaned["settings"] = _renumbered(cleaned.get("settings"))
    replacement = {
        # A PUT replaces the object's properties; its kind stays what it is.
        **({"@odata.type": old["@odata.type"]} if old.get("@odata.type") else {}),
        **cleaned,
        "id": old["id"],
        "createdDateTime": old.get("createdDateTime"),
        "assignments": old.get("assignments", []),
    }
    stored = req.tenant.ingest(spec, replacement, previous=old)
    req.tenant.stamp_write(spec, stored, previous=old)
    req.tenant.fill_server_properties(spec, stored, previous=old)
    req.tenant.save(spec, stored)
    return GraphResponse(204)


def delete(req: GraphRequest, spec: ResourceSpec, object_id: str) -> GraphResponse:
    old = require(req, spec, object_id)
    _check_not_builtin(spec, old, "delete")
    if traits_enrollment.TRAIT in spec.traits:
        traits_enrollment.refuse_default(old, "delete")
    req.tenant.remove(spec, object_id)
    if traits_enrollment.TRAIT in spec.traits:
        traits_enrollment.after_delete(req, spec, old)
    return GraphResponse(204)


# --- actions and navigation writes -------------------------------------------------------


def run_action(
    req: GraphRequest, spec: ResourceSpec, object_id: str, name: str, params: dict[str, str]
) -> GraphResponse:
    if name == "getomasettingplaintextvalue":
        if req.method != "GET" or "oma_secrets" not in spec.traits:
            raise no_route(req.path)
        obj = require(req, spec, object_id)
        ref = params.get("secretReferenceValueId", "")
        secrets = obj.get("__secrets") or {}
        if ref not in secrets:
            raise not_found("secret reference value", ref)
        return GraphResponse(
            200, {"@odata.context": req.context("Edm.String"), "value": secrets[ref]}
        )
    if req.method != "POST":
        raise no_route(req.path)
    obj = require(req, spec, object_id)
    body = _body(req)
    if traits_enrollment.TRAIT in spec.traits:
        if name == "setpriority":
            return traits_enrollment.set_priority(req, spec, obj, body)
        if name == "assign":
            traits_enrollment.refuse_default(obj, "assign")
    if name == "assign" and spec.assign is not None:
        traits_tenant_admin.check_protected(spec, obj, "assign")
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
    handled = traits_identity.run_action(req, spec, obj, name, body)
    if handled is not None:
        return handled
    handled = traits_endpoint.run_action(req, spec, obj, name, body)
    if handled is not None:
        return handled
    raise no_route(req.path)


def _save_children(
    req: GraphRequest, spec: ResourceSpec, old: dict[str, Any], updated: dict[str, Any]
) -> None:
    """Navigation writes (assign, scheduled actions, definition values, apps) leave the
    object's own lastModifiedDateTime and version alone."""
    req.tenant.save(spec, req.tenant.ingest(spec, updated, previous=old))


_SCOPE_TAGS = BY_COLLECTION["deviceManagement/roleScopeTags"]
_FILTERS = BY_COLLECTION["deviceManagement/assignmentFilters"]
_NO_FILTER = ("", "00000000-0000-0000-0000-000000000000")


def _check_scope_tags(req: GraphRequest, spec: ResourceSpec, body: dict[str, Any]) -> None:
    """Intune refuses scope tag ids the tenant does not have."""
    if not req.validate_references or not spec.intune:
        return
    for prop in ("roleScopeTagIds", "roleScopeTags"):
        for tag_id in body.get(prop) or []:
            if req.tenant.stored(_SCOPE_TAGS, str(tag_id)) is None:
                raise bad_request(f"Role scope tag with id '{tag_id}' does not exist ({prop}).")


def _check_target(item: Any, req: GraphRequest) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("target"), dict):
        raise bad_request("Each assignment must carry a target.")
    target_type = item["target"].get("@odata.type")
    if target_type not in TARGET_TYPES:
        raise bad_request(f"Unknown assignment target type {target_type!r}.")
    if "group" in str(target_type).lower() and not item["target"].get("groupId"):
        raise bad_request("A group assignment target needs a groupId.")
    filter_id = item["target"].get("deviceAndAppManagementAssignmentFilterId")
    if (
        req.validate_references
        and filter_id not in (None, *_NO_FILTER)
        and req.tenant.stored(_FILTERS, str(filter_id)) is None
    ):
        raise bad_request(f"Assignment filter with id '{filter_id}' does not exist.")
    return {
        k: v
        for k, v in item.items()
        if (
            k not in ("id", "source", "sourceId", "intent")
            or traits_apps.kept_assignment_field(k, v)
        )
        and "@" not in k
    }


def _assign(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], body: dict[str, Any]
) -> GraphResponse:
    assert spec.assign is not None
    items = body.get(spec.assign.body_key)
    if not isinstance(items, list):
        raise bad_request(f"The assign action expects '{spec.assign.body_key}' as a list.")
    traits_apps.check_assignments(spec, obj, items)
    updated = copy.deepcopy(obj)
    updated["assignments"] = [_check_target(item, req) for item in items]
    if "isAssigned" in updated:  # Graph: isAssigned is the policy's assignment status
        updated["isAssigned"] = bool(updated["assignments"])
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
        value["definition"] = POLICY_CATALOG.definition(_bind_id(bind, "groupPolicyDefinitions"))
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
                presentation["presentation"] = POLICY_CATALOG.presentation(
                    _bind_id(pbind, "presentations")
                )
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


def nav_create(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], name: str
) -> GraphResponse:
    body = _body(req)
    _check_schema(spec, body, old=obj, navigation=name)
    updated = copy.deepcopy(obj)
    children: list[dict[str, Any]] = updated.setdefault(name, [])
    if name == "assignments":
        item = req.tenant.make_assignment(spec, obj["id"], _check_target(body, req))
        children[:] = [c for c in children if c.get("id") != item["id"]]
    elif name == "definitionValues":
        item = _definition_value(body, tenant=req.tenant)
    elif traits_apple_enrollment.TRAIT in spec.traits:  # enrollmentProfiles of a DEP token
        traits_apple_enrollment.check_references(req, body)
        item = traits_apple_enrollment.child_create(obj, body, req.tenant.tenant_id)
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


def nav_write(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], name: str, child: dict[str, Any]
) -> GraphResponse:
    updated = copy.deepcopy(obj)
    children = [c for c in updated.get(name) or [] if c.get("id") != child["id"]]
    if req.method == "PATCH":
        body = _body(req)
        if child.get("@odata.type"):  # a derived child (an Apple profile): its own type
            _check_schema(spec, body, old=child)
        else:
            _check_schema(spec, body, old=obj, navigation=name)
        if name == "definitionValues":
            replacement = _definition_value(body, tenant=req.tenant, existing=child)
        elif traits_apple_enrollment.TRAIT in spec.traits:
            traits_apple_enrollment.check_references(req, body)
            replacement = traits_apple_enrollment.child_patch(child, body)
        else:
            replacement = {**child, **{k: v for k, v in body.items() if k not in SERVER_MANAGED}}
            replacement["lastModifiedDateTime"] = req.tenant.now()
        children = [
            replacement if c.get("id") == child["id"] else c for c in updated.get(name) or []
        ]
    updated[name] = children
    _save_children(req, spec, obj, updated)
    return GraphResponse(204)
