"""Windows Autopilot deployment profiles (assigned one group at a time)."""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGNMENTS_NAV,
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    STANDARD_REFS,
    AssignSpec,
    CollectionRules,
    ListParams,
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
    order=70,
    types=(
        PolicyType(
            key="autopilot_profile",
            label="Windows Autopilot deployment profiles",
            category="Enrollment",
            collection="deviceManagement/windowsAutopilotDeploymentProfiles",
            odata_types=odata_types(
                "windowsAutopilotDeploymentProfile",
                "azureADWindowsAutopilotDeploymentProfile",
                "activeDirectoryWindowsAutopilotDeploymentProfile",
            ),
            list_params=ListParams(),
            per_item_fetch=(
                PerItemFetch(
                    kind="assignments",
                    path="assignments",
                    merge_into="assignments",
                    only_if_missing=False,
                ),
            ),
            read_only_fields=frozenset({"assignedDevices", "managementServiceAppId"}),
            assign=AssignSpec(
                path="assignments", body_key=None, expected_status=201, per_assignment=True
            ),
            foundation_refs=STANDARD_REFS,
            platform=PlatformRule(fixed="windows"),
            required_permission=PERMISSION_SERVICE_CONFIG + ".Read.All",
            write_permission=PERMISSION_SERVICE_CONFIG + ".ReadWrite.All",
            description="Windows Autopilot deployment profiles (assigned one group at a time).",
        ),
    ),
    collections=(
        CollectionRules(
            dm("windowsAutopilotDeploymentProfiles"),
            "Windows Autopilot deployment profile",
            f"{SERVICE}.Read.All",
            f"{SERVICE}.ReadWrite.All",
            entity_type=odata("windowsAutopilotDeploymentProfile"),
            navigation=ASSIGNMENTS_NAV,
            assignment_fields=("source", "sourceId"),
            child_posts=frozenset({"assignments"}),
            requires_odata_type=True,
            # createdDateTime and lastModifiedDateTime, no version (Graph's resource page)
            has_version=False,
            # Graph answers "" for a profile without a management service app (IntuneCD
            # writes "" back for a missing one, and reads no change against Graph).
            server_filled=(("managementServiceAppId", ""),),
        ),
    ),
)
