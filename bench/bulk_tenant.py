"""A benchmark-sized tenant cloned from the demo seed (``tenantguard/emulator/seeds/demo/``).

``generate_bulk_objects(count=, seed=, tenant_label=)`` returns ``count`` policy objects plus the
foundations they reference, in the seed format (one Graph GET object each, with
``@odata.context``), ready for ``GraphEmulator.add_tenant(seed_objects=...)``, ``put_object`` or
``write_seed_dir``:

- foundations: the demo tenant's groups and the objects the registry restores first (scope
  tags, assignment filters, notification templates, reusable settings, role definitions…) for
  ``tenant_label`` (:func:`tenantguard.emulator.demo.demo_tenant_objects`), plus
  :data:`BULK_GROUP_COUNT` Entra groups cloned from the demo groups;
- policies: first the demo tenant's own *clonable* objects (every kind the seed directory holds
  that a restore can create, objects they reference before the objects referencing them), then
  clones of them drawn at random, so the mix follows the demo tenant's proportions and a kind
  whose seed files are added joins the mix with no code change. Each clone gets fresh ids
  (``uuid5`` of the label, its index and the demo id, for the object and every nested item), a
  unique name (``<demo name> - <dept> <region> #<index>``) and its group assignments moved to
  bulk groups (assignment ids follow); filters, scope tags, notification templates and the
  other objects it references (apps of a policy set, reusable settings, role definitions…) stay
  the demo tenant's, which the result holds.

Clonable (the registry decides, ``tenantguard.intune``): a writable, non-foundation,
non-singleton type (preview-only types such as Conditional Access, built-in objects, the
tenant's default objects and objects TenantGuard never creates are left out: a restore could
not put them back), in a collection the emulator writes, with an ``id``, referencing only
clonable objects.

Deterministic for a given ``(count, seed, tenant_label)``. Tests import it as
``bench.bulk_tenant`` (pyproject's pytest ``pythonpath`` holds the repository root); the
benchmark scripts as ``bulk_tenant`` (their own folder is on ``sys.path``). Organization objects
are not part of the result (the emulator derives one from the tenant id).
"""

from __future__ import annotations

import copy
import json
import random
import re
import uuid
from dataclasses import dataclass
from typing import Any

from tenantguard.emulator.demo import (
    FOUNDATION_COLLECTIONS,
    GROUPS,
    collection_of,
    demo_organization,
    demo_tenant_objects,
    tenant_owned_ids,
)
from tenantguard.emulator.resources import BY_COLLECTION
from tenantguard.intune import registry, write

__all__ = [
    "BULK_GROUP_COUNT",
    "bulk_foundation_collections",
    "bulk_originals",
    "generate_bulk_objects",
]

JSONDict = dict[str, Any]

BULK_GROUP_COUNT = 120
_NAMESPACE = uuid.UUID("0d6f3b8e-52a4-4c1e-9f0b-7a4e21c9d5a3")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DEPARTMENTS = (
    "Finance",
    "HR",
    "Sales",
    "Marketing",
    "Engineering",
    "Legal",
    "Operations",
    "Support",
    "Research",
    "Retail",
)
_REGIONS = ("EMEA", "AMER", "APAC", "UK", "DE", "FR", "US", "JP", "AU", "IN")


@dataclass(frozen=True)
class _Template:
    collection: str
    obj: JSONDict
    title_key: str
    text: str  # the demo object as JSON, cloned by substituting GUIDs in the text
    own_ids: tuple[str, ...]  # ids of the object and its nested items: fresh in every clone
    group_ids: tuple[str, ...]  # demo groups it references: moved to bulk groups
    object_refs: frozenset[str]  # other (non-foundation) demo objects it references


def _is_foundation(collection: str, obj: JSONDict) -> bool:
    """Groups, and what the registry restores first (scope tags, filters, notification
    templates, reusable settings, role definitions…): kept once, never cloned."""
    return collection in FOUNDATION_COLLECTIONS or registry.classify(collection, obj).is_foundation


def _clonable_type(collection: str, obj: JSONDict) -> str | None:
    """The title property of a clonable object (see the module docstring), else None."""
    spec = BY_COLLECTION.get(collection)
    if spec is None or not spec.writable or not isinstance(obj.get("id"), str):
        return None
    ptype = registry.classify(collection, obj)
    if (
        not write.is_writable(ptype.key, obj)
        or ptype.is_foundation
        or ptype.singleton is not None
        or ptype.parent is not None
        or ptype.is_tenant_default(obj)
        or ptype.create_limit_for(obj) is not None
    ):
        return None
    for key in (ptype.display_name_property, "displayName", "name"):
        if isinstance(obj.get(key), str) and obj[key]:
            return key
    return None


def _templates(tenant_label: str, seed: int) -> tuple[list[JSONDict], list[_Template]]:
    """The tenant's foundations and its clonable objects, referenced objects first."""
    demo = demo_tenant_objects(tenant_label=tenant_label, seed=seed)
    organization = demo_organization(tenant_label=tenant_label)
    owned = tenant_owned_ids([organization, *demo])
    foundations = [obj for obj in demo if _is_foundation(collection_of(obj), obj)]
    group_ids = {str(o["id"]) for o in foundations if collection_of(o) == GROUPS}
    shared = group_ids | tenant_owned_ids([organization, *foundations])
    # the demo object whose own id holds each GUID (``T_<guid>``, ``<guid>_Suffix`` included)
    defined_by: dict[str, str] = {}
    for obj in demo:
        if not _is_foundation(collection_of(obj), obj):
            for guid in _GUID.findall(str(obj.get("id", "")).lower()):
                defined_by[guid] = str(obj["id"])

    candidates: dict[str, _Template] = {}
    for obj in demo:
        collection = collection_of(obj)
        if _is_foundation(collection, obj):
            continue
        title_key = _clonable_type(collection, obj)
        if title_key is None:
            continue
        text = json.dumps(obj, ensure_ascii=False)
        found = set(_GUID.findall(text)) & owned
        # ids of the object and its nested items, but not expanded copies of other objects
        # (a role assignment's roleDefinition): those are references
        own = {
            g for g in tenant_owned_ids([obj]) - shared if defined_by.get(g, obj["id"]) == obj["id"]
        }
        refs = {defined_by[g] for g in found - own - shared if g in defined_by}
        candidates[str(obj["id"])] = _Template(
            collection=collection,
            obj=obj,
            title_key=title_key,
            text=text,
            own_ids=tuple(sorted(own)),
            group_ids=tuple(sorted(found & group_ids)),
            object_refs=frozenset(refs),
        )
    # drop objects that reference something not clonable, until none does
    changed = True
    while changed:
        changed = False
        for key, template in list(candidates.items()):
            if not template.object_refs <= candidates.keys():
                del candidates[key]
                changed = True
    # referenced objects first (a prefix of the list is closed under references)
    ordered: list[_Template] = []
    placed: set[str] = set()
    while len(ordered) < len(candidates):
        for key, template in candidates.items():
            if key not in placed and template.object_refs <= placed:
                ordered.append(template)
                placed.add(key)
    return foundations, ordered


def bulk_foundation_collections(*, tenant_label: str = "Bench") -> set[str]:
    """The collections of the foundations a bulk tenant holds (whatever ``count``)."""
    return {collection_of(obj) for obj in _templates(tenant_label, 0)[0]}


def bulk_originals(*, tenant_label: str = "Bench") -> list[tuple[str, str]]:
    """``(collection, id)`` of the demo objects the bulk tenant starts with and clones."""
    return [(t.collection, str(t.obj["id"])) for t in _templates(tenant_label, 0)[1]]


def _bulk_groups(demo_groups: list[JSONDict], *, tenant_label: str) -> list[JSONDict]:
    groups: list[JSONDict] = []
    for index in range(BULK_GROUP_COUNT):
        group = copy.deepcopy(demo_groups[index % len(demo_groups)])
        group_id = str(uuid.uuid5(_NAMESPACE, f"{tenant_label}:bulk-group:{index}"))
        name = f"SG-{_DEPARTMENTS[index % 10]}-{_REGIONS[(index // 10) % 10]}-{index:03d}"
        group.update(
            {
                "id": group_id,
                "displayName": name,
                "description": f"Bulk benchmark group {index}",
                "mailNickname": re.sub(r"[^A-Za-z0-9]", "", name)[:40],
            }
        )
        if str(group.get("securityIdentifier", "")).startswith("S-1-12-1-"):
            hex_id = group_id.replace("-", "")
            group["securityIdentifier"] = "S-1-12-1-" + "-".join(
                str(int(hex_id[i : i + 8], 16)) for i in (0, 8, 16, 24)
            )
        groups.append(group)
    return groups


def _substitute(text: str, mapping: dict[str, str]) -> str:
    return _GUID.sub(lambda match: mapping.get(match.group(0), match.group(0)), text)


def generate_bulk_objects(
    *, count: int, seed: int, tenant_label: str, every_kind: bool = False
) -> list[JSONDict]:
    """``count`` policy objects (the demo tenant's clonable objects, then clones of them) plus
    the foundations they reference (groups, scope tags, assignment filters, notification
    templates), foundations first. With ``every_kind`` the demo tenant's other objects (the
    kinds a restore never creates: Conditional Access, policy sets, tenant connectors, DEP
    tokens with their Apple profiles, defaults, singletons, content apps) are added once each,
    so a backup of the result reads every kind the registry knows."""
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed)
    foundations, templates = _templates(tenant_label, seed)
    demo_groups = [obj for obj in foundations if collection_of(obj) == GROUPS]
    if not demo_groups:
        raise ValueError("the demo seed holds no groups to clone bulk groups from")
    if count and not templates:
        raise ValueError("the demo seed holds no clonable policy objects")

    groups = _bulk_groups(demo_groups, tenant_label=tenant_label)
    group_ids = [str(group["id"]) for group in groups]
    policies: list[JSONDict] = [copy.deepcopy(t.obj) for t in templates[:count]]
    for index in range(len(policies), count):
        template = rng.choice(templates)
        mapping = {
            guid: str(uuid.uuid5(_NAMESPACE, f"{tenant_label}:bulk:{index}:{guid}"))
            for guid in template.own_ids
        }
        mapping.update(
            zip(template.group_ids, rng.sample(group_ids, len(template.group_ids)), strict=True)
        )
        clone = json.loads(_substitute(template.text, mapping))
        dept = _DEPARTMENTS[index % len(_DEPARTMENTS)]
        region = _REGIONS[(index // 7) % len(_REGIONS)]
        clone[template.title_key] = f"{clone[template.title_key]} - {dept} {region} #{index:05d}"
        policies.append(clone)
    if every_kind:
        cloned = {t.obj["id"] for t in templates}
        fixed_ids = {str(obj.get("id")) for obj in foundations}
        policies.extend(
            copy.deepcopy(obj)
            for obj in demo_tenant_objects(tenant_label=tenant_label, seed=seed)
            if obj.get("id") not in cloned
            and str(obj.get("id")) not in fixed_ids
            and collection_of(obj) != GROUPS
        )
    return [*groups, *foundations, *policies]
