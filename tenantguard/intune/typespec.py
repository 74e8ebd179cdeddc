"""The vocabulary a type module speaks: how one Intune type (or a family of types sharing a
Graph collection) is described as data.

Each module of ``tenantguard.intune.types`` builds a ``TypeFamily`` from these records: its
``PolicyType`` entries (how TenantGuard lists, fetches, strips, creates, updates and assigns the
type, its references, its list identities for the diff, its restore mode) and its
``CollectionRules`` (how Graph behaves for the collection: what the emulator reproduces).
``registry`` discovers the families; capture, normalize, the diff, the checks, the executor and
the emulator read them. Nothing here branches on a type name.

Graph facts used here are in ``../shared/reference/graph-intune.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

ODATA_PREFIX: Final = "#microsoft.graph."

RestoreMode = Literal["enabled", "preview-only"]
WriteMethod = Literal["POST", "PATCH", "PUT"]
Platform = Literal["windows", "macOS", "iOS", "android", "linux", "all"]

PERMISSION_CONFIGURATION: Final = "DeviceManagementConfiguration"
PERMISSION_RBAC: Final = "DeviceManagementRBAC"
PERMISSION_SERVICE_CONFIG: Final = "DeviceManagementServiceConfig"
PERMISSION_APPS: Final = "DeviceManagementApps"

#: Built-in "Default" scope tag: present in every tenant, never restored or mapped.
BUILTIN_SCOPE_TAG_ID: Final = "0"
#: ``notificationTemplateId`` value meaning "no notification template".
EMPTY_GUID: Final = "00000000-0000-0000-0000-000000000000"

#: Server-maintained properties stripped from every type before compare or write.
COMMON_READ_ONLY_FIELDS: Final = frozenset(
    {
        "id",
        "createdDateTime",
        "lastModifiedDateTime",
        "version",
        "supportsScopeTags",
        "settingCount",
        "creationSource",
        "isAssigned",
        "isBuiltIn",
        "isGlobalScript",
        "highestAvailableVersion",
    }
)


def odata(name: str) -> str:
    """``"windows10GeneralConfiguration"`` -> ``"#microsoft.graph.windows10GeneralConfiguration"``."""
    return ODATA_PREFIX + name


@dataclass(frozen=True)
class ListParams:
    """Query parameters for listing a collection (``$expand`` / ``$select``)."""

    expand: str | None = None
    select: str | None = None

    def as_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.expand:
            params["$expand"] = self.expand
        if self.select:
            params["$select"] = self.select
        return params


FetchKind = Literal[
    "settings",
    "scheduledActionsForRule",
    "scriptContent",
    "omaSecrets",
    "definitionValues",
    "localizedNotificationMessages",
    "assignments",
    "apps",
]


@dataclass(frozen=True)
class PerItemFetch:
    """Something capture must GET for each listed item (batched, 20 per ``$batch``).

    ``path`` is relative to the item (``{collection}/{id}/``); ``""`` means the item itself.
    ``merge_into`` names the payload property the result lands in (``None``: the response's
    properties are merged into the payload, for a GET of the item itself). With
    ``only_if_missing`` the fetch is skipped when the listed object already holds
    ``merge_into`` (it was expanded by the list). Collection responses follow
    ``@odata.nextLink``.
    """

    kind: FetchKind
    path: str
    merge_into: str | None
    params: tuple[tuple[str, str], ...] = ()
    only_if_missing: bool = True
    is_collection: bool = True
    #: Properties of a fetched item (``path == ""``) that are merged into the payload.
    merge_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssignSpec:
    """How assignments are written.

    Normal types: ``POST {collection}/{id}/{path}`` with ``{body_key: [...]}`` answered with
    ``expected_status``; the action replaces the whole list. With ``per_assignment`` (Autopilot)
    each assignment is a separate ``POST {collection}/{id}/{path}`` of ``{"target": ...}``.
    """

    path: str = "assign"
    body_key: str | None = "assignments"
    expected_status: int = 200
    per_assignment: bool = False


#: A reference kind key (``reference_kinds``): ``scope_tag``, ``assignment_filter``, ...
FoundationKey = str


@dataclass(frozen=True)
class FoundationRef:
    """Where an object refers to a foundation object by id.

    ``path`` uses dotted keys with ``[]`` for "each element": ``roleScopeTagIds[]``,
    ``scheduledActionsForRule[].scheduledActionConfigurations[].notificationTemplateId``.
    ``in_assignments``: the path is relative to each assignment instead of the payload.
    Empty values, the all-zero GUID and the built-in scope tag ``"0"`` are not references.
    """

    foundation: FoundationKey
    path: str
    in_assignments: bool = False


@dataclass(frozen=True)
class PropertyPrefix:
    """A discriminator on a property value: ``path`` (dotted) starts with ``prefix``.

    ``negate`` matches when it does not (a missing property never starts with anything).
    """

    path: str
    prefix: str
    negate: bool = False


@dataclass(frozen=True)
class SortRule:
    """A child list whose order Graph does not guarantee: sort it by ``keys`` (dotted paths)."""

    path: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class PlatformRule:
    """How to find an object's platform, tried in this order: ``fixed``; the ``property``
    value (e.g. settings catalog ``platforms``, filter ``platform``); the ``@odata.type``.
    Anything undetermined is ``"all"``."""

    fixed: Platform | None = None
    property: str | None = None
    from_odata_type: bool = True


@dataclass(frozen=True)
class PolicyType:
    key: str
    label: str
    category: str
    collection: str
    api_version: Literal["beta", "v1.0"] = "beta"
    #: ``@odata.type`` values that belong to this type. Empty: every object of the collection
    #: that no other type claims.
    odata_types: frozenset[str] = frozenset()
    #: ``@odata.type`` assumed when Graph omits it (it does for non-derived entity sets).
    default_odata_type: str | None = None
    discriminator: PropertyPrefix | None = None
    list_params: ListParams = ListParams()
    per_item_fetch: tuple[PerItemFetch, ...] = ()
    #: Stripped for compare and write, on top of ``COMMON_READ_ONLY_FIELDS``.
    read_only_fields: frozenset[str] = frozenset()
    #: Navigation properties the write body never carries (written separately or not at all).
    write_excluded_fields: frozenset[str] = frozenset()
    #: Navigation properties sent on create (deep insert) but not on update.
    create_only_fields: frozenset[str] = frozenset()
    #: Server ids of child objects, dropped for compare and write (paths as in FoundationRef).
    child_id_paths: tuple[str, ...] = ()
    #: Child lists sorted for compare.
    unordered_lists: tuple[SortRule, ...] = ()
    #: Sort nested settings-catalog ``children`` by ``settingDefinitionId`` for compare.
    sort_setting_children: bool = False
    #: Expanded reference objects reduced to these keys for compare (e.g. an admin template
    #: ``definition`` keeps ``id`` and ``displayName``, not its catalog text).
    reduce_expanded: tuple[tuple[str, tuple[str, ...]], ...] = ()
    create_method: WriteMethod = "POST"
    update_method: WriteMethod = "PATCH"
    assign: AssignSpec | None = AssignSpec()
    scope_tag_property: str | None = "roleScopeTagIds"
    foundation_refs: tuple[FoundationRef, ...] = ()
    platform: PlatformRule = PlatformRule()
    restore_mode: RestoreMode = "enabled"
    is_foundation: bool = False
    required_permission: str = PERMISSION_CONFIGURATION + ".Read.All"
    write_permission: str = PERMISSION_CONFIGURATION + ".ReadWrite.All"
    display_name_property: str = "displayName"
    modified_property: str | None = "lastModifiedDateTime"
    #: ``isEncrypted`` OMA-URI values are read with ``getOmaSettingPlainTextValue``.
    has_oma_secrets: bool = False
    description: str = ""
    #: Properties that identify an element of a child list for the diff (dotted paths, tried
    #: in order): the element is addressed by it instead of its position.
    list_identities: tuple[str, ...] = ()
    #: Why a preview-only type is never written (shown in the wizard).
    preview_only_reason: str = ""

    @property
    def is_preview_only(self) -> bool:
        return self.restore_mode == "preview-only"

    @property
    def all_read_only_fields(self) -> frozenset[str]:
        return COMMON_READ_ONLY_FIELDS | self.read_only_fields

    @property
    def item_path_template(self) -> str:
        """Path of one object (relative to the API version root), ``{id}`` to fill in."""
        return f"{self.collection}/{{id}}"

    def item_path(self, object_id: str) -> str:
        return f"{self.collection}/{object_id}"

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """True when ``obj`` (an object of ``self.collection``) belongs to this type."""
        if self.odata_types:
            odata_type = _odata_type_of(obj) or self.default_odata_type
            if odata_type is None or odata_type.lower() not in _lower(self.odata_types):
                return False
        if self.discriminator is not None:
            value = _dotted_get(obj, self.discriminator.path)
            starts = isinstance(value, str) and value.startswith(self.discriminator.prefix)
            if starts == self.discriminator.negate:
                return False
        return True


def _lower(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.lower() for value in values)


def _odata_type_of(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("@odata.type")
    if not isinstance(value, str) or not value:
        return None
    return value if value.startswith("#") else "#" + value


def _dotted_get(obj: Any, path: str) -> Any:
    current = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current




# --------------------------------------------------------------------------------------------
# Graph's rules for a collection (what the emulator reproduces)
# --------------------------------------------------------------------------------------------

NavTree = dict[str, "NavTree"]

#: Intune's value for a DateTimeOffset that was never set (e.g. a pause that never started).
UNSET_DATETIME: Final = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class AssignContract:
    """Graph's ``POST {id}/assign``: the body key holding the list and the success status.

    ``status`` 200 answers ``{"value": [...]}`` (the stored assignments), 204 answers nothing.
    """

    body_key: str
    status: int


@dataclass(frozen=True)
class CollectionRules:
    """How Graph behaves for one collection: paths, permissions, navigation, assign contract,
    the properties it fills in. The emulator serves every collection described here.

    Behaviour specific to one resource family is switched on by a *trait* name handled by the
    emulator (``compliance_actions``, ``oma_secrets``, ``settings_catalog``, ``admin_templates``,
    ``app_protection``, ``scope_tags``).
    """

    collection: str
    noun: str
    read_permission: str
    write_permission: str
    #: The collection's entity type (``#microsoft.graph.deviceConfiguration``): seed objects
    #: without ``@odata.context`` are placed by it, schema checks start from it.
    entity_type: str = ""
    navigation: NavTree = field(default_factory=dict)
    assign: AssignContract | None = None
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


@dataclass(frozen=True)
class TypeFamily:
    """Everything one module of ``tenantguard.intune.types`` says: its types (in restore order
    within the family), the Graph collections they live in, and the objects every fresh tenant
    already holds in those collections (the emulator loads them before any seed).

    ``order`` places the family among the others (foundations 0, then policies): capture and
    restore follow it. ``name`` is filled in by the registry with the module's name.
    """

    order: int
    types: tuple[PolicyType, ...]
    collections: tuple[CollectionRules, ...] = ()
    builtin_objects: tuple[tuple[str, dict[str, Any]], ...] = ()
    name: str = ""


# --------------------------------------------------------------------------------------------
# Shared building blocks for type modules
# --------------------------------------------------------------------------------------------

EXPAND_ASSIGNMENTS: Final = ListParams(expand="assignments")
SCOPE_TAG_REF: Final = FoundationRef("scope_tag", "roleScopeTagIds[]")
FILTER_REF: Final = FoundationRef(
    "assignment_filter", "target.deviceAndAppManagementAssignmentFilterId", in_assignments=True
)
STANDARD_REFS: Final = (SCOPE_TAG_REF, FILTER_REF)
FETCH_ITEM_ASSIGNMENTS: Final = PerItemFetch(
    kind="assignments", path="assignments", merge_into="assignments"
)
#: ``POST {id}/assign`` with ``{"assignments": [...]}`` answered 200 with the stored list.
ASSIGN_200: Final = AssignContract("assignments", 200)
ASSIGNMENTS_NAV: Final[NavTree] = {"assignments": {}}


def odata_types(*names: str) -> frozenset[str]:
    """``odata_types("a", "b")`` -> ``{"#microsoft.graph.a", "#microsoft.graph.b"}``."""
    return frozenset(odata(name) for name in names)


def dm(name: str) -> str:
    """``dm("deviceConfigurations")`` -> ``"deviceManagement/deviceConfigurations"``."""
    return f"deviceManagement/{name}"
