"""References to objects a run cannot provide itself: an Apple enrollment profile's VPP token
(``vpp_token``: tenant-bound, never written) and an iOS app assignment's per-app VPN profile
(``vpn_configuration``: a device configuration, restored after the apps). Across tenants they
resolve only through the mapping; a same-tenant restore keeps an id that still exists. Whatever
the scope holds, such a reference is never written with the source tenant's id."""

from __future__ import annotations

from typing import Any

import pytest

from tenantguard.intune.capture import CapturedItem
from tenantguard.intune.reference_kinds import EMPTY_GUID
from tenantguard.intune.references import Reference, references_of
from tenantguard.intune.target import TargetState
from tenantguard.restores.services.checks import RestoreRiskChecker
from tenantguard.restores.services.source import (
    BackupNames,
    RunInputs,
    SourceItem,
    TargetGroups,
    build_resolver,
    intended_item,
)

SOURCE_TOKEN = "a1b2c3d4-0000-4000-8000-00000000000a"
TARGET_TOKEN = "f9e8d7c6-0000-4000-8000-00000000000f"
SOURCE_VPN = "11111111-2222-4333-8444-555555555555"
TARGET_VPN = "99999999-8888-4777-8666-555555555555"
GROUP = "g-1"


def _source(
    type_key: str,
    source_id: str,
    name: str,
    payload: dict[str, Any],
    assignments: list[dict[str, Any]] | None = None,
) -> SourceItem:
    return SourceItem(
        type_key=type_key,
        source_id=source_id,
        display_name=name,
        payload=payload,
        assignments=assignments if assignments is not None else [],
        scope_tag_ids=[],
        content_hash="x",
    )


def _captured(type_key: str, object_id: str, name: str, payload: dict[str, Any]) -> CapturedItem:
    return CapturedItem(
        type_key=type_key,
        source_id=object_id,
        display_name=name,
        platform="iOS",
        payload={"id": object_id, **payload},
        assignments=[],
        scope_tag_ids=[],
        source_modified_at=None,
    )


def _profile(token: Any = SOURCE_TOKEN) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.depIOSEnrollmentProfile",
        "displayName": "iOS - Corporate",
        "installCompanyPortal": True,
        "companyPortalVppTokenId": token,
        "enrollmentTimeAzureAdGroupIds": [],
    }


def _app_assignments(vpn: Any = SOURCE_VPN) -> list[dict[str, Any]]:
    return [
        {
            "intent": "required",
            "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": GROUP},
            "settings": {
                "@odata.type": "#microsoft.graph.iosStoreAppAssignmentSettings",
                "vpnConfigurationId": vpn,
                "uninstallOnDeviceRemoval": True,
            },
        }
    ]


_APP = {
    "@odata.type": "#microsoft.graph.iosStoreApp",
    "displayName": "Contoso Expenses",
    "bundleId": "com.contoso.expenses",
    "appStoreUrl": "https://apps.apple.com/app/id1",
}
_VPN_PROFILE = {
    "@odata.type": "#microsoft.graph.iosVpnConfiguration",
    "displayName": "Corp VPN",
    "connectionName": "Corp",
}
_TOKEN = {"@odata.type": "#microsoft.graph.vppToken", "displayName": "Contoso VPP"}


def _resolver(
    *,
    items: list[SourceItem],
    same_tenant: bool,
    mapping: dict[str, dict[str, str | None]] | None = None,
    foundation_ids: dict[str, dict[str, str]] | None = None,
) -> Any:
    # The target holds a VPP token and a VPN profile with the source's names (other ids).
    state = TargetState(
        items=[
            _captured("vpp_token", TARGET_TOKEN, "Contoso VPP", _TOKEN),
            _captured("device_configuration", TARGET_VPN, "Corp VPN", _VPN_PROFILE),
            *(
                [
                    _captured("vpp_token", SOURCE_TOKEN, "Contoso VPP", _TOKEN),
                    _captured("device_configuration", SOURCE_VPN, "Corp VPN", _VPN_PROFILE),
                ]
                if same_tenant
                else []
            ),
        ]
    )
    return build_resolver(
        items=items,
        target_state=state,
        target_groups=TargetGroups(existing={GROUP: "Pilot"}),
        backup_names=BackupNames(
            groups={GROUP: "Pilot"},
            foundations={
                "vpp_token": {SOURCE_TOKEN: "Contoso VPP"},
                "device_configuration": {SOURCE_VPN: "Corp VPN"},
            },
        ),
        inputs=RunInputs(
            mapping={"group": {GROUP: GROUP}, **(mapping or {})},
            same_tenant=same_tenant,
            target_label="Fabrikam",
        ),
        foundation_ids=foundation_ids,
    )


def _written(resolver: Any, item: SourceItem) -> Any:
    return intended_item(
        type_key=item.type_key,
        payload=item.payload,
        assignments=item.assignments,
        scope_tag_ids=None,
        resolver=resolver,
        identities=None,
        source_identifiers="keep",
    ).rewritten


PROFILE = _source("apple_enrollment_profile", "tok_p1", "iOS - Corporate", _profile())
APP = _source("mobile_app", "app-1", "Contoso Expenses", _APP, _app_assignments())
#: The same objects the references point at, in the run's scope.
SCOPED_TOKEN = _source("vpp_token", SOURCE_TOKEN, "Contoso VPP", _TOKEN)
SCOPED_VPN = _source("device_configuration", SOURCE_VPN, "Corp VPN", _VPN_PROFILE)


# ---- where they are -----------------------------------------------------------------------


def test_the_vpp_token_and_the_per_app_vpn_are_references() -> None:
    assert references_of(
        type_key="apple_enrollment_profile",
        payload=_profile(),
        assignments=None,
        scope_tag_ids=None,
    ) == [Reference("vpp_token", SOURCE_TOKEN, "companyPortalVppTokenId")]
    refs = references_of(
        type_key="mobile_app", payload=_APP, assignments=_app_assignments(), scope_tag_ids=[]
    )
    assert (
        Reference("vpn_configuration", SOURCE_VPN, "assignments[0].settings.vpnConfigurationId")
        in refs
    )


@pytest.mark.parametrize("empty", [None, "", EMPTY_GUID])
def test_no_token_and_no_vpn_are_not_references(empty: Any) -> None:
    assert (
        references_of(
            type_key="apple_enrollment_profile",
            payload=_profile(empty),
            assignments=None,
            scope_tag_ids=None,
        )
        == []
    )
    refs = references_of(
        type_key="mobile_app", payload=_APP, assignments=_app_assignments(empty), scope_tag_ids=[]
    )
    assert [r.kind for r in refs] == ["group"]


# ---- VPP token ----------------------------------------------------------------------------


@pytest.mark.parametrize("scope", [[PROFILE], [SCOPED_TOKEN, PROFILE]], ids=["alone", "with-token"])
@pytest.mark.parametrize("foundation_ids", [None, {}], ids=["preview", "execution"])
def test_across_tenants_an_unmapped_vpp_token_is_never_written(
    scope: list[SourceItem], foundation_ids: dict | None
) -> None:
    """Even with the token in scope and a target token of the same name: a token is never
    written, so the run cannot provide one; only the mapping can."""
    resolver = _resolver(items=scope, same_tenant=False, foundation_ids=foundation_ids)
    rewritten = _written(resolver, PROFILE)
    assert [(r.kind, r.source_id) for r in rewritten.unresolved] == [("vpp_token", SOURCE_TOKEN)]
    assert [r.status for r in rewritten.unresolved_resolutions] == ["missing"]
    message = resolver.describe_unresolved(rewritten.unresolved, item_label="Profile 'P'")
    assert "VPP token 'Contoso VPP'" in message
    assert "include the VPP token in the scope" not in message
    assert "remove the item from the scope" in message  # a token cannot be skipped
    # the same-name token of the target is proposed, never applied
    assert resolver.suggestions("vpp_token", SOURCE_TOKEN) == [
        {"id": TARGET_TOKEN, "name": "Contoso VPP"}
    ]


def test_a_mapped_vpp_token_is_written_as_the_targets_and_a_skip_is_not_a_decision() -> None:
    mapped = _resolver(
        items=[PROFILE], same_tenant=False, mapping={"vpp_token": {SOURCE_TOKEN: TARGET_TOKEN}}
    )
    rewritten = _written(mapped, PROFILE)
    assert rewritten.unresolved == []
    assert rewritten.payload["companyPortalVppTokenId"] == TARGET_TOKEN

    skipped = _resolver(
        items=[PROFILE], same_tenant=False, mapping={"vpp_token": {SOURCE_TOKEN: None}}
    )
    rewritten = _written(skipped, PROFILE)
    assert [(r.kind, r.source_id) for r in rewritten.unresolved] == [("vpp_token", SOURCE_TOKEN)]
    assert rewritten.dropped == []

    gone = _resolver(
        items=[PROFILE], same_tenant=False, mapping={"vpp_token": {SOURCE_TOKEN: "not-there"}}
    )
    assert [r.status for r in _written(gone, PROFILE).unresolved_resolutions] == ["mapped_missing"]


def test_in_the_same_tenant_the_existing_token_is_kept() -> None:
    rewritten = _written(_resolver(items=[PROFILE], same_tenant=True, foundation_ids={}), PROFILE)
    assert rewritten.unresolved == []
    assert rewritten.payload["companyPortalVppTokenId"] == SOURCE_TOKEN


# ---- per-app VPN ----------------------------------------------------------------------------


@pytest.mark.parametrize("scope", [[APP], [APP, SCOPED_VPN]], ids=["alone", "with-profile"])
@pytest.mark.parametrize("foundation_ids", [None, {}], ids=["preview", "execution"])
def test_across_tenants_an_unmapped_vpn_profile_is_never_written(
    scope: list[SourceItem], foundation_ids: dict | None
) -> None:
    """The profile in scope is written after the app's assignments: it cannot resolve them
    (no placeholder in the preview, no source id in the execution)."""
    resolver = _resolver(items=scope, same_tenant=False, foundation_ids=foundation_ids)
    rewritten = _written(resolver, APP)
    assert [(r.kind, r.source_id) for r in rewritten.unresolved] == [
        ("vpn_configuration", SOURCE_VPN)
    ]
    assert [r.status for r in rewritten.unresolved_resolutions] == ["missing"]
    assert resolver.placeholders == {}
    message = resolver.describe_unresolved(rewritten.unresolved, item_label="App 'A'")
    assert "VPN profile 'Corp VPN'" in message and "skip this assignment" in message
    assert "include the VPN profile in the scope" not in message


def test_a_mapped_vpn_profile_is_written_and_a_skipped_one_leaves_the_assignment_out() -> None:
    mapped = _resolver(
        items=[APP, SCOPED_VPN],
        same_tenant=False,
        mapping={"vpn_configuration": {SOURCE_VPN: TARGET_VPN}},
        foundation_ids={},
    )
    rewritten = _written(mapped, APP)
    assert rewritten.unresolved == []
    assert rewritten.assignments is not None
    assert rewritten.assignments[0]["settings"]["vpnConfigurationId"] == TARGET_VPN

    skipped = _resolver(
        items=[APP], same_tenant=False, mapping={"vpn_configuration": {SOURCE_VPN: None}}
    )
    rewritten = _written(skipped, APP)
    assert rewritten.unresolved == []
    assert rewritten.assignments == []
    assert [(r.kind, r.source_id) for r in rewritten.skip_reasons] == [
        ("vpn_configuration", SOURCE_VPN)
    ]


def test_in_the_same_tenant_an_existing_vpn_profile_is_kept_and_a_deleted_one_is_not() -> None:
    rewritten = _written(_resolver(items=[APP], same_tenant=True, foundation_ids={}), APP)
    assert rewritten.unresolved == []
    assert rewritten.assignments is not None
    assert rewritten.assignments[0]["settings"]["vpnConfigurationId"] == SOURCE_VPN

    other = "00000000-1111-4222-8333-444444444444"
    app = _source("mobile_app", "app-1", "Contoso Expenses", _APP, _app_assignments(other))
    resolver = _resolver(items=[app, SCOPED_VPN], same_tenant=True, foundation_ids={})
    assert [r.source_id for r in _written(resolver, app).unresolved] == [other]


# ---- the checks -----------------------------------------------------------------------------


def _checks(items: list[SourceItem]) -> list[Any]:
    state = TargetState(
        items=[
            _captured("vpp_token", TARGET_TOKEN, "Contoso VPP", _TOKEN),
            _captured("device_configuration", TARGET_VPN, "Corp VPN", _VPN_PROFILE),
        ]
    )
    checker = RestoreRiskChecker(
        items=items,
        target_state=state,
        inputs=RunInputs(
            mapping={"group": {GROUP: GROUP}}, same_tenant=False, target_label="Fabrikam"
        ),
        backup_names=BackupNames(
            groups={GROUP: "Pilot"},
            foundations={
                "vpp_token": {SOURCE_TOKEN: "Contoso VPP"},
                "device_configuration": {SOURCE_VPN: "Corp VPN"},
            },
        ),
        target_groups=TargetGroups(existing={GROUP: "Pilot"}),
    )
    return checker.run()


def test_the_checks_block_and_say_why_restoring_the_object_does_not_help() -> None:
    results = {r.code: r for r in _checks([SCOPED_TOKEN, APP, SCOPED_VPN, PROFILE])}
    token = results["vpp_token_missing"]
    assert token.severity == "blocking"
    assert "(it will be created)" not in token.resolution
    assert "never writes" in token.resolution
    assert token.details["suggested_target_id"] == TARGET_TOKEN
    vpn = results["vpn_configuration_missing"]
    assert vpn.severity == "blocking"
    assert "(it will be created)" not in vpn.resolution
    assert "only after apps" in vpn.resolution and "run the restore" in vpn.resolution
    assert vpn.details["suggested_target_id"] == TARGET_VPN
    # Out of scope, the token is still one TenantGuard cannot write: no "include it" advice.
    alone = {r.code: r for r in _checks([PROFILE])}["vpp_token_missing"]
    assert "(it will be created)" not in alone.resolution
    assert "never writes apple vpp tokens" in alone.resolution
