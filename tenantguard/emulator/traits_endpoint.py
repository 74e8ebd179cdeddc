"""Graph behaviour of endpoint security intents (and their templates), of compliance policies
on the settings catalog and of reusable policy settings: the ``intents``, ``intent_templates``,
``compliance_settings_actions`` and ``reusable_settings`` traits of ``CollectionRules``.

- ``POST deviceManagement/templates/{id}/createInstance`` (``displayName``, ``description``,
  ``settingsDelta``, ``roleScopeTagIds``) creates an intent of that template: 200 with the
  intent.
- ``POST deviceManagement/intents/{id}/updateSettings`` (``{"settings": [...]}``) changes the
  settings it names (matched by ``definitionId``, as IntuneCD sends the intent's id as the
  setting id) and adds the others; the intent's other settings stay: 204.
- An intent's ``categories`` are its template's categories, each with the intent's settings
  whose definition the category lists (settings no category lists are filed under the first
  one), so ``intents/{id}/categories/{categoryId}/settings`` answers as IntuneCD reads it. An
  intent whose template the tenant does not have gets a template derived from it (one
  category, "Settings"). Settings get a GUID ``id``; a typed instance sent with ``value`` only
  also shows ``valueJson`` (the JSON of the value), as Graph's base type has it.
- ``POST deviceManagement/compliancePolicies/{id}/setScheduledActions``
  (``{"scheduledActions": [...]}``) replaces the scheduled actions: 200 with the list. Rules
  and their action items get ids; an item without ``notificationTemplateId`` gets the all-zero
  GUID and an empty ``notificationMessageCCList``.

- ``GET deviceManagement/reusablePolicySettings/{id}/referencingConfigurationPolicies`` (the
  ``reusable_settings`` trait) lists the configuration policies whose setting values name the
  reusable setting (where ``reusable_settings.REUSABLE_SETTING_REFS`` says), computed on read.

Intents have no ``createdDateTime`` (``CollectionRules.has_created`` is off for them).
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import TYPE_CHECKING, Any

from tenantguard.emulator.errors import bad_request
from tenantguard.emulator.odata import project
from tenantguard.emulator.resources import BY_COLLECTION, ResourceSpec

if TYPE_CHECKING:  # messages imports tenant, which imports this module
    from tenantguard.emulator.messages import GraphRequest, GraphResponse
    from tenantguard.emulator.tenant import Tenant

INTENTS = "deviceManagement/intents"
TEMPLATES = "deviceManagement/templates"
_SCHEDULED_ACTIONS = "scheduledActionsForRule"
_ZERO_GUID = "00000000-0000-0000-0000-000000000000"
_DERIVED_NAMESPACE = uuid.UUID("4b0f3f0e-58f4-4b7e-9a11-6a3c1e2d5f70")

#: Action names (lower case) handled here.
ACTIONS = frozenset({"createinstance", "updatesettings", "setscheduledactions"})


# --- stored form ---------------------------------------------------------------------------


def normalise(tenant: Tenant, spec: ResourceSpec, obj: dict[str, Any]) -> None:
    """Called for every object of a collection with one of these traits as it is stored."""
    if "intents" in spec.traits:
        _normalise_intent(tenant, obj)
    if "compliance_settings_actions" in spec.traits:
        for rule in obj.get(_SCHEDULED_ACTIONS) or []:
            if not isinstance(rule, dict):
                continue
            rule.setdefault("id", str(uuid.uuid4()))
            for item in rule.setdefault("scheduledActionConfigurations", []):
                if isinstance(item, dict):
                    item.setdefault("id", str(uuid.uuid4()))
                    item.setdefault("notificationTemplateId", _ZERO_GUID)
                    item.setdefault("notificationMessageCCList", [])


def _normalise_intent(tenant: Tenant, obj: dict[str, Any]) -> None:
    settings = [s for s in obj.get("settings") or [] if isinstance(s, dict)]
    for setting in settings:
        setting["id"] = str(setting.get("id") or uuid.uuid4())
        if "value" in setting and "valueJson" not in setting:
            setting["valueJson"] = json.dumps(setting["value"])
    obj["settings"] = settings
    template = _template_for(tenant, str(obj.get("templateId") or ""))
    categories = [c for c in (template or {}).get("categories") or [] if isinstance(c, dict)]
    filed: dict[str, list[dict[str, Any]]] = {str(c.get("id")): [] for c in categories}
    for setting in settings:
        home = next(
            (
                str(c.get("id"))
                for c in categories
                if setting.get("definitionId") in _definition_ids(c)
            ),
            str(categories[0].get("id")) if categories else None,
        )
        if home is not None:
            filed[home].append(copy.deepcopy(setting))
    obj["categories"] = [
        {
            "@odata.type": "#microsoft.graph.deviceManagementIntentSettingCategory",
            "id": str(category.get("id")),
            "displayName": category.get("displayName"),
            "hasRequiredSetting": bool(category.get("hasRequiredSetting")),
            "settings": filed[str(category.get("id"))],
        }
        for category in categories
    ]


def _definition_ids(category: dict[str, Any]) -> set[str]:
    return {
        str(definition.get("id"))
        for definition in category.get("settingDefinitions") or []
        if isinstance(definition, dict)
    }


def _template_for(tenant: Tenant, template_id: str) -> dict[str, Any] | None:
    """The tenant's template ``template_id``; one derived (and stored) when it has none."""
    if not template_id:
        return None
    spec = BY_COLLECTION[TEMPLATES]
    template = tenant.stored(spec, template_id)
    if template is not None:
        return template
    derived = {
        "@odata.type": "#microsoft.graph.deviceManagementTemplate",
        "id": template_id,
        "displayName": f"Template {template_id}",
        "description": "Derived by the emulator from an intent of this template.",
        "versionInfo": None,
        "isDeprecated": False,
        "intentCount": 0,
        "templateType": "custom",
        "platformType": "all",
        "templateSubtype": "none",
        "publishedDateTime": "0001-01-01T00:00:00Z",
        "categories": [
            {
                "@odata.type": "#microsoft.graph.deviceManagementTemplateSettingCategory",
                "id": str(uuid.uuid5(_DERIVED_NAMESPACE, template_id)),
                "displayName": "Settings",
                "hasRequiredSetting": False,
                "settingDefinitions": [],
                "recommendedSettings": [],
            }
        ],
    }
    stored = tenant.ingest(spec, derived)
    tenant.save(spec, stored)
    return stored


# --- actions -------------------------------------------------------------------------------


def run_action(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], name: str, body: dict[str, Any]
) -> GraphResponse | None:
    """The answer to action ``name`` (lower case) on ``obj``; ``None``: not one of these."""
    if name == "createinstance" and "intent_templates" in spec.traits:
        return _create_instance(req, obj, body)
    if name == "updatesettings" and "intents" in spec.traits:
        return _update_settings(req, spec, obj, body)
    if name == "setscheduledactions" and "compliance_settings_actions" in spec.traits:
        return _set_scheduled_actions(req, spec, obj, body)
    return None


def _list_param(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad_request(f"{key} must be a list of objects.")
    return value


def _create_instance(
    req: GraphRequest, template: dict[str, Any], body: dict[str, Any]
) -> GraphResponse:
    from tenantguard.emulator import writes  # writes dispatches here: imported when used
    from tenantguard.emulator.messages import GraphResponse  # messages imports tenant

    if template.get("isDeprecated"):
        raise bad_request(
            f"Intents cannot be created from the deprecated template '{template.get('id')}'."
        )
    if not body.get("displayName"):
        raise bad_request("A value is required for property 'displayName'.")
    spec = BY_COLLECTION[INTENTS]
    settings = [
        {k: v for k, v in setting.items() if k != "id"}
        for setting in _list_param(body, "settingsDelta")
    ]
    intent: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.deviceManagementIntent",
        "displayName": body.get("displayName"),
        "description": body.get("description"),
        "roleScopeTagIds": body.get("roleScopeTagIds") or ["0"],
        "templateId": template["id"],
        "settings": settings,
    }
    writes._check_scope_tags(req, spec, intent)
    stored = req.tenant.ingest(spec, intent)
    req.tenant.stamp_new(spec, stored)
    req.tenant.fill_server_properties(spec, stored)
    req.tenant.save(spec, stored)
    shown = project(stored, spec.navigation, {})
    return GraphResponse(200, {"@odata.context": req.context(f"{INTENTS}/$entity"), **shown})


def _update_settings(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], body: dict[str, Any]
) -> GraphResponse:
    from tenantguard.emulator.messages import GraphResponse  # messages imports tenant

    if not isinstance(body.get("settings"), list):
        raise bad_request("settings must be a list of setting instances.")
    updated = copy.deepcopy(obj)
    settings: list[dict[str, Any]] = updated.get("settings") or []
    for sent in _list_param(body, "settings"):
        definition = sent.get("definitionId")
        if not definition:
            raise bad_request("Each setting needs a definitionId.")
        values = {k: v for k, v in sent.items() if k != "id"}
        current = next((s for s in settings if s.get("definitionId") == definition), None)
        if current is None:
            settings.append(values)
            continue
        for key in ("value", "valueJson"):
            current.pop(key, None)
        current.update(values)
        if "value" in values and "valueJson" not in values:
            current["valueJson"] = json.dumps(values["value"])
    updated["settings"] = settings
    stored = req.tenant.ingest(spec, updated, previous=obj)
    req.tenant.stamp_write(spec, stored, previous=obj)
    req.tenant.save(spec, stored)
    return GraphResponse(204)


def _without_ids(item: dict[str, Any]) -> dict[str, Any]:
    """A sent child object as stored: server ids and annotations dropped, ``@odata.type``
    kept."""
    return {k: v for k, v in item.items() if k != "id" and ("@" not in k or k == "@odata.type")}


def _set_scheduled_actions(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], body: dict[str, Any]
) -> GraphResponse:
    from tenantguard.emulator.messages import GraphResponse  # messages imports tenant

    if not isinstance(body.get("scheduledActions"), list):
        raise bad_request("scheduledActions must be a list.")
    rules = []
    for rule in _list_param(body, "scheduledActions"):
        clean = _without_ids(rule)
        clean["scheduledActionConfigurations"] = [
            _without_ids(item)
            for item in rule.get("scheduledActionConfigurations") or []
            if isinstance(item, dict)
        ]
        rules.append(clean)
    updated = copy.deepcopy(obj)
    updated[_SCHEDULED_ACTIONS] = rules
    # A navigation write: the policy's own lastModifiedDateTime stays.
    stored = req.tenant.ingest(spec, updated, previous=obj)
    req.tenant.save(spec, stored)
    value = [
        project(rule, spec.navigation[_SCHEDULED_ACTIONS], spec.navigation[_SCHEDULED_ACTIONS])
        for rule in stored[_SCHEDULED_ACTIONS]
    ]
    context = req.context(
        "Collection(microsoft.graph.deviceManagementComplianceScheduledActionForRule)"
    )
    return GraphResponse(200, {"@odata.context": context, "value": value})


# --- reusable policy settings: who uses them --------------------------------------------

_CONFIGURATION_POLICIES = "deviceManagement/configurationPolicies"
_REFERENCING = "referencingconfigurationpolicies"


def _references(policy: dict[str, Any], setting_id: str) -> bool:
    from tenantguard.intune.normalize import values_at
    from tenantguard.intune.types.reusable_settings import REUSABLE_SETTING_REFS

    return any(
        str(value) == setting_id
        for ref in REUSABLE_SETTING_REFS
        for value in values_at(policy, ref.path)
    )


def referencing_policies(
    req: GraphRequest, spec: ResourceSpec, object_id: str, name: str
) -> GraphResponse:
    """``GET reusablePolicySettings/{id}/referencingConfigurationPolicies``: the settings
    catalog policies whose setting values name this reusable setting (read-only, computed)."""
    from tenantguard.emulator.errors import no_route
    from tenantguard.emulator.messages import GraphResponse  # messages imports tenant
    from tenantguard.emulator.reads import require

    if name.lower() != _REFERENCING:
        raise no_route(req.path)
    require(req, spec, object_id)
    policies = BY_COLLECTION[_CONFIGURATION_POLICIES]
    value = [
        project(policy, policies.navigation, {})
        for policy in req.tenant.stored_list(policies)
        if _references(policy, object_id)
    ]
    fragment = f"{spec.collection}('{object_id}')/referencingConfigurationPolicies"
    return GraphResponse(200, {"@odata.context": req.context(fragment), "value": value})
