"""The tenant's default Intune branding profile is never assigned: it applies to every user.
It is marked by ``isDefaultProfile`` (``PolicyType.default_flag``), not by an id suffix, so the
write side must be given the object to know it; the emulator refuses its assign action; a
restore whose backup holds assignments for it updates it and leaves its assignments alone.
Its id is Microsoft's well-known one (the same in every tenant)."""

from __future__ import annotations

from typing import Any

from tenantguard.emulator.testing import graph_error, group_target
from tenantguard.intune import registry, write
from tenantguard.intune.types.tenant_administration import DEFAULT_BRANDING_PROFILE_ID
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import embedded_emulator

from ..restores_exec.conftest import prepare_run, seed, take_backup
from .tenant_admin_support import DM, graph

URL = f"{DM}/intuneBrandingProfiles"
PROFILES = "deviceManagement/intuneBrandingProfiles"
GROUP = "8793e9dd-3338-58fd-9767-98874ff564c8"
TYPE = "intune_branding_profile"


class _NoWrites:
    """A Graph client that fails the test on any request."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the default branding profile was sent a request ({name})")


def test_assign_object_knows_the_default_by_its_flag_and_sends_nothing() -> None:
    default = {"id": "5b0f3c1e-1111-4222-8333-444455556666", "isDefaultProfile": True}
    warnings: list[str] = []
    write.assign_object(
        _NoWrites(),  # type: ignore[arg-type]
        type_key=TYPE,
        target_id=default["id"],
        assignments=[group_target(GROUP)],
        warnings=warnings,
        payload=default,
    )
    assert warnings and "default" in warnings[0]


def test_the_builtin_default_has_the_well_known_id() -> None:
    (default,) = [
        obj
        for collection, obj in registry.builtin_objects()
        if collection == PROFILES and obj.get("isDefaultProfile")
    ]
    assert default["id"] == DEFAULT_BRANDING_PROFILE_ID == "c3a59481-1bf2-46ce-94b3-66eec07a8d60"
    # known by its flag, whatever its id
    assert registry.get(TYPE).is_tenant_default(default)
    assert not registry.get(TYPE).is_tenant_default(DEFAULT_BRANDING_PROFILE_ID)


def test_the_emulator_refuses_to_assign_the_default_profile() -> None:
    with graph() as client:
        default = next(p for p in client.get(URL).json()["value"] if p["isDefaultProfile"])
        assert default["id"] == DEFAULT_BRANDING_PROFILE_ID
        refused = client.post(
            f"{URL}/{default['id']}/assign", json={"assignments": [group_target(GROUP)]}
        )
        assert refused.status_code == 400
        assert "default branding profile" in graph_error(refused)["message"]
        assert client.get(f"{URL}/{default['id']}/assignments").json()["value"] == []


def test_a_restore_updates_the_default_and_never_assigns_it(
    personas, tenant, emulated, demo_objects
):
    owner = personas["owner"]
    seed(emulated, demo_objects)
    default = next(p for p in emulated.list_objects(PROFILES) if p.get("isDefaultProfile"))
    # A backup whose default holds an assignment (as an export edited by hand could).
    group = emulated.list_objects("groups")[0]["id"]
    emulated.put_object(
        PROFILES, {**default, "assignments": [{"id": "a-1", **group_target(group)}]}
    )
    backup = take_backup(owner, tenant)
    item = backup.items.get(policy_type=TYPE, source_id=default["id"])
    assert item.assignments
    emulated.put_object(
        PROFILES, {**default, "themeColor": {"r": 1, "g": 2, "b": 3}, "assignments": []}
    )
    start = len(embedded_emulator().request_log)
    run = prepare_run(owner, tenant, backup, item_ids=[item.pk])
    assert run.preview_items.get(policy_type=TYPE).diff["assignments"]["tenant_default"] is True
    run = restore_run_execute(run_id=run.pk)
    outcome = run.item_outcomes.get(policy_type=TYPE)
    assert outcome.outcome == "updated", (outcome.error_message, run.results)
    assert not outcome.assignments_written
    after = emulated.get_object(PROFILES, default["id"])
    assert after["themeColor"] == default["themeColor"]
    assert after.get("assignments") in (None, [])
    log = embedded_emulator().request_log[start:]
    assert not [e for e in log if e.method == "POST" and e.path.endswith("/assign")]
