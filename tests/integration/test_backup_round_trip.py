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
    """The seeded payload as a backup holds it: OMA-URI plaintexts blanked (the backup keeps
    them apart) and the type's ``never_stored_fields`` (e.g. a VPP token's ``token``) gone."""
    payload = copy.deepcopy(payload)
    for key in registry.get(ptype_key).never_stored_fields:
        payload.pop(key, None)
    plaintexts = {}
    for setting in payload.get("omaSettings") or []:
        if setting.get("isEncrypted") and setting.get("value") is not None:
            plaintexts[setting["omaUri"]] = setting["value"]
            setting["value"] = None
    return payload, plaintexts


def _with_nested_children(objects):
    """``objects`` with each parent split from the objects nested under it: a seed object holds
    its children expanded (a DEP token's ``enrollmentProfiles``), a backup keeps each child as
    an item of its own type (``PolicyType.parent``) and the parent without them."""
    nested = [t for t in registry.all_types() if t.parent is not None]
    for collection, seeded in objects:
        child_types = [t for t in nested if t.parent.collection == collection]
        navigations = {t.parent.navigation for t in child_types}
        yield collection, {k: v for k, v in seeded.items() if k not in navigations}
        for child_type in child_types:
            for child in seeded.get(child_type.parent.navigation) or []:
                yield child_type.collection, child


def _assert_round_trip(backup_set, objects):
    items = {(i.policy_type, i.source_id): i for i in backup_set.items.all()}
    checked = 0
    for collection, seeded in _with_nested_children(objects):
        if collection == "groups":
            continue
        ptype = registry.classify(collection, seeded)
        # A singleton (one per tenant, e.g. the APNs certificate) is kept under its fixed id.
        source_id = ptype.singleton.source_id if ptype.singleton else str(seeded["id"])
        item = items.get((ptype.key, source_id))
        assert item is not None, (
            f"{ptype.key} {seeded.get('displayName') or seeded.get('name')} was not captured"
        )
        expected, plaintexts = _without_secrets(ptype.key, seeded)
        actual = copy.deepcopy(item.payload)
        assert not ptype.never_stored_fields & actual.keys(), (
            f"{ptype.key} '{item.display_name}' stored a never-stored field"
        )
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


def _builtins_of_types_not_seeded(emulated, objects):
    """Intune's own objects (registry built-ins) the tenant holds, of the types ``objects``
    have none of, as the emulator holds them: e.g. the Windows restore default, in a fresh
    tenant the only object of the catch-all ``enrollment_restriction`` (kinds TenantGuard does
    not restore). Built-ins no type claims are left out (never captured)."""
    seeded = {registry.classify(c, o).key for c, o in _with_nested_children(objects)}
    held = []
    for collection in dict.fromkeys(c for c, _ in registry.builtin_objects()):
        for obj in emulated.list_objects(collection):
            ptype = registry.classify(collection, obj)
            if ptype.key not in seeded and not registry.is_unsupported(ptype):
                held.append((collection, obj))
    return held


def test_every_supported_type_round_trips(personas, tenant, emulated, demo_objects):
    objects = [(collection_of(o, source="demo"), o) for o in demo_objects]
    builtins = _builtins_of_types_not_seeded(emulated, objects)
    backup_set = _seed_and_back_up(emulated, personas, tenant, objects)
    assert backup_set.status == "completed", backup_set.warnings
    objects += builtins
    checked = _assert_round_trip(backup_set, objects)
    covered = {registry.classify(c, o).key for c, o in _with_nested_children(objects)}
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
