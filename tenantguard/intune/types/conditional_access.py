"""Entra ID Conditional Access policies (backed up and compared, never written).

Graph (``conditionalAccessPolicy``, v1.0): what a policy points at by id, mapped like any
other reference so the checks and the preview name it:

- named locations (``identity.py``): ``conditions.locations.includeLocations[]`` /
  ``excludeLocations[]``; ``All`` and ``AllTrusted`` are keywords, not references;
- its authentication strength (``identity.py``): ``grantControls.authenticationStrength``, which
  Graph returns expanded (the whole policy, plus ``authenticationStrength@odata.context``):
  compared by its ``id`` only; Microsoft's built-in strengths are not references;
- Entra groups: ``conditions.users.includeGroups[]`` / ``excludeGroups[]``.

Users and directory roles are ids too (``includeUsers``, ``includeRoles``): directory objects
TenantGuard does not map; they are the same in a same-tenant restore.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    CollectionRules,
    FoundationRef,
    PlatformRule,
    PolicyType,
    TypeFamily,
    odata,
)

CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG


FAMILY = TypeFamily(
    order=90,
    types=(
        PolicyType(
            key="conditional_access",
            label="Conditional Access policies",
            category="Identity",
            collection="identity/conditionalAccess/policies",
            api_version="v1.0",
            odata_types=frozenset(),
            read_only_fields=frozenset({"modifiedDateTime", "templateId"}),
            reduce_expanded=(("grantControls.authenticationStrength", ("id",)),),
            assign=None,
            scope_tag_property=None,
            foundation_refs=(
                FoundationRef("named_location", "conditions.locations.includeLocations[]"),
                FoundationRef("named_location", "conditions.locations.excludeLocations[]"),
                FoundationRef("authentication_strength", "grantControls.authenticationStrength.id"),
                FoundationRef("group", "conditions.users.includeGroups[]"),
                FoundationRef("group", "conditions.users.excludeGroups[]"),
            ),
            platform=PlatformRule(fixed="all"),
            restore_mode="preview-only",
            required_permission="Policy.Read.All",
            write_permission="Policy.ReadWrite.ConditionalAccess",
            modified_property="modifiedDateTime",
            preview_only_reason=(
                "Conditional Access decides who can sign in: TenantGuard backs these policies up "
                "and shows their differences but never writes them; apply a change in the Entra "
                "admin center, in report-only mode first."
            ),
            description="Entra ID Conditional Access (backed up and compared, never written).",
        ),
    ),
    collections=(
        CollectionRules(
            "identity/conditionalAccess/policies",
            "conditional access policy",
            "Policy.Read.All",
            "Policy.ReadWrite.ConditionalAccess",
            entity_type=odata("conditionalAccessPolicy"),
            writable=False,
            versioned=False,
            # its grantControls.authenticationStrength reads as the strength is now
            traits=frozenset({"conditional_access"}),
        ),
    ),
)
