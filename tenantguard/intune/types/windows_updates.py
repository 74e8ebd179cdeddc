"""Windows Update for Business driver and feature update profiles."""

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
    CollectionRules,
    PlatformRule,
    PolicyType,
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


FAMILY = TypeFamily(
    order=80,
    types=(
        PolicyType(
            key="windows_driver_update_profile",
            label="Windows driver update profiles",
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
            label="Windows feature update profiles",
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
            navigation=ASSIGNMENTS_NAV,
            assign=ASSIGN_200,
        ),
    ),
)
