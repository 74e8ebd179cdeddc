"""Entra ID objects that Conditional Access policies point at: named locations and
authentication strengths (foundations: restored before what refers to them).

Graph (v1.0 and beta; resource pages ``namedLocation``, ``ipNamedLocation``,
``countryNamedLocation``, ``authenticationStrengthPolicy`` and their verbs):

- ``identity/conditionalAccess/namedLocations``: ``ipNamedLocation`` (``ipRanges`` of
  ``iPv4CidrRange`` / ``iPv6CidrRange`` with ``cidrAddress``, ``isTrusted``) and
  ``countryNamedLocation`` (``countriesAndRegions``, ``includeUnknownCountriesAndRegions``,
  ``countryLookupMethod``); ``createdDateTime`` / ``modifiedDateTime`` read-only; no
  ``version``, no assignments, no scope tags. ``POST`` (201, the body must carry
  ``@odata.type``: ``namedLocation`` is abstract), ``PATCH`` (204; Graph requires the
  ``@odata.type`` in the PATCH body too, "ipNamedLocation-update": "You must specify the
  @odata.type"), ``DELETE``. Read with ``Policy.Read.All``, written with
  ``Policy.ReadWrite.ConditionalAccess``.
- ``policies/authenticationStrengthPolicies``: Microsoft's built-in strengths
  (``policyType: builtIn``: "Multifactor authentication" ``...0002``, "Passwordless MFA"
  ``...0003``, "Phishing-resistant MFA" ``...0004``) are the same in every tenant and can be
  neither changed nor deleted: they are built-in objects here (never written, never a
  reference to map). Custom ones: ``POST`` (201) with ``displayName``, ``description`` and
  ``allowedCombinations``; ``PATCH`` (204) changes ``displayName`` and ``description`` only
  ("You cannot update the allowed auth method combinations using this request"); the
  combinations change through ``POST {id}/updateAllowedCombinations``
  ``{"allowedCombinations": [...]}`` (200, an ``updateAllowedCombinationsResult``).
  ``policyType`` and ``requirementsSatisfied`` are server-set; ``combinationConfigurations``
  (FIDO2 AAGUID / certificate restrictions) is a navigation Graph lists inline.

The reference kinds ``named_location`` and ``authentication_strength`` (``reference_kinds``)
point at these types; ``conditional_access`` uses them.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ChildListAction,
    CollectionRules,
    PlatformRule,
    PolicyType,
    PropertyPrefix,
    SortRule,
    TypeFamily,
    odata,
    odata_types,
)

NAMED_LOCATIONS = "identity/conditionalAccess/namedLocations"
AUTHENTICATION_STRENGTHS = "policies/authenticationStrengthPolicies"
READ = "Policy.Read.All"
WRITE = "Policy.ReadWrite.ConditionalAccess"

#: The reference kinds' keys (``reference_kinds.KINDS``), also these types' keys.
NAMED_LOCATION = "named_location"
AUTHENTICATION_STRENGTH = "authentication_strength"

_ENTRA_TIMESTAMPS = ("createdDateTime", "modifiedDateTime")

#: Microsoft's built-in authentication strengths: the same ids in every tenant.
BUILTIN_STRENGTHS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "00000000-0000-0000-0000-000000000002",
        "Multifactor authentication",
        "Combinations of methods that satisfy strong authentication, such as a password + SMS",
        (
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "password,hardwareOath",
            "password,sms",
            "password,voice",
            "federatedMultiFactor",
            "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor",
            "hardwareOath,federatedSingleFactor",
            "sms,federatedSingleFactor",
            "voice,federatedSingleFactor",
        ),
    ),
    (
        "00000000-0000-0000-0000-000000000003",
        "Passwordless MFA",
        "Passwordless methods that satisfy strong authentication, such as Passwordless sign-in "
        "with the Microsoft Authenticator",
        (
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
        ),
    ),
    (
        "00000000-0000-0000-0000-000000000004",
        "Phishing-resistant MFA",
        "Phishing-resistant, Passwordless methods for the strongest authentication, such as a "
        "FIDO2 security key",
        ("windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"),
    ),
)
BUILTIN_STRENGTH_IDS: frozenset[str] = frozenset(strength[0] for strength in BUILTIN_STRENGTHS)


def _builtin_strength(
    strength_id: str, name: str, description: str, combinations: tuple[str, ...]
) -> dict[str, object]:
    return {
        "@odata.type": "#microsoft.graph.authenticationStrengthPolicy",
        "id": strength_id,
        "createdDateTime": "2022-09-30T10:59:01.8058084+00:00",
        "modifiedDateTime": "2022-09-30T10:59:01.8058084+00:00",
        "displayName": name,
        "description": description,
        "policyType": "builtIn",
        "requirementsSatisfied": "mfa",
        "allowedCombinations": list(combinations),
        "combinationConfigurations": [],
    }


FAMILY = TypeFamily(
    order=2,
    types=(
        PolicyType(
            key=NAMED_LOCATION,
            label="Named locations",
            category="Identity",
            collection=NAMED_LOCATIONS,
            api_version="v1.0",
            odata_types=odata_types("ipNamedLocation", "countryNamedLocation"),
            read_only_fields=frozenset({"modifiedDateTime"}),
            unordered_lists=(
                SortRule("ipRanges", ("cidrAddress",)),
                SortRule("countriesAndRegions", ()),
            ),
            assign=None,
            scope_tag_property=None,
            platform=PlatformRule(fixed="all"),
            is_foundation=True,
            required_permission=READ,
            write_permission=WRITE,
            modified_property="modifiedDateTime",
            description="IP ranges and countries Conditional Access policies include or "
            "exclude by location.",
            list_identities=("cidrAddress",),
        ),
        PolicyType(
            key=AUTHENTICATION_STRENGTH,
            label="Authentication strengths",
            category="Identity",
            collection=AUTHENTICATION_STRENGTHS,
            api_version="v1.0",
            odata_types=odata_types("authenticationStrengthPolicy"),
            default_odata_type=odata("authenticationStrengthPolicy"),
            read_only_fields=frozenset(
                {
                    "modifiedDateTime",
                    "policyType",
                    "requirementsSatisfied",
                    # FIDO2 / certificate restrictions: a navigation TenantGuard does not
                    # write yet (shown in the backup, not compared).
                    "combinationConfigurations",
                }
            ),
            # Sent when the strength is created; changed afterwards only by the action.
            create_only_fields=frozenset({"allowedCombinations"}),
            child_list_actions=(
                ChildListAction(
                    property="allowedCombinations",
                    action="updateAllowedCombinations",
                    body_key="allowedCombinations",
                ),
            ),
            unordered_lists=(SortRule("allowedCombinations", ()),),
            assign=None,
            scope_tag_property=None,
            platform=PlatformRule(fixed="all"),
            is_foundation=True,
            builtin_when=PropertyPrefix("policyType", "builtIn"),
            required_permission=READ,
            write_permission=WRITE,
            modified_property="modifiedDateTime",
            description="Which sign-in methods satisfy a Conditional Access policy that "
            "requires an authentication strength. Microsoft's built-in strengths are the same "
            "in every tenant and are never written.",
        ),
    ),
    collections=(
        CollectionRules(
            NAMED_LOCATIONS,
            "named location",
            READ,
            WRITE,
            entity_type=odata("namedLocation"),
            versioned=False,
            has_version=False,
            requires_odata_type=True,
            read_only=_ENTRA_TIMESTAMPS,
            traits=frozenset({"entra_policies", "named_locations"}),
        ),
        CollectionRules(
            AUTHENTICATION_STRENGTHS,
            "authentication strength policy",
            READ,
            WRITE,
            entity_type=odata("authenticationStrengthPolicy"),
            versioned=False,
            has_version=False,
            # combinationConfigurations is a navigation Graph always lists inline (it answers
            # it with every GET), so the emulator keeps it as a property.
            server_filled=(
                ("policyType", "custom"),
                ("requirementsSatisfied", "mfa"),
                ("combinationConfigurations", []),
            ),
            read_only=(*_ENTRA_TIMESTAMPS, "policyType", "requirementsSatisfied"),
            traits=frozenset({"entra_policies", "authentication_strengths"}),
        ),
    ),
    builtin_objects=tuple(
        (AUTHENTICATION_STRENGTHS, _builtin_strength(*strength)) for strength in BUILTIN_STRENGTHS
    ),
)
