"""The words an Intune admin reads: check codes as sentences, types and platforms as the Intune
admin center names them, and the one name of each restore option.

No Django here (the CLI, the web pages and the reports import it). The codes stay the stable
identifiers (shown beside the sentence, used in filters and ``--json``); these are only words.

- ``check_title(code)``: a plain sentence for a check code (``checks.CHECK_CODES``), e.g.
  ``group_missing`` -> "A group the backup assigns to is missing in the target".
- ``skip_title(code)``: the same for a preview skip code (``diff.skip_code``).
- ``item_type_label(policy_type, payload)``: one item's type, singular, as the admin center
  shows it ("Settings catalog", "Compliance policy", "Endpoint security: Antivirus").
- ``platform_label(value)``: "Windows", "macOS", "iOS/iPadOS", "Android", "Linux"; Graph's
  flags (``"windows10,macOS"``) give "Windows, macOS".
- ``OPTION_NAMES``: the one name of each run option (web, API and CLI say the same).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

# --------------------------------------------------------------------------------------------
# Check codes
# --------------------------------------------------------------------------------------------

#: One sentence per check code (``restores.services.checks.CHECK_CODES``). A code missing here
#: fails ``tests/wizard/test_words.py``: add its sentence with the code.
CHECK_TITLES: Final[dict[str, str]] = {
    "target_missing": "The item does not exist in the target tenant",
    "target_newer_than_backup": "The target's copy changed after the backup was taken",
    "ambiguous_match": "Several objects in the target have the item's type and name",
    "group_missing": "A group the backup assigns to is missing in the target",
    "filter_missing": "An assignment filter the backup uses is missing in the target",
    "scope_tag_missing": "A scope tag the backup uses is missing in the target",
    "notification_template_missing": (
        "A notification message template the backup uses is missing in the target"
    ),
    "role_definition_missing": "An Intune role the backup assigns is missing in the target",
    "reusable_setting_missing": (
        "A reusable policy setting the backup uses is missing in the target"
    ),
    "compliance_script_missing": "A compliance script the backup uses is missing in the target",
    "mobile_app_missing": "An app the backup uses is missing in the target",
    "named_location_missing": "A named location the backup uses is missing in the target",
    "authentication_strength_missing": (
        "An authentication strength the backup requires is missing in the target"
    ),
    "vpp_token_missing": "An Apple VPP token the backup uses is missing in the target",
    "vpn_configuration_missing": "A per-app VPN profile the backup uses is missing in the target",
    "preview_only_type": "Shown in the preview only: TenantGuard never writes this type",
    "unsupported_type": "TenantGuard cannot restore this type",
    "broad_assignment": "Assigned to All users or All devices",
    "assignments_not_captured": (
        "The backup holds no assignments for this item: the target's stay as they are"
    ),
    "secret_value_missing": "A secret value is not in the backup",
    "secret_values_need_source_admin": (
        "Secret values from another tenant need an admin of that tenant"
    ),
    "source_tenant_identifier": "The item holds the source tenant's ID or domain names",
    "permission_limited": "Part of the target could not be read (missing permission)",
    "payload_integrity": "The stored backup item no longer matches its checksum",
    "safe": "Nothing to report",
}

#: One sentence per preview skip code (``restores.services.diff`` ``SKIP_*``).
SKIP_TITLES: Final[dict[str, str]] = {
    "unsupported_type": "TenantGuard cannot restore this type",
    "preview_only_type": "Shown in the preview only: TenantGuard never writes this type",
    "builtin_scope_tag": "Built-in scope tag: it exists in every tenant and is never written",
    "target_unreadable": "The target's objects of this type could not be read",
    "ambiguous_match": "Several objects in the target have the item's type and name",
    "blocked_by_check": "A blocking check stops this item",
    "create_missing_off": "Missing in the target and “Create missing objects” is off",
    "builtin_object": "Microsoft's own object: it exists in every tenant and is never written",
    "never_created": "Missing in the target and a restore cannot create it",
    "no_parent": "Missing in the target, which has no object to create it under",
    # the executor's own (``execute.py``): the target changed after the preview
    "changed_since_preview": "The target changed after the preview: run the preview again",
}


def _humanize_code(code: str) -> str:
    words = code.replace("-", "_").split("_")
    text = " ".join(word for word in words if word)
    return text[:1].upper() + text[1:] if text else "Unknown check"


def check_title(code: str) -> str:
    """A plain sentence for the check ``code`` (a reference kind's ``<kind>_missing`` code
    without a curated sentence is described from the kind; anything else is the code in
    words)."""
    title = CHECK_TITLES.get(code)
    if title is not None:
        return title
    if code.endswith("_missing"):
        kind = _reference_kind_for(code)
        if kind is not None:
            article = "An" if kind[:1].lower() in "aeiou" else "A"
            return f"{article} {kind} the backup uses is missing in the target"
    return _humanize_code(code)


def skip_title(code: str) -> str:
    """A plain sentence for a preview skip code (``diff["skip_code"]``)."""
    return SKIP_TITLES.get(code) or _humanize_code(code or "skipped")


def _reference_kind_for(code: str) -> str | None:
    """The singular name of the reference kind whose missing code is ``code``."""
    try:
        from tenantguard.intune import reference_kinds
    except ImportError:  # pragma: no cover - the package is always there
        return None
    for kind in reference_kinds.all_kinds():
        if kind.missing_code == code:
            return kind.singular
    return None


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------

#: One item's type, singular, as the Intune admin center names it (by ``PolicyType.key``).
#: A key not listed falls back to its registry label made singular.
ITEM_TYPE_LABELS: Final[dict[str, str]] = {
    "settings_catalog": "Settings catalog",
    "endpoint_security": "Endpoint security",
    "endpoint_security_intent": "Endpoint security (template)",
    "compliance_policy": "Compliance policy",
    "compliance_settings_catalog": "Compliance policy (settings catalog)",
    "compliance_script": "Compliance script",
    "device_configuration": "Device configuration profile",
    "custom_oma_uri": "Custom profile (OMA-URI)",
    "administrative_template": "Administrative template",
    "windows_update_ring": "Update ring for Windows 10 and later",
    "windows_feature_update_profile": "Feature update for Windows 10 and later",
    "windows_quality_update_profile": "Expedited quality update for Windows 10 and later",
    "windows_quality_update_policy": "Quality update for Windows 10 and later",
    "windows_driver_update_profile": "Driver update for Windows 10 and later",
    "powershell_script": "PowerShell script",
    "remediation_script": "Remediation",
    "macos_shell_script": "macOS shell script",
    "macos_custom_attribute_script": "macOS custom attribute",
    "app_configuration_device": "App configuration policy (managed devices)",
    "app_configuration_managed_app": "App configuration policy (managed apps)",
    "ios_app_protection": "App protection policy (iOS/iPadOS)",
    "android_app_protection": "App protection policy (Android)",
    "windows_app_protection": "App protection policy (Windows)",
    "mobile_app": "App",
    "autopilot_profile": "Windows Autopilot deployment profile",
    "enrollment_status_page": "Enrollment Status Page",
    "enrollment_limit": "Device limit restriction",
    "enrollment_platform_restrictions": "Device platform restriction (all platforms)",
    "enrollment_platform_restriction": "Device platform restriction",
    "windows_hello_enrollment": "Windows Hello for Business",
    "comanagement_authority": "Co-management setting",
    "enrollment_restriction": "Enrollment configuration",
    "dep_onboarding_setting": "Apple enrollment program token",
    "apple_enrollment_profile": "Apple enrollment profile",
    "scope_tag": "Scope tag",
    "assignment_filter": "Assignment filter",
    "notification_template": "Notification message template",
    "reusable_setting": "Reusable policy setting",
    "role_definition": "Intune role",
    "role_assignment": "Intune role assignment",
    "policy_set": "Policy set",
    "conditional_access": "Conditional Access policy",
    "named_location": "Named location",
    "authentication_strength": "Authentication strength",
    "device_category": "Device category",
    "terms_and_conditions": "Terms and conditions",
    "intune_branding_profile": "Company Portal branding profile",
    "apns_certificate": "Apple MDM push certificate",
    "vpp_token": "Apple VPP token",
    "managed_google_play": "Managed Google Play",
    "management_partner": "Device management partner",
    "remote_assistance_partner": "Remote assistance partner",
    "compliance_partner": "Compliance partner",
    "device_management_settings": "Tenant-wide device management settings",
    "unsupported": "Unsupported object",
}

#: Endpoint security families (``templateReference.templateFamily`` of a settings catalog
#: endpoint security policy: Graph's ``deviceManagementConfigurationTemplateFamily``) as the
#: admin center's Endpoint security blade names them.
ENDPOINT_SECURITY_FAMILIES: Final[dict[str, str]] = {
    "endpointSecurityAntivirus": "Antivirus",
    "endpointSecurityDiskEncryption": "Disk encryption",
    "endpointSecurityFirewall": "Firewall",
    "endpointSecurityEndpointDetectionAndResponse": "Endpoint detection and response",
    "endpointSecurityAttackSurfaceReduction": "Attack surface reduction",
    "endpointSecurityAccountProtection": "Account protection",
    "endpointSecurityApplicationControl": "App Control for Business",
    "endpointSecurityEndpointPrivilegeManagement": "Endpoint Privilege Management",
    "baseline": "Security baseline",
}

#: Template-based endpoint security (``intents``): the template's ``templateSubtype``
#: (Graph's ``deviceManagementTemplateSubtype``) as the admin center names the family.
INTENT_SUBTYPES: Final[dict[str, str]] = {
    "firewall": "Firewall",
    "diskEncryption": "Disk encryption",
    "attackSurfaceReduction": "Attack surface reduction",
    "endpointDetectionReponse": "Endpoint detection and response",  # Graph's own spelling
    "endpointDetectionResponse": "Endpoint detection and response",
    "accountProtection": "Account protection",
    "antivirus": "Antivirus",
    "firewallSharedAppList": "Firewall",
    "firewallSharedIpList": "Firewall",
    "firewallSharedPortlist": "Firewall",
}

#: Microsoft's template ids (the same in every tenant) whose family is known, for intents whose
#: payload carries only ``templateId``.
INTENT_TEMPLATE_FAMILIES: Final[dict[str, str]] = {
    "034ccd46-190c-4afc-adf1-ad7cc11262eb": "Security baseline",
    "d1174162-1dd2-4976-affc-6667049ab0ae": "Disk encryption",
    "4356d05c-a4ab-4a07-9ece-739f7c792910": "Firewall",
}


def _family_words(value: str) -> str:
    """An unknown family in words: ``endpointSecurityFooBar`` -> ``Foo bar``."""
    name = value.removeprefix("endpointSecurity") or value
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).split()
    text = " ".join(words).lower()
    return text[:1].upper() + text[1:]


def endpoint_security_family(payload: Mapping[str, Any] | None) -> str:
    """The endpoint security family of a policy or intent payload ("Antivirus"), ``""`` when
    the payload does not say."""
    if not isinstance(payload, Mapping):
        return ""
    reference = payload.get("templateReference")
    if isinstance(reference, Mapping):
        family = reference.get("templateFamily")
        if isinstance(family, str) and family and family != "none":
            return ENDPOINT_SECURITY_FAMILIES.get(family) or _family_words(family)
    for key in ("templateSubtype", "subtype"):
        subtype = payload.get(key)
        if isinstance(subtype, str) and subtype in INTENT_SUBTYPES:
            return INTENT_SUBTYPES[subtype]
    template = payload.get("template")
    if isinstance(template, Mapping):
        found = endpoint_security_family(
            {k: v for k, v in template.items() if k in ("templateSubtype", "subtype")}
        )
        if found:
            return found
        if str(template.get("templateType") or "").endswith("Baseline"):
            return "Security baseline"
    template_id = payload.get("templateId")
    if isinstance(template_id, str):
        return INTENT_TEMPLATE_FAMILIES.get(template_id.lower(), "")
    return ""


def type_label(policy_type: str) -> str:
    """A type's singular name (no payload): ``ITEM_TYPE_LABELS`` or the registry's label."""
    label = ITEM_TYPE_LABELS.get(policy_type)
    if label is not None:
        return label
    try:
        from tenantguard.intune import registry

        registry_label = registry.get(policy_type).label
    except (ImportError, KeyError, LookupError, ValueError):
        return _humanize_code(policy_type)
    return _singular(registry_label)


def types_label(policy_type: str) -> str:
    """A type's plural name as lists and tables head it ("Settings catalog", "Remediations"):
    the registry's label, or the key in words for a key no longer registered."""
    try:
        from tenantguard.intune import registry

        return registry.get(policy_type).label
    except (ImportError, KeyError, LookupError, ValueError):
        return _humanize_code(policy_type)


def singular_label(label: str) -> str:
    """A registry label (plural, e.g. "Remediations") as one item's type ("Remediation"): the
    type's ``ITEM_TYPE_LABELS`` entry when a registered type has this label."""
    try:
        from tenantguard.intune import registry

        key = next((t.key for t in registry.all_types() if t.label == label), None)
    except ImportError:  # pragma: no cover - the package is always there
        key = None
    if key is not None and key in ITEM_TYPE_LABELS:
        return ITEM_TYPE_LABELS[key]
    return _singular(label)


def _singular(label: str) -> str:
    head, paren, tail = label.partition(" (")
    if head.endswith("ies"):
        head = head[:-3] + "y"
    elif head.endswith("s") and not head.endswith("ss"):
        head = head[:-1]
    return head + paren + tail


def item_type_label(policy_type: str, payload: Mapping[str, Any] | None = None) -> str:
    """One item's type as the admin center names it: endpoint security by family
    ("Endpoint security: Antivirus"), intents by their template's family when known."""
    if policy_type in ("endpoint_security", "endpoint_security_intent", "settings_catalog"):
        family = endpoint_security_family(payload)
        if family == "Security baseline":
            return family
        if family and policy_type != "settings_catalog":
            return f"Endpoint security: {family}"
    return type_label(policy_type)


# --------------------------------------------------------------------------------------------
# Platforms
# --------------------------------------------------------------------------------------------

#: Platform words by prefix of the (lower-cased) value: TenantGuard's own ``Platform`` values
#: and Graph's (``deviceManagementConfigurationPlatforms``, ``platform`` of filters, odata
#: type names).
_PLATFORM_PREFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("windows", "Windows"),
    ("win", "Windows"),
    ("macos", "macOS"),
    ("mac", "macOS"),
    ("ios", "iOS/iPadOS"),
    ("ipad", "iOS/iPadOS"),
    ("android", "Android"),
    ("aosp", "Android"),
    ("linux", "Linux"),
    ("all", "All platforms"),
)


def platform_label(value: str) -> str:
    """``windows10AndLater`` -> "Windows", ``iOS`` -> "iOS/iPadOS", ``androidWorkProfile`` ->
    "Android"; several flags (``"windows10,macOS"``) -> "Windows, macOS"; ``none`` or empty ->
    "No platform"; anything unknown is kept as it is."""
    parts = [part.strip() for part in str(value or "").split(",") if part.strip()]
    if not parts or all(part.lower() in ("none", "unknown") for part in parts):
        return "No platform" if parts else "All platforms"
    labels: list[str] = []
    for part in parts:
        lowered = part.lower()
        label = next(
            (word for prefix, word in _PLATFORM_PREFIXES if lowered.startswith(prefix)), part
        )
        if lowered in ("none", "unknown"):
            continue
        if label not in labels:
            labels.append(label)
    return ", ".join(labels)


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------

#: The one name of each run option, everywhere (form labels, messages, API docs, CLI help).
OPTION_NAMES: Final[dict[str, str]] = {
    "create_missing": "Create missing objects",
    "include_assignments": "Restore assignments",
    "assignment_mode": "Assignment mode",
    "source_identifiers": "Source tenant IDs and domains",
}


# --------------------------------------------------------------------------------------------
# Repeated check results
# --------------------------------------------------------------------------------------------

#: Names listed before "and N more" in a shared-message group (the rest behind "show all").
NAMES_SHOWN: Final = 5


@dataclass(frozen=True)
class MessageGroup:
    """Results of one check code that say the same thing (their item's name aside): the
    message and resolution shown once, the items listed by name."""

    message: str
    resolution: str
    rows: tuple[Any, ...]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def names(self) -> list[str]:
        return [str(getattr(row, "item_name", "") or "Whole tenant") for row in self.rows]

    @property
    def names_shown(self) -> list[str]:
        return self.names[:NAMES_SHOWN]

    @property
    def names_hidden(self) -> int:
        return max(0, self.total - NAMES_SHOWN)


def shared_message(message: str, item_name: str) -> str:
    """``message`` with the item's quoted name taken out, so results that differ only by it
    compare equal: ``Scope tag 'A': no problems found; it matches 'A' in T`` -> ``Scope tag
    (each item listed): no problems found; it matches its counterpart in T``."""
    if not item_name:
        return message
    for quoted in (f"'{item_name}'", f"“{item_name}”"):
        if quoted in message:
            head, _, tail = message.partition(quoted)
            return head + "(each item listed)" + tail.replace(quoted, "its counterpart")
    return message


def group_results_by_message(rows: Iterable[Any]) -> list[MessageGroup]:
    """Rows (objects with ``item_name``, ``message``, ``resolution``) grouped by what they say,
    in the order first found. A group of one keeps its own message; a group of several shows
    the shared message (the item's name taken out) once."""
    grouped: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        key = (
            shared_message(str(row.message or ""), str(getattr(row, "item_name", "") or "")),
            str(getattr(row, "resolution", "") or ""),
        )
        grouped.setdefault(key, []).append(row)
    return [
        MessageGroup(
            message=key[0] if len(members) > 1 else str(members[0].message or ""),
            resolution=key[1],
            rows=tuple(members),
        )
        for key, members in grouped.items()
    ]
