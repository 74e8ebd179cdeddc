"""Source tenant ids that are not TenantGuard's to write, end to end against the emulator: an
Apple enrollment profile's VPP token (``companyPortalVppTokenId``) and an iOS app assignment's
per-app VPN profile (``settings.vpnConfigurationId``). Restoring into another tenant, each
blocks the checks until it is mapped, is written as the target's id once mapped, and an item
whose mapped object disappeared before execution is not written at all; the emulator refuses a
VPP token id its tenant does not hold."""

from __future__ import annotations

import pytest

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.tenants.graph_access import embedded_emulator, emulated_tenant

from ..restores_exec.conftest import prepare_run, seed
from .tenant_admin_support import graph

TOKENS = "deviceManagement/depOnboardingSettings"
PROFILES = f"{TOKENS}/enrollmentProfiles"
VPP_TOKENS = "deviceAppManagement/vppTokens"
APPS = "deviceAppManagement/mobileApps"
CONFIGURATIONS = "deviceManagement/deviceConfigurations"
PROFILE_NAME = "iOS - Training iPads"
TARGET_TOKEN = "f9e8d7c6-0000-4000-8000-00000000000f"
TARGET_VPN = "99999999-8888-4777-8666-555555555555"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


@pytest.fixture
def seeded(emulated, demo_objects):
    seed(emulated, demo_objects)
    return emulated


def _backup(actor, tenant, type_keys):
    return backup_set_capture(
        backup_set=backup_set_start(actor=actor, tenant=tenant, enqueue=False),
        type_keys=type_keys,
    )


def _writes_since(start):
    return [e for e in embedded_emulator().request_log[start:] if e.method in WRITES]


def _blocking(actor, tenant, source, item_ids):
    run = restore_run_create(actor=actor, tenant=tenant, backup_set=source)
    run = restore_run_set_scope(actor=actor, run=run, mode="selected", item_ids=item_ids)
    run = restore_run_run_checks(actor=actor, run=run)
    return {row.code: row for row in run.check_results.all() if row.severity == "blocking"}


# ---- Apple enrollment profile -> VPP token -------------------------------------------------


def _source_token(seeded):
    token = next(t for t in seeded.list_objects(VPP_TOKENS))
    profile = next(p for p in seeded.list_objects(PROFILES) if p["displayName"] == PROFILE_NAME)
    seeded.put_object(PROFILES, {**profile, "companyPortalVppTokenId": token["id"]})
    return token


def _prod(prod_tenant):
    prod = emulated_tenant(prod_tenant)
    prod.put_object(
        TOKENS,
        {
            "@odata.type": "#microsoft.graph.depOnboardingSetting",
            "id": "7d3c1b2a-0000-4000-8000-000000000000",
            "tokenName": "Fabrikam ABM",
            "tokenType": "dep",
            "roleScopeTagIds": ["0"],
            "enrollmentProfiles": [],
        },
    )
    prod.put_object(
        VPP_TOKENS,
        {
            "@odata.type": "#microsoft.graph.vppToken",
            "id": TARGET_TOKEN,
            "displayName": "Fabrikam VPP",
            "organizationName": "Fabrikam",
            "roleScopeTagIds": ["0"],
        },
    )
    return prod


def _profile_items(source):
    return [
        item.pk
        for item in source.items.filter(policy_type__in=["apple_enrollment_profile", "vpp_token"])
        if item.policy_type == "vpp_token" or item.display_name == PROFILE_NAME
    ]


def test_a_profiles_vpp_token_blocks_until_mapped_and_is_written_as_the_targets(
    personas, tenant, prod_tenant, seeded
):
    owner = personas["owner"]
    token = _source_token(seeded)
    prod = _prod(prod_tenant)
    source = _backup(owner, tenant, ["apple_enrollment_profile", "vpp_token"])
    items = _profile_items(source)  # the profile and the source's VPP tokens

    blocking = _blocking(owner, prod_tenant, source, items)
    assert set(blocking) == {"vpp_token_missing"}, blocking
    assert token["id"] in blocking["vpp_token_missing"].message

    start = len(embedded_emulator().request_log)
    run = prepare_run(
        owner,
        prod_tenant,
        source,
        item_ids=items,
        mapping={"vpp_token": {token["id"]: TARGET_TOKEN}},
    )
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    (created,) = prod.list_objects(PROFILES)
    assert created["companyPortalVppTokenId"] == TARGET_TOKEN
    assert not [e for e in _writes_since(start) if VPP_TOKENS in e.path]  # never written


def test_the_executor_refuses_a_profile_whose_mapped_token_is_gone(
    personas, tenant, prod_tenant, seeded
):
    owner = personas["owner"]
    token = _source_token(seeded)
    prod = _prod(prod_tenant)
    source = _backup(owner, tenant, ["apple_enrollment_profile", "vpp_token"])
    run = prepare_run(
        owner,
        prod_tenant,
        source,
        item_ids=_profile_items(source),
        mapping={"vpp_token": {token["id"]: TARGET_TOKEN}},
    )
    prod.delete_object(VPP_TOKENS, TARGET_TOKEN)  # after the preview, before the execution
    start = len(embedded_emulator().request_log)
    run = restore_run_execute(run_id=run.pk)
    outcome = run.item_outcomes.get(policy_type="apple_enrollment_profile")
    assert outcome.outcome == "failed"
    assert "VPP token" in outcome.error_message and TARGET_TOKEN in outcome.error_message
    assert "Nothing was written with the source tenant's ids" in outcome.error_message
    assert prod.list_objects(PROFILES) == []
    assert not [e for e in _writes_since(start) if "enrollmentProfiles" in e.path]


def test_the_emulator_refuses_a_vpp_token_the_tenant_does_not_hold():
    token_id = "c8df3b92-0000-4000-8000-000000000001"
    with graph(
        seed_objects=[
            {
                "@odata.context": "https://graph.microsoft.com/beta/$metadata#"
                "deviceManagement/depOnboardingSettings/$entity",
                "@odata.type": "#microsoft.graph.depOnboardingSetting",
                "id": "dep-1",
                "tokenName": "ABM",
                "enrollmentProfiles": [],
            },
            {
                "@odata.context": "https://graph.microsoft.com/beta/$metadata#"
                "deviceAppManagement/vppTokens/$entity",
                "@odata.type": "#microsoft.graph.vppToken",
                "id": token_id,
                "displayName": "VPP",
            },
        ]
    ) as client:
        path = f"/beta/{TOKENS}/dep-1/enrollmentProfiles"
        body = {"@odata.type": "#microsoft.graph.depIOSEnrollmentProfile", "displayName": "P"}
        other = client.post(path, json={**body, "companyPortalVppTokenId": "another-tenants"})
        assert other.status_code == 400, other.text
        assert "companyPortalVppTokenId" in other.text
        for value in (None, "", "00000000-0000-0000-0000-000000000000"):
            made = client.post(
                path, json={**body, "displayName": f"P {value!r}", "companyPortalVppTokenId": value}
            )
            assert made.status_code == 201, made.text
        made = client.post(
            path, json={**body, "displayName": "Q", "companyPortalVppTokenId": token_id}
        )
        assert made.status_code == 201, made.text
        profile = f"{path}/{made.json()['id']}"
        refused = client.patch(profile, json={"companyPortalVppTokenId": "another-tenants"})
        assert refused.status_code == 400
        assert client.get(profile).json()["companyPortalVppTokenId"] == token_id


# ---- iOS app assignment -> per-app VPN profile -----------------------------------------------


def _app_with_vpn(seeded):
    """An iOS store app of the demo tenant whose assignment uses a per-app VPN profile."""
    vpn = seeded.put_object(
        CONFIGURATIONS,
        {
            "@odata.type": "#microsoft.graph.iosVpnConfiguration",
            "displayName": "Corp per-app VPN",
            "connectionName": "Corp",
            "connectionType": "ciscoAnyConnectV2",
            "server": {
                "address": "vpn.contoso.com",
                "description": "Corp",
                "isDefaultServer": True,
            },
            "authenticationMethod": "usernameAndPassword",
            "roleScopeTagIds": ["0"],
            "assignments": [],
        },
    )
    app = next(
        a
        for a in seeded.list_objects(APPS)
        if any(
            "vpnConfigurationId" in (x.get("settings") or {}) for x in a.get("assignments") or []
        )
    )
    # Unfiltered group assignments: only the group and the VPN profile are references.
    assignments = [
        {
            **x,
            "target": {
                **x["target"],
                "deviceAndAppManagementAssignmentFilterId": None,
                "deviceAndAppManagementAssignmentFilterType": "none",
            },
            "settings": {**x["settings"], "vpnConfigurationId": vpn["id"]},
        }
        for x in app["assignments"]
        if "vpnConfigurationId" in (x.get("settings") or {})
    ]
    app = {**app, "assignments": assignments}
    seeded.put_object(APPS, app)
    return app, vpn


def test_an_apps_per_app_vpn_blocks_until_mapped_and_is_written_as_the_targets(
    personas, tenant, prod_tenant, seeded
):
    owner = personas["owner"]
    app, vpn = _app_with_vpn(seeded)
    source = _backup(owner, tenant, ["mobile_app", "device_configuration"])
    app_item = source.items.get(policy_type="mobile_app", source_id=app["id"])
    vpn_item = source.items.get(policy_type="device_configuration", source_id=vpn["id"])
    prod = emulated_tenant(prod_tenant)
    # A profile the run would create is written after the app's assignments: still blocking.
    blocking = _blocking(owner, prod_tenant, source, [app_item.pk, vpn_item.pk])
    assert "vpn_configuration_missing" in blocking, blocking
    assert "only after apps" in blocking["vpn_configuration_missing"].resolution

    prod.put_object(
        CONFIGURATIONS,
        {
            "@odata.type": "#microsoft.graph.iosVpnConfiguration",
            "id": TARGET_VPN,
            "displayName": "Fabrikam per-app VPN",
            "connectionName": "Fabrikam",
            "roleScopeTagIds": ["0"],
            "assignments": [],
        },
    )
    groups = {gid: gid for a in app["assignments"] if (gid := a["target"].get("groupId"))}
    for gid in groups:
        prod.put_object("groups", {"id": gid, "displayName": f"Group {gid}"})
    tags = {tag: None for tag in app.get("roleScopeTagIds") or [] if tag != "0"}
    run = prepare_run(
        owner,
        prod_tenant,
        source,
        item_ids=[app_item.pk],
        mapping={
            "vpn_configuration": {vpn["id"]: TARGET_VPN},
            "group": groups,
            "scope_tag": tags,
        },
    )
    run = restore_run_execute(run_id=run.pk)
    outcome = run.item_outcomes.get(policy_type="mobile_app")
    assert outcome.outcome in {"created", "updated"}, (outcome.outcome, outcome.error_message)
    (restored,) = [a for a in prod.list_objects(APPS) if a["displayName"] == app["displayName"]]
    written = [
        x["settings"]["vpnConfigurationId"]
        for x in restored.get("assignments") or []
        if "vpnConfigurationId" in (x.get("settings") or {})
    ]
    assert written and set(written) <= {TARGET_VPN, None}
    assert TARGET_VPN in written
    assert vpn["id"] not in str(restored)
