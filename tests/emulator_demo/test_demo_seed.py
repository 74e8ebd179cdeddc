"""The demo tenant is data: ``tenantguard/emulator/seeds/demo/`` (the documented seed format),
copied per tenant label with ids of its own and consistent references."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tenantguard.emulator import demo
from tenantguard.emulator.demo import (
    CANONICAL_LABEL,
    DEMO_SEED_DIR,
    collection_of,
    demo_organization,
    demo_seed_objects,
    demo_tenant_objects,
    tenant_owned_ids,
)
from tenantguard.emulator.seed import load_seed_dir
from tenantguard.intune import registry

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CONFIGS = "deviceManagement/deviceConfigurations"


def _title(obj: dict[str, Any]) -> str:
    return obj.get("displayName") or obj["name"]


def test_the_seed_directory_loads_one_object_per_file():
    files = sorted(DEMO_SEED_DIR.rglob("*.json"))
    loaded = load_seed_dir(DEMO_SEED_DIR)
    assert len(files) == len(loaded) >= 60
    for path in files:
        obj = json.loads(path.read_text(encoding="utf-8"))
        assert obj["@odata.context"].startswith("https://graph.microsoft.com/"), path
        # one folder per collection: the path names the collection the context names
        assert path.parent.relative_to(DEMO_SEED_DIR).as_posix() == collection_of(obj), path
    assert [c for c, _ in loaded].count("organization") == 1
    # demo_tenant_objects serves every file but the organization (demo_organization has it)
    assert len(demo_tenant_objects(tenant_label=CANONICAL_LABEL, seed=0)) == len(files) - 1


def test_the_canonical_label_is_the_checked_in_tenant():
    files = {(c, o.get("id")): o for c, o in load_seed_dir(DEMO_SEED_DIR)}
    served = demo_tenant_objects(tenant_label=CANONICAL_LABEL, seed=0)
    assert {(collection_of(o), o.get("id")) for o in served} | {
        ("organization", demo_organization(tenant_label=CANONICAL_LABEL)["id"])
    } == set(files)
    drop_times = re.compile(r'"[A-Za-z]*DateTime": "[^"]*"')
    for obj in served:
        original = files[(collection_of(obj), obj.get("id"))]
        assert drop_times.sub("", json.dumps(obj)) == drop_times.sub("", json.dumps(original))


def _references(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every group, filter, scope tag and notification template id an object names."""
    found: dict[str, set[str]] = {"group": set(), "filter": set(), "tag": set(), "template": set()}
    for obj in objects:
        found["tag"] |= set(obj.get("roleScopeTagIds") or obj.get("roleScopeTags") or [])
        for assignment in obj.get("assignments") or []:
            target = assignment["target"]
            if target.get("groupId"):
                found["group"].add(target["groupId"])
            if target.get("deviceAndAppManagementAssignmentFilterId"):
                found["filter"].add(target["deviceAndAppManagementAssignmentFilterId"])
        users = (obj.get("conditions") or {}).get("users") or {}
        found["group"] |= set(users.get("includeGroups") or []) | set(
            users.get("excludeGroups") or []
        )
        for rule in obj.get("scheduledActionsForRule") or []:
            for action in rule["scheduledActionConfigurations"]:
                if action["actionType"] == "notification":
                    found["template"].add(action["notificationTemplateId"])
    return found


@pytest.mark.parametrize("label", ["Contoso", "Contoso Test", "Fabrikam Lab"])
def test_every_reference_points_at_an_object_of_the_same_tenant(label):
    objects = demo_tenant_objects(tenant_label=label, seed=7)
    ids: dict[str, set[str]] = {}
    for obj in objects:
        ids.setdefault(collection_of(obj), set()).add(obj.get("id"))
    refs = _references(objects)
    assert refs["group"] and refs["group"] <= ids["groups"]
    assert refs["filter"] and refs["filter"] <= ids["deviceManagement/assignmentFilters"]
    assert refs["tag"] and refs["tag"] <= ids["deviceManagement/roleScopeTags"]
    assert refs["template"] and (
        refs["template"] <= ids["deviceManagement/notificationMessageTemplates"]
    )


def test_two_labels_share_no_tenant_id_anywhere():
    first = demo_tenant_objects(tenant_label="Contoso", seed=1)
    second = demo_tenant_objects(tenant_label="Contoso Test", seed=1)
    first_org = demo_organization(tenant_label="Contoso")
    second_org = demo_organization(tenant_label="Contoso Test")
    owned_first = tenant_owned_ids([first_org, *first])
    owned_second = tenant_owned_ids([second_org, *second])
    assert len(owned_first) == len(owned_second) > 100  # nested ids (actions, ADMX values) too
    assert not owned_first & owned_second
    # no GUID of one tenant appears anywhere (references, composite ids, setting values) in
    # the other; what both share is Microsoft's catalog (ADMX definitions, template ids)
    text_second = json.dumps([second_org, *second])
    assert not set(GUID.findall(text_second)) & owned_first
    tags_first = {o["id"] for o in first if collection_of(o) == "deviceManagement/roleScopeTags"}
    tags_second = {o["id"] for o in second if collection_of(o) == "deviceManagement/roleScopeTags"}
    assert tags_first & tags_second == {"0"}
    assert "contoso.onmicrosoft.com" not in text_second


def test_ids_are_derived_from_the_label_and_the_canonical_id():
    canonical = demo_tenant_objects(tenant_label=CANONICAL_LABEL, seed=0)
    relabelled = demo_tenant_objects(tenant_label="Contoso Test", seed=0)
    builtin = {str(obj["id"]) for _, obj in registry.builtin_objects() if obj.get("id")}
    derived = 0
    for original, copy in zip(canonical, relabelled, strict=True):
        if GUID.fullmatch(original.get("id", "")) and original["id"] not in builtin:
            derived += 1
            namespace = uuid.UUID("6f1c3a52-8d0e-4b57-9a51-2f5e3c7d9b10")
            assert copy["id"] == str(uuid.uuid5(namespace, f"Contoso Test:{original['id']}"))
        elif original.get("id") in builtin:  # Intune's own objects keep their id everywhere
            assert copy["id"] == original["id"]
    assert derived > 60


def test_groups_carry_the_security_identifier_of_their_own_id():
    for obj in demo_tenant_objects(tenant_label="Contoso Test", seed=0):
        if collection_of(obj) == "groups":
            hex_id = obj["id"].replace("-", "")
            parts = [str(int(hex_id[i : i + 8], 16)) for i in (0, 8, 16, 24)]
            assert obj["securityIdentifier"] == "S-1-12-1-" + "-".join(parts)


def test_seed_moves_only_top_level_timestamps():
    first = demo_tenant_objects(tenant_label="Contoso Test", seed=1)
    second = demo_tenant_objects(tenant_label="Contoso Test", seed=2)
    moved = 0
    for a, b in zip(first, second, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if a[key] != b[key]:
                assert key.endswith("DateTime"), (key, _title(a))
                moved += 1
    assert moved > len(first)  # created and modified stamps of most objects


def test_the_demo_seed_objects_are_copies():
    first = demo_seed_objects()
    first[1][1]["displayName"] = "changed"
    assert demo_seed_objects()[1][1].get("displayName") != "changed"


def test_a_file_added_to_the_seed_directory_is_served_with_no_code_change(tmp_path, monkeypatch):
    seed_dir = tmp_path / "demo"
    shutil.copytree(DEMO_SEED_DIR, seed_dir)
    source = next((DEMO_SEED_DIR / CONFIGS).glob("*.json"))
    added = json.loads(source.read_text(encoding="utf-8"))
    group = json.loads(next((DEMO_SEED_DIR / "groups").glob("*.json")).read_text("utf-8"))
    added["id"] = "11111111-2222-4333-8444-555555555555"
    added["displayName"] = "WIN - Added by another engineer"
    added["assignments"] = [
        {
            "id": f"{added['id']}_{group['id']}",
            "source": "direct",
            "sourceId": added["id"],
            "intent": "apply",
            "target": {
                "@odata.type": "#microsoft.graph.groupAssignmentTarget",
                "deviceAndAppManagementAssignmentFilterId": None,
                "deviceAndAppManagementAssignmentFilterType": "none",
                "groupId": group["id"],
            },
        }
    ]
    Path(seed_dir / CONFIGS / "WIN - Added by another engineer.json").write_text(
        json.dumps(added), encoding="utf-8"
    )
    monkeypatch.setattr(demo, "DEMO_SEED_DIR", seed_dir)

    objects = demo_tenant_objects(tenant_label="Contoso Test", seed=0)
    (served,) = [o for o in objects if o.get("displayName") == "WIN - Added by another engineer"]
    groups = {o["displayName"]: o["id"] for o in objects if collection_of(o) == "groups"}
    assert served["id"] != added["id"] and GUID.fullmatch(served["id"])
    (assignment,) = served["assignments"]
    assert assignment["target"]["groupId"] == groups[group["displayName"]]
    assert assignment["id"] == f"{served['id']}_{groups[group['displayName']]}"


def test_a_seed_without_an_organization_is_refused(tmp_path, monkeypatch):
    seed_dir = tmp_path / "demo"
    shutil.copytree(DEMO_SEED_DIR, seed_dir)
    shutil.rmtree(seed_dir / "organization")
    monkeypatch.setattr(demo, "DEMO_SEED_DIR", seed_dir)
    with pytest.raises(ValueError, match="exactly one organization"):
        demo_tenant_objects(tenant_label="Contoso Test", seed=0)
