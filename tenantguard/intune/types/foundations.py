"""Foundations: scope tags, assignment filters and notification message templates.

Restored before the policies that refer to them (``FoundationRef``).
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGNMENTS_NAV,
    PERMISSION_CONFIGURATION,
    PERMISSION_RBAC,
    PERMISSION_SERVICE_CONFIG,
    SCOPE_TAG_REF,
    CollectionRules,
    FoundationRef,
    ListParams,
    MergedList,
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


FAMILY = TypeFamily(
    order=0,
    types=(
        PolicyType(
            key="scope_tag",
            label="Scope tags",
            category="Foundations",
            collection="deviceManagement/roleScopeTags",
            odata_types=odata_types("roleScopeTag"),
            default_odata_type=odata("roleScopeTag"),
            read_only_fields=frozenset({"isBuiltIn", "assignments"}),
            write_excluded_fields=frozenset({"assignments"}),
            assign=None,
            scope_tag_property=None,
            platform=PlatformRule(fixed="all"),
            is_foundation=True,
            required_permission=PERMISSION_RBAC + ".Read.All",
            write_permission=PERMISSION_RBAC + ".ReadWrite.All",
            modified_property=None,
            description="Role-based access scope tags. The built-in Default tag (id 0) is never written.",
        ),
        PolicyType(
            key="assignment_filter",
            label="Assignment filters",
            category="Foundations",
            collection="deviceManagement/assignmentFilters",
            odata_types=odata_types("deviceAndAppManagementAssignmentFilter"),
            default_odata_type=odata("deviceAndAppManagementAssignmentFilter"),
            read_only_fields=frozenset({"payloads"}),
            assign=None,
            scope_tag_property="roleScopeTags",
            foundation_refs=(FoundationRef("scope_tag", "roleScopeTags[]"),),
            platform=PlatformRule(property="platform", from_odata_type=False),
            is_foundation=True,
            description="Device and app assignment filters referenced by assignments.",
        ),
        PolicyType(
            key="notification_template",
            label="Notification message templates",
            category="Foundations",
            collection="deviceManagement/notificationMessageTemplates",
            odata_types=odata_types("notificationMessageTemplate"),
            default_odata_type=odata("notificationMessageTemplate"),
            list_params=ListParams(),
            per_item_fetch=(
                PerItemFetch(
                    kind="localizedNotificationMessages",
                    path="localizedNotificationMessages",
                    merge_into="localizedNotificationMessages",
                ),
            ),
            # Localized messages are created one by one under the template after it exists.
            write_excluded_fields=frozenset({"localizedNotificationMessages"}),
            # Written locale by locale (added or changed): the target's other locales are kept.
            merged_lists=(MergedList("localizedNotificationMessages", "locale"),),
            child_id_paths=("localizedNotificationMessages[].id",),
            unordered_lists=(SortRule("localizedNotificationMessages", ("locale",)),),
            assign=None,
            foundation_refs=(SCOPE_TAG_REF,),
            platform=PlatformRule(fixed="all"),
            is_foundation=True,
            required_permission=PERMISSION_SERVICE_CONFIG + ".Read.All",
            write_permission=PERMISSION_SERVICE_CONFIG + ".ReadWrite.All",
            description="Compliance notification e-mails (with their localized messages).",
            list_identities=("locale",),
        ),
    ),
    collections=(
        CollectionRules(
            dm("roleScopeTags"),
            "role scope tag",
            f"{PERMISSION_RBAC}.Read.All",
            f"{PERMISSION_RBAC}.ReadWrite.All",
            entity_type=odata("roleScopeTag"),
            navigation=ASSIGNMENTS_NAV,
            # roleScopeTag has no timestamps and no version (msgraph-beta-sdk model).
            versioned=False,
            has_created=False,
            traits=frozenset({"scope_tags"}),
        ),
        CollectionRules(
            dm("assignmentFilters"),
            "assignment filter",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceAndAppManagementAssignmentFilter"),
            has_version=False,
        ),
        CollectionRules(
            dm("notificationMessageTemplates"),
            "notification message template",
            f"{SERVICE}.Read.All",
            f"{SERVICE}.ReadWrite.All",
            entity_type=odata("notificationMessageTemplate"),
            # lastModifiedDateTime only: no createdDateTime, no version (msgraph-beta-sdk).
            has_version=False,
            has_created=False,
            navigation={"localizedNotificationMessages": {}},
            child_posts=frozenset({"localizedNotificationMessages"}),
        ),
    ),
    builtin_objects=(
        (
            dm("roleScopeTags"),
            {
                "@odata.type": "#microsoft.graph.roleScopeTag",
                "id": "0",
                "displayName": "Default",
                "description": "Default scope tag",
                "isBuiltIn": True,
                "assignments": [],
            },
        ),
    ),
)
