"""App configuration policies for managed devices (``mobileAppConfigurations``) and managed
apps (``targetedManagedAppConfigurations``), tenantguard/intune/types/app_configuration.py:
Graph's rules in the emulator, restore round trips, and the ``mobile_app`` reference."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from tenantguard.emulator.testing import graph_error
from tenantguard.intune import registry
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services.errors import RestoreRunRefused
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, take_backup
from .apps_support import APPS, BETA, backup_state, by_name, graph, seed_collections

DEVICE = "deviceAppManagement/mobileAppConfigurations"
MANAGED = "deviceAppManagement/targetedManagedAppConfigurations"
GROUP = {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g-1"}


def _store_app(client):
    body = {
        "@odata.type": "#microsoft.graph.iosStoreApp",
        "displayName": "Expenses",
        "bundleId": "com.contoso.expenses",
        "appStoreUrl": "https://apps.apple.com/app/id1",
    }
    return client.post(f"{BETA}/mobileApps", json=body).json()["id"]


def _ios_config(app_id, **extra):
    return {
        "@odata.type": "#microsoft.graph.iosMobileAppConfiguration",
        "displayName": "Expenses settings",
        "targetedMobileApps": [app_id],
        "settings": [
            {"appConfigKey": "tenant", "appConfigKeyType": "stringType", "appConfigKeyValue": "x"}
        ],
        "roleScopeTagIds": ["0"],
        **extra,
    }


def _edge_app(bundle="com.microsoft.msedge"):
    return {
        "@odata.type": "#microsoft.graph.managedMobileApp",
        "mobileAppIdentifier": {
            "@odata.type": "#microsoft.graph.iosMobileAppIdentifier",
            "bundleId": bundle,
        },
    }


# --------------------------------------------------------------------------------------------
# Graph's rules (emulator)
# --------------------------------------------------------------------------------------------


def test_device_app_configuration_create_patch_assign():
    with graph() as client:
        app_id = _store_app(client)
        created = client.post(f"{BETA}/mobileAppConfigurations", json=_ios_config(app_id))
        assert created.status_code == 201
        config = created.json()
        assert config["version"] == 1 and config["targetedMobileApps"] == [app_id]
        url = f"{BETA}/mobileAppConfigurations/{config['id']}"
        assert client.patch(url, json={"description": "now"}).status_code == 204
        assert client.get(url).json()["version"] == 2
        assign = client.post(f"{url}/assign", json={"assignments": [{"target": GROUP}]})
        assert assign.status_code == 204 and assign.content == b""
        stored = client.get(f"{url}/assignments").json()["value"]
        assert [a["target"]["groupId"] for a in stored] == ["g-1"]
        assert "source" not in stored[0] and "intent" not in stored[0]


def test_device_app_configuration_refuses_an_unknown_app_and_a_missing_type():
    with graph() as client:
        missing = client.post(f"{BETA}/mobileAppConfigurations", json=_ios_config("no-such-app"))
        assert missing.status_code == 400
        assert "no-such-app" in graph_error(missing)["message"]
        app_id = _store_app(client)
        untyped = {k: v for k, v in _ios_config(app_id).items() if k != "@odata.type"}
        assert client.post(f"{BETA}/mobileAppConfigurations", json=untyped).status_code == 400


def test_android_oem_config_flag_is_graphs():
    with graph() as client:
        app = client.post(
            f"{BETA}/mobileApps",
            json={
                "@odata.type": "#microsoft.graph.webApp",
                "displayName": "x",
                "appUrl": "https://x",
            },
        ).json()
        payload = base64.b64encode(json.dumps({"managedProperty": []}).encode()).decode()
        body = {
            "@odata.type": "#microsoft.graph.androidManagedStoreAppConfiguration",
            "displayName": "Teams",
            "targetedMobileApps": [app["id"]],
            "packageId": "app:com.microsoft.teams",
            "payloadJson": payload,
            "appSupportsOemConfig": True,
        }
        created = client.post(f"{BETA}/mobileAppConfigurations", json=body).json()
        assert created["appSupportsOemConfig"] is False
        assert created["payloadJson"] == payload


def test_managed_app_configuration_targets_apps_and_is_a_managed_app_policy():
    with graph() as client:
        body = {
            "@odata.type": "#microsoft.graph.targetedManagedAppConfiguration",
            "displayName": "Edge bookmarks",
            "customSettings": [{"name": "homepage", "value": "https://intranet"}],
            "apps": [_edge_app()],
        }
        created = client.post(f"{BETA}/targetedManagedAppConfigurations", json=body)
        assert created.status_code == 201
        config_id = created.json()["id"]
        url = f"{BETA}/targetedManagedAppConfigurations/{config_id}"
        read = client.get(url, params={"$expand": "apps,assignments"}).json()
        assert [a["id"] for a in read["apps"]] == ["com.microsoft.msedge.ios"]
        assert read["deployedAppCount"] == 1 and read["isAssigned"] is False
        target = client.post(
            f"{url}/targetApps", json={"apps": [_edge_app(), _edge_app("com.microsoft.outlook")]}
        )
        assert target.status_code == 204
        assert len(client.get(f"{url}/apps").json()["value"]) == 2
        assign = client.post(f"{url}/assign", json={"assignments": [{"target": GROUP}]})
        assert assign.status_code == 204
        assert client.get(url).json()["isAssigned"] is True
        policies = client.get(f"{BETA}/managedAppPolicies").json()["value"]
        assert [(p["id"], p["@odata.type"]) for p in policies] == [
            (config_id, "#microsoft.graph.targetedManagedAppConfiguration")
        ]


def test_the_types_read_graph_as_it_is():
    device = registry.get("app_configuration_device")
    assert device.assign is not None and device.assign.expected_status == 204
    assert any(
        ref.foundation == "mobile_app" and ref.path == "targetedMobileApps[]"
        for ref in device.foundation_refs
    )
    managed = registry.get("app_configuration_managed_app")
    assert managed.create_only_fields == frozenset({"apps"})


# --------------------------------------------------------------------------------------------
# Restores
# --------------------------------------------------------------------------------------------


def _round_trip(personas, tenant, emulated, demo_objects, *, type_key, modify, delete):
    owner = personas["owner"]
    collection = registry.get(type_key).collection
    seed_collections(emulated, demo_objects, APPS, collection)
    baseline = take_backup(owner, tenant)
    before = backup_state(baseline, type_key)
    assert len(before) == 2
    objects = by_name(emulated, type_key)
    changed = copy.deepcopy(objects[modify[0]])
    modify[1](changed)
    emulated.put_object(collection, changed)
    emulated.delete_object(collection, objects[delete]["id"])

    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.filter(policy_type=type_key)}
    assert planned[modify[0]].action == "update"
    assert planned[delete].action == "create"
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    assert backup_state(take_backup(owner, tenant), type_key) == before
    return planned


def test_device_app_configuration_round_trip(personas, tenant, emulated, demo_objects):
    def change(config):
        config["settings"][0]["appConfigKeyValue"] = "fabrikam.com"
        config["roleScopeTagIds"] = ["0"]
        config["assignments"] = config["assignments"][:1]

    planned = _round_trip(
        personas,
        tenant,
        emulated,
        demo_objects,
        type_key="app_configuration_device",
        modify=("iOS - Contoso Expenses - Corporate settings", change),
        delete="Android - Teams - Managed configuration",
    )
    changes = planned["iOS - Contoso Expenses - Corporate settings"].diff["changes"]
    assert [c["path"] for c in changes] == ["settings[tenant].appConfigKeyValue"]


def test_managed_app_configuration_round_trip(personas, tenant, emulated, demo_objects):
    def change(config):
        config["customSettings"] = [
            s for s in config["customSettings"] if "bookmarks" not in s["name"]
        ]
        config["apps"] = config["apps"][:1]

    _round_trip(
        personas,
        tenant,
        emulated,
        demo_objects,
        type_key="app_configuration_managed_app",
        modify=("Edge - MAM - Corporate bookmarks", change),
        delete="Outlook - MAM - Finance signature",
    )


def test_a_recreated_app_is_the_one_its_configuration_targets(
    personas, tenant, emulated, demo_objects
):
    """An app configuration names its app by id: when the restore recreates the app (new id),
    the configuration is written with the new id, never the deleted one."""
    owner = personas["owner"]
    seed_collections(emulated, demo_objects, APPS)
    portal = by_name(emulated, "mobile_app")["Company Portal"]
    config = next(
        copy.deepcopy(o)
        for o in demo_objects
        if o.get("displayName") == "iOS - Contoso Expenses - Corporate settings"
    )
    config.update(id="portal-config", displayName="iOS - Company Portal - config", assignments=[])
    config["targetedMobileApps"] = [portal["id"]]
    emulated.put_object(DEVICE, config)
    baseline = take_backup(owner, tenant)
    emulated.delete_object(APPS, portal["id"])

    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.all()}
    assert planned["Company Portal"].action == "create"
    assert planned["iOS - Company Portal - config"].action == "update"
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    new_portal = by_name(emulated, "mobile_app")["Company Portal"]
    assert new_portal["id"] != portal["id"]
    assert emulated.get_object(DEVICE, "portal-config")["targetedMobileApps"] == [new_portal["id"]]


def test_a_configuration_of_an_app_that_cannot_be_restored_is_blocked(
    personas, tenant, emulated, demo_objects
):
    """The Expenses app is synced from Apple: when it is gone, TenantGuard does not create it,
    so its configuration's reference is missing (a blocking check), never written as is."""
    owner = personas["owner"]
    seed_collections(emulated, demo_objects, APPS, DEVICE)
    baseline = take_backup(owner, tenant)
    expenses = by_name(emulated, "mobile_app")["Contoso Expenses"]
    emulated.delete_object(APPS, expenses["id"])
    config = by_name(emulated, "app_configuration_device")[
        "iOS - Contoso Expenses - Corporate settings"
    ]
    emulated.delete_object(DEVICE, config["id"])

    with pytest.raises(RestoreRunRefused, match="blocking problem"):
        prepare_run(owner, tenant, baseline)
    run = RestoreRun.objects.get(tenant=tenant)
    checks = run.check_results.filter(code="mobile_app_missing")
    assert checks.count() == 1
    assert "Contoso Expenses" in checks.get().message
    planned = run.preview_items.get(display_name="iOS - Contoso Expenses - Corporate settings")
    assert (planned.action, planned.diff["skip_code"]) == ("skip", "blocked_by_check")
    assert "iOS - Contoso Expenses - Corporate settings" not in by_name(
        emulated, "app_configuration_device"
    )
