"""References to groups, filters, scope tags and notification templates, and their rewriting
through a run's mapping (pure functions)."""

from __future__ import annotations

import copy
from typing import Any

from tenantguard.intune import reference_kinds
from tenantguard.intune.references import Reference, references_of, rewrite
from tenantguard.intune.registry import EMPTY_GUID

from .conftest import Env
from .reference_support import StaticResolver

GROUP = "#microsoft.graph.groupAssignmentTarget"
EXCLUDE = "#microsoft.graph.exclusionGroupAssignmentTarget"
ALL_DEVICES = "#microsoft.graph.allDevicesAssignmentTarget"
FILTER_KEY = "deviceAndAppManagementAssignmentFilterId"


def _assignment(
    odata_type: str, group: str | None = None, flt: str | None = None
) -> dict[str, Any]:
    target: dict[str, Any] = {"@odata.type": odata_type}
    if group is not None:
        target["groupId"] = group
    target[FILTER_KEY] = flt
    target["deviceAndAppManagementAssignmentFilterType"] = "include" if flt else "none"
    return {"id": "x_" + (group or "all"), "source": "direct", "target": target}


def _compliance() -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    payload = {
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "displayName": "Win compliance",
        "roleScopeTagIds": ["0", "12"],
        "scheduledActionsForRule": [
            {
                "ruleName": "PasswordRequired",
                "scheduledActionConfigurations": [
                    {"actionType": "block", "notificationTemplateId": EMPTY_GUID},
                    {"actionType": "notification", "notificationTemplateId": "tpl-1"},
                    {"actionType": "notification", "notificationTemplateId": ""},
                ],
            }
        ],
    }
    assignments = [
        _assignment(GROUP, "g-1", "f-1"),
        _assignment(EXCLUDE, "g-2"),
        _assignment(ALL_DEVICES, flt=EMPTY_GUID),
        _assignment(ALL_DEVICES, flt="f-2"),
    ]
    return payload, assignments, ["0", "12"]


def test_references_of_lists_every_reference_once_per_occurrence() -> None:
    payload, assignments, tags = _compliance()
    refs = references_of(
        type_key="compliance_policy", payload=payload, assignments=assignments, scope_tag_ids=tags
    )
    assert refs == [
        Reference(
            "notification_template",
            "tpl-1",
            "scheduledActionsForRule[0].scheduledActionConfigurations[1].notificationTemplateId",
        ),
        Reference("scope_tag", "12", "scopeTagIds[1]"),
        Reference("group", "g-1", "assignments[0].target.groupId"),
        Reference("assignment_filter", "f-1", f"assignments[0].target.{FILTER_KEY}"),
        Reference("group", "g-2", "assignments[1].target.groupId"),
        Reference("assignment_filter", "f-2", f"assignments[3].target.{FILTER_KEY}"),
    ]


def test_references_of_without_assignments_or_tags() -> None:
    payload, _, _ = _compliance()
    refs = references_of(
        type_key="compliance_policy", payload=payload, assignments=None, scope_tag_ids=None
    )
    # scope tags come from the payload's property when the caller has no list
    assert [(r.kind, r.source_id) for r in refs] == [
        ("notification_template", "tpl-1"),
        ("scope_tag", "12"),
    ]


def test_assignment_filter_scope_tags_use_their_own_property() -> None:
    payload = {"displayName": "Corp devices", "roleScopeTags": ["0", "7"], "rule": "x"}
    refs = references_of(
        type_key="assignment_filter", payload=payload, assignments=[], scope_tag_ids=None
    )
    assert refs == [Reference("scope_tag", "7", "scopeTagIds[1]")]
    result = rewrite(
        type_key="assignment_filter",
        payload=payload,
        assignments=[],
        scope_tag_ids=None,
        resolver=StaticResolver({"scope_tag": {"7": "70"}}),
    )
    assert result.payload["roleScopeTags"] == ["0", "70"] == result.scope_tag_ids


def test_rewrite_maps_every_kind_and_leaves_the_inputs_alone() -> None:
    payload, assignments, tags = _compliance()
    before = copy.deepcopy((payload, assignments, tags))
    result = rewrite(
        type_key="compliance_policy",
        payload=payload,
        assignments=assignments,
        scope_tag_ids=tags,
        resolver=StaticResolver(
            {
                "group": {"g-1": "G-1", "g-2": "G-2"},
                "assignment_filter": {"f-1": "F-1", "f-2": "F-2"},
                "scope_tag": {"12": "120"},
                "notification_template": {"tpl-1": "TPL-1"},
            }
        ),
    )
    assert (payload, assignments, tags) == before
    assert result.unresolved == [] and result.skipped_assignments == []
    assert result.scope_tag_ids == ["0", "120"] == result.payload["roleScopeTagIds"]
    configs = result.payload["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
    assert [c["notificationTemplateId"] for c in configs] == [EMPTY_GUID, "TPL-1", ""]
    assert result.assignments is not None
    targets = [a["target"] for a in result.assignments]
    assert [t.get("groupId") for t in targets] == ["G-1", "G-2", None, None]
    assert [t[FILTER_KEY] for t in targets] == ["F-1", None, EMPTY_GUID, "F-2"]


def test_explicit_mapping_wins_over_foundation_ids_which_win_over_nothing() -> None:
    payload, assignments, tags = _compliance()
    result = rewrite(
        type_key="compliance_policy",
        payload=payload,
        assignments=assignments,
        scope_tag_ids=tags,
        resolver=StaticResolver(
            {"scope_tag": {"12": "from-mapping"}},
            {
                "scope_tag": {"12": "from-run"},
                "assignment_filter": {"f-1": "F-1-new"},
                "notification_template": {"tpl-1": "TPL-new"},
            },
        ),
    )
    assert result.scope_tag_ids == ["0", "from-mapping"]
    assert result.assignments is not None
    assert result.assignments[0]["target"][FILTER_KEY] == "F-1-new"
    configs = result.payload["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
    assert configs[1]["notificationTemplateId"] == "TPL-new"
    # Nothing for the groups and f-2: unresolved, kept as they are here and reported (a
    # restore never writes such a result).
    assert [(r.kind, r.source_id) for r in result.unresolved] == [
        ("group", "g-1"),
        ("group", "g-2"),
        ("assignment_filter", "f-2"),
    ]
    assert result.assignments[1]["target"]["groupId"] == "g-2"


def test_none_skips_the_assignments_that_use_a_group_or_filter_and_says_so() -> None:
    payload, assignments, tags = _compliance()
    result = rewrite(
        type_key="compliance_policy",
        payload=payload,
        assignments=assignments,
        scope_tag_ids=tags,
        resolver=StaticResolver(
            {"group": {"g-1": None, "g-2": "G-2"}, "assignment_filter": {"f-2": None}}
        ),
    )
    assert result.assignments is not None
    assert [a["target"].get("groupId") for a in result.assignments] == ["G-2", None]
    assert result.skipped_assignments == [assignments[0], assignments[3]]
    assert [(r.kind, r.source_id) for r in result.skip_reasons] == [
        ("group", "g-1"),
        ("assignment_filter", "f-2"),
    ]
    # References of skipped assignments are not reported as unresolved.
    assert {r.source_id for r in result.unresolved} == {"12", "tpl-1"}


def test_scope_tags_and_templates_mapped_to_none_are_dropped_and_reported() -> None:
    payload, assignments, tags = _compliance()
    result = rewrite(
        type_key="compliance_policy",
        payload=payload,
        assignments=assignments,
        scope_tag_ids=tags,
        resolver=StaticResolver(
            {"scope_tag": {"12": None}, "notification_template": {"tpl-1": None}}
        ),
    )
    assert result.scope_tag_ids == ["0"] == result.payload["roleScopeTagIds"]
    configs = result.payload["scheduledActionsForRule"][0]["scheduledActionConfigurations"]
    assert configs[1]["notificationTemplateId"] == EMPTY_GUID
    assert {(r.kind, r.source_id) for r in result.dropped} == {
        ("scope_tag", "12"),
        ("notification_template", "tpl-1"),
    }


def test_assignments_not_captured_stay_none() -> None:
    payload, _, tags = _compliance()
    result = rewrite(
        type_key="compliance_policy",
        payload=payload,
        assignments=None,
        scope_tag_ids=tags,
        resolver=StaticResolver({}),
    )
    assert result.assignments is None and result.skipped_assignments == []


def test_every_demo_reference_is_found(env: Env) -> None:
    """Over the whole demo tenant: each group id, filter id, scope tag and template id an
    object holds shows up as a reference, and a full mapping leaves nothing unresolved."""
    from tenantguard.intune import normalize

    seen_kinds: set[str] = set()
    for item in env.backup:
        refs = references_of(
            type_key=item.type_key,
            payload=item.payload,
            assignments=item.assignments,
            scope_tag_ids=item.scope_tag_ids,
        )
        seen_kinds |= {r.kind for r in refs}
        # Groups in assignments and in payloads (e.g. a role assignment's members).
        assert {r.source_id for r in refs if r.kind == "group"} == item.group_refs
        foundation = normalize.foundation_refs(item.type_key, item.payload, item.assignments)
        for kind in (k.key for k in reference_kinds.foundation_kinds()):
            assert {r.source_id for r in refs if r.kind == kind} == foundation[kind], (
                item.display_name
            )
        mapping = {
            kind: {r.source_id: "new-" + r.source_id for r in refs if r.kind == kind}
            for kind in reference_kinds.keys()
        }
        result = rewrite(
            type_key=item.type_key,
            payload=item.payload,
            assignments=item.assignments,
            scope_tag_ids=item.scope_tag_ids,
            resolver=StaticResolver(mapping),
        )
        assert result.unresolved == []
        again = references_of(
            type_key=item.type_key,
            payload=result.payload,
            assignments=result.assignments,
            scope_tag_ids=result.scope_tag_ids,
        )
        assert all(r.source_id.startswith("new-") for r in again)
        assert len(again) == len(refs)
    assert {"group", "assignment_filter", "scope_tag", "notification_template"} <= seen_kinds
    assert seen_kinds <= set(reference_kinds.keys())


def test_rewritten_scope_tags_land_in_the_payload_even_when_it_lacked_them() -> None:
    payload = {"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "x"}
    result = rewrite(
        type_key="device_configuration",
        payload=payload,
        assignments=[],
        scope_tag_ids=["0", "5"],
        resolver=StaticResolver({"scope_tag": {"5": "50"}}),
    )
    assert result.payload["roleScopeTagIds"] == ["0", "50"]
    bare = rewrite(
        type_key="device_configuration",
        payload=payload,
        assignments=[],
        scope_tag_ids=[],
        resolver=StaticResolver({}),
    )
    assert "roleScopeTagIds" not in bare.payload
