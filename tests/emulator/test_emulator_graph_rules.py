"""Graph rules found by pointing an independent client (IntuneCD 2.6.0) at the emulator
(issue 8 §3). Each test names the Graph source that the rule was checked against."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tenantguard.emulator import GraphEmulator, Tenant
from tenantguard.emulator.testing import custom_configuration, graph_error, group_target
from tenantguard.intune.normalize import normalize_payload

DM = "/beta/deviceManagement"
DC = f"{DM}/deviceConfigurations"
SC = f"{DM}/configurationPolicies"
TEMPLATES = f"{DM}/notificationMessageTemplates"


def _batch(client: httpx.Client, requests: list[dict[str, Any]]) -> httpx.Response:
    return client.post("/beta/$batch", json={"requests": requests})


def _setting(index: int) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
        "settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": f"vendor_setting_{index:04d}",
            "simpleSettingValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationIntegerSettingValue",
                "value": index,
            },
        },
    }


def _settings_policy(count: int) -> dict[str, Any]:
    return {
        "name": f"{count} settings",
        "platforms": "windows10",
        "technologies": "mdm",
        "settings": [_setting(i) for i in range(count)],
    }


# --- 1. $batch ids sent as JSON numbers ----------------------------------------------------


def test_batch_accepts_numeric_request_ids_and_answers_them_as_strings(
    client: httpx.Client,
) -> None:
    """Graph: the JSON batching page types `id` as a String, yet IntuneCD (which sends
    `"id": 1, 2, ...`) works against Graph and reads answers back with `int(resp["id"])`:
    numbers are accepted and answered as their string form."""
    created = client.post(DC, json=custom_configuration()).json()
    response = _batch(
        client,
        [
            {
                "id": 1,
                "method": "GET",
                "url": f"/deviceManagement/deviceConfigurations/{created['id']}",
            },
            {"id": 2, "method": "GET", "url": "/deviceManagement/deviceConfigurations/missing"},
            {
                "id": "3",
                "method": "GET",
                "url": "/deviceManagement/roleScopeTags",
                "dependsOn": [1],
            },
        ],
    )
    assert response.status_code == 200, response.text
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert set(by_id) == {"1", "2", "3"}
    assert by_id["1"]["status"] == 200 and by_id["1"]["body"]["id"] == created["id"]
    assert by_id["2"]["status"] == 404
    assert by_id["3"]["status"] == 200


def test_batch_refuses_ids_that_are_neither_strings_nor_numbers(client: httpx.Client) -> None:
    """Graph: `id` is required; a request without a usable id fails the whole batch (400)."""
    response = _batch(
        client, [{"id": True, "method": "GET", "url": "/deviceManagement/roleScopeTags"}]
    )
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


# --- 2. ids that differ only in case are duplicates --------------------------------------


@pytest.mark.parametrize(("first", "second"), [("a", "A"), ("policy-X", "POLICY-x"), (7, "7")])
def test_batch_ids_differing_only_in_case_are_duplicates(
    client: httpx.Client, first: Any, second: Any
) -> None:
    """Graph (JSON batching page: "not case sensitive; must be unique in the batch, or the
    batch request fails with a 400 error code"; microsoft-graph-docs issue 4449 quotes the
    answer "Request Id A has to be unique in a batch")."""
    url = "/deviceManagement/roleScopeTags"
    response = _batch(
        client,
        [
            {"id": first, "method": "GET", "url": url},
            {"id": second, "method": "GET", "url": url},
        ],
    )
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "BadRequest"
    assert error["message"] == f"Request Id {second} has to be unique in a batch."


def test_batch_depends_on_matches_ids_without_regard_to_case(client: httpx.Client) -> None:
    """Graph: batch ids are not case sensitive, so `dependsOn: ["FIRST"]` names `first`."""
    url = "/deviceManagement/roleScopeTags"
    response = _batch(
        client,
        [
            {"id": "first", "method": "GET", "url": url},
            {"id": "second", "method": "GET", "url": url, "dependsOn": ["FIRST"]},
        ],
    )
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["responses"]} == {200}


# --- 3. $select always returns id ----------------------------------------------------------


def test_select_always_returns_id_on_intune_lists_items_and_batches(
    client: httpx.Client,
) -> None:
    """Intune answers `id` whatever `$select` names: IntuneCD batches
    `assignmentFilters/{id}?$select=displayName` and reads `["id"]` of each answer."""
    created = client.post(
        f"{DM}/assignmentFilters",
        json={"displayName": "Corporate", "platform": "windows10AndLater", "rule": "(x)"},
    ).json()
    listed = client.get(f"{DM}/assignmentFilters", params={"$select": "displayName"}).json()
    assert listed["value"] == [{"id": created["id"], "displayName": "Corporate"}]
    item = client.get(f"{DM}/assignmentFilters/{created['id']}?$select=displayName").json()
    assert {k: v for k, v in item.items() if not k.startswith("@")} == {
        "id": created["id"],
        "displayName": "Corporate",
    }
    batched = _batch(
        client,
        [
            {
                "id": 1,
                "method": "GET",
                "url": f"/deviceManagement/assignmentFilters/{created['id']}?$select=displayName",
            }
        ],
    ).json()["responses"][0]["body"]
    assert batched["id"] == created["id"]


def test_select_on_directory_objects_returns_only_what_was_selected(
    client: httpx.Client, tenant: Tenant
) -> None:
    """Graph "Get user" example: `$select=displayName,givenName,...` answers only those
    properties, no `id`: the id rule is Intune's, not Entra's."""
    tenant.put_object("groups", {"id": "g1", "displayName": "Sales"})
    listed = client.get("/v1.0/groups", params={"$select": "displayName"}).json()
    assert listed["value"] == [{"displayName": "Sales"}]


# --- 4. settings honour top/$top up to the maximum ---------------------------------------


@pytest.mark.parametrize("option", ["top", "$top"])
def test_settings_page_honours_top_up_to_1000(client: httpx.Client, option: str) -> None:
    """Clients read settings catalog settings with `top=1000` (IntuneCD, without `$`, and
    without following a nextLink inside `$batch`) or `$top=999/1000`; a policy with more
    than 25 settings then comes back whole (IntuneBackupAndRestore issue 88: "saved only 25
    settings" until `top=999`)."""
    created = client.post(SC, json=_settings_policy(60)).json()
    page = client.get(f"{SC}/{created['id']}/settings?&{option}=1000").json()
    assert len(page["value"]) == 60
    assert "@odata.nextLink" not in page
    default = client.get(f"{SC}/{created['id']}/settings").json()
    assert len(default["value"]) == 25 and "@odata.nextLink" in default


def test_settings_beyond_the_maximum_page_follow_next_links(client: httpx.Client) -> None:
    """More than the largest page: capped at 1000 with a nextLink that keeps `top`."""
    created = client.post(SC, json=_settings_policy(1003)).json()
    first = client.get(f"{SC}/{created['id']}/settings", params={"top": "5000"}).json()
    assert len(first["value"]) == 1000
    rest = client.get(first["@odata.nextLink"]).json()
    assert len(rest["value"]) == 3 and "@odata.nextLink" not in rest
    ids = [s["settingInstance"]["settingDefinitionId"] for s in first["value"] + rest["value"]]
    assert ids == [f"vendor_setting_{i:04d}" for i in range(1003)]


def test_settings_small_top_pages_with_next_links(client: httpx.Client) -> None:
    created = client.post(SC, json=_settings_policy(7)).json()
    page = client.get(f"{SC}/{created['id']}/settings", params={"$top": "3"}).json()
    assert len(page["value"]) == 3 and "@odata.nextLink" in page


# --- 5. $expand of localizedNotificationMessages, doubled "?" ------------------------------


def _template(client: httpx.Client) -> dict[str, Any]:
    created = client.post(
        TEMPLATES,
        json={"displayName": "Noncompliant", "defaultLocale": "en-us", "brandingOptions": "none"},
    ).json()
    message = {
        "locale": "en-us",
        "subject": "Fix it",
        "messageTemplate": "Please",
        "isDefault": True,
    }
    posted = client.post(f"{TEMPLATES}/{created['id']}/localizedNotificationMessages", json=message)
    assert posted.status_code == 201, posted.text
    return dict(created)


def test_expand_localized_notification_messages_on_list_and_item(client: httpx.Client) -> None:
    """Graph: localizedNotificationMessages is a navigation of notificationMessageTemplate,
    expanded on list and get."""
    created = _template(client)
    listed = client.get(TEMPLATES, params={"$expand": "localizedNotificationMessages"}).json()
    assert [m["locale"] for m in listed["value"][0]["localizedNotificationMessages"]] == ["en-us"]
    item = client.get(f"{TEMPLATES}/{created['id']}?$expand=localizedNotificationMessages").json()
    assert item["localizedNotificationMessages"][0]["subject"] == "Fix it"
    assert "localizedNotificationMessages" not in client.get(f"{TEMPLATES}/{created['id']}").json()


def test_doubled_question_mark_query_is_honoured(client: httpx.Client) -> None:
    """IntuneCD passes `params="?$expand=localizedNotificationMessages"` to requests, which
    sends `notificationMessageTemplates??$expand=...`; every IntuneCD release since 1.x then
    reads `localizedNotificationMessages` of the answer, so Graph honours the option."""
    created = _template(client)
    listed = client.get(f"{TEMPLATES}??$expand=localizedNotificationMessages").json()
    assert listed["value"][0]["localizedNotificationMessages"][0]["locale"] == "en-us"
    item = client.get(f"{TEMPLATES}/{created['id']}??$expand=localizedNotificationMessages")
    assert item.json()["localizedNotificationMessages"][0]["locale"] == "en-us"
    filtered = client.get(f"{TEMPLATES}??$filter=displayName eq 'Other'").json()
    assert filtered["value"] == []
    batched = _batch(
        client,
        [
            {
                "id": 1,
                "method": "GET",
                "url": "/deviceManagement/notificationMessageTemplates??$expand=localizedNotificationMessages",
            }
        ],
    ).json()["responses"][0]
    assert batched["status"] == 200
    assert batched["body"]["value"][0]["localizedNotificationMessages"]


def test_question_mark_inside_an_option_value_is_part_of_the_value(client: httpx.Client) -> None:
    """`?$expand=x?$top=5`: the second "?" is not a separator (RFC 3986 query), so the
    `$expand` value is `x?$top=5`, an unknown navigation: 400 as for any unknown name."""
    _template(client)
    response = client.get(f"{TEMPLATES}?$expand=localizedNotificationMessages?$top=5")
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


# --- 6. a rejected $batch envelope is logged -------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"requests": [{"id": "a", "method": "GET", "url": "/x"}] * 2}, "has to be unique"),
        ({"requests": []}, "empty"),
        ({"nope": 1}, "'requests' array is required"),
        (b"{not json", "Unable to read JSON request payload"),
    ],
)
def test_rejected_batch_envelope_is_logged_with_its_reason(
    client: httpx.Client,
    emu: GraphEmulator,
    caplog: pytest.LogCaptureFixture,
    payload: Any,
    reason: str,
) -> None:
    """A batch refused as a whole (400) shows in the request log and, with the reason, in the
    `tenantguard.emulator` logger, so a client's failure against the emulator can be traced."""
    with caplog.at_level(logging.WARNING, logger="tenantguard.emulator"):
        if isinstance(payload, bytes):
            response = client.post(
                "/beta/$batch", content=payload, headers={"Content-Type": "application/json"}
            )
        else:
            response = client.post("/beta/$batch", json=payload)
    assert response.status_code == 400
    assert emu.request_log[-1][1:] == ("POST", "/beta/$batch", 400)
    assert emu.request_log[-1].tenant_id == "contoso-test"
    messages = [r.getMessage() for r in caplog.records if r.name == "tenantguard.emulator"]
    assert any("rejected $batch envelope" in m and reason in m for m in messages), messages


# --- 7. server-filled properties on POST / PUT -------------------------------------------------


def test_settings_catalog_post_fills_what_graph_fills_and_has_no_version(
    client: httpx.Client,
) -> None:
    """Graph resource page deviceManagementConfigurationPolicy: createdDateTime,
    lastModifiedDateTime, settingCount, creationSource, isAssigned; no `version` (a portal
    export in ../shared/corpus has `creationSource: null` and no version)."""
    forged = client.post(SC, json={**_settings_policy(2), "version": 9})
    assert forged.status_code == 400  # the type has no version: Graph refuses the property
    body = {**_settings_policy(2), "creationSource": "forged", "isAssigned": True}
    created = client.post(SC, json=body).json()
    assert created["creationSource"] is None
    assert created["isAssigned"] is False
    assert created["settingCount"] == 2
    assert "version" not in created
    url = f"{SC}/{created['id']}"
    client.post(f"{url}/assign", json={"assignments": [group_target("g1")]})
    assert client.get(url).json()["isAssigned"] is True
    assert client.put(url, json=_settings_policy(3)).status_code == 204
    after = client.get(url).json()
    assert "version" not in after
    assert after["creationSource"] is None and after["isAssigned"] is True
    assert after["settingCount"] == 3
    assert after["createdDateTime"] == created["createdDateTime"]
    assert after["lastModifiedDateTime"] > created["lastModifiedDateTime"]


def test_device_configuration_post_fills_supports_scope_tags(client: httpx.Client) -> None:
    """Graph resource page deviceConfiguration: supportsScopeTags (read-only)."""
    created = client.post(DC, json=custom_configuration(supportsScopeTags=False)).json()
    assert created["supportsScopeTags"] is True
    assert created["version"] == 1


def test_update_ring_post_fills_pause_and_rollback_state(client: httpx.Client) -> None:
    """Graph resource page windowsUpdateForBusinessConfiguration: qualityUpdatesPause-
    ExpiryDateTime, featureUpdatesPauseExpiryDateTime, *PauseStartDate (read-only),
    *WillBeRolledBack, *RollbackStartDateTime: a new ring that was never paused."""
    body = {
        "@odata.type": "#microsoft.graph.windowsUpdateForBusinessConfiguration",
        "displayName": "Ring 1",
        "qualityUpdatesDeferralPeriodInDays": 7,
        "qualityUpdatesPauseExpiryDateTime": "2030-01-01T00:00:00Z",
    }
    created = client.post(DC, json=body).json()
    assert created["qualityUpdatesPauseExpiryDateTime"] == "0001-01-01T00:00:00Z"
    assert created["featureUpdatesPauseExpiryDateTime"] == "0001-01-01T00:00:00Z"
    assert created["qualityUpdatesPauseStartDate"] is None
    assert created["featureUpdatesPauseStartDate"] is None
    assert created["qualityUpdatesWillBeRolledBack"] is False
    assert created["featureUpdatesWillBeRolledBack"] is False
    assert created["qualityUpdatesRollbackStartDateTime"] == "0001-01-01T00:00:00Z"
    other = client.post(DC, json=custom_configuration()).json()
    assert "qualityUpdatesPauseExpiryDateTime" not in other


def test_driver_update_profile_post_fills_inventory_state_and_has_no_version(
    client: httpx.Client,
) -> None:
    """Graph resource page windowsDriverUpdateProfile: deviceReporting, newUpdates,
    inventorySyncStatus are the service's; the type has no `version`."""
    body = {
        "@odata.type": "#microsoft.graph.windowsDriverUpdateProfile",
        "displayName": "Drivers",
        "approvalType": "manual",
        "newUpdates": 42,
    }
    created = client.post(f"{DM}/windowsDriverUpdateProfiles", json=body).json()
    assert created["newUpdates"] == 0 and created["deviceReporting"] == 0
    assert created["inventorySyncStatus"] == {
        "lastSuccessfulSyncDateTime": "0001-01-01T00:00:00Z",
        "driverInventorySyncState": "pending",
    }
    assert "version" not in created
    url = f"{DM}/windowsDriverUpdateProfiles/{created['id']}"
    assert client.patch(url, json={"description": "v2"}).status_code == 204
    after = client.get(url).json()
    assert "version" not in after and after["newUpdates"] == 0


def test_app_protection_post_fills_is_assigned(client: httpx.Client) -> None:
    url = "/beta/deviceAppManagement/iosManagedAppProtections"
    created = client.post(url, json={"displayName": "iOS", "isAssigned": True}).json()
    assert created["isAssigned"] is False and created["deployedAppCount"] == 0


@pytest.mark.parametrize(
    ("type_key", "collection", "body"),
    [
        ("settings_catalog", SC, _settings_policy(2)),
        (
            "windows_update_ring",
            DC,
            {
                "@odata.type": "#microsoft.graph.windowsUpdateForBusinessConfiguration",
                "displayName": "Ring",
            },
        ),
        (
            "windows_driver_update_profile",
            f"{DM}/windowsDriverUpdateProfiles",
            {"displayName": "Drivers", "approvalType": "manual"},
        ),
        (
            "device_configuration",
            DC,
            {"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "G"},
        ),
    ],
)
def test_server_filled_properties_are_server_maintained_for_tenantguard(
    client: httpx.Client, type_key: str, collection: str, body: dict[str, Any]
) -> None:
    """TenantGuard's compare form ignores every property the emulator fills in, so a restored
    object verifies against its backup (registry read_only_fields)."""
    created = client.post(collection, json=body).json()
    expand = "?$expand=settings" if collection == SC else ""
    read_back = client.get(f"{collection}/{created['id']}{expand}").json()
    assert normalize_payload(type_key, read_back) == normalize_payload(type_key, body)


def test_put_keeps_the_object_kind_and_refuses_to_change_it(client: httpx.Client) -> None:
    """A PUT replaces a settings catalog policy's properties, not what kind of object it is."""
    kind = "#microsoft.graph.deviceManagementConfigurationPolicy"
    created = client.post(SC, json={"@odata.type": kind, **_settings_policy(1)}).json()
    url = f"{SC}/{created['id']}"
    assert client.put(url, json=_settings_policy(2)).status_code == 204
    assert client.get(url).json()["@odata.type"] == kind
    other = {
        **_settings_policy(2),
        "@odata.type": "#microsoft.graph.deviceManagementCompliancePolicy",
    }
    refused = client.put(url, json=other)
    assert refused.status_code == 400 and "cannot change the type" in refused.text
