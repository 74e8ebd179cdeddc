"""Intune roles (custom role definitions) and role assignments: Graph's rules in the emulator
and restore round trips (tenantguard/intune/types/roles.py)."""

from __future__ import annotations

from tenantguard.emulator.demo import collection_of, demo_tenant_objects
from tenantguard.emulator.testing import GRAPH, graph_error
from tenantguard.intune import references, registry
from tenantguard.intune.types.roles import BUILTIN_ROLE_IDS
from tenantguard.restores.services.checks import restore_run_mapping_needs, restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.restores.services.runs import (
    restore_run_confirm,
    restore_run_create,
    restore_run_queue_execution,
    restore_run_set_dry_run,
    restore_run_set_scope,
    restore_run_update_mapping,
)
from tenantguard.tenants.graph_access import emulated_tenant

from ..restores_exec.conftest import prepare_run, seed, take_backup
from .tenant_admin_support import DM, demo_of, graph, round_trip

DEFINITIONS = f"{DM}/roleDefinitions"
ASSIGNMENTS = f"{DM}/roleAssignments"
HELP_DESK = "9e0cc482-82df-4ab2-a24c-0c23a3f52e1e"
GROUP = "2668df55-8a5d-5cee-b1b7-d447bd26f953"


def _role(**extra):
    allowed = ["Microsoft.Intune_ManagedDevices_Read"]
    return {
        "@odata.type": "#microsoft.graph.deviceAndAppManagementRoleDefinition",
        "displayName": "Device readers",
        "description": "",
        "roleScopeTagIds": ["0"],
        "rolePermissions": [
            {
                "resourceActions": [
                    {"allowedResourceActions": allowed, "notAllowedResourceActions": []}
                ]
            }
        ],
        **extra,
    }


def _assignment(role_id, **extra):
    return {
        "@odata.type": "#microsoft.graph.deviceAndAppManagementRoleAssignment",
        "displayName": "Readers",
        "description": "",
        "members": [GROUP],
        "scopeMembers": [],
        "resourceScopes": [],
        "scopeType": "allDevices",
        "roleScopeTagIds": ["0"],
        "roleDefinition@odata.bind": f"{GRAPH}/beta/deviceManagement/roleDefinitions('{role_id}')",
        **extra,
    }


def test_every_tenant_has_the_built_in_roles_which_cannot_be_changed():
    with graph() as client:
        listed = client.get(DEFINITIONS).json()["value"]
        assert {r["id"] for r in listed} == BUILTIN_ROLE_IDS
        assert all(r["isBuiltIn"] and r["isBuiltInRoleDefinition"] for r in listed)
        custom = client.get(DEFINITIONS, params={"$filter": "isBuiltIn eq false"}).json()
        assert custom["value"] == []
        patch = client.patch(f"{DEFINITIONS}/{HELP_DESK}", json={"description": "mine"})
        assert patch.status_code == 400
        assert "built-in" in graph_error(patch)["message"]
        assert client.delete(f"{DEFINITIONS}/{HELP_DESK}").status_code == 400


def test_a_custom_role_is_created_as_custom_without_timestamps():
    with graph() as client:
        response = client.post(DEFINITIONS, json=_role(isBuiltIn=True))
        assert response.status_code == 201
        created = response.json()
        assert created["isBuiltIn"] is False and created["isBuiltInRoleDefinition"] is False
        # ``permissions`` is Graph's older name of the same list.
        assert created["permissions"] == created["rolePermissions"]
        for absent in ("createdDateTime", "lastModifiedDateTime", "version", "roleAssignments"):
            assert absent not in created, absent
        listed = client.get(DEFINITIONS, params={"$filter": "isBuiltIn eq false"}).json()
        assert [r["id"] for r in listed["value"]] == [created["id"]]


def test_a_role_assignment_is_bound_to_its_role_on_create_and_listed_under_it():
    with graph() as client:
        role = client.post(DEFINITIONS, json=_role()).json()
        unbound = {k: v for k, v in _assignment(role["id"]).items() if "@odata.bind" not in k}
        refused = client.post(ASSIGNMENTS, json=unbound)
        assert refused.status_code == 400
        assert "roleDefinition@odata.bind" in graph_error(refused)["message"]
        missing = client.post(ASSIGNMENTS, json=_assignment("no-such-role"))
        assert missing.status_code == 400

        response = client.post(ASSIGNMENTS, json=_assignment(role["id"]))
        assert response.status_code == 201
        created = response.json()
        assert "roleDefinition" not in created and "createdDateTime" not in created
        one = client.get(f"{ASSIGNMENTS}/{created['id']}", params={"$expand": "roleDefinition"})
        assert one.json()["roleDefinition"]["id"] == role["id"]
        under = client.get(f"{DEFINITIONS}/{role['id']}/roleAssignments").json()["value"]
        assert [a["id"] for a in under] == [created["id"]]
        assert client.get(f"{DEFINITIONS}/{HELP_DESK}/roleAssignments").json()["value"] == []
        # Graph routes no POST under the role: assignments are created at the top level.
        nested = client.post(
            f"{DEFINITIONS}/{role['id']}/roleAssignments", json=_assignment(role["id"])
        )
        assert nested.status_code == 400


def test_a_role_assignment_cannot_be_moved_to_another_role():
    with graph() as client:
        role = client.post(DEFINITIONS, json=_role()).json()
        created = client.post(ASSIGNMENTS, json=_assignment(role["id"])).json()
        moved = client.patch(
            f"{ASSIGNMENTS}/{created['id']}",
            json={
                "roleDefinition@odata.bind": f"{GRAPH}/beta/deviceManagement/roleDefinitions"
                f"('{HELP_DESK}')"
            },
        )
        assert moved.status_code == 400
        renamed = client.patch(f"{ASSIGNMENTS}/{created['id']}", json={"members": []})
        assert renamed.status_code == 204


def test_role_assignments_reference_their_role_groups_and_scope_tags(demo_objects):
    kiosk = next(
        o
        for o in demo_of(demo_objects, "deviceManagement/roleAssignments")
        if o["displayName"] == "Kiosk operators"
    )
    refs = references.references_of(
        type_key="role_assignment",
        payload=kiosk,
        assignments=[],
        scope_tag_ids=kiosk["roleScopeTagIds"],
    )
    kinds = {(ref.kind, ref.where) for ref in refs}
    assert ("role_definition", "roleDefinition.id") in kinds
    assert ("group", "members[0]") in kinds
    assert ("group", "resourceScopes[0]") in kinds
    assert ("scope_tag", "scopeTagIds[0]") in kinds
    help_desk = next(
        o
        for o in demo_of(demo_objects, "deviceManagement/roleAssignments")
        if o["displayName"] == "EMEA help desk"
    )
    assert help_desk["roleDefinition"]["id"] == HELP_DESK
    refs = references.references_of(
        type_key="role_assignment", payload=help_desk, assignments=[], scope_tag_ids=[]
    )
    assert "role_definition" not in {ref.kind for ref in refs}, "built-in roles are no references"


def test_the_role_types_list_custom_roles_only_and_bind_the_role_on_create():
    definition = registry.get("role_definition")
    assert definition.is_foundation
    assert definition.list_params.as_params() == {"$filter": "isBuiltIn eq false"}
    assert definition.list_params.as_params(listing=False) == {}
    assignment = registry.get("role_assignment")
    assert [b.property for b in assignment.odata_binds] == ["roleDefinition"]
    assert assignment.assign is None


def _change_role(obj):
    actions = ["Microsoft.Intune_ManagedDevices_Read"]
    obj["description"] = "Trimmed in the portal"
    obj["rolePermissions"] = [
        {
            "actions": actions,
            "resourceActions": [
                {"allowedResourceActions": actions, "notAllowedResourceActions": []}
            ],
        }
    ]
    obj["permissions"] = obj["rolePermissions"]


def test_role_definitions_restore_round_trip(personas, tenant, emulated, demo_objects):
    round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="role_definition",
        modify={"Contoso Helpdesk Tier 2": _change_role},
        delete=[("role_definition", "Kiosk Device Operator")],
        expect={"Contoso Helpdesk Tier 2": "update", "Kiosk Device Operator": "create"},
    )


def _change_members(obj):
    obj["members"] = []
    obj["description"] = "Emptied in the portal"
    obj["roleScopeTagIds"] = ["0"]


def test_role_assignments_restore_round_trip(personas, tenant, emulated, demo_objects):
    round_trip(
        personas=personas,
        tenant=tenant,
        emulated=emulated,
        demo_objects=demo_objects,
        type_key="role_assignment",
        also_seed=["deviceManagement/roleDefinitions"],
        modify={"EMEA help desk": _change_members},
        delete=[("role_assignment", "Helpdesk Tier 2 - all devices")],
        expect={
            "EMEA help desk": "update",
            "Helpdesk Tier 2 - all devices": "create",
            "Kiosk operators": "no_change",
        },
    )
    emea = _assignment_named(emulated, "EMEA help desk")
    assert emea["roleDefinition"]["id"] == HELP_DESK


def test_a_role_assignment_deleted_with_its_custom_role_is_bound_to_the_restored_role(
    personas, tenant, emulated, demo_objects
):
    """The role is a foundation: restored first, and the assignment is created bound to the
    role's new id (the one resolver decides it for the preview and the write)."""
    owner = personas["owner"]
    wanted = {
        "groups",
        "deviceManagement/roleScopeTags",
        "deviceManagement/roleDefinitions",
        "deviceManagement/roleAssignments",
    }
    seed(emulated, [o for o in demo_objects if collection_of(o) in wanted])
    baseline = take_backup(owner, tenant)
    old_role = _role_named(emulated, "Kiosk Device Operator")["id"]
    emulated.delete_object(
        "deviceManagement/roleAssignments", _assignment_named(emulated, "Kiosk operators")["id"]
    )
    emulated.delete_object("deviceManagement/roleDefinitions", old_role)

    run = prepare_run(owner, tenant, baseline)
    planned = {p.display_name: p for p in run.preview_items.all()}
    assert planned["Kiosk Device Operator"].action == "create"
    assert planned["Kiosk operators"].action == "create"
    run = restore_run_execute(run_id=run.pk)
    assert run.status == "completed", run.results

    new_role = _role_named(emulated, "Kiosk Device Operator")["id"]
    assert new_role != old_role
    kiosk = _assignment_named(emulated, "Kiosk operators")
    assert kiosk["roleDefinition"]["id"] == new_role
    assert kiosk["resourceScopes"] == _assignment_in(baseline, "Kiosk operators")["resourceScopes"]


def _role_named(emulated, name):
    return next(
        r
        for r in emulated.list_objects("deviceManagement/roleDefinitions")
        if r["displayName"] == name
    )


def _assignment_named(emulated, name):
    return next(
        a
        for a in emulated.list_objects("deviceManagement/roleAssignments")
        if a["displayName"] == name
    )


def _assignment_in(backup_set, name):
    return backup_set.items.get(policy_type="role_assignment", display_name=name).payload


def test_into_another_tenant_roles_are_created_and_assignments_use_the_mapped_groups(
    personas, tenant, prod_tenant, emulated, demo_objects
):
    """Cross-tenant: members and scope groups are group references (checked, mapped, never
    written with the source's ids); the custom role is created first and the assignment bound
    to it; an assignment of a built-in role keeps the built-in id."""
    owner = personas["owner"]
    wanted = {"groups", "deviceManagement/roleDefinitions", "deviceManagement/roleAssignments"}
    seed(emulated, [o for o in demo_objects if collection_of(o) in wanted])
    prod = emulated_tenant(prod_tenant)
    seed(
        prod,
        [
            o
            for o in demo_tenant_objects(tenant_label="Contoso", seed=5)
            if collection_of(o) == "groups"
        ],
    )
    source = take_backup(owner, tenant)
    wanted_names = {"Contoso Helpdesk Tier 2", "Helpdesk Tier 2 - all devices", "EMEA help desk"}
    chosen = list(
        source.items.filter(
            policy_type__in=["role_definition", "role_assignment"], display_name__in=wanted_names
        ).values_list("pk", flat=True)
    )
    assert len(chosen) == 3

    run = restore_run_create(actor=owner, tenant=prod_tenant, backup_set=source)
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=chosen)
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.check_results.filter(code="group_missing", severity="blocking").exists()
    needs = restore_run_mapping_needs(run)
    assert not needs["role_definition"], "built-in roles and in-scope custom roles need no mapping"
    mapping = {
        "group": {g["source_id"]: g["suggestion"]["id"] for g in needs["group"]},
        "scope_tag": {t["source_id"]: None for t in needs["scope_tag"]},  # left out
    }
    run = restore_run_update_mapping(actor=owner, run=run, mapping=mapping)
    run = restore_run_run_checks(actor=owner, run=run)
    assert not run.check_results.filter(severity="blocking").exists()
    run = restore_run_run_preview(actor=owner, run=run)
    run = restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = restore_run_confirm(actor=owner, run=run, acknowledged=True, typed_label="Contoso")
    run = restore_run_execute(run_id=restore_run_queue_execution(actor=owner, run=run).pk)
    assert run.status == "completed", run.results

    (role,) = [
        r for r in prod.list_objects("deviceManagement/roleDefinitions") if not r["isBuiltIn"]
    ]
    assignments = {
        a["displayName"]: a for a in prod.list_objects("deviceManagement/roleAssignments")
    }
    assert set(assignments) == {"Helpdesk Tier 2 - all devices", "EMEA help desk"}
    assert assignments["EMEA help desk"]["roleDefinition"]["id"] == HELP_DESK
    assignment = assignments["Helpdesk Tier 2 - all devices"]
    assert assignment["roleDefinition"]["id"] == role["id"]
    source_assignment = _assignment_in(source, "Helpdesk Tier 2 - all devices")
    assert assignment["members"] == [mapping["group"][g] for g in source_assignment["members"]]
    assert not set(assignment["members"]) & set(source_assignment["members"])
