"""Enrollment configurations end to end: back up, change the tenant, restore, read back.

Priorities come back through ``setPriority``; the tenant's defaults (``<account id>_Default…``)
are updated in place, matched by their id suffix across tenants, never created or assigned; the
kinds TenantGuard does not know stay preview-only.
"""

from __future__ import annotations

import pytest

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.intune import normalize, registry
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import embedded_emulator, emulated_tenant

from ..restores_exec.conftest import duplicates, prepare_run, seed

COLLECTION = "deviceManagement/deviceEnrollmentConfigurations"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
ENROLLMENT_KEYS = [
    ptype.key for ptype in registry.types_for_collection(COLLECTION) if not ptype.is_preview_only
]


@pytest.fixture
def seeded(emulated, demo_objects):
    seed(emulated, demo_objects)
    return emulated


def _backup(actor, tenant, type_keys):
    return backup_set_capture(
        backup_set=backup_set_start(actor=actor, tenant=tenant, enqueue=False),
        type_keys=type_keys,
    )


def _state(backup_set, type_keys):
    """(type, name) -> compared payload (priority included), assignments, scope tags."""
    return {
        (item.policy_type, item.display_name): (
            normalize.normalize_payload(item.policy_type, item.payload),
            normalize.normalize_assignments(item.assignments or []),
            sorted(item.scope_tag_ids),
        )
        for item in backup_set.items.filter(policy_type__in=type_keys)
    }


def _by_name(emulated, name):
    return next(o for o in emulated.list_objects(COLLECTION) if o["displayName"] == name)


def _default(emulated, suffix):
    return next(o for o in emulated.list_objects(COLLECTION) if o["id"].endswith(suffix))


def _writes_since(start):
    return [e for e in embedded_emulator().request_log[start:] if e.method in WRITES]


def test_deleted_first_priority_restriction_comes_back_first(personas, tenant, seeded):
    owner = personas["owner"]
    baseline = _backup(owner, tenant, ENROLLMENT_KEYS)
    expected = _state(baseline, ENROLLMENT_KEYS)
    assert ("enrollment_limit", "Device limit - Developers (10)") in expected
    developers = _by_name(seeded, "Device limit - Developers (10)")
    assert developers["priority"] == 1
    # Graph renumbers the rest of the kind when one is deleted: Finance moves up to 1.
    seeded.delete_object(COLLECTION, developers["id"])
    finance = _by_name(seeded, "Device limit - Finance (3)")
    seeded.put_object(COLLECTION, {**finance, "limit": 4, "priority": 1})
    default_limit = _default(seeded, "_DefaultLimit")
    seeded.put_object(COLLECTION, {**default_limit, "limit": 15})
    esp = _by_name(seeded, "ESP - Kiosk")
    seeded.put_object(COLLECTION, {**esp, "installProgressTimeoutInMinutes": 30})
    start = len(embedded_emulator().request_log)

    run = prepare_run(owner, tenant, baseline)
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    writes = _writes_since(start)

    after = _state(_backup(owner, tenant, ENROLLMENT_KEYS), ENROLLMENT_KEYS)
    assert after == expected
    assert _by_name(seeded, "Device limit - Developers (10)")["priority"] == 1
    assert _by_name(seeded, "Device limit - Finance (3)")["priority"] == 2
    paths = [(e.method, e.path.rsplit("/", 1)[-1]) for e in writes]
    assert ("POST", "setPriority") in paths
    assert "DELETE" not in {e.method for e in writes}
    # the default was updated in place, never created nor assigned
    default_path = f"{COLLECTION}/{default_limit['id']}"
    assert [e.method for e in writes if e.path.endswith(default_path)] == ["PATCH"]
    assert not [e for e in writes if default_limit["id"] in e.path and e.path.endswith("/assign")]
    assert _default(seeded, "_DefaultLimit")["limit"] == 5
    # the tenant's five "All users and all devices" defaults are one per kind, not duplicates
    assert not duplicates(seeded)


def test_defaults_are_matched_by_id_suffix_across_tenants(personas, tenant, prod_tenant, seeded):
    owner = personas["owner"]
    prod = emulated_tenant(prod_tenant)
    source_default = _default(seeded, "_DefaultWindowsHelloForBusiness")
    prod_default = _default(prod, "_DefaultWindowsHelloForBusiness")
    assert source_default["id"] != prod_default["id"]  # each tenant has its own account id
    seeded.put_object(COLLECTION, {**source_default, "pinMinimumLength": 10})
    # A same-named object in the target must not be taken for the default.
    prod.put_object(
        COLLECTION,
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentWindowsHelloForBusinessConfiguration",
            "id": "5d1c9f0e-2b7a-4c8e-9f3d-1a2b3c4d5e6f_WindowsHelloForBusiness",
            "displayName": "All users and all devices",
            "priority": 1,
            "pinMinimumLength": 4,
        },
    )
    source = _backup(owner, tenant, ["windows_hello_enrollment"])
    item = source.items.get(source_id=source_default["id"])
    start = len(embedded_emulator().request_log)

    run = prepare_run(owner, prod_tenant, source, item_ids=[item.pk])
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    writes = _writes_since(start)
    assert [(e.method, e.path.split("/")[-1]) for e in writes] == [("PATCH", prod_default["id"])]
    assert _default(prod, "_DefaultWindowsHelloForBusiness")["pinMinimumLength"] == 10
    assert _by_name_in(prod, "_WindowsHelloForBusiness")["pinMinimumLength"] == 4


def _by_name_in(emulated, suffix):
    return next(
        o
        for o in emulated.list_objects(COLLECTION)
        if o["id"].endswith(suffix) and o["priority"] != 0
    )


def test_unknown_kinds_are_backed_up_and_diffed_but_never_written(personas, tenant, seeded):
    owner = personas["owner"]
    restore_default = _default(seeded, "_WindowsRestore")
    baseline = _backup(owner, tenant, ["enrollment_restriction"])
    item = baseline.items.get(policy_type="enrollment_restriction")
    assert item.source_id == restore_default["id"]
    seeded.put_object(COLLECTION, {**restore_default, "state": "enabled"})
    start = len(embedded_emulator().request_log)
    run = prepare_run(owner, tenant, baseline)
    assert run.preview_items.filter(policy_type="enrollment_restriction", action="skip").exists()
    assert run.check_results.filter(code="preview_only_type").exists()
    run = restore_run_execute(run_id=run.pk)
    assert not [e for e in _writes_since(start) if COLLECTION in e.path]
    assert _default(seeded, "_WindowsRestore")["state"] == "enabled"
    reason = registry.get("enrollment_restriction").preview_only_why
    assert "Intune admin center" in reason


def test_a_default_missing_in_the_target_is_never_created(personas, tenant, seeded):
    owner = personas["owner"]
    baseline = _backup(owner, tenant, ["windows_hello_enrollment"])
    default = _default(seeded, "_DefaultWindowsHelloForBusiness")
    seeded.delete_object(COLLECTION, default["id"])  # impossible in Intune: a broken read
    start = len(embedded_emulator().request_log)
    run = prepare_run(owner, tenant, baseline)
    planned = run.preview_items.get(source_id=default["id"])
    assert planned.action == "skip" and planned.diff["skip_code"] == "never_created"
    assert "never creates it" in planned.reason
    run = restore_run_execute(run_id=run.pk)
    assert not [e for e in _writes_since(start) if e.method == "POST" and COLLECTION in e.path]
    assert not [
        o
        for o in seeded.list_objects(COLLECTION)
        if o["id"].endswith("_DefaultWindowsHelloForBusiness")
    ]


def test_a_priority_change_is_in_the_preview_and_only_then_written(personas, tenant, seeded):
    """setPriority moves the kind's other objects: the preview shows every priority the
    restore writes, and an object whose priority already matches gets none."""
    owner = personas["owner"]
    baseline = _backup(owner, tenant, ENROLLMENT_KEYS)
    developers = _by_name(seeded, "Device limit - Developers (10)")
    finance = _by_name(seeded, "Device limit - Finance (3)")
    seeded.put_object(COLLECTION, {**developers, "priority": 2})
    seeded.put_object(COLLECTION, {**finance, "priority": 1})
    start = len(embedded_emulator().request_log)
    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.filter(policy_type="enrollment_limit")}
    moved = planned["Device limit - Developers (10)"]
    assert moved.action == "update"
    change = next(c for c in moved.diff["changes"] if c["path"] == "priority")
    assert (change["before"], change["after"]) == (2, 1) and "renumbers" in change["note"]
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    posts = [e.path for e in _writes_since(start) if e.path.endswith("/setPriority")]
    assert posts == [f"/beta/{COLLECTION}/{developers['id']}/setPriority"]
    assert _by_name(seeded, "Device limit - Developers (10)")["priority"] == 1


def test_priorities_come_back_in_the_backups_order_whatever_the_names(personas, tenant, seeded):
    """setPriority renumbers the kind's others, so the order the restore sets them in matters:
    in the backup's priority order every start ends right; in name order this one did not."""
    owner = personas["owner"]
    template = _by_name(seeded, "Device limit - Finance (3)")
    for name in ("Device limit - Developers (10)", "Device limit - Finance (3)"):
        seeded.delete_object(COLLECTION, _by_name(seeded, name)["id"])
    backup_priority = {"A": 2, "B": 1, "C": 3, "D": 4}
    ids = {}
    for letter, priority in backup_priority.items():
        ids[letter] = f"{template['id'][:-8]}0000000{ord(letter)}"[-36:]
        seeded.put_object(
            COLLECTION,
            {
                **template,
                "id": ids[letter],
                "displayName": f"Device limit - {letter}",
                "priority": priority,
            },
        )
    baseline = _backup(owner, tenant, ENROLLMENT_KEYS)
    for place, letter in enumerate("ADBC", start=1):  # the target's order now
        live = _by_name(seeded, f"Device limit - {letter}")
        seeded.put_object(COLLECTION, {**live, "priority": place})

    run = restore_run_execute(run_id=prepare_run(owner, tenant, baseline).pk)

    assert run.status == "completed", run.results
    assert {
        letter: _by_name(seeded, f"Device limit - {letter}")["priority"] for letter in "ABCD"
    } == backup_priority
