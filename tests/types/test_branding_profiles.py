"""Intune branding profiles: Graph's rules in the emulator (assign action answered 204, the
tenant's one default profile, images as mimeContent) and a restore round trip
(tenantguard/intune/types/tenant_administration.py)."""

from __future__ import annotations

import pytest

from tenantguard.emulator.testing import graph_error, group_target
from tenantguard.intune import registry, write
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.restores.services.runs import (
    restore_run_confirm,
    restore_run_create,
    restore_run_queue_execution,
    restore_run_set_dry_run,
    restore_run_set_scope,
)
from tenantguard.tenants.graph_access import emulated_tenant

from ..restores_exec.conftest import seed, take_backup
from .tenant_admin_support import DM, demo_of, graph, round_trip

URL = f"{DM}/intuneBrandingProfiles"
GROUP = "8793e9dd-3338-58fd-9767-98874ff564c8"
LOGO = {"@odata.type": "#microsoft.graph.mimeContent", "type": "image/png", "value": "iVBORw0KGgo="}


def _body(**extra):
    return {
        "@odata.type": "#microsoft.graph.intuneBrandingProfile",
        "profileName": "Kiosk portal",
        "profileDescription": "",
        "displayName": "Contoso Kiosks",
        "themeColor": {"r": 10, "g": 20, "b": 30},
        "showLogo": True,
        "themeColorLogo": LOGO,
        "roleScopeTagIds": ["0"],
        **extra,
    }


def _default(client):
    return next(p for p in client.get(URL).json()["value"] if p["isDefaultProfile"])


def test_every_tenant_has_one_default_profile_that_cannot_be_deleted_or_doubled():
    with graph() as client:
        default = _default(client)
        deleted = client.delete(f"{URL}/{default['id']}")
        assert deleted.status_code == 400
        assert "default" in graph_error(deleted)["message"]
        created = client.post(URL, json=_body(isDefaultProfile=True))
        assert created.status_code == 201
        assert created.json()["isDefaultProfile"] is False
        defaults = [p for p in client.get(URL).json()["value"] if p["isDefaultProfile"]]
        assert [p["id"] for p in defaults] == [default["id"]]
        patched = client.patch(f"{URL}/{default['id']}", json={"displayName": "Contoso"})
        assert patched.status_code == 204


def test_create_has_timestamps_no_version_and_keeps_the_images():
    with graph() as client:
        response = client.post(URL, json=_body())
        assert response.status_code == 201
        created = response.json()
        assert created["createdDateTime"] and created["lastModifiedDateTime"]
        assert "version" not in created
        one = client.get(f"{URL}/{created['id']}").json()
        assert one["themeColorLogo"] == LOGO
        listed = next(p for p in client.get(URL).json()["value"] if p["id"] == created["id"])
        assert listed["themeColorLogo"] == LOGO


def test_assign_answers_204_and_replaces_the_list():
    with graph() as client:
        created = client.post(URL, json=_body()).json()
        response = client.post(
            f"{URL}/{created['id']}/assign", json={"assignments": [group_target(GROUP)]}
        )
        assert response.status_code == 204 and not response.content
        listed = client.get(f"{URL}/{created['id']}/assignments").json()["value"]
        assert [a["target"]["groupId"] for a in listed] == [GROUP]
        assert set(listed[0]) == {"id", "target"}
        client.post(f"{URL}/{created['id']}/assign", json={"assignments": []})
        assert client.get(f"{URL}/{created['id']}/assignments").json()["value"] == []


def test_the_type_is_named_by_profile_name_and_never_creates_a_default(demo_objects):
    ptype = registry.get("intune_branding_profile")
    assert ptype.display_name_property == "profileName"
    assert ptype.assign is not None and ptype.assign.expected_status == 204
    profiles = demo_of(demo_objects, ptype.collection)
    default = next(p for p in profiles if p["isDefaultProfile"])
    assert ptype.is_tenant_default(default)
    # create_object refuses before sending anything: the default exists in every tenant.
    with pytest.raises(write.NotWritableError, match="never created"):
        write.create_object(None, type_key=ptype.key, payload=default)  # type: ignore[arg-type]


def _restyle(obj):
    obj["themeColor"] = {"r": 255, "g": 0, "b": 0}
    obj["themeColorLogo"] = None
    obj["contactITNotes"] = "Changed in the portal"


def test_branding_profiles_restore_round_trip(personas, tenant, emulated, demo_objects):
    """The default profile is updated (with its logo), the deleted one created and assigned;
    the tenant still has exactly one default."""
    round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="intune_branding_profile",
        modify={"Default": _restyle},
        delete=[("intune_branding_profile", "EMEA Company Portal")],
        expect={"Default": "update", "EMEA Company Portal": "create"},
    )
    profiles = emulated.list_objects("deviceManagement/intuneBrandingProfiles")
    assert [p["profileName"] for p in profiles if p["isDefaultProfile"]] == ["Default"]
    default = next(p for p in profiles if p["isDefaultProfile"])
    assert default["themeColorLogo"]["type"] == "image/png"
    emea = next(p for p in profiles if p["profileName"] == "EMEA Company Portal")
    assert [a["target"]["groupId"] for a in emea["assignments"]]


def test_into_another_tenant_the_default_profile_updates_its_default_whatever_its_name(
    personas, tenant, prod_tenant, emulated, demo_objects
):
    """Cross-tenant: the backup's default profile is matched to the target's own default (not
    by name), and a non-default profile never takes the target's default."""
    owner = personas["owner"]
    seed(emulated, demo_of(demo_objects, "deviceManagement/intuneBrandingProfiles"))
    prod = emulated_tenant(prod_tenant)
    (prod_default,) = [
        p
        for p in prod.list_objects("deviceManagement/intuneBrandingProfiles")
        if p["isDefaultProfile"]
    ]
    prod.put_object(
        "deviceManagement/intuneBrandingProfiles",
        {
            **prod_default,
            "profileName": "EMEA Company Portal",
            "themeColor": {"r": 1, "g": 2, "b": 3},
        },
    )
    source = take_backup(owner, tenant)
    default = source.items.get(policy_type="intune_branding_profile", display_name="Default")

    run = restore_run_create(actor=owner, tenant=prod_tenant, backup_set=source)
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=[default.pk])
    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)
    (planned,) = run.preview_items.all()
    assert (planned.action, planned.target_id) == ("update", prod_default["id"])
    run = restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = restore_run_confirm(actor=owner, run=run, acknowledged=True, typed_label="Contoso")
    run = restore_run_execute(run_id=restore_run_queue_execution(actor=owner, run=run).pk)
    assert run.status == "completed", run.results

    profiles = prod.list_objects("deviceManagement/intuneBrandingProfiles")
    (after,) = [p for p in profiles if p["isDefaultProfile"]]
    assert after["id"] == prod_default["id"]
    assert after["profileName"] == "Default"
    assert after["themeColor"] == default.payload["themeColor"]
    assert after["themeColorLogo"] == default.payload["themeColorLogo"]
