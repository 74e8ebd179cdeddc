"""Reusable policy settings (``deviceManagement/reusablePolicySettings``): foundations that
settings catalog policies point at by id.

Graph facts (beta resource page ``deviceManagementReusablePolicySetting`` and its list, get,
create and update pages):

- properties ``displayName``, ``description``, ``settingDefinitionId``, ``settingInstance`` (a
  settings catalog setting instance); ``createdDateTime``, ``lastModifiedDateTime``, ``version``
  (Int32) and ``referencingConfigurationPolicyCount`` are read-only; the
  ``referencingConfigurationPolicies`` relationship is read-only too. No ``roleScopeTagIds``,
  no assignments (IntuneCD: "Reusable Policy Settings have no assignments").
- created with ``POST deviceManagement/reusablePolicySettings`` (201) and updated with
  ``PATCH`` (the page shows PATCH; IntuneCD sends PUT, which the emulator does not need).
- IntuneCD lists them with ``$select=id,settinginstance,displayname,description,
  settingDefinitionId,version`` (lower-case names: Graph's ``$select`` ignores case), a hint
  that a plain listing may leave ``settingInstance`` out; TenantGuard selects it too.

Who points at them (the ``reusable_setting`` reference kind), by the setting value that holds
the reusable setting's id:

- endpoint security firewall rules: ``vendor_msft_firewall_mdmstore_firewallrules_
  {firewallrulename}_remoteaddressdynamickeywords`` (``simpleSettingCollectionValue[].value``;
  the dynamic keyword address groups are reusable settings);
- endpoint security device control: ``device_vendor_msft_defender_configuration_devicecontrol_
  policyrules_{ruleid}_ruledata_includedidlist_groupid`` / ``..._excludedidlist_groupid``
  (``simpleSettingValue.value``, a ``deviceManagementConfigurationReferenceSettingValue``);
- Linux custom compliance (``compliancePolicies``): ``linux_customcompliance_discoveryscript``
  (``simpleSettingValue.value``; the script is a reusable setting of definition
  ``linux_customcompliance_discoveryscript_reusablesetting``, as IntuneCD reads it).

``REUSABLE_SETTING_REFS`` below are those places as ``FoundationRef`` paths (relative to a
settings catalog policy) for the settings catalog and compliance type modules. The family's
order (3) puts reusable settings before every policy family that uses them.
"""

from __future__ import annotations

from tenantguard.intune.typespec import (
    PERMISSION_CONFIGURATION,
    CollectionRules,
    FoundationRef,
    ListParams,
    PlatformRule,
    PolicyType,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION

REUSABLE_POLICY_SETTINGS = dm("reusablePolicySettings")

#: The reference kind's key (``reference_kinds.KINDS``) and this type's key.
REUSABLE_SETTING = "reusable_setting"

#: Setting definitions whose value is the id of a reusable setting, with where the id sits in
#: the setting instance.
_REFERENCING_SETTINGS: tuple[tuple[str, str], ...] = (
    (
        "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}"
        "_remoteaddressdynamickeywords",
        "simpleSettingCollectionValue[].value",
    ),
    (
        "device_vendor_msft_defender_configuration_devicecontrol_policyrules_{ruleid}"
        "_ruledata_includedidlist_groupid",
        "simpleSettingValue.value",
    ),
    (
        "device_vendor_msft_defender_configuration_devicecontrol_policyrules_{ruleid}"
        "_ruledata_excludedidlist_groupid",
        "simpleSettingValue.value",
    ),
    ("linux_customcompliance_discoveryscript", "simpleSettingValue.value"),
)

#: Graph's value type for "the id of a reusable setting" (any setting definition may use it).
REFERENCE_SETTING_VALUE = "#microsoft.graph.deviceManagementConfigurationReferenceSettingValue"

#: Where a settings catalog policy (``settings[]``) refers to reusable settings: the known
#: settings (some, like firewall keyword groups, hold the id as a plain string value), then any
#: reference-typed value wherever it sits (a place both name counts once).
REUSABLE_SETTING_REFS: tuple[FoundationRef, ...] = (
    *(
        FoundationRef(
            REUSABLE_SETTING,
            f"settings[].settingInstance.**[settingDefinitionId={definition}].{value_path}",
        )
        for definition, value_path in _REFERENCING_SETTINGS
    ),
    FoundationRef(
        REUSABLE_SETTING,
        f"settings[].settingInstance.**[@odata.type={REFERENCE_SETTING_VALUE}].value",
    ),
)

_SELECT = (
    "id,displayName,description,settingDefinitionId,settingInstance,version,"
    "createdDateTime,lastModifiedDateTime,referencingConfigurationPolicyCount"
)


FAMILY = TypeFamily(
    order=3,
    types=(
        PolicyType(
            key=REUSABLE_SETTING,
            label="Reusable policy settings",
            category="Endpoint security",
            collection=REUSABLE_POLICY_SETTINGS,
            odata_types=odata_types("deviceManagementReusablePolicySetting"),
            default_odata_type=odata("deviceManagementReusablePolicySetting"),
            list_params=ListParams(select=_SELECT),
            read_only_fields=frozenset(
                {"referencingConfigurationPolicyCount", "referencingConfigurationPolicies"}
            ),
            sort_setting_children=True,
            assign=None,
            scope_tag_property=None,
            foundation_refs=(),
            platform=PlatformRule(from_odata_type=False),
            is_foundation=True,
            description=(
                "Reusable settings (firewall dynamic keyword address groups, device control "
                "groups, Linux discovery scripts) that firewall, device control and compliance "
                "policies point at by id."
            ),
            list_identities=("settingDefinitionId",),
        ),
    ),
    collections=(
        CollectionRules(
            REUSABLE_POLICY_SETTINGS,
            "reusable policy setting",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceManagementReusablePolicySetting"),
            server_filled=(("referencingConfigurationPolicyCount", 0),),
            read_only=("referencingConfigurationPolicyCount",),
            # GET {id}/referencingConfigurationPolicies, computed (emulator/traits_endpoint.py)
            traits=frozenset({"reusable_settings"}),
        ),
    ),
)
