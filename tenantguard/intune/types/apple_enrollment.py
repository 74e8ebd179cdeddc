"""Apple automated device enrollment: DEP tokens and the enrollment profiles under each.

Graph facts (learn.microsoft.com beta pages ``intune-enrollment-deponboardingsetting``,
``intune-enrollment-depiosenrollmentprofile``, ``intune-enrollment-enrollmentprofile-*``, and
how IntuneCD 2.6.0 reads and writes them):

- ``deviceManagement/depOnboardingSettings`` lists the tenant's Apple Business / School Manager
  tokens (``tokenName``, ``appleIdentifier``, expiry, sync state, ``roleScopeTagIds``). A token
  is Apple's, bound to the tenant: it is uploaded (``uploadDepToken``), never copied, so
  TenantGuard keeps it for the record only.
- The profiles live under their token: ``depOnboardingSettings/{token id}/enrollmentProfiles``
  (list, get, POST with the profile's ``@odata.type`` → 201, PATCH → 204, DELETE). Their ids
  are ``<token id>_<guid>``. They have no assignments (devices are assigned to a profile in
  Apple Business Manager and synced), no scope tags, no version and no timestamps.
  ``isDefault`` is set with the ``setDefaultProfile`` action, not in a PATCH.
- IntuneCD lists the tokens, then batches ``{token id}/enrollmentProfiles``; it updates
  profiles by PATCH (204) into the token named by the id's prefix and never creates them.
"""

from __future__ import annotations

from typing import Final

from tenantguard.intune.typespec import (
    PERMISSION_SERVICE_CONFIG,
    SCOPE_TAG_REF,
    CollectionRules,
    FoundationRef,
    ParentCollection,
    PlatformRule,
    PolicyType,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

SERVICE = PERMISSION_SERVICE_CONFIG
TOKENS: Final = dm("depOnboardingSettings")
PROFILES_NAV: Final = "enrollmentProfiles"
#: The logical collection of the profiles (each token's ``enrollmentProfiles``).
PROFILES: Final = f"{TOKENS}/{PROFILES_NAV}"
#: The emulator's trait for the tokens' collection (``emulator/traits_apple_enrollment.py``).
TRAIT: Final = "dep_onboarding"

PROFILE_TYPES: Final = odata_types(
    "depIOSEnrollmentProfile",
    "depMacOSEnrollmentProfile",
    "depTvOSEnrollmentProfile",
    "depVisionOSEnrollmentProfile",
    "depEnrollmentProfile",
)

#: Token properties Apple and Intune keep up to date (sync state, expiry): never compared.
_TOKEN_STATE: Final = frozenset(
    {
        "tokenExpirationDateTime",
        "lastSuccessfulSyncDateTime",
        "lastSyncTriggeredDateTime",
        "lastSyncErrorCode",
        "syncedDeviceCount",
    }
)

FAMILY = TypeFamily(
    order=72,
    types=(
        PolicyType(
            key="dep_onboarding_setting",
            label="Apple enrollment program tokens",
            category="Enrollment",
            collection=TOKENS,
            default_odata_type=odata("depOnboardingSetting"),
            read_only_fields=_TOKEN_STATE,
            assign=None,
            foundation_refs=(SCOPE_TAG_REF,),
            platform=PlatformRule(fixed="all", from_odata_type=False),
            restore_mode="preview-only",
            preview_only_reason="An Apple enrollment program (DEP) token belongs to the tenant "
            "and to Apple Business Manager, so TenantGuard keeps it for the record only: "
            "download a new token in Apple Business Manager and upload or renew it in Intune "
            "(Devices > Enrollment > Apple > Enrollment program tokens).",
            required_permission=SERVICE + ".Read.All",
            write_permission=SERVICE + ".ReadWrite.All",
            display_name_property="tokenName",
            description="Apple Business / School Manager tokens (for the record, never written).",
        ),
        PolicyType(
            key="apple_enrollment_profile",
            label="Apple enrollment profiles",
            category="Enrollment",
            collection=PROFILES,
            parent=ParentCollection(
                collection=TOKENS,
                navigation=PROFILES_NAV,
                name_property="tokenName",
                missing_reason="the target tenant has no Apple enrollment program (DEP) token. "
                "Upload one in Intune (Devices > Enrollment > Apple > Enrollment program "
                "tokens), then restore again.",
            ),
            odata_types=PROFILE_TYPES,
            # isDefault: set with setDefaultProfile, not by PATCH (IntuneCD leaves it out too).
            # configurationEndpointUrl: Intune's URL for Apple Configurator, made for the
            # profile and naming its tenant (AADTenantId=...): never copied.
            read_only_fields=frozenset({"isDefault", "configurationEndpointUrl"}),
            assign=None,
            scope_tag_property=None,
            # Groups a device joins at enrollment: mapped like assignment groups.
            # companyPortalVppTokenId names the VPP token Company Portal is installed with: a
            # token of the source tenant, mapped to the target's own (never written as is).
            foundation_refs=(
                FoundationRef("group", "enrollmentTimeAzureAdGroupIds[]"),
                FoundationRef("vpp_token", "companyPortalVppTokenId"),
            ),
            platform=PlatformRule(),
            required_permission=SERVICE + ".Read.All",
            write_permission=SERVICE + ".ReadWrite.All",
            modified_property=None,
            description="Apple automated device enrollment profiles, under their DEP token.",
        ),
    ),
    collections=(
        CollectionRules(
            TOKENS,
            "DEP onboarding setting",
            f"{SERVICE}.Read.All",
            f"{SERVICE}.ReadWrite.All",
            entity_type=odata("depOnboardingSetting"),
            navigation={PROFILES_NAV: {}},
            child_posts=frozenset({PROFILES_NAV}),
            # lastModifiedDateTime only: no version, no createdDateTime (Graph's resource page)
            has_version=False,
            has_created=False,
            traits=frozenset({TRAIT}),
        ),
    ),
)
