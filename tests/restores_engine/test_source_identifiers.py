"""A cross-tenant restore never writes the source tenant's own identifiers unnoticed.

The source tenant (``tenant``, Contoso Test) holds a Windows Hello for Business settings catalog
policy with its tenant ID and a custom OMA-URI profile with its SharePoint URL and its tenant ID
in an OMA-URI path. Both tenants serve their own ``organization`` from the emulator. Restored
into ``prod_tenant`` the checks list each place (blocking until decided), the options replace
them with the target's values (shown in the preview, written exactly so) or keep them (an
explicit, audited choice); restoring into the tenant itself raises nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tenantguard.audit.models import AuditEvent
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.presentation import SEPARATOR
from tenantguard.restores.services import runs
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import emulated_tenant

from .helpers import preview_of, results

SOURCE_ID = "8f2b1c3d-4e5f-4a6b-9c7d-0e1f2a3b4c5d"
TARGET_ID = "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9"
WHFB_NAME = "WIN - SC - Windows Hello for Business"
OMA_NAME = "WIN - OMA - Intranet home page"
WHFB = "device_vendor_msft_passportforwork_{tenantid}"
HOMEPAGE_URI = (
    "./Device/Vendor/MSFT/Policy/Config/Edge~Policy~microsoft_edge~Startup/HomepageLocation"
)
WHFB_VALUE_PATH = "settings[0].settingInstance.groupSettingCollectionValue[0].children[0].simpleSettingValue.value"
CONTEXT = "https://graph.microsoft.com/beta/$metadata#"


def organization(object_id: str, initial: str, default: str) -> dict[str, Any]:
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization/$entity",
        "id": object_id,
        "displayName": initial.split(".")[0].title(),
        "verifiedDomains": [
            {"name": initial, "isInitial": True, "isDefault": initial == default},
            *(
                [{"name": default, "isInitial": False, "isDefault": True}]
                if default != initial
                else []
            ),
        ],
    }


def whfb_policy() -> dict[str, Any]:
    return {
        "@odata.context": f"{CONTEXT}deviceManagement/configurationPolicies/$entity",
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicy",
        "name": WHFB_NAME,
        "description": "",
        "platforms": "windows10",
        "technologies": "mdm",
        "roleScopeTagIds": ["0"],
        "templateReference": {"templateId": "", "templateFamily": "none"},
        "assignments": [],
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
                                }
                            ]
                        }
                    ],
                },
            }
        ],
    }


def oma_profile() -> dict[str, Any]:
    return {
        "@odata.context": f"{CONTEXT}deviceManagement/deviceConfigurations/$entity",
        "@odata.type": "#microsoft.graph.windows10CustomConfiguration",
        "displayName": OMA_NAME,
        "description": "",
        "roleScopeTagIds": ["0"],
        "assignments": [],
        "omaSettings": [
            {
                "@odata.type": "#microsoft.graph.omaSettingString",
                "displayName": "Edge home page",
                "omaUri": HOMEPAGE_URI,
                "value": '<enabled/><data id="HomepageLocation" '
                'value="https://Contoso.SharePoint.com/sites/intranet"/>',
            },
            {
                "@odata.type": "#microsoft.graph.omaSettingBoolean",
                "displayName": "Use Windows Hello",
                "omaUri": f"./Device/Vendor/MSFT/PassportForWork/{SOURCE_ID}/Policies/UsePassportForWork",
                "value": True,
            },
        ],
    }


def put(emulated: Any, *objects: dict[str, Any]) -> None:
    for obj in objects:
        emulated.put_object(collection_of(obj, source="test"), obj)


@pytest.fixture
def source_tenant(emulated: Any) -> Any:
    put(
        emulated,
        organization(SOURCE_ID, "contoso.onmicrosoft.com", "contoso.com"),
        whfb_policy(),
        oma_profile(),
    )
    return emulated


@pytest.fixture
def target_tenant(prod_tenant: Any) -> Any:
    emulated = emulated_tenant(prod_tenant)
    put(emulated, organization(TARGET_ID, "fabrikamcorp.onmicrosoft.com", "fabrikam.com"))
    return emulated


@pytest.fixture
def source_backup(source_tenant: Any, tenant: Any, take_backup: Any) -> Any:
    return take_backup(tenant)


def execute(owner: Any, run: RestoreRun, label: str) -> RestoreRun:
    run = runs.restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = runs.restore_run_confirm(actor=owner, run=run, acknowledged=True, typed_label=label)
    return restore_run_execute(run_id=runs.restore_run_queue_execution(actor=owner, run=run).pk)


def written(emulated: Any, collection: str, name: str) -> dict[str, Any]:
    key = "name" if collection.endswith("configurationPolicies") else "displayName"
    return next(o for o in emulated.list_objects(collection) if o[key] == name)


def test_backup_keeps_the_source_tenants_identity(source_backup):
    assert source_backup.source_identity["tenant_id"] == SOURCE_ID
    assert {d["name"] for d in source_backup.source_identity["verified_domains"]} == {
        "contoso.onmicrosoft.com",
        "contoso.com",
    }


def test_cross_tenant_checks_list_each_place_and_block_until_decided(
    source_backup, target_tenant, prod_tenant, owner, start_run
):
    run = restore_run_run_checks(actor=owner, run=start_run(prod_tenant, source_backup))

    whfb = results(run, "source_tenant_identifier", WHFB_NAME)
    oma = results(run, "source_tenant_identifier", OMA_NAME)
    assert [r.severity for r in whfb + oma] == ["blocking", "blocking"]
    assert [(p["path"], p["found"], p["replacement"]) for p in whfb[0].details["places"]] == [
        (WHFB_VALUE_PATH, SOURCE_ID, TARGET_ID)
    ]
    # Graph keeps OMA-URI strings encrypted: the URL is in the captured secret value.
    assert [(p["path"], p["kind"]) for p in oma[0].details["places"]] == [
        ("omaSettings[1].omaUri", "tenant_id"),
        (f"omaSettings[{HOMEPAGE_URI}] (encrypted value)", "sharepoint"),
    ]
    # Each place by the setting's name, the raw path beside it.
    assert (
        f"contoso.sharepoint.com in Edge home page (OMA-URI {HOMEPAGE_URI}){SEPARATOR}Encrypted value "
        f"[omaSettings[{HOMEPAGE_URI}] (encrypted value)]"
    ) in oma[0].message
    assert "sites/intranet" not in oma[0].message, "never the secret value itself"
    assert f"tenant ID {SOURCE_ID} in Use Windows Hello (OMA-URI " in oma[0].message
    assert "[omaSettings[1].omaUri]" in oma[0].message
    assert "(would become fabrikamcorp.sharepoint.com)" in oma[0].message
    assert "step 3 options" in oma[0].resolution
    # A settings catalog place by the setting's name from Graph's definitions (read before the
    # checks judge, so the message uses them), the raw path beside it.
    assert f"tenant ID {SOURCE_ID} in Tenant Id" in whfb[0].message
    assert f"[{WHFB_VALUE_PATH}]" in whfb[0].message

    run = restore_run_run_preview(actor=owner, run=run)
    assert preview_of(run, WHFB_NAME).action == "skip", "blocked items are never planned"


def test_replace_shows_the_targets_values_in_the_preview_and_writes_exactly_them(
    source_backup, target_tenant, prod_tenant, owner, start_run, take_backup
):
    run = start_run(prod_tenant, source_backup, options={"source_identifiers": "replace"})
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.metadata["checks"]["counts"]["blocking"] == 0
    check = results(run, "source_tenant_identifier", OMA_NAME)[0]
    assert check.severity == "warning"
    assert "becomes fabrikamcorp.sharepoint.com" in check.message

    run = restore_run_run_preview(actor=owner, run=run)
    whfb = preview_of(run, WHFB_NAME)
    assert whfb.action == "create"
    changes = {c["path"]: c["after"] for c in whfb.diff["changes"]}
    assert TARGET_ID in changes.values() and SOURCE_ID not in json.dumps(changes)
    assert whfb.diff["tenant_identifiers"]["count"] == 1
    assert whfb.diff["tenant_identifiers"]["places"] == [
        {"path": WHFB_VALUE_PATH, "kind": "tenant_id", "found": SOURCE_ID, "written": TARGET_ID}
    ]
    oma_places = preview_of(run, OMA_NAME).diff["tenant_identifiers"]["places"]
    assert [p["written"] for p in oma_places] == [TARGET_ID, "fabrikamcorp.sharepoint.com"]
    summary = run.metadata["preview"]["summary"]["tenant_identifiers"]
    assert (summary["choice"], summary["items"], summary["places"]) == ("replace", 2, 3)
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("restores:preview", args=[run.pk])).content.decode()
    assert "3 places in 2 items hold the source tenant" in page
    assert "Source tenant identifiers" in page
    assert f'<td class="tg-before">{SOURCE_ID}</td><td class="tg-after">{TARGET_ID}</td>' in page

    run = execute(owner, run, prod_tenant.display_name)
    assert run.status == "completed", run.results

    policy = written(target_tenant, "deviceManagement/configurationPolicies", WHFB_NAME)
    value = policy["settings"][0]["settingInstance"]["groupSettingCollectionValue"][0]
    assert value["children"][0]["simpleSettingValue"]["value"] == TARGET_ID
    profile = written(target_tenant, "deviceManagement/deviceConfigurations", OMA_NAME)
    assert TARGET_ID in profile["omaSettings"][1]["omaUri"]
    # The encrypted value as Graph serves it (read back through a backup of the target).
    read_back = take_backup(prod_tenant).items.get(display_name=OMA_NAME)
    assert list(read_back.secrets.values()) == [
        '<enabled/><data id="HomepageLocation" '
        'value="https://fabrikamcorp.sharepoint.com/sites/intranet"/>'
    ]
    everything = json.dumps(target_tenant.list_objects("deviceManagement/configurationPolicies"))
    everything += json.dumps(target_tenant.list_objects("deviceManagement/deviceConfigurations"))
    assert SOURCE_ID not in everything.lower() and "contoso.sharepoint" not in everything.lower()
    created = run.item_outcomes.filter(outcome="created")
    assert {o.display_name for o in created} == {WHFB_NAME, OMA_NAME}
    assert all(o.verified for o in created), "verified against the replaced values"


def test_keep_writes_them_unchanged_by_an_explicit_audited_choice(
    source_backup, target_tenant, prod_tenant, owner, start_run
):
    run = start_run(prod_tenant, source_backup, options={"source_identifiers": "keep"})
    run = restore_run_run_checks(actor=owner, run=run)
    check = results(run, "source_tenant_identifier", WHFB_NAME)[0]
    assert check.severity == "warning" and "kept as they are by your choice" in check.message
    assert AuditEvent.objects.filter(
        action="restore.options_updated", details__options__source_identifiers="keep"
    ).exists()

    run = restore_run_run_preview(actor=owner, run=run)
    places = preview_of(run, WHFB_NAME).diff["tenant_identifiers"]["places"]
    assert places[0]["written"] == places[0]["found"] == SOURCE_ID
    run = execute(owner, run, prod_tenant.display_name)
    assert run.status == "completed", run.results

    policy = written(target_tenant, "deviceManagement/configurationPolicies", WHFB_NAME)
    value = policy["settings"][0]["settingInstance"]["groupSettingCollectionValue"][0]
    assert value["children"][0]["simpleSettingValue"]["value"] == SOURCE_ID


def test_changing_the_choice_makes_checks_and_preview_stale(
    source_backup, target_tenant, prod_tenant, owner, start_run
):
    run = start_run(prod_tenant, source_backup, options={"source_identifiers": "keep"})
    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)
    assert run.status == "previewed"
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("restores:checks", args=[run.pk])).content.decode()
    assert 'name="source_identifiers" value="keep" checked' in page
    response = client.post(
        reverse("restores:options", args=[run.pk]),
        {"create_missing": "on", "include_assignments": "on", "source_identifiers": "replace"},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.options["source_identifiers"] == "replace"
    assert run.status == "scoped", "the inputs changed: checks and preview are stale"


def test_same_tenant_step_3_offers_no_identifier_choice(source_backup, tenant, owner, start_run):
    run = restore_run_run_checks(actor=owner, run=start_run(tenant, source_backup))
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("restores:checks", args=[run.pk])).content.decode()
    assert 'name="assignment_mode" value="replace" checked' in page
    assert 'name="source_identifiers"' not in page


def test_same_tenant_restore_raises_no_identifier_check(source_backup, tenant, owner, start_run):
    run = restore_run_run_checks(actor=owner, run=start_run(tenant, source_backup))
    assert not results(run, "source_tenant_identifier")
    run = restore_run_run_preview(actor=owner, run=run)
    assert "tenant_identifiers" not in preview_of(run, WHFB_NAME).diff
    assert run.metadata["preview"]["summary"]["tenant_identifiers"] == {}


def test_without_organization_the_tenant_record_is_looked_for(
    emulated, tenant, prod_tenant, target_tenant, owner, start_run, take_backup
):
    """No Organization.Read.All on the source: the backup keeps no identity, so the checks
    look for the tenant's registered domain (``contoso-test.example``) and say what they lack."""
    emulated.denied_permissions = {"Organization.Read.All"}
    profile = oma_profile()
    profile["omaSettings"][0]["value"] = "https://intranet.contoso-test.example/home"
    put(emulated, profile)
    backup_set = take_backup(tenant)
    assert backup_set.source_identity == {}

    run = restore_run_run_checks(actor=owner, run=start_run(prod_tenant, backup_set))
    check = results(run, "source_tenant_identifier", OMA_NAME)[0]
    assert [(p["path"], p["found"]) for p in check.details["places"]] == [
        (f"omaSettings[{HOMEPAGE_URI}] (encrypted value)", "contoso-test.example")
    ]
    notes = [
        r for r in results(run, "permission_limited") if r.details.get("type") == "organization"
    ]
    assert notes and "Organization.Read.All" in notes[0].resolution
