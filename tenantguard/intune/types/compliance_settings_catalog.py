"""Compliance policies on the settings catalog (``deviceManagement/compliancePolicies``): Linux
(and newer) compliance, with settings like configuration policies and scheduled actions for
noncompliance like the older compliance policies.

Graph facts (beta resource page ``deviceManagementCompliancePolicy``; its list, create, update,
``assign`` and ``setScheduledActions`` pages; ``deviceManagementComplianceScheduledActionForRule``):

- properties ``name``, ``description``, ``platforms``, ``technologies``, ``roleScopeTagIds``,
  ``creationSource``; read-only ``createdDateTime``, ``lastModifiedDateTime``,
  ``settingCount``, ``isAssigned``. No ``version``. Relationships: ``settings``
  (``deviceManagementConfigurationSetting``, as in ``configurationPolicies``),
  ``assignments``, ``scheduledActionsForRule`` (``ruleName``, ``scheduledActionConfigurations``:
  ``actionType``, ``gracePeriodHours``, ``notificationTemplateId``,
  ``notificationMessageCCList``).
- ``POST {id}/assign`` with ``{"assignments": [...]}`` answers 200 with the assignments;
  ``POST {id}/setScheduledActions`` with ``{"scheduledActions": [...]}`` answers 200 with the
  list and replaces it.
- properties change with ``PATCH``; the settings change with ``PUT`` of the whole policy with
  its settings (what IntuneCD 2.6.0 sends for a settings change, answered 204), as for
  settings catalog configuration policies. TenantGuard creates with ``POST`` (settings
  included) and then sets the scheduled actions, as IntuneCD does.

IntuneCD 2.6.0 lists ``compliancePolicies?$expand=settings`` and reads
``{id}/scheduledActionsForRule?$expand=scheduledActionConfigurations`` and
``{id}/assignments``; a Linux discovery script (``linux_customcompliance_discoveryscript``) is a
reusable policy setting it looks up with ``reusablePolicySettings?$filter=id eq '…'``.
"""

from __future__ import annotations

from tenantguard.intune.types.reusable_settings import REUSABLE_SETTING_REFS
from tenantguard.intune.types.settings_catalog import SETTINGS_PAGE
from tenantguard.intune.typespec import (
    ASSIGN_200,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    STANDARD_REFS,
    ChildListAction,
    CollectionRules,
    FoundationRef,
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

COMPLIANCE_POLICIES = dm("compliancePolicies")

_ACTIONS = "scheduledActionsForRule"

FAMILY = TypeFamily(
    order=25,
    types=(
        PolicyType(
            key="compliance_settings_catalog",
            label="Compliance policies (settings catalog)",
            category="Compliance",
            collection=COMPLIANCE_POLICIES,
            odata_types=odata_types("deviceManagementCompliancePolicy"),
            default_odata_type=odata("deviceManagementCompliancePolicy"),
            list_params=EXPAND_ASSIGNMENTS,
            per_item_fetch=(
                FETCH_ITEM_ASSIGNMENTS,
                # Graph pages settings at 25; IntuneCD reads them with top=1000 (on beta the "$" is
                # optional), so one read per policy up to 1,000 settings; nextLinks still followed.
                PerItemFetch(
                    kind="settings",
                    path="settings",
                    merge_into="settings",
                    params=SETTINGS_PAGE,
                ),
                PerItemFetch(
                    kind="scheduledActionsForRule",
                    path=_ACTIONS,
                    merge_into=_ACTIONS,
                    params=(("$expand", "scheduledActionConfigurations"),),
                ),
            ),
            read_only_fields=frozenset({"isAssigned", "settingCount", "creationSource"}),
            # Written by setScheduledActions (after a create, and when they differ).
            write_excluded_fields=frozenset({_ACTIONS}),
            child_id_paths=(
                "settings[].id",
                f"{_ACTIONS}[].id",
                f"{_ACTIONS}[].scheduledActionConfigurations[].id",
            ),
            unordered_lists=(
                SortRule("settings", ("settingInstance.settingDefinitionId",)),
                SortRule(_ACTIONS, ("ruleName",)),
                SortRule(
                    f"{_ACTIONS}[].scheduledActionConfigurations",
                    ("actionType", "gracePeriodHours", "notificationTemplateId"),
                ),
            ),
            sort_setting_children=True,
            update_method="PUT",
            child_list_actions=(
                ChildListAction(
                    property=_ACTIONS,
                    action="setScheduledActions",
                    body_key="scheduledActions",
                    after_create=True,
                ),
            ),
            foundation_refs=(
                *STANDARD_REFS,
                FoundationRef(
                    "notification_template",
                    f"{_ACTIONS}[].scheduledActionConfigurations[].notificationTemplateId",
                ),
                *REUSABLE_SETTING_REFS,
            ),
            platform=PlatformRule(property="platforms", from_odata_type=False),
            display_name_property="name",
            description=(
                "Compliance policies built on the settings catalog (compliancePolicies, e.g. "
                "Linux) with their settings and scheduled actions for noncompliance."
            ),
            list_identities=(
                "settingInstance.settingDefinitionId",
                "settingDefinitionId",
                "ruleName",
                "actionType",
            ),
        ),
    ),
    collections=(
        CollectionRules(
            COMPLIANCE_POLICIES,
            "compliance policy",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceManagementCompliancePolicy"),
            navigation={
                "assignments": {},
                "settings": {},
                _ACTIONS: {"scheduledActionConfigurations": {}},
            },
            assign=ASSIGN_200,
            update_methods=frozenset({"PUT", "PATCH"}),
            page_size=25,
            max_page_size=25,
            nav_page_sizes={"settings": 25},
            nav_max_page_sizes={"settings": 1000},
            has_version=False,
            server_filled=(("creationSource", None), ("isAssigned", False)),
            traits=frozenset({"settings_catalog", "compliance_settings_actions"}),
        ),
    ),
)
