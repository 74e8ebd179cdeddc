"""The one reference resolver (``source.ReferenceResolver``) in its two uses: the checks and
the preview (foundations the run creates are written as a placeholder) and the executor (the
ids the run created or matched; a foundation it did not restore resolves nothing)."""

from __future__ import annotations

from typing import Any

from tenantguard.intune.capture import CapturedItem
from tenantguard.intune.target import TargetState
from tenantguard.restores.services.source import (
    BackupNames,
    RunInputs,
    SourceItem,
    TargetGroups,
    build_resolver,
    intended_item,
)

ROLES_BUILTIN = "0bd113fe-6be5-400c-a28f-ae5553f9c0be"  # Policy and Profile manager


def _source(type_key: str, source_id: str, name: str, payload: dict[str, Any]) -> SourceItem:
    return SourceItem(
        type_key=type_key,
        source_id=source_id,
        display_name=name,
        payload=payload,
        assignments=[],
        scope_tag_ids=[],
        content_hash="x",
    )


def _captured(type_key: str, object_id: str, name: str) -> CapturedItem:
    return CapturedItem(
        type_key=type_key,
        source_id=object_id,
        display_name=name,
        platform="all",
        payload={"id": object_id, "displayName": name},
        assignments=[],
        scope_tag_ids=[],
        source_modified_at=None,
    )


def _resolver(
    *, foundation_ids: dict[str, dict[str, str]] | None = None, mapping: dict | None = None
) -> Any:
    items = [
        _source("scope_tag", "12", "Finance", {"displayName": "Finance"}),  # created by the run
        _source("scope_tag", "13", "Sales", {"displayName": "Sales"}),  # matched by name
    ]
    state = TargetState(items=[_captured("scope_tag", "130", "Sales")])
    return build_resolver(
        items=items,
        target_state=state,
        target_groups=TargetGroups(existing={"g-1": "Pilot"}),
        backup_names=BackupNames(
            groups={"g-1": "Pilot", "g-9": "Gone"},
            foundations={"scope_tag": {"12": "Finance", "13": "Sales"}},
        ),
        inputs=RunInputs(mapping=mapping or {}, same_tenant=True, target_label="Contoso"),
        foundation_ids=foundation_ids,
    )


def _policy() -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "displayName": "P",
        "roleScopeTagIds": ["0", "12", "13"],
    }


def _written(resolver: Any, assignments: list[dict[str, Any]] | None = None) -> Any:
    return intended_item(
        type_key="device_configuration",
        payload=_policy(),
        assignments=assignments,
        scope_tag_ids=None,
        resolver=resolver,
        identities=None,
        source_identifiers="keep",
    ).rewritten


def test_preview_writes_a_placeholder_for_a_foundation_the_run_creates() -> None:
    resolver = _resolver()
    rewritten = _written(resolver)
    assert rewritten.scope_tag_ids == ["0", "(new scope tag 'Finance')", "130"]
    assert resolver.placeholders == {"(new scope tag 'Finance')": "Finance"}
    assert rewritten.unresolved == []


def test_execution_writes_the_ids_the_run_recorded_and_nothing_for_what_it_did_not() -> None:
    ids: dict[str, dict[str, str]] = {"scope_tag": {"13": "130"}}
    resolver = _resolver(foundation_ids=ids)
    rewritten = _written(resolver)
    # Finance was to be created by the run and was not (yet): unresolved, never guessed.
    assert [(r.kind, r.source_id) for r in rewritten.unresolved] == [("scope_tag", "12")]
    assert [r.status for r in rewritten.unresolved_resolutions] == ["not_restored"]
    message = resolver.describe_unresolved(rewritten.unresolved, item_label="Profile 'P'")
    assert "scope tag 'Finance' (id 12)" in message and "did not" in message
    # The executor adds the id once the foundation is written; the same resolver sees it.
    ids["scope_tag"]["12"] = "120"
    assert _written(resolver).scope_tag_ids == ["0", "120", "130"]


def test_same_tenant_groups_exist_and_a_missing_group_is_unresolved_with_advice() -> None:
    resolver = _resolver(foundation_ids={})
    assignments = [
        {"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g-1"}},
        {"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g-9"}},
    ]
    rewritten = _written(resolver, assignments)
    assert rewritten.assignments is not None
    assert [a["target"]["groupId"] for a in rewritten.assignments] == ["g-1", "g-9"]
    unresolved = [(r.kind, r.source_id) for r in rewritten.unresolved]
    assert ("group", "g-9") in unresolved and ("group", "g-1") not in unresolved
    message = resolver.describe_unresolved(
        [r for r in rewritten.unresolved if r.kind == "group"], item_label="Profile 'P'"
    )
    assert "group 'Gone' (id g-9), which does not exist in Contoso" in message
    assert "step 3" in message and "skip this assignment" in message


def test_a_kind_that_cannot_be_skipped_ignores_a_skip_and_built_in_objects_are_no_references():
    resolver = _resolver(mapping={"role_definition": {"custom-1": None}})
    assert resolver.resolve("role_definition", "custom-1").status == "missing"
    rewritten = intended_item(
        type_key="role_assignment",
        payload={"displayName": "A", "roleDefinition": {"id": ROLES_BUILTIN}, "members": []},
        assignments=None,
        scope_tag_ids=[],
        resolver=resolver,
        identities=None,
        source_identifiers="keep",
    ).rewritten
    assert rewritten.unresolved == []
    assert rewritten.payload["roleDefinition"] == {"id": ROLES_BUILTIN}
