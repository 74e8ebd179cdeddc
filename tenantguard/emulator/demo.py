"""Demo and benchmark data for the Graph emulator.

Everything here produces Graph objects in the seed format of ``docs/architecture.md`` §2: one dict
per object, exactly as a Graph GET returns it with its navigation properties expanded, and an
``@odata.context`` naming the collection.

- :func:`demo_tenant_objects` builds a realistic Intune configuration for "Contoso".
- :func:`write_seed_dir` writes such objects as a seed directory (one JSON file per object).
- :func:`apply_demo_drift` changes an emulated tenant after a backup, so a restore has work to do.
- :func:`generate_bulk_objects` builds thousands of mixed objects for benchmarks.

Ids are ``uuid5`` values derived from the tenant label and the object's name: the same label gives
the same ids on every run, two labels give disjoint ids. ``seed`` only drives timestamps and the
benchmark's random choices, never ids. No Django imports here.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "ALL_DEVICES_VIRTUAL_GROUP_ID",
    "ALL_USERS_VIRTUAL_GROUP_ID",
    "DEMO_COLLECTIONS",
    "DemoTenant",
    "apply_demo_drift",
    "collection_of",
    "demo_organization",
    "demo_tenant_domain",
    "demo_tenant_objects",
    "generate_bulk_objects",
    "write_seed_dir",
]

JSONDict = dict[str, Any]

GRAPH_BETA = "https://graph.microsoft.com/beta"
GRAPH_V1 = "https://graph.microsoft.com/v1.0"

# Collections (paths under the Graph version root).
GROUPS = "groups"
SCOPE_TAGS = "deviceManagement/roleScopeTags"
ASSIGNMENT_FILTERS = "deviceManagement/assignmentFilters"
NOTIFICATION_TEMPLATES = "deviceManagement/notificationMessageTemplates"
DEVICE_CONFIGURATIONS = "deviceManagement/deviceConfigurations"
COMPLIANCE_POLICIES = "deviceManagement/deviceCompliancePolicies"
CONFIGURATION_POLICIES = "deviceManagement/configurationPolicies"
GROUP_POLICY_CONFIGURATIONS = "deviceManagement/groupPolicyConfigurations"
SCRIPTS = "deviceManagement/deviceManagementScripts"
HEALTH_SCRIPTS = "deviceManagement/deviceHealthScripts"
IOS_APP_PROTECTIONS = "deviceAppManagement/iosManagedAppProtections"
ANDROID_APP_PROTECTIONS = "deviceAppManagement/androidManagedAppProtections"
AUTOPILOT_PROFILES = "deviceManagement/windowsAutopilotDeploymentProfiles"
DRIVER_UPDATE_PROFILES = "deviceManagement/windowsDriverUpdateProfiles"
FEATURE_UPDATE_PROFILES = "deviceManagement/windowsFeatureUpdateProfiles"
CONDITIONAL_ACCESS = "identity/conditionalAccess/policies"
ENROLLMENT_CONFIGURATIONS = "deviceManagement/deviceEnrollmentConfigurations"

# What each collection's GET expands, as it appears inside @odata.context.
_EXPANSIONS: dict[str, str] = {
    GROUPS: "",
    SCOPE_TAGS: "",
    ASSIGNMENT_FILTERS: "",
    NOTIFICATION_TEMPLATES: "(localizedNotificationMessages())",
    DEVICE_CONFIGURATIONS: "(assignments())",
    COMPLIANCE_POLICIES: "(assignments(),scheduledActionsForRule(scheduledActionConfigurations()))",
    CONFIGURATION_POLICIES: "(assignments(),settings())",
    GROUP_POLICY_CONFIGURATIONS: "(assignments(),definitionValues(definition(),presentationValues(presentation())))",
    SCRIPTS: "(assignments())",
    HEALTH_SCRIPTS: "(assignments())",
    IOS_APP_PROTECTIONS: "(assignments(),apps())",
    ANDROID_APP_PROTECTIONS: "(assignments(),apps())",
    AUTOPILOT_PROFILES: "(assignments())",
    DRIVER_UPDATE_PROFILES: "(assignments())",
    FEATURE_UPDATE_PROFILES: "(assignments())",
    CONDITIONAL_ACCESS: "",
    ENROLLMENT_CONFIGURATIONS: "(assignments())",
}

#: Every collection the demo tenant fills, in seed order (foundations first).
DEMO_COLLECTIONS: tuple[str, ...] = tuple(_EXPANSIONS)

#: Intune's well-known virtual group ids used in assignment ids of "all devices / all users".
ALL_DEVICES_VIRTUAL_GROUP_ID = "adadadad-808e-44e2-905a-0b7873a8a531"
ALL_USERS_VIRTUAL_GROUP_ID = "acacacac-9df4-4c7d-9d50-4ef0226f57a9"
_NO_TEMPLATE = "00000000-0000-0000-0000-000000000000"

_ID_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4b57-9a51-2f5e3c7d9b10")
_BASE_TIME = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def _context(collection: str) -> str:
    root = GRAPH_V1 if collection == GROUPS else GRAPH_BETA
    return f"{root}/$metadata#{collection}{_EXPANSIONS[collection]}/$entity"


_CONTEXT_RE = re.compile(r"\$metadata#(?P<path>[^(]+?)(?:\(.*\))?(?:/\$entity)?$")


def collection_of(obj: JSONDict) -> str:
    """The collection path named by an object's ``@odata.context`` (expansions removed)."""
    context = obj.get("@odata.context")
    if not isinstance(context, str):
        raise ValueError(f"object {obj.get('id')!r} has no @odata.context")
    match = _CONTEXT_RE.search(context)
    if match is None:
        raise ValueError(f"cannot read a collection from @odata.context {context!r}")
    return match.group("path")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _graph_time(moment: datetime) -> str:
    # Graph writes seven fractional digits and a literal Z.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


# --------------------------------------------------------------------------------------------
# Assignment targets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    kind: str  # "include" | "exclude" | "allDevices" | "allUsers"
    group: str | None = None  # group displayName
    filter: str | None = None  # assignment filter displayName
    filter_type: str = "none"


def _inc(group: str, *, filter: str | None = None, mode: str = "include") -> _Target:
    return _Target("include", group, filter, mode if filter else "none")


def _exc(group: str) -> _Target:
    # Intune does not allow filters on exclusion targets.
    return _Target("exclude", group)


def _all_devices(*, filter: str | None = None, mode: str = "include") -> _Target:
    return _Target("allDevices", None, filter, mode if filter else "none")


def _all_users(*, filter: str | None = None, mode: str = "include") -> _Target:
    return _Target("allUsers", None, filter, mode if filter else "none")


_TARGET_TYPES = {
    "include": "#microsoft.graph.groupAssignmentTarget",
    "exclude": "#microsoft.graph.exclusionGroupAssignmentTarget",
    "allDevices": "#microsoft.graph.allDevicesAssignmentTarget",
    "allUsers": "#microsoft.graph.allLicensedUsersAssignmentTarget",
}

# Assignment entity shape per collection: which of source/sourceId/intent it carries.
_ASSIGNMENT_WITH_SOURCE = {
    COMPLIANCE_POLICIES,
    CONFIGURATION_POLICIES,
    IOS_APP_PROTECTIONS,
    ANDROID_APP_PROTECTIONS,
    AUTOPILOT_PROFILES,
    ENROLLMENT_CONFIGURATIONS,
    DEVICE_CONFIGURATIONS,
}


# --------------------------------------------------------------------------------------------
# Settings catalog instances
# --------------------------------------------------------------------------------------------

_SC = "#microsoft.graph.deviceManagementConfiguration"


def _tmpl_ref(template_id: str | None, definition_id: str, kind: str) -> JSONDict | None:
    """Endpoint-security settings carry template references; plain settings catalog does not."""
    if template_id is None:
        return None
    ref = str(uuid.uuid5(_ID_NAMESPACE, f"template|{template_id}|{kind}|{definition_id}"))
    if kind == "instance":
        return {"settingInstanceTemplateId": ref}
    return {"settingValueTemplateId": ref, "useTemplateDefault": False}


def _choice(
    definition_id: str,
    value: str,
    children: Sequence[JSONDict] = (),
    *,
    template: str | None = None,
) -> JSONDict:
    return {
        "@odata.type": f"{_SC}ChoiceSettingInstance",
        "settingDefinitionId": definition_id,
        "settingInstanceTemplateReference": _tmpl_ref(template, definition_id, "instance"),
        "choiceSettingValue": {
            "@odata.type": f"{_SC}ChoiceSettingValue",
            "settingValueTemplateReference": _tmpl_ref(template, definition_id, "value"),
            "value": value,
            "children": list(children),
        },
    }


def _enabled(definition_id: str, children: Sequence[JSONDict] = (), *, on: bool = True) -> JSONDict:
    """An ADMX-backed choice setting: ``<definition>_1`` enabled, ``_0`` disabled."""
    return _choice(definition_id, f"{definition_id}_{1 if on else 0}", children)


def _simple_int(definition_id: str, value: int, *, template: str | None = None) -> JSONDict:
    return {
        "@odata.type": f"{_SC}SimpleSettingInstance",
        "settingDefinitionId": definition_id,
        "settingInstanceTemplateReference": _tmpl_ref(template, definition_id, "instance"),
        "simpleSettingValue": {
            "@odata.type": f"{_SC}IntegerSettingValue",
            "settingValueTemplateReference": _tmpl_ref(template, definition_id, "value"),
            "value": value,
        },
    }


def _simple_str(definition_id: str, value: str, *, template: str | None = None) -> JSONDict:
    return {
        "@odata.type": f"{_SC}SimpleSettingInstance",
        "settingDefinitionId": definition_id,
        "settingInstanceTemplateReference": _tmpl_ref(template, definition_id, "instance"),
        "simpleSettingValue": {
            "@odata.type": f"{_SC}StringSettingValue",
            "settingValueTemplateReference": _tmpl_ref(template, definition_id, "value"),
            "value": value,
        },
    }


def _simple_collection(definition_id: str, values: Sequence[str]) -> JSONDict:
    return {
        "@odata.type": f"{_SC}SimpleSettingCollectionInstance",
        "settingDefinitionId": definition_id,
        "settingInstanceTemplateReference": None,
        "simpleSettingCollectionValue": [
            {
                "@odata.type": f"{_SC}StringSettingValue",
                "settingValueTemplateReference": None,
                "value": value,
            }
            for value in values
        ],
    }


def _group_collection(
    definition_id: str, groups: Sequence[Sequence[JSONDict]], *, template: str | None = None
) -> JSONDict:
    return {
        "@odata.type": f"{_SC}GroupSettingCollectionInstance",
        "settingDefinitionId": definition_id,
        "settingInstanceTemplateReference": _tmpl_ref(template, definition_id, "instance"),
        "groupSettingCollectionValue": [
            {
                "@odata.type": f"{_SC}GroupSettingValue",
                "settingValueTemplateReference": None,
                "children": list(children),
            }
            for children in groups
        ],
    }


def _settings(instances: Iterable[JSONDict]) -> list[JSONDict]:
    return [
        {"@odata.type": f"{_SC}Setting", "id": str(index), "settingInstance": instance}
        for index, instance in enumerate(instances)
    ]


_EDGE = "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge"
_EDGE_SECURITY_FLAGS = (
    "smartscreenenabled",
    "smartscreenpuaenabled",
    "preventsmartscreenpromptoverride",
    "preventsmartscreenpromptoverrideforfiles",
    "smartscreendnsrequestsenabled",
    "siteperprocess",
    "typosquattingcheckerenabled",
    "browserlegacyextensionpointsblockingenabled",
    "sharedarraybufferunrestrictedaccessallowed",
    "basicauthoverhttpenabled",
    "dnsinterceptionchecksenabled",
    "enhancesecuritymode",
    "insecureprivatenetworkrequestsallowed",
    "internetexplorerintegrationreloadiniemodeallowed",
    "renderercodeintegrityenabled",
    "sslerroroverrideallowed",
    "showpdfdefaultrecommendationsenabled",
    "passwordmanagerenabled",
    "passwordmonitorallowed",
    "passwordrevealenabled",
    "autofilladdressenabled",
    "autofillcreditcardenabled",
    "importautofillformdata",
    "importsavedpasswords",
    "hidefirstrunexperience",
    "personalizationreportingenabled",
    "diagnosticdata",
    "edgeshoppingassistantenabled",
    "showmicrosoftrewards",
    "spotlightexperiencesandrecommendationsenabled",
    "trackingprevention",
)
# Flags whose safe value is "disabled".
_EDGE_OFF = {
    "sharedarraybufferunrestrictedaccessallowed",
    "basicauthoverhttpenabled",
    "insecureprivatenetworkrequestsallowed",
    "sslerroroverrideallowed",
    "passwordrevealenabled",
    "autofillcreditcardenabled",
    "importsavedpasswords",
    "personalizationreportingenabled",
    "edgeshoppingassistantenabled",
    "showmicrosoftrewards",
    "spotlightexperiencesandrecommendationsenabled",
    "internetexplorerintegrationreloadiniemodeallowed",
}

_LSO = "device_vendor_msft_policy_config_localpoliciessecurityoptions"
_HARDENING_FLAGS = (
    f"{_LSO}_accounts_limitlocalaccountuseofblankpasswordstoconsolelogononly",
    f"{_LSO}_interactivelogon_donotdisplaylastsignedin",
    f"{_LSO}_interactivelogon_donotrequirectrlaltdel",
    f"{_LSO}_microsoftnetworkclient_digitallysigncommunicationsalways",
    f"{_LSO}_microsoftnetworkclient_sendunencryptedpasswordtothirdpartysmbservers",
    f"{_LSO}_microsoftnetworkserver_digitallysigncommunicationsalways",
    f"{_LSO}_networkaccess_donotallowanonymousenumerationofsamaccounts",
    f"{_LSO}_networkaccess_donotallowanonymousenumerationofsamaccountsandshares",
    f"{_LSO}_networkaccess_restrictanonymousaccesstonamedpipesandshares",
    f"{_LSO}_networksecurity_donotstorelanmanagerhashvalueonnextpasswordchange",
    f"{_LSO}_networksecurity_lanmanagerauthenticationlevel",
    f"{_LSO}_useraccountcontrol_behavioroftheelevationpromptforadministrators",
    f"{_LSO}_useraccountcontrol_behavioroftheelevationpromptforstandardusers",
    f"{_LSO}_useraccountcontrol_detectapplicationinstallationsandpromptforelevation",
    f"{_LSO}_useraccountcontrol_onlyelevateuiaccessapplicationsthatareinstalledinsecurelocations",
    f"{_LSO}_useraccountcontrol_runalladministratorsinadminapprovalmode",
    f"{_LSO}_useraccountcontrol_switchtothesecuredesktopwhenpromptingforelevation",
    f"{_LSO}_useraccountcontrol_virtualizefileandregistrywritefailurestoperuserlocations",
    "device_vendor_msft_policy_config_credentialsdelegation_remotehostallowsdelegationofnonexportablecredentials",
    "device_vendor_msft_policy_config_credentialsui_enumerateadministrators",
    "device_vendor_msft_policy_config_dataprotection_allowdirectmemoryaccess",
    "device_vendor_msft_policy_config_deviceguard_enablevirtualizationbasedsecurity",
    "device_vendor_msft_policy_config_deviceguard_lsacfgflags",
    "device_vendor_msft_policy_config_mssecurityguide_applyuacrestrictionstolocalaccountsonnetworklogon",
    "device_vendor_msft_policy_config_mssecurityguide_configuresmbv1clientdriver",
    "device_vendor_msft_policy_config_mssecurityguide_configuresmbv1server",
    "device_vendor_msft_policy_config_mssecurityguide_enablestructuredexceptionhandlingoverwriteprotection",
    "device_vendor_msft_policy_config_mslegacy_allowicmpredirectstooverrideospfgeneratedroutes",
    "device_vendor_msft_policy_config_remotedesktopservices_donotallowpasswordsaving",
    "device_vendor_msft_policy_config_remotedesktopservices_promptforpassworduponconnection",
    "device_vendor_msft_policy_config_smartscreen_enablesmartscreeninshell",
    "device_vendor_msft_policy_config_windowsinkworkspace_allowwindowsinkworkspace",
    "device_vendor_msft_policy_config_windowslogon_allowautomaticrestartsignon",
)


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


class _Builder:
    """Collects objects for one tenant; resolves names of groups, filters, tags and templates."""

    def __init__(self, *, tenant_label: str, seed: int) -> None:
        self.label = tenant_label
        self.rng = random.Random(seed)
        self.objects: list[JSONDict] = []
        self.group_ids: dict[str, str] = {}
        self.filter_ids: dict[str, str] = {}
        self.tag_ids: dict[str, str] = {"Default": "0"}
        self.template_ids: dict[str, str] = {}
        self._ids_seen: set[str] = set()

    # ---- basics ----

    def uid(self, kind: str, name: str) -> str:
        value = str(uuid.uuid5(_ID_NAMESPACE, f"{self.label}|{kind}|{name}"))
        if value in self._ids_seen:
            raise ValueError(f"duplicate demo object name {name!r} for {kind}")
        self._ids_seen.add(value)
        return value

    def times(self) -> tuple[str, str]:
        created = _BASE_TIME - timedelta(
            days=self.rng.randint(40, 900), seconds=self.rng.randint(0, 86_399)
        )
        created = created.replace(microsecond=self.rng.randint(0, 999_999))
        modified = created + timedelta(
            days=self.rng.randint(0, 35), seconds=self.rng.randint(0, 86_399)
        )
        modified = min(modified, _BASE_TIME)
        return _graph_time(created), _graph_time(modified)

    def tags(self, names: Sequence[str]) -> list[str]:
        return [self.tag_ids[name] for name in names]

    def add(self, collection: str, body: JSONDict) -> JSONDict:
        obj: JSONDict = {"@odata.context": _context(collection)}
        obj.update(body)
        self.objects.append(obj)
        return obj

    def assignments(
        self,
        collection: str,
        policy_id: str,
        targets: Sequence[_Target],
        extra: Callable[[int], JSONDict] | None = None,
    ) -> list[JSONDict]:
        result: list[JSONDict] = []
        for index, spec in enumerate(targets):
            target: JSONDict = {"@odata.type": _TARGET_TYPES[spec.kind]}
            target["deviceAndAppManagementAssignmentFilterId"] = (
                self.filter_ids[spec.filter] if spec.filter else None
            )
            target["deviceAndAppManagementAssignmentFilterType"] = spec.filter_type
            if spec.kind in ("include", "exclude"):
                assert spec.group is not None
                group_id = self.group_ids[spec.group]
                target["groupId"] = group_id
            elif spec.kind == "allDevices":
                group_id = ALL_DEVICES_VIRTUAL_GROUP_ID
            else:
                group_id = ALL_USERS_VIRTUAL_GROUP_ID
            if collection in (IOS_APP_PROTECTIONS, ANDROID_APP_PROTECTIONS):
                assignment_id = f"{group_id}_{1 if spec.kind == 'exclude' else 0}"
            else:
                assignment_id = f"{policy_id}_{group_id}"
            item: JSONDict = {"id": assignment_id}
            if collection in _ASSIGNMENT_WITH_SOURCE:
                item["source"] = "direct"
                item["sourceId"] = policy_id
            if collection == DEVICE_CONFIGURATIONS:
                item["intent"] = "apply"
            if collection == GROUP_POLICY_CONFIGURATIONS:
                item["lastModifiedDateTime"] = self.times()[1]
            item["target"] = target
            if extra is not None:
                item.update(extra(index))
            result.append(item)
        return result

    # ---- foundations ----

    def group(self, name: str, description: str, *, rule: str | None = None) -> JSONDict:
        group_id = self.uid("group", name)
        self.group_ids[name] = group_id
        created, _ = self.times()
        nickname = re.sub(r"[^A-Za-z0-9]", "", name)[:40] or "group"
        return self.add(
            GROUPS,
            {
                "id": group_id,
                "deletedDateTime": None,
                "classification": None,
                "createdDateTime": created[:19] + "Z",
                "creationOptions": [],
                "description": description,
                "displayName": name,
                "expirationDateTime": None,
                "groupTypes": ["DynamicMembership"] if rule else [],
                "isAssignableToRole": None,
                "mail": None,
                "mailEnabled": False,
                "mailNickname": nickname,
                "membershipRule": rule,
                "membershipRuleProcessingState": "On" if rule else None,
                "onPremisesDomainName": None,
                "onPremisesLastSyncDateTime": None,
                "onPremisesNetBiosName": None,
                "onPremisesSamAccountName": None,
                "onPremisesSecurityIdentifier": None,
                "onPremisesSyncEnabled": None,
                "preferredDataLocation": None,
                "preferredLanguage": None,
                "proxyAddresses": [],
                "renewedDateTime": created[:19] + "Z",
                "resourceBehaviorOptions": [],
                "resourceProvisioningOptions": [],
                "securityEnabled": True,
                "securityIdentifier": "S-1-12-1-"
                + "-".join(
                    str(int(group_id.replace("-", "")[i : i + 8], 16)) for i in (0, 8, 16, 24)
                ),
                "theme": None,
                "uniqueName": None,
                "visibility": None,
                "onPremisesProvisioningErrors": [],
                "serviceProvisioningErrors": [],
            },
        )

    def scope_tag(self, name: str, description: str, *, number: int | None = None) -> JSONDict:
        if name == "Default":
            tag_id = "0"
        else:
            # Intune scope-tag ids are small integers: they differ between tenants, which is
            # exactly what a cross-tenant restore has to map. Offset by the tenant label.
            offset = uuid.uuid5(_ID_NAMESPACE, f"{self.label}|scope-tags").int % 400
            tag_id = str(1 + offset * 10 + (number or 0))
            self._ids_seen.add(tag_id)
        self.tag_ids[name] = tag_id
        return self.add(
            SCOPE_TAGS,
            {
                "@odata.type": "#microsoft.graph.roleScopeTag",
                "id": tag_id,
                "displayName": name,
                "description": description,
                "isBuiltIn": name == "Default",
            },
        )

    def assignment_filter(
        self,
        name: str,
        *,
        platform: str,
        rule: str,
        description: str = "",
        tags: Sequence[str] = ("Default",),
    ) -> JSONDict:
        filter_id = self.uid("assignmentFilter", name)
        self.filter_ids[name] = filter_id
        created, modified = self.times()
        return self.add(
            ASSIGNMENT_FILTERS,
            {
                "@odata.type": "#microsoft.graph.deviceAndAppManagementAssignmentFilter",
                "id": filter_id,
                "createdDateTime": created,
                "lastModifiedDateTime": modified,
                "displayName": name,
                "description": description,
                "platform": platform,
                "rule": rule,
                "roleScopeTags": self.tags(tags),
                "payloads": [],
                "assignmentFilterManagementType": "devices",
            },
        )

    def notification_template(
        self,
        name: str,
        messages: Sequence[tuple[str, str, str]],
        *,
        description: str = "",
        tags: Sequence[str] = ("Default",),
    ) -> JSONDict:
        template_id = self.uid("notificationMessageTemplate", name)
        self.template_ids[name] = template_id
        _, modified = self.times()
        localized = [
            {
                "@odata.type": "#microsoft.graph.localizedNotificationMessage",
                "id": f"{template_id}_{locale}",
                "lastModifiedDateTime": modified,
                "locale": locale,
                "subject": subject,
                "messageTemplate": body,
                "isDefault": index == 0,
            }
            for index, (locale, subject, body) in enumerate(messages)
        ]
        return self.add(
            NOTIFICATION_TEMPLATES,
            {
                "@odata.type": "#microsoft.graph.notificationMessageTemplate",
                "id": template_id,
                "lastModifiedDateTime": modified,
                "displayName": name,
                "description": description,
                "defaultLocale": messages[0][0],
                "brandingOptions": "includeCompanyLogo,includeCompanyName,includeContactInformation",
                "roleScopeTagIds": self.tags(tags),
                "localizedNotificationMessages": localized,
            },
        )

    # ---- policies ----

    def device_configuration(
        self,
        name: str,
        odata_type: str,
        properties: JSONDict,
        *,
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
    ) -> JSONDict:
        policy_id = self.uid("deviceConfiguration", name)
        created, modified = self.times()
        body: JSONDict = {
            "@odata.type": odata_type,
            "id": policy_id,
            "lastModifiedDateTime": modified,
            "roleScopeTagIds": self.tags(tags),
            "supportsScopeTags": True,
            "deviceManagementApplicabilityRuleOsEdition": None,
            "deviceManagementApplicabilityRuleOsVersion": None,
            "deviceManagementApplicabilityRuleDeviceMode": None,
            "createdDateTime": created,
            "description": description,
            "displayName": name,
            "version": self.rng.randint(1, 9),
        }
        body.update(properties)
        body["assignments"] = self.assignments(DEVICE_CONFIGURATIONS, policy_id, targets)
        return self.add(DEVICE_CONFIGURATIONS, body)

    def compliance_policy(
        self,
        name: str,
        odata_type: str,
        properties: JSONDict,
        *,
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
        block_grace_hours: int = 0,
        notify: Sequence[tuple[str, int]] = (),
        retire_after_days: int | None = None,
    ) -> JSONDict:
        policy_id = self.uid("compliancePolicy", name)
        created, modified = self.times()
        actions: list[JSONDict] = [
            {
                "@odata.type": "#microsoft.graph.deviceComplianceActionItem",
                "id": self.uid("complianceAction", f"{name}|block"),
                "gracePeriodHours": block_grace_hours,
                "actionType": "block",
                "notificationTemplateId": _NO_TEMPLATE,
                "notificationMessageCCList": [],
            }
        ]
        for template_name, hours in notify:
            actions.append(
                {
                    "@odata.type": "#microsoft.graph.deviceComplianceActionItem",
                    "id": self.uid("complianceAction", f"{name}|notify|{template_name}"),
                    "gracePeriodHours": hours,
                    "actionType": "notification",
                    "notificationTemplateId": self.template_ids[template_name],
                    "notificationMessageCCList": [],
                }
            )
        if retire_after_days is not None:
            actions.append(
                {
                    "@odata.type": "#microsoft.graph.deviceComplianceActionItem",
                    "id": self.uid("complianceAction", f"{name}|retire"),
                    "gracePeriodHours": retire_after_days * 24,
                    "actionType": "retire",
                    "notificationTemplateId": _NO_TEMPLATE,
                    "notificationMessageCCList": [],
                }
            )
        body: JSONDict = {
            "@odata.type": odata_type,
            "roleScopeTagIds": self.tags(tags),
            "id": policy_id,
            "createdDateTime": created,
            "description": description,
            "lastModifiedDateTime": modified,
            "displayName": name,
            "version": self.rng.randint(1, 6),
        }
        body.update(properties)
        body["assignments"] = self.assignments(COMPLIANCE_POLICIES, policy_id, targets)
        body["scheduledActionsForRule"] = [
            {
                "@odata.type": "#microsoft.graph.deviceComplianceScheduledActionForRule",
                "id": self.uid("complianceRule", name),
                "ruleName": "PasswordRequired",
                "scheduledActionConfigurations": actions,
            }
        ]
        return self.add(COMPLIANCE_POLICIES, body)

    def configuration_policy(
        self,
        name: str,
        *,
        platforms: str,
        technologies: str,
        instances: Sequence[JSONDict],
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
        template: tuple[str, str, str, str] | None = None,
    ) -> JSONDict:
        """A settings catalog policy; ``template`` = (family, id, display name, version)."""
        policy_id = self.uid("configurationPolicy", name)
        created, modified = self.times()
        if template is None:
            template_ref: JSONDict = {
                "templateId": "",
                "templateFamily": "none",
                "templateDisplayName": None,
                "templateDisplayVersion": None,
            }
        else:
            family, template_id, template_name, template_version = template
            template_ref = {
                "templateId": template_id,
                "templateFamily": family,
                "templateDisplayName": template_name,
                "templateDisplayVersion": template_version,
            }
        settings = _settings(instances)
        body: JSONDict = {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicy",
            "createdDateTime": created,
            "creationSource": None,
            "description": description,
            "lastModifiedDateTime": modified,
            "name": name,
            "platforms": platforms,
            "priorityMetaData": None,
            "roleScopeTagIds": self.tags(tags),
            "settingCount": len(settings),
            "technologies": technologies,
            "id": policy_id,
            "templateReference": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicyTemplateReference",
                **template_ref,
            },
            "assignments": self.assignments(CONFIGURATION_POLICIES, policy_id, targets),
            "settings": settings,
        }
        body["isAssigned"] = bool(body["assignments"])
        return self.add(CONFIGURATION_POLICIES, body)

    def admin_template(
        self,
        name: str,
        definitions: Sequence[_AdmxSetting],
        *,
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
    ) -> JSONDict:
        policy_id = self.uid("groupPolicyConfiguration", name)
        created, modified = self.times()
        values = [definition.to_value(self, policy_id, created) for definition in definitions]
        return self.add(
            GROUP_POLICY_CONFIGURATIONS,
            {
                "@odata.type": "#microsoft.graph.groupPolicyConfiguration",
                "createdDateTime": created,
                "displayName": name,
                "description": description,
                "roleScopeTagIds": self.tags(tags),
                "policyConfigurationIngestionType": "builtIn",
                "id": policy_id,
                "lastModifiedDateTime": modified,
                "assignments": self.assignments(GROUP_POLICY_CONFIGURATIONS, policy_id, targets),
                "definitionValues": values,
            },
        )

    def script(
        self,
        name: str,
        *,
        file_name: str,
        content: str,
        run_as: str = "system",
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
    ) -> JSONDict:
        script_id = self.uid("deviceManagementScript", name)
        created, modified = self.times()
        return self.add(
            SCRIPTS,
            {
                "@odata.type": "#microsoft.graph.deviceManagementScript",
                "enforceSignatureCheck": False,
                "runAs32Bit": False,
                "id": script_id,
                "displayName": name,
                "description": description,
                "scriptContent": _b64(content),
                "createdDateTime": created,
                "lastModifiedDateTime": modified,
                "runAsAccount": run_as,
                "fileName": file_name,
                "roleScopeTagIds": self.tags(tags),
                "assignments": self.assignments(SCRIPTS, script_id, targets),
            },
        )

    def health_script(
        self,
        name: str,
        *,
        detection: str,
        remediation: str,
        run_as: str = "system",
        schedule: JSONDict | None = None,
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
    ) -> JSONDict:
        script_id = self.uid("deviceHealthScript", name)
        created, modified = self.times()
        run_schedule = schedule or {
            "@odata.type": "#microsoft.graph.deviceHealthScriptDailySchedule",
            "interval": 1,
            "useUtc": False,
            "time": "09:00:00.0000000",
        }

        def extra(index: int) -> JSONDict:
            return {"runRemediationScript": True, "runSchedule": copy.deepcopy(run_schedule)}

        return self.add(
            HEALTH_SCRIPTS,
            {
                "@odata.type": "#microsoft.graph.deviceHealthScript",
                "id": script_id,
                "publisher": "Contoso IT",
                "version": "1.0",
                "displayName": name,
                "description": description,
                "detectionScriptContent": _b64(detection),
                "remediationScriptContent": _b64(remediation),
                "createdDateTime": created,
                "lastModifiedDateTime": modified,
                "runAsAccount": run_as,
                "enforceSignatureCheck": False,
                "runAs32Bit": False,
                "roleScopeTagIds": self.tags(tags),
                "isGlobalScript": False,
                "highestAvailableVersion": None,
                "deviceHealthScriptType": "deviceHealthScript",
                "detectionScriptParameters": [],
                "remediationScriptParameters": [],
                "assignments": self.assignments(HEALTH_SCRIPTS, script_id, targets, extra),
            },
        )

    def app_protection(
        self,
        name: str,
        *,
        platform: str,
        apps: Sequence[str],
        properties: JSONDict,
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
    ) -> JSONDict:
        collection = IOS_APP_PROTECTIONS if platform == "ios" else ANDROID_APP_PROTECTIONS
        policy_id = "T_" + self.uid(f"{platform}ManagedAppProtection", name)
        created, modified = self.times()
        version = uuid.uuid5(_ID_NAMESPACE, f"{policy_id}|{modified}").hex
        body: JSONDict = {
            "@odata.type": f"#microsoft.graph.{platform}ManagedAppProtection",
            "displayName": name,
            "description": description,
            "createdDateTime": created,
            "lastModifiedDateTime": modified[:19] + "Z",
            "roleScopeTagIds": self.tags(tags),
            "id": policy_id,
            "version": f'"{version[:8]}-0000-0d00-0000-{version[8:20]}"',
        }
        body.update(_app_protection_common())
        body.update(properties)
        body["isAssigned"] = bool(targets)
        body["deployedAppCount"] = len(apps)
        body["assignments"] = self.assignments(collection, policy_id, targets)
        body["apps"] = [_managed_app(collection, policy_id, platform, app) for app in apps]
        return self.add(collection, body)

    def autopilot_profile(
        self,
        name: str,
        odata_type: str,
        properties: JSONDict,
        *,
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
    ) -> JSONDict:
        profile_id = self.uid("autopilotProfile", name)
        created, modified = self.times()
        body: JSONDict = {
            "@odata.type": odata_type,
            "id": profile_id,
            "displayName": name,
            "description": description,
            "language": "os-default",
            "locale": "os-default",
            "createdDateTime": created,
            "lastModifiedDateTime": modified,
            "enrollmentStatusScreenSettings": None,
            "extractHardwareHash": True,
            "hardwareHashExtractionEnabled": True,
            "deviceType": "windowsPc",
            "roleScopeTagIds": self.tags(tags),
            "managementServiceAppId": None,
        }
        body.update(properties)
        body["assignments"] = self.assignments(AUTOPILOT_PROFILES, profile_id, targets)
        return self.add(AUTOPILOT_PROFILES, body)

    def driver_update_profile(
        self,
        name: str,
        *,
        approval: str,
        deferral_days: int | None,
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
    ) -> JSONDict:
        profile_id = self.uid("windowsDriverUpdateProfile", name)
        created, modified = self.times()
        return self.add(
            DRIVER_UPDATE_PROFILES,
            {
                "@odata.type": "#microsoft.graph.windowsDriverUpdateProfile",
                "id": profile_id,
                "displayName": name,
                "description": description,
                "approvalType": approval,
                "deviceReporting": self.rng.randint(20, 900),
                "newUpdates": self.rng.randint(0, 6),
                "deploymentDeferralInDays": deferral_days,
                "createdDateTime": created,
                "lastModifiedDateTime": modified,
                "roleScopeTagIds": self.tags(tags),
                "inventorySyncStatus": {
                    "lastSuccessfulSyncDateTime": modified,
                    "driverInventorySyncState": "success",
                },
                "assignments": self.assignments(DRIVER_UPDATE_PROFILES, profile_id, targets),
            },
        )

    def feature_update_profile(
        self,
        name: str,
        *,
        version: str,
        end_of_support: str,
        targets: Sequence[_Target] = (),
        tags: Sequence[str] = ("Default",),
        description: str = "",
    ) -> JSONDict:
        profile_id = self.uid("windowsFeatureUpdateProfile", name)
        created, modified = self.times()
        return self.add(
            FEATURE_UPDATE_PROFILES,
            {
                "@odata.type": "#microsoft.graph.windowsFeatureUpdateProfile",
                "id": profile_id,
                "displayName": name,
                "description": description,
                "featureUpdateVersion": version,
                "rolloutSettings": {
                    "offerStartDateTimeInUTC": None,
                    "offerEndDateTimeInUTC": None,
                    "offerIntervalInDays": None,
                },
                "createdDateTime": created,
                "lastModifiedDateTime": modified,
                "roleScopeTagIds": self.tags(tags),
                "deployableContentDisplayName": version,
                "endOfSupportDate": end_of_support,
                "installLatestWindows10OnWindows11IneligibleDevice": False,
                "installFeatureUpdatesOptional": False,
                "assignments": self.assignments(FEATURE_UPDATE_PROFILES, profile_id, targets),
            },
        )


@dataclass(frozen=True)
class _AdmxSetting:
    """One administrative-template setting: a definition plus its presentation values."""

    display_name: str
    category_path: str
    class_type: str  # "machine" | "user"
    enabled: bool = True
    texts: tuple[tuple[str, str], ...] = ()  # (presentation label, value)
    decimals: tuple[tuple[str, int], ...] = ()
    booleans: tuple[tuple[str, bool], ...] = ()

    def to_value(self, builder: _Builder, policy_id: str, created: str) -> JSONDict:
        # Definitions and presentations are Microsoft's catalog: same ids in every tenant.
        definition_id = str(
            uuid.uuid5(_ID_NAMESPACE, f"admx|{self.class_type}|{self.display_name}")
        )
        category_id = str(uuid.uuid5(_ID_NAMESPACE, f"admx-category|{self.category_path}"))
        _, modified = builder.times()
        presentation_values: list[JSONDict] = []
        entries: list[tuple[str, str, str, Any]] = (
            [("Text", "TextBox", label, value) for label, value in self.texts]
            + [("Decimal", "DecimalTextBox", label, value) for label, value in self.decimals]
            + [("Boolean", "CheckBox", label, value) for label, value in self.booleans]
        )
        for value_kind, presentation_kind, label, value in entries:
            presentation_id = str(
                uuid.uuid5(_ID_NAMESPACE, f"admx-presentation|{definition_id}|{label}")
            )
            presentation_values.append(
                {
                    "@odata.type": f"#microsoft.graph.groupPolicyPresentationValue{value_kind}",
                    "id": builder.uid("groupPolicyPresentationValue", f"{policy_id}|{label}"),
                    "lastModifiedDateTime": modified,
                    "createdDateTime": created,
                    "value": value,
                    "presentation": {
                        "@odata.type": f"#microsoft.graph.groupPolicyPresentation{presentation_kind}",
                        "id": presentation_id,
                        "label": label,
                        "lastModifiedDateTime": "2024-04-11T17:22:05.3641234Z",
                    },
                }
            )
        return {
            "@odata.type": "#microsoft.graph.groupPolicyDefinitionValue",
            "createdDateTime": created,
            "enabled": self.enabled,
            "configurationType": "policy",
            "id": builder.uid("groupPolicyDefinitionValue", f"{policy_id}|{self.display_name}"),
            "lastModifiedDateTime": modified,
            "definition": {
                "@odata.type": "#microsoft.graph.groupPolicyDefinition",
                "classType": self.class_type,
                "displayName": self.display_name,
                "explainText": f"This policy setting controls: {self.display_name}.",
                "categoryPath": self.category_path,
                "supportedOn": "At least Windows 10",
                "policyType": "admxBacked",
                "hasRelatedDefinitions": False,
                "groupPolicyCategoryId": category_id,
                "minDeviceCspVersion": "10.0",
                "minUserCspVersion": "10.0",
                "version": "1.0",
                "id": definition_id,
                "lastModifiedDateTime": "2024-04-11T17:22:05.3641234Z",
            },
            "presentationValues": presentation_values,
        }


def _app_protection_common() -> JSONDict:
    """Properties both iOS and Android app protection carry, with Contoso's BYOD values."""
    return {
        "periodOfflineBeforeAccessCheck": "PT12H",
        "periodOnlineBeforeAccessCheck": "PT30M",
        "allowedInboundDataTransferSources": "allApps",
        "allowedOutboundDataTransferDestinations": "managedApps",
        "organizationalCredentialsRequired": False,
        "allowedOutboundClipboardSharingLevel": "managedAppsWithPasteIn",
        "dataBackupBlocked": True,
        "deviceComplianceRequired": True,
        "managedBrowserToOpenLinksRequired": True,
        "saveAsBlocked": True,
        "periodOfflineBeforeWipeIsEnforced": "P90D",
        "pinRequired": True,
        "maximumPinRetries": 5,
        "simplePinBlocked": True,
        "minimumPinLength": 6,
        "pinCharacterSet": "numeric",
        "periodBeforePinReset": "PT0S",
        "allowedDataStorageLocations": ["oneDriveForBusiness", "sharePoint"],
        "contactSyncBlocked": False,
        "printBlocked": True,
        "fingerprintBlocked": False,
        "disableAppPinIfDevicePinIsSet": False,
        "maximumRequiredOsVersion": None,
        "maximumWarningOsVersion": None,
        "maximumWipeOsVersion": None,
        "minimumRequiredOsVersion": None,
        "minimumWarningOsVersion": None,
        "minimumRequiredAppVersion": None,
        "minimumWarningAppVersion": None,
        "minimumWipeOsVersion": None,
        "minimumWipeAppVersion": None,
        "appActionIfDeviceComplianceRequired": "block",
        "appActionIfMaximumPinRetriesExceeded": "block",
        "pinRequiredInsteadOfBiometricTimeout": "PT12H",
        "allowedOutboundClipboardSharingExceptionLength": 0,
        "notificationRestriction": "blockOrganizationalData",
        "previousPinBlockCount": 0,
        "managedBrowser": "microsoftEdge",
        "maximumAllowedDeviceThreatLevel": "notConfigured",
        "mobileThreatDefenseRemediationAction": "block",
        "mobileThreatDefensePartnerPriority": None,
        "blockDataIngestionIntoOrganizationDocuments": False,
        "allowedDataIngestionLocations": ["oneDriveForBusiness", "sharePoint", "camera"],
        "appActionIfUnableToAuthenticateUser": "block",
        "dialerRestrictionLevel": "allApps",
        "gracePeriodToBlockAppsDuringOffClockHours": None,
        "targetedAppManagementLevels": "unmanaged",
        "appGroupType": "selectedPublicApps",
    }


_IOS_EXTRA: JSONDict = {
    "appDataEncryptionType": "whenDeviceLocked",
    "minimumRequiredSdkVersion": None,
    "faceIdBlocked": False,
    "minimumWipeSdkVersion": None,
    "allowedIosDeviceModels": None,
    "appActionIfIosDeviceModelNotAllowed": "block",
    "thirdPartyKeyboardsBlocked": False,
    "filterOpenInToOnlyManagedApps": False,
    "disableProtectionOfManagedOutboundOpenInData": False,
    "protectInboundDataFromUnknownSources": False,
    "customBrowserProtocol": None,
    "customDialerAppProtocol": None,
    "managedUniversalLinks": [],
    "exemptedUniversalLinks": [],
    "minimumWarningSdkVersion": None,
    "exemptedAppProtocols": [
        {"name": "Default", "value": "skype;app-settings;calshow;itms;itmss;itms-apps;"}
    ],
}

_ANDROID_EXTRA: JSONDict = {
    "screenCaptureBlocked": True,
    "disableAppEncryptionIfDeviceEncryptionIsEnabled": False,
    "encryptAppData": True,
    "minimumRequiredPatchVersion": "2024-01-01",
    "minimumWarningPatchVersion": None,
    "minimumWipePatchVersion": None,
    "allowedAndroidDeviceManufacturers": None,
    "appActionIfAndroidDeviceManufacturerNotAllowed": "block",
    "requiredAndroidSafetyNetDeviceAttestationType": "basicIntegrityAndDeviceCertification",
    "appActionIfAndroidSafetyNetDeviceAttestationFailed": "block",
    "requiredAndroidSafetyNetAppsVerificationType": "enabled",
    "appActionIfAndroidSafetyNetAppsVerificationFailed": "warn",
    "customBrowserPackageId": None,
    "customBrowserDisplayName": None,
    "minimumRequiredCompanyPortalVersion": None,
    "minimumWarningCompanyPortalVersion": None,
    "minimumWipeCompanyPortalVersion": None,
    "keyboardsRestricted": False,
    "allowedAndroidDeviceModels": [],
    "appActionIfAndroidDeviceModelNotAllowed": "block",
    "customDialerAppPackageId": None,
    "customDialerAppDisplayName": None,
    "biometricAuthenticationBlocked": False,
    "requiredAndroidSafetyNetEvaluationType": "hardwareBacked",
    "blockAfterCompanyPortalUpdateDeferralInDays": 0,
    "warnAfterCompanyPortalUpdateDeferralInDays": 0,
    "wipeAfterCompanyPortalUpdateDeferralInDays": 0,
    "deviceLockRequired": True,
    "appActionIfDeviceLockNotSet": "block",
    "connectToVpnOnLaunch": False,
    "appActionIfDevicePasscodeComplexityLessThanLow": None,
    "appActionIfDevicePasscodeComplexityLessThanMedium": "block",
    "appActionIfDevicePasscodeComplexityLessThanHigh": None,
    "requireClass3Biometrics": False,
    "requirePinAfterBiometricChange": True,
    "fingerprintAndBiometricEnabled": True,
    "exemptedAppPackages": [],
    "approvedKeyboards": [],
}

_IOS_APPS = (
    "com.microsoft.office.outlook",
    "com.microsoft.skype.teams",
    "com.microsoft.officemobile",
    "com.microsoft.msedge",
    "com.microsoft.skydrive",
    "com.microsoft.sharepoint",
    "com.microsoft.office.word",
    "com.microsoft.office.excel",
    "com.microsoft.office.powerpoint",
    "com.microsoft.onenote",
    "com.microsoft.to-do",
    "com.microsoft.plannermobile",
)
_ANDROID_APPS = (
    "com.microsoft.office.outlook",
    "com.microsoft.teams",
    "com.microsoft.office.officehubrow",
    "com.microsoft.emmx",
    "com.microsoft.skydrive",
    "com.microsoft.sharepoint",
    "com.microsoft.office.word",
    "com.microsoft.office.excel",
    "com.microsoft.office.powerpoint",
    "com.microsoft.office.onenote",
    "com.microsoft.todos",
    "com.microsoft.planner",
)


def _managed_app(collection: str, policy_id: str, platform: str, app: str) -> JSONDict:
    app_id = f"{app}.{platform}"
    identifier: JSONDict
    if platform == "ios":
        identifier = {"@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": app}
    else:
        identifier = {
            "@odata.type": "#microsoft.graph.androidMobileAppIdentifier",
            "packageId": app,
        }
    version = uuid.uuid5(_ID_NAMESPACE, f"app-version|{app_id}").int % 4_000_000_000 - 2_000_000_000
    return {
        "@odata.type": "#microsoft.graph.managedMobileApp",
        "id": app_id,
        "version": str(version),
        "mobileAppIdentifier": identifier,
    }


# --------------------------------------------------------------------------------------------
# Script bodies (PowerShell; stored base64 like Graph does)
# --------------------------------------------------------------------------------------------

_PS_WALLPAPER = r"""<#
.SYNOPSIS
    Sets the Contoso corporate wallpaper and lock screen.
#>
$ErrorActionPreference = 'Stop'
$source = 'https://contosocdn.blob.core.windows.net/branding/wallpaper-2026.jpg'
$target = Join-Path $env:ProgramData 'Contoso\Branding\wallpaper.jpg'
New-Item -ItemType Directory -Path (Split-Path $target) -Force | Out-Null
Invoke-WebRequest -Uri $source -OutFile $target -UseBasicParsing
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\PersonalizationCSP'
New-Item -Path $key -Force | Out-Null
Set-ItemProperty -Path $key -Name DesktopImagePath -Value $target
Set-ItemProperty -Path $key -Name DesktopImageStatus -Value 1 -Type DWord
Set-ItemProperty -Path $key -Name LockScreenImagePath -Value $target
Set-ItemProperty -Path $key -Name LockScreenImageStatus -Value 1 -Type DWord
Write-Output "Wallpaper set to $target"
"""

_PS_PRINTERS = r"""# Maps the Finance department printers for the signed-in user.
$printers = @(
    '\\print01.corp.contoso.com\FIN-Floor3-Color',
    '\\print01.corp.contoso.com\FIN-Floor3-Mono'
)
foreach ($printer in $printers) {
    if (-not (Get-Printer -Name $printer -ErrorAction SilentlyContinue)) {
        Add-Printer -ConnectionName $printer
    }
}
"""

_PS_LOCAL_ADMIN = r"""# Removes unexpected members of the local Administrators group.
$allowed = @('Administrator', 'CONTOSO\LAPS-Admins')
$members = Get-LocalGroupMember -Group 'Administrators'
foreach ($member in $members) {
    $name = $member.Name.Split('\')[-1]
    if ($allowed -notcontains $member.Name -and $allowed -notcontains $name) {
        Remove-LocalGroupMember -Group 'Administrators' -Member $member.Name
        Write-Output "Removed $($member.Name)"
    }
}
"""

_DETECT_DISK = r"""$free = (Get-PSDrive -Name C).Free / 1GB
if ($free -lt 10) {
    Write-Output "Low disk space: $([math]::Round($free, 1)) GB free"
    exit 1
}
Write-Output "OK: $([math]::Round($free, 1)) GB free"
exit 0
"""

_REMEDIATE_DISK = r"""Remove-Item -Path "$env:SystemRoot\Temp\*" -Recurse -Force -ErrorAction SilentlyContinue
Remove-Item -Path "$env:SystemRoot\SoftwareDistribution\Download\*" -Recurse -Force -ErrorAction SilentlyContinue
Start-Process -FilePath cleanmgr.exe -ArgumentList '/sagerun:1' -Wait
exit 0
"""

_DETECT_UPTIME = r"""$boot = (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime
$days = ((Get-Date) - $boot).TotalDays
if ($days -gt 14) { Write-Output "Uptime $([int]$days) days"; exit 1 }
exit 0
"""

_REMEDIATE_UPTIME = r"""Add-Type -AssemblyName System.Windows.Forms
$message = 'Your device has not restarted in over 14 days. Please restart to finish updates.'
[System.Windows.Forms.MessageBox]::Show($message, 'Contoso IT') | Out-Null
exit 0
"""

_DETECT_BITLOCKER_KEY = r"""$volume = Get-BitLockerVolume -MountPoint $env:SystemDrive
$protector = $volume.KeyProtector | Where-Object KeyProtectorType -eq 'RecoveryPassword'
if (-not $protector) { Write-Output 'No recovery password protector'; exit 1 }
exit 0
"""

_REMEDIATE_BITLOCKER_KEY = r"""$volume = Get-BitLockerVolume -MountPoint $env:SystemDrive
Add-BitLockerKeyProtector -MountPoint $env:SystemDrive -RecoveryPasswordProtector | Out-Null
$volume = Get-BitLockerVolume -MountPoint $env:SystemDrive
$protector = $volume.KeyProtector | Where-Object KeyProtectorType -eq 'RecoveryPassword'
BackupToAAD-BitLockerKeyProtector -MountPoint $env:SystemDrive -KeyProtectorId $protector[0].KeyProtectorId
exit 0
"""


# --------------------------------------------------------------------------------------------
# Demo tenant
# --------------------------------------------------------------------------------------------

_ES_ANTIVIRUS = (
    "endpointSecurityAntivirus",
    "804339ad-1553-4478-a742-138fb5807418_1",
    "Microsoft Defender Antivirus",
    "Version 1",
)
_ES_FIREWALL = (
    "endpointSecurityFirewall",
    "6078910e-d808-4a9f-a51d-1b8a7bacb7c0_1",
    "Windows Firewall",
    "Version 1",
)
_ES_DISK = (
    "endpointSecurityDiskEncryption",
    "46ddfc50-d10f-4867-b852-9434254b3bff_1",
    "BitLocker",
    "Version 1",
)
_ES_ASR = (
    "endpointSecurityAttackSurfaceReduction",
    "e8c053d6-9f95-42b1-a7f1-ebfd71c67a4b_1",
    "Attack Surface Reduction Rules",
    "Version 1",
)
_ES_EDR = (
    "endpointSecurityEndpointDetectionAndResponse",
    "0385b795-0f2f-44ac-8602-9f65bf6adede_1",
    "Endpoint detection and response",
    "Version 1",
)

_DEFENDER = "device_vendor_msft_policy_config_defender"
_FIREWALL = "vendor_msft_firewall_mdmstore"
_BITLOCKER = "device_vendor_msft_bitlocker"
_ASR_RULES = f"{_DEFENDER}_attacksurfacereductionrules"


def _antivirus_instances(template: str | None) -> list[JSONDict]:
    t = template
    return [
        _choice(
            f"{_DEFENDER}_allowarchivescanning", f"{_DEFENDER}_allowarchivescanning_1", template=t
        ),
        _choice(
            f"{_DEFENDER}_allowbehaviormonitoring",
            f"{_DEFENDER}_allowbehaviormonitoring_1",
            template=t,
        ),
        _choice(
            f"{_DEFENDER}_allowcloudprotection", f"{_DEFENDER}_allowcloudprotection_1", template=t
        ),
        _choice(f"{_DEFENDER}_allowemailscanning", f"{_DEFENDER}_allowemailscanning_1", template=t),
        _choice(
            f"{_DEFENDER}_allowioavprotection", f"{_DEFENDER}_allowioavprotection_1", template=t
        ),
        _choice(
            f"{_DEFENDER}_allowrealtimemonitoring",
            f"{_DEFENDER}_allowrealtimemonitoring_1",
            template=t,
        ),
        _choice(
            f"{_DEFENDER}_allowscriptscanning", f"{_DEFENDER}_allowscriptscanning_1", template=t
        ),
        _choice(f"{_DEFENDER}_cloudblocklevel", f"{_DEFENDER}_cloudblocklevel_2", template=t),
        _simple_int(f"{_DEFENDER}_cloudextendedtimeout", 50, template=t),
        _simple_int(f"{_DEFENDER}_daysretaincleanedmalware", 30, template=t),
        _choice(
            f"{_DEFENDER}_enablenetworkprotection",
            f"{_DEFENDER}_enablenetworkprotection_1",
            template=t,
        ),
        _choice(f"{_DEFENDER}_puaprotection", f"{_DEFENDER}_puaprotection_1", template=t),
        _choice(
            f"{_DEFENDER}_realtimescandirection", f"{_DEFENDER}_realtimescandirection_0", template=t
        ),
        _choice(f"{_DEFENDER}_scanparameter", f"{_DEFENDER}_scanparameter_1", template=t),
        _simple_int(f"{_DEFENDER}_schedulequickscantime", 720, template=t),
        _choice(
            f"{_DEFENDER}_submitsamplesconsent", f"{_DEFENDER}_submitsamplesconsent_1", template=t
        ),
        _choice(
            "device_vendor_msft_defender_configuration_disablelocaladminmerge",
            "device_vendor_msft_defender_configuration_disablelocaladminmerge_1",
            template=t,
        ),
        _choice(
            "device_vendor_msft_defender_configuration_tamperprotection_options",
            "device_vendor_msft_defender_configuration_tamperprotection_options_0",
            template=t,
        ),
    ]


def _firewall_instances(template: str | None) -> list[JSONDict]:
    t = template
    result: list[JSONDict] = []
    for profile in ("domainprofile", "privateprofile", "publicprofile"):
        result.append(
            _choice(
                f"{_FIREWALL}_{profile}_enablefirewall",
                f"{_FIREWALL}_{profile}_enablefirewall_true",
                [
                    _choice(
                        f"{_FIREWALL}_{profile}_defaultinboundaction",
                        f"{_FIREWALL}_{profile}_defaultinboundaction_1",
                        template=t,
                    ),
                    _choice(
                        f"{_FIREWALL}_{profile}_defaultoutboundaction",
                        f"{_FIREWALL}_{profile}_defaultoutboundaction_0",
                        template=t,
                    ),
                    _choice(
                        f"{_FIREWALL}_{profile}_disableinboundnotifications",
                        f"{_FIREWALL}_{profile}_disableinboundnotifications_true",
                        template=t,
                    ),
                ],
                template=t,
            )
        )
    result.append(
        _choice(
            f"{_FIREWALL}_global_enablepacketqueue",
            f"{_FIREWALL}_global_enablepacketqueue_0",
            template=t,
        )
    )
    return result


def _bitlocker_instances(template: str | None) -> list[JSONDict]:
    t = template
    os_drive = f"{_BITLOCKER}_systemdrivesrecoveryoptions"
    return [
        _choice(
            f"{_BITLOCKER}_requiredeviceencryption",
            f"{_BITLOCKER}_requiredeviceencryption_1",
            template=t,
        ),
        _choice(
            f"{_BITLOCKER}_allowwarningforotherdiskencryption",
            f"{_BITLOCKER}_allowwarningforotherdiskencryption_0",
            [
                _choice(
                    f"{_BITLOCKER}_allowstandarduserencryption",
                    f"{_BITLOCKER}_allowstandarduserencryption_1",
                    template=t,
                )
            ],
            template=t,
        ),
        _choice(
            f"{_BITLOCKER}_encryptionmethodbydrivetype",
            f"{_BITLOCKER}_encryptionmethodbydrivetype_1",
            [
                _choice(
                    f"{_BITLOCKER}_encryptionmethodbydrivetype_encryptionmethodwithxtsosdropdown_name",
                    f"{_BITLOCKER}_encryptionmethodbydrivetype_encryptionmethodwithxtsosdropdown_name_7",
                    template=t,
                ),
                _choice(
                    f"{_BITLOCKER}_encryptionmethodbydrivetype_encryptionmethodwithxtsfdvdropdown_name",
                    f"{_BITLOCKER}_encryptionmethodbydrivetype_encryptionmethodwithxtsfdvdropdown_name_7",
                    template=t,
                ),
            ],
            template=t,
        ),
        _choice(
            os_drive,
            f"{os_drive}_1",
            [
                _choice(
                    f"{os_drive}_osactivedirectorybackup_name",
                    f"{os_drive}_osactivedirectorybackup_name_1",
                    template=t,
                ),
                _choice(
                    f"{os_drive}_osrecoverypasswordusagedropdown_name",
                    f"{os_drive}_osrecoverypasswordusagedropdown_name_2",
                    template=t,
                ),
                _choice(
                    f"{os_drive}_oshiderecoverypage_name",
                    f"{os_drive}_oshiderecoverypage_name_1",
                    template=t,
                ),
                _choice(
                    f"{os_drive}_osrequireactivedirectorybackup_name",
                    f"{os_drive}_osrequireactivedirectorybackup_name_1",
                    template=t,
                ),
            ],
            template=t,
        ),
    ]


_ASR_RULE_NAMES = (
    "blockexecutablecontentfromemailclientandwebmail",
    "blockallofficeapplicationsfromcreatingchildprocesses",
    "blockofficeapplicationsfromcreatingexecutablecontent",
    "blockofficeapplicationsfrominjectingcodeintootherprocesses",
    "blockjavascriptorvbscriptfromlaunchingdownloadedexecutablecontent",
    "blockexecutionofpotentiallyobfuscatedscripts",
    "blockwin32apicallsfromofficemacros",
    "blockcredentialstealingfromwindowslocalsecurityauthoritysubsystem",
    "blockprocesscreationsfrompsexecandwmicommands",
    "blockuntrustedunsignedprocessesthatrunfromusb",
    "blockabuseofexploitedvulnerablesigneddrivers",
    "blockpersistencethroughwmieventsubscription",
    "useadvancedprotectionagainstransomware",
)


def _asr_instances(template: str | None, *, audit: Sequence[str] = ()) -> list[JSONDict]:
    children = [
        _choice(
            f"{_ASR_RULES}_{rule}",
            f"{_ASR_RULES}_{rule}_{'audit' if rule in audit else 'block'}",
            template=template,
        )
        for rule in _ASR_RULE_NAMES
    ]
    return [_group_collection(_ASR_RULES, [children], template=template)]


def _edr_instances(template: str | None) -> list[JSONDict]:
    return [
        _choice(
            "device_vendor_msft_windowsadvancedthreatprotection_configuration_samplesharing",
            "device_vendor_msft_windowsadvancedthreatprotection_configuration_samplesharing_1",
            template=template,
        ),
        _choice(
            "device_vendor_msft_windowsadvancedthreatprotection_configurationtype",
            "device_vendor_msft_windowsadvancedthreatprotection_configurationtype_autofromconnector",
            [
                _simple_str(
                    "device_vendor_msft_windowsadvancedthreatprotection_onboarding_fromconnector",
                    "Microsoft Defender for Endpoint onboarding blob (from connector)",
                    template=template,
                )
            ],
            template=template,
        ),
    ]


def _edge_instances(flags: Sequence[str]) -> list[JSONDict]:
    result: list[JSONDict] = []
    for flag in flags:
        definition = f"{_EDGE}_{flag}"
        if flag == "diagnosticdata":
            result.append(
                _enabled(
                    definition,
                    [_choice(f"{definition}_diagnosticdata", f"{definition}_diagnosticdata_1")],
                )
            )
        elif flag == "trackingprevention":
            result.append(
                _enabled(
                    definition,
                    [
                        _choice(
                            f"{definition}_trackingprevention",
                            f"{definition}_trackingprevention_2",
                        )
                    ],
                )
            )
        else:
            result.append(_enabled(definition, on=flag not in _EDGE_OFF))
    return result


def _hardening_instances() -> list[JSONDict]:
    result = [_enabled(flag) for flag in _HARDENING_FLAGS]
    result.append(_simple_int(f"{_LSO}_interactivelogon_machineinactivitylimit_v2", 900))
    result.append(
        _simple_str(
            f"{_LSO}_interactivelogon_messagetitleforusersattemptingtologon",
            "Contoso Ltd. - authorised use only",
        )
    )
    result.append(
        _simple_str(
            f"{_LSO}_interactivelogon_messagetextforusersattemptingtologon",
            "This device is the property of Contoso Ltd. Activity is monitored.",
        )
    )
    return result


def _whfb_instances(tenant_guid: str) -> list[JSONDict]:
    base = "device_vendor_msft_passportforwork_{tenantid}"
    policies = f"{base}_policies"
    return [
        _group_collection(
            base,
            [
                [
                    _simple_str(f"{base}_tenantid", tenant_guid),
                    _choice(
                        f"{policies}_usepassportforwork",
                        f"{policies}_usepassportforwork_true",
                        [
                            _choice(
                                f"{policies}_requiresecuritydevice",
                                f"{policies}_requiresecuritydevice_true",
                            ),
                            _simple_int(f"{policies}_pincomplexity_minimumpinlength", 6),
                            _simple_int(f"{policies}_pincomplexity_maximumpinlength", 127),
                            _choice(
                                f"{policies}_pincomplexity_lowercaseletters",
                                f"{policies}_pincomplexity_lowercaseletters_1",
                            ),
                            _choice(
                                f"{policies}_pincomplexity_uppercaseletters",
                                f"{policies}_pincomplexity_uppercaseletters_1",
                            ),
                            _choice(
                                f"{policies}_pincomplexity_specialcharacters",
                                f"{policies}_pincomplexity_specialcharacters_1",
                            ),
                            _simple_int(f"{policies}_pincomplexity_history", 5),
                            _choice(
                                f"{policies}_usecloudtrustforonpremauth",
                                f"{policies}_usecloudtrustforonpremauth_true",
                            ),
                        ],
                    ),
                ]
            ],
        ),
        _choice(
            "device_vendor_msft_passportforwork_biometrics_facialfeaturesuseenhancedantispoofing",
            "device_vendor_msft_passportforwork_biometrics_facialfeaturesuseenhancedantispoofing_true",
        ),
    ]


def _macos_firewall_instances() -> list[JSONDict]:
    fw = "com.apple.security.firewall"
    sp = "com.apple.systempolicy.control"
    return [
        _group_collection(
            f"{fw}_{fw}",
            [
                [
                    _choice(f"{fw}_enablefirewall", f"{fw}_enablefirewall_true"),
                    _choice(f"{fw}_blockallincoming", f"{fw}_blockallincoming_false"),
                    _choice(f"{fw}_enablestealthmode", f"{fw}_enablestealthmode_true"),
                ]
            ],
        ),
        _group_collection(
            f"{sp}_{sp}",
            [
                [
                    _choice(
                        f"{sp}_allowidentifieddevelopers", f"{sp}_allowidentifieddevelopers_true"
                    ),
                    _choice(f"{sp}_enableassessment", f"{sp}_enableassessment_true"),
                    _choice(
                        f"{sp}_enablexprotectmalwareupload",
                        f"{sp}_enablexprotectmalwareupload_false",
                    ),
                ]
            ],
        ),
    ]


def _macos_autoupdate_instances() -> list[JSONDict]:
    mau = "com.microsoft.autoupdate2"
    return [
        _group_collection(
            f"{mau}_{mau}",
            [
                [
                    _choice(
                        f"{mau}_acknowledgeddatacollectionpolicy",
                        f"{mau}_acknowledgeddatacollectionpolicy_0",
                    ),
                    _choice(f"{mau}_automaticallyupdate", f"{mau}_automaticallyupdate_true"),
                    _choice(f"{mau}_channelname", f"{mau}_channelname_1"),
                    _simple_int(f"{mau}_updatedeadline.daysbeforeforcedquit", 5),
                    _choice(
                        f"{mau}_enablecheckforupdatesbutton",
                        f"{mau}_enablecheckforupdatesbutton_true",
                    ),
                    _simple_collection(
                        f"{mau}_updatecache",
                        ["https://mau-cache.corp.contoso.com/mau"],
                    ),
                ]
            ],
        )
    ]


def _onedrive_instances(tenant_guid: str) -> list[JSONDict]:
    od = "device_vendor_msft_policy_config_onedrivengscv2~policy~onedrivengsc"
    return [
        _enabled(
            f"{od}_kfmoptinnowizard",
            [_simple_str(f"{od}_kfmoptinnowizard_kfmoptinnowizard_textbox", tenant_guid)],
        ),
        _enabled(f"{od}_kfmblockoptout"),
        _enabled(f"{od}_silentaccountconfig"),
        _enabled(f"{od}_filesondemandenabled"),
        _enabled(f"{od}_dehydratesyncedteamsites"),
        _enabled(f"{od}_blockexternalsync"),
    ]


def _office_kiosk_instances() -> list[JSONDict]:
    o = "user_vendor_msft_policy_config_office16v2~policy~l_microsoftofficesystem~l_miscellaneous"
    return [
        _enabled(f"{o}_l_disablesignin"),
        _enabled(f"{o}_l_blocksigninwithmicrosoftaccount"),
        _simple_collection(
            "device_vendor_msft_policy_config_start_configurestartpins",
            [
                '{"pinnedList":[{"desktopAppLink":"%APPDATA%\\\\Microsoft\\\\Windows\\\\Start Menu\\\\Programs\\\\Microsoft Edge.lnk"}]}'
            ],
        ),
    ]


def _ios_restrictions() -> JSONDict:
    return {
        "accountBlockModification": False,
        "activationLockAllowWhenSupervised": False,
        "airDropBlocked": False,
        "airDropForceUnmanagedDropTarget": True,
        "appleWatchBlockPairing": False,
        "appStoreBlocked": False,
        "appStoreBlockInAppPurchases": True,
        "appStoreRequirePassword": True,
        "bluetoothBlockModification": False,
        "cameraBlocked": False,
        "cellularBlockDataRoaming": False,
        "certificatesBlockUntrustedTlsCertificates": True,
        "classroomAppBlockRemoteScreenObservation": True,
        "configurationProfileBlockChanges": True,
        "definitionLookupBlocked": False,
        "deviceBlockEnableRestrictions": True,
        "deviceBlockEraseContentAndSettings": True,
        "diagnosticDataBlockSubmission": True,
        "documentsBlockManagedDocumentsInUnmanagedApps": True,
        "documentsBlockUnmanagedDocumentsInManagedApps": True,
        "enterpriseAppBlockTrust": True,
        "findMyFriendsBlocked": False,
        "iCloudBlockBackup": True,
        "iCloudBlockDocumentSync": True,
        "iCloudBlockManagedAppsSync": True,
        "keychainBlockCloudSync": True,
        "lockScreenBlockControlCenter": False,
        "lockScreenBlockNotificationView": False,
        "passcodeBlockSimple": True,
        "passcodeMinimumLength": 6,
        "passcodeMinutesOfInactivityBeforeLock": 5,
        "passcodeMinutesOfInactivityBeforeScreenTimeout": 5,
        "passcodeRequired": True,
        "passcodeRequiredType": "numeric",
        "passcodeSignInFailureCountBeforeWipe": 10,
        "safariBlockAutofill": False,
        "safariCookieSettings": "browserDefault",
        "safariRequireFraudWarning": True,
        "screenCaptureBlocked": False,
        "siriBlockedWhenLocked": True,
        "softwareUpdatesEnforcedDelayInDays": 14,
        "usbRestrictedModeBlocked": False,
        "wiFiConnectOnlyToConfiguredNetworks": False,
        "compliantAppListType": "none",
        "compliantAppsList": [],
        "emailInDomainSuffixes": ["contoso.com"],
        "networkUsageRules": [],
    }


def _macos_restrictions() -> JSONDict:
    return {
        "compliantAppsList": [],
        "compliantAppListType": "none",
        "emailInDomainSuffixes": ["contoso.com"],
        "passwordBlockSimple": True,
        "passwordExpirationDays": None,
        "passwordMinimumCharacterSetCount": 1,
        "passwordMinimumLength": 10,
        "passwordMinutesOfInactivityBeforeLock": 5,
        "passwordMinutesOfInactivityBeforeScreenTimeout": 15,
        "passwordPreviousPasswordBlockCount": 5,
        "passwordRequiredType": "alphanumeric",
        "passwordRequired": True,
        "keychainBlockCloudSync": True,
        "airPrintBlocked": False,
        "airPrintForceTrustedTLS": True,
        "safariBlockAutofill": False,
        "cameraBlocked": False,
        "iTunesBlockMusicService": True,
        "spotlightBlockInternetResults": True,
        "keyboardBlockDictation": False,
        "definitionLookupBlocked": False,
        "appleWatchBlockAutoUnlock": False,
        "iTunesBlockFileSharing": True,
        "iCloudBlockDocumentSync": True,
        "iCloudBlockMail": True,
        "iCloudBlockAddressBook": False,
        "iCloudBlockCalendar": False,
        "iCloudBlockReminders": False,
        "iCloudBlockBookmarks": False,
        "iCloudBlockNotes": True,
        "airDropBlocked": False,
        "passwordBlockModification": False,
        "passwordBlockFingerprintUnlock": False,
        "passwordBlockAutoFill": False,
        "passwordBlockProximityRequests": True,
        "passwordBlockAirDropSharing": True,
        "softwareUpdatesEnforcedDelayInDays": 7,
        "updateDelayPolicy": "delayOSUpdateVisibility",
        "contentCachingBlocked": False,
        "iCloudBlockPhotoLibrary": True,
        "screenCaptureBlocked": False,
        "classroomAppBlockRemoteScreenObservation": True,
        "iCloudDesktopAndDocumentsBlocked": True,
        "iCloudPrivateRelayBlocked": False,
        "activationLockWhenSupervisedAllowed": False,
    }


def _windows_general(tenant_domain: str = "contoso.onmicrosoft.com") -> JSONDict:
    return {
        "taskManagerBlockEndTask": False,
        "energySaverOnBatteryThresholdPercentage": 20,
        "energySaverPluggedInThresholdPercentage": None,
        "powerLidCloseActionOnBattery": "sleep",
        "powerLidCloseActionPluggedIn": "notConfigured",
        "windows10AppsForceUpdateSchedule": None,
        "enableAutomaticRedeployment": True,
        "microsoftAccountSignInAssistantSettings": "notConfigured",
        "authenticationAllowSecondaryDevice": False,
        "authenticationWebSignIn": "notConfigured",
        "authenticationPreferredAzureADTenantDomainName": tenant_domain,
        "cryptographyAllowFipsAlgorithmPolicy": False,
        "displayAppListWithGdiDPIScalingTurnedOn": [],
        "displayAppListWithGdiDPIScalingTurnedOff": [],
        "enterpriseCloudPrintDiscoveryEndPoint": None,
        "enterpriseCloudPrintOAuthAuthority": None,
        "enterpriseCloudPrintOAuthClientIdentifier": None,
        "enterpriseCloudPrintResourceIdentifier": None,
        "enterpriseCloudPrintDiscoveryMaxLimit": None,
        "enterpriseCloudPrintMopriaDiscoveryResourceIdentifier": None,
        "experienceDoNotSyncBrowserSettings": "notConfigured",
        "messagingBlockSync": True,
        "messagingBlockMMS": False,
        "messagingBlockRichCommunicationServices": False,
        "printerNames": [],
        "printerDefaultName": None,
        "printerBlockAddition": False,
        "searchBlockDiacritics": False,
        "searchDisableAutoLanguageDetection": False,
        "searchDisableIndexingEncryptedItems": True,
        "searchEnableRemoteQueries": False,
        "searchDisableUseLocation": True,
        "searchDisableLocation": False,
        "searchDisableIndexerBackoff": False,
        "searchDisableIndexingRemovableDrive": True,
        "searchEnableAutomaticIndexSizeManangement": False,
        "searchBlockWebResults": True,
        "findMyFiles": "notConfigured",
        "securityBlockAzureADJoinedDevicesAutoEncryption": False,
        "diagnosticsDataSubmissionMode": "basic",
        "oneDriveDisableFileSync": False,
        "systemTelemetryProxyServer": None,
        "edgeTelemetryForMicrosoft365Analytics": "notConfigured",
        "inkWorkspaceAccess": "disabled",
        "inkWorkspaceAccessState": "blocked",
        "inkWorkspaceBlockSuggestedApps": True,
        "smartScreenEnableAppInstallControl": False,
        "smartScreenAppInstallControl": "notConfigured",
        "personalizationDesktopImageUrl": None,
        "personalizationLockScreenImageUrl": None,
        "bluetoothAllowedServices": [],
        "bluetoothBlockAdvertising": True,
        "bluetoothBlockPromptedProximalConnections": True,
        "bluetoothBlockDiscoverableMode": False,
        "bluetoothBlockPrePairing": True,
        "edgeBlockAutofill": False,
        "edgeBlocked": False,
        "edgeCookiePolicy": "userDefined",
        "edgeBlockDeveloperTools": False,
        "edgeBlockSendingDoNotTrackHeader": False,
        "cameraBlocked": False,
        "cellularBlockDataWhenRoaming": True,
        "cellularBlockVpn": False,
        "cellularBlockVpnWhenRoaming": False,
        "cellularData": "allowed",
        "defenderRequireRealTimeMonitoring": True,
        "defenderRequireBehaviorMonitoring": True,
        "defenderRequireNetworkInspectionSystem": True,
        "defenderScanDownloads": True,
        "defenderScheduleScanEnableLowCpuPriority": True,
        "defenderDisableCatchupQuickScan": False,
        "defenderDisableCatchupFullScan": False,
        "defenderScanScriptsLoadedInInternetExplorer": True,
        "defenderBlockEndUserAccess": False,
        "defenderSignatureUpdateIntervalInHours": 4,
        "defenderMonitorFileActivity": "monitorAllFiles",
        "defenderDaysBeforeDeletingQuarantinedMalware": 30,
        "defenderScanMaxCpu": 50,
        "defenderScanArchiveFiles": True,
        "defenderScanIncomingMail": True,
        "defenderScanRemovableDrivesDuringFullScan": True,
        "defenderScanMappedNetworkDrivesDuringFullScan": False,
        "defenderScanNetworkFiles": True,
        "defenderRequireCloudProtection": True,
        "defenderCloudBlockLevel": "high",
        "defenderCloudExtendedTimeout": 50,
        "defenderCloudExtendedTimeoutInSeconds": 50,
        "defenderPromptForSampleSubmission": "sendSafeSamplesAutomatically",
        "defenderScheduledQuickScanTime": "12:00:00.0000000",
        "defenderScanType": "quick",
        "defenderSystemScanSchedule": "userDefined",
        "defenderScheduledScanTime": "02:00:00.0000000",
        "defenderPotentiallyUnwantedAppAction": "block",
        "defenderPotentiallyUnwantedAppActionSetting": "enable",
        "defenderSubmitSamplesConsentType": "sendSafeSamplesAutomatically",
        "defenderFileExtensionsToExclude": [],
        "defenderFilesAndFoldersToExclude": [],
        "defenderProcessesToExclude": [],
        "lockScreenAllowTimeoutConfiguration": False,
        "lockScreenBlockActionCenterNotifications": True,
        "lockScreenBlockCortana": True,
        "lockScreenBlockToastNotifications": True,
        "lockScreenTimeoutInSeconds": None,
        "lockScreenActivateAppsWithVoice": "disabled",
        "passwordBlockSimple": True,
        "passwordExpirationDays": None,
        "passwordMinimumLength": 8,
        "passwordMinutesOfInactivityBeforeScreenTimeout": 15,
        "passwordMinimumCharacterSetCount": 3,
        "passwordPreviousPasswordBlockCount": 5,
        "passwordRequired": True,
        "passwordRequireWhenResumeFromIdleState": True,
        "passwordRequiredType": "alphanumeric",
        "passwordSignInFailureCountBeforeFactoryReset": 10,
        "passwordMinimumAgeInDays": None,
        "privacyAdvertisingId": "blocked",
        "privacyAutoAcceptPairingAndConsentPrompts": False,
        "privacyDisableLaunchExperience": True,
        "privacyBlockInputPersonalization": True,
        "privacyBlockPublishUserActivities": True,
        "privacyBlockActivityFeed": True,
        "startBlockUnpinningAppsFromTaskbar": False,
        "startMenuAppListVisibility": "userDefined",
        "startMenuHideChangeAccountSettings": False,
        "startMenuHideFrequentlyUsedApps": False,
        "startMenuHideHibernate": False,
        "startMenuHideLock": False,
        "startMenuHidePowerButton": False,
        "startMenuHideRecentJumpLists": False,
        "startMenuHideRecentlyAddedApps": False,
        "startMenuHideRestartOptions": False,
        "startMenuHideShutDown": False,
        "startMenuHideSignOut": False,
        "startMenuHideSleep": False,
        "startMenuHideSwitchAccount": False,
        "startMenuHideUserTile": False,
        "startMenuLayoutEdgeAssetsXml": None,
        "startMenuLayoutXml": None,
        "startMenuMode": "userDefined",
        "settingsBlockSettingsApp": False,
        "settingsBlockSystemPage": False,
        "settingsBlockDevicesPage": False,
        "settingsBlockNetworkInternetPage": False,
        "settingsBlockPersonalizationPage": False,
        "settingsBlockAccountsPage": False,
        "settingsBlockTimeLanguagePage": False,
        "settingsBlockEaseOfAccessPage": False,
        "settingsBlockPrivacyPage": False,
        "settingsBlockUpdateSecurityPage": False,
        "settingsBlockAppsPage": False,
        "settingsBlockGamingPage": True,
        "windowsSpotlightBlockConsumerSpecificFeatures": True,
        "windowsSpotlightBlocked": False,
        "windowsSpotlightBlockOnActionCenter": True,
        "windowsSpotlightBlockTailoredExperiences": True,
        "windowsSpotlightBlockThirdPartyNotifications": True,
        "windowsSpotlightBlockWelcomeExperience": True,
        "windowsSpotlightBlockWindowsTips": True,
        "windowsSpotlightConfigureOnLockScreen": "notConfigured",
        "networkProxyApplySettingsDeviceWide": False,
        "networkProxyDisableAutoDetect": False,
        "networkProxyAutomaticConfigurationUrl": None,
        "networkProxyServer": None,
        "accountsBlockAddingNonMicrosoftAccountEmail": True,
        "antiTheftModeBlocked": False,
        "bluetoothBlocked": False,
        "bluetoothDeviceName": None,
        "cortanaBlocked": True,
        "dataProtectionBlockDirectMemoryAccess": True,
        "deviceManagementBlockFactoryResetOnMobile": False,
        "deviceManagementBlockManualUnenroll": True,
        "safeSearchFilter": "moderate",
        "gameDvrBlocked": True,
        "storageBlockRemovableStorage": False,
        "storageRequireMobileDeviceEncryption": False,
        "usbBlocked": False,
        "voiceRecordingBlocked": False,
        "wiFiBlockAutomaticConnectHotspots": True,
        "wiFiBlocked": False,
        "wiFiBlockManualConfiguration": False,
        "wiFiScanInterval": None,
        "wirelessDisplayBlockProjectionToThisDevice": False,
        "wirelessDisplayBlockUserInputFromReceiver": False,
        "wirelessDisplayRequirePinForPairing": True,
        "windowsStoreBlocked": False,
        "appsAllowTrustedAppsSideloading": "notConfigured",
        "windowsStoreBlockAutoUpdate": False,
        "developerUnlockSetting": "blocked",
        "sharedUserAppDataAllowed": False,
        "appsBlockWindowsStoreOriginatedApps": False,
        "windowsStoreEnablePrivateStoreOnly": True,
        "storageRestrictAppDataToSystemVolume": False,
        "storageRestrictAppInstallToSystemVolume": False,
        "gameDvrBlocked2": None,
        "experienceBlockDeviceDiscovery": False,
        "experienceBlockErrorDialogWhenNoSIM": False,
        "experienceBlockTaskSwitcher": False,
        "logonBlockFastUserSwitching": True,
        "tenantLockdownRequireNetworkDuringOutOfBoxExperience": True,
        "appManagementMSIAllowUserControlOverInstall": False,
        "appManagementMSIAlwaysInstallWithElevatedPrivileges": False,
        "dataProtectionBlockDirectMemoryAccess2": None,
        "appManagementPackageFamilyNamesToLaunchAfterLogOn": [],
        "uninstallBuiltInApps": False,
        "configureTimeZone": None,
    }


def _update_ring(
    *, quality_deferral: int, feature_deferral: int, deadline_days: int, pause_quality: bool = False
) -> JSONDict:
    return {
        "deliveryOptimizationMode": "userDefined",
        "prereleaseFeatures": "userDefined",
        "automaticUpdateMode": "autoInstallAtMaintenanceTime",
        "microsoftUpdateServiceAllowed": True,
        "driversExcluded": False,
        "installationSchedule": {
            "@odata.type": "#microsoft.graph.windowsUpdateActiveHoursInstall",
            "activeHoursStart": "08:00:00.0000000",
            "activeHoursEnd": "17:00:00.0000000",
        },
        "qualityUpdatesDeferralPeriodInDays": quality_deferral,
        "featureUpdatesDeferralPeriodInDays": feature_deferral,
        "qualityUpdatesPaused": pause_quality,
        "featureUpdatesPaused": False,
        "qualityUpdatesPauseExpiryDateTime": "0001-01-01T00:00:00Z",
        "featureUpdatesPauseExpiryDateTime": "0001-01-01T00:00:00Z",
        "businessReadyUpdatesOnly": "userDefined",
        "skipChecksBeforeRestart": False,
        "updateWeeks": None,
        "qualityUpdatesPauseStartDate": None,
        "featureUpdatesPauseStartDate": None,
        "featureUpdatesRollbackWindowInDays": 10,
        "qualityUpdatesWillBeRolledBack": False,
        "featureUpdatesWillBeRolledBack": False,
        "qualityUpdatesRollbackStartDateTime": "0001-01-01T00:00:00Z",
        "featureUpdatesRollbackStartDateTime": "0001-01-01T00:00:00Z",
        "engagedRestartDeadlineInDays": None,
        "engagedRestartSnoozeScheduleInDays": None,
        "engagedRestartTransitionScheduleInDays": None,
        "deadlineForFeatureUpdatesInDays": deadline_days + 3,
        "deadlineForQualityUpdatesInDays": deadline_days,
        "deadlineGracePeriodInDays": 2,
        "postponeRebootUntilAfterDeadline": False,
        "autoRestartNotificationDismissal": "notConfigured",
        "scheduleRestartWarningInHours": None,
        "scheduleImminentRestartWarningInMinutes": None,
        "userPauseAccess": "disabled",
        "userWindowsUpdateScanAccess": "enabled",
        "updateNotificationLevel": "defaultNotifications",
        "allowWindows11Upgrade": True,
    }


def _windows_compliance(os_minimum: str, *, bitlocker: bool = True) -> JSONDict:
    return {
        "passwordRequired": False,
        "passwordBlockSimple": False,
        "passwordRequiredToUnlockFromIdle": False,
        "passwordMinutesOfInactivityBeforeLock": None,
        "passwordExpirationDays": None,
        "passwordMinimumLength": None,
        "passwordMinimumCharacterSetCount": None,
        "passwordRequiredType": "deviceDefault",
        "passwordPreviousPasswordBlockCount": None,
        "requireHealthyDeviceReport": False,
        "osMinimumVersion": os_minimum,
        "osMaximumVersion": None,
        "mobileOsMinimumVersion": None,
        "mobileOsMaximumVersion": None,
        "earlyLaunchAntiMalwareDriverEnabled": False,
        "bitLockerEnabled": bitlocker,
        "secureBootEnabled": True,
        "codeIntegrityEnabled": True,
        "memoryIntegrityEnabled": False,
        "kernelDmaProtectionEnabled": False,
        "virtualizationBasedSecurityEnabled": False,
        "firmwareProtectionEnabled": False,
        "storageRequireEncryption": False,
        "activeFirewallRequired": True,
        "defenderEnabled": True,
        "defenderVersion": None,
        "signatureOutOfDate": True,
        "rtpEnabled": True,
        "antivirusRequired": True,
        "antiSpywareRequired": True,
        "deviceThreatProtectionEnabled": True,
        "deviceThreatProtectionRequiredSecurityLevel": "medium",
        "configurationManagerComplianceRequired": False,
        "tpmRequired": True,
        "deviceCompliancePolicyScript": None,
        "validOperatingSystemBuildRanges": [],
    }


def _ios_compliance() -> JSONDict:
    return {
        "passcodeBlockSimple": True,
        "passcodeExpirationDays": None,
        "passcodeMinimumLength": 6,
        "passcodeMinutesOfInactivityBeforeLock": 5,
        "passcodeMinutesOfInactivityBeforeScreenTimeout": 5,
        "passcodePreviousPasscodeBlockCount": None,
        "passcodeMinimumCharacterSetCount": None,
        "passcodeRequiredType": "numeric",
        "passcodeRequired": True,
        "osMinimumVersion": "17.5",
        "osMaximumVersion": None,
        "osMinimumBuildVersion": None,
        "osMaximumBuildVersion": None,
        "securityBlockJailbrokenDevices": True,
        "deviceThreatProtectionEnabled": False,
        "deviceThreatProtectionRequiredSecurityLevel": "unavailable",
        "advancedThreatProtectionRequiredSecurityLevel": "unavailable",
        "managedEmailProfileRequired": False,
        "restrictedApps": [],
    }


def _macos_compliance() -> JSONDict:
    return {
        "passwordRequired": True,
        "passwordBlockSimple": True,
        "passwordExpirationDays": None,
        "passwordMinimumLength": 10,
        "passwordMinutesOfInactivityBeforeLock": 15,
        "passwordPreviousPasswordBlockCount": 5,
        "passwordMinimumCharacterSetCount": 1,
        "passwordRequiredType": "alphanumeric",
        "osMinimumVersion": "14.0",
        "osMaximumVersion": None,
        "osMinimumBuildVersion": None,
        "osMaximumBuildVersion": None,
        "systemIntegrityProtectionEnabled": True,
        "deviceThreatProtectionEnabled": False,
        "deviceThreatProtectionRequiredSecurityLevel": "unavailable",
        "advancedThreatProtectionRequiredSecurityLevel": "unavailable",
        "storageRequireEncryption": True,
        "gatekeeperAllowedAppSource": "macAppStoreAndIdentifiedDevelopers",
        "firewallEnabled": True,
        "firewallBlockAllIncoming": False,
        "firewallEnableStealthMode": True,
    }


def _android_work_profile_compliance() -> JSONDict:
    return {
        "passwordRequired": True,
        "passwordMinimumLength": 6,
        "passwordRequiredType": "numericComplex",
        "passwordMinutesOfInactivityBeforeLock": 5,
        "passwordExpirationDays": None,
        "passwordPreviousPasswordBlockCount": None,
        "passwordSignInFailureCountBeforeFactoryReset": None,
        "securityPreventInstallAppsFromUnknownSources": True,
        "securityDisableUsbDebugging": True,
        "securityRequireVerifyApps": True,
        "deviceThreatProtectionEnabled": False,
        "deviceThreatProtectionRequiredSecurityLevel": "unavailable",
        "advancedThreatProtectionRequiredSecurityLevel": "unavailable",
        "securityBlockJailbrokenDevices": True,
        "osMinimumVersion": "12.0",
        "osMaximumVersion": None,
        "minAndroidSecurityPatchLevel": "2024-06-01",
        "storageRequireEncryption": True,
        "securityRequireSafetyNetAttestationBasicIntegrity": True,
        "securityRequireSafetyNetAttestationCertifiedDevice": True,
        "securityRequireGooglePlayServices": True,
        "securityRequireUpToDateSecurityProviders": True,
        "securityRequireCompanyPortalAppIntegrity": True,
        "securityRequiredAndroidSafetyNetEvaluationType": "basic",
        "workProfileInactiveBeforeScreenLockInMinutes": 5,
        "workProfilePasswordMinimumLength": None,
        "workProfilePasswordRequiredType": "deviceDefault",
        "workProfileRequirePassword": False,
        "requiredPasswordComplexity": "medium",
    }


def _tenant_guid(label: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{label}|entra-tenant"))


def demo_tenant_domain(tenant_label: str) -> str:
    """The demo tenant's initial domain: ``Contoso Test`` -> ``contoso-test.onmicrosoft.com``."""
    slug = re.sub(r"[^a-z0-9-]", "", tenant_label.lower().replace(" ", "-")) or "tenant"
    return f"{slug}.onmicrosoft.com"


def demo_organization(*, tenant_label: str) -> JSONDict:
    """The demo tenant's Graph ``organization`` (seed format): the Entra tenant id its Windows
    Hello for Business and OneDrive policies carry, and its initial domain, so a restore into
    the other demo tenant meets the source tenant's own identifiers as it would for real."""
    return {
        "@odata.context": f"{GRAPH_V1}/$metadata#organization/$entity",
        "id": _tenant_guid(tenant_label),
        "displayName": tenant_label,
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": True,
                "isInitial": True,
                "name": demo_tenant_domain(tenant_label),
                "type": "Managed",
            }
        ],
    }


def demo_tenant_objects(*, tenant_label: str, seed: int) -> list[JSONDict]:
    """A realistic Intune configuration for Contoso, as Graph GET objects in seed format.

    Foundations (groups, scope tags, assignment filters, notification templates) come first, then
    policies of every supported type, then the preview-only ones (Conditional Access, enrollment
    restriction). Ids depend only on ``tenant_label``; ``seed`` moves the timestamps.
    """
    b = _Builder(tenant_label=tenant_label, seed=seed)
    tenant_guid = _tenant_guid(tenant_label)

    # ---- Entra groups ----
    b.group("SG-Intune-Windows-Pilot", "Windows devices in the update and policy pilot ring")
    b.group(
        "SG-Intune-Windows-Broad",
        "All corporate Windows devices (dynamic)",
        rule='(device.deviceOSType -eq "Windows") and (device.deviceOwnership -eq "Company")',
    )
    b.group(
        "SG-Intune-Autopilot-Devices",
        "Devices registered in Windows Autopilot",
        rule='(device.devicePhysicalIDs -any (_ -startsWith "[ZTDId]"))',
    )
    b.group(
        "SG-macOS-Devices",
        "All macOS devices (dynamic)",
        rule='(device.deviceOSType -eq "MacMDM")',
    )
    b.group("SG-iOS-Corporate", "Supervised corporate iPhones and iPads")
    b.group("SG-iOS-BYOD", "Users enrolled in the iOS bring-your-own-device programme")
    b.group("SG-Android-BYOD", "Users with Android personal devices (work profile)")
    b.group("SG-Finance-Users", "Finance department")
    b.group("SG-EMEA-Users", "Users based in Europe, Middle East and Africa")
    b.group("SG-Kiosk-Devices", "Shared kiosk and front-desk devices")
    b.group("SG-Kiosk-Exclusions", "Devices excluded from standard user policies (kiosks)")
    b.group("SG-Intune-Admins", "Intune administrators")
    b.group("SG-Update-Ring-Fast", "IT staff devices that take updates first")
    b.group("SG-Remediation-Pilot", "Pilot devices for new remediation scripts")
    b.group(
        "SG-CA-Exclusions-BreakGlass", "Emergency access accounts excluded from Conditional Access"
    )
    b.group("SG-Developers", "Software engineering staff")

    # ---- scope tags ----
    b.scope_tag("Default", "Built-in scope tag")
    b.scope_tag("Finance", "Objects managed by the Finance IT team", number=1)
    b.scope_tag("EMEA", "Objects managed by the EMEA regional team", number=2)
    b.scope_tag("Kiosk", "Kiosk and shared devices", number=3)

    # ---- assignment filters ----
    b.assignment_filter(
        "Windows 11 only",
        platform="windows10AndLater",
        rule='(device.osVersion -startsWith "10.0.22") or (device.osVersion -startsWith "10.0.26")',
        description="Windows 11 builds (22H2 and later)",
    )
    b.assignment_filter(
        "Corporate-owned Windows",
        platform="windows10AndLater",
        rule='(device.deviceOwnership -eq "Corporate")',
        description="Devices whose ownership is Corporate",
    )
    b.assignment_filter(
        "Surface devices",
        platform="windows10AndLater",
        rule='(device.manufacturer -eq "Microsoft Corporation") and (device.model -startsWith "Surface")',
        tags=("Default", "EMEA"),
    )
    b.assignment_filter(
        "Corporate iPhones",
        platform="iOS",
        rule='(device.deviceOwnership -eq "Corporate") and (device.model -startsWith "iPhone")',
    )

    # ---- notification templates ----
    b.notification_template(
        "Compliance - Device not compliant",
        [
            (
                "en-us",
                "Action needed: your device is not compliant",
                "Your device {DeviceName} does not meet Contoso security requirements. "
                "Open Company Portal to see what to fix within 24 hours.",
            ),
            (
                "de-de",
                "Handlungsbedarf: Ihr Gerät ist nicht konform",
                "Ihr Gerät {DeviceName} erfüllt die Sicherheitsanforderungen von Contoso nicht. "
                "Öffnen Sie das Unternehmensportal, um das Problem zu beheben.",
            ),
        ],
        description="First notice to the user",
    )
    b.notification_template(
        "Compliance - Final warning",
        [
            (
                "en-us",
                "Final warning: access to company data will be blocked",
                "Your device {DeviceName} has been non-compliant for 3 days. "
                "Access to email and Teams will be blocked tomorrow.",
            )
        ],
        description="Sent before access is blocked",
        tags=("Default", "Finance"),
    )

    # ---- device configurations ----
    b.device_configuration(
        "WIN - Device Restrictions - General",
        "#microsoft.graph.windows10GeneralConfiguration",
        _windows_general(demo_tenant_domain(tenant_label)),
        targets=[
            _inc("SG-Intune-Windows-Broad", filter="Corporate-owned Windows"),
            _exc("SG-Kiosk-Exclusions"),
        ],
        description="Baseline restrictions for corporate Windows devices",
    )
    b.device_configuration(
        "iOS - Device Restrictions - Corporate",
        "#microsoft.graph.iosGeneralDeviceConfiguration",
        _ios_restrictions(),
        targets=[_inc("SG-iOS-Corporate", filter="Corporate iPhones")],
    )
    b.device_configuration(
        "macOS - Device Restrictions",
        "#microsoft.graph.macOSGeneralDeviceConfiguration",
        _macos_restrictions(),
        targets=[_inc("SG-macOS-Devices")],
        tags=("Default", "EMEA"),
    )
    b.device_configuration(
        "WIN - Wi-Fi - Contoso-Corp",
        "#microsoft.graph.windowsWifiConfiguration",
        {
            "meteredConnectionLimit": "unrestricted",
            "ssid": "Contoso-Corp",
            "connectAutomatically": True,
            "connectToPreferredNetwork": True,
            "connectWhenNetworkNameIsHidden": False,
            "proxySetting": "none",
            "proxyManualAddress": None,
            "proxyManualPort": None,
            "proxyAutomaticConfigurationUrl": None,
            "forceFIPSCompliance": False,
            "networkName": "Contoso-Corp",
            "wifiSecurityType": "wpa2Personal",
            "preSharedKey": None,
        },
        targets=[_all_devices(filter="Corporate-owned Windows")],
    )
    b.device_configuration(
        "iOS - Wi-Fi - Contoso-Guest",
        "#microsoft.graph.iosWiFiConfiguration",
        {
            "networkName": "Contoso-Guest",
            "ssid": "Contoso-Guest",
            "connectAutomatically": True,
            "connectWhenNetworkNameIsHidden": False,
            "disableMacAddressRandomization": False,
            "wiFiSecurityType": "open",
            "proxySettings": "none",
            "proxyManualAddress": None,
            "proxyManualPort": None,
            "proxyAutomaticConfigurationUrl": None,
            "preSharedKey": None,
        },
        targets=[_inc("SG-iOS-Corporate"), _inc("SG-iOS-BYOD")],
    )
    b.device_configuration(
        "WIN - Custom - Contoso OMA-URI settings",
        "#microsoft.graph.windows10CustomConfiguration",
        {
            "omaSettings": [
                {
                    "@odata.type": "#microsoft.graph.omaSettingInteger",
                    "displayName": "Disable consumer experiences",
                    "description": None,
                    "omaUri": "./Device/Vendor/MSFT/Policy/Config/Experience/AllowWindowsConsumerFeatures",
                    "secretReferenceValueId": None,
                    "isEncrypted": False,
                    "value": 0,
                    "isReadOnly": False,
                },
                {
                    "@odata.type": "#microsoft.graph.omaSettingString",
                    "displayName": "Contoso VPN pre-shared key",
                    "description": "Pre-shared key for the legacy branch VPN profile",
                    "omaUri": "./Vendor/MSFT/VPNv2/ContosoBranch/NativeProfile/Authentication/PreSharedKey",
                    "secretReferenceValueId": None,
                    "isEncrypted": True,
                    "value": f"Cts-Branch-{tenant_guid[:8]}-PSK!2026",
                },
                {
                    "@odata.type": "#microsoft.graph.omaSettingBoolean",
                    "displayName": "Block toast notifications on lock screen",
                    "description": None,
                    "omaUri": "./User/Vendor/MSFT/Policy/Config/AboveLock/AllowToasts",
                    "secretReferenceValueId": None,
                    "isEncrypted": False,
                    "value": False,
                },
            ]
        },
        targets=[_inc("SG-Intune-Windows-Pilot"), _exc("SG-Kiosk-Exclusions")],
        description="Settings without a native Intune profile",
    )
    b.device_configuration(
        "WIN - Update Ring - Pilot",
        "#microsoft.graph.windowsUpdateForBusinessConfiguration",
        _update_ring(quality_deferral=0, feature_deferral=0, deadline_days=2),
        targets=[_inc("SG-Intune-Windows-Pilot"), _inc("SG-Update-Ring-Fast")],
    )
    b.device_configuration(
        "WIN - Update Ring - Broad",
        "#microsoft.graph.windowsUpdateForBusinessConfiguration",
        _update_ring(quality_deferral=7, feature_deferral=30, deadline_days=5),
        targets=[
            _inc("SG-Intune-Windows-Broad"),
            _exc("SG-Intune-Windows-Pilot"),
            _exc("SG-Kiosk-Exclusions"),
        ],
    )
    b.device_configuration(
        "WIN - Update Ring - Kiosk",
        "#microsoft.graph.windowsUpdateForBusinessConfiguration",
        _update_ring(quality_deferral=10, feature_deferral=60, deadline_days=7),
        targets=[_inc("SG-Kiosk-Devices")],
        tags=("Kiosk",),
    )
    b.device_configuration(
        "Android - Work Profile - Restrictions",
        "#microsoft.graph.androidWorkProfileGeneralDeviceConfiguration",
        {
            "passwordBlockFingerprintUnlock": False,
            "passwordBlockTrustAgents": False,
            "passwordMinimumLength": 6,
            "passwordMinutesOfInactivityBeforeScreenTimeout": 5,
            "passwordRequiredType": "numericComplex",
            "passwordSignInFailureCountBeforeFactoryReset": 10,
            "workProfileDataSharingType": "preventAny",
            "workProfileBlockNotificationsWhileDeviceLocked": True,
            "workProfileBlockAddingAccounts": False,
            "workProfileBluetoothEnableContactSharing": False,
            "workProfileBlockScreenCapture": True,
            "workProfileBlockCrossProfileCallerId": False,
            "workProfileBlockCamera": False,
            "workProfileBlockCrossProfileContactsSearch": False,
            "workProfileBlockCrossProfileCopyPaste": True,
            "workProfileDefaultAppPermissionPolicy": "deviceDefault",
            "workProfileRequirePassword": False,
            "securityRequireVerifyApps": True,
            "vpnAlwaysOnPackageIdentifier": None,
            "vpnEnableAlwaysOnLockdownMode": False,
            "allowedGoogleAccountDomains": ["contoso.com"],
            "blockUnifiedPasswordForWorkProfile": False,
        },
        targets=[_inc("SG-Android-BYOD")],
    )

    # ---- compliance policies (exactly one block action each) ----
    b.compliance_policy(
        "WIN - Compliance - Baseline",
        "#microsoft.graph.windows10CompliancePolicy",
        _windows_compliance("10.0.22631"),
        targets=[
            _all_devices(filter="Corporate-owned Windows"),
        ],
        notify=[("Compliance - Device not compliant", 0), ("Compliance - Final warning", 72)],
        block_grace_hours=24,
        description="Corporate Windows baseline",
    )
    b.compliance_policy(
        "WIN - Compliance - Finance (strict)",
        "#microsoft.graph.windows10CompliancePolicy",
        _windows_compliance("10.0.26100"),
        targets=[_inc("SG-Finance-Users"), _exc("SG-Kiosk-Exclusions")],
        tags=("Finance",),
        notify=[("Compliance - Final warning", 0)],
    )
    b.compliance_policy(
        "iOS - Compliance - Baseline",
        "#microsoft.graph.iosCompliancePolicy",
        _ios_compliance(),
        targets=[_inc("SG-iOS-Corporate"), _inc("SG-iOS-BYOD")],
        notify=[("Compliance - Device not compliant", 0)],
        retire_after_days=90,
    )
    b.compliance_policy(
        "macOS - Compliance - Baseline",
        "#microsoft.graph.macOSCompliancePolicy",
        _macos_compliance(),
        targets=[_inc("SG-macOS-Devices")],
        tags=("Default", "EMEA"),
    )
    b.compliance_policy(
        "Android - Compliance - Work Profile",
        "#microsoft.graph.androidWorkProfileCompliancePolicy",
        _android_work_profile_compliance(),
        targets=[_inc("SG-Android-BYOD")],
        block_grace_hours=72,
    )

    # ---- settings catalog ----
    b.configuration_policy(
        "WIN - SC - Microsoft Edge - Security",
        platforms="windows10",
        technologies="mdm",
        instances=_edge_instances(_EDGE_SECURITY_FLAGS),
        targets=[
            _inc("SG-Intune-Windows-Broad", filter="Windows 11 only"),
            _exc("SG-Kiosk-Exclusions"),
        ],
        description="Edge hardening (SmartScreen, password manager, telemetry)",
    )
    b.configuration_policy(
        "WIN - SC - Security Hardening Baseline",
        platforms="windows10",
        technologies="mdm",
        instances=_hardening_instances(),
        targets=[_all_devices(filter="Surface devices", mode="exclude")],
    )
    b.configuration_policy(
        "WIN - SC - Windows Hello for Business",
        platforms="windows10",
        technologies="mdm",
        instances=_whfb_instances(tenant_guid),
        targets=[_all_users()],
    )
    b.configuration_policy(
        "WIN - SC - OneDrive Known Folder Move",
        platforms="windows10",
        technologies="mdm",
        instances=_onedrive_instances(tenant_guid),
        targets=[_all_users(), _exc("SG-Kiosk-Exclusions")],
        tags=("Default", "EMEA"),
    )
    b.configuration_policy(
        "WIN - SC - Kiosk Office Sign-in Lockdown",
        platforms="windows10",
        technologies="mdm",
        instances=_office_kiosk_instances(),
        targets=[_inc("SG-Kiosk-Devices")],
        tags=("Kiosk",),
    )
    b.configuration_policy(
        "macOS - SC - Firewall and Gatekeeper",
        platforms="macOS",
        technologies="mdm,appleRemoteManagement",
        instances=_macos_firewall_instances(),
        targets=[_inc("SG-macOS-Devices")],
    )
    b.configuration_policy(
        "macOS - SC - Microsoft AutoUpdate",
        platforms="macOS",
        technologies="mdm,appleRemoteManagement",
        instances=_macos_autoupdate_instances(),
        targets=[_inc("SG-macOS-Devices")],
    )

    # ---- endpoint security (settings catalog with a template reference) ----
    b.configuration_policy(
        "ES - Antivirus - Windows Defender",
        platforms="windows10",
        technologies="mdm,microsoftSense",
        instances=_antivirus_instances(_ES_ANTIVIRUS[1]),
        targets=[_all_devices(filter="Corporate-owned Windows")],
        template=_ES_ANTIVIRUS,
    )
    b.configuration_policy(
        "ES - Firewall - Windows",
        platforms="windows10",
        technologies="mdm,microsoftSense",
        instances=_firewall_instances(_ES_FIREWALL[1]),
        targets=[_inc("SG-Intune-Windows-Broad"), _inc("SG-Intune-Windows-Pilot")],
        template=_ES_FIREWALL,
    )
    b.configuration_policy(
        "ES - Disk Encryption - BitLocker",
        platforms="windows10",
        technologies="mdm",
        instances=_bitlocker_instances(_ES_DISK[1]),
        targets=[_inc("SG-Intune-Windows-Broad"), _exc("SG-Kiosk-Exclusions")],
        template=_ES_DISK,
    )
    b.configuration_policy(
        "ES - ASR Rules - Standard",
        platforms="windows10",
        technologies="mdm,microsoftSense",
        instances=_asr_instances(
            _ES_ASR[1], audit=("blockprocesscreationsfrompsexecandwmicommands",)
        ),
        targets=[_inc("SG-Intune-Windows-Broad"), _exc("SG-Developers")],
        template=_ES_ASR,
    )
    b.configuration_policy(
        "ES - EDR - Onboarding",
        platforms="windows10",
        technologies="mdm,microsoftSense",
        instances=_edr_instances(_ES_EDR[1]),
        targets=[_all_devices()],
        template=_ES_EDR,
    )

    # ---- administrative templates ----
    b.admin_template(
        "WIN - ADMX - OneDrive",
        [
            _AdmxSetting(
                "Silently move Windows known folders to OneDrive",
                "\\OneDrive",
                "machine",
                texts=(("Tenant ID:", tenant_guid),),
                booleans=(("Desktop", True), ("Documents", True), ("Pictures", True)),
            ),
            _AdmxSetting(
                "Prevent users from syncing personal OneDrive accounts", "\\OneDrive", "user"
            ),
            _AdmxSetting(
                "Limit the sync app upload rate to a percentage of throughput",
                "\\OneDrive",
                "machine",
                decimals=(("Bandwidth:", 70),),
            ),
        ],
        targets=[_all_users()],
    )
    b.admin_template(
        "WIN - ADMX - Microsoft Edge Startup",
        [
            _AdmxSetting(
                "Configure the home page URL",
                "\\Microsoft Edge\\Startup, home page and new tab page",
                "user",
                texts=(("Home page URL", "https://intranet.contoso.com"),),
            ),
            _AdmxSetting(
                "Hide the First-run experience and splash screen", "\\Microsoft Edge", "machine"
            ),
            _AdmxSetting(
                "Show Home button on toolbar",
                "\\Microsoft Edge\\Startup, home page and new tab page",
                "user",
                enabled=False,
            ),
        ],
        targets=[_inc("SG-Intune-Windows-Broad"), _exc("SG-Kiosk-Exclusions")],
        tags=("Default", "EMEA"),
    )
    b.admin_template(
        "WIN - ADMX - Office Finance Macros",
        [
            _AdmxSetting(
                "Block macros from running in Office files from the Internet",
                "\\Microsoft Excel 2016\\Excel Options\\Security\\Trust Center",
                "user",
            ),
            _AdmxSetting(
                "Trusted Location #1",
                "\\Microsoft Excel 2016\\Excel Options\\Security\\Trust Center\\Trusted Locations",
                "user",
                texts=(
                    ("Path:", "\\\\fs01.corp.contoso.com\\Finance\\Models"),
                    ("Description:", "Finance models"),
                ),
                booleans=(("Allow subfolders", True),),
            ),
        ],
        targets=[_inc("SG-Finance-Users")],
        tags=("Finance",),
    )

    # ---- PowerShell scripts ----
    b.script(
        "WIN - PS - Set Contoso wallpaper",
        file_name="Set-ContosoWallpaper.ps1",
        content=_PS_WALLPAPER,
        targets=[_inc("SG-Intune-Windows-Broad"), _exc("SG-Kiosk-Exclusions")],
    )
    b.script(
        "WIN - PS - Map Finance printers",
        file_name="Add-FinancePrinters.ps1",
        content=_PS_PRINTERS,
        run_as="user",
        targets=[_inc("SG-Finance-Users")],
        tags=("Finance",),
    )
    b.script(
        "WIN - PS - Clean local Administrators",
        file_name="Repair-LocalAdministrators.ps1",
        content=_PS_LOCAL_ADMIN,
        targets=[_all_devices(filter="Corporate-owned Windows"), _exc("SG-Developers")],
    )

    # ---- remediations ----
    b.health_script(
        "WIN - Remediation - Free disk space",
        detection=_DETECT_DISK,
        remediation=_REMEDIATE_DISK,
        targets=[_inc("SG-Remediation-Pilot"), _inc("SG-Intune-Windows-Pilot")],
    )
    b.health_script(
        "WIN - Remediation - Restart reminder",
        detection=_DETECT_UPTIME,
        remediation=_REMEDIATE_UPTIME,
        run_as="user",
        schedule={
            "@odata.type": "#microsoft.graph.deviceHealthScriptHourlySchedule",
            "interval": 8,
        },
        targets=[_inc("SG-Intune-Windows-Broad"), _exc("SG-Kiosk-Exclusions")],
    )
    b.health_script(
        "WIN - Remediation - BitLocker key escrow",
        detection=_DETECT_BITLOCKER_KEY,
        remediation=_REMEDIATE_BITLOCKER_KEY,
        targets=[_all_devices(filter="Windows 11 only")],
    )

    # ---- app protection ----
    b.app_protection(
        "iOS - APP - BYOD Baseline",
        platform="ios",
        apps=_IOS_APPS,
        properties=dict(_IOS_EXTRA),
        targets=[_inc("SG-iOS-BYOD"), _exc("SG-Intune-Admins")],
        description="Level 2 enhanced data protection for personal iPhones",
    )
    b.app_protection(
        "iOS - APP - Finance",
        platform="ios",
        apps=_IOS_APPS[:6],
        properties={
            **_IOS_EXTRA,
            "minimumPinLength": 8,
            "printBlocked": True,
            "faceIdBlocked": True,
        },
        targets=[_inc("SG-Finance-Users")],
        tags=("Finance",),
    )
    b.app_protection(
        "Android - APP - BYOD Baseline",
        platform="android",
        apps=_ANDROID_APPS,
        properties=dict(_ANDROID_EXTRA),
        targets=[_inc("SG-Android-BYOD")],
    )
    b.app_protection(
        "Android - APP - EMEA",
        platform="android",
        apps=_ANDROID_APPS[:8],
        properties={**_ANDROID_EXTRA, "screenCaptureBlocked": False},
        targets=[_inc("SG-EMEA-Users"), _exc("SG-Finance-Users")],
        tags=("EMEA",),
    )

    # ---- Autopilot ----
    b.autopilot_profile(
        "Autopilot - User-driven - Entra joined",
        "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",
        {
            "deviceNameTemplate": "CTS-%SERIAL%",
            "enableWhiteGlove": True,
            "preprovisioningAllowed": True,
            "outOfBoxExperienceSettings": {
                "hidePrivacySettings": True,
                "hideEULA": True,
                "userType": "standard",
                "deviceUsageType": "singleUser",
                "skipKeyboardSelectionPage": True,
                "hideEscapeLink": True,
            },
        },
        targets=[_inc("SG-Intune-Autopilot-Devices"), _exc("SG-Kiosk-Devices")],
    )
    b.autopilot_profile(
        "Autopilot - Kiosk - Self-deploying",
        "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",
        {
            "deviceNameTemplate": "KSK-%RAND:5%",
            "enableWhiteGlove": False,
            "preprovisioningAllowed": False,
            "outOfBoxExperienceSettings": {
                "hidePrivacySettings": True,
                "hideEULA": True,
                "userType": "standard",
                "deviceUsageType": "shared",
                "skipKeyboardSelectionPage": True,
                "hideEscapeLink": True,
            },
        },
        targets=[_inc("SG-Kiosk-Devices")],
        tags=("Kiosk",),
    )

    # ---- Windows driver and feature updates ----
    b.driver_update_profile(
        "WIN - Drivers - Automatic (7 days)",
        approval="automatic",
        deferral_days=7,
        targets=[_inc("SG-Intune-Windows-Broad")],
    )
    b.feature_update_profile(
        "WIN - Feature Update - Windows 11 24H2",
        version="Windows 11, version 24H2",
        end_of_support="2026-10-13T00:00:00Z",
        targets=[_inc("SG-Intune-Windows-Broad"), _exc("SG-Kiosk-Devices")],
    )
    b.feature_update_profile(
        "WIN - Feature Update - Kiosk hold 23H2",
        version="Windows 11, version 23H2",
        end_of_support="2025-11-11T00:00:00Z",
        targets=[_inc("SG-Kiosk-Devices")],
        tags=("Kiosk",),
    )

    # ---- preview-only: Conditional Access and an enrollment restriction ----
    _conditional_access(b)
    _enrollment_restriction(b)
    return b.objects


def _conditional_access(b: _Builder) -> None:
    for name, state, users, apps, grant in (
        (
            "CA001 - Require MFA for administrators",
            "enabled",
            {
                "includeUsers": [],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": [b.group_ids["SG-CA-Exclusions-BreakGlass"]],
                "includeRoles": [
                    "62e90394-69f5-4237-9190-012177145e10",
                    "3a2c62db-5318-420d-8d74-23affee5d9d5",
                ],
                "excludeRoles": [],
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
            {
                "includeApplications": ["All"],
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            {
                "operator": "OR",
                "builtInControls": ["mfa"],
                "customAuthenticationFactors": [],
                "termsOfUse": [],
                "authenticationStrength": None,
            },
        ),
        (
            "CA010 - Require compliant device for Office 365",
            "enabledForReportingButNotEnforced",
            {
                "includeUsers": ["All"],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": [
                    b.group_ids["SG-CA-Exclusions-BreakGlass"],
                    b.group_ids["SG-Kiosk-Exclusions"],
                ],
                "includeRoles": [],
                "excludeRoles": [],
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
            {
                "includeApplications": ["Office365"],
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            {
                "operator": "OR",
                "builtInControls": ["compliantDevice", "domainJoinedDevice"],
                "customAuthenticationFactors": [],
                "termsOfUse": [],
                "authenticationStrength": None,
            },
        ),
    ):
        created, modified = b.times()
        b.add(
            CONDITIONAL_ACCESS,
            {
                "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
                "id": b.uid("conditionalAccessPolicy", name),
                "templateId": None,
                "displayName": name,
                "createdDateTime": created[:19] + "Z",
                "modifiedDateTime": modified[:19] + "Z",
                "state": state,
                "partialEnablementStrategy": None,
                "sessionControls": None,
                "conditions": {
                    "userRiskLevels": [],
                    "signInRiskLevels": [],
                    "clientAppTypes": ["all"],
                    "servicePrincipalRiskLevels": [],
                    "insiderRiskLevels": None,
                    "platforms": None,
                    "locations": None,
                    "devices": None,
                    "clientApplications": None,
                    "authenticationFlows": None,
                    "applications": apps,
                    "users": users,
                },
                "grantControls": grant,
            },
        )


def _enrollment_restriction(b: _Builder) -> None:
    name = "Windows - Block personal device enrollment"
    created, modified = b.times()
    config_id = b.uid("deviceEnrollmentConfiguration", name) + "_SinglePlatformRestriction"
    b.add(
        ENROLLMENT_CONFIGURATIONS,
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionConfiguration",
            "id": config_id,
            "displayName": name,
            "description": "Corporate Windows only; personal devices are blocked",
            "priority": 1,
            "createdDateTime": created,
            "lastModifiedDateTime": modified,
            "version": 2,
            "roleScopeTagIds": ["0"],
            "deviceEnrollmentConfigurationType": "singlePlatformRestriction",
            "platformType": "windows",
            "platformRestriction": {
                "platformBlocked": False,
                "personalDeviceEnrollmentBlocked": True,
                "osMinimumVersion": "10.0.19045",
                "osMaximumVersion": None,
                "blockedManufacturers": [],
                "blockedSkus": [],
            },
            "assignments": [
                {
                    "id": f"{config_id}_{ALL_USERS_VIRTUAL_GROUP_ID}",
                    "source": "direct",
                    "sourceId": config_id,
                    "target": {
                        "@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget",
                        "deviceAndAppManagementAssignmentFilterId": None,
                        "deviceAndAppManagementAssignmentFilterType": "none",
                    },
                }
            ],
        },
    )


# --------------------------------------------------------------------------------------------
# Seed directory
# --------------------------------------------------------------------------------------------

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._() -]+")


def _safe_name(text: str) -> str:
    cleaned = _UNSAFE_CHARS.sub("_", text).strip(" ._")
    return cleaned[:120] or "object"


def write_seed_dir(objects: Iterable[JSONDict], directory: Path) -> list[Path]:
    """Write one JSON file per object into ``directory`` (created if needed); return the paths.

    File names are ``<collection leaf> - <displayName or name>.json``, made filesystem-safe and
    unique (``~2``, ``~3`` … for repeats).
    """
    directory.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    written: list[Path] = []
    for obj in objects:
        leaf = collection_of(obj).rsplit("/", 1)[-1]
        title = obj.get("displayName") or obj.get("name") or obj.get("id") or "object"
        stem = _safe_name(f"{leaf} - {title}")
        candidate, counter = stem, 1
        while candidate.lower() in used:
            counter += 1
            candidate = f"{stem}~{counter}"
        used.add(candidate.lower())
        path = directory / f"{candidate}.json"
        path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------
# Drift
# --------------------------------------------------------------------------------------------


class DemoTenant(Protocol):
    """The Python-side surface of an emulated tenant that drift needs (architecture.md §2)."""

    def get_object(self, collection: str, object_id: str) -> JSONDict | None: ...

    def list_objects(self, collection: str) -> list[JSONDict]: ...

    def put_object(self, collection: str, obj: JSONDict) -> Any: ...

    def delete_object(self, collection: str, object_id: str) -> Any: ...


_TYPE_LABELS = {
    DEVICE_CONFIGURATIONS: "device configuration",
    COMPLIANCE_POLICIES: "compliance policy",
    CONFIGURATION_POLICIES: "settings catalog policy",
    GROUP_POLICY_CONFIGURATIONS: "administrative template",
    SCRIPTS: "PowerShell script",
    HEALTH_SCRIPTS: "remediation script",
    IOS_APP_PROTECTIONS: "iOS app protection policy",
    ANDROID_APP_PROTECTIONS: "Android app protection policy",
    AUTOPILOT_PROFILES: "Autopilot profile",
    DRIVER_UPDATE_PROFILES: "driver update profile",
    FEATURE_UPDATE_PROFILES: "feature update profile",
    ASSIGNMENT_FILTERS: "assignment filter",
    NOTIFICATION_TEMPLATES: "notification template",
}


class _Drift:
    def __init__(self, tenant: DemoTenant, *, seed: int) -> None:
        self.tenant = tenant
        self.rng = random.Random(seed)
        self.changes: list[str] = []
        self.now = _BASE_TIME + timedelta(days=2, minutes=self.rng.randint(0, 600))

    def find(self, collection: str, title: str) -> JSONDict:
        for listed in self.tenant.list_objects(collection):
            if listed.get("displayName") == title or listed.get("name") == title:
                full = self.tenant.get_object(collection, listed["id"])
                return copy.deepcopy(full if full is not None else listed)
        raise LookupError(
            f"demo drift expects {_TYPE_LABELS.get(collection, collection)} {title!r} in the "
            "tenant; seed it with demo_tenant_objects() first"
        )

    def group_id(self, name: str) -> str:
        for group in self.tenant.list_objects(GROUPS):
            if group.get("displayName") == name:
                return str(group["id"])
        raise LookupError(f"demo drift expects group {name!r} in the tenant")

    def tag_id(self, name: str) -> str:
        for tag in self.tenant.list_objects(SCOPE_TAGS):
            if tag.get("displayName") == name:
                return str(tag["id"])
        raise LookupError(f"demo drift expects scope tag {name!r} in the tenant")

    def save(self, collection: str, obj: JSONDict) -> None:
        self.now += timedelta(minutes=self.rng.randint(3, 47), seconds=self.rng.randint(0, 59))
        if "lastModifiedDateTime" in obj:
            obj["lastModifiedDateTime"] = _graph_time(self.now)
        version = obj.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            obj["version"] = version + 1
        elif isinstance(version, str) and collection in (
            IOS_APP_PROTECTIONS,
            ANDROID_APP_PROTECTIONS,
        ):
            token = uuid.uuid5(_ID_NAMESPACE, f"{obj['id']}|{self.now.isoformat()}").hex
            obj["version"] = f'"{token[:8]}-0000-0d00-0000-{token[8:20]}"'
        self.tenant.put_object(collection, obj)

    def delete(self, collection: str, title: str) -> None:
        obj = self.find(collection, title)
        self.tenant.delete_object(collection, obj["id"])
        self.changes.append(f"Deleted {_TYPE_LABELS[collection]} '{title}'")

    def retarget(self, collection: str, obj: JSONDict, targets: list[JSONDict]) -> None:
        policy_id = obj["id"]
        assignments: list[JSONDict] = []
        for target in targets:
            group_id = target.get("groupId") or (
                ALL_DEVICES_VIRTUAL_GROUP_ID
                if target["@odata.type"].endswith("allDevicesAssignmentTarget")
                else ALL_USERS_VIRTUAL_GROUP_ID
            )
            item: JSONDict = {"id": f"{policy_id}_{group_id}"}
            if collection in _ASSIGNMENT_WITH_SOURCE:
                item.update({"source": "direct", "sourceId": policy_id})
            if collection == DEVICE_CONFIGURATIONS:
                item["intent"] = "apply"
            item["target"] = target
            assignments.append(item)
        obj["assignments"] = assignments


def _group_target(group_id: str, *, exclude: bool = False) -> JSONDict:
    return {
        "@odata.type": _TARGET_TYPES["exclude" if exclude else "include"],
        "deviceAndAppManagementAssignmentFilterId": None,
        "deviceAndAppManagementAssignmentFilterType": "none",
        "groupId": group_id,
    }


def _walk_instances(instances: Iterable[JSONDict]) -> Iterable[JSONDict]:
    for instance in instances:
        yield instance
        choice = instance.get("choiceSettingValue")
        if isinstance(choice, dict):
            yield from _walk_instances(choice.get("children") or [])
        for group in instance.get("groupSettingCollectionValue") or []:
            yield from _walk_instances(group.get("children") or [])


def apply_demo_drift(tenant: DemoTenant, *, seed: int) -> list[str]:
    """Change a demo tenant the way admins do after a backup; return what changed, in words.

    Deletes four objects of different types, edits four settings, re-assigns three policies and
    re-tags two, bumping ``lastModifiedDateTime`` / ``version`` like Intune does. The tenant must
    have been seeded with :func:`demo_tenant_objects`. ``seed`` varies the new values slightly.
    """
    d = _Drift(tenant, seed=seed)

    # -- deletions (four types) --
    d.delete(CONFIGURATION_POLICIES, "macOS - SC - Microsoft AutoUpdate")
    d.delete(SCRIPTS, "WIN - PS - Map Finance printers")
    d.delete(DEVICE_CONFIGURATIONS, "iOS - Wi-Fi - Contoso-Guest")
    d.delete(ANDROID_APP_PROTECTIONS, "Android - APP - EMEA")

    # -- setting changes --
    edge = d.find(CONFIGURATION_POLICIES, "WIN - SC - Microsoft Edge - Security")
    target_definition = f"{_EDGE}_sslerroroverrideallowed"
    for instance in _walk_instances(s["settingInstance"] for s in edge.get("settings") or []):
        if instance.get("settingDefinitionId") == target_definition:
            instance["choiceSettingValue"]["value"] = f"{target_definition}_1"
            break
    else:
        raise LookupError("demo drift: Edge policy lost its SSL error override setting")
    d.save(CONFIGURATION_POLICIES, edge)
    d.changes.append(
        "Changed settings catalog policy 'WIN - SC - Microsoft Edge - Security': "
        "'Allow users to proceed from the HTTPS warning page' disabled -> enabled"
    )

    compliance = d.find(COMPLIANCE_POLICIES, "WIN - Compliance - Baseline")
    old_os = compliance.get("osMinimumVersion")
    compliance["osMinimumVersion"] = d.rng.choice(["10.0.19045", "10.0.19044"])
    d.save(COMPLIANCE_POLICIES, compliance)
    d.changes.append(
        "Changed compliance policy 'WIN - Compliance - Baseline': minimum OS version "
        f"{old_os} -> {compliance['osMinimumVersion']}"
    )

    ring = d.find(DEVICE_CONFIGURATIONS, "WIN - Update Ring - Broad")
    old_deferral = ring.get("qualityUpdatesDeferralPeriodInDays")
    ring["qualityUpdatesDeferralPeriodInDays"] = d.rng.choice([21, 28, 30])
    ring["featureUpdatesDeferralPeriodInDays"] = 180
    d.save(DEVICE_CONFIGURATIONS, ring)
    d.changes.append(
        "Changed device configuration 'WIN - Update Ring - Broad': quality update deferral "
        f"{old_deferral} -> {ring['qualityUpdatesDeferralPeriodInDays']} days, feature update "
        "deferral -> 180 days"
    )

    remediation = d.find(HEALTH_SCRIPTS, "WIN - Remediation - Free disk space")
    remediation["detectionScriptContent"] = _b64(
        _DETECT_DISK.replace("-lt 10", "-lt 2") + "# threshold lowered during incident INC-4711\n"
    )
    d.save(HEALTH_SCRIPTS, remediation)
    d.changes.append(
        "Changed remediation script 'WIN - Remediation - Free disk space': detection script "
        "content edited (free-space threshold 10 GB -> 2 GB)"
    )

    # -- re-assignments --
    pilot_ring = d.find(DEVICE_CONFIGURATIONS, "WIN - Update Ring - Pilot")
    d.retarget(
        DEVICE_CONFIGURATIONS,
        pilot_ring,
        [_group_target(d.group_id("SG-Intune-Windows-Broad"))],
    )
    d.save(DEVICE_CONFIGURATIONS, pilot_ring)
    d.changes.append(
        "Re-assigned device configuration 'WIN - Update Ring - Pilot': now targets "
        "SG-Intune-Windows-Broad instead of SG-Intune-Windows-Pilot and SG-Update-Ring-Fast"
    )

    bitlocker = d.find(CONFIGURATION_POLICIES, "ES - Disk Encryption - BitLocker")
    kept = [
        a["target"]
        for a in bitlocker.get("assignments") or []
        if not a["target"]["@odata.type"].endswith("exclusionGroupAssignmentTarget")
    ]
    d.retarget(CONFIGURATION_POLICIES, bitlocker, kept)
    d.save(CONFIGURATION_POLICIES, bitlocker)
    d.changes.append(
        "Re-assigned settings catalog policy 'ES - Disk Encryption - BitLocker': exclusion of "
        "SG-Kiosk-Exclusions removed"
    )

    wallpaper = d.find(SCRIPTS, "WIN - PS - Set Contoso wallpaper")
    d.retarget(
        SCRIPTS,
        wallpaper,
        [
            _group_target(d.group_id("SG-Intune-Windows-Pilot")),
            _group_target(d.group_id("SG-Developers"), exclude=True),
        ],
    )
    d.save(SCRIPTS, wallpaper)
    d.changes.append(
        "Re-assigned PowerShell script 'WIN - PS - Set Contoso wallpaper': now SG-Intune-Windows-"
        "Pilot (was SG-Intune-Windows-Broad), excludes SG-Developers instead of SG-Kiosk-Exclusions"
    )

    # -- scope tags --
    restrictions = d.find(DEVICE_CONFIGURATIONS, "WIN - Device Restrictions - General")
    restrictions["roleScopeTagIds"] = [d.tag_id("Default"), d.tag_id("EMEA")]
    d.save(DEVICE_CONFIGURATIONS, restrictions)
    d.changes.append(
        "Re-tagged device configuration 'WIN - Device Restrictions - General': scope tags "
        "Default -> Default, EMEA"
    )

    ios_app = d.find(IOS_APP_PROTECTIONS, "iOS - APP - Finance")
    ios_app["roleScopeTagIds"] = [d.tag_id("Default")]
    d.save(IOS_APP_PROTECTIONS, ios_app)
    d.changes.append(
        "Re-tagged iOS app protection policy 'iOS - APP - Finance': scope tags Finance -> Default"
    )
    return d.changes


# --------------------------------------------------------------------------------------------
# Bulk generation for benchmarks
# --------------------------------------------------------------------------------------------

# (weight, factory name): roughly the mix of a large enterprise tenant.
_BULK_MIX: tuple[tuple[int, str], ...] = (
    (24, "device_configuration"),
    (20, "settings_catalog"),
    (6, "endpoint_security"),
    (10, "compliance"),
    (6, "admin_template"),
    (8, "script"),
    (5, "health_script"),
    (5, "ios_app_protection"),
    (5, "android_app_protection"),
    (3, "update_ring"),
    (2, "autopilot"),
    (3, "feature_update"),
    (3, "driver_update"),
)

_BULK_GROUP_COUNT = 120
_BULK_SCOPE_TAGS = ("Finance", "EMEA", "Kiosk", "APAC", "Americas", "Engineering")
_BULK_FILTERS: tuple[tuple[str, str, str], ...] = (
    ("Windows 11 only", "windows10AndLater", '(device.osVersion -startsWith "10.0.22")'),
    ("Corporate-owned Windows", "windows10AndLater", '(device.deviceOwnership -eq "Corporate")'),
    (
        "Surface devices",
        "windows10AndLater",
        '(device.manufacturer -eq "Microsoft Corporation") and (device.model -startsWith "Surface")',
    ),
    ("Corporate iPhones", "iOS", '(device.deviceOwnership -eq "Corporate")'),
    ("Virtual machines", "windows10AndLater", '(device.model -contains "Virtual")'),
)
_BULK_TEMPLATES = ("Compliance - Device not compliant", "Compliance - Final warning")
_BULK_DEPARTMENTS = (
    "Finance",
    "HR",
    "Sales",
    "Marketing",
    "Engineering",
    "Legal",
    "Operations",
    "Support",
    "Research",
    "Retail",
)
_BULK_REGIONS = ("EMEA", "AMER", "APAC", "UK", "DE", "FR", "US", "JP", "AU", "IN")


def generate_bulk_objects(*, count: int, seed: int, tenant_label: str) -> list[JSONDict]:
    """``count`` policy objects of mixed types plus the groups and foundations they reference.

    Each policy has 1-4 assignments (include/exclude groups, all devices/users, some filtered).
    The result is deterministic for a given (count, seed, tenant_label).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    b = _Builder(tenant_label=tenant_label, seed=seed)
    rng = b.rng

    groups: list[str] = []
    for index in range(_BULK_GROUP_COUNT):
        name = f"SG-{_BULK_DEPARTMENTS[index % 10]}-{_BULK_REGIONS[(index // 10) % 10]}-{index:03d}"
        b.group(name, f"Bulk benchmark group {index}")
        groups.append(name)
    b.scope_tag("Default", "Built-in scope tag")
    for number, tag in enumerate(_BULK_SCOPE_TAGS, start=1):
        b.scope_tag(tag, f"{tag} administrators", number=number)
    for name, platform, rule in _BULK_FILTERS:
        b.assignment_filter(name, platform=platform, rule=rule)
    for name in _BULK_TEMPLATES:
        b.notification_template(name, [("en-us", name, f"{name}: {{DeviceName}}")])
    windows_filters = [
        name for name, platform, _ in _BULK_FILTERS if platform == "windows10AndLater"
    ]
    tag_names = ["Default", *_BULK_SCOPE_TAGS]

    def targets(*, windows: bool) -> list[_Target]:
        result: list[_Target] = []
        picked = rng.sample(groups, 4)
        for index in range(rng.randint(1, 4)):
            roll = rng.random()
            if index == 0 and roll < 0.12:
                result.append(_all_devices(filter=rng.choice(windows_filters) if windows else None))
            elif index == 0 and roll < 0.2:
                result.append(_all_users())
            elif index > 0 and roll < 0.35:
                result.append(_exc(picked[index]))
            elif windows and roll < 0.55:
                result.append(
                    _inc(
                        picked[index],
                        filter=rng.choice(windows_filters),
                        mode=rng.choice(["include", "exclude"]),
                    )
                )
            else:
                result.append(_inc(picked[index]))
        return result

    def tags() -> list[str]:
        if rng.random() < 0.6:
            return ["Default"]
        return rng.sample(tag_names, rng.randint(1, 2))

    flags = list(_EDGE_SECURITY_FLAGS)
    hardening = list(_HARDENING_FLAGS)
    weights = [weight for weight, _ in _BULK_MIX]
    kinds = [kind for _, kind in _BULK_MIX]
    es_templates = (_ES_ANTIVIRUS, _ES_FIREWALL, _ES_DISK, _ES_ASR, _ES_EDR)
    es_instances: dict[str, Callable[[str], list[JSONDict]]] = {
        _ES_ANTIVIRUS[1]: _antivirus_instances,
        _ES_FIREWALL[1]: _firewall_instances,
        _ES_DISK[1]: _bitlocker_instances,
        _ES_ASR[1]: _asr_instances,
        _ES_EDR[1]: _edr_instances,
    }

    for index in range(count):
        kind = rng.choices(kinds, weights)[0]
        dept = _BULK_DEPARTMENTS[index % len(_BULK_DEPARTMENTS)]
        region = _BULK_REGIONS[(index // 7) % len(_BULK_REGIONS)]
        suffix = f"{dept} {region} #{index:05d}"
        if kind == "device_configuration":
            variant = rng.randrange(3)
            if variant == 0:
                props = _windows_general()
                props["passwordMinimumLength"] = rng.choice([8, 10, 12, 14])
                b.device_configuration(
                    f"WIN - Restrictions - {suffix}",
                    "#microsoft.graph.windows10GeneralConfiguration",
                    props,
                    targets=targets(windows=True),
                    tags=tags(),
                )
            elif variant == 1:
                props = _ios_restrictions()
                props["passcodeMinimumLength"] = rng.choice([4, 6, 8])
                b.device_configuration(
                    f"iOS - Restrictions - {suffix}",
                    "#microsoft.graph.iosGeneralDeviceConfiguration",
                    props,
                    targets=targets(windows=False),
                    tags=tags(),
                )
            else:
                b.device_configuration(
                    f"WIN - Custom OMA-URI - {suffix}",
                    "#microsoft.graph.windows10CustomConfiguration",
                    {
                        "omaSettings": [
                            {
                                "@odata.type": "#microsoft.graph.omaSettingInteger",
                                "displayName": f"Setting {n}",
                                "description": None,
                                "omaUri": f"./Device/Vendor/MSFT/Policy/Config/Contoso/Setting{n}",
                                "secretReferenceValueId": None,
                                "isEncrypted": False,
                                "value": rng.randint(0, 3),
                                "isReadOnly": False,
                            }
                            for n in range(rng.randint(1, 6))
                        ]
                    },
                    targets=targets(windows=True),
                    tags=tags(),
                )
        elif kind == "update_ring":
            b.device_configuration(
                f"WIN - Update Ring - {suffix}",
                "#microsoft.graph.windowsUpdateForBusinessConfiguration",
                _update_ring(
                    quality_deferral=rng.choice([0, 3, 7, 14]),
                    feature_deferral=rng.choice([0, 30, 60, 90]),
                    deadline_days=rng.choice([2, 5, 7]),
                ),
                targets=targets(windows=True),
                tags=tags(),
            )
        elif kind == "settings_catalog":
            if rng.random() < 0.5:
                chosen = rng.sample(flags, rng.randint(3, len(flags)))
                instances = _edge_instances(chosen)
            else:
                chosen = rng.sample(hardening, rng.randint(3, len(hardening)))
                instances = [_enabled(flag, on=rng.random() < 0.8) for flag in chosen]
            b.configuration_policy(
                f"WIN - SC - {suffix}",
                platforms="windows10",
                technologies="mdm",
                instances=instances,
                targets=targets(windows=True),
                tags=tags(),
            )
        elif kind == "endpoint_security":
            template = rng.choice(es_templates)
            b.configuration_policy(
                f"ES - {template[2]} - {suffix}",
                platforms="windows10",
                technologies="mdm,microsoftSense",
                instances=es_instances[template[1]](template[1]),
                targets=targets(windows=True),
                tags=tags(),
                template=template,
            )
        elif kind == "compliance":
            variant = rng.randrange(4)
            name = f"Compliance - {suffix}"
            notify = [(rng.choice(_BULK_TEMPLATES), 0)] if rng.random() < 0.4 else []
            if variant == 0:
                b.compliance_policy(
                    f"WIN - {name}",
                    "#microsoft.graph.windows10CompliancePolicy",
                    _windows_compliance(rng.choice(["10.0.19045", "10.0.22631", "10.0.26100"])),
                    targets=targets(windows=True),
                    tags=tags(),
                    notify=notify,
                )
            elif variant == 1:
                b.compliance_policy(
                    f"iOS - {name}",
                    "#microsoft.graph.iosCompliancePolicy",
                    _ios_compliance(),
                    targets=targets(windows=False),
                    tags=tags(),
                    notify=notify,
                )
            elif variant == 2:
                b.compliance_policy(
                    f"macOS - {name}",
                    "#microsoft.graph.macOSCompliancePolicy",
                    _macos_compliance(),
                    targets=targets(windows=False),
                    tags=tags(),
                    notify=notify,
                )
            else:
                b.compliance_policy(
                    f"Android - {name}",
                    "#microsoft.graph.androidWorkProfileCompliancePolicy",
                    _android_work_profile_compliance(),
                    targets=targets(windows=False),
                    tags=tags(),
                    notify=notify,
                )
        elif kind == "admin_template":
            b.admin_template(
                f"WIN - ADMX - {suffix}",
                [
                    _AdmxSetting(
                        "Configure the home page URL",
                        "\\Microsoft Edge\\Startup, home page and new tab page",
                        "user",
                        texts=(("Home page URL", f"https://{dept.lower()}.contoso.com"),),
                    ),
                    _AdmxSetting(
                        "Prevent users from syncing personal OneDrive accounts",
                        "\\OneDrive",
                        "user",
                        enabled=rng.random() < 0.7,
                    ),
                ],
                targets=targets(windows=True),
                tags=tags(),
            )
        elif kind == "script":
            b.script(
                f"WIN - PS - {suffix}",
                file_name=f"Invoke-Contoso{index:05d}.ps1",
                content=rng.choice([_PS_WALLPAPER, _PS_PRINTERS, _PS_LOCAL_ADMIN])
                + f"# bulk variant {index}\n",
                run_as=rng.choice(["system", "user"]),
                targets=targets(windows=True),
                tags=tags(),
            )
        elif kind == "health_script":
            detection, remediation = rng.choice(
                [
                    (_DETECT_DISK, _REMEDIATE_DISK),
                    (_DETECT_UPTIME, _REMEDIATE_UPTIME),
                    (_DETECT_BITLOCKER_KEY, _REMEDIATE_BITLOCKER_KEY),
                ]
            )
            b.health_script(
                f"WIN - Remediation - {suffix}",
                detection=detection + f"# variant {index}\n",
                remediation=remediation,
                targets=targets(windows=True),
                tags=tags(),
            )
        elif kind == "ios_app_protection":
            b.app_protection(
                f"iOS - APP - {suffix}",
                platform="ios",
                apps=rng.sample(_IOS_APPS, rng.randint(3, len(_IOS_APPS))),
                properties={**_IOS_EXTRA, "minimumPinLength": rng.choice([4, 6, 8])},
                targets=[t for t in targets(windows=False) if t.kind in ("include", "exclude")]
                or [_inc(rng.choice(groups))],
                tags=tags(),
            )
        elif kind == "android_app_protection":
            b.app_protection(
                f"Android - APP - {suffix}",
                platform="android",
                apps=rng.sample(_ANDROID_APPS, rng.randint(3, len(_ANDROID_APPS))),
                properties={**_ANDROID_EXTRA, "screenCaptureBlocked": rng.random() < 0.7},
                targets=[t for t in targets(windows=False) if t.kind in ("include", "exclude")]
                or [_inc(rng.choice(groups))],
                tags=tags(),
            )
        elif kind == "autopilot":
            b.autopilot_profile(
                f"Autopilot - {suffix}",
                "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",
                {
                    "deviceNameTemplate": f"{dept[:3].upper()}-%SERIAL%",
                    "enableWhiteGlove": rng.random() < 0.5,
                    "preprovisioningAllowed": False,
                    "outOfBoxExperienceSettings": {
                        "hidePrivacySettings": True,
                        "hideEULA": True,
                        "userType": "standard",
                        "deviceUsageType": "singleUser",
                        "skipKeyboardSelectionPage": True,
                        "hideEscapeLink": True,
                    },
                },
                targets=[t for t in targets(windows=True) if t.kind in ("include", "exclude")]
                or [_inc(rng.choice(groups))],
                tags=tags(),
            )
        elif kind == "feature_update":
            b.feature_update_profile(
                f"WIN - Feature Update - {suffix}",
                version=rng.choice(["Windows 11, version 24H2", "Windows 11, version 23H2"]),
                end_of_support="2026-10-13T00:00:00Z",
                targets=[t for t in targets(windows=True) if t.filter is None]
                or [_inc(rng.choice(groups))],
                tags=tags(),
            )
        else:  # driver_update
            b.driver_update_profile(
                f"WIN - Drivers - {suffix}",
                approval=rng.choice(["manual", "automatic"]),
                deferral_days=rng.choice([0, 7, 14]),
                targets=[t for t in targets(windows=True) if t.filter is None]
                or [_inc(rng.choice(groups))],
                tags=tags(),
            )
    return b.objects
