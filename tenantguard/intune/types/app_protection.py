"""App protection (MAM) policies with their targeted apps."""

from __future__ import annotations

from typing import Any

from tenantguard.intune.typespec import (
    PERMISSION_APPS,
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    STANDARD_REFS,
    AssignContract,
    AssignSpec,
    CollectionRules,
    ListParams,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    SortRule,
    TypeFamily,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG

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
    "foundation_refs": STANDARD_REFS,
    "required_permission": PERMISSION_APPS + ".Read.All",
    "write_permission": PERMISSION_APPS + ".ReadWrite.All",
    "list_identities": ("mobileAppIdentifier.bundleId", "mobileAppIdentifier.packageId"),
}


FAMILY = TypeFamily(
    order=60,
    types=(
        PolicyType(
            key="ios_app_protection",
            label="App protection policies (iOS/iPadOS)",
            collection="deviceAppManagement/iosManagedAppProtections",
            odata_types=odata_types("iosManagedAppProtection"),
            default_odata_type=odata("iosManagedAppProtection"),
            platform=PlatformRule(fixed="iOS"),
            description="MAM policies for iOS/iPadOS apps (with targeted apps).",
            **_APP_PROTECTION_COMMON,
        ),
        PolicyType(
            key="android_app_protection",
            label="App protection policies (Android)",
            collection="deviceAppManagement/androidManagedAppProtections",
            odata_types=odata_types("androidManagedAppProtection"),
            default_odata_type=odata("androidManagedAppProtection"),
            platform=PlatformRule(fixed="android"),
            description="MAM policies for Android apps (with targeted apps).",
            **_APP_PROTECTION_COMMON,
        ),
        # Graph beta windowsManagedAppProtection (MAM for Edge on unmanaged Windows): apps by
        # windowsAppIdentifier, targetApps and assign answer 204 (learn.microsoft.com).
        PolicyType(
            key="windows_app_protection",
            label="App protection policies (Windows)",
            collection="deviceAppManagement/windowsManagedAppProtections",
            odata_types=odata_types("windowsManagedAppProtection"),
            default_odata_type=odata("windowsManagedAppProtection"),
            platform=PlatformRule(fixed="windows"),
            description="MAM policies for Windows (Microsoft Edge) with targeted apps.",
            **{
                **_APP_PROTECTION_COMMON,
                "list_identities": ("mobileAppIdentifier.windowsAppId",),
            },
        ),
    ),
    collections=(
        CollectionRules(
            "deviceAppManagement/iosManagedAppProtections",
            "iOS app protection policy",
            f"{PERMISSION_APPS}.Read.All",
            f"{PERMISSION_APPS}.ReadWrite.All",
            entity_type=odata("iosManagedAppProtection"),
            navigation={"assignments": {}, "apps": {}},
            assign=AssignContract("assignments", 204),
            server_filled=(("isAssigned", False),),
            traits=frozenset({"app_protection"}),
        ),
        CollectionRules(
            "deviceAppManagement/windowsManagedAppProtections",
            "Windows managed app protection",
            f"{PERMISSION_APPS}.Read.All",
            f"{PERMISSION_APPS}.ReadWrite.All",
            entity_type=odata("windowsManagedAppProtection"),
            navigation={"assignments": {}, "apps": {}},
            assign=AssignContract("assignments", 204),
            server_filled=(("isAssigned", False),),
            traits=frozenset({"app_protection"}),
        ),
        CollectionRules(
            "deviceAppManagement/androidManagedAppProtections",
            "Android app protection policy",
            f"{PERMISSION_APPS}.Read.All",
            f"{PERMISSION_APPS}.ReadWrite.All",
            entity_type=odata("androidManagedAppProtection"),
            navigation={"assignments": {}, "apps": {}},
            assign=AssignContract("assignments", 204),
            server_filled=(("isAssigned", False),),
            traits=frozenset({"app_protection"}),
        ),
    ),
)
