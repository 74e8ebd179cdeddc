"""The preview and the executor resolve references with the same resolver: what the preview
shows is what is written, and a reference that is unresolved when the executor gets to it is
never written with the source tenant's id (the item fails, saying what to do)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tenantguard.intune import normalize, registry
from tenantguard.intune.normalize import FILTER_ID_KEY, FILTER_TYPE_KEY
from tenantguard.restores.models import RestorePreviewItem
from tenantguard.restores.services.diff import flatten
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import embedded_emulator

from .conftest import prepare_run, seed, take_backup

POLICY = "compliance_policy"
NAME = "Compliance - references agree"
GROUP_TARGET = "#microsoft.graph.groupAssignmentTarget"
EXCLUDE_TARGET = "#microsoft.graph.exclusionGroupAssignmentTarget"


def _collection(type_key: str) -> str:
    return registry.get(type_key).collection


def _target(odata_type: str, group_id: str, filter_id: str | None = None) -> dict[str, Any]:
    return {
        "@odata.type": odata_type,
        "groupId": group_id,
        FILTER_ID_KEY: filter_id,
        FILTER_TYPE_KEY: "include" if filter_id else "none",
    }


def _setup(emulated: Any, demo_objects: list[dict[str, Any]]) -> dict[str, Any]:
    """A compliance policy of the seeded demo tenant whose references are of every sort the
    resolver decides: a custom scope tag, a notification template and a filter that exist, a
    group kept as it is, a group to map and a group whose assignment is to be skipped."""
    groups = [g["id"] for g in emulated.list_objects("groups")]
    tag = next(t for t in emulated.list_objects(_collection("scope_tag")) if str(t["id"]) != "0")
    template = emulated.list_objects(_collection("notification_template"))[0]
    flt = emulated.list_objects(_collection("assignment_filter"))[0]
    base = next(
        o
        for o in demo_objects
        if o.get("scheduledActionsForRule")
        and o.get("@odata.type") == "#microsoft.graph.windows10CompliancePolicy"
    )
    policy = copy.deepcopy(base)
    policy["id"] = str(uuid.uuid4())
    policy["displayName"] = NAME
    policy["roleScopeTagIds"] = ["0", str(tag["id"])]
    for rule in policy["scheduledActionsForRule"]:
        for config in rule.get("scheduledActionConfigurations") or []:
            if config.get("actionType") == "notification":
                config["notificationTemplateId"] = template["id"]
    keep, map_from, map_to, skip = groups[:4]
    policy["assignments"] = [
        {"id": f"{policy['id']}_1", "target": _target(GROUP_TARGET, keep, flt["id"])},
        {"id": f"{policy['id']}_2", "target": _target(GROUP_TARGET, map_from)},
        {"id": f"{policy['id']}_3", "target": _target(EXCLUDE_TARGET, skip)},
    ]
    seed(emulated, [policy])
    return {
        "policy": policy,
        "tag": tag,
        "template": template,
        "filter": flt,
        "keep": keep,
        "map_from": map_from,
        "map_to": map_to,
        "skip": skip,
    }


def _shown_assignments(entries: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return sorted((e.get("group_id"), e.get("filter_id")) for e in entries)


def _written_assignments(assignments: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return sorted(
        (a["target"].get("groupId"), a["target"].get(FILTER_ID_KEY) or None)
        for a in normalize.normalize_assignments(assignments)
    )


def test_the_executor_writes_exactly_what_the_preview_showed(
    personas, tenant, seeded, demo_objects
):
    owner = personas["owner"]
    refs = _setup(seeded, demo_objects)
    policy, tag = refs["policy"], refs["tag"]
    baseline = take_backup(owner, tenant)
    # Gone from the target: the policy (created again) and its scope tag (in scope: created
    # first, then referenced by its new id).
    seeded.delete_object(_collection(POLICY), policy["id"])
    seeded.delete_object(_collection("scope_tag"), str(tag["id"]))
    chosen = [
        baseline.items.get(policy_type=POLICY, source_id=policy["id"]).pk,
        baseline.items.get(policy_type="scope_tag", source_id=str(tag["id"])).pk,
    ]
    mapping = {"group": {refs["map_from"]: refs["map_to"], refs["skip"]: None}}
    run = prepare_run(owner, tenant, baseline, item_ids=chosen, mapping=mapping)
    previewed = RestorePreviewItem.objects.get(run=run, policy_type=POLICY)
    assert previewed.action == "create" and not previewed.diff_truncated
    diff = previewed.diff

    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", list(run.item_outcomes.values("error_message"))
    new_tag = run.item_outcomes.get(policy_type="scope_tag").target_id
    assert new_tag and new_tag != str(tag["id"])
    after = take_backup(owner, tenant)
    written = after.items.get(policy_type=POLICY, display_name=NAME)

    # Every value the preview showed is the value written; the one placeholder is the id of
    # the scope tag the run created.
    placeholder = f"(new scope tag '{tag['displayName']}')"
    written_leaves = flatten(normalize.normalize_payload(POLICY, written.payload))
    shown = {
        change["path"]: new_tag if change["after"] == placeholder else change["after"]
        for change in diff["changes"]
    }
    assert shown
    assert {path: written_leaves.get(path) for path in shown} == shown
    template_paths = [p for p in shown if p.endswith("notificationTemplateId")]
    assert refs["template"]["id"] in {shown[p] for p in template_paths}, "exists: same id"

    # Scope tags: the preview named the new tag; the written object carries its new id.
    assert diff["scope_tags"]["added"] == [tag["displayName"]]
    assert set(written.scope_tag_ids) - {"0"} == {new_tag}

    # Assignments: the kept group with its filter, the mapped group; the skipped one left out.
    section = diff["assignments"]
    assert _shown_assignments(section["added"]) == _written_assignments(written.assignments)
    assert _written_assignments(written.assignments) == sorted(
        [(refs["keep"], refs["filter"]["id"]), (refs["map_to"], None)]
    )
    assert [entry["group_id"] for entry in section["skipped"]] == [refs["skip"]]


def test_a_mapped_group_deleted_after_the_preview_is_never_written_as_the_source_id(
    personas, tenant, seeded, demo_objects
):
    owner = personas["owner"]
    refs = _setup(seeded, demo_objects)
    policy = refs["policy"]
    baseline = take_backup(owner, tenant)
    seeded.delete_object(_collection(POLICY), policy["id"])
    item = baseline.items.get(policy_type=POLICY, source_id=policy["id"])
    mapping = {"group": {refs["map_from"]: refs["map_to"], refs["skip"]: None}}
    run = prepare_run(owner, tenant, baseline, item_ids=[item.pk], mapping=mapping)
    assert RestorePreviewItem.objects.get(run=run, policy_type=POLICY).action == "create"
    # Between the preview and the execution the group the admin mapped to is deleted.
    assert seeded.delete_object("groups", refs["map_to"])
    log_start = len(embedded_emulator().request_log)

    run = restore_run_execute(run_id=run.pk)
    outcome = run.item_outcomes.get(policy_type=POLICY)
    assert outcome.outcome == "failed" and run.status == "failed"
    assert outcome.error_code == "unresolved_reference"
    source_name = baseline.group_names[refs["map_from"]]
    for words in (f"group '{source_name}'", refs["map_from"], refs["map_to"], "step 3"):
        assert words in outcome.error_message, (words, outcome.error_message)
    # Nothing was written: not the policy, not with the source id, not without the group.
    assert not [o for o in seeded.list_objects(_collection(POLICY)) if o["displayName"] == NAME]
    writes = [
        e
        for e in embedded_emulator().request_log[log_start:]
        if e.method in ("POST", "PATCH", "PUT") and "$batch" not in e.path
    ]
    assert writes == []


def test_a_foundation_the_run_did_not_restore_fails_the_items_that_use_it(
    personas, tenant, seeded, demo_objects
):
    """The preview showed the scope tag as created by this run; when it is not (here: its
    create is refused), the policy that carries it is not written with the source tag id."""
    owner = personas["owner"]
    refs = _setup(seeded, demo_objects)
    policy, tag = refs["policy"], refs["tag"]
    baseline = take_backup(owner, tenant)
    seeded.delete_object(_collection(POLICY), policy["id"])
    seeded.delete_object(_collection("scope_tag"), str(tag["id"]))
    chosen = [
        baseline.items.get(policy_type=POLICY, source_id=policy["id"]).pk,
        baseline.items.get(policy_type="scope_tag", source_id=str(tag["id"])).pk,
    ]
    mapping = {"group": {refs["map_from"]: refs["map_to"], refs["skip"]: None}}
    run = prepare_run(owner, tenant, baseline, item_ids=chosen, mapping=mapping)
    # The tag's name is taken in the target meanwhile by two objects: the executor cannot
    # create it (ambiguous), so the run has no id for it.
    for _ in range(2):
        seeded.put_object(
            _collection("scope_tag"),
            {**tag, "id": str(uuid.uuid4().int % 10_000 + 20_000)},
        )

    run = restore_run_execute(run_id=run.pk)
    tag_outcome = run.item_outcomes.get(policy_type="scope_tag")
    assert tag_outcome.outcome != "created"
    outcome = run.item_outcomes.get(policy_type=POLICY)
    assert outcome.outcome == "failed" and outcome.error_code == "unresolved_reference"
    assert f"scope tag '{tag['displayName']}'" in outcome.error_message
    assert "did not" in outcome.error_message
    assert not [o for o in seeded.list_objects(_collection(POLICY)) if o["displayName"] == NAME]
