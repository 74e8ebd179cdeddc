"""Tenant administration: device categories, terms and conditions, Intune branding profiles and
the tenant-wide device management settings.

Graph (beta; properties from msgraph-beta-sdk 1.66 models and the Intune resource pages):

- ``deviceManagement/deviceCategories`` (``deviceCategory``: ``displayName``, ``description``,
  ``roleScopeTagIds``; no timestamps, no ``version``, no assignments): list, get, POST, PATCH.
- ``deviceManagement/termsAndConditions`` (``createdDateTime``, ``lastModifiedDateTime``,
  ``modifiedDateTime``, ``version``, ``roleScopeTagIds``): list, get, POST, PATCH. No assign
  action: each assignment is created with ``POST {id}/assignments`` ``{target}`` → 201 (like
  Autopilot), read with ``GET {id}/assignments``. ``acceptanceStatuses`` (who accepted) and the
  deprecated ``groupAssignments`` are not configuration.
- ``deviceManagement/intuneBrandingProfiles`` (named by ``profileName``; ``displayName`` is the
  company name shown to users; ``createdDateTime``, ``lastModifiedDateTime``, no ``version``):
  list, get, POST, PATCH, ``POST {id}/assign`` ``{"assignments": [...]}`` → 204. Every tenant
  has one default profile (``isDefaultProfile: true``, read-only): it is matched to the
  target's own default and updated, never created. The logos and the landing page image are
  ``mimeContent`` values (``{type, value}``, base64) that Graph's GET returns with the profile,
  so they are captured and written with it.
- ``deviceManagement/settings`` (``deviceManagementSettings``, a complex property of the
  ``deviceManagement`` singleton): ``GET deviceManagement/settings`` (what IntuneCD reads),
  updated with ``PATCH deviceManagement`` ``{"settings": {...}}`` → 204. One per tenant, never
  created.
"""

from __future__ import annotations

from typing import Final

from tenantguard.intune.typespec import (
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    SCOPE_TAG_REF,
    STANDARD_REFS,
    AssignContract,
    AssignSpec,
    CollectionRules,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    Singleton,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

DEVICE_CATEGORIES = dm("deviceCategories")
TERMS_AND_CONDITIONS = dm("termsAndConditions")
BRANDING_PROFILES = dm("intuneBrandingProfiles")
DEVICE_MANAGEMENT_SETTINGS = dm("settings")

#: Device categories are device (managed devices) objects in Graph's permission model.
MANAGED_DEVICES = "DeviceManagementManagedDevices"
CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG

TENANT_SETTINGS_NAME = "Tenant-wide device management settings"

#: ``deviceManagementSettings`` of a new tenant (Intune's defaults).
DEFAULT_DEVICE_MANAGEMENT_SETTINGS: dict[str, object] = {
    "@odata.type": "#microsoft.graph.deviceManagementSettings",
    "deviceComplianceCheckinThresholdDays": 30,
    "isScheduledActionEnabled": True,
    "secureByDefault": False,
    "enhancedJailBreak": False,
    "deviceInactivityBeforeRetirementInDay": 0,
    "derivedCredentialProvider": "notConfigured",
    "derivedCredentialUrl": None,
    "androidDeviceAdministratorEnrollmentEnabled": False,
    "ignoreDevicesForUnsupportedSettingsEnabled": False,
    "enableLogCollection": True,
    "enableAutopilotDiagnostics": True,
    "enableDeviceGroupMembershipReport": False,
    "enableEnhancedTroubleshootingExperience": False,
}

#: The default branding profile has the same id in every tenant: CIPP's intuneBrandingProfile
#: standard (CIPP-API ``Invoke-CIPPStandardintuneBrandingProfile``) reads
#: ``intuneBrandingProfiles/c3a59481-1bf2-46ce-94b3-66eec07a8d60`` in each tenant it manages.
#: TenantGuard still knows the default by ``isDefaultProfile`` (``default_flag``), never by id.
DEFAULT_BRANDING_PROFILE_ID: Final = "c3a59481-1bf2-46ce-94b3-66eec07a8d60"

_DEFAULT_BRANDING_PROFILE: dict[str, object] = {
    "@odata.type": "#microsoft.graph.intuneBrandingProfile",
    "id": DEFAULT_BRANDING_PROFILE_ID,
    "profileName": "Default",
    "profileDescription": "The default branding profile of the tenant.",
    "isDefaultProfile": True,
    "displayName": "",
    "contactITName": None,
    "contactITPhoneNumber": None,
    "contactITEmailAddress": None,
    "contactITNotes": None,
    "onlineSupportSiteUrl": None,
    "onlineSupportSiteName": None,
    "privacyUrl": None,
    "customPrivacyMessage": None,
    "customCanSeePrivacyMessage": None,
    "customCantSeePrivacyMessage": None,
    "themeColor": {"r": 0, "g": 114, "b": 198},
    "showLogo": False,
    "showDisplayNameNextToLogo": True,
    "themeColorLogo": None,
    "lightBackgroundLogo": None,
    "landingPageCustomizedImage": None,
    "isRemoveDeviceDisabled": False,
    "isFactoryResetDisabled": False,
    "companyPortalBlockedActions": [],
    "showAzureADEnterpriseApps": False,
    "showOfficeWebApps": False,
    "showConfigurationManagerApps": False,
    "enrollmentAvailability": "availableWithPrompts",
    "disableClientTelemetry": False,
    "disableDeviceCategorySelection": False,
    "roleScopeTagIds": ["0"],
    "createdDateTime": "2024-01-01T00:00:00Z",
    "lastModifiedDateTime": "2024-01-01T00:00:00Z",
    "assignments": [],
}

#: Terms and conditions assignments: ``POST {id}/assignments`` of ``{target}`` → 201, one by one.
_PER_ASSIGNMENT = AssignSpec(
    path="assignments", body_key=None, expected_status=201, per_assignment=True
)
_FETCH_ASSIGNMENTS_ALWAYS = PerItemFetch(
    kind="assignments", path="assignments", merge_into="assignments", only_if_missing=False
)


FAMILY = TypeFamily(
    order=110,
    types=(
        PolicyType(
            key="device_category",
            label="Device categories",
            category="Tenant administration",
            collection=DEVICE_CATEGORIES,
            odata_types=odata_types("deviceCategory"),
            default_odata_type=odata("deviceCategory"),
            assign=None,
            foundation_refs=(SCOPE_TAG_REF,),
            platform=PlatformRule(fixed="all"),
            required_permission=MANAGED_DEVICES + ".Read.All",
            write_permission=MANAGED_DEVICES + ".ReadWrite.All",
            modified_property=None,
            description="Categories users pick at enrollment, used to build dynamic groups.",
        ),
        PolicyType(
            key="terms_and_conditions",
            label="Terms and conditions",
            category="Tenant administration",
            collection=TERMS_AND_CONDITIONS,
            odata_types=odata_types("termsAndConditions"),
            default_odata_type=odata("termsAndConditions"),
            per_item_fetch=(_FETCH_ASSIGNMENTS_ALWAYS,),
            read_only_fields=frozenset(
                {"modifiedDateTime", "acceptanceStatuses", "groupAssignments"}
            ),
            write_excluded_fields=frozenset({"acceptanceStatuses", "groupAssignments"}),
            assign=_PER_ASSIGNMENT,
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="all"),
            required_permission=SERVICE + ".Read.All",
            write_permission=SERVICE + ".ReadWrite.All",
            description="Terms users accept in the Company Portal (assigned one group at a "
            "time; a restore adds missing assignments and never removes any).",
        ),
        PolicyType(
            key="intune_branding_profile",
            label="Intune branding profiles",
            category="Tenant administration",
            collection=BRANDING_PROFILES,
            odata_types=odata_types("intuneBrandingProfile"),
            default_odata_type=odata("intuneBrandingProfile"),
            per_item_fetch=(
                PerItemFetch(kind="assignments", path="assignments", merge_into="assignments"),
            ),
            read_only_fields=frozenset({"isDefaultProfile"}),
            assign=AssignSpec(expected_status=204),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="all"),
            display_name_property="profileName",
            default_flag="isDefaultProfile",
            description="Company Portal branding (name, colours, logos, support contacts). "
            "The tenant's default profile is updated, never created.",
        ),
        PolicyType(
            key="device_management_settings",
            label=TENANT_SETTINGS_NAME,
            category="Tenant administration",
            collection=DEVICE_MANAGEMENT_SETTINGS,
            assign=None,
            scope_tag_property=None,
            platform=PlatformRule(fixed="all"),
            modified_property=None,
            singleton=Singleton(
                write_path="deviceManagement",
                wrap_key="settings",
                source_id="settings",
                display_name=TENANT_SETTINGS_NAME,
            ),
            description="Compliance check-in threshold, 'mark devices with no compliance "
            "policy as', jailbreak detection and other account-level settings (updated, "
            "never created).",
        ),
    ),
    collections=(
        CollectionRules(
            DEVICE_CATEGORIES,
            "device category",
            f"{MANAGED_DEVICES}.Read.All",
            f"{MANAGED_DEVICES}.ReadWrite.All",
            entity_type=odata("deviceCategory"),
            versioned=False,
            has_version=False,
            has_created=False,
        ),
        CollectionRules(
            TERMS_AND_CONDITIONS,
            "terms and conditions",
            f"{SERVICE}.Read.All",
            f"{SERVICE}.ReadWrite.All",
            entity_type=odata("termsAndConditions"),
            navigation={"assignments": {}, "acceptanceStatuses": {}, "groupAssignments": {}},
            assignment_fields=(),
            child_posts=frozenset({"assignments"}),
            read_only=("modifiedDateTime",),
            traits=frozenset({"terms_and_conditions"}),
        ),
        CollectionRules(
            BRANDING_PROFILES,
            "Intune branding profile",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("intuneBrandingProfile"),
            navigation={"assignments": {}},
            assign=AssignContract("assignments", 204),
            assignment_fields=(),
            has_version=False,
            read_only=("isDefaultProfile",),
            traits=frozenset({"branding_profiles"}),
        ),
        CollectionRules(
            DEVICE_MANAGEMENT_SETTINGS,
            "device management settings",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceManagementSettings"),
            versioned=False,
            has_version=False,
            has_created=False,
            traits=frozenset({"singleton"}),
        ),
    ),
    builtin_objects=(
        (BRANDING_PROFILES, _DEFAULT_BRANDING_PROFILE),
        (DEVICE_MANAGEMENT_SETTINGS, {"id": "settings", **DEFAULT_DEVICE_MANAGEMENT_SETTINGS}),
    ),
)
