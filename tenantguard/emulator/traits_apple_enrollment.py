"""Graph's rules for Apple enrollment profiles under each DEP token (trait ``dep_onboarding``
on ``deviceManagement/depOnboardingSettings``, navigation ``enrollmentProfiles``).

- ``POST {token}/enrollmentProfiles`` needs the profile's ``@odata.type`` (400 without: the
  base type is abstract) and answers 201 with the profile: id ``<token id>_<guid>``,
  ``isDefault: false`` (set with ``setDefaultProfile``, not in a body) and its own
  ``configurationEndpointUrl`` (``…MDMServiceConfig?id=<guid>&AADTenantId=<tenant>``).
- ``companyPortalVppTokenId`` (POST and PATCH) names one of the tenant's VPP tokens
  (``deviceAppManagement/vppTokens``); another id (a token of another tenant) is refused with
  400 when the tenant validates references. Empty, ``null`` and the all-zero GUID mean "no VPP
  token". Whether Graph itself refuses is not documented: the emulator holds writers to the
  rule TenantGuard keeps (never a source tenant's token id).
- ``PATCH {token}/enrollmentProfiles/{id}`` → 204; ``id``, ``isDefault`` and
  ``configurationEndpointUrl`` in the body are ignored, a body that changes nothing → 400 (as for every Intune object), the ``@odata.type``
  cannot change. Profiles carry no timestamps, version, scope tags or assignments.

Python side (``Tenant.list_objects`` / ``get_object`` / ``put_object`` / ``delete_object``),
a nested collection is named ``<parent collection>/<navigation>``
(``deviceManagement/depOnboardingSettings/enrollmentProfiles``): every parent's children, each
found by its id whatever its parent (a new one goes under the parent its id names,
``<parent id>_<guid>`` as Graph's ids are, else under the only parent). Seed files may hold a
child on its own (``…$metadata#deviceManagement/depOnboardingSettings('<id>')/
enrollmentProfiles/$entity``): it is loaded after the parents, the same way.
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from tenantguard.emulator.errors import bad_request
from tenantguard.emulator.resources import BY_COLLECTION, ResourceSpec
from tenantguard.intune.reference_kinds import EMPTY_GUID
from tenantguard.intune.types.apple_enrollment import TRAIT
from tenantguard.intune.types.tenant_connectors import VPP_TOKENS

if TYPE_CHECKING:  # messages imports tenant, which imports this module
    from tenantguard.emulator.messages import GraphRequest
    from tenantguard.emulator.tenant import Tenant

__all__ = [
    "TRAIT",
    "check_references",
    "child_create",
    "child_patch",
    "nested_collection",
    "nested_delete",
    "nested_get",
    "nested_list",
    "nested_put",
]

#: Profile properties a write never sets (the endpoint URL is made by Intune for the profile).
_READ_ONLY = frozenset({"id", "isDefault", "configurationEndpointUrl"})


def check_references(req: GraphRequest, body: dict[str, Any]) -> None:
    """A profile's ``companyPortalVppTokenId`` is one of the tenant's VPP tokens (400 else,
    when the tenant validates references)."""
    token_id = body.get("companyPortalVppTokenId")
    if not req.validate_references or token_id in (None, "", EMPTY_GUID):
        return
    if req.tenant.stored(BY_COLLECTION[VPP_TOKENS], str(token_id)) is None:
        raise bad_request(
            f"VPP token with id '{token_id}' does not exist (companyPortalVppTokenId)."
        )


def child_create(parent: dict[str, Any], body: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """The profile a POST under ``parent`` stores."""
    if not str(body.get("@odata.type") or ""):
        raise bad_request(
            "Cannot create an abstract class: the request for an enrollment profile must carry "
            "@odata.type."
        )
    item = {
        k: v
        for k, v in copy.deepcopy(body).items()
        if k not in _READ_ONLY and (k == "@odata.type" or "@" not in k)
    }
    item["id"] = f"{parent['id']}_{uuid.uuid4()}"
    item["isDefault"] = False
    item["configurationEndpointUrl"] = (
        f"https://appleconfigurator2.manage.microsoft.com/MDMServiceConfig?id={uuid.uuid4()}"
        f"&AADTenantId={tenant_id}"
    )
    return item


def child_patch(child: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The profile after a PATCH of ``body``."""
    sent_type = body.get("@odata.type")
    if sent_type and child.get("@odata.type") and sent_type != child["@odata.type"]:
        raise bad_request(
            f"The @odata.type '{sent_type}' does not match the object's type "
            f"'{child['@odata.type']}'; a PATCH cannot change the type."
        )
    changes = {k: v for k, v in body.items() if k not in _READ_ONLY and "@" not in k}
    replacement = {**child, **copy.deepcopy(changes)}
    if replacement == child:
        raise bad_request("at least 1 property must be changed")
    return replacement


# --- Python side: a nested collection named <parent collection>/<navigation> ---------------


def nested_collection(collection: str) -> tuple[ResourceSpec, str] | None:
    """``(parent spec, navigation)`` when ``collection`` names the children of a collection's
    objects (a navigation that takes POSTs), else ``None``."""
    parent, _, nav = collection.strip("/").rpartition("/")
    spec = BY_COLLECTION.get(parent)
    if spec is None or nav not in spec.child_posts or nav not in spec.navigation:
        return None
    return spec, nav


def nested_list(tenant: Tenant, spec: ResourceSpec, nav: str) -> list[dict[str, Any]]:
    return [
        copy.deepcopy(child)
        for parent in tenant.stored_list(spec)
        for child in parent.get(nav) or []
        if isinstance(child, dict)
    ]


def _holder(tenant: Tenant, spec: ResourceSpec, nav: str, child_id: str) -> dict[str, Any] | None:
    for parent in tenant.stored_list(spec):
        if any(str(c.get("id")) == child_id for c in parent.get(nav) or []):
            return parent
    return None


def nested_get(
    tenant: Tenant, spec: ResourceSpec, nav: str, child_id: str
) -> dict[str, Any] | None:
    return next((c for c in nested_list(tenant, spec, nav) if str(c.get("id")) == child_id), None)


def nested_put(tenant: Tenant, spec: ResourceSpec, nav: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Insert or replace a child, as an admin would in the portal."""
    child = {k: v for k, v in copy.deepcopy(obj).items() if k == "@odata.type" or "@" not in k}
    child_id = str(child.get("id", ""))
    holder = _holder(tenant, spec, nav, child_id)
    if holder is None:
        parents = tenant.stored_list(spec)
        # Graph's ids of these children start with their parent's: "<parent id>_<guid>"
        named = [p for p in parents if child_id.startswith(f"{p['id']}_")]
        if len(named) == 1 or len(parents) == 1:
            holder = (named or parents)[0]
        else:
            raise KeyError(
                f"{spec.collection}/{nav}: cannot tell the parent of {child_id or 'a new child'} "
                f"among {len(parents)}; give it an id '<parent id>_<guid>' or put it through "
                "its parent"
            )
        child.setdefault("id", f"{holder['id']}_{uuid.uuid4()}")
    updated = copy.deepcopy(holder)
    others = [c for c in updated.get(nav) or [] if str(c.get("id")) != str(child["id"])]
    updated[nav] = [*others, child]
    tenant.save(spec, updated)
    return copy.deepcopy(child)


def nested_delete(tenant: Tenant, spec: ResourceSpec, nav: str, child_id: str) -> bool:
    holder = _holder(tenant, spec, nav, child_id)
    if holder is None:
        return False
    updated = copy.deepcopy(holder)
    updated[nav] = [c for c in updated.get(nav) or [] if str(c.get("id")) != child_id]
    tenant.save(spec, updated)
    return True
