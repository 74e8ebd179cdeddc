"""Write bodies are checked against Graph's schema (generated from Microsoft's SDK models):
unknown properties are answered 400 the way Graph does; annotations, read-only properties and
types the schema does not know are accepted."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tenantguard.emulator import schema as schema_module
from tenantguard.emulator.errors import EmulatorHTTPError
from tenantguard.emulator.resources import RESOURCES
from tenantguard.emulator.schema import SCHEMA_FILE, check_write_body, load_schema

DC = "/beta/deviceManagement/deviceConfigurations"
COMPLIANCE = "/beta/deviceManagement/deviceCompliancePolicies"
TEMPLATES = "/beta/deviceManagement/notificationMessageTemplates"
WIN10 = "#microsoft.graph.windows10GeneralConfiguration"


def _win10(**extra: Any) -> dict[str, Any]:
    return {"@odata.type": WIN10, "displayName": "Schema test", "passwordRequired": True, **extra}


def _model_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "ModelValidationFailure"
    assert error["innerError"]["message"] == error["message"]
    assert set(error["innerError"]) == {"message", "date", "request-id", "client-request-id"}
    return dict(error)


def _unknown(prop: str, type_name: str) -> str:
    return (
        f"The property '{prop}' does not exist on type "
        f"'microsoft.management.services.api.{type_name}'. Make sure to only use property names "
        "that are defined by the type."
    )


def test_the_schema_file_is_small_and_covers_every_served_collection() -> None:
    assert SCHEMA_FILE.stat().st_size < 1_500_000
    schema = load_schema()
    missing = [
        spec.collection for spec in RESOURCES if schema.collection_type(spec.collection) is None
    ]
    assert missing == []
    for spec in RESOURCES:
        type_name = schema.collection_type(spec.collection)
        assert type_name is not None and schema.knows(type_name), spec.collection
    # inherited properties resolve through the base chain
    props = schema.properties("microsoft.graph.windows10GeneralConfiguration")
    assert {"id", "displayName", "roleScopeTagIds", "passwordRequired"} <= set(props)
    assert schema.is_a(
        "microsoft.graph.windows10GeneralConfiguration", "microsoft.graph.deviceConfiguration"
    )


def test_unknown_property_in_a_create_is_answered_like_graph(client: httpx.Client) -> None:
    response = client.post(DC, json=_win10(wifiBlockedTypo=True))
    error = _model_error(response)
    assert error["message"] == _unknown("wifiBlockedTypo", "windows10GeneralConfiguration")
    assert client.get(DC).json()["value"] == []


def test_unknown_property_of_a_nested_complex_value_names_the_nested_type(
    client: httpx.Client,
) -> None:
    body = {
        "@odata.type": "#microsoft.graph.windows10CustomConfiguration",
        "displayName": "OMA",
        "omaSettings": [
            {
                "@odata.type": "#microsoft.graph.omaSettingString",
                "displayName": "a",
                "omaUri": "./Device/Vendor/MSFT/Policy/Config/A",
                "value": "1",
                "stringValue": "1",
            }
        ],
    }
    error = _model_error(client.post(DC, json=body))
    assert error["message"] == _unknown("stringValue", "omaSettingString")
    del body["omaSettings"][0]["stringValue"]
    assert client.post(DC, json=body).status_code == 201


def test_a_type_not_derived_from_the_collection_type_is_refused(client: httpx.Client) -> None:
    error = _model_error(client.post(COMPLIANCE, json=_win10()))
    assert error["message"] == (
        "An entry with type 'microsoft.management.services.api.windows10GeneralConfiguration' "
        "was found, but it is not assignable to the expected type "
        "'microsoft.management.services.api.deviceCompliancePolicy'. The type specified in the "
        "entry must be equal to either the expected type or a derived type."
    )


def test_annotations_and_read_only_properties_are_accepted_and_ignored(
    client: httpx.Client,
) -> None:
    body = _win10(
        **{
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#x/$entity",
            "@odata.etag": 'W/"1"',
            "roleScopeTagIds@odata.type": "#Collection(String)",
            "id": "forged-id",
            "createdDateTime": "2001-01-01T00:00:00Z",
            "lastModifiedDateTime": "2001-01-01T00:00:00Z",
            "version": 42,
            "supportsScopeTags": False,
        }
    )
    response = client.post(DC, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != "forged-id"
    assert created["createdDateTime"] != "2001-01-01T00:00:00Z"
    assert created["version"] != 42
    assert created["supportsScopeTags"] is True


def test_patch_and_put_bodies_are_checked_against_the_stored_type(client: httpx.Client) -> None:
    created = client.post(DC, json=_win10()).json()
    url = f"{DC}/{created['id']}"
    error = _model_error(client.patch(url, json={"passwordRequiredX": False}))
    assert error["message"] == _unknown("passwordRequiredX", "windows10GeneralConfiguration")
    assert client.patch(url, json={"passwordRequired": False}).status_code == 204

    policy = client.post(
        "/beta/deviceManagement/configurationPolicies",
        json={"name": "SC", "platforms": "windows10", "technologies": "mdm", "settings": []},
    ).json()
    put = client.put(
        f"/beta/deviceManagement/configurationPolicies/{policy['id']}",
        json={"name": "SC", "platforms": "windows10", "settings": [], "colour": "blue"},
    )
    assert _model_error(put)["message"] == _unknown("colour", "deviceManagementConfigurationPolicy")


def test_child_creates_are_checked_against_the_navigation_type(client: httpx.Client) -> None:
    template = client.post(TEMPLATES, json={"displayName": "Notice"}).json()
    url = f"{TEMPLATES}/{template['id']}/localizedNotificationMessages"
    message = {"locale": "en-us", "subject": "Hi", "messageTemplate": "Body", "isDefault": True}
    error = _model_error(client.post(url, json={**message, "footer": "x"}))
    assert error["message"] == _unknown("footer", "localizedNotificationMessage")
    assert client.post(url, json=message).status_code == 201


def test_groups_are_an_open_type_but_their_complex_values_are_checked(
    client: httpx.Client,
) -> None:
    body = {
        "displayName": "G",
        "mailEnabled": False,
        "mailNickname": "g",
        "securityEnabled": True,
        "creationOptions": [],  # served by Graph, declared by no model: groups are open
        "writebackConfiguration": {"isEnabled": False, "colour": "blue"},
    }
    response = client.post("/beta/groups", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("Request_BadRequest", "Invalid property 'colour'.")
    del body["writebackConfiguration"]["colour"]
    assert client.post("/beta/groups", json=body).status_code == 201


def test_a_type_the_schema_does_not_know_is_logged_and_accepted(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    body = {
        "@odata.type": "#microsoft.graph.someConfigurationAddedNextYear",
        "displayName": "Future",
        "futureSetting": 1,
    }
    with caplog.at_level(logging.INFO, logger=schema_module.__name__):
        response = client.post(DC, json=body)
    assert response.status_code == 201, response.text
    assert "someConfigurationAddedNextYear" in caplog.text
    # a collection the schema has no type for is accepted unchecked too
    check_write_body({"anything": 1}, collection="deviceManagement/somethingNew")


def test_check_write_body_raises_for_an_unknown_property_of_a_known_collection() -> None:
    with pytest.raises(EmulatorHTTPError) as raised:
        check_write_body(
            {"displayName": "x", "nope": 1}, collection="deviceManagement/roleScopeTags"
        )
    assert raised.value.status == 400
    assert raised.value.message == _unknown("nope", "roleScopeTag")


def test_an_odata_type_that_is_not_a_string_is_refused():
    """``@odata.type`` names a type: a number, list or object is a 400, never stored."""
    from tenantguard.emulator.schema import SchemaValidationError, check_write_body

    collection = "deviceManagement/deviceCategories"
    for bad in (5, ["a"], {"a": 1}, True):
        with pytest.raises(SchemaValidationError):
            check_write_body({"@odata.type": bad, "displayName": "Kiosk"}, collection=collection)
    check_write_body(
        {"@odata.type": "#microsoft.graph.deviceCategory", "displayName": "Kiosk"},
        collection=collection,
    )
