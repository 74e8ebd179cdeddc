"""Reference kinds are data (``intune.reference_kinds``): every kind a type refers to is
defined there, and a kind added there is located, rewritten and mapped without another edit."""

from __future__ import annotations

import dataclasses

import pytest

from tenantguard.intune import normalize, reference_kinds, references, registry
from tenantguard.intune.reference_kinds import ReferenceKind
from tenantguard.intune.references import Reference, Resolution, references_of, rewrite
from tenantguard.restores.services.fingerprint import normalized_mapping


class _Resolver:
    """Answers from a mapping, else ``missing`` (what ``rewrite`` asks of any resolver)."""

    def __init__(self, mapping: dict[str, dict[str, str | None]]) -> None:
        self.mapping = mapping

    def resolve_for_write(self, kind: str, source_id: str) -> Resolution:
        entries = self.mapping.get(kind) or {}
        if source_id not in entries:
            return Resolution("missing")
        target = entries[source_id]
        return Resolution("skipped") if target is None else Resolution("mapped", target)


def test_every_kind_a_type_refers_to_is_defined_and_backed_by_a_registered_type() -> None:
    used = {str(ref.foundation) for ptype in registry.all_types() for ref in ptype.foundation_refs}
    assert used, "the registry's types refer to foundations"
    assert used <= set(reference_kinds.keys()), used - set(reference_kinds.keys())
    for kind in reference_kinds.foundation_kinds():
        assert kind.foundation_type is not None
        backing = registry.get(kind.foundation_type)  # KeyError: not a registered type
        assert reference_kinds.kind_of_type(kind.foundation_type) is kind
        # The backing type need not be a foundation (VPP tokens are never written, device
        # configurations are restored after the apps naming them): then a run's scope never
        # resolves the kind, only the mapping or the same id in the same tenant does.
        assert references.restored_before_referrers(kind.key) == (
            backing.is_foundation and not backing.is_preview_only
        ), kind.key


def test_only_written_foundations_are_resolved_by_the_scope() -> None:
    assert references.restored_before_referrers("scope_tag")
    assert references.restored_before_referrers("mobile_app")
    assert not references.restored_before_referrers("group")  # the directory
    assert not references.restored_before_referrers("vpp_token")  # preview-only
    assert not references.restored_before_referrers("vpn_configuration")  # after the apps
    assert not references.restored_before_referrers("nope")


def test_kinds_are_unique_and_say_everything_the_call_sites_need() -> None:
    keys = reference_kinds.keys()
    assert len(set(keys)) == len(keys)
    codes = [kind.missing_code for kind in reference_kinds.all_kinds()]
    assert len(set(codes)) == len(codes)
    for kind in reference_kinds.all_kinds():
        assert kind.singular and kind.plural and kind.uses and kind.section_title
        assert not kind.is_reference("") and not kind.is_reference(reference_kinds.EMPTY_GUID)
        assert not kind.is_reference(None) and not kind.is_reference(True)
    assert reference_kinds.EMPTY_GUID == registry.EMPTY_GUID
    assert reference_kinds.BUILTIN_SCOPE_TAG_ID == registry.BUILTIN_SCOPE_TAG_ID
    tag = reference_kinds.scope_tag_kind()
    assert tag is not None and not tag.is_reference(registry.BUILTIN_SCOPE_TAG_ID)
    assert reference_kinds.get("group").foundation_type is None  # Entra: the directory
    with pytest.raises(KeyError, match="known kinds are group"):
        reference_kinds.get("nope")


# ---- a kind added as data ---------------------------------------------------------------------

_REUSABLE = ReferenceKind(
    key="widget_setting_test",
    singular="widget setting",
    plural="widget settings",
    foundation_type="widget_setting_type_test",
    missing_code="widget_setting_test_missing",
    uses="uses",
    on_skip="drop",
)
_APP = ReferenceKind(
    key="mobile_app_test",
    singular="app",
    plural="apps",
    foundation_type=None,
    missing_code="mobile_app_test_missing",
    uses="is assigned with",
    on_skip="skip_assignment",
    assignment_target_key="appTestId",
)


@pytest.fixture
def added_kinds(monkeypatch: pytest.MonkeyPatch) -> str:
    """Two kinds defined only in ``reference_kinds`` (one in a payload list, one in assignment
    targets) and a type whose ``foundation_refs`` use the first: nothing else is edited."""
    monkeypatch.setattr(reference_kinds, "KINDS", (*reference_kinds.KINDS, _REUSABLE, _APP))
    base = registry.get("device_configuration")
    widget = dataclasses.replace(
        base,
        key="firewall_widget_test",
        foundation_refs=(
            *base.foundation_refs,
            registry.FoundationRef("widget_setting_test", "rules[].settingIds[]"),
        ),
    )
    monkeypatch.setitem(registry.POLICY_TYPES, widget.key, widget)
    return widget.key


def _widget() -> tuple[dict, list[dict]]:
    payload = {
        "displayName": "Firewall",
        "roleScopeTagIds": ["0"],
        "rules": [{"settingIds": ["rs-1", reference_kinds.EMPTY_GUID]}, {"settingIds": ["rs-2"]}],
    }
    assignments = [
        {"target": {"@odata.type": "#x.groupAssignmentTarget", "groupId": "g-1"}},
        {"target": {"@odata.type": "#x.appTarget", "appTestId": "app-1"}},
    ]
    return payload, assignments


def test_an_added_kind_is_located_in_payloads_and_assignment_targets(added_kinds: str) -> None:
    payload, assignments = _widget()
    refs = references_of(
        type_key=added_kinds, payload=payload, assignments=assignments, scope_tag_ids=None
    )
    assert refs == [
        Reference("widget_setting_test", "rs-1", "rules[0].settingIds[0]"),
        Reference("widget_setting_test", "rs-2", "rules[1].settingIds[0]"),
        Reference("group", "g-1", "assignments[0].target.groupId"),
        Reference("mobile_app_test", "app-1", "assignments[1].target.appTestId"),
    ]
    found = normalize.foundation_refs(added_kinds, payload, assignments)
    assert found["widget_setting_test"] == {"rs-1", "rs-2"}
    assert normalized_mapping({"widget_setting_test": {"rs-1": None}, "junk": {"a": "b"}}) == {
        "widget_setting_test": {"rs-1": None}
    }


def test_an_added_kind_is_rewritten_skipped_and_reported_as_its_entry_says(
    added_kinds: str,
) -> None:
    payload, assignments = _widget()
    result = rewrite(
        type_key=added_kinds,
        payload=payload,
        assignments=assignments,
        scope_tag_ids=None,
        resolver=_Resolver(
            {
                "widget_setting_test": {"rs-1": "RS-1", "rs-2": None},
                "group": {"g-1": "G-1"},
                "mobile_app_test": {"app-1": None},
            }
        ),
    )
    # rs-2 skipped: a "drop" kind leaves the list element out; app-1 skipped: its assignment.
    assert result.payload["rules"] == [
        {"settingIds": ["RS-1", reference_kinds.EMPTY_GUID]},
        {"settingIds": []},
    ]
    assert [(r.kind, r.source_id) for r in result.dropped] == [("widget_setting_test", "rs-2")]
    assert result.assignments == [
        {"target": {"@odata.type": "#x.groupAssignmentTarget", "groupId": "G-1"}}
    ]
    assert [(r.kind, r.source_id) for r in result.skip_reasons] == [("mobile_app_test", "app-1")]
    assert result.unresolved == []

    unmapped = rewrite(
        type_key=added_kinds,
        payload=payload,
        assignments=assignments,
        scope_tag_ids=None,
        resolver=_Resolver({"group": {"g-1": "G-1"}}),
    )
    assert [(r.kind, r.source_id) for r in unmapped.unresolved] == [
        ("widget_setting_test", "rs-1"),
        ("widget_setting_test", "rs-2"),
        ("mobile_app_test", "app-1"),
    ]
    assert [r.status for r in unmapped.unresolved_resolutions] == ["missing"] * 3
    assert references.in_assignment(unmapped.unresolved[2])
    assert not references.in_assignment(unmapped.unresolved[0])


def test_without_the_entry_the_kind_is_not_an_assignment_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control of the tests above: the assignment key means nothing until the kind says so."""
    _, assignments = _widget()
    refs = references_of(
        type_key="device_configuration", payload={}, assignments=assignments, scope_tag_ids=[]
    )
    assert [r.kind for r in refs] == ["group"]
