"""Entra ID Conditional Access policies (backed up and compared, never written)."""

from __future__ import annotations

from tenantguard.intune.typespec import (
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    CollectionRules,
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
            assign=None,
            scope_tag_property=None,
            platform=PlatformRule(fixed="all"),
            restore_mode="preview-only",
            required_permission="Policy.Read.All",
            write_permission="Policy.ReadWrite.ConditionalAccess",
            modified_property="modifiedDateTime",
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
        ),
    ),
)
