"""The collections the emulator serves and Graph's rules for each, as data.

The Intune collections come from the type modules (``tenantguard.intune.types``: each family's
``CollectionRules``); the directory ones (``organization``, ``groups``) are here. Behaviour
specific to one resource family is switched on by a *trait* name, handled in ``writes.py`` and
``tenant.py`` (``compliance_actions``, ``oma_secrets``, ``settings_catalog``,
``admin_templates``, ``app_protection``, ``scope_tags``).
"""

from __future__ import annotations

from tenantguard.intune import registry
from tenantguard.intune.typespec import UNSET_DATETIME, AssignContract, CollectionRules, NavTree

__all__ = ["UNSET_DATETIME", "AssignSpec", "NavTree", "ResourceSpec"]

ALL_DEVICES_ID = "adadadad-808e-44e2-905a-0b7873a8a531"
ALL_USERS_ID = "acacacac-9df4-4c7d-9d50-4ef0226f57a9"

TARGET_TYPES = frozenset(
    {
        "#microsoft.graph.groupAssignmentTarget",
        "#microsoft.graph.exclusionGroupAssignmentTarget",
        "#microsoft.graph.allDevicesAssignmentTarget",
        "#microsoft.graph.allLicensedUsersAssignmentTarget",
        "#microsoft.graph.configurationManagerCollectionAssignmentTarget",
    }
)


#: Graph's rules for a collection (``typespec.CollectionRules``, written by each type module).
ResourceSpec = CollectionRules
AssignSpec = AssignContract

# Directory (Entra) collections the emulator serves besides the Intune ones of the type modules.
_DIRECTORY_RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        # One object per tenant: seeded, or derived from the tenant id (reads.organization).
        "organization",
        "organization",
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        entity_type="#microsoft.graph.organization",
        directory=True,
        versioned=False,
        writable=False,
    ),
    ResourceSpec(
        "groups",
        "group",
        "Group.Read.All",
        "Group.ReadWrite.All",
        entity_type="#microsoft.graph.group",
        directory=True,
        versioned=False,
        page_size=100,
    ),
)

RESOURCES: tuple[ResourceSpec, ...] = (*registry.collection_rules(), *_DIRECTORY_RESOURCES)

BY_COLLECTION: dict[str, ResourceSpec] = {spec.collection: spec for spec in RESOURCES}

# GET-only union of the app protection collections, as Graph's managedAppPolicies.
MANAGED_APP_POLICIES = "deviceAppManagement/managedAppPolicies"
APP_PROTECTION_COLLECTIONS: tuple[str, ...] = tuple(
    spec.collection for spec in RESOURCES if "app_protection" in spec.traits
)

# Objects every fresh tenant has before seeding (from the type modules).
BUILTIN_OBJECTS: tuple[tuple[str, dict[str, object]], ...] = tuple(registry.builtin_objects())


def all_permissions() -> set[str]:
    names: set[str] = set()
    for spec in RESOURCES:
        names.add(spec.read_permission)
        names.add(spec.write_permission)
    return names
