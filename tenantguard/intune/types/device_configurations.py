"""Device configuration profiles (``deviceManagement/deviceConfigurations``): template-based
profiles, custom OMA-URI profiles and Windows Update for Business rings.
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
    CollectionRules,
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
SERVICE = PERMISSION_SERVICE_CONFIG

# Device configuration subtypes restored generically (POST with @odata.type, PATCH to update).
# Profiles that point at other profiles through navigation properties (SCEP/PKCS/imported PFX
# certificates, enterprise Wi-Fi and wired networks, derived credentials) are not listed: they
# fall to the preview-only UNSUPPORTED type until their references can be rewritten.
_GENERIC_DEVICE_CONFIGURATION_TYPES = odata_types(
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

_OMA_URI_TYPES = odata_types(
    "windows10CustomConfiguration",
    "windowsPhone81CustomConfiguration",
    "androidCustomConfiguration",
    "androidForWorkCustomConfiguration",
    "androidWorkProfileCustomConfiguration",
)

_UPDATE_RING_TYPES = odata_types("windowsUpdateForBusinessConfiguration")


# windowsUpdateForBusinessConfiguration: pause and rollback state the service maintains
# (Graph resource page: qualityUpdatesPauseExpiryDateTime, featureUpdatesPauseExpiryDateTime,
# *PauseStartDate (read-only), *WillBeRolledBack, *RollbackStartDateTime).
_UPDATE_RING_FILLED: tuple[tuple[str, object], ...] = (
    ("qualityUpdatesPauseExpiryDateTime", UNSET_DATETIME),
    ("featureUpdatesPauseExpiryDateTime", UNSET_DATETIME),
    ("qualityUpdatesPauseStartDate", None),
    ("featureUpdatesPauseStartDate", None),
    ("qualityUpdatesWillBeRolledBack", False),
    ("featureUpdatesWillBeRolledBack", False),
    ("qualityUpdatesRollbackStartDateTime", UNSET_DATETIME),
    ("featureUpdatesRollbackStartDateTime", UNSET_DATETIME),
)


FAMILY = TypeFamily(
    order=10,
    types=(
        PolicyType(
            key="device_configuration",
            label="Device configuration profiles",
            category="Device configuration",
            collection="deviceManagement/deviceConfigurations",
            odata_types=_GENERIC_DEVICE_CONFIGURATION_TYPES,
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            foundation_refs=STANDARD_REFS,
            description="Template-based device configuration profiles (restored as a whole).",
        ),
        PolicyType(
            key="custom_oma_uri",
            label="Custom profiles (OMA-URI)",
            category="Device configuration",
            collection="deviceManagement/deviceConfigurations",
            odata_types=_OMA_URI_TYPES,
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(
                FETCH_ITEM_ASSIGNMENTS,
                PerItemFetch(
                    kind="omaSecrets",
                    path="getOmaSettingPlainTextValue(secretReferenceValueId='{secretReferenceValueId}')",
                    merge_into=None,
                    only_if_missing=False,
                    is_collection=False,
                ),
            ),
            unordered_lists=(SortRule("omaSettings", ("omaUri", "displayName")),),
            foundation_refs=STANDARD_REFS,
            has_oma_secrets=True,
            description=(
                "Custom profiles with OMA-URI settings; encrypted values are captured as secrets."
            ),
            list_identities=("omaUri",),
        ),
        PolicyType(
            key="windows_update_ring",
            label="Update rings for Windows 10 and later",
            category="Windows updates",
            collection="deviceManagement/deviceConfigurations",
            odata_types=_UPDATE_RING_TYPES,
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
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
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            description="Windows Update for Business rings (a device configuration subtype).",
        ),
    ),
    collections=(
        CollectionRules(
            dm("deviceConfigurations"),
            "device configuration",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceConfiguration"),
            navigation=ASSIGNMENTS_NAV,
            assign=ASSIGN_200,
            assignment_fields=("source", "sourceId", "intent"),
            requires_odata_type=True,
            read_only=tuple(name for name, _ in _UPDATE_RING_FILLED),
            server_filled=(("supportsScopeTags", True),),
            type_server_filled={
                odata("windowsUpdateForBusinessConfiguration"): _UPDATE_RING_FILLED
            },
            traits=frozenset({"oma_secrets"}),
        ),
    ),
)
