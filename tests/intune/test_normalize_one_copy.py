"""Normalization without extra copies (issue 10, target 4): the compare form and the content
hash are computed with one copy of the payload, the capture strips annotations from the object
it decoded instead of copying it, and ``content_hash`` still returns the values it returned
before (stored hashes are compared across backups).

The pinned hashes below were computed with the implementation of commit 9407433 (before this
change) for the same inputs.
"""

from __future__ import annotations

import copy
import json
import random
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantguard.intune import capture, normalize, registry
from tenantguard.intune.nested import PARENT_ID_KEY, PARENT_NAME_KEY

# (type key, payload, assignments, scope tag ids, content_hash at 9407433)
PINNED = {
    "settings catalog, unordered settings with ties and nested children": (
        "settings_catalog",
        {
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#x",
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicy",
            "id": "p-1",
            "name": "Baseline été ✓",
            "description": 'quote " backslash \\ tab \t',
            "createdDateTime": "2024-01-01T00:00:00Z",
            "lastModifiedDateTime": "2024-02-01T00:00:00Z",
            "roleScopeTagIds": ["0", "7"],
            "settingCount": 3,
            "settings@odata.context": "x",
            "settings": [
                {
                    "id": "2",
                    "settingInstance": {
                        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                        "settingDefinitionId": "b_def",
                        "choiceSettingValue": {
                            "value": "b_1",
                            "children": [
                                {
                                    "@odata.type": "#c",
                                    "settingDefinitionId": "z_child",
                                    "simpleSettingValue": {"value": 5},
                                },
                                {
                                    "@odata.type": "#c",
                                    "settingDefinitionId": "a_child",
                                    "simpleSettingValue": {"value": 1.5, "@odata.etag": "W/1"},
                                },
                            ],
                        },
                    },
                },
                {
                    "id": "1",
                    "settingInstance": {
                        "@odata.type": "#s",
                        "settingDefinitionId": "a_def",
                        "simpleSettingValue": {"value": True},
                    },
                },
                {
                    "id": "0",
                    "settingInstance": {
                        "@odata.type": "#s",
                        "settingDefinitionId": "a_def",
                        "simpleSettingValue": {"value": False},
                    },
                },
            ],
            "#microsoft.graph.assign": {"title": "assign"},
        },
        [
            {
                "id": "x_1",
                "source": "direct",
                "sourceId": "s",
                "intent": "apply",
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicyAssignment",
                "target": {
                    "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
                    "groupId": "g-2",
                    "deviceAndAppManagementAssignmentFilterId": None,
                    "deviceAndAppManagementAssignmentFilterType": "none",
                },
            },
            {
                "id": "x_2",
                "target": {
                    "@odata.type": "microsoft.graph.groupAssignmentTarget",
                    "groupId": "g-1",
                    "deviceAndAppManagementAssignmentFilterId": "f-1",
                    "deviceAndAppManagementAssignmentFilterType": "include",
                    "target@odata.bind": "y",
                },
            },
        ],
        ["7", "0", "7"],
        "37dd0b4994e906394f7225903e9a3b22d5ebc78493bbf6347f08a673cc6be26f",
    ),
    "custom OMA-URI with an encrypted value and reordered settings": (
        "custom_oma_uri",
        {
            "@odata.type": "#microsoft.graph.windows10CustomConfiguration",
            "id": "oma-1",
            "displayName": "OMA",
            "version": 4,
            "omaSettings": [
                {
                    "@odata.type": "#microsoft.graph.omaSettingString",
                    "displayName": "b",
                    "omaUri": "./Vendor/B",
                    "value": "plain",
                    "isEncrypted": False,
                },
                {
                    "@odata.type": "#microsoft.graph.omaSettingString",
                    "displayName": "a",
                    "omaUri": "./Vendor/A",
                    "value": "ref-123",
                    "isEncrypted": True,
                    "secretReferenceValueId": "ref-123",
                },
            ],
        },
        [],
        [],
        "f4376bdb1e8977323c1a3f8f6d7e0bab00e4aea41cb32f142b3b4b72ba3d6e3b",
    ),
    "compliance policy with nested scheduled actions and child ids": (
        "compliance_policy",
        {
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
            "id": "c-1",
            "displayName": "Compliance",
            "passwordRequired": True,
            "osMinimumVersion": None,
            "scheduledActionsForRule": [
                {
                    "id": "r-1",
                    "ruleName": "PasswordRequired",
                    "scheduledActionConfigurations": [
                        {
                            "id": "a-2",
                            "actionType": "notification",
                            "gracePeriodHours": 24,
                            "notificationTemplateId": "t-1",
                            "notificationMessageCCList": ["b", "a"],
                        },
                        {
                            "id": "a-1",
                            "actionType": "block",
                            "gracePeriodHours": 0,
                            "notificationTemplateId": "",
                        },
                    ],
                }
            ],
        },
        None,
        None,
        "2620346305e13a7a0f1f5c4148a72eedaa38e91c73d453077f1c3058b669889d",
    ),
    "app install intent kept, server intent dropped": (
        "mobile_app",
        {
            "@odata.type": "#microsoft.graph.win32LobApp",
            "id": "app-1",
            "displayName": "App",
            "largeIcon": {"type": "image/png", "value": "AAAA"},
            "returnCodes": [
                {"returnCode": 3010, "type": "softReboot"},
                {"returnCode": 0, "type": "success"},
            ],
            "notes": 12345678901234567890,
        },
        [
            {
                "id": "as-1",
                "intent": "required",
                "settings": {
                    "@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings",
                    "notifications": "showAll",
                    "lastModifiedDateTime": "x",
                },
                "target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"},
            }
        ],
        ("1",),
        "c3412db7dd7d00770083cea8c5e207ec969f09b7edb3b429a9bbb18a1896b64f",
    ),
    "type that is not in the registry's special lists": (
        "named_location",
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": "nl",
            "displayName": "Offices",
            "isTrusted": True,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.0.0.0/8"},
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "1.2.3.0/24"},
            ],
        },
        [],
        [],
        "3169190eea58113b331a103d94d6d84af15b8c55d05caefc33a46d9a8a0e18a3",
    ),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_content_hash_is_the_value_stored_before(name):
    type_key, payload, assignments, scope_tags, expected = PINNED[name]
    before = copy.deepcopy((payload, assignments, scope_tags))

    assert normalize.content_hash(type_key, payload, assignments, scope_tags) == expected
    assert (payload, assignments, scope_tags) == before  # inputs untouched


@pytest.mark.parametrize("name", sorted(PINNED))
def test_content_hash_ignores_the_order_of_unordered_lists_and_keys(name):
    type_key, payload, assignments, scope_tags, expected = PINNED[name]
    shuffled = copy.deepcopy(payload)
    rng = random.Random(name)
    for rule in registry.get(type_key).unordered_lists:
        for container, key in normalize._walk(shuffled, rule.path.split(".")):
            rng.shuffle(container[key])
    reordered = OrderedDict(reversed(list(shuffled.items())))  # another Mapping, other order
    assignments_reversed = None if assignments is None else list(reversed(assignments))

    assert normalize.content_hash(type_key, reordered, assignments_reversed, scope_tags) == expected


def _old_order(values: list[Any], keys: tuple[str, ...]) -> list[Any]:
    """The order 9407433 sorted unordered lists in: by the canonical JSON of each key, then of
    the whole element."""
    return sorted(
        values,
        key=lambda element: (
            *(normalize.canonical_json(normalize._dotted_get(element, key)) for key in keys),
            normalize.canonical_json(element),
        ),
    )


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["a", "b", "é", "\u2713", ""])
)
_elements = st.dictionaries(
    st.sampled_from(["k", "n", "x"]),
    st.one_of(_scalars, st.dictionaries(st.sampled_from(["k", "y"]), _scalars, max_size=2)),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.one_of(_elements, _scalars), max_size=8),
    keys=st.sampled_from([(), ("k",), ("k", "n"), ("x.k",), ("missing",)]),
)
def test_unordered_lists_sort_as_before(values, keys):
    expected = _old_order(values, keys)
    ordered = list(values)

    normalize._sort_elements(ordered, keys)

    assert [normalize.canonical_json(v) for v in ordered] == [
        normalize.canonical_json(v) for v in expected
    ]


_json = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(["a", "@odata.type", "@odata.etag", "b@odata.bind", "#act", "c"]),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_json)
def test_stripping_in_place_equals_the_stripped_copy(value):
    expected = normalize.strip_annotations(copy.deepcopy(value))
    owned = copy.deepcopy(value)

    stripped = normalize.strip_annotations_in_place(owned)

    assert stripped == expected
    if isinstance(owned, dict | list):
        assert stripped is owned  # no copy of data the caller owns


def test_stripping_in_place_keeps_odata_type_and_replaces_tuples():
    inner = {"@odata.type": "#t", "@odata.etag": "W/1", "v": (1, {"x@odata.type": "s", "y": 2})}
    owned = {"@odata.context": "c", "child": inner}

    result = normalize.strip_annotations_in_place(owned)

    assert result is owned and result["child"] is inner
    assert result == {"child": {"@odata.type": "#t", "v": [1, {"y": 2}]}}


def _item(type_key: str, raw: dict[str, Any]) -> capture._Item:
    return capture._Item(registry.get(type_key), raw)


def test_build_item_strips_the_decoded_object_without_copying_it(monkeypatch):
    raw = json.loads(
        json.dumps(
            {
                "@odata.etag": "W/1",
                "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
                "id": "c-1",
                "displayName": "Compliance",
                "scheduledActionsForRule@odata.context": "x",
                "scheduledActionsForRule": [{"id": "r", "ruleName": "R", "@odata.etag": "1"}],
                "assignments": [
                    {
                        "id": "a",
                        "target": {"@odata.type": "#t", "groupId": "g", "t@odata.bind": "u"},
                    }
                ],
                PARENT_ID_KEY: "parent-1",
                PARENT_NAME_KEY: "Parent",
            }
        )
    )
    actions = raw["scheduledActionsForRule"]

    def no_copy(value: Any) -> Any:
        raise AssertionError(f"the capture copied {value!r}")

    monkeypatch.setattr(capture, "strip_annotations", no_copy)
    item = capture._build_item(_item("compliance_policy", raw))

    assert item.payload is raw and item.payload["scheduledActionsForRule"] is actions
    assert item.payload == {
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "id": "c-1",
        "displayName": "Compliance",
        "scheduledActionsForRule": [{"id": "r", "ruleName": "R"}],
        PARENT_ID_KEY: "parent-1",
        PARENT_NAME_KEY: "Parent",
    }
    assert item.assignments == [{"id": "a", "target": {"@odata.type": "#t", "groupId": "g"}}]
    assert item.group_refs == {"g"}


def test_normalize_payload_copies_once_and_never_touches_its_input(monkeypatch):
    _, payload, *_ = PINNED["settings catalog, unordered settings with ties and nested children"]
    before = copy.deepcopy(payload)
    monkeypatch.setattr(copy, "deepcopy", lambda *a, **k: pytest.fail("deepcopy called"))

    first = normalize.normalize_payload("settings_catalog", payload)
    first["settings"][0]["settingInstance"]["settingDefinitionId"] = "changed"

    assert payload == before
    assert normalize.normalize_payload("settings_catalog", payload) != first


def test_write_body_shares_nothing_with_the_payload():
    _, payload, *_ = PINNED["custom OMA-URI with an encrypted value and reordered settings"]
    before = copy.deepcopy(payload)

    body = normalize.strip_for_write(
        "custom_oma_uri", payload, secrets={"omaSettings[./Vendor/A]": "plaintext"}
    )

    assert [s["value"] for s in body["omaSettings"]] == ["plain", "plaintext"]
    assert payload == before  # the plaintext went into the body only
