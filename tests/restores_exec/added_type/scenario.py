"""Back up, diff and restore ``example_widget``, a type only its module knows.

Run by test_added_type_module.py in a fresh interpreter whose ``tenantguard.intune.types``
package also holds ``example_widgets.py``; skipped anywhere else.
"""

from __future__ import annotations

import pytest

from tenantguard.intune import normalize, registry
from tenantguard.restores.services.execute import restore_run_execute

from ..conftest import prepare_run, seed, take_backup

pytestmark = pytest.mark.skipif(
    "example_widget" not in registry.POLICY_TYPES,
    reason="run by test_added_type_module.py with the example type module on the path",
)

GROUP_ID = "5d1f9a8e-2b7c-4c1e-9a55-7f0a3c2b1e11"


def _widget(name: str, *, minimum: int, rules: list[dict]) -> dict:
    return {
        "@odata.type": "#microsoft.graph.exampleWidget",
        "displayName": name,
        "description": f"{name} for the finance laptops",
        "minimumLevel": minimum,
        "rules": rules,
        "roleScopeTagIds": ["0"],
        "assignments": [{"id": f"{name}-a", "target": _group_target()}],
    }


def _group_target() -> dict:
    return {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": GROUP_ID}


def _state(backup_set) -> dict:
    return {
        item.display_name: (
            normalize.normalize_payload(item.policy_type, item.payload),
            normalize.normalize_assignments(item.assignments or []),
        )
        for item in backup_set.items.filter(policy_type="example_widget")
    }


def test_added_type_is_backed_up_diffed_and_restored(personas, tenant, emulated):
    owner = personas["owner"]
    seed(
        emulated,
        [
            {"@odata.type": "#microsoft.graph.group", "id": GROUP_ID, "displayName": "Finance"},
            _widget(
                "Kiosk widget",
                minimum=3,
                rules=[{"ruleName": "lock", "value": 5}, {"ruleName": "wipe", "value": 10}],
            ),
            _widget("Spare widget", minimum=1, rules=[]),
        ],
    )
    baseline = take_backup(owner, tenant)
    assert set(_state(baseline)) == {"Kiosk widget", "Spare widget"}

    kiosk = next(
        o
        for o in emulated.list_objects(registry.get("example_widget").collection)
        if o["displayName"] == "Kiosk widget"
    )
    kiosk["rules"] = [{"ruleName": "wipe", "value": 10}, {"ruleName": "lock", "value": 50}]
    kiosk["minimumLevel"] = 4
    emulated.put_object(registry.get("example_widget").collection, kiosk)
    spare = next(
        o
        for o in emulated.list_objects(registry.get("example_widget").collection)
        if o["displayName"] == "Spare widget"
    )
    emulated.delete_object(registry.get("example_widget").collection, spare["id"])

    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.filter(policy_type="example_widget")}
    assert planned["Spare widget"].action == "create"
    assert planned["Kiosk widget"].action == "update"
    # The rules list is compared by its identity property, not by position.
    changed = {change["path"] for change in planned["Kiosk widget"].diff["changes"]}
    assert changed == {"minimumLevel", "rules[lock].value"}

    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results
    assert _state(take_backup(owner, tenant)) == _state(baseline)
