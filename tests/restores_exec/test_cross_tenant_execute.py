"""Cross-tenant restore (TEST -> PROD): objects match by type and name, every group reference
goes through the mapping the admin chose, foundations are created or matched first."""

from __future__ import annotations

from tenantguard.emulator.demo import demo_tenant_objects
from tenantguard.intune import normalize, references
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

from .conftest import seed, take_backup


def test_test_to_prod_with_group_mapping(personas, tenant, prod_tenant, seeded):
    owner = personas["owner"]
    prod = emulated_tenant(prod_tenant)
    # PROD has the same directory groups (other ids) but none of the policies yet.
    seed(
        prod,
        [
            o
            for o in demo_tenant_objects(tenant_label="Contoso", seed=202)
            if "#groups/" in o["@odata.context"]
        ],
    )
    source = take_backup(owner, tenant)
    # Compliance scripts come along: a Windows compliance policy's custom compliance names
    # its discovery script, a reference that cannot be skipped; the run creates the scripts
    # in PROD first and the policy points at the new one.
    chosen = list(
        source.items.filter(
            policy_type__in=[
                "settings_catalog",
                "compliance_policy",
                "powershell_script",
                "compliance_script",
            ]
        ).values_list("pk", flat=True)
    )
    run = restore_run_create(actor=owner, tenant=prod_tenant, backup_set=source)
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=chosen)
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.check_results.filter(code="group_missing", severity="blocking").exists()

    needs = restore_run_mapping_needs(run)
    groups = needs["group"]
    assert groups and all(g["suggestion"] for g in groups), "same-name PROD groups are proposed"
    assert not run.group_mapping, "suggestions are never applied by themselves"
    mapping = {"group": {g["source_id"]: g["suggestion"]["id"] for g in groups}}
    for kind in ("assignment_filter", "scope_tag", "notification_template"):
        if needs[kind]:
            mapping[kind] = {n["source_id"]: None for n in needs[kind]}  # explicitly skipped
    run = restore_run_update_mapping(actor=owner, run=run, mapping=mapping)
    run = restore_run_run_checks(actor=owner, run=run)
    assert not run.check_results.filter(severity="blocking").exists(), list(
        run.check_results.filter(severity="blocking").values_list("code", "message")
    )
    run = restore_run_run_preview(actor=owner, run=run)
    run = restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = restore_run_confirm(actor=owner, run=run, acknowledged=True, typed_label="Contoso")
    run = restore_run_execute(run_id=restore_run_queue_execution(actor=owner, run=run).pk)
    assert run.status == "completed", run.results

    prod_groups = {g["id"]: g["displayName"] for g in prod.list_objects("groups")}
    assert all(source.group_names[src] == prod_groups[dst] for src, dst in mapping["group"].items())
    restored = take_backup(owner, prod_tenant)
    # The foundations this run created in PROD stand for their source objects.
    created = {
        "compliance_script": {
            script.source_id: restored.items.get(
                policy_type="compliance_script", display_name=script.display_name
            ).source_id
            for script in source.items.filter(pk__in=chosen, policy_type="compliance_script")
        }
    }
    uses_script = [
        item
        for item in source.items.filter(pk__in=chosen, policy_type="compliance_policy")
        if (item.payload.get("deviceCompliancePolicyScript") or {}).get("deviceComplianceScriptId")
    ]
    assert uses_script, "the demo has a compliance policy with a compliance script"
    for item in uses_script:
        match = restored.items.get(policy_type="compliance_policy", display_name=item.display_name)
        script_id = item.payload["deviceCompliancePolicyScript"]["deviceComplianceScriptId"]
        assert (
            match.payload["deviceCompliancePolicyScript"]["deviceComplianceScriptId"]
            == created["compliance_script"][script_id]
            != script_id
        ), item.display_name
    for item in source.items.filter(pk__in=chosen):
        match = restored.items.get(policy_type=item.policy_type, display_name=item.display_name)
        assert match.source_id != item.source_id
        intended = references.rewrite(
            type_key=item.policy_type,
            payload=item.payload,
            assignments=item.assignments,
            scope_tag_ids=item.scope_tag_ids,
            resolver=_MappingResolver({**mapping, **created}),
        )
        assert normalize.normalize_payload(
            item.policy_type, match.payload
        ) == normalize.normalize_payload(item.policy_type, intended.payload)
        # Assignments whose filter was explicitly skipped are left out; the others point at the
        # PROD groups the admin mapped.
        wanted = sorted(
            prod_groups[a["target"]["groupId"]]
            for a in intended.assignments or []
            if a["target"].get("groupId")
        )
        got = sorted(
            prod_groups.get(a["target"].get("groupId"), "?")
            for a in match.assignments or []
            if a["target"].get("groupId")
        )
        assert got == wanted, item.display_name


def test_mapping_editor_shows_the_mapped_target_names(personas, tenant, prod_tenant, seeded):
    owner = personas["owner"]
    prod = emulated_tenant(prod_tenant)
    seed(
        prod,
        [
            o
            for o in demo_tenant_objects(tenant_label="Contoso", seed=202)
            if "#groups/" in o["@odata.context"]
        ],
    )
    source = take_backup(owner, tenant)
    chosen = list(source.items.filter(policy_type="settings_catalog").values_list("pk", flat=True))
    run = restore_run_create(actor=owner, tenant=prod_tenant, backup_set=source)
    run = restore_run_set_scope(actor=owner, run=run, mode="selected", item_ids=chosen)
    run = restore_run_run_checks(actor=owner, run=run)
    group = restore_run_mapping_needs(run)["group"][0]
    run = restore_run_update_mapping(
        actor=owner, run=run, mapping={"group": {group["source_id"]: group["suggestion"]["id"]}}
    )
    run = restore_run_run_checks(actor=owner, run=run)
    mapped = next(
        g for g in restore_run_mapping_needs(run)["group"] if g["source_id"] == group["source_id"]
    )
    assert mapped["status"] == "mapped"
    assert mapped["mapped_to_name"] == group["suggestion"]["name"]


class _MappingResolver:
    """What the admin's mapping says (every reference of the chosen items is mapped)."""

    def __init__(self, mapping: dict[str, dict[str, str | None]]) -> None:
        self.mapping = mapping

    def resolve_for_write(self, kind: str, source_id: str) -> references.Resolution:
        explicit = self.mapping.get(kind) or {}
        if source_id not in explicit:
            return references.Resolution("missing")
        target = explicit[source_id]
        return references.Resolution("skipped" if target is None else "mapped", target)
