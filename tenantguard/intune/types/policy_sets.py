"""Policy sets (``deviceAppManagement/policySets``): backed up and compared, never written.

A policy set groups apps, app configuration and protection policies, device configuration and
compliance policies, scripts and enrollment profiles by their ids: each element of ``items`` is
a ``policySetItem`` subtype (``mobileAppPolicySetItem`` with ``intent`` / ``settings``,
``managedAppProtectionPolicySetItem``, ``managedDeviceMobileAppConfigurationPolicySetItem``,
``targetedManagedAppConfigurationPolicySetItem``, ``deviceConfigurationPolicySetItem``,
``deviceManagementConfigurationPolicyPolicySetItem``, ``deviceCompliancePolicyPolicySetItem``,
``deviceManagementScriptPolicySetItem``, ``enrollmentRestrictionsConfigurationPolicySetItem``,
``windowsAutopilotDeploymentProfilePolicySetItem``,
``windows10EnrollmentCompletionPageConfigurationPolicySetItem``,
``iosLobAppProvisioningConfigurationPolicySetItem``,
``mdmWindowsInformationProtectionPolicyPolicySetItem``) naming its object by ``payloadId``.
Graph changes a set through ``POST {id}/update`` (``addedPolicySetItems``,
``updatedPolicySetItems``, ``deletedPolicySetItems``, ``assignments``) and then assigns every
item itself (its assignments carry ``source: policySets``).

Why preview-only: writing a set means rewriting every ``payloadId`` to the target's id of an
object of one of a dozen types (apps, enrollment profiles, ...), and a wrong one makes Graph
re-assign the wrong object; TenantGuard shows the differences (items by ``payloadId``, scope
tags in ``roleScopeTags``, assignments) and restores the objects themselves, and the admin
rebuilds the set in the portal.

Graph facts: learn.microsoft.com, Graph beta ``policySet`` (``status``, ``errorCode`` are
validation state; no ``version``; scope tags in ``roleScopeTags``; permission
DeviceManagementConfiguration) and ``policySetItem``.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    FILTER_REF,
    PERMISSION_CONFIGURATION,
    AssignSpec,
    CollectionRules,
    FoundationRef,
    ListParams,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    SortRule,
    TypeFamily,
    odata,
    odata_types,
)

POLICY_SETS = "deviceAppManagement/policySets"

PREVIEW_ONLY_REASON = (
    "A policy set points at its apps and policies by their ids and Graph re-assigns every "
    "item when the set changes, so TenantGuard shows its differences but never writes it: "
    "restore the apps and policies it holds, then recreate or edit the policy set in the "
    "Intune admin center (Apps > Policy sets)."
)

FAMILY = TypeFamily(
    # After everything a set can hold.
    order=95,
    types=(
        PolicyType(
            key="policy_set",
            label="Policy sets",
            category="Apps",
            collection=POLICY_SETS,
            odata_types=odata_types("policySet"),
            default_odata_type=odata("policySet"),
            list_params=ListParams(expand="assignments,items"),
            per_item_fetch=(
                PerItemFetch(kind="assignments", path="assignments", merge_into="assignments"),
                PerItemFetch(kind="policySetItems", path="items", merge_into="items"),
            ),
            read_only_fields=frozenset({"status", "errorCode"}),
            write_excluded_fields=frozenset({"items"}),
            child_id_paths=("items[].id", "items[].status", "items[].errorCode"),
            unordered_lists=(SortRule("items", ("payloadId",)),),
            # Assignments go through POST {id}/update; never sent (preview-only).
            assign=AssignSpec(path="update", body_key="assignments", expected_status=204),
            scope_tag_property="roleScopeTags",
            foundation_refs=(FoundationRef("scope_tag", "roleScopeTags[]"), FILTER_REF),
            platform=PlatformRule(fixed="all"),
            restore_mode="preview-only",
            preview_only_reason=PREVIEW_ONLY_REASON,
            required_permission=PERMISSION_CONFIGURATION + ".Read.All",
            write_permission=PERMISSION_CONFIGURATION + ".ReadWrite.All",
            description="Policy sets (backed up and compared, never written).",
            list_identities=("payloadId",),
        ),
    ),
    collections=(
        CollectionRules(
            POLICY_SETS,
            "policy set",
            f"{PERMISSION_CONFIGURATION}.Read.All",
            f"{PERMISSION_CONFIGURATION}.ReadWrite.All",
            entity_type=odata("policySet"),
            navigation={"assignments": {}, "items": {}},
            has_version=False,
            read_only=("status", "errorCode"),
            server_filled=(("status", "notAssigned"), ("errorCode", "noError")),
        ),
    ),
)
