"""What enrollment kinds point at: ESP apps (``mobile_app``), Apple profiles' enrollment-time
groups (``group``), scope tags and filters; a restore writes the target's ids, never the
source's."""

from __future__ import annotations

from tenantguard.intune.references import references_of, rewrite

from ..intune_restore.reference_support import StaticResolver

EDGE = "5c7f19f5-dbb1-52ad-9fb4-0f7304b95810"
VPN = "1a304269-c065-5479-9c0a-7ce2cd7fed8e"


def _esp():
    return {
        "@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration",
        "id": "e1_Windows10EnrollmentCompletionPageConfiguration",
        "displayName": "ESP",
        "selectedMobileAppIds": [VPN, EDGE],
        "roleScopeTagIds": ["0", "1114"],
    }


def test_esp_apps_are_app_references_mapped_or_left_out():
    refs = references_of(
        type_key="enrollment_status_page", payload=_esp(), assignments=[], scope_tag_ids=None
    )
    assert {(r.kind, r.source_id) for r in refs} == {
        ("mobile_app", VPN),
        ("mobile_app", EDGE),
        ("scope_tag", "1114"),
    }
    result = rewrite(
        type_key="enrollment_status_page",
        payload=_esp(),
        assignments=[],
        scope_tag_ids=["0", "1114"],
        resolver=StaticResolver(
            {"mobile_app": {VPN: "target-vpn", EDGE: None}, "scope_tag": {"1114": "9"}}
        ),
    )
    assert result.payload["selectedMobileAppIds"] == ["target-vpn"]  # the skipped app left out
    assert result.scope_tag_ids == ["0", "9"]
    assert not result.unresolved


def test_an_unresolved_esp_app_is_reported_not_written_as_the_source_id():
    result = rewrite(
        type_key="enrollment_status_page",
        payload=_esp(),
        assignments=[],
        scope_tag_ids=["0"],
        resolver=StaticResolver({"mobile_app": {VPN: "target-vpn"}}),
    )
    assert [(r.kind, r.source_id) for r in result.unresolved] == [("mobile_app", EDGE)]


def test_apple_profile_enrollment_groups_are_group_references():
    profile = {
        "@odata.type": "#microsoft.graph.depIOSEnrollmentProfile",
        "id": "token_p1",
        "displayName": "iOS",
        "enrollmentTimeAzureAdGroupIds": ["g-1"],
    }
    refs = references_of(
        type_key="apple_enrollment_profile", payload=profile, assignments=[], scope_tag_ids=None
    )
    assert [(r.kind, r.source_id) for r in refs] == [("group", "g-1")]
    result = rewrite(
        type_key="apple_enrollment_profile",
        payload=profile,
        assignments=[],
        scope_tag_ids=[],
        resolver=StaticResolver({"group": {"g-1": "g-target"}}),
    )
    assert result.payload["enrollmentTimeAzureAdGroupIds"] == ["g-target"]
