"""Endpoint security intents (``deviceManagement/intents``): security baselines and the
template-based endpoint security profiles that predate the settings catalog.

Graph facts (beta resource pages ``deviceManagementIntent``, ``deviceManagementTemplate``,
``deviceManagementSettingInstance``; action pages ``createInstance``, ``updateSettings``,
``assign``):

- an intent has ``displayName``, ``description``, ``templateId`` (the template it was created
  from), ``roleScopeTagIds``, and the read-only ``isAssigned``,
  ``isMigratingToConfigurationPolicy`` and ``lastModifiedDateTime``; no ``createdDateTime``, no
  ``version``. Relationships: ``settings`` (``deviceManagementSettingInstance``: ``id``,
  ``definitionId``, ``valueJson``, and ``value`` on the typed instances such as
  ``deviceManagementBooleanSettingInstance``), ``categories`` (each with its ``settings``),
  ``assignments`` (``id``, ``target``).
- created from its template: ``POST deviceManagement/templates/{templateId}/createInstance``
  with ``displayName``, ``description``, ``settingsDelta`` (the settings) and
  ``roleScopeTagIds``, answered 200 with the intent (Microsoft's own scripts and IntuneCD
  create intents this way).
- settings change through ``POST intents/{id}/updateSettings`` with ``{"settings": [...]}``
  (204); IntuneCD sends one setting per call, so the action adds or changes the settings it
  names and keeps the others. ``displayName`` / ``description`` / ``roleScopeTagIds`` change
  with ``PATCH``.
- ``POST intents/{id}/assign`` with ``{"assignments": [...]}`` answers 204.
- the templates (``deviceManagement/templates``, with ``categories``) are Microsoft's catalog,
  the same in every tenant: never backed up, served by the emulator as built-in objects
  (``TEMPLATES`` below, the ones the demo intents use).

IntuneCD 2.6.0 lists ``intents``, ``templates``, then ``templates/{id}/categories`` and
``intents/{id}/categories/{categoryId}/settings`` for each intent, and
``intents/{id}/assignments``.
"""

from __future__ import annotations

from typing import Any

from tenantguard.intune.typespec import (
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    STANDARD_REFS,
    AssignContract,
    AssignSpec,
    ChildListAction,
    CollectionRules,
    CreateAction,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    SortRule,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION

INTENTS = dm("intents")
TEMPLATES = dm("templates")

_DEFINITION_PREFIX = "deviceConfiguration--"


def _category(
    category_id: str, name: str, definitions: tuple[str, ...], *, required: bool = False
) -> dict[str, Any]:
    return {
        "@odata.type": odata("deviceManagementTemplateSettingCategory"),
        "id": category_id,
        "displayName": name,
        "hasRequiredSetting": required,
        "settingDefinitions": [
            {
                "@odata.type": odata("deviceManagementSettingDefinition"),
                "id": _DEFINITION_PREFIX + definition,
            }
            for definition in definitions
        ],
        "recommendedSettings": [],
    }


def _template(
    template_id: str,
    name: str,
    *,
    odata_type: str,
    template_type: str,
    subtype: str,
    version: str,
    platform: str,
    published: str,
    categories: tuple[dict[str, Any], ...],
) -> tuple[str, dict[str, Any]]:
    return (
        TEMPLATES,
        {
            "@odata.type": odata(odata_type),
            "id": template_id,
            "displayName": name,
            "description": name,
            "versionInfo": version,
            "isDeprecated": False,
            "intentCount": 0,
            "templateType": template_type,
            "platformType": platform,
            "templateSubtype": subtype,
            "publishedDateTime": published,
            "categories": list(categories),
            "settings": [],
            "migratableTo": [],
        },
    )


#: Microsoft's templates the demo intents use (ids as Graph has them in every tenant; the
#: categories list the setting definitions the emulator files each intent setting under).
BUILTIN_TEMPLATES: tuple[tuple[str, dict[str, Any]], ...] = (
    _template(
        "034ccd46-190c-4afc-adf1-ad7cc11262eb",
        "MDM Security Baseline for Windows 10 and later for November 2021",
        odata_type="securityBaselineTemplate",
        template_type="securityBaseline",
        subtype="none",
        version="November 2021",
        platform="windows10AndLater",
        published="2021-11-17T00:00:00Z",
        categories=(
            _category(
                "2ad6ebf7-0b3a-4e8c-93e9-8a8d1d6c3d01",
                "Microsoft Defender",
                (
                    "windows10GeneralConfiguration_defenderCloudBlockLevel",
                    "windows10GeneralConfiguration_defenderRequireRealTimeMonitoring",
                    "windows10GeneralConfiguration_defenderScanMaxCpu",
                ),
            ),
            _category(
                "2ad6ebf7-0b3a-4e8c-93e9-8a8d1d6c3d02",
                "Firewall",
                (
                    "windows10EndpointProtectionConfiguration_firewallProfileDomain",
                    "windows10EndpointProtectionConfiguration_firewallProfilePrivate",
                    "windows10EndpointProtectionConfiguration_firewallProfilePublic",
                ),
            ),
            _category(
                "2ad6ebf7-0b3a-4e8c-93e9-8a8d1d6c3d03",
                "Microsoft Edge",
                ("windows10GeneralConfiguration_edgeBlockPasswordManager",),
            ),
        ),
    ),
    _template(
        "d1174162-1dd2-4976-affc-6667049ab0ae",
        "BitLocker",
        odata_type="deviceManagementTemplate",
        template_type="securityTemplate",
        subtype="diskEncryption",
        version="1",
        platform="windows10AndLater",
        published="2019-10-22T00:00:00Z",
        categories=(
            _category(
                "7e1c5d9a-3f42-4a8b-9c61-0b5e2d7f4a01",
                "BitLocker - Base Settings",
                (
                    "windows10EndpointProtectionConfiguration_bitLockerEncryptDevice",
                    "windows10EndpointProtectionConfiguration_bitLockerDisableWarningForOtherDiskEncryption",
                    "windows10EndpointProtectionConfiguration_bitLockerAllowStandardUserEncryption",
                    "windows10EndpointProtectionConfiguration_bitLockerRecoveryPasswordRotation",
                ),
                required=True,
            ),
            _category(
                "7e1c5d9a-3f42-4a8b-9c61-0b5e2d7f4a02",
                "BitLocker - OS Drive Settings",
                ("windows10EndpointProtectionConfiguration_bitLockerSystemDrivePolicy",),
            ),
        ),
    ),
    _template(
        "4356d05c-a4ab-4a07-9ece-739f7c792910",
        "Microsoft Defender Firewall Rules",
        odata_type="deviceManagementTemplate",
        template_type="securityTemplate",
        subtype="firewall",
        version="1",
        platform="windows10AndLater",
        published="2020-06-18T00:00:00Z",
        categories=(
            _category(
                "c0b6f2e4-5a7d-4b18-8e3f-1d9a6c2b7e01",
                "Firewall Rules",
                ("windows10EndpointProtectionConfiguration_firewallRules",),
            ),
        ),
    ),
)


FAMILY = TypeFamily(
    order=35,
    types=(
        PolicyType(
            key="endpoint_security_intent",
            label="Endpoint security and security baselines (templates)",
            category="Endpoint security",
            collection=INTENTS,
            odata_types=odata_types("deviceManagementIntent"),
            default_odata_type=odata("deviceManagementIntent"),
            per_item_fetch=(
                FETCH_ITEM_ASSIGNMENTS,
                PerItemFetch(kind="settings", path="settings", merge_into="settings"),
            ),
            read_only_fields=frozenset({"isAssigned", "isMigratingToConfigurationPolicy"}),
            # Settings are written by createInstance (as settingsDelta) and updateSettings.
            write_excluded_fields=frozenset({"settings", "categories"}),
            # The template is chosen once, in the createInstance path; never PATCHed.
            create_only_fields=frozenset({"templateId"}),
            child_id_paths=("settings[].id",),
            unordered_lists=(SortRule("settings", ("definitionId",)),),
            create_action=CreateAction(
                path=f"{TEMPLATES}/{{templateId}}/createInstance",
                body_fields=("displayName", "description", "roleScopeTagIds"),
                renamed=(("settings", "settingsDelta"),),
            ),
            child_list_actions=(
                ChildListAction(
                    property="settings",
                    action="updateSettings",
                    body_key="settings",
                    merges=True,
                    identity="definitionId",
                ),
            ),
            assign=AssignSpec(expected_status=204),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(from_odata_type=False),
            description=(
                "Security baselines and template-based endpoint security profiles "
                "(deviceManagement/intents) with their settings."
            ),
            list_identities=("definitionId",),
        ),
    ),
    collections=(
        CollectionRules(
            INTENTS,
            "intent",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceManagementIntent"),
            navigation={"assignments": {}, "settings": {}, "categories": {"settings": {}}},
            assign=AssignContract("assignments", 204),
            assignment_fields=(),
            has_version=False,
            has_created=False,
            server_filled=(("isAssigned", False), ("isMigratingToConfigurationPolicy", False)),
            read_only=("isMigratingToConfigurationPolicy",),
            traits=frozenset({"intents"}),
        ),
        CollectionRules(
            TEMPLATES,
            "template",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceManagementTemplate"),
            navigation={
                "categories": {"settingDefinitions": {}, "recommendedSettings": {}},
                "settings": {},
                "migratableTo": {},
            },
            versioned=False,
            has_created=False,
            traits=frozenset({"intent_templates"}),
        ),
    ),
    builtin_objects=BUILTIN_TEMPLATES,
)
