"""Mapping many missing references at once (``restore_run_update_mapping_entries``): accept every
same-name suggestion, map several entries of one kind to one target, skip several; each is one
mapping write and one audit event listing the entries, validated like the single-entry
mapping (only references the checks found missing, targets that exist in the target)."""

from __future__ import annotations

import pytest

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import GROUPS, demo_tenant_objects
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services.checks import restore_run_mapping_needs, restore_run_run_checks
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.policy import RestoreRunPolicy
from tenantguard.restores.services.runs import (
    restore_run_create,
    restore_run_set_scope,
    restore_run_update_mapping_entries,
)
from tenantguard.tenants.graph_access import emulated_tenant

POLICY_TYPES = ["settings_catalog", "compliance_policy", "powershell_script", "compliance_script"]


@pytest.fixture
def checked_into_prod(personas, tenant, prod_tenant, emulated, demo_objects):
    """TEST's demo configuration backed up and checked for a restore into PROD, where the same
    directory groups exist under other ids (every missing group has a same-name suggestion)."""
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    prod = emulated_tenant(prod_tenant)
    for obj in demo_tenant_objects(tenant_label="Contoso", seed=202):
        if "#groups/" in obj["@odata.context"]:
            prod.put_object(collection_of(obj, source="test"), obj)
    owner = personas["owner"]
    source = backup_set_capture(
        backup_set=backup_set_start(actor=owner, tenant=tenant, enqueue=False)
    )
    run = restore_run_create(actor=owner, tenant=prod_tenant, backup_set=source)
    chosen = list(source.items.filter(policy_type__in=POLICY_TYPES).values_list("pk", flat=True))
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=chosen)
    return restore_run_run_checks(actor=owner, run=run)


def _events(run: RestoreRun) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action="restore.mapping_updated", subject_id=str(run.pk)
        ).order_by("id")
    )


def _fresh(run: RestoreRun) -> RestoreRun:
    return RestoreRun.objects.select_related("tenant", "backup_set").get(pk=run.pk)


def test_accept_all_maps_every_same_name_suggestion_in_one_change(personas, checked_into_prod):
    owner, run = personas["owner"], checked_into_prod
    groups = restore_run_mapping_needs(run)["group"]
    assert len(groups) >= 3 and all(g["suggestion"] for g in groups)
    assert run.status == RestoreStatus.CHECKED

    run = restore_run_update_mapping_entries(actor=owner, run=run, decision="accept_suggestions")

    run = _fresh(run)
    assert run.group_mapping["group"] == {g["source_id"]: g["suggestion"]["id"] for g in groups}
    (event,) = _events(run)
    listed = {e["source_id"]: e for e in event.details["entries"]}
    assert set(listed) == {g["source_id"] for g in groups}
    assert all(
        listed[g["source_id"]]["target_name"] == g["suggestion"]["name"]
        and listed[g["source_id"]]["source_name"] == g["name"]
        for g in groups
    )
    assert event.details["decision"] == "accept_suggestions"
    # The checks are out of date once (the run went back to scoped), and the names are kept
    # for the page until the checks run again.
    assert run.status == RestoreStatus.SCOPED
    assert not RestoreRunPolicy(run, owner).checks_state().current
    assert run.metadata["mapping_names"]["group"] == {
        g["suggestion"]["id"]: g["suggestion"]["name"] for g in groups
    }
    # The checks agree: no group is missing any more.
    run = restore_run_run_checks(actor=owner, run=run)
    assert not run.check_results.filter(code="group_missing").exists()


def test_accept_all_leaves_decided_entries_alone(personas, checked_into_prod):
    owner, run = personas["owner"], checked_into_prod
    groups = restore_run_mapping_needs(run)["group"]
    skipped = groups[0]["source_id"]
    run = restore_run_update_mapping_entries(
        actor=owner, run=run, decision="skip", entries=[("group", skipped)]
    )

    run = restore_run_update_mapping_entries(actor=owner, run=run, decision="accept_suggestions")

    mapping = _fresh(run).group_mapping["group"]
    assert mapping[skipped] is None, "an explicit skip is not overridden by a suggestion"
    assert len(_events(run)[-1].details["entries"]) == len(groups) - 1


def test_map_many_entries_to_one_target(personas, prod_tenant, checked_into_prod):
    owner, run = personas["owner"], checked_into_prod
    groups = restore_run_mapping_needs(run)["group"]
    picked = [g["source_id"] for g in groups[:3]]
    other = next(
        g
        for g in emulated_tenant(prod_tenant).list_objects(GROUPS)
        if g["id"] not in {x["suggestion"]["id"] for x in groups[:3]}
    )

    run = restore_run_update_mapping_entries(
        actor=owner,
        run=run,
        decision="map",
        entries=[("group", source_id) for source_id in picked],
        target_id=other["id"],
    )

    run = _fresh(run)
    assert {s: run.group_mapping["group"][s] for s in picked} == dict.fromkeys(picked, other["id"])
    assert len(run.group_mapping["group"]) == 3, "the other entries are left as they were"
    (event,) = _events(run)
    assert [e["source_id"] for e in event.details["entries"]] == picked
    assert {e["target_name"] for e in event.details["entries"]} == {other["displayName"]}
    assert run.metadata["mapping_names"]["group"][other["id"]] == other["displayName"]


def test_skip_many_entries(personas, checked_into_prod):
    owner, run = personas["owner"], checked_into_prod
    picked = [g["source_id"] for g in restore_run_mapping_needs(run)["group"][:2]]

    run = restore_run_update_mapping_entries(
        actor=owner, run=run, decision="skip", entries=[("group", s) for s in picked]
    )

    assert _fresh(run).group_mapping == {"group": dict.fromkeys(picked)}
    (event,) = _events(run)
    assert event.details["decision"] == "skip"
    assert [e["target_id"] for e in event.details["entries"]] == [None, None]


@pytest.mark.parametrize(
    ("decision", "entries", "target_id", "expected"),
    [
        ("map", [("group", "not-a-missing-group")], "x", "The checks found no missing group"),
        ("skip", [], "", "Select at least one entry"),
        ("map", "FIRST", "", "Pick the target object"),
        ("map", "FIRST", "00000000-0000-0000-0000-00000000abcd", "No group with id"),
        ("skip", "MIXED", "", "several kinds"),
        ("rename", "FIRST", "", "Unknown mapping decision"),
    ],
)
def test_invalid_requests_change_nothing(
    personas, checked_into_prod, decision, entries, target_id, expected
):
    owner, run = personas["owner"], checked_into_prod
    first = restore_run_mapping_needs(run)["group"][0]["source_id"]
    if entries == "FIRST":
        entries = [("group", first)]
    elif entries == "MIXED":
        entries = [("group", first), ("assignment_filter", "some-filter")]

    with pytest.raises(RestoreRunError, match=expected):
        restore_run_update_mapping_entries(
            actor=owner, run=run, decision=decision, entries=entries, target_id=target_id
        )

    run = _fresh(run)
    assert run.group_mapping == {} and run.status == RestoreStatus.CHECKED
    assert _events(run) == []


def test_a_viewer_is_refused_and_the_refusal_is_audited(personas, checked_into_prod):
    run = checked_into_prod

    with pytest.raises(RestoreRunRefused):
        restore_run_update_mapping_entries(
            actor=personas["viewer"], run=run, decision="accept_suggestions"
        )

    assert _fresh(run).group_mapping == {}
    assert AuditEvent.objects.filter(action="restore.refused", subject_id=str(run.pk)).exists()


def test_nothing_to_accept_says_so(personas, checked_into_prod):
    owner, run = personas["owner"], checked_into_prod
    run = restore_run_update_mapping_entries(actor=owner, run=run, decision="accept_suggestions")

    with pytest.raises(RestoreRunError, match="No missing reference has a same-name suggestion"):
        restore_run_update_mapping_entries(actor=owner, run=run, decision="accept_suggestions")
