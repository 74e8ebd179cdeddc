"""Windows Update for Business driver, feature and quality update profiles, and quality update
policies.

Quality updates (Graph beta resource pages ``windowsQualityUpdateProfile`` and
``windowsQualityUpdatePolicy``, their ``assign`` pages, Microsoft's generated models in
``msgraph-beta-sdk``): a quality update *profile* is the portal's expedite policy (one quality
update release installed ahead of the rings, ``expeditedUpdateSettings``); a quality update
*policy* (``windowsQualityUpdatePolicies``) is the newer monthly / hotpatch policy
(``hotpatchEnabled``, ``approvalSettings``). Both: POST 201, PATCH, ``POST {id}/assign`` with
``assignments`` answered 204 (assignments are ``id`` + ``target``), ``roleScopeTagIds``, no
``version``. A profile's ``releaseDateDisplayName`` and ``deployableContentDisplayName`` are
display text Intune derives from the chosen release: read-only for TenantGuard (IntuneCD leaves
them out of its comparisons and writes too).
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGN_200,
    ASSIGNMENTS_NAV,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    STANDARD_REFS,
    UNSET_DATETIME,
    AssignContract,
    AssignSpec,
    CollectionRules,
    PlatformRule,
    PolicyType,
    SortRule,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG


# Read-only server state of a windowsDriverUpdateProfile (Graph resource page: deviceReporting,
# newUpdates, inventorySyncStatus); a new profile has no devices and no synced inventory yet.
_DRIVER_PROFILE_FILLED: tuple[tuple[str, object], ...] = (
    ("newUpdates", 0),
    ("deviceReporting", 0),
    (
        "inventorySyncStatus",
        {"lastSuccessfulSyncDateTime": UNSET_DATETIME, "driverInventorySyncState": "pending"},
    ),
)


QUALITY_UPDATE_PROFILES = dm("windowsQualityUpdateProfiles")
QUALITY_UPDATE_POLICIES = dm("windowsQualityUpdatePolicies")

#: Display text Intune derives from a quality update profile's release (never written).
_QUALITY_PROFILE_DISPLAY_TEXT = frozenset(
    {"releaseDateDisplayName", "deployableContentDisplayName"}
)


FAMILY = TypeFamily(
    order=80,
    types=(
        PolicyType(
            key="windows_driver_update_profile",
            label="Driver updates for Windows 10 and later",
            category="Windows updates",
            collection="deviceManagement/windowsDriverUpdateProfiles",
            odata_types=odata_types("windowsDriverUpdateProfile"),
            default_odata_type=odata("windowsDriverUpdateProfile"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            read_only_fields=frozenset(
                {"deviceReporting", "newUpdates", "inventorySyncStatus", "driverInventories"}
            ),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            description="Windows Update for Business driver update profiles.",
        ),
        PolicyType(
            key="windows_feature_update_profile",
            label="Feature updates for Windows 10 and later",
            category="Windows updates",
            collection="deviceManagement/windowsFeatureUpdateProfiles",
            odata_types=odata_types("windowsFeatureUpdateProfile"),
            default_odata_type=odata("windowsFeatureUpdateProfile"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            read_only_fields=frozenset({"endOfSupportDate", "deployableContentDisplayName"}),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            description="Windows Update for Business feature update profiles.",
        ),
        PolicyType(
            key="windows_quality_update_profile",
            label="Expedited quality updates for Windows 10 and later",
            category="Windows updates",
            collection=QUALITY_UPDATE_PROFILES,
            odata_types=odata_types("windowsQualityUpdateProfile"),
            default_odata_type=odata("windowsQualityUpdateProfile"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            read_only_fields=_QUALITY_PROFILE_DISPLAY_TEXT,
            assign=AssignSpec(expected_status=204),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            description="Expedited Windows quality update profiles (one release, forced reboot).",
        ),
        PolicyType(
            key="windows_quality_update_policy",
            label="Quality updates for Windows 10 and later (hotpatch)",
            category="Windows updates",
            collection=QUALITY_UPDATE_POLICIES,
            odata_types=odata_types("windowsQualityUpdatePolicy"),
            default_odata_type=odata("windowsQualityUpdatePolicy"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            unordered_lists=(
                SortRule(
                    "approvalSettings",
                    ("windowsQualityUpdateCadence", "windowsQualityUpdateCategory"),
                ),
            ),
            assign=AssignSpec(expected_status=204),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            description="Windows quality update policies (monthly updates, hotpatch, approvals).",
        ),
    ),
    collections=(
        CollectionRules(
            dm("windowsDriverUpdateProfiles"),
            "Windows driver update profile",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("windowsDriverUpdateProfile"),
            navigation=ASSIGNMENTS_NAV,
            assign=ASSIGN_200,
            has_version=False,
            read_only=tuple(name for name, _ in _DRIVER_PROFILE_FILLED),
            server_filled=_DRIVER_PROFILE_FILLED,
        ),
        CollectionRules(
            dm("windowsFeatureUpdateProfiles"),
            "Windows feature update profile",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("windowsFeatureUpdateProfile"),
            has_version=False,
            navigation=ASSIGNMENTS_NAV,
            assign=ASSIGN_200,
        ),
        CollectionRules(
            QUALITY_UPDATE_PROFILES,
            "Windows quality update profile",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("windowsQualityUpdateProfile"),
            navigation=ASSIGNMENTS_NAV,
            assign=AssignContract("assignments", 204),
            assignment_fields=(),
            has_version=False,
            # A POST without the display text gets it derived from the release
            # (tenantguard/emulator/traits_quality_updates.py).
            traits=frozenset({"quality_update_release"}),
        ),
        CollectionRules(
            QUALITY_UPDATE_POLICIES,
            "Windows quality update policy",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("windowsQualityUpdatePolicy"),
            navigation=ASSIGNMENTS_NAV,
            assign=AssignContract("assignments", 204),
            assignment_fields=(),
            has_version=False,
        ),
    ),
)
