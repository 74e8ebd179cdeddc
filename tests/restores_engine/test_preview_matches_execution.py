"""Issue 8, "what the preview shows is exactly what is written": places where the checks and
the preview used to disagree with the executor.

- A foundation the run never writes (one of Microsoft's built-in apps) is not "in scope":
  references to it resolve to its match in the target, in the preview and in the executor,
  and without a match they are missing (blocking), never "will be created".
- The placeholder the preview writes for a foundation the run creates is not scanned for
  source tenant identifiers (the executor writes the target's id there).
- Child lists a restore only merges into (intent settings, administrative template values,
  localized notification messages) keep the target's other elements: the preview shows them
  as kept, not as removals, and verification expects them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenantguard.backups.models import BackupItem, BackupSet
from tenantguard.intune import registry
from tenantguard.intune.capture import CapturedItem
from tenantguard.intune.target import TargetState
from tenantguard.intune.tenant_identity import TenantIdentity, VerifiedDomain
from tenantguard.restores.services.checks import RestoreRiskChecker
from tenantguard.restores.services.diff import RestoreDiffGenerator
from tenantguard.restores.services.execute import _Intended, verification_differences
from tenantguard.restores.services.source import (
    KEPT_NOTE,
    BackupNames,
    RunInputs,
    SourceItem,
    TargetGroups,
    TenantIdentities,
    _never_written_foundations,
    build_resolver,
    intended_item,
    never_written,
)

OUTLOOK = {
    "@odata.type": "#microsoft.graph.managedIOSStoreApp",
    "displayName": "Microsoft Outlook",
    "appAvailability": "global",
}


def _source(
    type_key: str, source_id: str, payload: dict[str, Any], *, tags: list[str] | None = None
) -> SourceItem:
    return SourceItem(
        type_key=type_key,
        source_id=source_id,
        display_name=str(payload.get("displayName") or source_id),
        payload=payload,
        assignments=[],
        scope_tag_ids=tags or [],
        content_hash="",
    )


def _captured(type_key: str, object_id: str, payload: dict[str, Any]) -> CapturedItem:
    return CapturedItem(
        type_key=type_key,
        source_id=object_id,
        display_name=str(payload.get("displayName") or object_id),
        platform="all",
        payload={**payload, "id": object_id},
        assignments=[],
        scope_tag_ids=[],
        source_modified_at=None,
    )


def _app_config_type() -> str:
    return next(
        ptype.key
        for ptype in registry.all_types()
        if any(
            ref.foundation == "mobile_app" and ref.path == "targetedMobileApps[]"
            for ref in ptype.foundation_refs
        )
    )


def _outlook_items() -> tuple[SourceItem, SourceItem]:
    app = _source("mobile_app", "app-1", dict(OUTLOOK))
    config = _source(
        _app_config_type(),
        "cfg-1",
        {
            "@odata.type": "#microsoft.graph.iosMobileAppConfiguration",
            "displayName": "Outlook config",
            "targetedMobileApps": ["app-1"],
        },
    )
    return app, config


NAMES = BackupNames(foundations={"mobile_app": {"app-1": "Microsoft Outlook"}})


def _written(resolver: Any, item: SourceItem) -> Any:
    return intended_item(
        type_key=item.type_key,
        payload=item.payload,
        assignments=[],
        scope_tag_ids=[],
        resolver=resolver,
        identities=None,
        source_identifiers="undecided",
    )


# ---- (2) foundations the run never writes ---------------------------------------------------


def test_builtin_app_is_never_written() -> None:
    app, config = _outlook_items()
    assert never_written(app) == "builtin_object"
    assert never_written(config) == ""


def test_builtin_app_matched_in_target_resolves_to_its_id_in_preview_and_executor() -> None:
    app, config = _outlook_items()
    state = TargetState(items=[_captured("mobile_app", "tgt-outlook", dict(OUTLOOK))])
    inputs = RunInputs(mapping={}, same_tenant=False, target_label="Fabrikam")
    preview = RestoreDiffGenerator(
        items=[app, config],
        target_state=state,
        inputs=inputs,
        backup_names=NAMES,
        target_groups=TargetGroups(),
    ).run()
    by_name = {item.display_name: item for item in preview}
    assert by_name["Microsoft Outlook"].action == "skip"
    assert by_name["Microsoft Outlook"].diff["skip_code"] == "builtin_object"
    changes = {c["path"]: c["after"] for c in by_name["Outlook config"].diff["changes"]}
    assert changes["targetedMobileApps"] == ["tgt-outlook"]

    # The executor: the app is skipped (never written), so it is not among the ids the run
    # created or matched; the reference still resolves to the target's own Outlook.
    executor = build_resolver(
        items=[app, config],
        target_state=state,
        target_groups=TargetGroups(),
        backup_names=NAMES,
        inputs=inputs,
        foundation_ids={},
    )
    written = _written(executor, config)
    assert written.rewritten.unresolved == []
    assert written.payload["targetedMobileApps"] == ["tgt-outlook"]


def test_builtin_app_missing_in_target_blocks_what_refers_to_it() -> None:
    app, config = _outlook_items()
    state = TargetState(items=[])
    inputs = RunInputs(mapping={}, same_tenant=False, target_label="Fabrikam")
    results = RestoreRiskChecker(
        items=[app, config],
        target_state=state,
        inputs=inputs,
        backup_names=NAMES,
        target_groups=TargetGroups(),
    ).run()
    app_results = [r for r in results if r.item is not None and r.item.source_id == "app-1"]
    assert app_results, "the built-in app has a check result"
    assert all("will be created" not in r.message for r in app_results)
    assert all("will be created" not in r.resolution for r in results)
    assert any(r.details.get("never_written") for r in app_results)
    blocking = [
        r
        for r in results
        if r.item is not None and r.item.source_id == "cfg-1" and r.severity == "blocking"
    ]
    assert [r.details.get("status") for r in blocking if r.details.get("kind")] == ["missing"]

    executor = build_resolver(
        items=[app, config],
        target_state=state,
        target_groups=TargetGroups(),
        backup_names=NAMES,
        inputs=inputs,
        foundation_ids={},
    )
    written = _written(executor, config)
    assert [r.status for r in written.rewritten.unresolved_resolutions] == ["missing"]


# ---- (4) placeholders are not scanned for source tenant identifiers -------------------------

SOURCE = TenantIdentity(
    tenant_id="11111111-1111-1111-1111-111111111111",
    domains=(
        VerifiedDomain("contoso.onmicrosoft.com", is_initial=True),
        VerifiedDomain("contoso.com", is_default=True),
    ),
)
TARGET = TenantIdentity(
    tenant_id="22222222-2222-2222-2222-222222222222",
    domains=(VerifiedDomain("fabrikam.onmicrosoft.com", is_initial=True, is_default=True),),
)


def test_placeholder_of_a_created_scope_tag_is_not_an_identifier_place() -> None:
    tag = _source("scope_tag", "12", {"displayName": "contoso.com admins"})
    identities = TenantIdentities(source=SOURCE, target=TARGET)
    names = BackupNames(foundations={"scope_tag": {"12": "contoso.com admins"}})
    payload = {
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "displayName": "P",
        "description": "Managed by contoso.com IT",
        "roleScopeTagIds": ["12"],
    }
    for choice in ("replace", "keep"):
        inputs = RunInputs(
            mapping={}, same_tenant=False, identities=identities, source_identifiers=choice
        )
        seen = {}
        for stage, ids in (("preview", None), ("executor", {"scope_tag": {"12": "77"}})):
            resolver = build_resolver(
                items=[tag],
                target_state=TargetState(items=[]),
                target_groups=TargetGroups(),
                backup_names=names,
                inputs=inputs,
                foundation_ids=ids,
            )
            written = intended_item(
                type_key="device_configuration",
                payload=payload,
                assignments=[],
                scope_tag_ids=["12"],
                resolver=resolver,
                identities=identities,
                source_identifiers=choice,
            )
            seen[stage] = [(p.path, p.found) for p in written.identifier_places]
            if stage == "preview":
                # The placeholder names the tag as the backup does (created with that name).
                assert written.payload["roleScopeTagIds"] == [
                    "(new scope tag 'contoso.com admins')"
                ]
                assert written.rewritten.scope_tag_ids == written.payload["roleScopeTagIds"]
            else:
                assert written.payload["roleScopeTagIds"] == ["77"]
            expected_description = (
                "Managed by fabrikam.onmicrosoft.com IT"
                if choice == "replace"
                else "Managed by contoso.com IT"
            )
            assert written.payload["description"] == expected_description
        assert seen["preview"] == seen["executor"] == [("description", "contoso.com")]


# ---- (5) child lists a restore only merges into ----------------------------------------------


def _merge_case(type_key: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(backup payload, target payload, path of the element only the target has)."""
    if type_key == "endpoint_security_intent":

        def setting(definition: str, value: str) -> dict[str, Any]:
            return {
                "@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance",
                "definitionId": definition,
                "valueJson": value,
            }

        backup = {
            "displayName": "Baseline",
            "templateId": "t-1",
            "settings": [setting("a", "true")],
        }
        live = {
            "displayName": "Baseline",
            "templateId": "t-1",
            "settings": [
                {**setting("a", "true"), "id": "s1"},
                {**setting("b", "false"), "id": "s2"},
            ],
        }
        return backup, live, "settings[b]"
    if type_key == "administrative_template":

        def value(definition: str) -> dict[str, Any]:
            return {
                "enabled": True,
                "definition": {"id": definition, "displayName": f"Setting {definition}"},
                "presentationValues": [],
            }

        backup = {"displayName": "ADMX", "definitionValues": [value("d1")]}
        live = {
            "displayName": "ADMX",
            "definitionValues": [{**value("d1"), "id": "v1"}, {**value("d2"), "id": "v2"}],
        }
        return backup, live, "definitionValues[d2]"
    message = {"subject": "Hi", "messageTemplate": "Body", "isDefault": True}
    backup = {
        "displayName": "Notice",
        "localizedNotificationMessages": [{**message, "locale": "en-us"}],
    }
    live = {
        "displayName": "Notice",
        "localizedNotificationMessages": [
            {**message, "locale": "en-us", "id": "m1"},
            {**message, "locale": "de-de", "isDefault": False, "id": "m2"},
        ],
    }
    return backup, live, "localizedNotificationMessages[de-de]"


MERGING_TYPES = ("endpoint_security_intent", "administrative_template", "notification_template")


def test_type_data_names_the_lists_a_restore_only_merges_into() -> None:
    lists = {key: [m.property for m in registry.get(key).merge_only_lists] for key in MERGING_TYPES}
    assert lists == {
        "endpoint_security_intent": ["settings"],
        "administrative_template": ["definitionValues"],
        "notification_template": ["localizedNotificationMessages"],
    }


def test_preview_shows_elements_only_the_target_has_as_kept_not_removed() -> None:
    for type_key in MERGING_TYPES:
        backup, live, kept_path = _merge_case(type_key)
        item = _source(type_key, "src-1", backup)
        state = TargetState(items=[_captured(type_key, "tgt-1", live)])
        planned = RestoreDiffGenerator(
            items=[item],
            target_state=state,
            inputs=RunInputs(mapping={}, same_tenant=False, include_assignments=False),
            backup_names=BackupNames(),
            target_groups=TargetGroups(),
        ).plan_item(item)
        assert planned.diff["changes"] == [], (type_key, planned.diff["changes"])
        assert planned.action == "no_change", type_key
        assert planned.diff["kept"] == [{"path": kept_path, "note": KEPT_NOTE}], type_key


def test_preview_still_shows_a_changed_element_of_a_merged_list() -> None:
    backup, live, _ = _merge_case("endpoint_security_intent")
    backup["settings"][0]["valueJson"] = "false"
    item = _source("endpoint_security_intent", "src-1", backup)
    planned = RestoreDiffGenerator(
        items=[item],
        target_state=TargetState(items=[_captured("endpoint_security_intent", "tgt-1", live)]),
        inputs=RunInputs(mapping={}, same_tenant=False, include_assignments=False),
        backup_names=BackupNames(),
        target_groups=TargetGroups(),
    ).plan_item(item)
    assert planned.action == "update"
    assert [(c["path"], c["before"], c["after"]) for c in planned.diff["changes"]] == [
        ("settings[a].valueJson", "true", "false")
    ]


def test_verification_expects_the_kept_elements() -> None:
    for type_key in MERGING_TYPES:
        backup, live, _ = _merge_case(type_key)
        intended = _Intended(payload=backup, assignments=None, scope_tag_ids=[])
        read_back = _captured(type_key, "tgt-1", live)
        assert (
            verification_differences(
                type_key=type_key,
                intended=intended,
                current=read_back,
                include_assignments=False,
            )
            == []
        ), type_key
        # An element of the backup missing after the write is still a difference.
        first = next(iter(k for k in live if isinstance(live[k], list)))
        lost = {**live, first: live[first][1:]}
        assert verification_differences(
            type_key=type_key,
            intended=intended,
            current=_captured(type_key, "tgt-1", lost),
            include_assignments=False,
        ) == ["Settings differ from the backup after writing."], type_key


def test_out_of_scope_builtin_app_is_never_proposed_as_created() -> None:
    """The built-in app is in the backup set but not in the scope: the missing reference is
    blocking and its resolution does not offer "include it in the scope (it will be
    created)"."""
    _, config = _outlook_items()
    names = BackupNames(
        foundations={"mobile_app": {"app-1": "Microsoft Outlook"}},
        never_written={"mobile_app": frozenset({"app-1"})},
    )
    results = RestoreRiskChecker(
        items=[config],
        target_state=TargetState(items=[]),
        inputs=RunInputs(mapping={}, same_tenant=False, target_label="Fabrikam"),
        backup_names=names,
        target_groups=TargetGroups(),
    ).run()
    missing = [r for r in results if r.details.get("kind") == "mobile_app"]
    assert [r.severity for r in missing] == ["blocking"]
    assert "will be created" not in missing[0].resolution
    assert "never writes it" in missing[0].resolution


@pytest.mark.django_db
def test_load_source_knows_the_backup_sets_builtin_foundations(backup: BackupSet) -> None:
    for source_id, availability in (("app-global", "global"), ("app-own", "lineOfBusiness")):
        BackupItem.objects.create(
            backup_set=backup,
            policy_type="mobile_app",
            source_id=source_id,
            display_name=source_id,
            payload={**OUTLOOK, "displayName": source_id, "appAvailability": availability},
            content_hash="x",
        )
    never = _never_written_foundations(backup)
    assert "app-global" in never["mobile_app"]
    assert "app-own" not in never["mobile_app"]


def test_preview_page_lists_kept_elements() -> None:
    from django.template.loader import render_to_string

    diff = {
        "changes": [],
        "assignments": {},
        "scope_tags": {},
        "kept": [{"path": "settings[b]", "note": KEPT_NOTE}],
    }
    html = render_to_string("restores/_diff.html", {"diff": diff, "rows": []})
    assert 'data-kept="true"' in html
    assert "settings[b]" in html
    assert KEPT_NOTE in html
