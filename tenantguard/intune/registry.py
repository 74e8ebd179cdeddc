"""The Intune policy-type registry: every supported type described as data.

Capture, normalize and the restore engine read these records instead of branching on type
names. Adding a type means adding one ``PolicyType`` to ``_TYPES``; the tests check that every
record is complete and consistent with the others that share its Graph collection.

Graph facts used here are in ``../shared/reference/graph-intune.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

ODATA_PREFIX: Final = "#microsoft.graph."

RestoreMode = Literal["enabled", "preview-only"]
WriteMethod = Literal["POST", "PATCH", "PUT"]
Platform = Literal["windows", "macOS", "iOS", "android", "linux", "all"]

PERMISSION_CONFIGURATION: Final = "DeviceManagementConfiguration"
PERMISSION_RBAC: Final = "DeviceManagementRBAC"
PERMISSION_SERVICE_CONFIG: Final = "DeviceManagementServiceConfig"
PERMISSION_APPS: Final = "DeviceManagementApps"

#: Built-in "Default" scope tag: present in every tenant, never restored or mapped.
BUILTIN_SCOPE_TAG_ID: Final = "0"
#: ``notificationTemplateId`` value meaning "no notification template".
EMPTY_GUID: Final = "00000000-0000-0000-0000-000000000000"

#: Server-maintained properties stripped from every type before compare or write.
COMMON_READ_ONLY_FIELDS: Final = frozenset(
    {
        "id",
        "createdDateTime",
        "lastModifiedDateTime",
        "version",
        "supportsScopeTags",
        "settingCount",
        "creationSource",
        "isAssigned",
        "isBuiltIn",
        "isGlobalScript",
        "highestAvailableVersion",
    }
)


def odata(name: str) -> str:
    """``"windows10GeneralConfiguration"`` -> ``"#microsoft.graph.windows10GeneralConfiguration"``."""
    return ODATA_PREFIX + name


def _odata_types(*names: str) -> frozenset[str]:
    return frozenset(odata(name) for name in names)


@dataclass(frozen=True)
class ListParams:
    """Query parameters for listing a collection (``$expand`` / ``$select``)."""

    expand: str | None = None
    select: str | None = None

    def as_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.expand:
            params["$expand"] = self.expand
        if self.select:
            params["$select"] = self.select
        return params


FetchKind = Literal[
    "settings",
    "scheduledActionsForRule",
    "scriptContent",
    "omaSecrets",
    "definitionValues",
    "localizedNotificationMessages",
    "assignments",
    "apps",
]


@dataclass(frozen=True)
class PerItemFetch:
    """Something capture must GET for each listed item (batched, 20 per ``$batch``).

    ``path`` is relative to the item (``{collection}/{id}/``); ``""`` means the item itself.
    ``merge_into`` names the payload property the result lands in (``None``: the response's
    properties are merged into the payload, for a GET of the item itself). With
    ``only_if_missing`` the fetch is skipped when the listed object already holds
    ``merge_into`` (it was expanded by the list). Collection responses follow
    ``@odata.nextLink``.
    """

    kind: FetchKind
    path: str
    merge_into: str | None
    params: tuple[tuple[str, str], ...] = ()
    only_if_missing: bool = True
    is_collection: bool = True
    #: Properties of a fetched item (``path == ""``) that are merged into the payload.
    merge_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssignSpec:
    """How assignments are written.

    Normal types: ``POST {collection}/{id}/{path}`` with ``{body_key: [...]}`` answered with
    ``expected_status``; the action replaces the whole list. With ``per_assignment`` (Autopilot)
    each assignment is a separate ``POST {collection}/{id}/{path}`` of ``{"target": ...}``.
    """

    path: str = "assign"
    body_key: str | None = "assignments"
    expected_status: int = 200
    per_assignment: bool = False


FoundationKey = Literal["scope_tag", "assignment_filter", "notification_template"]


@dataclass(frozen=True)
class FoundationRef:
    """Where an object refers to a foundation object by id.

    ``path`` uses dotted keys with ``[]`` for "each element": ``roleScopeTagIds[]``,
    ``scheduledActionsForRule[].scheduledActionConfigurations[].notificationTemplateId``.
    ``in_assignments``: the path is relative to each assignment instead of the payload.
    Empty values, the all-zero GUID and the built-in scope tag ``"0"`` are not references.
    """

    foundation: FoundationKey
    path: str
    in_assignments: bool = False


@dataclass(frozen=True)
class PropertyPrefix:
    """A discriminator on a property value: ``path`` (dotted) starts with ``prefix``.

    ``negate`` matches when it does not (a missing property never starts with anything).
    """

    path: str
    prefix: str
    negate: bool = False


@dataclass(frozen=True)
class SortRule:
    """A child list whose order Graph does not guarantee: sort it by ``keys`` (dotted paths)."""

    path: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class PlatformRule:
    """How to find an object's platform, tried in this order: ``fixed``; the ``property``
    value (e.g. settings catalog ``platforms``, filter ``platform``); the ``@odata.type``.
    Anything undetermined is ``"all"``."""

    fixed: Platform | None = None
    property: str | None = None
    from_odata_type: bool = True


@dataclass(frozen=True)
class PolicyType:
    key: str
    label: str
    category: str
    collection: str
    api_version: Literal["beta", "v1.0"] = "beta"
    #: ``@odata.type`` values that belong to this type. Empty: every object of the collection
    #: that no other type claims.
    odata_types: frozenset[str] = frozenset()
    #: ``@odata.type`` assumed when Graph omits it (it does for non-derived entity sets).
    default_odata_type: str | None = None
    discriminator: PropertyPrefix | None = None
    list_params: ListParams = ListParams()
    per_item_fetch: tuple[PerItemFetch, ...] = ()
    #: Stripped for compare and write, on top of ``COMMON_READ_ONLY_FIELDS``.
    read_only_fields: frozenset[str] = frozenset()
    #: Navigation properties the write body never carries (written separately or not at all).
    write_excluded_fields: frozenset[str] = frozenset()
    #: Navigation properties sent on create (deep insert) but not on update.
    create_only_fields: frozenset[str] = frozenset()
    #: Server ids of child objects, dropped for compare and write (paths as in FoundationRef).
    child_id_paths: tuple[str, ...] = ()
    #: Child lists sorted for compare.
    unordered_lists: tuple[SortRule, ...] = ()
    #: Sort nested settings-catalog ``children`` by ``settingDefinitionId`` for compare.
    sort_setting_children: bool = False
    #: Expanded reference objects reduced to these keys for compare (e.g. an admin template
    #: ``definition`` keeps ``id`` and ``displayName``, not its catalog text).
    reduce_expanded: tuple[tuple[str, tuple[str, ...]], ...] = ()
    create_method: WriteMethod = "POST"
    update_method: WriteMethod = "PATCH"
    assign: AssignSpec | None = AssignSpec()
    scope_tag_property: str | None = "roleScopeTagIds"
    foundation_refs: tuple[FoundationRef, ...] = ()
    platform: PlatformRule = PlatformRule()
    restore_mode: RestoreMode = "enabled"
    is_foundation: bool = False
    required_permission: str = PERMISSION_CONFIGURATION + ".Read.All"
    write_permission: str = PERMISSION_CONFIGURATION + ".ReadWrite.All"
    display_name_property: str = "displayName"
    modified_property: str | None = "lastModifiedDateTime"
    #: ``isEncrypted`` OMA-URI values are read with ``getOmaSettingPlainTextValue``.
    has_oma_secrets: bool = False
    description: str = ""

    @property
    def is_preview_only(self) -> bool:
        return self.restore_mode == "preview-only"

    @property
    def all_read_only_fields(self) -> frozenset[str]:
        return COMMON_READ_ONLY_FIELDS | self.read_only_fields

    @property
    def item_path_template(self) -> str:
        """Path of one object (relative to the API version root), ``{id}`` to fill in."""
        return f"{self.collection}/{{id}}"

    def item_path(self, object_id: str) -> str:
        return f"{self.collection}/{object_id}"

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """True when ``obj`` (an object of ``self.collection``) belongs to this type."""
        if self.odata_types:
            odata_type = _odata_type_of(obj) or self.default_odata_type
            if odata_type is None or odata_type.lower() not in _lower(self.odata_types):
                return False
        if self.discriminator is not None:
            value = _dotted_get(obj, self.discriminator.path)
            starts = isinstance(value, str) and value.startswith(self.discriminator.prefix)
            if starts == self.discriminator.negate:
                return False
        return True


def _lower(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.lower() for value in values)


def _odata_type_of(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("@odata.type")
    if not isinstance(value, str) or not value:
        return None
    return value if value.startswith("#") else "#" + value


def _dotted_get(obj: Any, path: str) -> Any:
    current = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


# --------------------------------------------------------------------------------------------
# Shared building blocks
# --------------------------------------------------------------------------------------------

_EXPAND_ASSIGNMENTS = ListParams(expand="assignments")
_SCOPE_TAG_REF = FoundationRef("scope_tag", "roleScopeTagIds[]")
_FILTER_REF = FoundationRef(
    "assignment_filter", "target.deviceAndAppManagementAssignmentFilterId", in_assignments=True
)
_STANDARD_REFS = (_SCOPE_TAG_REF, _FILTER_REF)

_FETCH_ITEM_ASSIGNMENTS = PerItemFetch(
    kind="assignments", path="assignments", merge_into="assignments"
)

# Device configuration subtypes restored generically (POST with @odata.type, PATCH to update).
# Profiles that point at other profiles through navigation properties (SCEP/PKCS/imported PFX
# certificates, enterprise Wi-Fi and wired networks, derived credentials) are not listed: they
# fall to the preview-only UNSUPPORTED type until their references can be rewritten.
_GENERIC_DEVICE_CONFIGURATION_TYPES = _odata_types(
    "androidDeviceOwnerGeneralDeviceConfiguration",
    "androidDeviceOwnerWiFiConfiguration",
    "androidDeviceOwnerVpnConfiguration",
    "androidDeviceOwnerTrustedRootCertificate",
    "androidEasEmailProfileConfiguration",
    "androidForWorkGeneralDeviceConfiguration",
    "androidForWorkGmailEasConfiguration",
    "androidForWorkNineWorkEasConfiguration",
    "androidForWorkVpnConfiguration",
    "androidForWorkWiFiConfiguration",
    "androidForWorkTrustedRootCertificate",
    "androidGeneralDeviceConfiguration",
    "androidOmaCpConfiguration",
    "androidVpnConfiguration",
    "androidWiFiConfiguration",
    "androidTrustedRootCertificate",
    "androidWorkProfileGeneralDeviceConfiguration",
    "androidWorkProfileGmailEasConfiguration",
    "androidWorkProfileNineWorkEasConfiguration",
    "androidWorkProfileVpnConfiguration",
    "androidWorkProfileWiFiConfiguration",
    "androidWorkProfileTrustedRootCertificate",
    "aospDeviceOwnerDeviceConfiguration",
    "aospDeviceOwnerWiFiConfiguration",
    "aospDeviceOwnerTrustedRootCertificate",
    "editionUpgradeConfiguration",
    "iosCustomConfiguration",
    "iosDeviceFeaturesConfiguration",
    "iosEasEmailProfileConfiguration",
    "iosEduDeviceConfiguration",
    "iosEducationDeviceConfiguration",
    "iosExpeditedCheckinConfiguration",
    "iosGeneralDeviceConfiguration",
    "iosUpdateConfiguration",
    "iosVpnConfiguration",
    "iosikEv2VpnConfiguration",
    "iosWiFiConfiguration",
    "iosTrustedRootCertificate",
    "macOSCustomAppConfiguration",
    "macOSCustomConfiguration",
    "macOSDeviceFeaturesConfiguration",
    "macOSEndpointProtectionConfiguration",
    "macOSExtensionsConfiguration",
    "macOSGeneralDeviceConfiguration",
    "macOSSoftwareUpdateConfiguration",
    "macOSVpnConfiguration",
    "macOSWiFiConfiguration",
    "macOSTrustedRootCertificate",
    "sharedPCConfiguration",
    "windows10EasEmailProfileConfiguration",
    "windows10EndpointProtectionConfiguration",
    "windows10EnterpriseModernAppManagementConfiguration",
    "windows10GeneralConfiguration",
    "windows10NetworkBoundaryConfiguration",
    "windows10SecureAssessmentConfiguration",
    "windows10TeamGeneralConfiguration",
    "windows10VpnConfiguration",
    "windows81GeneralConfiguration",
    "windows81VpnConfiguration",
    "windows81WifiImportConfiguration",
    "windows81TrustedRootCertificate",
    "windowsDefenderAdvancedThreatProtectionConfiguration",
    "windowsDeliveryOptimizationConfiguration",
    "windowsDomainJoinConfiguration",
    "windowsHealthMonitoringConfiguration",
    "windowsIdentityProtectionConfiguration",
    "windowsKioskConfiguration",
    "windowsPhone81GeneralConfiguration",
    "windowsPhone81VpnConfiguration",
    "windowsPhone81TrustedRootCertificate",
    "windowsPhoneEASEmailProfileConfiguration",
    "windowsWifiConfiguration",
)

_OMA_URI_TYPES = _odata_types(
    "windows10CustomConfiguration",
    "windowsPhone81CustomConfiguration",
    "androidCustomConfiguration",
    "androidForWorkCustomConfiguration",
    "androidWorkProfileCustomConfiguration",
)

_UPDATE_RING_TYPES = _odata_types("windowsUpdateForBusinessConfiguration")

_COMPLIANCE_TYPES = _odata_types(
    "androidCompliancePolicy",
    "androidDeviceOwnerCompliancePolicy",
    "androidForWorkCompliancePolicy",
    "androidWorkProfileCompliancePolicy",
    "aospDeviceOwnerCompliancePolicy",
    "defaultDeviceCompliancePolicy",
    "iosCompliancePolicy",
    "macOSCompliancePolicy",
    "windows10CompliancePolicy",
    "windows10MobileCompliancePolicy",
    "windows81CompliancePolicy",
    "windowsPhone81CompliancePolicy",
)

_COMPLIANCE_SCHEDULED_ACTIONS_EXPAND = (
    "assignments,scheduledActionsForRule($expand=scheduledActionConfigurations)"
)

_SETTINGS_CATALOG_COMMON: dict[str, Any] = {
    "category": "Settings catalog",
    "collection": "deviceManagement/configurationPolicies",
    "default_odata_type": odata("deviceManagementConfigurationPolicy"),
    "odata_types": _odata_types("deviceManagementConfigurationPolicy"),
    "list_params": _EXPAND_ASSIGNMENTS,
    "per_item_fetch": (
        _FETCH_ITEM_ASSIGNMENTS,
        PerItemFetch(kind="settings", path="settings", merge_into="settings"),
    ),
    "read_only_fields": frozenset({"isAssigned", "settingCount", "creationSource"}),
    "child_id_paths": ("settings[].id",),
    "unordered_lists": (SortRule("settings", ("settingInstance.settingDefinitionId",)),),
    "sort_setting_children": True,
    "update_method": "PUT",
    "foundation_refs": _STANDARD_REFS,
    "platform": PlatformRule(property="platforms", from_odata_type=False),
    "display_name_property": "name",
}

_APP_PROTECTION_COMMON: dict[str, Any] = {
    "category": "App protection",
    "list_params": ListParams(expand="apps,assignments"),
    "per_item_fetch": (
        PerItemFetch(kind="assignments", path="assignments", merge_into="assignments"),
        PerItemFetch(kind="apps", path="apps", merge_into="apps"),
    ),
    "read_only_fields": frozenset({"deployedAppCount", "isAssigned"}),
    "create_only_fields": frozenset({"apps"}),
    "child_id_paths": ("apps[].id", "apps[].version"),
    "unordered_lists": (
        SortRule(
            "apps",
            (
                "mobileAppIdentifier.bundleId",
                "mobileAppIdentifier.packageId",
                "mobileAppIdentifier.windowsAppId",
            ),
        ),
    ),
    "assign": AssignSpec(expected_status=204),
    "foundation_refs": _STANDARD_REFS,
    "required_permission": PERMISSION_APPS + ".Read.All",
    "write_permission": PERMISSION_APPS + ".ReadWrite.All",
}

_TYPES: tuple[PolicyType, ...] = (
    # ---- foundations (restored first) -------------------------------------------------------
    PolicyType(
        key="scope_tag",
        label="Scope tags",
        category="Foundations",
        collection="deviceManagement/roleScopeTags",
        odata_types=_odata_types("roleScopeTag"),
        default_odata_type=odata("roleScopeTag"),
        read_only_fields=frozenset({"isBuiltIn", "assignments"}),
        write_excluded_fields=frozenset({"assignments"}),
        assign=None,
        scope_tag_property=None,
        platform=PlatformRule(fixed="all"),
        is_foundation=True,
        required_permission=PERMISSION_RBAC + ".Read.All",
        write_permission=PERMISSION_RBAC + ".ReadWrite.All",
        modified_property=None,
        description="Role-based access scope tags. The built-in Default tag (id 0) is never written.",
    ),
    PolicyType(
        key="assignment_filter",
        label="Assignment filters",
        category="Foundations",
        collection="deviceManagement/assignmentFilters",
        odata_types=_odata_types("deviceAndAppManagementAssignmentFilter"),
        default_odata_type=odata("deviceAndAppManagementAssignmentFilter"),
        read_only_fields=frozenset({"payloads"}),
        assign=None,
        scope_tag_property="roleScopeTags",
        foundation_refs=(FoundationRef("scope_tag", "roleScopeTags[]"),),
        platform=PlatformRule(property="platform", from_odata_type=False),
        is_foundation=True,
        description="Device and app assignment filters referenced by assignments.",
    ),
    PolicyType(
        key="notification_template",
        label="Notification message templates",
        category="Foundations",
        collection="deviceManagement/notificationMessageTemplates",
        odata_types=_odata_types("notificationMessageTemplate"),
        default_odata_type=odata("notificationMessageTemplate"),
        list_params=ListParams(),
        per_item_fetch=(
            PerItemFetch(
                kind="localizedNotificationMessages",
                path="localizedNotificationMessages",
                merge_into="localizedNotificationMessages",
            ),
        ),
        # Localized messages are created one by one under the template after it exists.
        write_excluded_fields=frozenset({"localizedNotificationMessages"}),
        child_id_paths=("localizedNotificationMessages[].id",),
        unordered_lists=(SortRule("localizedNotificationMessages", ("locale",)),),
        assign=None,
        foundation_refs=(_SCOPE_TAG_REF,),
        platform=PlatformRule(fixed="all"),
        is_foundation=True,
        required_permission=PERMISSION_SERVICE_CONFIG + ".Read.All",
        write_permission=PERMISSION_SERVICE_CONFIG + ".ReadWrite.All",
        description="Compliance notification e-mails (with their localized messages).",
    ),
    # ---- device configurations ----------------------------------------------------------------
    PolicyType(
        key="device_configuration",
        label="Device configurations",
        category="Device configuration",
        collection="deviceManagement/deviceConfigurations",
        odata_types=_GENERIC_DEVICE_CONFIGURATION_TYPES,
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(_FETCH_ITEM_ASSIGNMENTS,),
        foundation_refs=_STANDARD_REFS,
        description="Template-based device configuration profiles (restored as a whole).",
    ),
    PolicyType(
        key="custom_oma_uri",
        label="Custom OMA-URI profiles",
        category="Device configuration",
        collection="deviceManagement/deviceConfigurations",
        odata_types=_OMA_URI_TYPES,
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(
            _FETCH_ITEM_ASSIGNMENTS,
            PerItemFetch(
                kind="omaSecrets",
                path="getOmaSettingPlainTextValue(secretReferenceValueId='{secretReferenceValueId}')",
                merge_into=None,
                only_if_missing=False,
                is_collection=False,
            ),
        ),
        unordered_lists=(SortRule("omaSettings", ("omaUri", "displayName")),),
        foundation_refs=_STANDARD_REFS,
        has_oma_secrets=True,
        description=(
            "Custom profiles with OMA-URI settings; encrypted values are captured as secrets."
        ),
    ),
    PolicyType(
        key="windows_update_ring",
        label="Windows update rings",
        category="Windows updates",
        collection="deviceManagement/deviceConfigurations",
        odata_types=_UPDATE_RING_TYPES,
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(_FETCH_ITEM_ASSIGNMENTS,),
        read_only_fields=frozenset(
            {
                "qualityUpdatesPauseExpiryDateTime",
                "featureUpdatesPauseExpiryDateTime",
                "qualityUpdatesPauseStartDate",
                "featureUpdatesPauseStartDate",
                "qualityUpdatesWillBeRolledBack",
                "featureUpdatesWillBeRolledBack",
                "qualityUpdatesRollbackStartDateTime",
                "featureUpdatesRollbackStartDateTime",
                "deviceUpdateStates",
            }
        ),
        foundation_refs=_STANDARD_REFS,
        platform=PlatformRule(fixed="windows"),
        description="Windows Update for Business rings (a device configuration subtype).",
    ),
    # ---- compliance ---------------------------------------------------------------------------
    PolicyType(
        key="compliance_policy",
        label="Compliance policies",
        category="Compliance",
        collection="deviceManagement/deviceCompliancePolicies",
        odata_types=_COMPLIANCE_TYPES,
        list_params=ListParams(expand=_COMPLIANCE_SCHEDULED_ACTIONS_EXPAND),
        per_item_fetch=(
            _FETCH_ITEM_ASSIGNMENTS,
            PerItemFetch(
                kind="scheduledActionsForRule",
                path="scheduledActionsForRule",
                merge_into="scheduledActionsForRule",
                params=(("$expand", "scheduledActionConfigurations"),),
            ),
        ),
        # POST must carry exactly one block action; later changes go through
        # POST {id}/scheduleActionsForRules, never PATCH.
        create_only_fields=frozenset({"scheduledActionsForRule"}),
        child_id_paths=(
            "scheduledActionsForRule[].id",
            "scheduledActionsForRule[].scheduledActionConfigurations[].id",
        ),
        unordered_lists=(
            SortRule("scheduledActionsForRule", ("ruleName",)),
            SortRule(
                "scheduledActionsForRule[].scheduledActionConfigurations",
                ("actionType", "gracePeriodHours", "notificationTemplateId"),
            ),
        ),
        foundation_refs=(
            *_STANDARD_REFS,
            FoundationRef(
                "notification_template",
                "scheduledActionsForRule[].scheduledActionConfigurations[].notificationTemplateId",
            ),
        ),
        description="Device compliance policies with their scheduled actions for noncompliance.",
    ),
    # ---- settings catalog ---------------------------------------------------------------------
    PolicyType(
        key="settings_catalog",
        label="Settings catalog policies",
        discriminator=PropertyPrefix(
            "templateReference.templateFamily", "endpointSecurity", negate=True
        ),
        description="Settings catalog policies (configurationPolicies without a security template).",
        **_SETTINGS_CATALOG_COMMON,
    ),
    PolicyType(
        key="endpoint_security",
        label="Endpoint security policies",
        discriminator=PropertyPrefix("templateReference.templateFamily", "endpointSecurity"),
        description="Endpoint security policies (configurationPolicies with a security template).",
        **{**_SETTINGS_CATALOG_COMMON, "category": "Endpoint security"},
    ),
    # ---- administrative templates -----------------------------------------------------------
    PolicyType(
        key="administrative_template",
        label="Administrative templates",
        category="Device configuration",
        collection="deviceManagement/groupPolicyConfigurations",
        odata_types=_odata_types("groupPolicyConfiguration"),
        default_odata_type=odata("groupPolicyConfiguration"),
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(
            _FETCH_ITEM_ASSIGNMENTS,
            PerItemFetch(
                kind="definitionValues",
                path="definitionValues",
                merge_into="definitionValues",
                params=(("$expand", "definition,presentationValues($expand=presentation)"),),
            ),
        ),
        # Definition values are written through the configuration's definitionValues after it
        # exists (definition@odata.bind / presentation@odata.bind), never in its own body.
        write_excluded_fields=frozenset({"definitionValues"}),
        child_id_paths=(
            "definitionValues[].id",
            "definitionValues[].presentationValues[].id",
        ),
        unordered_lists=(
            SortRule("definitionValues", ("definition.id",)),
            SortRule("definitionValues[].presentationValues", ("presentation.id",)),
        ),
        reduce_expanded=(
            ("definitionValues[].definition", ("id", "displayName")),
            ("definitionValues[].presentationValues[].presentation", ("id",)),
        ),
        foundation_refs=_STANDARD_REFS,
        platform=PlatformRule(fixed="windows"),
        description="ADMX-backed administrative template profiles and their definition values.",
    ),
    # ---- scripts ------------------------------------------------------------------------------
    PolicyType(
        key="powershell_script",
        label="PowerShell scripts",
        category="Scripts",
        collection="deviceManagement/deviceManagementScripts",
        odata_types=_odata_types("deviceManagementScript"),
        default_odata_type=odata("deviceManagementScript"),
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(
            _FETCH_ITEM_ASSIGNMENTS,
            PerItemFetch(
                kind="scriptContent",
                path="",
                merge_into=None,
                only_if_missing=False,
                is_collection=False,
                merge_fields=("scriptContent",),
            ),
        ),
        assign=AssignSpec(body_key="deviceManagementScriptAssignments", expected_status=204),
        read_only_fields=frozenset({"groupAssignments", "runSummary", "deviceRunStates"}),
        foundation_refs=_STANDARD_REFS,
        platform=PlatformRule(fixed="windows"),
        description="Windows PowerShell platform scripts (content captured base64).",
    ),
    PolicyType(
        key="remediation_script",
        label="Remediation scripts",
        category="Scripts",
        collection="deviceManagement/deviceHealthScripts",
        odata_types=_odata_types("deviceHealthScript"),
        default_odata_type=odata("deviceHealthScript"),
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(
            _FETCH_ITEM_ASSIGNMENTS,
            PerItemFetch(
                kind="scriptContent",
                path="",
                merge_into=None,
                only_if_missing=False,
                is_collection=False,
                merge_fields=("detectionScriptContent", "remediationScriptContent"),
            ),
        ),
        assign=AssignSpec(body_key="deviceHealthScriptAssignments", expected_status=204),
        read_only_fields=frozenset({"runSummary", "deviceRunStates"}),
        foundation_refs=_STANDARD_REFS,
        platform=PlatformRule(fixed="windows"),
        description="Proactive remediation (detection + remediation) script packages.",
    ),
    # ---- app protection -----------------------------------------------------------------------
    PolicyType(
        key="ios_app_protection",
        label="iOS app protection policies",
        collection="deviceAppManagement/iosManagedAppProtections",
        odata_types=_odata_types("iosManagedAppProtection"),
        default_odata_type=odata("iosManagedAppProtection"),
        platform=PlatformRule(fixed="iOS"),
        description="MAM policies for iOS/iPadOS apps (with targeted apps).",
        **_APP_PROTECTION_COMMON,
    ),
    PolicyType(
        key="android_app_protection",
        label="Android app protection policies",
        collection="deviceAppManagement/androidManagedAppProtections",
        odata_types=_odata_types("androidManagedAppProtection"),
        default_odata_type=odata("androidManagedAppProtection"),
        platform=PlatformRule(fixed="android"),
        description="MAM policies for Android apps (with targeted apps).",
        **_APP_PROTECTION_COMMON,
    ),
    # ---- Windows enrollment and updates -----------------------------------------------------
    PolicyType(
        key="autopilot_profile",
        label="Autopilot deployment profiles",
        category="Enrollment",
        collection="deviceManagement/windowsAutopilotDeploymentProfiles",
        odata_types=_odata_types(
            "windowsAutopilotDeploymentProfile",
            "azureADWindowsAutopilotDeploymentProfile",
            "activeDirectoryWindowsAutopilotDeploymentProfile",
        ),
        list_params=ListParams(),
        per_item_fetch=(
            PerItemFetch(
                kind="assignments",
                path="assignments",
                merge_into="assignments",
                only_if_missing=False,
            ),
        ),
        read_only_fields=frozenset({"assignedDevices", "managementServiceAppId"}),
        assign=AssignSpec(
            path="assignments", body_key=None, expected_status=201, per_assignment=True
        ),
        foundation_refs=_STANDARD_REFS,
        platform=PlatformRule(fixed="windows"),
        required_permission=PERMISSION_SERVICE_CONFIG + ".Read.All",
        write_permission=PERMISSION_SERVICE_CONFIG + ".ReadWrite.All",
        description="Windows Autopilot deployment profiles (assigned one group at a time).",
    ),
    PolicyType(
        key="windows_driver_update_profile",
        label="Windows driver update profiles",
        category="Windows updates",
        collection="deviceManagement/windowsDriverUpdateProfiles",
        odata_types=_odata_types("windowsDriverUpdateProfile"),
        default_odata_type=odata("windowsDriverUpdateProfile"),
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(_FETCH_ITEM_ASSIGNMENTS,),
        read_only_fields=frozenset(
            {"deviceReporting", "newUpdates", "inventorySyncStatus", "driverInventories"}
        ),
        foundation_refs=_STANDARD_REFS,
        platform=PlatformRule(fixed="windows"),
        description="Windows Update for Business driver update profiles.",
    ),
    PolicyType(
        key="windows_feature_update_profile",
        label="Windows feature update profiles",
        category="Windows updates",
        collection="deviceManagement/windowsFeatureUpdateProfiles",
        odata_types=_odata_types("windowsFeatureUpdateProfile"),
        default_odata_type=odata("windowsFeatureUpdateProfile"),
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(_FETCH_ITEM_ASSIGNMENTS,),
        read_only_fields=frozenset({"endOfSupportDate", "deployableContentDisplayName"}),
        foundation_refs=_STANDARD_REFS,
        platform=PlatformRule(fixed="windows"),
        description="Windows Update for Business feature update profiles.",
    ),
    # ---- preview-only -------------------------------------------------------------------------
    PolicyType(
        key="conditional_access",
        label="Conditional Access policies",
        category="Identity",
        collection="identity/conditionalAccess/policies",
        api_version="v1.0",
        odata_types=frozenset(),
        read_only_fields=frozenset({"modifiedDateTime", "templateId"}),
        assign=None,
        scope_tag_property=None,
        platform=PlatformRule(fixed="all"),
        restore_mode="preview-only",
        required_permission="Policy.Read.All",
        write_permission="Policy.ReadWrite.ConditionalAccess",
        modified_property="modifiedDateTime",
        description="Entra ID Conditional Access (backed up and compared, never written).",
    ),
    PolicyType(
        key="enrollment_restriction",
        label="Enrollment restrictions",
        category="Enrollment",
        collection="deviceManagement/deviceEnrollmentConfigurations",
        odata_types=frozenset(),
        list_params=_EXPAND_ASSIGNMENTS,
        per_item_fetch=(_FETCH_ITEM_ASSIGNMENTS,),
        read_only_fields=frozenset({"priority"}),
        assign=AssignSpec(body_key="enrollmentConfigurationAssignments"),
        foundation_refs=(_SCOPE_TAG_REF,),
        platform=PlatformRule(fixed="all"),
        restore_mode="preview-only",
        required_permission=PERMISSION_SERVICE_CONFIG + ".Read.All",
        write_permission=PERMISSION_SERVICE_CONFIG + ".ReadWrite.All",
        description="Enrollment restrictions and limits (backed up and compared, never written).",
    ),
)

#: Fail-safe type for objects no record claims. Never written; ``classify`` returns a copy whose
#: ``collection`` is the one the object came from (same ``key``).
UNSUPPORTED: Final = PolicyType(
    key="unsupported",
    label="Unsupported objects",
    category="Unsupported",
    collection="",
    assign=None,
    scope_tag_property="roleScopeTagIds",
    foundation_refs=(),
    per_item_fetch=(),
    restore_mode="preview-only",
    description="Objects of a type TenantGuard does not know how to restore: preview only.",
)

POLICY_TYPES: Final[dict[str, PolicyType]] = {ptype.key: ptype for ptype in _TYPES}

# The platform an @odata.type implies, by lower-case prefix of the name after
# "#microsoft.graph." (first match wins; more specific prefixes first).
_ODATA_PLATFORM_PREFIXES: Final[tuple[tuple[str, Platform], ...]] = (
    ("windows", "windows"),
    ("win32", "windows"),
    ("editionupgrade", "windows"),
    ("sharedpc", "windows"),
    ("azureadwindowsautopilot", "windows"),
    ("activedirectorywindowsautopilot", "windows"),
    ("macos", "macOS"),
    ("ios", "iOS"),
    ("android", "android"),
    ("aosp", "android"),
)

# Values of settings catalog ``platforms`` / filter ``platform`` (lower-case prefix match).
_PROPERTY_PLATFORM_PREFIXES: Final[tuple[tuple[str, Platform], ...]] = (
    ("windows", "windows"),
    ("macos", "macOS"),
    ("ios", "iOS"),
    ("android", "android"),
    ("aosp", "android"),
    ("linux", "linux"),
)


def get(key: str) -> PolicyType:
    """The type registered under ``key`` (``"unsupported"`` gives ``UNSUPPORTED``)."""
    if key == UNSUPPORTED.key:
        return UNSUPPORTED
    try:
        return POLICY_TYPES[key]
    except KeyError:
        known = ", ".join(sorted(POLICY_TYPES))
        raise KeyError(f"Unknown policy type {key!r}; known types: {known}") from None


def foundations() -> list[PolicyType]:
    """Foundation types in restore order (scope tags, filters, notification templates)."""
    return [ptype for ptype in _TYPES if ptype.is_foundation]


def policies() -> list[PolicyType]:
    """Non-foundation types in registry order (preview-only ones included)."""
    return [ptype for ptype in _TYPES if not ptype.is_foundation]


def all_types() -> list[PolicyType]:
    """Every registered type, foundations first (the capture and restore order)."""
    return [*foundations(), *policies()]


def types_for_collection(collection: str) -> list[PolicyType]:
    collection = collection.strip("/")
    return [ptype for ptype in _TYPES if ptype.collection == collection]


def unsupported_for(collection: str) -> PolicyType:
    """The fail-safe preview-only type for an object of ``collection`` (same ``key`` as
    ``UNSUPPORTED``; collection, API version and permissions taken from that collection)."""
    collection = collection.strip("/")
    siblings = types_for_collection(collection)
    if not siblings:
        return dataclasses.replace(UNSUPPORTED, collection=collection)
    sibling = siblings[0]
    return dataclasses.replace(
        UNSUPPORTED,
        collection=collection,
        api_version=sibling.api_version,
        required_permission=sibling.required_permission,
        write_permission=sibling.write_permission,
        scope_tag_property=sibling.scope_tag_property,
    )


def is_unsupported(ptype: PolicyType) -> bool:
    return ptype.key == UNSUPPORTED.key


def classify(collection: str, obj: Mapping[str, Any]) -> PolicyType:
    """The type of ``obj`` read from ``collection``; never raises.

    Types that list their ``@odata.type`` values (and discriminator) are tried first; a type
    with no ``odata_types`` takes whatever remains of its collection. An object nothing claims
    (unknown ``@odata.type``, unknown collection, not a dict) gets the preview-only
    ``UNSUPPORTED`` type for that collection.
    """
    candidates = types_for_collection(collection)
    if not isinstance(obj, Mapping):
        return unsupported_for(collection)
    specific = [ptype for ptype in candidates if ptype.odata_types]
    catch_all = [ptype for ptype in candidates if not ptype.odata_types]
    for ptype in (*specific, *catch_all):
        if ptype.matches(obj):
            return ptype
    return unsupported_for(collection)


def platform_of(ptype: PolicyType, obj: Mapping[str, Any]) -> Platform:
    """``windows`` / ``macOS`` / ``iOS`` / ``android`` / ``linux``, or ``all`` when unknown or
    several (settings catalog ``platforms`` is a flags value such as ``"windows10,macOS"``)."""
    rule = ptype.platform
    if rule.fixed is not None:
        return rule.fixed
    if rule.property is not None:
        value = obj.get(rule.property)
        if isinstance(value, str) and value:
            found = {
                _platform_by_prefix(part.strip(), _PROPERTY_PLATFORM_PREFIXES)
                for part in value.split(",")
                if part.strip()
            }
            found.discard(None)
            if len(found) == 1:
                return found.pop()  # type: ignore[return-value]
            return "all"
    if rule.from_odata_type:
        odata_type = _odata_type_of(obj)
        if odata_type is not None:
            name = odata_type.removeprefix("#").removeprefix("microsoft.graph.")
            platform = _platform_by_prefix(name, _ODATA_PLATFORM_PREFIXES)
            if platform is not None:
                return platform
    return "all"


def _platform_by_prefix(value: str, table: tuple[tuple[str, Platform], ...]) -> Platform | None:
    lowered = value.lower()
    for prefix, platform in table:
        if lowered.startswith(prefix):
            return platform
    return None


def display_name_of(ptype: PolicyType, obj: Mapping[str, Any]) -> str:
    """The name an admin sees (``displayName``, settings catalog ``name``), never empty."""
    for key in (ptype.display_name_property, "displayName", "name"):
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value
    object_id = obj.get("id")
    return f"(unnamed {ptype.label.lower()} {object_id})" if object_id else "(unnamed)"


def modified_at_of(ptype: PolicyType, obj: Mapping[str, Any]) -> str | None:
    if ptype.modified_property is None:
        return None
    value = obj.get(ptype.modified_property)
    return value if isinstance(value, str) and value else None


def scope_tag_ids_of(ptype: PolicyType, obj: Mapping[str, Any]) -> list[str]:
    """Scope tag ids held by ``obj`` (as strings, in Graph's order); ``[]`` when it has none."""
    if ptype.scope_tag_property is None:
        return []
    value = obj.get(ptype.scope_tag_property)
    if not isinstance(value, list):
        return []
    return [str(item) for item in value if item is not None and str(item) != ""]


__all__ = [
    "BUILTIN_SCOPE_TAG_ID",
    "COMMON_READ_ONLY_FIELDS",
    "EMPTY_GUID",
    "POLICY_TYPES",
    "UNSUPPORTED",
    "AssignSpec",
    "FoundationRef",
    "ListParams",
    "PerItemFetch",
    "PlatformRule",
    "PolicyType",
    "PropertyPrefix",
    "SortRule",
    "all_types",
    "classify",
    "display_name_of",
    "foundations",
    "get",
    "is_unsupported",
    "modified_at_of",
    "platform_of",
    "policies",
    "scope_tag_ids_of",
    "types_for_collection",
    "unsupported_for",
]
