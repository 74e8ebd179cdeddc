"""Graph's rules for device enrollment configurations (trait ``enrollment_configurations``).

- A fresh tenant holds Intune's defaults (``types/enrollment.py`` ``DEFAULT_CONFIGURATIONS``),
  their ids prefixed with the tenant's own account id (here a GUID derived from the tenant id;
  a seed object with the same default suffix replaces the built-in one).
- POST gives the object an id ``<guid>_<kind suffix>`` (``…_Limit``,
  ``…_SinglePlatformRestriction``, …) and the next priority among the configurations of its
  kind (and ``platformType``); a ``priority`` in the body is ignored, as in a PATCH.
- ``POST {id}/setPriority {"priority": n}`` → 204: the object takes place ``n`` (1 = first)
  among its kind's configurations and the others move to keep 1..k (emulator's choice: a
  priority past the last is the last). Defaults keep priority 0: setPriority, assign and
  DELETE on a default → 400. DELETE renumbers the rest of its kind.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tenantguard.emulator.errors import bad_request
from tenantguard.emulator.resources import RESOURCES, ResourceSpec
from tenantguard.intune.types.enrollment import DEFAULT_ACCOUNT_ID, KINDS, TRAIT

if TYPE_CHECKING:  # messages imports tenant, which imports this module
    from tenantguard.emulator.messages import GraphRequest, GraphResponse

__all__ = [
    "COLLECTIONS",
    "TRAIT",
    "after_delete",
    "before_create",
    "builtins_for_tenant",
    "is_default",
    "refuse_default",
    "set_priority",
]

#: The collections with this trait.
COLLECTIONS: frozenset[str] = frozenset(
    spec.collection for spec in RESOURCES if TRAIT in spec.traits
)

_ACCOUNT_NAMESPACE = uuid.UUID("0b3c7a55-4f7e-4d0e-9a1d-7c1e2f5a8b61")
_PLACEHOLDER_PREFIX = DEFAULT_ACCOUNT_ID + "_"


def account_id(tenant_id: str) -> str:
    """The Intune account id the emulator gives a tenant (stable per tenant id)."""
    return str(uuid.uuid5(_ACCOUNT_NAMESPACE, tenant_id.strip().lower()))


def is_default(obj: dict[str, Any]) -> bool:
    """One of Intune's default configurations (priority 0, an id ``<account>_Default…``)."""
    return obj.get("priority") == 0 and "_" in str(obj.get("id", ""))


def builtins_for_tenant(
    builtins: Iterable[tuple[str, dict[str, Any]]],
    tenant_id: str,
    seed: Iterable[tuple[str, dict[str, Any]]],
    collections: frozenset[str],
) -> list[tuple[str, dict[str, Any]]]:
    """The built-in objects with the enrollment defaults given this tenant's account id; a
    default the seed holds (same id suffix, any prefix) replaces the built-in one."""
    seeded = {
        (collection, str(obj.get("id", "")).rsplit("_", 1)[-1].lower())
        for collection, obj in seed
        if collection in collections and "_" in str(obj.get("id", ""))
    }
    prefix = account_id(tenant_id) + "_"
    out: list[tuple[str, dict[str, Any]]] = []
    for collection, obj in builtins:
        object_id = str(obj.get("id", ""))
        if collection not in collections or not object_id.startswith(_PLACEHOLDER_PREFIX):
            out.append((collection, obj))
            continue
        suffix = object_id[len(_PLACEHOLDER_PREFIX) :]
        if (collection, suffix.lower()) in seeded:
            continue
        own = copy.deepcopy(obj)
        own["id"] = prefix + suffix
        for assignment in own.get("assignments") or []:
            if str(assignment.get("id", "")).startswith(_PLACEHOLDER_PREFIX):
                assignment["id"] = prefix + str(assignment["id"])[len(_PLACEHOLDER_PREFIX) :]
        out.append((collection, own))
    return out


def _kind_of(obj: dict[str, Any]) -> tuple[str, str]:
    name = str(obj.get("@odata.type", "")).removeprefix("#").removeprefix("microsoft.graph.")
    kind = obj.get("deviceEnrollmentConfigurationType") or KINDS.get(name, (name, ""))[0]
    return str(kind), str(obj.get("platformType") or "")


def _ranked(req: GraphRequest, spec: ResourceSpec, group: tuple[str, str]) -> list[dict[str, Any]]:
    """The non-default configurations of a kind, in priority order."""
    members = [
        obj
        for obj in req.tenant.stored_list(spec)
        if _kind_of(obj) == group and not is_default(obj)
    ]
    return sorted(members, key=lambda obj: (int(obj.get("priority") or 0), str(obj["id"])))


def _renumber(req: GraphRequest, spec: ResourceSpec, ordered: list[dict[str, Any]]) -> None:
    """Priorities 1..k in this order (a priority move is not a write of the other objects:
    their version and lastModifiedDateTime stay)."""
    for rank, obj in enumerate(ordered, start=1):
        if obj.get("priority") != rank:
            moved = copy.deepcopy(obj)
            moved["priority"] = rank
            req.tenant.save(spec, moved)


def before_create(req: GraphRequest, spec: ResourceSpec, body: dict[str, Any]) -> None:
    """Id and priority of a new configuration (the body's priority is ignored)."""
    name = str(body.get("@odata.type", "")).removeprefix("#").removeprefix("microsoft.graph.")
    suffix = KINDS.get(name, ("", name[:1].upper() + name[1:]))[1]
    body["id"] = f"{uuid.uuid4()}_{suffix}"
    body["priority"] = len(_ranked(req, spec, _kind_of(body))) + 1


def refuse_default(obj: dict[str, Any], verb: str) -> None:
    if is_default(obj):
        raise bad_request(
            f"Cannot {verb} the default enrollment configuration '{obj.get('displayName')}' "
            f"({obj.get('id')}): it applies to all users and devices with the lowest priority."
        )


def set_priority(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], body: dict[str, Any]
) -> GraphResponse:
    refuse_default(obj, "change the priority of")
    priority = body.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
        raise bad_request(f"Invalid priority {priority!r}: it must be an integer of 1 or more.")
    others = [o for o in _ranked(req, spec, _kind_of(obj)) if o["id"] != obj["id"]]
    place = min(priority, len(others) + 1) - 1
    _renumber(req, spec, [*others[:place], obj, *others[place:]])
    from tenantguard.emulator.messages import GraphResponse  # here: messages imports tenant

    return GraphResponse(204)


def after_delete(req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any]) -> None:
    _renumber(req, spec, _ranked(req, spec, _kind_of(obj)))
