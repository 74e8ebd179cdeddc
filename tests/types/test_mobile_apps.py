"""Apps (``deviceAppManagement/mobileApps``, tenantguard/intune/types/mobile_apps.py): Graph's
rules in the emulator, and restores that create only what can be created from metadata."""

from __future__ import annotations

import copy

import pytest

from tenantguard.emulator.testing import graph_error
from tenantguard.intune import normalize, registry, write
from tenantguard.intune.types.mobile_apps import APPS_FILTER
from tenantguard.restores.services.execute import restore_run_execute

from ..restores_exec.conftest import prepare_run, take_backup
from .apps_support import (
    APPS,
    BETA,
    backup_state,
    by_name,
    graph,
    log_size,
    seed_collections,
    writes_to,
)

URL = f"{BETA}/mobileApps"
GROUP = {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g-1"}


def _web_app(**extra):
    return {
        "@odata.type": "#microsoft.graph.webApp",
        "displayName": "Intranet",
        "appUrl": "https://intranet.contoso.com",
        "useManagedBrowser": True,
        **extra,
    }


def _win32(**extra):
    return {
        "@odata.type": "#microsoft.graph.win32LobApp",
        "displayName": "VPN client",
        "installCommandLine": "setup.exe /quiet",
        "uninstallCommandLine": "setup.exe /uninstall",
        "setupFilePath": "setup.exe",
        "fileName": "vpn.intunewin",
        **extra,
    }


def _managed_store_app(name, availability, *, assigned):
    return {
        "@odata.type": "#microsoft.graph.managedIOSStoreApp",
        "displayName": name,
        "appAvailability": availability,
        "bundleId": f"com.example.{name.lower()}",
        "isAssigned": assigned,
    }


# --------------------------------------------------------------------------------------------
# Graph's rules (emulator)
# --------------------------------------------------------------------------------------------


def test_create_is_201_without_version_and_graph_fills_in_the_publishing_state():
    with graph() as client:
        response = client.post(URL, json=_web_app(publishingState="notPublished"))
        assert response.status_code == 201
        created = response.json()
        assert created["publishingState"] == "published"
        assert created["isAssigned"] is False
        assert created["uploadState"] == 1
        assert "version" not in created
        assert created["lastModifiedDateTime"]
        # mobileApp is abstract: a create without @odata.type is refused.
        untyped = {k: v for k, v in _web_app().items() if k != "@odata.type"}
        refused = client.post(URL, json=untyped)
        assert refused.status_code == 400
        assert "@odata.type" in graph_error(refused)["message"]


def test_an_app_made_without_its_content_is_unpublished_and_cannot_be_assigned():
    with graph() as client:
        created = client.post(URL, json=_win32()).json()
        assert created["publishingState"] == "notPublished"
        assign = client.post(
            f"{URL}/{created['id']}/assign",
            json={"mobileAppAssignments": [{"intent": "required", "target": GROUP}]},
        )
        assert assign.status_code == 400
        assert "not published" in graph_error(assign)["message"]


def test_assign_takes_mobile_app_assignments_answers_204_and_keeps_intent_and_settings():
    settings = {
        "@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings",
        "notifications": "showReboot",
    }
    with graph() as client:
        app_id = client.post(URL, json=_web_app()).json()["id"]
        body = {
            "mobileAppAssignments": [
                {"intent": "available", "target": GROUP, "settings": settings},
                {
                    "intent": "uninstall",
                    "target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"},
                },
            ]
        }
        response = client.post(f"{URL}/{app_id}/assign", json=body)
        assert response.status_code == 204
        assert response.content == b""
        stored = client.get(f"{URL}/{app_id}/assignments").json()["value"]
        by_intent = {a["intent"]: a for a in stored}
        assert set(by_intent) == {"available", "uninstall"}
        assert by_intent["available"]["settings"] == settings
        assert client.get(f"{URL}/{app_id}").json()["isAssigned"] is True
        # The old body key of other types is not this action's.
        wrong_key = client.post(f"{URL}/{app_id}/assign", json={"assignments": []})
        assert wrong_key.status_code == 400
        # An app assignment without an install intent is refused.
        no_intent = client.post(
            f"{URL}/{app_id}/assign", json={"mobileAppAssignments": [{"target": GROUP}]}
        )
        assert no_intent.status_code == 400
        assert "intent" in graph_error(no_intent)["message"]


def test_patch_ignores_read_only_state_and_a_no_op_patch_is_refused():
    with graph() as client:
        app_id = client.post(URL, json=_web_app()).json()["id"]
        response = client.patch(
            f"{URL}/{app_id}",
            json={
                "@odata.type": "#microsoft.graph.webApp",
                "appUrl": "https://portal.contoso.com",
                "publishingState": "notPublished",
                "dependentAppCount": 7,
            },
        )
        assert response.status_code == 204
        app = client.get(f"{URL}/{app_id}").json()
        assert app["appUrl"] == "https://portal.contoso.com"
        assert app["publishingState"] == "published"
        assert app["dependentAppCount"] == 0
        again = client.patch(f"{URL}/{app_id}", json={"appUrl": "https://portal.contoso.com"})
        assert again.status_code == 400


def test_intunecds_filter_leaves_out_microsofts_unassigned_managed_apps():
    """IntuneCD 2.6.0 lists mobileApps with a managedApp type cast in $filter
    (backup/Intune/Applications.py); Graph answers null for apps of other types."""
    with graph() as client:
        for body in (
            _web_app(),
            _win32(),
            _managed_store_app("Outlook", "global", assigned=False),
            _managed_store_app("Teams", "global", assigned=True),
            _managed_store_app("Expenses", "lineOfBusiness", assigned=False),
        ):
            created = client.post(URL, json=body)
            assert created.status_code == 201
            if body.get("isAssigned"):
                # isAssigned is Graph's: the app is assigned through the assign action.
                assign = {"mobileAppAssignments": [{"intent": "available", "target": GROUP}]}
                client.post(f"{URL}/{created.json()['id']}/assign", json=assign)
        everything = client.get(URL).json()["value"]
        assert len(everything) == 5
        listed = client.get(URL, params={"$filter": APPS_FILTER}).json()["value"]
        assert sorted(app["displayName"] for app in listed) == [
            "Expenses",
            "Intranet",
            "Teams",
            "VPN client",
        ]


def test_intunecds_update_finds_an_app_by_type_and_search():
    """IntuneCD 2.6.0's update (update/Intune/AppConfiguration.py) looks up the app an app
    configuration targets with ``$filter=(isof('microsoft.graph.<type>'))`` and
    ``$search="<name>"``."""
    with graph() as client:
        for body in (
            _web_app(displayName="Contoso Expenses portal"),
            _managed_store_app("Expenses", "lineOfBusiness", assigned=False),
            {
                "@odata.type": "#microsoft.graph.iosStoreApp",
                "displayName": "Contoso Expenses",
                "publisher": "Contoso",
                "bundleId": "com.contoso.expenses",
                "appStoreUrl": "https://apps.apple.com/app/id1",
            },
        ):
            assert client.post(URL, json=body).status_code == 201
        params = {
            "$filter": "(isof('microsoft.graph.iosStoreApp'))",
            "$search": '"Contoso Expenses"',
        }
        found = client.get(URL, params=params).json()["value"]
        assert [app["displayName"] for app in found] == ["Contoso Expenses"]
        # A cast to an abstract type matches the types derived from it.
        managed = client.get(URL, params={"$filter": "isof('microsoft.graph.managedApp')"})
        assert [app["displayName"] for app in managed.json()["value"]] == ["Expenses"]
        searched = client.get(URL, params={"$search": '"expenses"'}).json()["value"]
        assert len(searched) == 3


def test_app_read_and_write_rules_of_the_type():
    ptype = registry.get("mobile_app")
    assert ptype.assign is not None and ptype.assign.body_key == "mobileAppAssignments"
    assert ptype.assign.expected_status == 204
    assert ptype.list_params.as_params()["$filter"] == APPS_FILTER
    # An app's install intent is the admin's: compared and written, unlike other types' intent.
    assignment = {"intent": "required", "target": GROUP, "id": "x", "source": "direct"}
    assert normalize.normalize_assignments([assignment]) == [
        {"intent": "required", "target": GROUP}
    ]
    config_assignment = {"intent": "apply", "target": GROUP}
    assert normalize.normalize_assignments([config_assignment]) == [{"target": GROUP}]
    # Only scope tags of an app synced from Apple are compared and written.
    vpp = {
        "@odata.type": "#microsoft.graph.iosVppApp",
        "displayName": "Expenses",
        "description": "synced from Apple",
        "roleScopeTagIds": ["1"],
    }
    assert normalize.normalize_payload("mobile_app", vpp) == {"@odata.type": vpp["@odata.type"]}
    assert normalize.strip_for_write("mobile_app", vpp, for_update=True) == {
        "@odata.type": vpp["@odata.type"],
        "roleScopeTagIds": ["1"],
    }


def test_apps_with_content_or_from_a_store_and_microsofts_own_are_never_created():
    class NoClient:
        def post(self, *args, **kwargs):  # pragma: no cover - must not be reached
            raise AssertionError("nothing may be sent")

    for payload, words in (
        (_win32(), "Upload the app's content in Intune first"),
        ({"@odata.type": "#microsoft.graph.iosVppApp", "displayName": "E"}, "Apple, Google"),
        (_managed_store_app("Outlook", "global", assigned=True), "built-in"),
    ):
        with pytest.raises(write.NotWritableError, match=words):
            write.create_object(NoClient(), type_key="mobile_app", payload=payload)  # type: ignore[arg-type]
    assert write.is_writable("mobile_app", _web_app())
    assert not write.is_writable(
        "mobile_app", _managed_store_app("Outlook", "global", assigned=True)
    )


# --------------------------------------------------------------------------------------------
# Restores
# --------------------------------------------------------------------------------------------


def _change(emulated, name, change):
    app = copy.deepcopy(by_name(emulated, "mobile_app")[name])
    change(app)
    emulated.put_object(APPS, app)


def _retarget(app):
    for assignment in app["assignments"]:
        assignment["intent"] = "uninstall"


def test_apps_round_trip_metadata_and_assignments(personas, tenant, emulated, demo_objects):
    """Store and web apps are recreated; the Win32 app's metadata is PATCHed and its
    assignments restored (its content stays as it is); the VPP app gets its assignments back
    while its Apple-synced description is left alone."""
    owner = personas["owner"]
    seed_collections(emulated, demo_objects, APPS)
    baseline = take_backup(owner, tenant)
    before = backup_state(baseline, "mobile_app")
    assert len(before) == 6

    def win32(app):
        app["description"] = "Changed in the portal"
        # The package's own facts (another upload in the target) are never overwritten.
        app["installCommandLine"] = "msiexec /i ContosoVPN.msi"
        app["returnCodes"] = app["returnCodes"][:2]
        _retarget(app)

    def vpp(app):
        app["description"] = "Changed by Apple"
        app["roleScopeTagIds"] = ["0"]
        _retarget(app)

    _change(emulated, "Contoso VPN Client", win32)
    _change(emulated, "Contoso Expenses", vpp)
    _change(emulated, "Company Portal", lambda app: app.update(description="Old text"))
    emulated.delete_object(APPS, by_name(emulated, "mobile_app")["Contoso Intranet"]["id"])

    start = log_size()
    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.filter(policy_type="mobile_app")}
    assert planned["Contoso Intranet"].action == "create"
    assert planned["Contoso VPN Client"].action == "update"
    assert {c["path"] for c in planned["Contoso VPN Client"].diff["changes"]} == {"description"}
    assert planned["Contoso Expenses"].action == "update"
    assert planned["Contoso Expenses"].diff["changes"] == []
    assert planned["Contoso Expenses"].diff["scope_tags"]["added"]
    assert planned["Microsoft Teams (Android)"].action == "no_change"

    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    assert backup_state(take_backup(owner, tenant), "mobile_app") == before
    apps = by_name(emulated, "mobile_app")
    assert apps["Contoso Expenses"]["description"] == "Changed by Apple"
    assert apps["Contoso VPN Client"]["installCommandLine"] == "msiexec /i ContosoVPN.msi"
    assert len(apps["Contoso VPN Client"]["returnCodes"]) == 2
    # Only the web app was created; the VPP app got its scope tags back in one PATCH that
    # left its Apple-synced description alone.
    writes = writes_to(emulated, APPS, since=start)
    assert [w for w in writes if w[0] == "POST" and w[1].endswith("/mobileApps")] == [
        ("POST", "/beta/deviceAppManagement/mobileApps", 201)
    ]
    vpp_id = apps["Contoso Expenses"]["id"]
    assert len([w for w in writes if w[0] == "PATCH" and vpp_id in w[1]]) == 1
    assert sorted(apps["Contoso Expenses"]["roleScopeTagIds"]) == sorted(
        before["Contoso Expenses"][2]
    )


def test_missing_apps_with_content_or_from_a_store_are_skipped_with_what_to_do(
    personas, tenant, emulated, demo_objects
):
    owner = personas["owner"]
    seed_collections(emulated, demo_objects, APPS)
    baseline = take_backup(owner, tenant)
    for name in ("Contoso VPN Client", "Contoso Expenses"):
        emulated.delete_object(APPS, by_name(emulated, "mobile_app")[name]["id"])

    start = log_size()
    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.filter(policy_type="mobile_app")}
    win32, vpp = planned["Contoso VPN Client"], planned["Contoso Expenses"]
    assert (win32.action, win32.diff["skip_code"]) == ("skip", "never_created")
    assert "upload the app's content in intune first" in win32.reason.lower()
    assert (vpp.action, vpp.diff["skip_code"]) == ("skip", "never_created")
    assert "Sync the token" in vpp.reason
    checks = run.check_results.filter(code="target_missing", item_type="mobile_app")
    assert checks.count() == 2
    assert all(c.severity == "warning" and "never creates it" in c.message for c in checks)
    assert (
        "Upload the app's content in Intune first"
        in checks.get(item_name="Contoso VPN Client").resolution
    )

    run = restore_run_execute(run_id=run.pk)
    # The other apps are unchanged: the plan writes nothing, so the run is not executable
    # ("Nothing to restore") and the two apps are not created.
    assert run.status == "previewed" and not run.item_outcomes.exists()
    assert set(by_name(emulated, "mobile_app")) == {
        "Company Portal",
        "Microsoft Edge for Windows",
        "Microsoft Teams (Android)",
        "Contoso Intranet",
    }
    assert not [w for w in writes_to(emulated, APPS, since=start) if w[0] == "POST"]


def test_microsofts_own_app_is_backed_up_but_never_written(personas, tenant, emulated):
    owner = personas["owner"]
    builtin = {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceAppManagement/"
        "mobileApps/$entity",
        **_managed_store_app("Outlook", "global", assigned=True),
        "assignments": [],
    }
    unassigned = {**copy.deepcopy(builtin), "displayName": "Word", "isAssigned": False}
    emulated.put_object(APPS, builtin)
    emulated.put_object(APPS, unassigned)
    baseline = take_backup(owner, tenant)
    assert set(backup_state(baseline, "mobile_app")) == {"Outlook"}  # IntuneCD's filter
    emulated.delete_object(APPS, by_name(emulated, "mobile_app")["Outlook"]["id"])

    run = prepare_run(owner, tenant, baseline)
    planned = run.preview_items.get(policy_type="mobile_app")
    assert (planned.action, planned.diff["skip_code"]) == ("skip", "builtin_object")
    restore_run_execute(run_id=run.pk)
    assert "Outlook" not in by_name(emulated, "mobile_app")
