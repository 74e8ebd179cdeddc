"""Administrative templates (ADMX-backed ``groupPolicyConfigurations``) with their
definition values.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGN_200,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    STANDARD_REFS,
    CollectionRules,
    MergedList,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    SortRule,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG


FAMILY = TypeFamily(
    order=40,
    types=(
        PolicyType(
            key="administrative_template",
            label="Administrative templates",
            category="Device configuration",
            collection="deviceManagement/groupPolicyConfigurations",
            odata_types=odata_types("groupPolicyConfiguration"),
            default_odata_type=odata("groupPolicyConfiguration"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(
                FETCH_ITEM_ASSIGNMENTS,
                PerItemFetch(
                    kind="definitionValues",
                    path="definitionValues",
                    merge_into="definitionValues",
                    params=(("$expand", "definition,presentationValues($expand=presentation)"),),
                ),
            ),
            # Definition values are written through the configuration's definitionValues after it
            # exists (definition@odata.bind / presentation@odata.bind), never in its own body.
            write_excluded_fields=frozenset({"definitionValues"}),
            # updateDefinitionValues is sent with no deletions: the target's others are kept.
            merged_lists=(MergedList("definitionValues", "definition.id"),),
            child_id_paths=(
                "definitionValues[].id",
                "definitionValues[].presentationValues[].id",
            ),
            unordered_lists=(
                SortRule("definitionValues", ("definition.id",)),
                SortRule("definitionValues[].presentationValues", ("presentation.id",)),
            ),
            reduce_expanded=(
                ("definitionValues[].definition", ("id", "displayName")),
                ("definitionValues[].presentationValues[].presentation", ("id",)),
            ),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            description="ADMX-backed administrative template profiles and their definition values.",
            list_identities=("definition.id", "presentation.id"),
        ),
    ),
    collections=(
        CollectionRules(
            dm("groupPolicyConfigurations"),
            "group policy configuration",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("groupPolicyConfiguration"),
            has_version=False,
            navigation={
                "assignments": {},
                "definitionValues": {"definition": {}, "presentationValues": {"presentation": {}}},
            },
            assign=ASSIGN_200,
            child_posts=frozenset({"definitionValues"}),
            traits=frozenset({"admin_templates"}),
        ),
    ),
)
