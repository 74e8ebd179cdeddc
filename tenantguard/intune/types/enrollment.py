"""Device enrollment configurations (restrictions, limits, ...)."""

from __future__ import annotations

from tenantguard.intune.typespec import (
    ASSIGNMENTS_NAV,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    SCOPE_TAG_REF,
    AssignSpec,
    CollectionRules,
    PlatformRule,
    PolicyType,
    TypeFamily,
    dm,
    odata,
)

CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG


FAMILY = TypeFamily(
    order=100,
    types=(
        PolicyType(
            key="enrollment_restriction",
            label="Enrollment restrictions",
            category="Enrollment",
            collection="deviceManagement/deviceEnrollmentConfigurations",
            odata_types=frozenset(),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(FETCH_ITEM_ASSIGNMENTS,),
            read_only_fields=frozenset({"priority"}),
            assign=AssignSpec(body_key="enrollmentConfigurationAssignments"),
            foundation_refs=(SCOPE_TAG_REF,),
            platform=PlatformRule(fixed="all"),
            restore_mode="preview-only",
            required_permission=PERMISSION_SERVICE_CONFIG + ".Read.All",
            write_permission=PERMISSION_SERVICE_CONFIG + ".ReadWrite.All",
            description="Enrollment restrictions and limits (backed up and compared, never written).",
        ),
    ),
    collections=(
        CollectionRules(
            dm("deviceEnrollmentConfigurations"),
            "device enrollment configuration",
            f"{SERVICE}.Read.All",
            f"{SERVICE}.ReadWrite.All",
            entity_type=odata("deviceEnrollmentConfiguration"),
            navigation=ASSIGNMENTS_NAV,
            writable=False,
        ),
    ),
    builtin_objects=(
        (
            dm("deviceEnrollmentConfigurations"),
            {
                "@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
                "id": "00000000-0000-0000-0000-000000000000_DefaultLimit",
                "displayName": "All users and all devices",
                "description": "This is the default Device Limit Restriction applied with the "
                "lowest priority to all users regardless of group membership.",
                "priority": 0,
                "deviceEnrollmentConfigurationType": "limit",
                "limit": 15,
                "roleScopeTagIds": ["0"],
                "version": 1,
                "assignments": [],
            },
        ),
        (
            dm("deviceEnrollmentConfigurations"),
            {
                "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration",
                "id": "00000000-0000-0000-0000-000000000000_DefaultPlatformRestrictions",
                "displayName": "All users and all devices",
                "description": "This is the default Device Type Restriction applied with the "
                "lowest priority to all users regardless of group membership.",
                "priority": 0,
                "deviceEnrollmentConfigurationType": "platformRestrictions",
                "roleScopeTagIds": ["0"],
                "version": 1,
                "assignments": [],
            },
        ),
    ),
)
