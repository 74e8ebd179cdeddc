"""The source tenant's own identifiers in payloads: found in every place, replaced by the target's.

Payloads are shaped as Graph returns them: a settings catalog Windows Hello for Business policy
(tenant ID as a simple setting value), an administrative template with the OneDrive Known Folder
Move and team-site-sync ADMX settings (tenant ID and an URL-encoded SharePoint URL as
presentation values) and a custom OMA-URI profile (a SharePoint URL inside an ADMX-backed
string value, the tenant ID inside an OMA-URI path).
"""

from __future__ import annotations

import copy
import json

import pytest

from tenantguard.intune.tenant_identity import (
    TenantIdentity,
    counterparts,
    find_identifiers,
    identity_from_organization,
    identity_from_record,
    replace_identifiers,
)

SOURCE_ID = "8f2b1c3d-4e5f-4a6b-9c7d-0e1f2a3b4c5d"
TARGET_ID = "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9"

SOURCE_ORGANIZATION = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization",
    "value": [
        {
            "id": SOURCE_ID,
            "displayName": "Contoso",
            "verifiedDomains": [
                {
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": False,
                    "isInitial": True,
                    "name": "contoso.onmicrosoft.com",
                    "type": "Managed",
                },
                {
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": True,
                    "isInitial": False,
                    "name": "contoso.com",
                    "type": "Managed",
                },
                {
                    "capabilities": "Email",
                    "isDefault": False,
                    "isInitial": False,
                    "name": "contoso-labs.net",
                    "type": "Managed",
                },
            ],
        }
    ],
}
TARGET_ORGANIZATION = {
    "value": [
        {
            "id": TARGET_ID,
            "displayName": "Fabrikam",
            "verifiedDomains": [
                {"name": "fabrikamcorp.onmicrosoft.com", "isDefault": False, "isInitial": True},
                {"name": "fabrikam.com", "isDefault": True, "isInitial": False},
            ],
        }
    ]
}

WHFB = "device_vendor_msft_passportforwork_{tenantid}"
WHFB_SETTINGS_CATALOG = {
    "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicy",
    "name": "WIN - SC - Windows Hello for Business",
    "platforms": "windows10",
    "technologies": "mdm",
    "roleScopeTagIds": ["0"],
    "settings": [
        {
            "id": "0",
            "settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance",
                "settingDefinitionId": WHFB,
                "groupSettingCollectionValue": [
                    {
                        "children": [
                            {
                                "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                                "settingDefinitionId": f"{WHFB}_tenantid",
                                "simpleSettingValue": {
                                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValue",
                                    "value": SOURCE_ID,
                                },
                            },
                            {
                                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                                "settingDefinitionId": f"{WHFB}_policies_usepassportforwork",
                                "choiceSettingValue": {
                                    "value": f"{WHFB}_policies_usepassportforwork_true",
                                    "children": [],
                                },
                            },
                        ]
                    }
                ],
            },
        }
    ],
}

ONEDRIVE_ADMX = {
    "displayName": "WIN - ADMX - OneDrive Known Folder Move",
    "description": "Silent KFM for contoso.com users",
    "definitionValues": [
        {
            "enabled": True,
            "definition": {
                "id": "81d5b9ac-3dc7-4b0c-9d8f-5f64e29e8ff5",
                "displayName": "Silently move Windows known folders to OneDrive",
                "classType": "machine",
                "categoryPath": "\\OneDrive",
            },
            "presentationValues": [
                {
                    "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText",
                    "value": SOURCE_ID.upper(),
                    "presentation": {
                        "id": "c0d1e2f3-0000-4000-8000-000000000001",
                        "label": "Tenant ID:",
                    },
                },
                {
                    "@odata.type": "#microsoft.graph.groupPolicyPresentationValueBoolean",
                    "value": True,
                    "presentation": {"id": "c0d1e2f3-0000-4000-8000-000000000002"},
                },
            ],
        },
        {
            "enabled": True,
            "definition": {
                "id": "dbb4a1de-1a55-4a27-bcf1-7a1bb1d45b3e",
                "displayName": "Configure team site libraries to sync automatically",
                "classType": "user",
            },
            "presentationValues": [
                {
                    "@odata.type": "#microsoft.graph.groupPolicyPresentationValueList",
                    "values": [
                        {
                            "name": "Finance",
                            "value": f"tenantId={SOURCE_ID}&siteId=%7B2f1e3d4c-aaaa-4bbb-8ccc"
                            "-0123456789ab%7D&webUrl=https%3A%2F%2FContoso.SharePoint.com"
                            "%2Fsites%2FFinance&version=1",
                        }
                    ],
                    "presentation": {"id": "c0d1e2f3-0000-4000-8000-000000000003"},
                },
            ],
        },
    ],
}

OMA_URI_PROFILE = {
    "@odata.type": "#microsoft.graph.windows10CustomConfiguration",
    "displayName": "WIN - OMA - Edge home page and WHfB",
    "omaSettings": [
        {
            "@odata.type": "#microsoft.graph.omaSettingString",
            "displayName": "Edge home page",
            "omaUri": "./Device/Vendor/MSFT/Policy/Config/Edge~Policy~microsoft_edge~Startup/HomepageLocation",
            "value": '<enabled/><data id="HomepageLocation" '
            'value="https://contoso.sharepoint.com/sites/intranet"/>',
        },
        {
            "@odata.type": "#microsoft.graph.omaSettingBoolean",
            "displayName": "Use Windows Hello",
            "omaUri": f"./Device/Vendor/MSFT/PassportForWork/{SOURCE_ID}/Policies/UsePassportForWork",
            "value": True,
        },
        {
            "@odata.type": "#microsoft.graph.omaSettingString",
            "displayName": "Look-alikes (not the tenant's)",
            "omaUri": "./User/Vendor/MSFT/Policy/Config/Custom/Sites",
            "value": "https://notcontoso.com https://contoso.com.au https://fabrikam.sharepoint.com "
            "https://contoso-my.sharepoint.com/personal/alex_contoso_com",
        },
    ],
}


@pytest.fixture
def source() -> TenantIdentity:
    return identity_from_organization(SOURCE_ORGANIZATION)


@pytest.fixture
def target() -> TenantIdentity:
    return identity_from_organization(TARGET_ORGANIZATION)


def test_organization_answer_gives_id_and_domains(source):
    assert source.tenant_id == SOURCE_ID
    assert source.initial_domain == "contoso.onmicrosoft.com"
    assert source.default_domain == "contoso.com"
    assert TenantIdentity.from_json(source.to_json()) == source


def test_settings_catalog_whfb_tenant_id_is_found_in_the_setting_value(source, target):
    places = find_identifiers(WHFB_SETTINGS_CATALOG, source, target)

    assert [(p.path, p.kind, p.found, p.replacement) for p in places] == [
        (
            "settings[0].settingInstance.groupSettingCollectionValue[0].children[0]"
            ".simpleSettingValue.value",
            "tenant_id",
            SOURCE_ID,
            TARGET_ID,
        )
    ]


def test_admx_onedrive_kfm_values_are_found_case_insensitively_and_url_encoded(source, target):
    places = find_identifiers(ONEDRIVE_ADMX, source, target)

    found = {(p.path, p.found) for p in places}
    assert found == {
        ("description", "contoso.com"),
        ("definitionValues[0].presentationValues[0].value", SOURCE_ID),
        ("definitionValues[1].presentationValues[0].values[0].value", SOURCE_ID),
        ("definitionValues[1].presentationValues[0].values[0].value", "contoso.sharepoint.com"),
    }


def test_oma_uri_values_and_paths_are_found_but_look_alikes_are_not(source, target):
    places = find_identifiers(OMA_URI_PROFILE, source, target)

    assert [(p.path, p.kind, p.found) for p in places] == [
        ("omaSettings[0].value", "sharepoint", "contoso.sharepoint.com"),
        ("omaSettings[1].omaUri", "tenant_id", SOURCE_ID),
        ("omaSettings[2].value", "sharepoint_my", "contoso-my.sharepoint.com"),
    ]


def test_replacement_writes_the_targets_values_and_keeps_everything_else(source, target):
    original = copy.deepcopy(ONEDRIVE_ADMX)
    scan = replace_identifiers(ONEDRIVE_ADMX, source, target)

    assert ONEDRIVE_ADMX == original, "the input is not changed"
    values = scan.payload["definitionValues"]
    assert values[0]["presentationValues"][0]["value"] == TARGET_ID.upper(), "case kept"
    synced = values[1]["presentationValues"][0]["values"][0]["value"]
    assert synced.startswith(f"tenantId={TARGET_ID}&siteId=%7B2f1e3d4c-aaaa")
    assert "https%3A%2F%2Ffabrikamcorp.sharepoint.com%2Fsites%2FFinance" in synced
    assert scan.payload["description"] == "Silent KFM for fabrikam.com users"
    assert not scan.unreplaced
    text = json.dumps(scan.payload).lower()
    assert SOURCE_ID not in text and "contoso" not in text

    oma = replace_identifiers(OMA_URI_PROFILE, source, target).payload["omaSettings"]
    assert "https://fabrikamcorp.sharepoint.com/sites/intranet" in oma[0]["value"]
    assert (
        oma[1]["omaUri"]
        == f"./Device/Vendor/MSFT/PassportForWork/{TARGET_ID}/Policies/UsePassportForWork"
    )
    assert "https://notcontoso.com https://contoso.com.au" in oma[2]["value"]
    assert "https://fabrikamcorp-my.sharepoint.com/personal/alex_contoso_com" in oma[2]["value"]


def test_a_verified_domain_without_counterpart_is_reported_not_replaced(source, target):
    payload = {"description": "Mail relay smtp.contoso-labs.net"}
    scan = replace_identifiers(payload, source, target)

    assert scan.payload == payload
    assert [(p.kind, p.found, p.replacement) for p in scan.unreplaced] == [
        ("domain", "contoso-labs.net", None)
    ]
    assert counterparts(source, target)["contoso.onmicrosoft.com"] == "fabrikamcorp.onmicrosoft.com"


def test_the_tenant_record_is_the_fallback_identity():
    by_guid = identity_from_record(SOURCE_ID.upper())
    assert by_guid.tenant_id == SOURCE_ID and not by_guid.domains
    by_domain = identity_from_record("contoso.onmicrosoft.com")
    assert by_domain.initial_domain == "contoso.onmicrosoft.com"
    places = find_identifiers({"v": "https://contoso-my.sharepoint.com"}, by_domain)
    assert [p.kind for p in places] == ["sharepoint_my"]
    assert find_identifiers(WHFB_SETTINGS_CATALOG, identity_from_record("")) == []
