"""write_seed_dir: one file per object, safe and unique names, lossless round trip."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from tenantguard.emulator.demo import collection_of, demo_tenant_objects, write_seed_dir


def test_write_seed_dir_writes_one_json_per_object_that_loads_back_equal(tmp_path):
    objects = demo_tenant_objects(tenant_label="Contoso Test", seed=3)
    paths = write_seed_dir(objects, tmp_path / "seed")
    files = sorted((tmp_path / "seed").glob("*.json"))
    assert len(paths) == len(files) == len(objects)
    loaded = {}
    for path in files:
        obj = json.loads(path.read_text(encoding="utf-8"))
        loaded[(collection_of(obj), obj.get("id"))] = obj
    assert loaded == {(collection_of(o), o.get("id")): o for o in objects}


def test_file_names_are_filesystem_safe_and_name_the_type(tmp_path):
    objects = demo_tenant_objects(tenant_label="Contoso", seed=3)
    for path, obj in zip(write_seed_dir(objects, tmp_path), objects, strict=True):
        assert re.fullmatch(r"[A-Za-z0-9._() ~-]+\.json", path.name), path.name
        assert path.name.startswith(collection_of(obj).rsplit("/", 1)[-1] + " - ")


def test_same_titles_get_unique_file_names(tmp_path):
    base = demo_tenant_objects(tenant_label="Contoso", seed=3)[0]
    twins = [dict(base, id=f"id-{n}", displayName="Sales / EMEA: *pilot*?") for n in range(3)]
    paths = write_seed_dir(twins, tmp_path)
    assert len({p.name.lower() for p in paths}) == 3
    assert all("/" not in p.name and ":" not in p.name and "*" not in p.name for p in paths)


def test_non_ascii_text_survives(tmp_path):
    objects = demo_tenant_objects(tenant_label="Contoso", seed=3)
    write_seed_dir(objects, tmp_path)
    text = "".join(
        p.read_text(encoding="utf-8") for p in tmp_path.glob("notificationMessageTemplates*")
    )
    assert "Gerät" in text


def test_the_emulator_loads_the_written_seed_dir(tmp_path):
    emulator_module = pytest.importorskip("tenantguard.emulator")
    if not hasattr(emulator_module, "GraphEmulator"):
        pytest.skip("GraphEmulator is not available yet")
    objects = demo_tenant_objects(tenant_label="Contoso", seed=3)
    write_seed_dir(objects, tmp_path)
    emulator = emulator_module.GraphEmulator()
    tenant = emulator.add_tenant(tenant_id="contoso", token="seed-dir-token", seed_dir=tmp_path)
    for collection, expected in Counter(collection_of(o) for o in objects).items():
        listed = {o["id"] for o in tenant.list_objects(collection)}
        assert {o["id"] for o in objects if collection_of(o) == collection and "id" in o} <= listed
        assert len(listed) >= expected
