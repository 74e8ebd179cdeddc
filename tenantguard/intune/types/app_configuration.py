"""App configuration policies: for managed devices (``mobileAppConfigurations``, iOS and
Android Enterprise app config delivered through MDM) and for managed apps
(``targetedManagedAppConfigurations``, MAM app config delivered through the Intune SDK).

Graph facts (learn.microsoft.com, Graph beta ``managedDeviceMobileAppConfiguration``,
``iosMobileAppConfiguration``, ``androidManagedStoreAppConfiguration``,
``targetedManagedAppConfiguration`` and their ``assign`` / ``targetApps`` actions):

- managed devices: ``targetedMobileApps`` holds the ids of the ``mobileApps`` the policy
  configures (a ``mobile_app`` reference); iOS keeps its keys in ``settings``
  (``appConfigKey`` / ``appConfigKeyType`` / ``appConfigKeyValue``) or ``encodedSettingXml``,
  Android in base64 ``payloadJson`` with ``permissionActions``; ``appSupportsOemConfig`` is
  read-only; ``version`` is an integer; ``POST {id}/assign`` of ``{"assignments": [...]}``
  answers 204 (assignments carry only a target);
- managed apps: like app protection, the targeted apps are ``apps`` (written by ``POST
  {id}/targetApps`` ``{"apps": [...]}``, 204; sent with the create), the settings are
  ``customSettings`` (name/value pairs) and ``settings``; ``deployedAppCount`` and
  ``isAssigned`` are read-only; ``POST {id}/assign`` answers 204. These objects are also
  ``managedAppPolicies`` (Graph lists them there with the app protection policies).
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGNMENTS_NAV,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_APPS,
    STANDARD_REFS,
    AssignContract,
    AssignSpec,
    CollectionRules,
    FoundationRef,
    ListParams,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    SortRule,
    TypeFamily,
    odata,
    odata_types,
)

DEVICE_APP_CONFIGURATIONS = "deviceAppManagement/mobileAppConfigurations"
MANAGED_APP_CONFIGURATIONS = "deviceAppManagement/targetedManagedAppConfigurations"

_READ = f"{PERMISSION_APPS}.Read.All"
_WRITE = f"{PERMISSION_APPS}.ReadWrite.All"

FAMILY = TypeFamily(
    # After apps (order 5, referenced by targetedMobileApps) and app protection (60).
    order=62,
    types=(
        PolicyType(
            key="app_configuration_device",
            label="App configuration policies (managed devices)",
            category="Apps",
            collection=DEVICE_APP_CONFIGURATIONS,
            odata_types=odata_types(
                "iosMobileAppConfiguration",
                "androidManagedStoreAppConfiguration",
                "androidForWorkMobileAppConfiguration",
            ),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            read_only_fields=frozenset(
                {
                    "appSupportsOemConfig",
                    "deviceStatusSummary",
                    "userStatusSummary",
                    "deviceStatuses",
                    "userStatuses",
                }
            ),
            unordered_lists=(
                SortRule("settings", ("appConfigKey",)),
                SortRule("permissionActions", ("permission",)),
            ),
            assign=AssignSpec(expected_status=204),
            foundation_refs=(*STANDARD_REFS, FoundationRef("mobile_app", "targetedMobileApps[]")),
            required_permission=_READ,
            write_permission=_WRITE,
            description="iOS and Android Enterprise app configuration delivered through MDM.",
            list_identities=("appConfigKey", "permission"),
        ),
        PolicyType(
            key="app_configuration_managed_app",
            label="App configuration policies (managed apps)",
            category="Apps",
            collection=MANAGED_APP_CONFIGURATIONS,
            odata_types=odata_types("targetedManagedAppConfiguration"),
            default_odata_type=odata("targetedManagedAppConfiguration"),
            list_params=ListParams(expand="apps,assignments"),
            per_item_fetch=(
                PerItemFetch(kind="assignments", path="assignments", merge_into="assignments"),
                PerItemFetch(kind="apps", path="apps", merge_into="apps"),
            ),
            read_only_fields=frozenset({"deployedAppCount", "isAssigned", "deploymentSummary"}),
            write_excluded_fields=frozenset({"deploymentSummary"}),
            create_only_fields=frozenset({"apps"}),
            child_id_paths=("apps[].id", "apps[].version", "settings[].id"),
            unordered_lists=(
                SortRule(
                    "apps",
                    (
                        "mobileAppIdentifier.bundleId",
                        "mobileAppIdentifier.packageId",
                        "mobileAppIdentifier.windowsAppId",
                    ),
                ),
                SortRule("customSettings", ("name",)),
            ),
            assign=AssignSpec(expected_status=204),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="all"),
            required_permission=_READ,
            write_permission=_WRITE,
            description="MAM app configuration (custom settings for Intune SDK apps).",
            list_identities=(
                "mobileAppIdentifier.bundleId",
                "mobileAppIdentifier.packageId",
                "mobileAppIdentifier.windowsAppId",
                "name",
            ),
        ),
    ),
    collections=(
        CollectionRules(
            DEVICE_APP_CONFIGURATIONS,
            "managed device mobile app configuration",
            _READ,
            _WRITE,
            entity_type=odata("managedDeviceMobileAppConfiguration"),
            navigation=ASSIGNMENTS_NAV,
            assign=AssignContract("assignments", 204),
            assignment_fields=(),
            requires_odata_type=True,
            read_only=("appSupportsOemConfig",),
            type_server_filled={
                odata("androidManagedStoreAppConfiguration"): (("appSupportsOemConfig", False),)
            },
            traits=frozenset({"app_configuration"}),
        ),
        CollectionRules(
            MANAGED_APP_CONFIGURATIONS,
            "targeted managed app configuration",
            _READ,
            _WRITE,
            entity_type=odata("targetedManagedAppConfiguration"),
            navigation={"assignments": {}, "apps": {}},
            assign=AssignContract("assignments", 204),
            server_filled=(("isAssigned", False),),
            # app_protection: targetApps, apps normalised, listed in managedAppPolicies.
            traits=frozenset({"app_protection"}),
        ),
    ),
)
