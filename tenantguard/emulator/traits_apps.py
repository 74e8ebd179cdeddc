"""Graph's rules for apps and app configuration (traits ``mobile_apps`` and
``app_configuration``), and the derived-type knowledge ``$filter`` type casts need.

- ``mobile_apps`` (``deviceAppManagement/mobileApps``): each assignment carries the admin's
  install ``intent`` (``required`` / ``available`` / ``uninstall`` /
  ``availableWithoutEnrollment``; Graph refuses one without), and an app that is not published
  (an app made without its uploaded content) cannot be assigned.
- ``app_configuration`` (``deviceAppManagement/mobileAppConfigurations``): the apps named in
  ``targetedMobileApps`` must exist in the tenant (when ``validate_references`` is on).
- ``microsoft.graph.managedApp/appAvailability`` in a ``$filter`` (IntuneCD lists apps that
  way) reads ``appAvailability`` of managed apps only; for any other app it is ``null``;
  ``isof('microsoft.graph.iosVppApp')`` matches that type and the types derived from it;
- ``$search="Contoso Expenses"`` on apps matches display name and publisher (IntuneCD's update
  finds the app an app configuration targets that way).

Hooked from ``writes.py`` (``check_body`` on create/PATCH, ``check_assignments`` in the assign
action, ``kept_assignment_field`` in each assignment), ``reads.py`` (``searched`` in a listing)
and ``odata.py`` (``cast_matches``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from tenantguard.emulator.errors import bad_request
from tenantguard.emulator.resources import BY_COLLECTION, ResourceSpec

if TYPE_CHECKING:  # messages imports the tenant, which imports odata, which imports this
    from tenantguard.emulator.messages import GraphRequest

MOBILE_APPS_TRAIT: Final = "mobile_apps"
APP_CONFIGURATION_TRAIT: Final = "app_configuration"
MOBILE_APPS: Final = "deviceAppManagement/mobileApps"

#: Graph's ``installIntent`` values (mobileAppAssignment.intent).
INSTALL_INTENTS: Final = frozenset(
    {"required", "available", "uninstall", "availableWithoutEnrollment"}
)

#: Abstract Graph types a ``$filter`` may cast to, with the concrete types derived from them
#: (Graph beta metadata: managedApp, mobileLobApp, managedMobileLobApp).
DERIVED_TYPES: Final[dict[str, frozenset[str]]] = {
    "microsoft.graph.managedapp": frozenset(
        {
            "microsoft.graph.managedandroidlobapp",
            "microsoft.graph.managedandroidstoreapp",
            "microsoft.graph.managedioslobapp",
            "microsoft.graph.managediosstoreapp",
            "microsoft.graph.managedmobilelobapp",
        }
    ),
    "microsoft.graph.managedmobilelobapp": frozenset(
        {"microsoft.graph.managedandroidlobapp", "microsoft.graph.managedioslobapp"}
    ),
}


def cast_matches(obj: dict[str, Any], cast: str) -> bool:
    """``obj`` is of type ``cast`` (``microsoft.graph.managedApp``) or derived from it."""
    wanted = cast.lower().lstrip("#")
    actual = str(obj.get("@odata.type") or "").lower().lstrip("#")
    return actual == wanted or actual in DERIVED_TYPES.get(wanted, frozenset())


def kept_assignment_field(key: str, value: Any) -> bool:
    """An assignment's ``intent`` is kept when it is an app's install intent (other types'
    ``intent`` is Graph's own ``apply``, filled in by the tenant)."""
    return key == "intent" and value in INSTALL_INTENTS


def check_assignments(spec: ResourceSpec, obj: dict[str, Any], items: list[Any]) -> None:
    """The assign action of an app: published apps only, each assignment with an intent."""
    if MOBILE_APPS_TRAIT not in spec.traits:
        return
    if items and obj.get("publishingState", "published") != "published":
        raise bad_request(
            f"The app '{obj.get('displayName')}' is not published (its content has not been "
            "committed), so it cannot be assigned."
        )
    for item in items:
        intent = item.get("intent") if isinstance(item, dict) else None
        if intent not in INSTALL_INTENTS:
            raise bad_request(
                f"Invalid intent {intent!r} for a mobile app assignment: expected one of "
                f"{', '.join(sorted(INSTALL_INTENTS))}."
            )


def searched(
    req: GraphRequest, spec: ResourceSpec, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``$search="words"`` on apps: the apps whose display name or publisher holds every word
    (case-insensitive), as Graph's mobileApps search; other collections ignore ``$search``."""
    text = req.option("search")
    if MOBILE_APPS_TRAIT not in spec.traits or not text:
        return items
    words = text.strip().strip('"').casefold().split()

    def found(obj: dict[str, Any]) -> bool:
        haystack = f"{obj.get('displayName') or ''} {obj.get('publisher') or ''}".casefold()
        return all(word in haystack for word in words)

    return [obj for obj in items if found(obj)]


def check_body(req: GraphRequest, spec: ResourceSpec, body: dict[str, Any]) -> None:
    """App configuration: every id in ``targetedMobileApps`` is an app of the tenant."""
    if APP_CONFIGURATION_TRAIT not in spec.traits or not req.validate_references:
        return
    apps = BY_COLLECTION[MOBILE_APPS]
    for app_id in body.get("targetedMobileApps") or []:
        if req.tenant.stored(apps, str(app_id)) is None:
            raise bad_request(f"Mobile app with id '{app_id}' does not exist (targetedMobileApps).")


__all__ = [
    "APP_CONFIGURATION_TRAIT",
    "DERIVED_TYPES",
    "INSTALL_INTENTS",
    "MOBILE_APPS_TRAIT",
    "cast_matches",
    "check_assignments",
    "check_body",
    "kept_assignment_field",
    "searched",
]
