"""Every registered type, one by one: seed the demo tenant, back the type up, change the tenant
(modify one object, delete another), restore, read back: equal to the backup.

Parametrized over the registry, so a type added through its module is covered as soon as the
demo tenant holds objects of it (and fails here until it does). Preview-only types are backed up
and diffed, and nothing of theirs is ever written.
"""

from __future__ import annotations

import pytest

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.intune import normalize, registry
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import embedded_emulator

from .conftest import prepare_run

WRITES = {"POST", "PATCH", "PUT", "DELETE"}
_BUILTIN_IDS = {str(obj.get("id")) for _, obj in registry.builtin_objects()}


def _backup(actor, tenant, type_key):
    return backup_set_capture(
        backup_set=backup_set_start(actor=actor, tenant=tenant, enqueue=False),
        type_keys=[type_key],
    )


def _state(backup_set, type_key):
    return {
        item.source_id: (
            item.display_name,
            normalize.normalize_payload(type_key, item.payload),
            normalize.normalize_assignments(item.assignments or []),
            sorted(item.scope_tag_ids),
        )
        for item in backup_set.items.filter(policy_type=type_key)
    }


def _own_objects(emulated, ptype):
    """The demo objects of ``ptype`` an admin made (not the tenant's built-in ones)."""
    return [
        obj
        for obj in emulated.list_objects(ptype.collection)
        if registry.classify(ptype.collection, obj).key == ptype.key
        and (ptype.singleton is not None or str(obj.get("id")) not in _BUILTIN_IDS)
        and not obj.get("isBuiltIn")
    ]


def _changed(obj, ptype):
    changed = dict(obj)
    if isinstance(obj.get("description"), str):
        changed["description"] = (obj["description"] or "") + " (changed after the backup)"
    elif ptype.singleton is not None:  # no name to change (deviceManagement/settings)
        flag = next((k for k, v in sorted(obj.items()) if isinstance(v, bool)), None)
        if flag is not None:
            changed[flag] = not obj[flag]
        else:  # no flag either (the APNs certificate): its first text property
            text = next(k for k, v in sorted(obj.items()) if isinstance(v, str) and "@" not in k)
            changed[text] = obj[text] + " (changed after the backup)"
    else:
        name_key = ptype.display_name_property
        changed[name_key] = f"{obj.get(name_key) or ''} (renamed after the backup)"
    return changed


@pytest.mark.parametrize("type_key", [ptype.key for ptype in registry.all_types()])
def test_type_round_trips_through_backup_drift_and_restore(personas, tenant, seeded, type_key):
    ptype = registry.get(type_key)
    owner = personas["owner"]
    own = _own_objects(seeded, ptype)
    assert own, f"the demo tenant holds no {ptype.label}: add seed files for it"
    baseline = _backup(owner, tenant, type_key)
    expected = _state(baseline, type_key)
    assert expected, f"the backup captured no {ptype.label}"

    modified = own[0]
    seeded.put_object(ptype.collection, _changed(modified, ptype))
    deleted = own[-1] if len(own) > 1 else None
    if deleted is not None:
        seeded.delete_object(ptype.collection, deleted["id"])
    log_start = len(embedded_emulator().request_log)

    run = prepare_run(owner, tenant, baseline)
    run = restore_run_execute(run_id=run.pk)
    writes = [e for e in embedded_emulator().request_log[log_start:] if e.method in WRITES]

    after = _state(_backup(owner, tenant, type_key), type_key)
    if ptype.is_preview_only:
        assert run.preview_items.filter(policy_type=type_key, action="skip").exists()
        assert not [e for e in writes if ptype.collection in e.path], writes
        return
    assert run.status == "completed", run.results
    # A deleted object comes back under a new id: compare by name, then by content.
    by_name = {value[0]: value[1:] for value in after.values()}
    assert by_name == {value[0]: value[1:] for value in expected.values()}
    assert "DELETE" not in {e.method for e in writes}
