"""Settings catalog and endpoint security policies (``configurationPolicies``)."""

from __future__ import annotations

from typing import Any

from tenantguard.intune.types.reusable_settings import REUSABLE_SETTING_REFS
from tenantguard.intune.typespec import (
    ASSIGN_200,
    EXPAND_ASSIGNMENTS,
    FETCH_ITEM_ASSIGNMENTS,
    PERMISSION_CONFIGURATION,
    PERMISSION_SERVICE_CONFIG,
    STANDARD_REFS,
    CollectionRules,
    PerItemFetch,
    PlatformRule,
    PolicyType,
    PropertyPrefix,
    SortRule,
    TypeFamily,
    dm,
    odata,
    odata_types,
)

CONFIG = PERMISSION_CONFIGURATION
SERVICE = PERMISSION_SERVICE_CONFIG

#: Query of a policy's ``settings`` read: the largest page Graph gives (it pages at 25 by
#: default; IntuneCD asks ``top=1000``, others ``top=999``).
SETTINGS_PAGE: tuple[tuple[str, str], ...] = (("$top", "1000"),)

_SETTINGS_CATALOG_COMMON: dict[str, Any] = {
    "category": "Settings catalog",
    "collection": "deviceManagement/configurationPolicies",
    "default_odata_type": odata("deviceManagementConfigurationPolicy"),
    "odata_types": odata_types("deviceManagementConfigurationPolicy"),
    "list_params": EXPAND_ASSIGNMENTS,
    "per_item_fetch": (
        FETCH_ITEM_ASSIGNMENTS,
        # Graph pages settings at 25; IntuneCD reads them with top=1000 (on beta the "$" is
        # optional), so one read per policy up to 1,000 settings; nextLinks still followed.
        PerItemFetch(
            kind="settings",
            path="settings",
            merge_into="settings",
            params=SETTINGS_PAGE,
        ),
    ),
    "read_only_fields": frozenset({"isAssigned", "settingCount", "creationSource"}),
    "child_id_paths": ("settings[].id",),
    "unordered_lists": (SortRule("settings", ("settingInstance.settingDefinitionId",)),),
    "sort_setting_children": True,
    "update_method": "PUT",
    # Firewall rules and device control name reusable policy settings inside setting values.
    "foundation_refs": (*STANDARD_REFS, *REUSABLE_SETTING_REFS),
    "platform": PlatformRule(property="platforms", from_odata_type=False),
    "display_name_property": "name",
    "list_identities": ("settingInstance.settingDefinitionId", "settingDefinitionId"),
}


FAMILY = TypeFamily(
    order=30,
    types=(
        PolicyType(
            key="settings_catalog",
            label="Settings catalog",
            discriminator=PropertyPrefix(
                "templateReference.templateFamily", "endpointSecurity", negate=True
            ),
            description="Settings catalog policies (configurationPolicies without a security template).",
            **_SETTINGS_CATALOG_COMMON,
        ),
        PolicyType(
            key="endpoint_security",
            label="Endpoint security policies",
            discriminator=PropertyPrefix("templateReference.templateFamily", "endpointSecurity"),
            description="Endpoint security policies (configurationPolicies with a security template).",
            **{**_SETTINGS_CATALOG_COMMON, "category": "Endpoint security"},
        ),
    ),
    collections=(
        CollectionRules(
            dm("configurationPolicies"),
            "configuration policy",
            f"{CONFIG}.Read.All",
            f"{CONFIG}.ReadWrite.All",
            entity_type=odata("deviceManagementConfigurationPolicy"),
            navigation={"assignments": {}, "settings": {}},
            assign=ASSIGN_200,
            update_methods=frozenset({"PUT", "PATCH"}),
            page_size=25,
            max_page_size=25,
            nav_page_sizes={"settings": 25},
            # $top/top raises the settings page up to 1000 (what clients ask for: IntuneCD sends
            # top=1000, others $top=999/1000); more is capped and paged with a nextLink.
            nav_max_page_sizes={"settings": 1000},
            has_version=False,
            server_filled=(("creationSource", None), ("isAssigned", False)),
            traits=frozenset({"settings_catalog"}),
        ),
    ),
)
