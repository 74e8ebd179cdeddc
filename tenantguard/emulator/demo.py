"""Demo data for the Graph emulator: the Contoso demo tenant, per-tenant copies of it, and drift.

The demo tenant is data, not code: ``seeds/demo/`` next to this module is a seed directory in the
documented format (README.md "Seed format": one Graph object per JSON file, as a Graph GET
returns it with its navigation properties expanded, with ``@odata.context``), one folder per
collection (``seeds/demo/deviceManagement/configurationPolicies/…json``), including the Entra
groups and the tenant's ``organization``. Those files are the canonical tenant
:data:`CANONICAL_LABEL` ("Contoso"). A file added there (a new Intune kind, a new policy) is part
of every demo tenant and of the benchmark tenant (``bench/bulk_tenant.py``) with no code change.

- :func:`demo_tenant_objects` gives the demo tenant for a label: the seed objects with every
  tenant-owned id re-derived from the label, so two demo tenants never share an id.
- :func:`demo_organization` / :func:`demo_tenant_domain`: that tenant's ``organization`` and
  initial domain.
- :func:`relabel_demo_objects` is the id mapping itself (also used by the bulk generator).
- :func:`write_seed_dir` writes objects as a seed directory (one JSON file per object).
- :func:`apply_demo_drift` changes an emulated demo tenant after a backup, so a restore has work.

What is re-derived per label (see :func:`relabel_demo_objects`): every GUID that is the ``id`` (or
part of a composite ``id`` such as ``T_<guid>`` or ``<policy>_<group>``) of an object or of a
nested item, wherever it appears in any string of the tenant (assignment targets, CA groups,
compliance notification templates, the Entra tenant id inside Windows Hello / OneDrive settings,
…), except Microsoft's catalog ids (anything under an ADMX ``definition`` / ``presentation``) and
the fixed all-devices / all-users ids; the custom scope-tag numbers (``roleScopeTagIds`` /
``roleScopeTags``); and the initial domain ``contoso.onmicrosoft.com``. No Django imports here.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import random
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from tenantguard.emulator.seed import SeedError, load_seed_dir
from tenantguard.intune import registry

__all__ = [
    "ALL_DEVICES_VIRTUAL_GROUP_ID",
    "ALL_USERS_VIRTUAL_GROUP_ID",
    "CANONICAL_LABEL",
    "DEMO_COLLECTIONS",
    "DEMO_SEED_DIR",
    "FOUNDATION_COLLECTIONS",
    "DemoTenant",
    "apply_demo_drift",
    "collection_of",
    "demo_organization",
    "demo_seed_objects",
    "demo_tenant_domain",
    "demo_tenant_objects",
    "relabel_demo_objects",
    "tenant_owned_ids",
    "write_seed_dir",
]

JSONDict = dict[str, Any]

GRAPH_V1 = "https://graph.microsoft.com/v1.0"

#: The checked-in demo tenant (one JSON file per object). Its files are the tenant "Contoso".
DEMO_SEED_DIR = Path(__file__).resolve().parent / "seeds" / "demo"
CANONICAL_LABEL = "Contoso"

# Collections (paths under the Graph version root).
GROUPS = "groups"
ORGANIZATION = "organization"
SCOPE_TAGS = "deviceManagement/roleScopeTags"
ASSIGNMENT_FILTERS = "deviceManagement/assignmentFilters"
NOTIFICATION_TEMPLATES = "deviceManagement/notificationMessageTemplates"
DEVICE_CONFIGURATIONS = "deviceManagement/deviceConfigurations"
COMPLIANCE_POLICIES = "deviceManagement/deviceCompliancePolicies"
CONFIGURATION_POLICIES = "deviceManagement/configurationPolicies"
GROUP_POLICY_CONFIGURATIONS = "deviceManagement/groupPolicyConfigurations"
SCRIPTS = "deviceManagement/deviceManagementScripts"
HEALTH_SCRIPTS = "deviceManagement/deviceHealthScripts"
IOS_APP_PROTECTIONS = "deviceAppManagement/iosManagedAppProtections"
ANDROID_APP_PROTECTIONS = "deviceAppManagement/androidManagedAppProtections"
AUTOPILOT_PROFILES = "deviceManagement/windowsAutopilotDeploymentProfiles"
DRIVER_UPDATE_PROFILES = "deviceManagement/windowsDriverUpdateProfiles"
FEATURE_UPDATE_PROFILES = "deviceManagement/windowsFeatureUpdateProfiles"
CONDITIONAL_ACCESS = "identity/conditionalAccess/policies"
ENROLLMENT_CONFIGURATIONS = "deviceManagement/deviceEnrollmentConfigurations"

#: What other objects reference; they come first in :func:`demo_tenant_objects`.
FOUNDATION_COLLECTIONS: tuple[str, ...] = (
    GROUPS,
    SCOPE_TAGS,
    ASSIGNMENT_FILTERS,
    NOTIFICATION_TEMPLATES,
)

#: Intune's well-known virtual group ids used in assignment ids of "all devices / all users".
ALL_DEVICES_VIRTUAL_GROUP_ID = "adadadad-808e-44e2-905a-0b7873a8a531"
ALL_USERS_VIRTUAL_GROUP_ID = "acacacac-9df4-4c7d-9d50-4ef0226f57a9"

_ID_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4b57-9a51-2f5e3c7d9b10")
_BASE_TIME = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Nested objects that are Microsoft's catalog (the same ids in every tenant), not the tenant's.
_CATALOG_KEYS = frozenset({"definition", "presentation"})
_SCOPE_TAG_KEYS = frozenset({"roleScopeTagIds", "roleScopeTags"})
# Objects Intune holds in every tenant (built-in roles, the default branding profile...) have the
# same id everywhere: a demo tenant refers to them, and overrides them, by that id.
_FIXED_IDS = frozenset(
    {
        ALL_DEVICES_VIRTUAL_GROUP_ID,
        ALL_USERS_VIRTUAL_GROUP_ID,
        *(str(obj["id"]).lower() for _, obj in registry.builtin_objects() if obj.get("id")),
    }
)

_CONTEXT_RE = re.compile(r"\$metadata#(?P<path>[^(]+?)(?:\(.*\))?(?:/\$entity)?$")


def collection_of(obj: JSONDict) -> str:
    """The collection path named by an object's ``@odata.context`` (expansions removed)."""
    context = obj.get("@odata.context")
    if not isinstance(context, str):
        raise ValueError(f"object {obj.get('id')!r} has no @odata.context")
    match = _CONTEXT_RE.search(context)
    if match is None:
        raise ValueError(f"cannot read a collection from @odata.context {context!r}")
    return match.group("path")


def _graph_time(moment: datetime) -> str:
    # Graph writes seven fractional digits and a literal Z.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


# --------------------------------------------------------------------------------------------
# The checked-in seed and its per-tenant copies
# --------------------------------------------------------------------------------------------


def _canonical() -> tuple[tuple[tuple[str, JSONDict], ...], JSONDict]:
    """The seed directory: (non-organization objects, foundations first, organization)."""
    return _load_seed(DEMO_SEED_DIR)


@functools.cache
def _load_seed(seed_dir: Path) -> tuple[tuple[tuple[str, JSONDict], ...], JSONDict]:
    # Loaded once per directory; callers never hand out these objects, only copies.
    loaded = load_seed_dir(seed_dir)
    organizations = [obj for collection, obj in loaded if collection == ORGANIZATION]
    if len(organizations) != 1:
        raise SeedError(
            f"{seed_dir}: the demo seed must hold exactly one organization object "
            f"(found {len(organizations)}); keep organization/{CANONICAL_LABEL}.json"
        )
    rank = {collection: index for index, collection in enumerate(FOUNDATION_COLLECTIONS)}
    objects = sorted(
        ((collection, obj) for collection, obj in loaded if collection != ORGANIZATION),
        key=lambda pair: rank.get(pair[0], len(rank)),  # stable: file order within a rank
    )
    return tuple(objects), organizations[0]


def demo_seed_objects() -> list[tuple[str, JSONDict]]:
    """The checked-in demo tenant (:data:`CANONICAL_LABEL`), foundations first, as fresh copies."""
    objects, organization = _canonical()
    return [(ORGANIZATION, copy.deepcopy(organization))] + [
        (collection, copy.deepcopy(obj)) for collection, obj in objects
    ]


def _initial_domain(organization: JSONDict) -> str:
    for domain in organization.get("verifiedDomains") or []:
        if domain.get("isInitial"):
            return str(domain["name"])
    raise SeedError(
        f"{DEMO_SEED_DIR}: the organization object has no verified domain with isInitial: true; "
        "add the tenant's <name>.onmicrosoft.com domain"
    )


def tenant_owned_ids(objects: Iterable[JSONDict]) -> set[str]:
    """GUIDs (lower case) that belong to the tenant: those in the ``id`` of an object or of any
    nested item (also inside composite ids), except catalog items and the virtual group ids."""
    owned: set[str] = set()

    def visit(node: Any, key: str | None) -> None:
        if isinstance(node, dict):
            if key in _CATALOG_KEYS:
                return
            value = node.get("id")
            if isinstance(value, str):
                owned.update(match.lower() for match in _GUID.findall(value))
            for child_key, child in node.items():
                visit(child, child_key)
        elif isinstance(node, list):
            for item in node:
                visit(item, key)

    for obj in objects:
        visit(obj, None)
    return owned - _FIXED_IDS


def _scope_tag_shift(label: str) -> int:
    # Intune scope-tag ids are small integers that differ between tenants, which is exactly what
    # a cross-tenant restore has to map. The canonical tenant keeps the checked-in numbers.
    if label == CANONICAL_LABEL:
        return 0
    return 10 * (1 + uuid.uuid5(_ID_NAMESPACE, f"{label}|scope-tags").int % 400)


def _group_sid(group_id: str) -> str:
    hex_id = group_id.replace("-", "")
    return "S-1-12-1-" + "-".join(str(int(hex_id[i : i + 8], 16)) for i in (0, 8, 16, 24))


def _rewrite(
    node: Any,
    *,
    ids: Mapping[str, str],
    tags: Mapping[str, str],
    domains: Mapping[str, str],
    key: str | None = None,
) -> Any:
    if isinstance(node, dict):
        return {k: _rewrite(v, ids=ids, tags=tags, domains=domains, key=k) for k, v in node.items()}
    if isinstance(node, list):
        if key in _SCOPE_TAG_KEYS:
            return [tags.get(item, item) if isinstance(item, str) else item for item in node]
        return [_rewrite(item, ids=ids, tags=tags, domains=domains) for item in node]
    if isinstance(node, str):
        text = node
        if ids and _GUID.search(text):
            text = _GUID.sub(lambda m: ids.get(m.group(0).lower(), m.group(0)), text)
        for old, new in domains.items():
            if old in text:
                text = text.replace(old, new)
        return text
    return node


def relabel_demo_objects(
    objects: Iterable[JSONDict],
    *,
    tenant_label: str,
    owned_ids: Iterable[str],
    scope_tag_ids: Iterable[str],
    domain: str,
) -> list[JSONDict]:
    """Copies of the canonical ``objects`` for ``tenant_label``: each GUID of ``owned_ids`` becomes
    ``uuid5(namespace, "<label>:<guid>")`` wherever it appears, each custom scope tag number
    of ``scope_tag_ids`` (referenced by ``roleScopeTagIds`` / ``roleScopeTags``) moves by a
    per-label offset, ``domain`` becomes the label's initial domain, and groups get the security
    identifier of their new id. The canonical label gives equal copies."""
    if tenant_label == CANONICAL_LABEL:
        ids: dict[str, str] = {}
        tags: dict[str, str] = {}
        domains: dict[str, str] = {}
    else:
        ids = {guid: str(uuid.uuid5(_ID_NAMESPACE, f"{tenant_label}:{guid}")) for guid in owned_ids}
        shift = _scope_tag_shift(tenant_label)
        tags = {tag: str(int(tag) + shift) for tag in scope_tag_ids if tag.isdigit()}
        domains = {domain: demo_tenant_domain(tenant_label)}
    result: list[JSONDict] = []
    for obj in objects:
        new = _rewrite(obj, ids=ids, tags=tags, domains=domains)
        if collection_of(new) == SCOPE_TAGS and new.get("id") in tags:
            new["id"] = tags[new["id"]]
        if collection_of(new) == GROUPS and str(new.get("securityIdentifier", "")).startswith(
            "S-1-12-1-"
        ):
            new["securityIdentifier"] = _group_sid(new["id"])
        result.append(new)
    return result


def _relabelled(tenant_label: str) -> tuple[list[JSONDict], JSONDict]:
    objects, organization = _canonical()
    everything = [organization, *(obj for _, obj in objects)]
    tags = [
        str(obj["id"])
        for collection, obj in objects
        if collection == SCOPE_TAGS and not obj.get("isBuiltIn")
    ]
    relabelled = relabel_demo_objects(
        everything,
        tenant_label=tenant_label,
        owned_ids=tenant_owned_ids(everything),
        scope_tag_ids=tags,
        domain=_initial_domain(organization),
    )
    new_organization = relabelled[0]
    new_organization["displayName"] = tenant_label
    return relabelled[1:], new_organization


def demo_tenant_domain(tenant_label: str) -> str:
    """The demo tenant's initial domain: ``Contoso Test`` -> ``contoso-test.onmicrosoft.com``."""
    slug = re.sub(r"[^a-z0-9-]", "", tenant_label.lower().replace(" ", "-")) or "tenant"
    return f"{slug}.onmicrosoft.com"


def demo_organization(*, tenant_label: str) -> JSONDict:
    """The demo tenant's Graph ``organization`` (seed format): the Entra tenant id its Windows
    Hello for Business and OneDrive policies carry, and its initial domain, so a restore into
    the other demo tenant meets the source tenant's own identifiers as it would for real."""
    return _relabelled(tenant_label)[1]


_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$")


def _shift_timestamps(obj: JSONDict, minutes: int) -> None:
    """Move the object's own ``…DateTime`` stamps ``minutes`` back (format kept; Graph's
    ``0001-01-01T00:00:00Z`` "never" stays)."""
    for key, value in obj.items():
        if not key.endswith("DateTime") or not isinstance(value, str):
            continue
        match = _TIMESTAMP.match(value)
        if match is None or value.startswith("0001-"):
            continue
        moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S") - timedelta(minutes=minutes)
        obj[key] = moment.strftime("%Y-%m-%dT%H:%M:%S") + (match.group(2) or "") + "Z"


def demo_tenant_objects(*, tenant_label: str, seed: int) -> list[JSONDict]:
    """The demo tenant for ``tenant_label`` as Graph GET objects in seed format, foundations
    (groups, scope tags, assignment filters, notification templates) first.

    Read from ``seeds/demo/`` (every file there, the organization aside: see
    :func:`demo_organization`). Ids depend only on ``tenant_label`` (the files are
    :data:`CANONICAL_LABEL`'s); ``seed`` moves every object's own timestamps back by the same
    deterministic number of minutes (up to two weeks), never ids or content.
    """
    objects = _relabelled(tenant_label)[0]
    minutes = random.Random(seed).randint(0, 14 * 24 * 60)
    for obj in objects:
        _shift_timestamps(obj, minutes)
    return objects


#: Every collection the demo tenant fills, in seed order (foundations first).
DEMO_COLLECTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(collection for collection, _ in _canonical()[0])
)


# --------------------------------------------------------------------------------------------
# Seed directory
# --------------------------------------------------------------------------------------------

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._() -]+")


def _safe_name(text: str) -> str:
    cleaned = _UNSAFE_CHARS.sub("_", text).strip(" ._")
    return cleaned[:120] or "object"


def write_seed_dir(objects: Iterable[JSONDict], directory: Path) -> list[Path]:
    """Write one JSON file per object into ``directory`` (created if needed); return the paths.

    File names are ``<collection leaf> - <displayName or name>.json``, made filesystem-safe and
    unique (``~2``, ``~3`` … for repeats).
    """
    directory.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    written: list[Path] = []
    for obj in objects:
        leaf = collection_of(obj).rsplit("/", 1)[-1]
        title = obj.get("displayName") or obj.get("name") or obj.get("id") or "object"
        stem = _safe_name(f"{leaf} - {title}")
        candidate, counter = stem, 1
        while candidate.lower() in used:
            counter += 1
            candidate = f"{stem}~{counter}"
        used.add(candidate.lower())
        path = directory / f"{candidate}.json"
        path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------
# Drift
# --------------------------------------------------------------------------------------------


class DemoTenant(Protocol):
    """The Python-side surface of an emulated tenant that drift needs (architecture.md §2)."""

    def get_object(self, collection: str, object_id: str) -> JSONDict | None: ...

    def list_objects(self, collection: str) -> list[JSONDict]: ...

    def put_object(self, collection: str, obj: JSONDict) -> Any: ...

    def delete_object(self, collection: str, object_id: str) -> Any: ...


_TYPE_LABELS = {
    DEVICE_CONFIGURATIONS: "device configuration",
    COMPLIANCE_POLICIES: "compliance policy",
    CONFIGURATION_POLICIES: "settings catalog policy",
    GROUP_POLICY_CONFIGURATIONS: "administrative template",
    SCRIPTS: "PowerShell script",
    HEALTH_SCRIPTS: "remediation script",
    IOS_APP_PROTECTIONS: "iOS app protection policy",
    ANDROID_APP_PROTECTIONS: "Android app protection policy",
    AUTOPILOT_PROFILES: "Autopilot profile",
    DRIVER_UPDATE_PROFILES: "driver update profile",
    FEATURE_UPDATE_PROFILES: "feature update profile",
    ASSIGNMENT_FILTERS: "assignment filter",
    NOTIFICATION_TEMPLATES: "notification template",
}

_GROUP_TARGET = "#microsoft.graph.groupAssignmentTarget"
_EXCLUSION_TARGET = "#microsoft.graph.exclusionGroupAssignmentTarget"

# Assignment entity shape per collection: which of source/sourceId it carries.
_ASSIGNMENT_WITH_SOURCE = {
    COMPLIANCE_POLICIES,
    CONFIGURATION_POLICIES,
    IOS_APP_PROTECTIONS,
    ANDROID_APP_PROTECTIONS,
    AUTOPILOT_PROFILES,
    ENROLLMENT_CONFIGURATIONS,
    DEVICE_CONFIGURATIONS,
}

_EDGE = "device_vendor_msft_policy_config_microsoft_edge~policy~microsoft_edge"


class _Drift:
    def __init__(self, tenant: DemoTenant, *, seed: int) -> None:
        self.tenant = tenant
        self.rng = random.Random(seed)
        self.changes: list[str] = []
        self.now = _BASE_TIME + timedelta(days=2, minutes=self.rng.randint(0, 600))

    def find(self, collection: str, title: str) -> JSONDict:
        for listed in self.tenant.list_objects(collection):
            if listed.get("displayName") == title or listed.get("name") == title:
                full = self.tenant.get_object(collection, listed["id"])
                return copy.deepcopy(full if full is not None else listed)
        raise LookupError(
            f"demo drift expects {_TYPE_LABELS.get(collection, collection)} {title!r} in the "
            "tenant; seed it with demo_tenant_objects() first"
        )

    def group_id(self, name: str) -> str:
        for group in self.tenant.list_objects(GROUPS):
            if group.get("displayName") == name:
                return str(group["id"])
        raise LookupError(f"demo drift expects group {name!r} in the tenant")

    def tag_id(self, name: str) -> str:
        for tag in self.tenant.list_objects(SCOPE_TAGS):
            if tag.get("displayName") == name:
                return str(tag["id"])
        raise LookupError(f"demo drift expects scope tag {name!r} in the tenant")

    def save(self, collection: str, obj: JSONDict) -> None:
        self.now += timedelta(minutes=self.rng.randint(3, 47), seconds=self.rng.randint(0, 59))
        if "lastModifiedDateTime" in obj:
            obj["lastModifiedDateTime"] = _graph_time(self.now)
        version = obj.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            obj["version"] = version + 1
        elif isinstance(version, str) and collection in (
            IOS_APP_PROTECTIONS,
            ANDROID_APP_PROTECTIONS,
        ):
            token = uuid.uuid5(_ID_NAMESPACE, f"{obj['id']}|{self.now.isoformat()}").hex
            obj["version"] = f'"{token[:8]}-0000-0d00-0000-{token[8:20]}"'
        self.tenant.put_object(collection, obj)

    def delete(self, collection: str, title: str) -> None:
        obj = self.find(collection, title)
        self.tenant.delete_object(collection, obj["id"])
        self.changes.append(f"Deleted {_TYPE_LABELS[collection]} '{title}'")

    def retarget(self, collection: str, obj: JSONDict, targets: list[JSONDict]) -> None:
        policy_id = obj["id"]
        assignments: list[JSONDict] = []
        for target in targets:
            group_id = target.get("groupId") or (
                ALL_DEVICES_VIRTUAL_GROUP_ID
                if target["@odata.type"].endswith("allDevicesAssignmentTarget")
                else ALL_USERS_VIRTUAL_GROUP_ID
            )
            item: JSONDict = {"id": f"{policy_id}_{group_id}"}
            if collection in _ASSIGNMENT_WITH_SOURCE:
                item.update({"source": "direct", "sourceId": policy_id})
            if collection == DEVICE_CONFIGURATIONS:
                item["intent"] = "apply"
            item["target"] = target
            assignments.append(item)
        obj["assignments"] = assignments


def _group_target(group_id: str, *, exclude: bool = False) -> JSONDict:
    return {
        "@odata.type": _EXCLUSION_TARGET if exclude else _GROUP_TARGET,
        "deviceAndAppManagementAssignmentFilterId": None,
        "deviceAndAppManagementAssignmentFilterType": "none",
        "groupId": group_id,
    }


def _walk_instances(instances: Iterable[JSONDict]) -> Iterable[JSONDict]:
    for instance in instances:
        yield instance
        choice = instance.get("choiceSettingValue")
        if isinstance(choice, dict):
            yield from _walk_instances(choice.get("children") or [])
        for group in instance.get("groupSettingCollectionValue") or []:
            yield from _walk_instances(group.get("children") or [])


def apply_demo_drift(tenant: DemoTenant, *, seed: int) -> list[str]:
    """Change a demo tenant the way admins do after a backup; return what changed, in words.

    Deletes four objects of different types, edits four settings, re-assigns three policies and
    re-tags two, bumping ``lastModifiedDateTime`` / ``version`` like Intune does. The tenant must
    have been seeded with :func:`demo_tenant_objects` (objects are found by name, so the seed
    files under ``seeds/demo/`` must keep them). ``seed`` varies the new values slightly.
    """
    d = _Drift(tenant, seed=seed)

    # -- deletions (four types) --
    d.delete(CONFIGURATION_POLICIES, "macOS - SC - Microsoft AutoUpdate")
    d.delete(SCRIPTS, "WIN - PS - Map Finance printers")
    d.delete(DEVICE_CONFIGURATIONS, "iOS - Wi-Fi - Contoso-Guest")
    d.delete(ANDROID_APP_PROTECTIONS, "Android - APP - EMEA")

    # -- setting changes --
    edge = d.find(CONFIGURATION_POLICIES, "WIN - SC - Microsoft Edge - Security")
    target_definition = f"{_EDGE}_sslerroroverrideallowed"
    for instance in _walk_instances(s["settingInstance"] for s in edge.get("settings") or []):
        if instance.get("settingDefinitionId") == target_definition:
            instance["choiceSettingValue"]["value"] = f"{target_definition}_1"
            break
    else:
        raise LookupError("demo drift: Edge policy lost its SSL error override setting")
    d.save(CONFIGURATION_POLICIES, edge)
    d.changes.append(
        "Changed settings catalog policy 'WIN - SC - Microsoft Edge - Security': "
        "'Allow users to proceed from the HTTPS warning page' disabled -> enabled"
    )

    compliance = d.find(COMPLIANCE_POLICIES, "WIN - Compliance - Baseline")
    old_os = compliance.get("osMinimumVersion")
    compliance["osMinimumVersion"] = d.rng.choice(["10.0.19045", "10.0.19044"])
    d.save(COMPLIANCE_POLICIES, compliance)
    d.changes.append(
        "Changed compliance policy 'WIN - Compliance - Baseline': minimum OS version "
        f"{old_os} -> {compliance['osMinimumVersion']}"
    )

    ring = d.find(DEVICE_CONFIGURATIONS, "WIN - Update Ring - Broad")
    old_deferral = ring.get("qualityUpdatesDeferralPeriodInDays")
    ring["qualityUpdatesDeferralPeriodInDays"] = d.rng.choice([21, 28, 30])
    ring["featureUpdatesDeferralPeriodInDays"] = 180
    d.save(DEVICE_CONFIGURATIONS, ring)
    d.changes.append(
        "Changed device configuration 'WIN - Update Ring - Broad': quality update deferral "
        f"{old_deferral} -> {ring['qualityUpdatesDeferralPeriodInDays']} days, feature update "
        "deferral -> 180 days"
    )

    remediation = d.find(HEALTH_SCRIPTS, "WIN - Remediation - Free disk space")
    detection = base64.b64decode(remediation.get("detectionScriptContent") or "").decode("utf-8")
    if "-lt 10" not in detection:
        raise LookupError(
            "demo drift: the detection script of 'WIN - Remediation - Free disk space' no longer "
            "holds its '-lt 10' free-space threshold; restore the seed file"
        )
    detection = (
        detection.replace("-lt 10", "-lt 2") + "# threshold lowered during incident INC-4711\n"
    )
    remediation["detectionScriptContent"] = base64.b64encode(detection.encode("utf-8")).decode()
    d.save(HEALTH_SCRIPTS, remediation)
    d.changes.append(
        "Changed remediation script 'WIN - Remediation - Free disk space': detection script "
        "content edited (free-space threshold 10 GB -> 2 GB)"
    )

    # -- re-assignments --
    pilot_ring = d.find(DEVICE_CONFIGURATIONS, "WIN - Update Ring - Pilot")
    d.retarget(
        DEVICE_CONFIGURATIONS,
        pilot_ring,
        [_group_target(d.group_id("SG-Intune-Windows-Broad"))],
    )
    d.save(DEVICE_CONFIGURATIONS, pilot_ring)
    d.changes.append(
        "Re-assigned device configuration 'WIN - Update Ring - Pilot': now targets "
        "SG-Intune-Windows-Broad instead of SG-Intune-Windows-Pilot and SG-Update-Ring-Fast"
    )

    bitlocker = d.find(CONFIGURATION_POLICIES, "ES - Disk Encryption - BitLocker")
    kept = [
        a["target"]
        for a in bitlocker.get("assignments") or []
        if not a["target"]["@odata.type"].endswith("exclusionGroupAssignmentTarget")
    ]
    d.retarget(CONFIGURATION_POLICIES, bitlocker, kept)
    d.save(CONFIGURATION_POLICIES, bitlocker)
    d.changes.append(
        "Re-assigned settings catalog policy 'ES - Disk Encryption - BitLocker': exclusion of "
        "SG-Kiosk-Exclusions removed"
    )

    wallpaper = d.find(SCRIPTS, "WIN - PS - Set Contoso wallpaper")
    d.retarget(
        SCRIPTS,
        wallpaper,
        [
            _group_target(d.group_id("SG-Intune-Windows-Pilot")),
            _group_target(d.group_id("SG-Developers"), exclude=True),
        ],
    )
    d.save(SCRIPTS, wallpaper)
    d.changes.append(
        "Re-assigned PowerShell script 'WIN - PS - Set Contoso wallpaper': now SG-Intune-Windows-"
        "Pilot (was SG-Intune-Windows-Broad), excludes SG-Developers instead of SG-Kiosk-Exclusions"
    )

    # -- scope tags --
    restrictions = d.find(DEVICE_CONFIGURATIONS, "WIN - Device Restrictions - General")
    restrictions["roleScopeTagIds"] = [d.tag_id("Default"), d.tag_id("EMEA")]
    d.save(DEVICE_CONFIGURATIONS, restrictions)
    d.changes.append(
        "Re-tagged device configuration 'WIN - Device Restrictions - General': scope tags "
        "Default -> Default, EMEA"
    )

    ios_app = d.find(IOS_APP_PROTECTIONS, "iOS - APP - Finance")
    ios_app["roleScopeTagIds"] = [d.tag_id("Default")]
    d.save(IOS_APP_PROTECTIONS, ios_app)
    d.changes.append(
        "Re-tagged iOS app protection policy 'iOS - APP - Finance': scope tags Finance -> Default"
    )
    return d.changes
