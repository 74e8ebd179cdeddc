"""The checks look groups up by id with ``id in (...)`` filters (15 ids a request), not one
request per group: Intune's request limit counts every ``$batch`` part."""

from __future__ import annotations

import uuid

from tenantguard.intune.target import TargetState
from tenantguard.restores.services.source import (
    BackupNames,
    RunInputs,
    RunSource,
    SourceItem,
    load_target_groups,
)
from tenantguard.tenants.graph_access import embedded_emulator, graph_client_for


def _source(group_ids: list[str], *, mapped: dict[str, str | None]) -> RunSource:
    item = SourceItem(
        type_key="device_configuration",
        source_id="policy-1",
        display_name="Windows baseline",
        payload={
            "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
            "displayName": "Windows baseline",
        },
        assignments=[
            {"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": gid}}
            for gid in group_ids
        ],
        scope_tag_ids=["0"],
        content_hash="a" * 64,
    )
    return RunSource(
        items=[item],
        names=BackupNames(groups={gid: f"Source group {gid[:8]}" for gid in group_ids}),
        inputs=RunInputs(mapping={"group": mapped}, same_tenant=True),
    )


def test_groups_are_looked_up_fifteen_ids_a_request(tenant, emulated):
    existing = [str(uuid.uuid4()) for _ in range(40)]
    missing = [str(uuid.uuid4()) for _ in range(5)]
    for gid in existing:
        emulated.put_object("groups", {"id": gid, "displayName": f"Group {gid[:8]}"})
    referenced = existing[:30] + missing
    mapped_to = existing[30:]
    source = _source(referenced, mapped={missing[0]: mapped_to[0], missing[1]: mapped_to[1]})
    log = embedded_emulator().request_log
    start = len(log)
    with graph_client_for(tenant) as client:
        groups = load_target_groups(client, source, TargetState(), suggestions=False)
    sent = [entry for entry in log[start:] if not entry.path.endswith("/$batch")]
    # 37 ids (30 + 5 referenced, 2 mapped) in 3 filtered listings, not 37 reads.
    assert [entry.path for entry in sent] == ["/beta/groups"] * 3
    assert {gid for gid in existing[:32] if groups.exists(gid)} == set(existing[:32])
    assert not any(groups.exists(gid) for gid in missing)
    assert groups.name_of(existing[0]) == f"Group {existing[0][:8]}"
    assert groups.unreadable == ""


def test_groups_the_app_cannot_read_are_unreadable_not_missing(tenant, emulated):
    emulated.denied_permissions = {"Group.Read.All"}
    gid = str(uuid.uuid4())
    with graph_client_for(tenant) as client:
        groups = load_target_groups(client, _source([gid], mapped={}), TargetState())
    assert "Group.Read.All" in groups.unreadable and not groups.exists(gid)


def test_the_references_of_an_item_are_found_once(monkeypatch):
    from tenantguard.restores.services import source as source_module

    calls = []
    real = source_module.references_of

    def counting(**kwargs):
        calls.append(kwargs["type_key"])
        return real(**kwargs)

    monkeypatch.setattr(source_module, "references_of", counting)
    item = _source([str(uuid.uuid4())], mapped={}).items[0]
    first = source_module.item_references(item, include_assignments=True)
    again = source_module.item_references(item, include_assignments=True)
    without = source_module.item_references(item, include_assignments=False)
    source_module.item_references(item, include_assignments=False)
    assert len(calls) == 2  # once per variant, not once per question
    assert first == again and [r.kind for r in first] == ["group"]
    assert without == []
    first.clear()  # a caller's list is its own
    assert len(source_module.item_references(item, include_assignments=True)) == 1
