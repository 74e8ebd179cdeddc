"""Apps (``deviceAppManagement/mobileApps``): their metadata, scope tags and assignments.

One type for the whole collection (apps are one reference kind, ``mobile_app``: app
configuration policies, the enrollment status page and policy sets point at them by id), with
``CreateLimit`` records for the apps TenantGuard never creates:

- apps whose content is uploaded to Intune (line-of-business, Win32, MSI, APPX, DMG/PKG): a
  backup holds their metadata, never their package, and creating the metadata alone would give
  an app that cannot install. When the target has the app, its metadata is updated and its
  assignments restored; when it does not, the item is skipped with what to do;
- apps synced from a connected service (Apple VPP, managed Google Play, Microsoft Store for
  Business): Apple or Google own their metadata, so only their scope tags and assignments are
  written, and a missing one is skipped (sync the token in the target first).

Store, web, Microsoft 365, WinGet and Edge apps are plain metadata: created like any policy.
Microsoft's own managed apps (``appAvailability`` ``global``) are never written; the listing
uses IntuneCD's filter, which leaves them out unless they are assigned.

Graph facts (learn.microsoft.com, Graph beta ``mobileApp``, ``win32LobApp``, ``mobileApp:
assign``): ``uploadState``, ``publishingState``, ``isAssigned``, ``dependentAppCount``,
``supersedingAppCount``, ``supersededAppCount`` and LOB ``size`` are read-only; there is no
``version``; ``POST {id}/assign`` takes ``{"mobileAppAssignments": [...]}`` and answers 204;
each assignment carries ``intent`` (``required``, ``available``, ``uninstall``,
``availableWithoutEnrollment``) and optional ``settings``; an app cannot be assigned before it
is published.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_APPS,
    STANDARD_REFS,
    AssignContract,
    AssignSpec,
    CollectionRules,
    CreateLimit,
    FoundationRef,
    ListParams,
    PolicyType,
    PropertyPrefix,
    SortRule,
    TypeFamily,
    odata,
    odata_types,
)

MOBILE_APPS = "deviceAppManagement/mobileApps"

#: IntuneCD 2.6.0's listing (backup/Intune/Applications.py): the tenant's own apps, and
#: Microsoft's managed apps only when they are assigned.
APPS_FILTER = (
    "(microsoft.graph.managedApp/appAvailability) eq null or "
    "(microsoft.graph.managedApp/appAvailability) eq 'lineOfBusiness' or isAssigned eq true"
)

#: Apps whose installable content is uploaded to Intune (never in a backup).
CONTENT_BOUND_TYPES = odata_types(
    "win32LobApp",
    "win32CatalogApp",
    "windowsMobileMSI",
    "windowsUniversalAppX",
    "windowsAppX",
    "windowsPhone81AppX",
    "windowsPhone81AppXBundle",
    "windowsPhoneXAP",
    "iosLobApp",
    "managedIOSLobApp",
    "androidLobApp",
    "managedAndroidLobApp",
    "macOSLobApp",
    "macOSDmgApp",
    "macOSPkgApp",
)

#: Apps synced from Apple, Google or the Microsoft Store for Business into one tenant.
TENANT_BOUND_TYPES = odata_types(
    "iosVppApp",
    "macOsVppApp",
    "androidManagedStoreApp",
    "androidManagedStoreWebApp",
    "androidForWorkApp",
    "microsoftStoreForBusinessApp",
)

CONTENT_BOUND_REASON = (
    "its installable content (the uploaded package) is not part of a backup. Upload the "
    "app's content in Intune first, then run the restore again: TenantGuard then restores "
    "its settings and assignments."
)
TENANT_BOUND_REASON = (
    "it is synced from Apple, Google or the Microsoft Store for Business into one tenant. "
    "Sync the token or store connection that licenses it in the target tenant first, then "
    "run the restore again: TenantGuard then restores its scope tags and assignments."
)

#: mobileApp's own writable properties (Graph's mobileApp resource): what an app is, not
#: what its uploaded package holds.
APP_METADATA = frozenset(
    {
        "displayName",
        "description",
        "publisher",
        "largeIcon",
        "isFeatured",
        "privacyInformationUrl",
        "informationUrl",
        "owner",
        "developer",
        "notes",
        "roleScopeTagIds",
    }
)

_SERVER_STATE = (
    "uploadState",
    "publishingState",
    "dependentAppCount",
    "supersedingAppCount",
    "supersededAppCount",
    "size",
)

FAMILY = TypeFamily(
    # Right after the foundations: app configuration, enrollment status pages and policy sets
    # refer to apps by id, so apps are matched (or created) before them.
    order=5,
    types=(
        PolicyType(
            key="mobile_app",
            label="Apps",
            category="Apps",
            collection=MOBILE_APPS,
            list_params=ListParams(expand="assignments", filter=APPS_FILTER),
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            read_only_fields=frozenset(
                {
                    *_SERVER_STATE,
                    "committedContentVersion",
                    "fileName",
                    "appAvailability",
                    "contentVersions",
                    "relationships",
                    "categories",
                    "usedLicenseCount",
                    "totalLicenseCount",
                    "revokeLicenseActionResults",
                    "manifestHash",
                }
            ),
            write_excluded_fields=frozenset({"contentVersions", "relationships", "categories"}),
            unordered_lists=(SortRule("returnCodes", ("returnCode",)),),
            assign=AssignSpec(body_key="mobileAppAssignments", expected_status=204),
            # iOS store, VPP and LOB app assignments name their per-app VPN profile (a device
            # configuration) in settings.vpnConfigurationId.
            foundation_refs=(
                *STANDARD_REFS,
                FoundationRef(
                    "vpn_configuration", "settings.vpnConfigurationId", in_assignments=True
                ),
            ),
            required_permission=PERMISSION_APPS + ".Read.All",
            write_permission=PERMISSION_APPS + ".ReadWrite.All",
            description=(
                "Apps: metadata, scope tags and assignments (install intent and settings). "
                "Apps with uploaded content or synced from a store are never created."
            ),
            list_identities=("returnCode",),
            create_limits=(
                # Only the app's own metadata is compared and written: install and uninstall
                # commands, detection and requirement rules, MSI and package facts describe
                # the uploaded content, and the target's content may be another package.
                CreateLimit(
                    reason=CONTENT_BOUND_REASON,
                    odata_types=CONTENT_BOUND_TYPES,
                    written_properties=APP_METADATA,
                ),
                CreateLimit(
                    reason=TENANT_BOUND_REASON,
                    odata_types=TENANT_BOUND_TYPES,
                    written_properties=frozenset({"roleScopeTagIds"}),
                ),
            ),
            builtin_when=PropertyPrefix("appAvailability", "global"),
            # Objects others refer to (reference kind ``mobile_app``): matched or created with
            # the other foundations, before anything that names them.
            is_foundation=True,
        ),
    ),
    collections=(
        CollectionRules(
            MOBILE_APPS,
            "mobile app",
            f"{PERMISSION_APPS}.Read.All",
            f"{PERMISSION_APPS}.ReadWrite.All",
            entity_type=odata("mobileApp"),
            navigation={"assignments": {}},
            assign=AssignContract("mobileAppAssignments", 204),
            assignment_fields=("intent", "source", "sourceId"),
            has_version=False,
            requires_odata_type=True,
            read_only=_SERVER_STATE,
            server_filled=(
                ("publishingState", "published"),
                ("uploadState", 1),
                ("isAssigned", False),
                ("dependentAppCount", 0),
                ("supersedingAppCount", 0),
                ("supersededAppCount", 0),
            ),
            # An app made through Graph without its content stays unpublished (and cannot be
            # assigned) until its package is committed.
            type_server_filled={
                odata_type: (("publishingState", "notPublished"), ("uploadState", 0))
                for odata_type in CONTENT_BOUND_TYPES
            },
            traits=frozenset({"mobile_apps"}),
        ),
    ),
)
