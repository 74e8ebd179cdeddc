"""Round trip: seed the emulator, back up through the product, compare with what was seeded.

Runs over the demo configuration (every supported type) and, when ``TENANTGUARD_CORPUS_DIR`` is
set (CI points it at ../shared/corpus), over every object of that real-export corpus.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of, load_seed_dir
from tenantguard.intune import normalize, registry


def _seed_and_back_up(emulated, personas, tenant, objects):
    for collection, obj in objects:
        emulated.put_object(collection, obj)
    return backup_set_capture(
        backup_set=backup_set_start(actor=personas["operator"], tenant=tenant, enqueue=False)
    )


def _without_secrets(ptype_key, payload):
    """The seeded payload with OMA-URI plaintexts blanked (the backup keeps them apart)."""
    payload = copy.deepcopy(payload)
    plaintexts = {}
    for setting in payload.get("omaSettings") or []:
        if setting.get("isEncrypted") and setting.get("value") is not None:
            plaintexts[setting["omaUri"]] = setting["value"]
            setting["value"] = None
    return payload, plaintexts


def _assert_round_trip(backup_set, objects):
    items = {(i.policy_type, i.source_id): i for i in backup_set.items.all()}
    checked = 0
    for collection, seeded in objects:
        if collection == "groups":
            continue
        ptype = registry.classify(collection, seeded)
        item = items.get((ptype.key, str(seeded["id"])))
        assert item is not None, (
            f"{ptype.key} {seeded.get('displayName') or seeded.get('name')} was not captured"
        )
        expected, plaintexts = _without_secrets(ptype.key, seeded)
        actual = copy.deepcopy(item.payload)
        for setting in actual.get("omaSettings") or []:
            setting["value"] = None if setting.get("isEncrypted") else setting.get("value")
        assert normalize.normalize_payload(ptype.key, actual) == normalize.normalize_payload(
            ptype.key, expected
        ), f"{ptype.key} '{item.display_name}' differs after the round trip"
        if "assignments" in seeded:
            assert normalize.normalize_assignments(
                item.assignments or []
            ) == normalize.normalize_assignments(seeded["assignments"])
        assert sorted(item.scope_tag_ids) == sorted(registry.scope_tag_ids_of(ptype, seeded))
        assert set(plaintexts.values()) <= set(item.secrets.values())
        checked += 1
    return checked


def test_every_supported_type_round_trips(personas, tenant, emulated, demo_objects):
    objects = [(collection_of(o, source="demo"), o) for o in demo_objects]
    backup_set = _seed_and_back_up(emulated, personas, tenant, objects)
    assert backup_set.status == "completed", backup_set.warnings
    checked = _assert_round_trip(backup_set, objects)
    covered = {registry.classify(c, o).key for c, o in objects if c != "groups"}
    assert set(registry.POLICY_TYPES) <= covered | {"unsupported"}
    assert checked >= 55


@pytest.mark.skipif(
    not os.environ.get("TENANTGUARD_CORPUS_DIR"), reason="set TENANTGUARD_CORPUS_DIR to the corpus"
)
def test_every_corpus_object_round_trips(personas, tenant, emulated):
    objects = load_seed_dir(Path(os.environ["TENANTGUARD_CORPUS_DIR"]))
    assert len(objects) >= 20
    backup_set = _seed_and_back_up(emulated, personas, tenant, objects)
    # Corpus assignments point at groups of the exporting tenant: the backup says they are gone.
    assert all(w["type_key"] == "groups" for w in backup_set.warnings), backup_set.warnings
    assert _assert_round_trip(backup_set, objects) == len(objects)
