"""Tenant-bound connectors and tokens (tenantguard/intune/types/tenant_connectors.py): the APNs
certificate and managed Google Play (single-valued navigations of ``deviceManagement``), VPP
tokens and the management / remote assistance / compliance partners. Graph's answers in the
emulator; backed up without their secrets, diffed, never written, with the reason shown."""

from __future__ import annotations

import copy

import pytest

from tenantguard.intune import registry, write
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, take_backup
from .apps_support import log_size, seed_collections, writes_to
from .tenant_admin_support import DM, graph

KEYS = (
    "apns_certificate",
    "vpp_token",
    "managed_google_play",
    "management_partner",
    "remote_assistance_partner",
    "compliance_partner",
)
COLLECTIONS = tuple(registry.get(key).collection for key in KEYS)
APNS = "Apple MDM push certificate"


def test_a_tenant_without_an_apns_certificate_answers_404_and_google_play_not_bound():
    with graph() as client:
        apns = client.get(f"{DM}/applePushNotificationCertificate")
        assert apns.status_code == 404
        assert apns.json()["error"]["code"] == "ResourceNotFound"
        play = client.get(f"{DM}/androidManagedStoreAccountEnterpriseSettings")
        assert play.status_code == 200
        body = play.json()
        assert body["@odata.context"].endswith(
            "$metadata#deviceManagement/androidManagedStoreAccountEnterpriseSettings/$entity"
        )
        assert body["bindStatus"] == "notBound" and body["ownerUserPrincipalName"] is None
        assert "value" not in body and body["id"]
        for partners in ("deviceManagementPartners", "remoteAssistancePartners"):
            assert client.get(f"{DM}/{partners}").json()["value"] == []
        assert client.get("/beta/deviceAppManagement/vppTokens").json()["value"] == []


def test_the_singletons_are_read_only_navigations_not_device_management_properties():
    with graph() as client:
        path = f"{DM}/androidManagedStoreAccountEnterpriseSettings"
        assert client.patch(path, json={"deviceOwnerManagementEnabled": True}).status_code >= 400
        whole = client.get(DM).json()
        assert "androidManagedStoreAccountEnterpriseSettings" not in whole
        assert "applePushNotificationCertificate" not in whole
        refused = client.patch(
            DM, json={"applePushNotificationCertificate": {"topicIdentifier": "x"}}
        )
        assert refused.status_code == 400


@pytest.mark.parametrize("key", KEYS)
def test_every_connector_is_preview_only_with_a_reason_an_admin_can_act_on(key):
    ptype = registry.get(key)
    assert ptype.is_preview_only and not write.is_writable(key)
    assert "admin center" in ptype.preview_only_reason or "console" in ptype.preview_only_reason
    assert ptype.assign is None


def test_connectors_are_backed_up_without_secrets_diffed_and_never_written(
    personas, tenant, emulated, demo_objects
):
    owner = personas["owner"]
    seed_collections(emulated, demo_objects, *COLLECTIONS)
    # The seed says what Graph may answer; capture must drop the secrets whatever they hold.
    (token,) = [
        o
        for o in emulated.list_objects("deviceAppManagement/vppTokens")
        if o["displayName"] == "Contoso Ltd - Corporate apps"
    ]
    token["token"] = "eyJleHBEYXRlIjoiMjAyNi0wNi0zMCJ9.SECRET-VPP-TOKEN"
    emulated.put_object("deviceAppManagement/vppTokens", token)

    baseline = take_backup(owner, tenant)
    assert baseline.status == "completed", baseline.warnings
    items = {(i.policy_type, i.display_name): i for i in baseline.items.all()}
    apns = items[("apns_certificate", APNS)]
    assert apns.source_id == "applePushNotificationCertificate"
    assert apns.payload["appleIdentifier"] == "intune-apple@contoso.com"
    assert "certificate" not in apns.payload
    play = items[("managed_google_play", "Managed Google Play")]
    assert "companyCodes" not in play.payload and play.payload["bindStatus"] == "bound"
    vpp = items[("vpp_token", "Contoso Ltd - Corporate apps")]
    assert "token" not in vpp.payload
    assert "SECRET-VPP-TOKEN" not in str([i.payload for i in baseline.items.all()])
    finance_tags = items[("vpp_token", "Contoso Finance - iPad apps")].scope_tag_ids
    assert len(finance_tags) == 1 and finance_tags != ["0"]  # the demo's Finance scope tag
    for key in ("management_partner", "remote_assistance_partner", "compliance_partner"):
        assert any(k == key for k, _ in items), key

    changed = copy.deepcopy(token)
    changed["automaticallyUpdateApps"] = False
    emulated.put_object("deviceAppManagement/vppTokens", changed)
    (partner,) = emulated.list_objects("deviceManagement/remoteAssistancePartners")
    emulated.delete_object("deviceManagement/remoteAssistancePartners", partner["id"])

    start = log_size()
    run = prepare_run(owner, tenant, baseline)
    checks = run.check_results.filter(code="preview_only_type", item_type__in=KEYS)
    reasons = {check.item_type: check.resolution for check in checks}
    assert reasons == {key: registry.get(key).preview_only_reason for key in KEYS}
    planned = {(p.policy_type, p.display_name): p for p in run.preview_items.all()}
    edited = planned[("vpp_token", "Contoso Ltd - Corporate apps")]
    assert (edited.action, edited.diff["skip_code"]) == ("skip", "preview_only_type")
    assert registry.get("vpp_token").preview_only_reason in edited.reason
    assert {c["path"] for c in edited.diff["changes"]} == {"automaticallyUpdateApps"}
    assert planned[("remote_assistance_partner", "TeamViewer Connector")].action == "skip"
    assert planned[("apns_certificate", APNS)].action == "skip"

    restore_run_execute(run_id=run.pk)
    for collection in COLLECTIONS:
        assert writes_to(emulated, collection, since=start) == [], collection
    assert emulated.list_objects("deviceManagement/remoteAssistancePartners") == []


def test_a_tenant_without_apns_backs_up_cleanly_without_it(personas, tenant, emulated):
    baseline = take_backup(personas["owner"], tenant)
    assert baseline.status == "completed", baseline.warnings
    assert not baseline.items.filter(policy_type="apns_certificate").exists()
    (play,) = baseline.items.filter(policy_type="managed_google_play")
    assert play.payload["bindStatus"] == "notBound"
