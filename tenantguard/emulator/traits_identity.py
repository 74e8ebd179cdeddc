"""Graph rules of the Entra policy collections that are not generic (README.md, "Named
locations and authentication strengths"): ``identity/conditionalAccess/namedLocations`` and
``policies/authenticationStrengthPolicies`` (``tenantguard/intune/types/identity.py``).

- Both keep ``createdDateTime`` / ``modifiedDateTime`` (not ``lastModifiedDateTime`` /
  ``version``), set by the server on every write.
- A named location's PATCH must carry its ``@odata.type`` (Graph's update pages: "You must
  specify the @odata.type"), as its POST must (``requires_odata_type``).
- An authentication strength is created with its ``allowedCombinations``; a PATCH changes only
  ``displayName`` and ``description``; the combinations change through ``POST
  {id}/updateAllowedCombinations`` (200, an ``updateAllowedCombinationsResult``). Microsoft's
  built-in strengths (``policyType: builtIn``) are neither changed nor deleted.

- A Conditional Access policy reads its authentication strength as the strength is now.

Switched on by the collections' traits (``entra_policies``, ``named_locations``,
``authentication_strengths``, ``conditional_access``); ``writes``, ``reads`` and ``handlers``
call in here.
"""

from __future__ import annotations

import copy
from typing import Any

from tenantguard.emulator.errors import bad_request
from tenantguard.emulator.messages import GraphRequest, GraphResponse
from tenantguard.emulator.resources import BY_COLLECTION, ResourceSpec

TRAIT = "entra_policies"
NAMED_LOCATIONS = "named_locations"
STRENGTHS = "authentication_strengths"
#: Actions routed as ``POST {id}/<name>`` (lower-case, as ``handlers.ACTIONS``).
ACTIONS = frozenset({"updateallowedcombinations"})

_STRENGTH_PATCHABLE = frozenset({"displayName", "description", "@odata.type"})
_CONDITIONAL_ACCESS = "identity/conditionalAccess/policies"
_STRENGTHS_COLLECTION = "policies/authenticationStrengthPolicies"
#: Trait of the Conditional Access policies (``as_shown``).
CONDITIONAL_ACCESS_TRAIT = "conditional_access"


def check_protected(spec: ResourceSpec, obj: dict[str, Any], verb: str) -> None:
    """Built-in authentication strengths are maintained by Microsoft (400)."""
    if STRENGTHS in spec.traits and obj.get("policyType") == "builtIn":
        raise bad_request(
            f"Cannot {verb} the built-in authentication strength '{obj.get('displayName')}'.",
            intune=False,
        )


def prepare_write(
    req: GraphRequest,
    spec: ResourceSpec,
    body: dict[str, Any],
    cleaned: dict[str, Any],
    *,
    old: dict[str, Any] | None,
) -> None:
    """Check a POST (``old`` None) or PATCH body and stamp the cleaned one (in place)."""
    if TRAIT not in spec.traits:
        return
    if NAMED_LOCATIONS in spec.traits and old is not None and not body.get("@odata.type"):
        raise bad_request(
            "The request body of a named location update must carry its @odata.type "
            f"('{old.get('@odata.type')}').",
            intune=False,
        )
    if STRENGTHS in spec.traits:
        if old is None and not _combinations(cleaned.get("allowedCombinations")):
            raise bad_request(
                "An authentication strength needs allowedCombinations (a non-empty list of "
                "authentication method modes).",
                intune=False,
            )
        refused = sorted(
            key
            for key in body
            if old is not None and key not in _STRENGTH_PATCHABLE and not key.startswith("@")
        )
        if refused:
            raise bad_request(
                f"Cannot update {', '.join(refused)} of an authentication strength with "
                "PATCH: only displayName and description; change allowedCombinations with "
                "updateAllowedCombinations.",
                intune=False,
            )
    now = req.tenant.now()
    if old is None:
        cleaned["createdDateTime"] = now
    cleaned["modifiedDateTime"] = now


def run_action(
    req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any], name: str, body: dict[str, Any]
) -> GraphResponse | None:
    """``POST {id}/updateAllowedCombinations``; ``None`` for any other action."""
    if name not in ACTIONS or STRENGTHS not in spec.traits:
        return None
    check_protected(spec, obj, "update")
    combinations = _combinations(body.get("allowedCombinations"))
    if combinations is None:
        raise bad_request(
            "allowedCombinations must be a non-empty list of authentication method modes.",
            intune=False,
        )
    previous = list(obj.get("allowedCombinations") or [])
    updated = copy.deepcopy(obj)
    updated["allowedCombinations"] = combinations
    updated["modifiedDateTime"] = req.tenant.now()
    req.tenant.save(spec, req.tenant.ingest(spec, updated, previous=obj))
    result = {
        "@odata.context": req.context("microsoft.graph.updateAllowedCombinationsResult"),
        "previousCombinations": previous,
        "currentCombinations": combinations,
        "conditionalAccessReferences": _policies_using(req, str(obj["id"])),
        "additionalInformation": None,
    }
    return GraphResponse(200, result)


def as_shown(req: GraphRequest, spec: ResourceSpec, obj: dict[str, Any]) -> dict[str, Any]:
    """A Conditional Access policy (trait ``conditional_access``) as Graph reads it: its
    ``grantControls.authenticationStrength`` is the strength as it is now, expanded (Graph
    answers the whole policy there, not the copy the policy was saved with)."""
    if CONDITIONAL_ACCESS_TRAIT not in spec.traits:
        return obj
    controls = obj.get("grantControls")
    strength = controls.get("authenticationStrength") if isinstance(controls, dict) else None
    if not isinstance(controls, dict) or not isinstance(strength, dict) or not strength.get("id"):
        return obj
    current = req.tenant.stored(BY_COLLECTION[_STRENGTHS_COLLECTION], str(strength["id"]))
    if current is None:
        return obj
    expanded = {key: value for key, value in current.items() if key != "@odata.type"}
    return {**obj, "grantControls": {**controls, "authenticationStrength": expanded}}


def _combinations(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(item, str) and item for item in value):
        return None
    return list(value)


def _policies_using(req: GraphRequest, strength_id: str) -> list[str]:
    spec = BY_COLLECTION.get(_CONDITIONAL_ACCESS)
    if spec is None:
        return []
    found = []
    for policy in req.tenant.stored_list(spec):
        strength = (policy.get("grantControls") or {}).get("authenticationStrength") or {}
        if isinstance(strength, dict) and str(strength.get("id")) == strength_id:
            found.append(str(policy["id"]))
    return found
