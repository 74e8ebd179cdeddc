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

from collections.abc import Iterable, Iterator, Mapping
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
    """Query parameters for listing a collection (``$expand`` / ``$select`` / ``$filter``).

    ``filter`` narrows the listing only (e.g. role definitions ``isBuiltIn eq false``: the
    built-in roles Microsoft maintains are not part of a backup); a GET of one object never
    sends it (``as_params(listing=False)``).
    """

    expand: str | None = None
    select: str | None = None
    filter: str | None = None

    def as_params(self, *, listing: bool = True) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.expand:
            params["$expand"] = self.expand
        if self.select:
            params["$select"] = self.select
        if self.filter and listing:
            params["$filter"] = self.filter
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
    "policySetItems",
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
    A segment ``**[key=value]`` stands for "this object, or any object nested in it at any
    depth, whose ``key`` equals ``value``" (the rest of the path continues from each such
    object): ``settings[].settingInstance.**[settingDefinitionId=X].simpleSettingValue.value``
    is the value of setting X wherever it sits among a settings catalog setting's children.
    ``in_assignments``: the path is relative to each assignment instead of the payload.
    Empty values, the all-zero GUID and the built-in scope tag ``"0"`` are not references.
    """

    foundation: FoundationKey
    path: str
    in_assignments: bool = False


def path_segments(path: str) -> list[str]:
    """A FoundationRef-style path split at its dots (dots inside ``[...]`` do not split)."""
    segments: list[str] = []
    current: list[str] = []
    depth = 0
    for char in path:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        if char == "." and depth == 0:
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    segments.append("".join(current))
    return segments


def deep_filter(segment: str) -> tuple[str, str] | None:
    """``"**[key=value]"`` -> ``("key", "value")``; any other segment -> ``None``."""
    if not (segment.startswith("**[") and segment.endswith("]")) or "=" not in segment:
        return None
    key, _, value = segment[3:-1].partition("=")
    return key, value


def deep_matches(node: Any, condition: tuple[str, str], where: str) -> Iterator[tuple[str, Any]]:
    """``(where, object)`` for ``node`` and every object nested in it (through objects and
    lists) whose ``condition[0]`` equals ``condition[1]``; ``where`` grows like a reference's
    location (``a.b[2].c``). A matching object is not searched further."""
    key, value = condition
    if isinstance(node, Mapping):
        if node.get(key) == value:
            yield where, node
            return
        for name, child in node.items():
            yield from deep_matches(child, condition, f"{where}.{name}" if where else name)
    elif isinstance(node, list):
        for index, element in enumerate(node):
            yield from deep_matches(element, condition, f"{where}[{index}]")


@dataclass(frozen=True)
class ODataBind:
    """A single-valued navigation written as ``{property}@odata.bind`` on create.

    The payload holds the referenced object as Graph expands it (``{"id": ...}``, e.g. a role
    assignment's ``roleDefinition``); the create body carries
    ``"{property}@odata.bind": "{graph}/{version}/{collection}('{id}')"`` instead. Graph cannot
    re-bind it on update: an update whose bound id differs from the target's is refused.
    """

    property: str
    collection: str


@dataclass(frozen=True)
class Singleton:
    """A type that is one object per tenant, not a collection (e.g. ``deviceManagement/
    settings``): read with ``GET {PolicyType.collection}``, written with ``PATCH
    {write_path}`` of ``{wrap_key: body}``, never created. ``source_id`` is the fixed id a
    backup gives it (the same in every tenant, so the target always matches by id)."""

    write_path: str
    wrap_key: str
    source_id: str
    display_name: str


@dataclass(frozen=True)
class CreateLimit:
    """Objects of a type (those of ``odata_types``; empty: all of the type) that TenantGuard
    never creates, with the reason an admin reads when such an item is missing in the target
    (e.g. an app whose uploaded content is not in any backup, or one synced from Apple or
    Google). When the target has the object, it is updated as usual (matched by id in its own
    tenant, else by type and name).

    ``written_properties``: when not ``None``, only these properties (besides ``@odata.type``)
    are compared and written; the rest belongs to the service the object is synced from.
    """

    reason: str
    odata_types: frozenset[str] = frozenset()
    written_properties: frozenset[str] | None = None

    def applies_to(self, obj: Mapping[str, Any]) -> bool:
        if not self.odata_types:
            return True
        odata_type = _odata_type_of(obj)
        return odata_type is not None and odata_type.lower() in _lower(self.odata_types)


@dataclass(frozen=True)
class CreateAction:
    """A type Graph creates through an action instead of ``POST {collection}`` (endpoint
    security intents: ``POST deviceManagement/templates/{templateId}/createInstance``).

    ``path`` (relative to the API version root) names payload properties in braces, filled in
    (URL-quoted) from the object being created. The body holds the write body's
    ``body_fields`` (those present), plus each ``renamed`` ``(payload property, body key)``
    (e.g. the intent's ``settings`` sent as ``settingsDelta``, child ids removed). The answer
    (``expected_status``) carries the created object with its ``id``.
    """

    path: str
    body_fields: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...] = ()
    expected_status: int = 200


@dataclass(frozen=True)
class ChildListAction:
    """A child list Graph writes only through an action of its object, never in a PATCH/PUT
    body: ``POST {item}/{action}`` with ``{body_key: [elements]}`` (server ids and timestamps
    removed). Sent on update when the list differs from the target's; with ``after_create``
    also right after the object is created (when the create body cannot carry it).

    ``merges``: the action adds and changes elements but never removes any (intent
    ``updateSettings``); elements the target has and the backup lacks are kept and reported.
    ``identity``: the element property that names an element for that report.
    """

    property: str
    action: str
    body_key: str
    after_create: bool = False
    merges: bool = False
    identity: str = "id"


@dataclass(frozen=True)
class MergedList:
    """A child list a restore only merges into the target's: it adds and changes elements
    (matched by ``identity``, a dotted path in an element) but never removes one the target
    has and the backup lacks: such elements are kept (a restore never deletes). The preview
    shows them as kept, not as removals, and verification expects them still there. See
    ``PolicyType.merge_only_lists`` (a merging ``ChildListAction`` is one too)."""

    property: str
    identity: str


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
class PriorityAction:
    """A priority Graph keeps out of the object's own writes (read-only in POST/PATCH bodies):
    set with ``POST {item}/{action}`` of ``{property: value}`` after a create or an update
    whose backup value differs from the target's (e.g. enrollment configurations'
    ``setPriority``). List the property in ``read_only_fields`` when moving one object
    renumbers the others (it then never shows as a difference, and is never sent in a body).
    Tenant defaults (``default_id_suffix``) keep theirs."""

    property: str = "priority"
    action: str = "setPriority"


@dataclass(frozen=True)
class ParentCollection:
    """A type whose objects live under each object of another collection: ``{collection}/
    {parent id}/{navigation}`` (e.g. Apple enrollment profiles under each DEP token). Capture
    lists the parents, then each parent's objects; a captured payload records its parent in
    ``PARENT_ID_KEY`` / ``PARENT_NAME_KEY`` (annotations: never compared, never written). A
    restore writes into the target parent with the same ``name_property`` value, or the only
    one; with none the object cannot be created (``missing_reason``)."""

    collection: str
    navigation: str
    name_property: str = "displayName"
    missing_reason: str = ""


#: Payload annotations a captured object of a nested type (``ParentCollection``) carries.
PARENT_ID_KEY: Final = "@tenantguard.parentId"
PARENT_NAME_KEY: Final = "@tenantguard.parentName"


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
    #: Navigations written as ``@odata.bind`` on create (see ``ODataBind``).
    odata_binds: tuple[ODataBind, ...] = ()
    #: One object per tenant (see ``Singleton``); ``None`` for a collection.
    singleton: Singleton | None = None
    #: Boolean property marking the tenant's own default object (e.g. the default Intune
    #: branding profile): it exists in every tenant, is matched to the target's default
    #: whatever its name, is never created and never matches a non-default object.
    default_flag: str | None = None
    #: Objects never created (and, for some, only partly written): see ``CreateLimit``. The
    #: first limit that applies to an object wins.
    create_limits: tuple[CreateLimit, ...] = ()
    #: Objects Microsoft provides in every tenant (e.g. ``appAvailability`` ``global`` apps):
    #: matched like any other, never written.
    builtin_when: PropertyPrefix | None = None
    #: Id suffix of the tenant's own default object of this type (Intune creates it with the
    #: tenant: ``<account id>_DefaultLimit``, priority 0): it is matched to the target's
    #: default by this suffix whatever its name or id prefix, never created, never assigned
    #: (Graph refuses), only updated.
    default_id_suffix: str | None = None
    #: How a priority Graph will not take in a body is written (see ``PriorityAction``).
    priority: PriorityAction | None = None
    #: The type lives under each object of another collection (see ``ParentCollection``).
    parent: ParentCollection | None = None
    #: Created through an action instead of ``POST {collection}`` (see ``CreateAction``).
    create_action: CreateAction | None = None
    #: Child lists written through an action of the object (see ``ChildListAction``); list
    #: them in ``write_excluded_fields`` too, so no create or update body carries them.
    child_list_actions: tuple[ChildListAction, ...] = ()
    #: Child lists written element by element, never removing any (see ``MergedList``), e.g.
    #: administrative template definition values (``updateDefinitionValues``, no deletions).
    merged_lists: tuple[MergedList, ...] = ()
    #: Properties removed when the object is captured, before anything is stored or compared:
    #: secrets a backup never holds (a VPP token's ``token``, an APNs ``certificate``). Only
    #: for preview-only types (a restore could not write them back).
    never_stored_fields: frozenset[str] = frozenset()

    @property
    def is_preview_only(self) -> bool:
        return self.restore_mode == "preview-only"

    @property
    def preview_only_why(self) -> str:
        """Why TenantGuard never writes this type (``""`` for a type it restores)."""
        if not self.is_preview_only:
            return ""
        return self.preview_only_reason or (
            "TenantGuard backs this type up and shows its differences but does not write it; "
            "apply the differences by hand in the admin center."
        )

    @property
    def merge_only_lists(self) -> tuple[MergedList, ...]:
        """Every child list a restore only merges into: ``merged_lists`` plus the lists of
        merging ``child_list_actions`` (e.g. intent ``updateSettings``)."""
        return self.merged_lists + tuple(
            MergedList(action.property, action.identity)
            for action in self.child_list_actions
            if action.merges
        )

    @property
    def all_read_only_fields(self) -> frozenset[str]:
        return COMMON_READ_ONLY_FIELDS | self.read_only_fields

    @property
    def item_path_template(self) -> str:
        """Path of one object (relative to the API version root), ``{id}`` to fill in."""
        return f"{self.collection}/{{id}}"

    def item_path(self, object_id: str) -> str:
        if self.singleton is not None:
            return self.collection
        return f"{self.collection}/{object_id}"

    def create_limit_for(self, obj: Mapping[str, Any] | None) -> CreateLimit | None:
        """The ``CreateLimit`` that applies to ``obj`` (``None``: it may be created)."""
        if obj is None:
            return None
        for limit in self.create_limits:
            if limit.applies_to(obj):
                return limit
        return None

    def is_tenant_default(self, obj: Mapping[str, Any] | str | None) -> bool:
        """``obj`` (an object, or its id) is the tenant's own default of this type
        (``default_id_suffix``; an object marked with ``default_flag`` too)."""
        if obj is None:
            return False
        if self.singleton is not None:  # the one object of the tenant (deviceManagement/settings)
            return True
        object_id = obj if isinstance(obj, str) else str(obj.get("id") or "")
        if isinstance(obj, Mapping) and self.default_flag and obj.get(self.default_flag) is True:
            return True
        suffix = self.default_id_suffix
        if not suffix:
            return False
        return object_id.lower().endswith(suffix.lower())

    def is_builtin(self, obj: Mapping[str, Any] | None) -> bool:
        """``obj`` is one of Microsoft's built-in objects of this type (``builtin_when``)."""
        if obj is None or self.builtin_when is None:
            return False
        value = _dotted_get(obj, self.builtin_when.path)
        starts = isinstance(value, str) and value.startswith(self.builtin_when.prefix)
        return starts != self.builtin_when.negate

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
    # False: the type has no ``createdDateTime`` either (msgraph-beta-sdk: deviceCategory,
    # roleDefinition, roleAssignment, roleScopeTag): the emulator never adds one.
    has_created: bool = True
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
    #: Other collections whose objects Graph also serves by id under this one (item paths only,
    #: never in its list): macOS shell and custom attribute scripts answer under
    #: ``deviceManagementScripts/{id}`` too (IntuneCD reads and assigns them there).
    id_aliases: tuple[str, ...] = ()
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
