"""Tenant state: Python-side access, SQLite persistence, seeding (incl. the real corpus)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tenantguard.emulator import (
    EmulatorConfig,
    GraphEmulator,
    SeedError,
    ThrottleConfig,
    load_seed_dir,
)
from tenantguard.emulator.seed import collection_from_context
from tenantguard.emulator.testing import custom_configuration, emulator_client

DC = "deviceManagement/deviceConfigurations"
CONFIG = EmulatorConfig(throttle=ThrottleConfig(enabled=False))


def _emulator(state_dir: Path | None = None) -> GraphEmulator:
    return GraphEmulator(
        config=EmulatorConfig(throttle=ThrottleConfig(enabled=False)), state_dir=state_dir
    )


def test_python_side_access_mirrors_graph(emu: GraphEmulator) -> None:
    """Emulator API: get_object/list_objects return what Graph would (navigation expanded,
    secrets as references); put_object writes like an admin (version moves)."""
    tenant = emu.add_tenant(tenant_id="t", token="tok")
    stored = tenant.put_object(DC, custom_configuration(id="c1", assignments=[]))
    assert stored["version"] == 1
    again = tenant.put_object(DC, {**stored, "description": "drift"})
    assert again["version"] == 2
    assert again["lastModifiedDateTime"] > stored["lastModifiedDateTime"]
    shown = tenant.get_object(DC, "c1")
    assert shown is not None and shown["assignments"] == [] and shown["description"] == "drift"
    assert shown["omaSettings"][0]["value"] is None
    assert [o["id"] for o in tenant.list_objects(DC)] == ["c1"]
    assert tenant.delete_object(DC, "c1") is True
    assert tenant.get_object(DC, "c1") is None
    with pytest.raises(KeyError, match="unknown collection"):
        tenant.list_objects("deviceManagement/nothing")


def test_state_survives_a_restart(tmp_path: Path) -> None:
    """Emulator knob: with state_dir, each tenant is one SQLite file written through on every
    write; a new GraphEmulator on the same directory sees the same objects."""
    first = _emulator(tmp_path)
    first.add_tenant(tenant_id="contoso", token="tok")
    with emulator_client(first, "tok") as c:
        created = c.post(f"/beta/{DC}", json=custom_configuration()).json()
        c.patch(f"/beta/{DC}/{created['id']}", json={"description": "persisted"})
        c.post("/beta/deviceManagement/roleScopeTags", json={"displayName": "Paris"})
    first.close()
    assert (tmp_path / "contoso.sqlite3").is_file()
    with sqlite3.connect(tmp_path / "contoso.sqlite3") as db:
        rows = db.execute(
            "SELECT collection, id FROM objects WHERE collection = ?", (DC,)
        ).fetchall()
    assert rows == [(DC, created["id"])]

    second = _emulator(tmp_path)
    second.add_tenant(
        tenant_id="contoso", token="tok", seed_objects=[(DC, custom_configuration(id="seed"))]
    )
    with emulator_client(second, "tok") as c:
        ids = [o["id"] for o in c.get(f"/beta/{DC}").json()["value"]]
        assert ids == [created["id"]], "seeding happens only for a tenant without state"
        restored = c.get(f"/beta/{DC}/{created['id']}").json()
        assert restored["description"] == "persisted" and restored["version"] == 2
        ref = restored["omaSettings"][0]["secretReferenceValueId"]
        url = f"/beta/{DC}/{created['id']}/getOmaSettingPlainTextValue(secretReferenceValueId='{ref}')"
        assert c.get(url).json()["value"] == "hunter2"
        tags = c.get("/beta/deviceManagement/roleScopeTags").json()["value"]
        assert [t["displayName"] for t in tags] == ["Default", "Paris"]
    second.close()


def test_seed_dir_loads_nested_files_with_bom(tmp_path: Path) -> None:
    """Seed format: JSON files at any depth, UTF-8 with or without BOM, one object per file,
    collection from @odata.context (or a known @odata.type); other files are ignored."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    group = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups/$entity",
        "id": "g1",
        "displayName": "G",
    }
    (tmp_path / "a" / "b" / "group.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(group).encode())
    tag = {"@odata.type": "#microsoft.graph.roleScopeTag", "id": "5", "displayName": "Tag"}
    (tmp_path / "tag.json").write_text(json.dumps(tag))
    (tmp_path / "README.md").write_text("not data")
    emu = _emulator()
    tenant = emu.add_tenant(tenant_id="t", token="tok", seed_dir=tmp_path)
    assert tenant.get_object("groups", "g1") is not None
    assert {t["id"] for t in tenant.list_objects("deviceManagement/roleScopeTags")} == {"0", "5"}


def test_unclassifiable_seed_file_is_a_clear_error(tmp_path: Path) -> None:
    """Seed format: a file whose collection cannot be told fails loudly, naming the file."""
    (tmp_path / "odd.json").write_text(json.dumps({"id": "x"}))
    with pytest.raises(SeedError, match=r"odd\.json"):
        load_seed_dir(tmp_path)


def test_collection_from_context() -> None:
    """Seed format: the collection is read from @odata.context, ignoring expansions and casts."""
    base = "https://graph.microsoft.com/beta/$metadata#"
    assert (
        collection_from_context(
            f"{base}deviceManagement/configurationPolicies(assignments(),settings())/$entity"
        )
        == "deviceManagement/configurationPolicies"
    )
    assert collection_from_context(f"{base}groups/$entity") == "groups"
    assert collection_from_context(f"{base}unknown/$entity") is None


CORPUS = os.environ.get("TENANTGUARD_CORPUS_DIR")


@pytest.mark.skipif(not CORPUS, reason="set TENANTGUARD_CORPUS_DIR to seed the real exports")
def test_every_corpus_file_seeds_and_reads_back() -> None:
    """Seed format: every file of the real corpus loads; Graph reads return the objects with
    the annotations stripped and navigation expanded only on request."""
    assert CORPUS is not None
    objects = load_seed_dir(Path(CORPUS))
    files = [p for p in Path(CORPUS).rglob("*.json")]
    assert len(objects) == len(files) > 0
    emu = _emulator()
    emu.add_tenant(tenant_id="t", token="tok", seed_dir=Path(CORPUS))
    with emulator_client(emu, "tok") as c:
        for collection, obj in objects:
            got = c.get(f"/beta/{collection}/{obj['id']}")
            assert got.status_code == 200, (collection, obj["id"])
            body = got.json()
            assert not [
                k for k in body if "@odata." in k and k not in ("@odata.context", "@odata.type")
            ]
            assert "assignments" not in body
        policies = c.get("/beta/deviceManagement/configurationPolicies").json()["value"]
        big = max(policies, key=lambda p: p["settingCount"])
        settings = c.get(
            f"/beta/deviceManagement/configurationPolicies/{big['id']}/settings"
        ).json()
        assert len(settings["value"]) == min(25, big["settingCount"])
        assert ("@odata.nextLink" in settings) == (big["settingCount"] > 25)
        compliance = c.get(
            "/beta/deviceManagement/deviceCompliancePolicies",
            params={"$expand": "scheduledActionsForRule($expand=scheduledActionConfigurations)"},
        ).json()["value"]
        assert all(
            p["scheduledActionsForRule"][0]["scheduledActionConfigurations"] for p in compliance
        )
