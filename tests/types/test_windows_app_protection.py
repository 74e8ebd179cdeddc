"""Windows app protection (``windowsManagedAppProtections``, in
tenantguard/intune/types/app_protection.py): Graph's rules in the emulator and a restore round
trip."""

from __future__ import annotations

import copy

from tenantguard.intune import registry
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, take_backup
from .apps_support import BETA, backup_state, by_name, graph, seed_collections

COLLECTION = "deviceAppManagement/windowsManagedAppProtections"
URL = f"{BETA}/windowsManagedAppProtections"
EDGE = {
    "@odata.type": "#microsoft.graph.managedMobileApp",
    "mobileAppIdentifier": {
        "@odata.type": "#microsoft.graph.windowsAppIdentifier",
        "windowsAppId": "com.microsoft.edge",
    },
}


def test_create_target_apps_assign_and_managed_app_policies():
    with graph() as client:
        body = {
            "@odata.type": "#microsoft.graph.windowsManagedAppProtection",
            "displayName": "Edge on personal PCs",
            "printBlocked": True,
            "apps": [EDGE],
        }
        created = client.post(URL, json=body)
        assert created.status_code == 201
        policy = created.json()
        # The version is an ETag string, like the other managed app policies.
        assert isinstance(policy["version"], str) and policy["version"].startswith('"')
        url = f"{URL}/{policy['id']}"
        apps = client.get(f"{url}/apps").json()["value"]
        assert [a["id"] for a in apps] == ["com.microsoft.edge.windows"]
        assert client.post(f"{url}/targetApps", json={"apps": []}).status_code == 204
        assert client.get(url).json()["deployedAppCount"] == 0
        target = {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g-1"}
        assign = client.post(f"{url}/assign", json={"assignments": [{"target": target}]})
        assert assign.status_code == 204
        assert client.get(url).json()["isAssigned"] is True
        listed = client.get(f"{BETA}/managedAppPolicies").json()["value"]
        assert [(p["id"], p["@odata.type"]) for p in listed] == [
            (policy["id"], "#microsoft.graph.windowsManagedAppProtection")
        ]
        one = client.get(f"{BETA}/managedAppPolicies/{policy['id']}").json()
        assert one["displayName"] == "Edge on personal PCs"


def test_the_type_is_an_app_protection_policy_for_windows():
    ptype = registry.get("windows_app_protection")
    assert ptype.platform.fixed == "windows"
    assert ptype.assign is not None and ptype.assign.expected_status == 204
    assert ptype.list_identities == ("mobileAppIdentifier.windowsAppId",)


def test_windows_app_protection_round_trip(personas, tenant, emulated, demo_objects):
    owner = personas["owner"]
    seed_collections(emulated, demo_objects, COLLECTION)
    baseline = take_backup(owner, tenant)
    before = backup_state(baseline, "windows_app_protection")
    assert len(before) == 2
    policies = by_name(emulated, "windows_app_protection")
    changed = copy.deepcopy(policies["Windows - APP - Edge unmanaged devices"])
    changed["printBlocked"] = False
    changed["apps"] = []
    changed["roleScopeTagIds"] = ["0"]
    emulated.put_object(COLLECTION, changed)
    emulated.delete_object(COLLECTION, policies["Windows - APP - Developers"]["id"])

    run = prepare_run(owner, tenant, baseline)
    planned = {
        p.display_name: p for p in run.preview_items.filter(policy_type="windows_app_protection")
    }
    assert planned["Windows - APP - Developers"].action == "create"
    edge = planned["Windows - APP - Edge unmanaged devices"]
    assert edge.action == "update"
    paths = {c["path"] for c in edge.diff["changes"]}
    assert "printBlocked" in paths and any(p.startswith("apps") for p in paths)
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    assert backup_state(take_backup(owner, tenant), "windows_app_protection") == before
