"""Windows platform scripts and remediation (device health) scripts."""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGNMENTS_NAV,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    STANDARD_REFS,
    AssignContract,
    AssignSpec,
    CollectionRules,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG


FAMILY = TypeFamily(
    order=50,
    types=(
        PolicyType(
            key="powershell_script",
            label="PowerShell scripts",
            category="Scripts",
            collection="deviceManagement/deviceManagementScripts",
            odata_types=odata_types("deviceManagementScript"),
            default_odata_type=odata("deviceManagementScript"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(
                FETCH_ITEM_ASSIGNMENTS,
                PerItemFetch(
                    kind="scriptContent",
                    path="",
                    merge_into=None,
                    only_if_missing=False,
                    is_collection=False,
                    merge_fields=("scriptContent",),
                ),
            ),
            assign=AssignSpec(body_key="deviceManagementScriptAssignments", expected_status=204),
            read_only_fields=frozenset({"groupAssignments", "runSummary", "deviceRunStates"}),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            description="Windows PowerShell platform scripts (content captured base64).",
        ),
        PolicyType(
            key="remediation_script",
            label="Remediations",
            category="Scripts",
            collection="deviceManagement/deviceHealthScripts",
            odata_types=odata_types("deviceHealthScript"),
            default_odata_type=odata("deviceHealthScript"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(
                FETCH_ITEM_ASSIGNMENTS,
                PerItemFetch(
                    kind="scriptContent",
                    path="",
                    merge_into=None,
                    only_if_missing=False,
                    is_collection=False,
                    merge_fields=("detectionScriptContent", "remediationScriptContent"),
                ),
            ),
            assign=AssignSpec(body_key="deviceHealthScriptAssignments", expected_status=204),
            read_only_fields=frozenset({"runSummary", "deviceRunStates"}),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            description="Proactive remediation (detection + remediation) script packages.",
        ),
    ),
    collections=(
        CollectionRules(
            dm("deviceManagementScripts"),
            "device management script",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceManagementScript"),
            has_version=False,
            navigation=ASSIGNMENTS_NAV,
            assign=AssignContract("deviceManagementScriptAssignments", 204),
            assignment_fields=(),
            list_nulls=("scriptContent",),
            id_aliases=(dm("deviceShellScripts"), dm("deviceCustomAttributeShellScripts")),
        ),
        CollectionRules(
            dm("deviceHealthScripts"),
            "device health script",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceHealthScript"),
            navigation=ASSIGNMENTS_NAV,
            assign=AssignContract("deviceHealthScriptAssignments", 204),
            assignment_fields=(),
            list_nulls=("detectionScriptContent", "remediationScriptContent"),
        ),
    ),
)
