"""Device enrollment configurations: every kind of ``deviceManagement/deviceEnrollmentConfigurations``.

One collection holds several kinds, told apart by ``@odata.type``: device limit restrictions,
platform restrictions (the tenant's multi-platform default and single-platform ones), the
Windows enrollment status page, Windows Hello for Business and co-management authority. Kinds
TenantGuard does not know (Windows restore, enrollment notifications, anything new) fall to a
preview-only catch-all.

Graph facts (learn.microsoft.com beta pages ``intune-onboarding-*``, and a real tenant export):

- Create is ``POST deviceEnrollmentConfigurations`` with the kind's ``@odata.type`` (201);
  update is ``PATCH {id}``; ``POST {id}/assign`` with ``enrollmentConfigurationAssignments``
  answers 204.
- ``priority`` orders the configurations of one kind (lowest wins); it is set with
  ``POST {id}/setPriority {"priority": n}`` (204), not through the object's own writes.
- Every tenant holds Intune's defaults, named "All users and all devices", priority 0, ids
  ``<account id>_DefaultLimit``, ``_DefaultPlatformRestrictions``,
  ``_DefaultWindowsHelloForBusiness``, ``_DefaultWindows10EnrollmentCompletionPageConfiguration``
  (and ``_WindowsRestore``), assigned to all devices. They cannot be created, deleted or
  assigned; they are updated in place and matched across tenants by that suffix.
"""

from __future__ import annotations

from typing import Any, Final

from tenantguard.intune.typespec import (
    ASSIGNMENTS_NAV,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_SERVICE_CONFIG,
    STANDARD_REFS,
    AssignContract,
    AssignSpec,
    CollectionRules,
    FoundationRef,
    PlatformRule,
    PolicyType,
    PriorityAction,
    SortRule,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

SERVICE = PERMISSION_SERVICE_CONFIG
COLLECTION: Final = dm("deviceEnrollmentConfigurations")

#: The emulator's trait for this collection (``emulator/traits_enrollment.py``).
TRAIT: Final = "enrollment_configurations"

#: Placeholder account id of the built-in defaults below; the emulator gives each tenant its
#: own (``traits_enrollment.builtins_for_tenant``), as Intune does.
DEFAULT_ACCOUNT_ID: Final = "00000000-0000-0000-0000-000000000000"
#: Intune's fixed id of the "all devices" virtual group (assignment ids of the defaults).
_ALL_DEVICES_TARGET: Final = {
    "@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
    "deviceAndAppManagementAssignmentFilterId": None,
    "deviceAndAppManagementAssignmentFilterType": "none",
}

#: ``deviceEnrollmentConfigurationType`` Graph fills in for each kind, and the suffix Intune
#: gives the ids of the objects an admin creates (``<guid>_<suffix>``).
KINDS: Final[dict[str, tuple[str, str]]] = {
    "deviceEnrollmentLimitConfiguration": ("limit", "Limit"),
    "deviceEnrollmentPlatformRestrictionsConfiguration": (
        "platformRestrictions",
        "PlatformRestrictions",
    ),
    "deviceEnrollmentPlatformRestrictionConfiguration": (
        "singlePlatformRestriction",
        "SinglePlatformRestriction",
    ),
    "windows10EnrollmentCompletionPageConfiguration": (
        "windows10EnrollmentCompletionPageConfiguration",
        "Windows10EnrollmentCompletionPageConfiguration",
    ),
    "deviceEnrollmentWindowsHelloForBusinessConfiguration": (
        "windowsHelloForBusiness",
        "WindowsHelloForBusiness",
    ),
    "deviceComanagementAuthorityConfiguration": (
        "deviceComanagementAuthorityConfiguration",
        "DeviceComanagementAuthorityConfiguration",
    ),
}

_PRIORITY = PriorityAction(property="priority", action="setPriority")


def _kind(
    *,
    key: str,
    label: str,
    odata_name: str,
    description: str,
    platform: PlatformRule,
    default_suffix: str | None = None,
    unordered: tuple[SortRule, ...] = (),
    refs: tuple[FoundationRef, ...] = (),
) -> PolicyType:
    return PolicyType(
        key=key,
        label=label,
        category="Enrollment",
        collection=COLLECTION,
        odata_types=odata_types(odata_name),
        list_params=EXPAND_ASSIGNMENTS,
        per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
        # priority: Graph renumbers a kind's configurations when one moves, so it is not
        # compared (a restore would see its own moves as changes); it is written with
        # setPriority. The kind's type and platform are set on create and never change
        # (IntuneCD leaves them out of its updates too).
        read_only_fields=frozenset({"priority"}),
        create_only_fields=frozenset({"deviceEnrollmentConfigurationType", "platformType"}),
        unordered_lists=unordered,
        assign=AssignSpec(body_key="enrollmentConfigurationAssignments", expected_status=204),
        foundation_refs=(*STANDARD_REFS, *refs),
        platform=platform,
        required_permission=SERVICE + ".Read.All",
        write_permission=SERVICE + ".ReadWrite.All",
        description=description,
        default_id_suffix=default_suffix,
        priority=_PRIORITY,
    )


_TYPES: Final = (
    _kind(
        key="enrollment_limit",
        label="Device limit restrictions",
        odata_name="deviceEnrollmentLimitConfiguration",
        description="How many devices a user may enroll.",
        platform=PlatformRule(fixed="all"),
        default_suffix="_DefaultLimit",
    ),
    _kind(
        key="enrollment_platform_restrictions",
        label="Device platform restrictions (all platforms)",
        odata_name="deviceEnrollmentPlatformRestrictionsConfiguration",
        description="Which platforms and ownerships may enroll (the tenant default and "
        "older multi-platform restrictions).",
        platform=PlatformRule(fixed="all"),
        default_suffix="_DefaultPlatformRestrictions",
    ),
    _kind(
        key="enrollment_platform_restriction",
        label="Device platform restrictions",
        odata_name="deviceEnrollmentPlatformRestrictionConfiguration",
        description="Which devices of one platform may enroll (platformType).",
        platform=PlatformRule(property="platformType"),
        unordered=(
            SortRule("platformRestriction.blockedManufacturers", ()),
            SortRule("platformRestriction.blockedSkus", ()),
        ),
    ),
    _kind(
        key="enrollment_status_page",
        label="Enrollment Status Page profiles",
        odata_name="windows10EnrollmentCompletionPageConfiguration",
        description="Windows enrollment status page (ESP) settings and the apps it waits for.",
        platform=PlatformRule(fixed="windows"),
        default_suffix="_DefaultWindows10EnrollmentCompletionPageConfiguration",
        unordered=(SortRule("selectedMobileAppIds", ()),),
        # the apps the page waits for (deviceAppManagement/mobileApps), by id
        refs=(FoundationRef("mobile_app", "selectedMobileAppIds[]"),),
    ),
    _kind(
        key="windows_hello_enrollment",
        label="Windows Hello for Business (enrollment)",
        odata_name="deviceEnrollmentWindowsHelloForBusinessConfiguration",
        description="Windows Hello for Business settings applied at enrollment.",
        platform=PlatformRule(fixed="windows"),
        default_suffix="_DefaultWindowsHelloForBusiness",
    ),
    _kind(
        key="comanagement_authority",
        label="Co-management settings",
        odata_name="deviceComanagementAuthorityConfiguration",
        description="Windows co-management authority (Configuration Manager agent) "
        "settings applied at enrollment.",
        platform=PlatformRule(fixed="windows"),
    ),
    PolicyType(
        # The key of the former catch-all for the whole collection: items of older backups
        # keep it and stay preview-only.
        key="enrollment_restriction",
        label="Other enrollment configurations",
        category="Enrollment",
        collection=COLLECTION,
        odata_types=frozenset(),
        list_params=EXPAND_ASSIGNMENTS,
        per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
        read_only_fields=frozenset({"priority"}),
        assign=AssignSpec(body_key="enrollmentConfigurationAssignments", expected_status=204),
        foundation_refs=STANDARD_REFS,
        platform=PlatformRule(fixed="all"),
        restore_mode="preview-only",
        preview_only_reason="TenantGuard does not know this kind of enrollment "
        "configuration (for example Windows restore or enrollment notifications), so it "
        "only backs it up and compares it; set it in the Intune admin center "
        "(Devices > Enrollment).",
        required_permission=SERVICE + ".Read.All",
        write_permission=SERVICE + ".ReadWrite.All",
        description="Enrollment configurations of kinds TenantGuard does not restore "
        "(backed up and compared, never written).",
    ),
)

_COLLECTIONS: Final = (
    CollectionRules(
        COLLECTION,
        "device enrollment configuration",
        f"{SERVICE}.Read.All",
        f"{SERVICE}.ReadWrite.All",
        entity_type=odata("deviceEnrollmentConfiguration"),
        navigation=ASSIGNMENTS_NAV,
        assign=AssignContract("enrollmentConfigurationAssignments", 204),
        assignment_fields=("source", "sourceId"),
        requires_odata_type=True,
        # Graph takes priority only through setPriority (traits_enrollment).
        read_only=("priority",),
        type_server_filled={
            odata(name): (("deviceEnrollmentConfigurationType", kind),)
            for name, (kind, _) in KINDS.items()
        },
        traits=frozenset({TRAIT}),
    ),
)


def _default(odata_name: str, suffix: str, kind: str, text: str, **settings: Any) -> dict[str, Any]:
    object_id = f"{DEFAULT_ACCOUNT_ID}_{suffix}"
    return {
        "@odata.type": odata(odata_name),
        "id": object_id,
        "displayName": "All users and all devices",
        "description": text,
        "priority": 0,
        "createdDateTime": "0001-01-01T00:00:00Z",
        "lastModifiedDateTime": "0001-01-01T00:00:00Z",
        "version": 0,
        "roleScopeTagIds": [],
        "deviceEnrollmentConfigurationType": kind,
        **settings,
        "assignments": [
            {"id": object_id, "source": "direct", "sourceId": None, "target": _ALL_DEVICES_TARGET}
        ],
    }


def _restriction(*, blocked: bool = False, versions: str | None = "") -> dict[str, Any]:
    return {
        "platformBlocked": blocked,
        "personalDeviceEnrollmentBlocked": False,
        "osMinimumVersion": versions,
        "osMaximumVersion": versions,
        "blockedManufacturers": [],
        "blockedSkus": [],
    }


#: The enrollment configurations of a fresh tenant, as Graph lists them (a real tenant's export,
#: account id replaced).
DEFAULT_CONFIGURATIONS: Final[tuple[dict[str, Any], ...]] = (
    _default(
        "deviceEnrollmentLimitConfiguration",
        "DefaultLimit",
        "limit",
        "This is the default Device Limit Restriction applied with the lowest priority to all "
        "users regardless of group membership.",
        limit=5,
    ),
    _default(
        "deviceEnrollmentPlatformRestrictionsConfiguration",
        "DefaultPlatformRestrictions",
        "platformRestrictions",
        "This is the default Device Type Restriction applied with the lowest priority to all "
        "users regardless of group membership.",
        iosRestriction=_restriction(),
        windowsRestriction=_restriction(),
        windowsHomeSkuRestriction=_restriction(versions=None),
        windowsMobileRestriction=_restriction(blocked=True),
        androidRestriction=_restriction(),
        androidForWorkRestriction=_restriction(),
        macRestriction=_restriction(versions=None),
        macOSRestriction=_restriction(versions=None),
        tvosRestriction=None,
        visionOSRestriction=None,
    ),
    _default(
        "deviceEnrollmentWindowsHelloForBusinessConfiguration",
        "DefaultWindowsHelloForBusiness",
        "windowsHelloForBusiness",
        "This is the default Windows Hello for Business configuration applied with the lowest "
        "priority to all users regardless of group membership.",
        pinMinimumLength=6,
        pinMaximumLength=127,
        pinUppercaseCharactersUsage="disallowed",
        pinLowercaseCharactersUsage="disallowed",
        pinSpecialCharactersUsage="disallowed",
        state="notConfigured",
        securityDeviceRequired=False,
        unlockWithBiometricsEnabled=True,
        remotePassportEnabled=True,
        pinPreviousBlockCount=0,
        pinExpirationInDays=0,
        enhancedBiometricsState="notConfigured",
        securityKeyForSignIn="notConfigured",
        enhancedSignInSecurity=0,
    ),
    _default(
        "windows10EnrollmentCompletionPageConfiguration",
        "DefaultWindows10EnrollmentCompletionPageConfiguration",
        "windows10EnrollmentCompletionPageConfiguration",
        "This is the default enrollment status screen configuration applied with the lowest "
        "priority to all users and all devices regardless of group membership.",
        showInstallationProgress=False,
        blockDeviceSetupRetryByUser=True,
        allowDeviceResetOnInstallFailure=False,
        allowLogCollectionOnInstallFailure=False,
        customErrorMessage="",
        installProgressTimeoutInMinutes=0,
        allowDeviceUseOnInstallFailure=False,
        selectedMobileAppIds=[],
        allowNonBlockingAppInstallation=False,
        installQualityUpdates=False,
        trackInstallProgressForAutopilotOnly=False,
        disableUserStatusTrackingAfterFirstUser=False,
    ),
    _default(
        "windowsRestoreDeviceEnrollmentConfiguration",
        "WindowsRestore",
        "windowsRestore",
        "This is the default Windows Restore configuration applied with the lowest priority "
        "to all users and all devices regardless of group membership.",
        state="notConfigured",
    ),
)

FAMILY = TypeFamily(
    order=100,
    types=_TYPES,
    collections=_COLLECTIONS,
    builtin_objects=tuple((COLLECTION, obj) for obj in DEFAULT_CONFIGURATIONS),
)
