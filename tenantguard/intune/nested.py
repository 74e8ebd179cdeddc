"""Types whose objects live under each object of another collection (``ParentCollection``),
e.g. Apple enrollment profiles: ``deviceManagement/depOnboardingSettings/{token}/enrollmentProfiles``.

Capture lists the parents, then each parent's objects; every object read here carries its
parent in ``PARENT_ID_KEY`` / ``PARENT_NAME_KEY`` (annotations: never compared, never written).
A create goes into the target parent with the same name, or the only parent there is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from tenantguard.graph import GraphClient, NotFoundError
from tenantguard.intune.typespec import (
    PARENT_ID_KEY,
    PARENT_NAME_KEY,
    ParentCollection,
    PolicyType,
)

__all__ = [
    "PARENT_ID_KEY",
    "PARENT_NAME_KEY",
    "NoParentError",
    "choose_parent",
    "collection_path",
    "get_nested",
    "item_path",
    "list_nested",
    "list_parents",
    "target_parent",
]


class NoParentError(LookupError):
    """The target has no parent object to write the nested object into (the message says why
    and what to do)."""


def _parent(ptype: PolicyType) -> ParentCollection:
    if ptype.parent is None:  # pragma: no cover - callers check
        raise ValueError(f"{ptype.label} is not a nested type")
    return ptype.parent


def collection_path(ptype: PolicyType, parent_id: str) -> str:
    """``/{version}/{parent collection}/{parent id}/{navigation}``."""
    parent = _parent(ptype)
    return (
        f"/{ptype.api_version}/{parent.collection}/{quote(parent_id, safe='')}/{parent.navigation}"
    )


def item_path(ptype: PolicyType, object_id: str, parent_id: str) -> str:
    return f"{collection_path(ptype, parent_id)}/{quote(object_id, safe='')}"


def list_parents(client: GraphClient, ptype: PolicyType) -> list[tuple[str, str]]:
    """``(id, name)`` of every parent object, in Graph's order."""
    parent = _parent(ptype)
    params = {"$select": f"id,{parent.name_property}"}
    out: list[tuple[str, str]] = []
    path = f"/{ptype.api_version}/{parent.collection}"
    for obj in client.iter_collection(path, params=params):
        if isinstance(obj, Mapping) and obj.get("id"):
            out.append((str(obj["id"]), str(obj.get(parent.name_property) or "")))
    return out


def _annotated(obj: Any, parent_id: str, parent_name: str) -> dict[str, Any] | None:
    if not isinstance(obj, Mapping):
        return None
    return {**obj, PARENT_ID_KEY: parent_id, PARENT_NAME_KEY: parent_name}


def list_nested(
    client: GraphClient, ptype: PolicyType, params: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Every object of the nested type under every parent, each annotated with its parent."""
    objects: list[dict[str, Any]] = []
    for parent_id, parent_name in list_parents(client, ptype):
        path = collection_path(ptype, parent_id)
        for obj in client.iter_collection(path, params=dict(params) if params else None):
            annotated = _annotated(obj, parent_id, parent_name)
            if annotated is not None:
                objects.append(annotated)
    return objects


def get_nested(
    client: GraphClient,
    ptype: PolicyType,
    object_id: str,
    params: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """The object ``object_id`` under whichever parent holds it (``None``: under none)."""
    for parent_id, parent_name in list_parents(client, ptype):
        try:
            obj = client.get(
                item_path(ptype, object_id, parent_id), params=dict(params) if params else None
            )
        except NotFoundError:
            continue
        return _annotated(obj, parent_id, parent_name)
    return None


def target_parent(client: GraphClient, ptype: PolicyType, payload: Mapping[str, Any]) -> str:
    """The id of the target parent a backup object of ``ptype`` is created under (read now;
    see ``choose_parent``)."""
    return choose_parent(ptype, payload, list_parents(client, ptype))


def choose_parent(
    ptype: PolicyType, payload: Mapping[str, Any], parents: Sequence[tuple[str, str]]
) -> str:
    """Among the target's ``(id, name)`` parents, the one a backup object of ``ptype`` goes
    under: the one with the name its source parent had, else the only one; ``NoParentError``
    (saying why and what to do) otherwise."""
    parent = _parent(ptype)
    wanted = str(payload.get(PARENT_NAME_KEY) or "")
    named = [pid for pid, name in parents if wanted and name == wanted]
    if len(named) == 1:
        return named[0]
    if len(parents) == 1:
        return parents[0][0]
    if not parents:
        raise NoParentError(parent.missing_reason or f"The target has no {parent.collection}.")
    names = ", ".join(repr(name) for _, name in parents)
    raise NoParentError(
        f"The target has several {parent.collection.rsplit('/', 1)[-1]} ({names}) and none is "
        f"named {wanted!r} like the source's: rename the one to restore into, or create the "
        "object there by hand."
    )
