"""RestoreScopeBuilder: grouping, markers, search, paging, and its cost on a large backup set."""

from __future__ import annotations

import pytest

from tenantguard.backups.models import BackupItem
from tenantguard.restores.services.scope import RestoreScopeBuilder

ITEMS = (
    ("notification_template", "Foundations", "Non-compliance mail", "all"),
    ("scope_tag", "Foundations", "Helpdesk", "all"),
    ("assignment_filter", "Foundations", "Corporate Windows", "windows"),
    ("device_configuration", "Device configuration", "Windows baseline", "windows"),
    ("device_configuration", "Device configuration", "Windows shared PC", "windows"),
    ("device_configuration", "Device configuration", "iOS restrictions", "iOS"),
    ("compliance_policy", "Compliance", "Android compliance", "android"),
    ("conditional_access", "Identity", "Require MFA", "all"),
    ("unsupported", "Unsupported", "Mystery object", ""),
)


@pytest.fixture
def scope(make_backup_set, tenant):
    return RestoreScopeBuilder(make_backup_set(tenant, items=ITEMS))


def test_groups_by_type_and_platform_with_foundations_first_and_counts(scope):
    page = scope.groups()

    keys = [group.key for group in page.groups]
    assert keys[:3] == ["scope_tag:all", "assignment_filter:windows", "notification_template:all"]
    by_key = {group.key: group for group in page.groups}
    assert by_key["device_configuration:windows"].count == 2
    assert by_key["device_configuration:iOS"].count == 1
    assert [i.display_name for i in by_key["device_configuration:windows"].items] == [
        "Windows baseline",
        "Windows shared PC",
    ]
    assert all(by_key[k].is_foundation for k in keys[:3])
    assert not by_key["device_configuration:windows"].is_foundation
    assert page.total_items == len(ITEMS)


def test_preview_only_and_unknown_types_are_marked(scope):
    by_key = {group.key: group for group in scope.groups().groups}

    assert by_key["conditional_access:all"].is_preview_only
    assert by_key["unsupported:"].is_preview_only
    assert not by_key["device_configuration:windows"].is_preview_only


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("SHARED pc", {"Windows shared PC"}),  # name, case-insensitive
        ("compliance_policy", {"Android compliance"}),  # type key
        ("Conditional Access", {"Require MFA"}),  # type label from the registry
        ("ios", {"iOS restrictions"}),  # platform
        ("nothing like this", set()),
    ],
)
def test_search_by_name_type_or_platform(scope, search, expected):
    page = scope.groups(search=search)

    names = {item.display_name for group in page.groups for item in group.items}
    assert names == expected
    assert page.total_items == len(expected)


def test_pages_slice_items_but_keep_every_group_with_its_count(scope):
    first = scope.groups(page=1, page_size=4)
    last = scope.groups(page=3, page_size=4)

    assert first.num_pages == 3
    assert len(first.groups) == len(last.groups)
    assert sum(len(group.items) for group in first.groups) == 4
    assert sum(len(group.items) for group in last.groups) == 1


def test_select_all_of_one_group(scope):
    ids = scope.item_ids(policy_type="device_configuration", platform="windows")

    names = set(BackupItem.objects.filter(pk__in=ids).values_list("display_name", flat=True))
    assert names == {"Windows baseline", "Windows shared PC"}


def test_summary_counts_foundations_and_preview_only_items(scope):
    assert scope.summary() == {"items": 9, "foundations": 3, "preview_only": 2}


def test_ten_thousand_items_take_a_fixed_small_number_of_queries(
    make_backup_set, tenant, django_assert_max_num_queries
):
    backup_set = make_backup_set(tenant, name="Big", items=())
    types = [
        ("device_configuration", "Device configuration", "windows"),
        ("settings_catalog", "Settings catalog", "macOS"),
        ("compliance_policy", "Compliance", "iOS"),
        ("scope_tag", "Foundations", "all"),
        ("conditional_access", "Identity", "all"),
    ]
    BackupItem.objects.bulk_create(
        (
            BackupItem(
                backup_set=backup_set,
                policy_type=types[i % len(types)][0],
                category=types[i % len(types)][1],
                platform=types[i % len(types)][2],
                source_id=f"id-{i}",
                display_name=f"Policy {i:05d}",
                payload={"big": "x" * 200},
                content_hash="b" * 64,
            )
            for i in range(10_000)
        ),
        batch_size=1000,
    )
    builder = RestoreScopeBuilder(backup_set)

    with django_assert_max_num_queries(2):
        page = builder.groups(page=7, page_size=100)
    with django_assert_max_num_queries(2):
        searched = builder.groups(search="policy 0999")
    with django_assert_max_num_queries(1):
        ids = builder.item_ids(policy_type="scope_tag", platform="all")

    assert page.total_items == 10_000
    assert sum(len(group.items) for group in page.groups) == 100
    assert {g.policy_type for g in page.groups if g.is_foundation} == {"scope_tag"}
    assert searched.total_items == 10  # Policy 09990 .. Policy 09999
    assert len(ids) == 2_000
