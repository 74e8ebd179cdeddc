"""Intune role-based access control: custom role definitions and role assignments.

Graph (beta, ``DeviceManagementRBAC``):

- ``deviceManagement/roleDefinitions`` (``deviceAndAppManagementRoleDefinition``): list, get,
  POST, PATCH, DELETE. Microsoft's built-in roles (``isBuiltIn: true``) exist in every tenant
  with the same ids and cannot be changed: TenantGuard lists only the custom roles
  (``$filter=isBuiltIn eq false``, as IntuneCD does) and a reference to a built-in role is not
  a reference to map (``reference_kinds`` ``role_definition``). ``permissions`` and
  ``isBuiltInRoleDefinition`` are read-only duplicates of ``rolePermissions`` / ``isBuiltIn``.
  No ``createdDateTime``, ``lastModifiedDateTime`` or ``version`` (msgraph-beta-sdk
  ``RoleDefinition``). ``roleAssignments`` is a navigation, read but never POSTed to (Graph
  answers "No method match route template"); assignments are created at the top level.
- ``deviceManagement/roleAssignments`` (``deviceAndAppManagementRoleAssignment``): list, get,
  POST, PATCH, DELETE. ``members`` (who holds the role), ``scopeMembers`` and
  ``resourceScopes`` (the groups they manage) are Entra group ids; ``scopeType``;
  ``roleScopeTagIds``. The role is the navigation ``roleDefinition``, read with
  ``$expand=roleDefinition`` and bound on create with ``roleDefinition@odata.bind``.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    PERMISSION_RBAC,
    SCOPE_TAG_REF,
    CollectionRules,
    FoundationRef,
    ListParams,
    ODataBind,
    PlatformRule,
    PolicyType,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

ROLE_DEFINITIONS = dm("roleDefinitions")
ROLE_ASSIGNMENTS = dm("roleAssignments")
READ = PERMISSION_RBAC + ".Read.All"
WRITE = PERMISSION_RBAC + ".ReadWrite.All"

#: Microsoft's built-in Intune roles: the same id in every tenant (Graph ``isBuiltIn: true``).
BUILTIN_ROLES: tuple[tuple[str, str, str], ...] = (
    (
        "0bd113fe-6be5-400c-a28f-ae5553f9c0be",
        "Policy and Profile manager",
        "Policy and Profile Manager users manage compliance policy, configuration profiles, "
        "Apple enrollment, corporate device identifiers, and security baselines.",
    ),
    (
        "2f9f4f7e-2d13-427b-adf2-361a1eef7ae8",
        "School Administrator",
        "School Administrators manage apps and settings for their groups.",
    ),
    (
        "9e0cc482-82df-4ab2-a24c-0c23a3f52e1e",
        "Help Desk Operator",
        "Help Desk Operators perform remote tasks on users and devices, and can assign "
        "applications or policies to users or devices.",
    ),
    (
        "c1d9fcbb-cba5-40b0-bf6b-527006585f4b",
        "Application Manager",
        "Application Managers manage mobile and managed applications, can read device "
        "information and can view device configuration profiles.",
    ),
    (
        "c56d53a2-73d0-4502-b6bd-4a9d3dba28d5",
        "Endpoint Security Manager",
        "Manages security and compliance features such as security baselines, device "
        "compliance, conditional access, and Microsoft Defender for Endpoint.",
    ),
    (
        "fa1d7878-e8cb-41a1-8254-0142355c9f84",
        "Read Only Operator",
        "Read Only Operators view user, device, enrollment, configuration, and application "
        "information, and cannot make changes to Intune.",
    ),
    (
        "fb2603eb-3c87-4be3-8b5b-d58a5b4a0bc0",
        "Intune Role Administrator",
        "Intune Role Administrators manage custom Intune roles and add assignments for "
        "built-in Intune roles.",
    ),
)
BUILTIN_ROLE_IDS: frozenset[str] = frozenset(role_id for role_id, _, _ in BUILTIN_ROLES)

_READ_ACTIONS = (
    "Microsoft.Intune_Organization_Read",
    "Microsoft.Intune_DeviceConfigurations_Read",
    "Microsoft.Intune_ManagedDevices_Read",
)


def _builtin_role(role_id: str, name: str, description: str) -> dict[str, object]:
    permissions = [
        {
            "actions": list(_READ_ACTIONS),
            "resourceActions": [
                {"allowedResourceActions": list(_READ_ACTIONS), "notAllowedResourceActions": []}
            ],
        }
    ]
    return {
        "@odata.type": "#microsoft.graph.deviceAndAppManagementRoleDefinition",
        "id": role_id,
        "displayName": name,
        "description": description,
        "isBuiltInRoleDefinition": True,
        "isBuiltIn": True,
        "roleScopeTagIds": [],
        "permissions": permissions,
        "rolePermissions": permissions,
        "roleAssignments": [],
    }


def _group_refs(*paths: str) -> tuple[FoundationRef, ...]:
    return tuple(FoundationRef("group", path) for path in paths)


FAMILY = TypeFamily(
    order=5,
    types=(
        PolicyType(
            key="role_definition",
            label="Intune roles",
            category="Tenant administration",
            collection=ROLE_DEFINITIONS,
            odata_types=odata_types("deviceAndAppManagementRoleDefinition", "roleDefinition"),
            default_odata_type=odata("deviceAndAppManagementRoleDefinition"),
            list_params=ListParams(filter="isBuiltIn eq false"),
            read_only_fields=frozenset(
                {"isBuiltIn", "isBuiltInRoleDefinition", "permissions", "roleAssignments"}
            ),
            write_excluded_fields=frozenset({"roleAssignments"}),
            assign=None,
            foundation_refs=(SCOPE_TAG_REF,),
            platform=PlatformRule(fixed="all"),
            is_foundation=True,
            required_permission=READ,
            write_permission=WRITE,
            modified_property=None,
            description="Custom Intune roles with their permissions. Microsoft's built-in roles "
            "are the same in every tenant and are never backed up or written.",
        ),
        PolicyType(
            key="role_assignment",
            label="Intune role assignments",
            category="Tenant administration",
            collection=ROLE_ASSIGNMENTS,
            odata_types=odata_types("deviceAndAppManagementRoleAssignment", "roleAssignment"),
            default_odata_type=odata("deviceAndAppManagementRoleAssignment"),
            list_params=ListParams(expand="roleDefinition"),
            read_only_fields=frozenset({"roleScopeTags"}),
            # Bound on create (roleDefinition@odata.bind), never re-bound on update.
            write_excluded_fields=frozenset({"roleDefinition", "roleScopeTags"}),
            odata_binds=(ODataBind("roleDefinition", ROLE_DEFINITIONS),),
            reduce_expanded=(("roleDefinition", ("id",)),),
            assign=None,
            foundation_refs=(
                SCOPE_TAG_REF,
                FoundationRef("role_definition", "roleDefinition.id"),
                *_group_refs("members[]", "scopeMembers[]", "resourceScopes[]"),
            ),
            platform=PlatformRule(fixed="all"),
            required_permission=READ,
            write_permission=WRITE,
            modified_property=None,
            description="Who holds which Intune role (member groups), over which groups "
            "(scope groups) and scope tags.",
        ),
    ),
    collections=(
        CollectionRules(
            ROLE_DEFINITIONS,
            "role definition",
            READ,
            WRITE,
            entity_type=odata("deviceAndAppManagementRoleDefinition"),
            navigation={"roleAssignments": {"roleDefinition": {}}},
            versioned=False,
            has_version=False,
            has_created=False,
            read_only=("isBuiltInRoleDefinition", "permissions"),
            traits=frozenset({"role_definitions"}),
        ),
        CollectionRules(
            ROLE_ASSIGNMENTS,
            "role assignment",
            READ,
            WRITE,
            entity_type=odata("deviceAndAppManagementRoleAssignment"),
            navigation={"roleDefinition": {}, "roleScopeTags": {}},
            versioned=False,
            has_version=False,
            has_created=False,
            traits=frozenset({"role_assignments"}),
        ),
    ),
    builtin_objects=tuple(
        (ROLE_DEFINITIONS, _builtin_role(role_id, name, description))
        for role_id, name, description in BUILTIN_ROLES
    ),
)
