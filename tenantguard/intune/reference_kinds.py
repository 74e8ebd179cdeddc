"""Reference kinds: the objects a policy points at by id, defined once, as data.

A reference kind is what a restore run's mapping is keyed by (``RestoreRun.group_mapping``),
what the checks report as missing, what the mapping editor lists and what the executor
rewrites. Everything that needs to know the kinds reads ``KINDS`` (through the functions
below) at call time; nothing else spells them out. Adding a kind = adding one ``ReferenceKind``
to ``KINDS`` (and, for a kind backed by a type, that type in its type module with the
``FoundationRef`` paths of the types that use it).

The backing type need not be a foundation. A run that has objects of a foundation type in scope
matches or creates them before anything that refers to them, so they resolve its references.
Objects of a type that is never written (preview-only: VPP tokens) or restored among the
policies (device configurations, written after the apps whose assignments name them) do not:
a reference to one is resolved only by the mapping or, restoring into the same tenant, by the
same id existing there (``references.restored_before_referrers``).

Where a kind occurs in an object:

- ``assignment_target_key``: a key of each assignment's ``target`` (``groupId``,
  ``deviceAndAppManagementAssignmentFilterId``), whatever the type;
- ``is_scope_tag``: the type's scope tag property (``PolicyType.scope_tag_property``, read
  through ``scope_tag_ids``);
- anywhere else: the payload paths of the type's ``foundation_refs`` whose ``foundation`` is the
  kind's key.

No Django, no I/O: pure data and lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

#: The all-zero GUID: "no filter", "no template". Never a reference (same value as
#: ``registry.EMPTY_GUID``; kept here so this module imports nothing).
EMPTY_GUID: Final = "00000000-0000-0000-0000-000000000000"
#: Intune's built-in scope tag ("Default"): the same id in every tenant, never a reference.
BUILTIN_SCOPE_TAG_ID: Final = "0"

#: What a mapping to ``None`` (the user's explicit "skip") does to a reference of a kind:
#: ``skip_assignment``: the assignments using it are left out; ``drop``: the value is left out
#: of its list (scope tags); ``empty_guid``: the value becomes the all-zero GUID ("none");
#: ``not_allowed``: the object cannot do without it (a role assignment without its role), so a
#: skip is ignored and the reference must be mapped or restored.
OnSkip = Literal["skip_assignment", "drop", "empty_guid", "not_allowed"]


@dataclass(frozen=True)
class ReferenceKind:
    """One kind of reference (see the module docstring)."""

    #: Mapping key, check details' ``kind``, ``FoundationRef.foundation``.
    key: str
    #: For people: "assignment filter" / "assignment filters".
    singular: str
    plural: str
    #: The registry type key of the objects it points at (matched or created by a run that has
    #: them in scope when that type is a written foundation: see the module docstring);
    #: ``None`` when the objects live elsewhere (Entra groups are in the directory, not in a
    #: backup type).
    foundation_type: str | None
    #: Code of the blocking check for a reference of this kind that is not resolved.
    missing_code: str
    #: How a check message says an object uses it: "Settings catalog 'X' {uses} group 'Y'".
    uses: str
    on_skip: OnSkip
    #: Occurs as a key of each assignment's ``target`` (``None``: not in assignments).
    assignment_target_key: str | None = None
    #: Occurs as the type's scope tag property.
    is_scope_tag: bool = False
    #: Values that are not references (also: any value that is not a string or number, and
    #: the ids of the foundation type's built-in objects, the same in every tenant: see
    #: ``references``).
    not_references: frozenset[str] = frozenset({"", EMPTY_GUID})
    #: The mapping editor: section title, "skip" button, how a skipped entry reads.
    title: str = ""
    skip_label: str = "Skip this reference"
    skipped_text: str = "left out"

    @property
    def is_foundation(self) -> bool:
        return self.foundation_type is not None

    @property
    def in_assignments(self) -> bool:
        return self.assignment_target_key is not None

    @property
    def section_title(self) -> str:
        return self.title or self.plural[:1].upper() + self.plural[1:]

    @property
    def can_skip(self) -> bool:
        return self.on_skip != "not_allowed"

    @property
    def skip_words(self) -> str:
        """How a check's resolution text offers the skip: "skip this assignment"."""
        if self.on_skip == "skip_assignment":
            return "skip this assignment"
        if self.on_skip == "not_allowed":
            return "remove the item from the scope in step 2"
        return f"skip this {self.singular}" if self.on_skip == "drop" else "skip this reference"

    def is_reference(self, value: Any) -> bool:
        """``value`` points at an object of this kind (not empty, not a "none" value)."""
        if not isinstance(value, str | int) or isinstance(value, bool):
            return False
        return str(value) not in self.not_references


#: Every reference kind, in the order people see them (mapping editor, API, messages).
KINDS: tuple[ReferenceKind, ...] = (
    ReferenceKind(
        key="group",
        singular="group",
        plural="groups",
        foundation_type=None,
        missing_code="group_missing",
        uses="is assigned to",
        on_skip="skip_assignment",
        assignment_target_key="groupId",
        skip_label="Skip its assignments",
        skipped_text="assignments skipped",
    ),
    ReferenceKind(
        key="assignment_filter",
        singular="assignment filter",
        plural="assignment filters",
        foundation_type="assignment_filter",
        missing_code="filter_missing",
        uses="has an assignment filtered by",
        on_skip="skip_assignment",
        assignment_target_key="deviceAndAppManagementAssignmentFilterId",
        skip_label="Skip its assignments",
        skipped_text="assignments skipped",
    ),
    ReferenceKind(
        key="scope_tag",
        singular="scope tag",
        plural="scope tags",
        foundation_type="scope_tag",
        missing_code="scope_tag_missing",
        uses="is tagged with",
        on_skip="drop",
        is_scope_tag=True,
        not_references=frozenset({"", EMPTY_GUID, BUILTIN_SCOPE_TAG_ID}),
        skip_label="Leave this scope tag out",
        skipped_text="left out",
    ),
    ReferenceKind(
        key="notification_template",
        singular="notification template",
        plural="notification templates",
        foundation_type="notification_template",
        missing_code="notification_template_missing",
        uses="notifies with",
        on_skip="empty_guid",
        title="Notification message templates",
        skip_label="Leave this notification out",
        skipped_text="left out (no notification)",
    ),
    ReferenceKind(
        # Role assignments name their role; Microsoft's built-in roles are the same in every
        # tenant (the type's built-in objects), so only custom roles are references.
        key="role_definition",
        singular="Intune role",
        plural="Intune roles",
        foundation_type="role_definition",
        missing_code="role_definition_missing",
        uses="assigns",
        on_skip="not_allowed",
        skip_label="",
        skipped_text="cannot be skipped",
    ),
    ReferenceKind(
        # Firewall rules (dynamic keyword address groups), device control (device groups) and
        # Linux compliance (discovery script) name reusable policy settings by id inside a
        # setting value; a policy written without the one it names would mean something else.
        key="reusable_setting",
        singular="reusable setting",
        plural="reusable settings",
        foundation_type="reusable_setting",
        missing_code="reusable_setting_missing",
        uses="uses",
        on_skip="not_allowed",
        title="Reusable policy settings",
        skip_label="",
        skipped_text="cannot be skipped",
    ),
    ReferenceKind(
        # A Windows compliance policy's custom compliance (deviceCompliancePolicyScript) names
        # its discovery script by id; its rules are meaningless without that script.
        key="compliance_script",
        singular="compliance script",
        plural="compliance scripts",
        foundation_type="compliance_script",
        missing_code="compliance_script_missing",
        uses="uses",
        on_skip="not_allowed",
        title="Compliance scripts",
        skip_label="",
        skipped_text="cannot be skipped",
    ),
    ReferenceKind(
        # App configuration (targetedMobileApps), enrollment status pages
        # (selectedMobileAppIds) and policy sets name apps (mobileApps) by id; a skipped app is
        # left out of the list that names it.
        key="mobile_app",
        singular="app",
        plural="apps",
        foundation_type="mobile_app",
        missing_code="mobile_app_missing",
        uses="uses",
        on_skip="drop",
        title="Apps",
        skip_label="Leave this app out",
        skipped_text="left out",
    ),
    ReferenceKind(
        # Conditional Access policies include or exclude named locations by id
        # (conditions.locations); "All" and "AllTrusted" are keywords, not locations.
        key="named_location",
        singular="named location",
        plural="named locations",
        foundation_type="named_location",
        missing_code="named_location_missing",
        uses="uses",
        on_skip="drop",
        not_references=frozenset({"", EMPTY_GUID, "All", "AllTrusted"}),
        skip_label="Leave this location out",
        skipped_text="left out",
    ),
    ReferenceKind(
        # A Conditional Access policy's grant control names its authentication strength;
        # Microsoft's built-in strengths are the same in every tenant (the type's built-in
        # objects), so only custom ones are references. Without it the policy would grant
        # access on weaker sign-ins: it cannot be skipped.
        key="authentication_strength",
        singular="authentication strength",
        plural="authentication strengths",
        foundation_type="authentication_strength",
        missing_code="authentication_strength_missing",
        uses="requires",
        on_skip="not_allowed",
        skip_label="",
        skipped_text="cannot be skipped",
    ),
    ReferenceKind(
        # An Apple enrollment profile's companyPortalVppTokenId: the VPP token Company Portal
        # is installed with. A token is Apple's, issued to one tenant and never written by
        # TenantGuard: the target's own token must be mapped. No skip: without it the profile
        # would install Company Portal another way (or not at all), which an admin decides.
        key="vpp_token",
        singular="VPP token",
        plural="VPP tokens",
        foundation_type="vpp_token",
        missing_code="vpp_token_missing",
        uses="installs Company Portal with",
        on_skip="not_allowed",
        title="Apple VPP tokens",
        skip_label="",
        skipped_text="cannot be skipped",
    ),
    ReferenceKind(
        # An iOS app assignment's settings.vpnConfigurationId: the per-app VPN profile (a
        # device configuration). Apps are restored before device configurations, so a profile
        # this run would create cannot be named yet. A skip leaves the assignment out (an app
        # assigned without its VPN would reach the network another way).
        key="vpn_configuration",
        singular="VPN profile",
        plural="VPN profiles",
        foundation_type="device_configuration",
        missing_code="vpn_configuration_missing",
        uses="is assigned with the per-app",
        on_skip="skip_assignment",
        title="Per-app VPN profiles",
        skip_label="Skip its assignments",
        skipped_text="assignments skipped",
    ),
)


def all_kinds() -> tuple[ReferenceKind, ...]:
    return KINDS


def keys() -> tuple[str, ...]:
    """Every kind's key (the mapping's keys), in order."""
    return tuple(kind.key for kind in KINDS)


def get(key: str) -> ReferenceKind:
    """The kind ``key``; ``KeyError`` names the known ones."""
    for kind in KINDS:
        if kind.key == key:
            return kind
    raise KeyError(f"Unknown reference kind {key!r}: known kinds are {', '.join(keys())}.")


def is_kind(key: str) -> bool:
    return any(kind.key == key for kind in KINDS)


def foundation_kinds() -> tuple[ReferenceKind, ...]:
    """Kinds backed by a foundation type (a run can match or create their objects)."""
    return tuple(kind for kind in KINDS if kind.foundation_type is not None)


def foundation_types() -> tuple[str, ...]:
    """Type keys of the foundation types references point at."""
    return tuple(kind.foundation_type for kind in KINDS if kind.foundation_type is not None)


def kind_of_type(type_key: str) -> ReferenceKind | None:
    """The kind whose objects are of foundation type ``type_key`` (``None``: not referenced)."""
    for kind in KINDS:
        if kind.foundation_type == type_key:
            return kind
    return None


def assignment_kinds() -> tuple[ReferenceKind, ...]:
    """Kinds that occur in assignment targets, in order."""
    return tuple(kind for kind in KINDS if kind.assignment_target_key is not None)


def scope_tag_kind() -> ReferenceKind | None:
    for kind in KINDS:
        if kind.is_scope_tag:
            return kind
    return None


def label(key: str) -> str:
    """``"assignment filter"``; an unknown key is shown as it is."""
    return get(key).singular if is_kind(key) else key


def is_reference(key: str, value: Any) -> bool:
    """``value`` is a reference of kind ``key`` (unknown kinds: not empty, not the zero GUID)."""
    if is_kind(key):
        return get(key).is_reference(value)
    if not isinstance(value, str | int) or isinstance(value, bool):
        return False
    return str(value) not in ("", EMPTY_GUID)


__all__ = [
    "BUILTIN_SCOPE_TAG_ID",
    "EMPTY_GUID",
    "KINDS",
    "OnSkip",
    "ReferenceKind",
    "all_kinds",
    "assignment_kinds",
    "foundation_kinds",
    "foundation_types",
    "get",
    "is_kind",
    "is_reference",
    "keys",
    "kind_of_type",
    "label",
    "scope_tag_kind",
]
