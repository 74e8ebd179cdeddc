"""tools/intunecd_interop.py: how IntuneCD's update output is read."""

from __future__ import annotations

from tools import intunecd_interop as interop

T = "Mon Dec  7 14:04:01 2026 [INFO] "


def test_a_payload_json_only_type_change_of_an_app_configuration_is_intunecds_own_defect():
    lines = [
        T + "Updating App Configuration: Android - Teams, type changed:",
        T + "Setting: payloadJson, New Value: {kind: x}, Old Value: eyJraW5k",
        T + "Running in report mode, not making Graph PATCH request to https://x",
        T + "No changes found for Device Category: Corporate laptops",
    ]
    changes, known = interop._changes(lines)
    assert changes == [] and len(known) == 1


def test_any_other_change_counts():
    lines = [
        T + "Updating App Configuration: Android - Teams, type changed:",
        T + "Setting: payloadJson, New Value: {kind: x}, Old Value: eyJraW5k",
        T + "Setting: displayName, New Value: a, Old Value: b",
        T + "Updating Windows Enrollment Profile: Kiosk, values changed:",
        T + "Setting: managementServiceAppId, New Value: , Old Value: None",
        T + "Scope Tag Finance not found, creating: Finance",
    ]
    changes, known = interop._changes(lines)
    assert known == [] and len(changes) == 3


def test_the_reusable_settings_error_is_intunecds_only_when_a_group_setting_is_seeded():
    line = "[ERROR] ReusablePolicySettings failed with exception: 'simpleSettingValue'"
    group = {"settingInstance": {"groupSettingCollectionValue": []}}
    script = {"settingInstance": {"simpleSettingValue": {"value": "IyEvYmluL3No"}}}
    reusable = "deviceManagement/reusablePolicySettings"
    assert interop._known_error(line, [(reusable, script), (reusable, group)])
    assert not interop._known_error(line, [(reusable, script)])
    assert not interop._known_error("[ERROR] Roles failed with exception: 'x'", [(reusable, group)])


def test_messages_printed_on_one_line_by_several_threads_are_split():
    output = (
        T
        + "Updating App Configuration: A, type changed:"
        + T
        + "No changes found for B\n"
        + "[ERROR] Roles failed with exception: 'x'"
        + T
        + "Setting: payloadJson, New Value: 1\n"
    )
    assert interop._messages(output) == [
        T.strip() + " Updating App Configuration: A, type changed:",
        T.strip() + " No changes found for B",
        "[ERROR] Roles failed with exception: 'x'",
        T.strip() + " Setting: payloadJson, New Value: 1",
    ]


def test_apns_and_google_play_errors_are_intunecds_only_when_the_tenant_has_none():
    apns = (
        "[ERROR] Error getting APNs data from https://graph.microsoft.com/beta/"
        "deviceManagement/applePushNotificationCertificate: Request failed after 5 retries "
        "with no response - no response"
    )
    play = (
        "[ERROR] Error processing Managed Google Play data: can only concatenate str "
        '(not "NoneType") to str'
    )
    assert interop._known_error(apns, []) and interop._known_error(play, [])
    configured = [
        (interop.APNS, {"id": "applePushNotificationCertificate"}),
        (interop.GOOGLE_PLAY, {"ownerUserPrincipalName": "admin@contoso.com"}),
    ]
    assert not interop._known_error(apns, configured)
    assert not interop._known_error(play, configured)
