"""Step 3's mapping editor: every kind of missing reference (group, assignment filter, scope tag,
notification template) can be mapped to an existing object of the target (searched) or skipped,
with or without a same-name suggestion, into the backup's own tenant or another one, and on a
tenant where the app may not read a kind (the page names the missing permission)."""

from __future__ import annotations

import copy

import pytest
from django.urls import reverse

from tenantguard.emulator.demo import ASSIGNMENT_FILTERS, NOTIFICATION_TEMPLATES, SCOPE_TAGS
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.tenants.graph_access import emulated_tenant

FOUNDATIONS = {
    "scope_tag": SCOPE_TAGS,
    "assignment_filter": ASSIGNMENT_FILTERS,
    "notification_template": NOTIFICATION_TEMPLATES,
}
MISSING_CODES = {
    "group": "group_missing",
    "scope_tag": "scope_tag_missing",
    "assignment_filter": "filter_missing",
    "notification_template": "notification_template_missing",
}
SKIP_BUTTONS = {
    "group": "Skip its assignments",
    "assignment_filter": "Skip its assignments",
    "scope_tag": "Leave this scope tag out",
    "notification_template": "Leave this notification out",
}


def _url(name, run, query=""):
    return reverse(f"restores:{name}", args=[run.pk]) + (f"?{query}" if query else "")


def _rename_every_foundation(emulated) -> dict[str, dict[str, str]]:
    """Replace each scope tag (but the built-in one), filter and notification template of the
    target by a copy under another name and id: the backup's references find neither their id
    nor their name. Returns kind -> {old name: new id}."""
    renamed: dict[str, dict[str, str]] = {}
    for kind, collection in FOUNDATIONS.items():
        for obj in emulated.list_objects(collection):
            if kind == "scope_tag" and str(obj["id"]) == "0":
                continue
            emulated.delete_object(collection, obj["id"])
            copied = copy.deepcopy(obj)
            copied.pop("id")
            copied["displayName"] = f"{obj['displayName']} (new)"
            stored = emulated.put_object(collection, copied)
            renamed.setdefault(kind, {})[obj["displayName"]] = str(stored["id"])
    return renamed


def _checked_run(actor, tenant, backup_set):
    """A run over the backup's policies only: its foundations are not in scope, so nothing
    this run writes can satisfy the references."""
    run = restore_run_create(actor=actor, tenant=tenant, backup_set=backup_set)
    policies = backup_set.items.exclude(policy_type__in=list(FOUNDATIONS)).values_list(
        "pk", flat=True
    )
    run = restore_run_set_scope(actor=actor, run=run, mode="selected", item_ids=list(policies))
    return restore_run_run_checks(actor=actor, run=run)


def _missing(run):
    """kind -> {source_id: source_name} of the run's missing-reference results."""
    found: dict[str, dict[str, str]] = {}
    for kind, code in MISSING_CODES.items():
        for row in run.check_results.filter(code=code):
            found.setdefault(kind, {})[row.details["source_id"]] = row.details["source_name"]
    return found


@pytest.mark.parametrize("into", ["same_tenant", "other_tenant"])
def test_every_kind_without_a_same_name_object_can_be_mapped_or_skipped(
    into, personas, tenant, prod_tenant, baseline, login
):
    owner = personas["owner"]
    target = tenant if into == "same_tenant" else prod_tenant
    if into == "other_tenant":
        # The other tenant has the same kinds of objects, under other names.
        source = emulated_tenant(tenant)
        other = emulated_tenant(prod_tenant)
        for collection in FOUNDATIONS.values():
            for obj in source.list_objects(collection):
                other.put_object(collection, copy.deepcopy(obj))
        renamed = _rename_every_foundation(other)
    else:
        renamed = _rename_every_foundation(emulated_tenant(tenant))
    run = _checked_run(owner, target, baseline)
    missing = _missing(run)
    assert {"scope_tag", "assignment_filter", "notification_template"} <= set(missing), missing
    assert not any(
        row.details.get("suggested_target_id")
        for row in run.check_results.filter(code__in=list(MISSING_CODES.values()))
        if row.details.get("kind") != "group"
    ), "the foundations were renamed: no same-name suggestion exists"
    client = login(owner)

    page = client.get(_url("checks", run))

    assert page.status_code == 200
    html = page.content.decode()
    for kind, entries in missing.items():
        assert f'data-kind="{kind}"' in html, kind
        assert SKIP_BUTTONS[kind] in html, kind
        noun = {"group": "group", "assignment_filter": "assignment filter"}.get(
            kind, kind.replace("_", " ")
        )
        for name in entries.values():
            assert f"Search target {noun}s for {name}" in html, (kind, name)

    # Each foundation kind lists the target's objects to map to, searchable by name.
    for kind, new_ids in renamed.items():
        if kind not in missing:
            continue
        old_name = next(iter(missing[kind].values()))
        listed = client.get(
            _url("mapping_targets", run, f"kind={kind}&field_id=f&label=Map")
        ).content.decode()
        assert f'value="{new_ids[old_name]}"' in listed, (kind, listed)
        searched = client.get(
            _url("mapping_targets", run, f"kind={kind}&q={old_name[:4]}&field_id=f&label=Map")
        ).content.decode()
        assert f"{old_name} (new)" in searched

    # Map every foundation to its renamed copy, skip every group; the checks then pass them.
    for kind, entries in missing.items():
        for source_id, name in entries.items():
            data = {"kind": kind, "source_id": source_id, "decision": "skip"}
            if kind != "group":
                data.update(decision="map", target_id=renamed[kind][name])
            response = client.post(_url("mapping", run), data)
            assert response.status_code == 302, (kind, name)
    client.post(_url("checks_run", run))
    run.refresh_from_db()
    assert _missing(run) == {}
    page = client.get(_url("checks", run)).content.decode()
    assert "mapped to" in page
    if "group" in missing:
        assert "assignments skipped" in page


def test_a_tenant_the_app_may_not_fully_read_shows_what_is_missing_and_can_skip(
    personas, tenant, baseline, login, walk
):
    emulated = emulated_tenant(tenant)
    emulated.denied_permissions = {
        "DeviceManagementRBAC.Read.All",
        "DeviceManagementServiceConfig.Read.All",
        "Group.Read.All",
    }
    operator = personas["operator"]
    run = walk(operator, tenant, baseline, upto="checks")
    client = login(operator)

    page = client.get(_url("checks", run))

    assert page.status_code == 200
    html = page.content.decode()
    # The incomplete checks, each naming the permission to grant.
    assert 'data-code="permission_limited"' in html
    assert "Grant the app DeviceManagementRBAC.Read.All" in html
    assert "Grant the app Group.Read.All" in html
    # The mapping editor cannot list scope tags or groups, says why, and still offers skip.
    scope_tags = html.split('data-kind="scope_tag"')[1].split("</table>")[0]
    assert "The scope tags of Contoso Test cannot be listed to map to" in scope_tags
    assert "DeviceManagementRBAC.Read.All" in scope_tags
    assert "Leave this scope tag out" in scope_tags
    assert 'value="map"' not in scope_tags
    templates = html.split('data-kind="notification_template"')[1].split("</table>")[0]
    assert "The notification templates of Contoso Test cannot be listed" in templates
    assert "DeviceManagementServiceConfig.Read.All" in templates
    assert "Leave this notification out" in templates and 'value="map"' not in templates
    groups = html.split('data-kind="group"')[1].split("</table>")[0]
    assert "Group.Read.All" in groups and "Skip its assignments" in groups
    # Asking for the list anyway answers the same explanation, not an error page.
    listed = client.get(_url("mapping_targets", run, "kind=scope_tag&field_id=f&label=Map"))
    assert listed.status_code == 200
    assert b"lacks the permission DeviceManagementRBAC.Read.All" in listed.content
    searched = client.get(_url("mapping_targets", run, "kind=group&q=SG&field_id=f&label=Map"))
    assert searched.status_code == 200
    assert b"lacks the permission Group.Read.All" in searched.content

    tag_id = run.check_results.filter(code="scope_tag_missing").first().details["source_id"]
    client.post(
        _url("mapping", run), {"kind": "scope_tag", "source_id": tag_id, "decision": "skip"}
    )
    run.refresh_from_db()
    assert run.group_mapping == {"scope_tag": {tag_id: None}}
    assert "⏭️ left out" in client.get(_url("checks", run)).content.decode()
