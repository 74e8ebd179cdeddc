"""Device compliance policies with their scheduled actions for noncompliance."""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGN_200,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    STANDARD_REFS,
    CollectionRules,
    FoundationRef,
    ListParams,
    PerItemFetch,
    PolicyType,
    SortRule,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG

_COMPLIANCE_TYPES = odata_types(
    "androidCompliancePolicy",
    "androidDeviceOwnerCompliancePolicy",
    "androidForWorkCompliancePolicy",
    "androidWorkProfileCompliancePolicy",
    "aospDeviceOwnerCompliancePolicy",
    "defaultDeviceCompliancePolicy",
    "iosCompliancePolicy",
    "macOSCompliancePolicy",
    "windows10CompliancePolicy",
    "windows10MobileCompliancePolicy",
    "windows81CompliancePolicy",
    "windowsPhone81CompliancePolicy",
)

_COMPLIANCE_SCHEDULED_ACTIONS_EXPAND = (
    "assignments,scheduledActionsForRule($expand=scheduledActionConfigurations)"
)


FAMILY = TypeFamily(
    order=20,
    types=(
        PolicyType(
            key="compliance_policy",
            label="Compliance policies",
            category="Compliance",
            collection="deviceManagement/deviceCompliancePolicies",
            odata_types=_COMPLIANCE_TYPES,
            list_params=ListParams(expand=_COMPLIANCE_SCHEDULED_ACTIONS_EXPAND),
            per_item_fetch=(
                FETCH_ITEM_ASSIGNMENTS,
                PerItemFetch(
                    kind="scheduledActionsForRule",
                    path="scheduledActionsForRule",
                    merge_into="scheduledActionsForRule",
                    params=(("$expand", "scheduledActionConfigurations"),),
                ),
            ),
            # POST must carry exactly one block action; later changes go through
            # POST {id}/scheduleActionsForRules, never PATCH.
            create_only_fields=frozenset({"scheduledActionsForRule"}),
            child_id_paths=(
                "scheduledActionsForRule[].id",
                "scheduledActionsForRule[].scheduledActionConfigurations[].id",
            ),
            unordered_lists=(
                SortRule("scheduledActionsForRule", ("ruleName",)),
                SortRule(
                    "scheduledActionsForRule[].scheduledActionConfigurations",
                    ("actionType", "gracePeriodHours", "notificationTemplateId"),
                ),
            ),
            foundation_refs=(
                *STANDARD_REFS,
                FoundationRef(
                    "notification_template",
                    "scheduledActionsForRule[].scheduledActionConfigurations[].notificationTemplateId",
                ),
                FoundationRef(
                    "compliance_script",
                    "deviceCompliancePolicyScript.deviceComplianceScriptId",
                ),
            ),
            description="Device compliance policies with their scheduled actions for noncompliance.",
            list_identities=("ruleName", "actionType"),
        ),
    ),
    collections=(
        CollectionRules(
            dm("deviceCompliancePolicies"),
            "compliance policy",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceCompliancePolicy"),
            navigation={
                "assignments": {},
                "scheduledActionsForRule": {"scheduledActionConfigurations": {}},
            },
            assign=ASSIGN_200,
            requires_odata_type=True,
            traits=frozenset({"compliance_actions"}),
        ),
    ),
)
