"""Per-resource Graph rules, as data: paths, permissions, navigation, assign contract.

Behaviour that is specific to one resource family is switched on by a *trait* name, handled in
``writes.py`` and ``tenant.py`` (``compliance_actions``, ``oma_secrets``, ``settings_catalog``,
``admin_templates``, ``app_protection``, ``scope_tags``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NavTree = dict[str, "NavTree"]

CONFIG = "DeviceManagementConfiguration"
RBAC = "DeviceManagementRBAC"
SERVICE = "DeviceManagementServiceConfig"
APPS = "DeviceManagementApps"

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


@dataclass(frozen=True)
class AssignSpec:
    """``POST {id}/assign``: the body key holding the list and the success status.

    ``status`` 200 answers ``{"value": [...]}`` (the stored assignments), 204 answers nothing.
    """

    body_key: str
    status: int


@dataclass(frozen=True)
class ResourceSpec:
    collection: str
    noun: str
    read_permission: str
    write_permission: str
    navigation: NavTree = field(default_factory=dict)
    assign: AssignSpec | None = None
    # extra properties Graph stores on each assignment besides id and target
    assignment_fields: tuple[str, ...] = ("source", "sourceId")
    # POST {id}/{nav} creates one child (status 201)
    child_posts: frozenset[str] = frozenset()
    update_methods: frozenset[str] = frozenset({"PATCH"})
    writable: bool = True
    directory: bool = False  # Entra (directory) rather than Intune behaviour
    versioned: bool = True  # has version / lastModifiedDateTime maintained by the server
    # False: the type has lastModifiedDateTime but no ``version`` property (Graph's resource
    # page lists none, e.g. deviceManagementConfigurationPolicy, windowsDriverUpdateProfile).
    has_version: bool = True
    # Properties Graph fills in on an object created by POST or replaced by PUT when the body
    # does not carry them (read-only ones are never taken from a body), so a restored object
    # reads back like one made in the portal: ((name, value), ...), and per @odata.type.
    server_filled: tuple[tuple[str, object], ...] = ()
    type_server_filled: dict[str, tuple[tuple[str, object], ...]] = field(default_factory=dict)
    requires_odata_type: bool = False
    page_size: int | None = None  # None: EmulatorConfig.default_page_size
    max_page_size: int = 999
    nav_page_sizes: dict[str, int] = field(default_factory=dict)
    # Largest page ``$top`` (or ``top``) can ask of a navigation list (default: its page size).
    nav_max_page_sizes: dict[str, int] = field(default_factory=dict)
    list_nulls: tuple[str, ...] = ()  # properties a list answers as null (GET by id has them)
    read_only: tuple[str, ...] = ()  # ignored in write bodies besides the common ones
    traits: frozenset[str] = frozenset()

    @property
    def intune(self) -> bool:
        return not self.directory


def _dm(name: str) -> str:
    return f"deviceManagement/{name}"


# Intune's value for a DateTimeOffset that was never set (e.g. a pause that never started).
UNSET_DATETIME = "0001-01-01T00:00:00Z"
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

_ASSIGN_200 = AssignSpec("assignments", 200)
_ASSIGNMENTS: NavTree = {"assignments": {}}
_INTUNE_READ_ONLY = (
    "supportsScopeTags",
    "isAssigned",
    "creationSource",
    "settingCount",
    "highestAvailableVersion",
    "isGlobalScript",
    "isBuiltIn",
    "deployedAppCount",
)

RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        _dm("deviceConfigurations"),
        "device configuration",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
        navigation=_ASSIGNMENTS,
        assign=_ASSIGN_200,
        assignment_fields=("source", "sourceId", "intent"),
        requires_odata_type=True,
        read_only=tuple(name for name, _ in _UPDATE_RING_FILLED),
        server_filled=(("supportsScopeTags", True),),
        type_server_filled={
            "#microsoft.graph.windowsUpdateForBusinessConfiguration": _UPDATE_RING_FILLED
        },
        traits=frozenset({"oma_secrets"}),
    ),
    ResourceSpec(
        _dm("deviceCompliancePolicies"),
        "compliance policy",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
        navigation={
            "assignments": {},
            "scheduledActionsForRule": {"scheduledActionConfigurations": {}},
        },
        assign=_ASSIGN_200,
        requires_odata_type=True,
        traits=frozenset({"compliance_actions"}),
    ),
    ResourceSpec(
        _dm("configurationPolicies"),
        "configuration policy",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
        navigation={"assignments": {}, "settings": {}},
        assign=_ASSIGN_200,
        update_methods=frozenset({"PUT", "PATCH"}),
        page_size=25,
        max_page_size=25,
        nav_page_sizes={"settings": 25},
        # $top/top raises the settings page up to 1000 (what clients ask for: IntuneCD sends
        # top=1000, others $top=999/1000); more is capped and paged with a nextLink.
        nav_max_page_sizes={"settings": 1000},
        has_version=False,
        server_filled=(("creationSource", None), ("isAssigned", False)),
        traits=frozenset({"settings_catalog"}),
    ),
    ResourceSpec(
        _dm("deviceManagementScripts"),
        "device management script",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
        navigation=_ASSIGNMENTS,
        assign=AssignSpec("deviceManagementScriptAssignments", 204),
        assignment_fields=(),
        list_nulls=("scriptContent",),
    ),
    ResourceSpec(
        _dm("deviceHealthScripts"),
        "device health script",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
        navigation=_ASSIGNMENTS,
        assign=AssignSpec("deviceHealthScriptAssignments", 204),
        assignment_fields=(),
        list_nulls=("detectionScriptContent", "remediationScriptContent"),
    ),
    ResourceSpec(
        _dm("groupPolicyConfigurations"),
        "group policy configuration",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
        navigation={
            "assignments": {},
            "definitionValues": {"definition": {}, "presentationValues": {"presentation": {}}},
        },
        assign=_ASSIGN_200,
        child_posts=frozenset({"definitionValues"}),
        traits=frozenset({"admin_templates"}),
    ),
    ResourceSpec(
        _dm("windowsAutopilotDeploymentProfiles"),
        "Windows Autopilot deployment profile",
        f"{SERVICE}.Read.All",
        f"{SERVICE}.ReadWrite.All",
        navigation=_ASSIGNMENTS,
        assignment_fields=("source", "sourceId"),
        child_posts=frozenset({"assignments"}),
        requires_odata_type=True,
    ),
    ResourceSpec(
        _dm("windowsDriverUpdateProfiles"),
        "Windows driver update profile",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
        navigation=_ASSIGNMENTS,
        assign=_ASSIGN_200,
        has_version=False,
        read_only=tuple(name for name, _ in _DRIVER_PROFILE_FILLED),
        server_filled=_DRIVER_PROFILE_FILLED,
    ),
    ResourceSpec(
        _dm("windowsFeatureUpdateProfiles"),
        "Windows feature update profile",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
        navigation=_ASSIGNMENTS,
        assign=_ASSIGN_200,
    ),
    ResourceSpec(
        "deviceAppManagement/iosManagedAppProtections",
        "iOS app protection policy",
        f"{APPS}.Read.All",
        f"{APPS}.ReadWrite.All",
        navigation={"assignments": {}, "apps": {}},
        assign=AssignSpec("assignments", 204),
        server_filled=(("isAssigned", False),),
        traits=frozenset({"app_protection"}),
    ),
    ResourceSpec(
        "deviceAppManagement/androidManagedAppProtections",
        "Android app protection policy",
        f"{APPS}.Read.All",
        f"{APPS}.ReadWrite.All",
        navigation={"assignments": {}, "apps": {}},
        assign=AssignSpec("assignments", 204),
        server_filled=(("isAssigned", False),),
        traits=frozenset({"app_protection"}),
    ),
    ResourceSpec(
        _dm("roleScopeTags"),
        "role scope tag",
        f"{RBAC}.Read.All",
        f"{RBAC}.ReadWrite.All",
        navigation=_ASSIGNMENTS,
        traits=frozenset({"scope_tags"}),
    ),
    ResourceSpec(
        _dm("assignmentFilters"),
        "assignment filter",
        f"{CONFIG}.Read.All",
        f"{CONFIG}.ReadWrite.All",
    ),
    ResourceSpec(
        _dm("notificationMessageTemplates"),
        "notification message template",
        f"{SERVICE}.Read.All",
        f"{SERVICE}.ReadWrite.All",
        navigation={"localizedNotificationMessages": {}},
        child_posts=frozenset({"localizedNotificationMessages"}),
    ),
    ResourceSpec(
        _dm("deviceEnrollmentConfigurations"),
        "device enrollment configuration",
        f"{SERVICE}.Read.All",
        f"{SERVICE}.ReadWrite.All",
        navigation=_ASSIGNMENTS,
        writable=False,
    ),
    ResourceSpec(
        "identity/conditionalAccess/policies",
        "conditional access policy",
        "Policy.Read.All",
        "Policy.ReadWrite.ConditionalAccess",
        writable=False,
        versioned=False,
    ),
    ResourceSpec(
        # One object per tenant: seeded, or derived from the tenant id (reads.organization).
        "organization",
        "organization",
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        directory=True,
        versioned=False,
        writable=False,
    ),
    ResourceSpec(
        "groups",
        "group",
        "Group.Read.All",
        "Group.ReadWrite.All",
        directory=True,
        versioned=False,
        page_size=100,
    ),
)

BY_COLLECTION: dict[str, ResourceSpec] = {spec.collection: spec for spec in RESOURCES}

# GET-only union of the app protection collections, as Graph's managedAppPolicies.
MANAGED_APP_POLICIES = "deviceAppManagement/managedAppPolicies"
APP_PROTECTION_COLLECTIONS = (
    "deviceAppManagement/iosManagedAppProtections",
    "deviceAppManagement/androidManagedAppProtections",
)

# Objects every fresh tenant has before seeding.
BUILTIN_OBJECTS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        _dm("roleScopeTags"),
        {
            "@odata.type": "#microsoft.graph.roleScopeTag",
            "id": "0",
            "displayName": "Default",
            "description": "Default scope tag",
            "isBuiltIn": True,
            "assignments": [],
        },
    ),
    (
        _dm("deviceEnrollmentConfigurations"),
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
            "id": "00000000-0000-0000-0000-000000000000_DefaultLimit",
            "displayName": "All users and all devices",
            "description": "This is the default Device Limit Restriction applied with the "
            "lowest priority to all users regardless of group membership.",
            "priority": 0,
            "deviceEnrollmentConfigurationType": "limit",
            "limit": 15,
            "roleScopeTagIds": ["0"],
            "version": 1,
            "assignments": [],
        },
    ),
    (
        _dm("deviceEnrollmentConfigurations"),
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration",
            "id": "00000000-0000-0000-0000-000000000000_DefaultPlatformRestrictions",
            "displayName": "All users and all devices",
            "description": "This is the default Device Type Restriction applied with the "
            "lowest priority to all users regardless of group membership.",
            "priority": 0,
            "deviceEnrollmentConfigurationType": "platformRestrictions",
            "roleScopeTagIds": ["0"],
            "version": 1,
            "assignments": [],
        },
    ),
)


def all_permissions() -> set[str]:
    names: set[str] = set()
    for spec in RESOURCES:
        names.add(spec.read_permission)
        names.add(spec.write_permission)
    return names
