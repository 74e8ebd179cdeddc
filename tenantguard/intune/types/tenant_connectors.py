"""Tenant-bound connectors and tokens: the Apple MDM push (APNs) certificate, Apple VPP tokens,
the managed Google Play binding and the management, remote assistance and compliance partner
connections. Captured for the record and compared, never written: each is issued to this
tenant by Apple, Google or the partner, so a copy from a backup would not work elsewhere (and
could break this tenant's connection). Apple DEP onboarding is in ``apple_enrollment.py``.

Graph (beta; properties from msgraph-beta-sdk 1.66 models and the Intune resource pages):

- ``deviceManagement/applePushNotificationCertificate`` (``applePushNotificationCertificate``,
  a single-valued navigation of ``deviceManagement``: ``GET`` / ``PATCH``, no list):
  ``appleIdentifier``, ``topicIdentifier``, ``expirationDateTime``, ``lastModifiedDateTime``,
  ``certificateUploadStatus``, ``certificateUploadFailureReason``, ``certificateSerialNumber``
  (read-only), ``certificate`` (undocumented: the uploaded certificate; never stored). A tenant
  with no APNs certificate answers ``404 ResourceNotFound`` (reported for real tenants:
  ThomasKur/IntuneDocumentation issue 39): nothing is captured then.
- ``deviceAppManagement/vppTokens`` (``vppToken``): ``organizationName``, ``displayName``,
  ``appleId``, ``vppTokenAccountType``, ``countryOrRegion``, ``locationName``,
  ``automaticallyUpdateApps``, ``expirationDateTime``, ``lastSyncDateTime``,
  ``lastSyncStatus``, ``state``, ``roleScopeTagIds``, ``token`` (the token Apple issued, a
  secret: never stored, whatever Graph answers; IntuneCD drops it too),
  ``tokenActionResults``. No ``createdDateTime``, no ``version``, no assignments.
- ``deviceManagement/androidManagedStoreAccountEnterpriseSettings`` (single-valued navigation):
  ``bindStatus``, ``ownerUserPrincipalName``, ``ownerOrganizationName``,
  ``lastAppSyncDateTime``, ``lastAppSyncStatus``, ``enrollmentTarget``, ``targetGroupIds``,
  ``deviceOwnerManagementEnabled``, ``androidDeviceOwnerFullyManagedEnrollmentEnabled``,
  ``managedGooglePlayEnterpriseType``, ``companyCodes`` (enrollment tokens: never stored),
  ``managedGooglePlayInitialScopeTagIds``. A tenant that never bound an account reads
  ``bindStatus: notBound``.
- ``deviceManagement/deviceManagementPartners`` (``deviceManagementPartner``: ``displayName``,
  ``partnerAppType``, ``partnerState``, ``isConfigured``, ``singleTenantAppId``,
  ``lastHeartbeatDateTime``, ``groupsRequiringPartnerEnrollment``, ...),
  ``deviceManagement/remoteAssistancePartners`` (``remoteAssistancePartner``: ``displayName``,
  ``onboardingUrl``, ``onboardingStatus``, ``lastConnectionDateTime``, ...),
  ``deviceManagement/complianceManagementPartners`` (``complianceManagementPartner``:
  ``displayName``, ``partnerState``, per-platform ``*Onboarded`` and
  ``*EnrollmentAssignments``, ``lastHeartbeatDateTime``): lists; no timestamps besides those,
  no ``version``, no scope tags, no assign action.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    PERMISSION_SERVICE_CONFIG,
    SCOPE_TAG_REF,
    CollectionRules,
    FoundationRef,
    PlatformRule,
    PolicyType,
    Singleton,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

APNS_CERTIFICATE = dm("applePushNotificationCertificate")
VPP_TOKENS = "deviceAppManagement/vppTokens"
MANAGED_GOOGLE_PLAY = dm("androidManagedStoreAccountEnterpriseSettings")
MANAGEMENT_PARTNERS = dm("deviceManagementPartners")
REMOTE_ASSISTANCE_PARTNERS = dm("remoteAssistancePartners")
COMPLIANCE_PARTNERS = dm("complianceManagementPartners")

SERVICE_READ = PERMISSION_SERVICE_CONFIG + ".Read.All"
SERVICE_WRITE = PERMISSION_SERVICE_CONFIG + ".ReadWrite.All"

APNS_NAME = "Apple MDM push certificate"
MANAGED_GOOGLE_PLAY_NAME = "Managed Google Play"

#: What a single-valued navigation of ``deviceManagement`` is, for the emulator.
_ENTITY_SINGLETON = frozenset({"singleton", "singleton_entity"})
_CATEGORY = "Tenant connectors"


def _partner_groups(*paths: str) -> tuple[FoundationRef, ...]:
    return tuple(FoundationRef("group", path) for path in paths)


FAMILY = TypeFamily(
    order=115,
    types=(
        PolicyType(
            key="apns_certificate",
            label="Apple MDM push certificate",
            category=_CATEGORY,
            collection=APNS_CERTIFICATE,
            odata_types=odata_types("applePushNotificationCertificate"),
            default_odata_type=odata("applePushNotificationCertificate"),
            read_only_fields=frozenset(
                {"certificateUploadStatus", "certificateUploadFailureReason"}
            ),
            never_stored_fields=frozenset({"certificate"}),
            assign=None,
            scope_tag_property=None,
            platform=PlatformRule(fixed="all"),
            restore_mode="preview-only",
            required_permission=SERVICE_READ,
            write_permission=SERVICE_WRITE,
            singleton=Singleton(
                write_path=APNS_CERTIFICATE,
                wrap_key="",
                source_id="applePushNotificationCertificate",
                display_name=APNS_NAME,
            ),
            preview_only_reason=(
                "An APNs certificate is issued by Apple to this tenant: TenantGuard records "
                "its Apple ID and expiry but never writes it; renew or upload it in the Intune "
                "admin center (Devices > Enrollment > Apple > MDM push certificate)."
            ),
            description="The Apple MDM push certificate (Apple ID, topic, expiry) that lets "
            "Intune manage Apple devices; recorded, never written.",
        ),
        PolicyType(
            key="vpp_token",
            label="Apple VPP tokens",
            category=_CATEGORY,
            collection=VPP_TOKENS,
            odata_types=odata_types("vppToken"),
            default_odata_type=odata("vppToken"),
            read_only_fields=frozenset(
                {"lastSyncDateTime", "lastSyncStatus", "state", "tokenActionResults"}
            ),
            never_stored_fields=frozenset({"token"}),
            assign=None,
            foundation_refs=(SCOPE_TAG_REF,),
            platform=PlatformRule(fixed="iOS"),
            restore_mode="preview-only",
            required_permission=SERVICE_READ,
            write_permission=SERVICE_WRITE,
            preview_only_reason=(
                "A VPP token is issued by Apple Business Manager to one location and MDM "
                "server: TenantGuard records it but never writes it (the backup does not hold "
                "the token); download a new token from Apple Business Manager and upload it in "
                "the Intune admin center."
            ),
            description="Apple Volume Purchase Program (apps and books) tokens; recorded "
            "without the token itself, never written.",
        ),
        PolicyType(
            key="managed_google_play",
            label="Managed Google Play",
            category=_CATEGORY,
            collection=MANAGED_GOOGLE_PLAY,
            odata_types=odata_types("androidManagedStoreAccountEnterpriseSettings"),
            default_odata_type=odata("androidManagedStoreAccountEnterpriseSettings"),
            read_only_fields=frozenset({"lastAppSyncDateTime", "lastAppSyncStatus", "bindStatus"}),
            never_stored_fields=frozenset({"companyCodes"}),
            assign=None,
            scope_tag_property=None,
            foundation_refs=(
                FoundationRef("group", "targetGroupIds[]"),
                FoundationRef("scope_tag", "managedGooglePlayInitialScopeTagIds[]"),
            ),
            platform=PlatformRule(fixed="android"),
            restore_mode="preview-only",
            required_permission=SERVICE_READ,
            write_permission=SERVICE_WRITE,
            singleton=Singleton(
                write_path=MANAGED_GOOGLE_PLAY,
                wrap_key="",
                source_id="androidManagedStoreAccountEnterpriseSettings",
                display_name=MANAGED_GOOGLE_PLAY_NAME,
            ),
            preview_only_reason=(
                "Managed Google Play is bound to this tenant by a Google account: TenantGuard "
                "records the binding but never writes it; connect or reconnect it in the "
                "Intune admin center (Tenant administration > Connectors and tokens)."
            ),
            description="The managed Google Play binding (owner account, enrollment "
            "settings); recorded, never written.",
        ),
        PolicyType(
            key="management_partner",
            label="Device management partners",
            category=_CATEGORY,
            collection=MANAGEMENT_PARTNERS,
            odata_types=odata_types("deviceManagementPartner"),
            default_odata_type=odata("deviceManagementPartner"),
            read_only_fields=frozenset({"lastHeartbeatDateTime", "partnerState"}),
            assign=None,
            scope_tag_property=None,
            foundation_refs=_partner_groups("groupsRequiringPartnerEnrollment[].target.groupId"),
            platform=PlatformRule(fixed="all"),
            restore_mode="preview-only",
            required_permission=SERVICE_READ,
            write_permission=SERVICE_WRITE,
            modified_property=None,
            preview_only_reason=(
                "A device management partner (such as Jamf) is connected from the partner's "
                "own console to this tenant: TenantGuard records the connection but never "
                "writes it; set it up again in the partner's console and the Intune admin "
                "center."
            ),
            description="Third-party device management partners (e.g. Jamf Pro); recorded, "
            "never written.",
        ),
        PolicyType(
            key="remote_assistance_partner",
            label="Remote assistance partners",
            category=_CATEGORY,
            collection=REMOTE_ASSISTANCE_PARTNERS,
            odata_types=odata_types("remoteAssistancePartner"),
            default_odata_type=odata("remoteAssistancePartner"),
            read_only_fields=frozenset(
                {"lastConnectionDateTime", "onboardingStatus", "onboardingRequestExpiryDateTime"}
            ),
            assign=None,
            scope_tag_property=None,
            platform=PlatformRule(fixed="all"),
            restore_mode="preview-only",
            required_permission=SERVICE_READ,
            write_permission=SERVICE_WRITE,
            modified_property=None,
            preview_only_reason=(
                "A remote assistance partner (such as TeamViewer) is onboarded by signing in "
                "to the partner's service from this tenant: TenantGuard records it but never "
                "writes it; onboard it again in the Intune admin center."
            ),
            description="Remote assistance partners (e.g. TeamViewer); recorded, never written.",
        ),
        PolicyType(
            key="compliance_partner",
            label="Compliance partners",
            category=_CATEGORY,
            collection=COMPLIANCE_PARTNERS,
            odata_types=odata_types("complianceManagementPartner"),
            default_odata_type=odata("complianceManagementPartner"),
            read_only_fields=frozenset({"lastHeartbeatDateTime", "partnerState"}),
            assign=None,
            scope_tag_property=None,
            foundation_refs=_partner_groups(
                *(
                    f"{platform}EnrollmentAssignments[].target.groupId"
                    for platform in ("android", "ios", "macOs", "linux")
                )
            ),
            platform=PlatformRule(fixed="all"),
            restore_mode="preview-only",
            required_permission=SERVICE_READ,
            write_permission=SERVICE_WRITE,
            modified_property=None,
            preview_only_reason=(
                "A compliance partner is connected from the partner's own console to this "
                "tenant: TenantGuard records the connection but never writes it; connect the "
                "partner again in its console and the Intune admin center."
            ),
            description="Third-party compliance partners (mobile threat defense, partner "
            "MDM compliance); recorded, never written.",
        ),
    ),
    collections=(
        CollectionRules(
            APNS_CERTIFICATE,
            "Apple push notification certificate",
            SERVICE_READ,
            SERVICE_WRITE,
            entity_type=odata("applePushNotificationCertificate"),
            writable=False,
            versioned=False,
            has_version=False,
            has_created=False,
            traits=_ENTITY_SINGLETON,
        ),
        CollectionRules(
            VPP_TOKENS,
            "VPP token",
            SERVICE_READ,
            SERVICE_WRITE,
            entity_type=odata("vppToken"),
            has_version=False,
            has_created=False,
            read_only=("lastSyncDateTime", "lastSyncStatus", "state", "tokenActionResults"),
        ),
        CollectionRules(
            MANAGED_GOOGLE_PLAY,
            "managed Google Play settings",
            SERVICE_READ,
            SERVICE_WRITE,
            entity_type=odata("androidManagedStoreAccountEnterpriseSettings"),
            writable=False,
            versioned=False,
            has_version=False,
            has_created=False,
            traits=_ENTITY_SINGLETON,
        ),
        CollectionRules(
            MANAGEMENT_PARTNERS,
            "device management partner",
            SERVICE_READ,
            SERVICE_WRITE,
            entity_type=odata("deviceManagementPartner"),
            versioned=False,
            has_version=False,
            has_created=False,
        ),
        CollectionRules(
            REMOTE_ASSISTANCE_PARTNERS,
            "remote assistance partner",
            SERVICE_READ,
            SERVICE_WRITE,
            entity_type=odata("remoteAssistancePartner"),
            versioned=False,
            has_version=False,
            has_created=False,
        ),
        CollectionRules(
            COMPLIANCE_PARTNERS,
            "compliance management partner",
            SERVICE_READ,
            SERVICE_WRITE,
            entity_type=odata("complianceManagementPartner"),
            versioned=False,
            has_version=False,
            has_created=False,
        ),
    ),
    builtin_objects=(
        (
            MANAGED_GOOGLE_PLAY,
            {
                "@odata.type": "#microsoft.graph.androidManagedStoreAccountEnterpriseSettings",
                "bindStatus": "notBound",
                "lastAppSyncDateTime": "0001-01-01T00:00:00Z",
                "lastAppSyncStatus": "success",
                "ownerUserPrincipalName": None,
                "ownerOrganizationName": None,
                "lastModifiedDateTime": "0001-01-01T00:00:00Z",
                "enrollmentTarget": "none",
                "targetGroupIds": [],
                "deviceOwnerManagementEnabled": False,
                "androidDeviceOwnerFullyManagedEnrollmentEnabled": False,
                "managedGooglePlayEnterpriseType": "notManagedGooglePlay",
                "managedGooglePlayInitialScopeTagIds": [],
                "companyCodes": [],
            },
        ),
    ),
)
