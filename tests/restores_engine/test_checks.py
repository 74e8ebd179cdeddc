"""RestoreRiskChecker through ``restore_run_run_checks``: a backup of the demo tenant, the emulated
tenant changed the way each check needs, results read back from the database."""

from __future__ import annotations

from typing import Any

import pytest

from tenantguard.backups.models import BackupItem
from tenantguard.catalog.services import setting_definitions_ensure_for_payloads
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import normalize, registry
from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services import runs
from tenantguard.restores.services.checks import (
    CHECK_CODES,
    restore_run_mapping_needs,
    restore_run_run_checks,
)
from tenantguard.restores.services.errors import RestoreRunRefused
from tenantguard.tenants.graph_access import graph_client_for

from .helpers import codes_of, collection, group_id, item_named, live, results

EDGE = "WIN - SC - Microsoft Edge - Security"
FINANCE_PRINTERS = "WIN - PS - Map Finance printers"
DEVICE_RESTRICTIONS = "WIN - Device Restrictions - General"
IOS_COMPLIANCE = "iOS - Compliance - Baseline"
OMA = "WIN - Custom - Contoso OMA-URI settings"


def checked(owner: Any, run: RestoreRun) -> RestoreRun:
    run = restore_run_run_checks(actor=owner, run=run)
    run.refresh_from_db()
    return run


def test_unchanged_tenant_every_item_is_checked_and_nothing_blocks(
    backup, tenant, owner, start_run
):
    run = checked(owner, start_run(tenant, backup))

    assert run.status == "checked"
    stored = run.metadata["checks"]
    assert stored["counts"]["blocking"] == 0
    checked_items = {(row.item_type, row.item_source_id) for row in results(run)}
    in_backup = set(backup.items.values_list("policy_type", "source_id"))
    assert checked_items == in_backup, "every scoped item has at least one result"
    summary = stored["summary"]
    assert summary["blocking"] == 0
    assert summary["safe"] == len(results(run, "safe")) > 30
    # 2 Conditional Access + 3 enrollment restrictions + 2 policy sets + 9 tenant connectors
    assert summary["by_code"]["preview_only_type"] == 16
    assert summary["items"] == backup.items.count()
    assert set(summary["by_code"]) <= set(CHECK_CODES)
    # every result speaks to an admin: a message naming the object and, if not safe, a way out
    for row in results(run):
        if row.item_name:
            assert row.item_name in row.message
        if row.severity != "safe":
            assert row.resolution


def test_broad_assignment_and_preview_only_are_warnings(backup, tenant, owner, start_run):
    run = checked(owner, start_run(tenant, backup))

    wifi = results(run, "broad_assignment", "WIN - Wi-Fi - Contoso-Corp")[0]
    assert wifi.severity == "warning"
    assert "All devices" in wifi.message
    hello = results(run, "broad_assignment", "WIN - SC - Windows Hello for Business")[0]
    assert "All users" in hello.message
    ca = results(run, "preview_only_type", "CA001 - Require MFA for administrators")[0]
    assert ca.severity == "warning"
    assert "never writes" in ca.message


def test_a_tenant_default_assigned_to_everyone_is_no_broad_assignment_warning(
    backup, tenant, owner, start_run
):
    """Intune's defaults ("All users and all devices") apply to everyone by design and are
    never assigned by a restore: warning about their assignments would be noise."""
    defaults = [
        item
        for item in backup.items.all()
        if registry.POLICY_TYPES.get(item.policy_type)
        and registry.get(item.policy_type).is_tenant_default(item.source_id)
        and item.assignments
    ]
    assert defaults, "the demo backup holds assigned tenant defaults"
    run = checked(owner, start_run(tenant, backup))
    flagged = {(row.item_type, row.item_source_id) for row in results(run, "broad_assignment")}
    assert flagged, "other broad assignments are still flagged"
    assert not {(item.policy_type, item.source_id) for item in defaults} & flagged


def test_deleted_object_is_target_missing_warning_then_blocking_without_create_missing(
    backup, seeded, tenant, owner, start_run
):
    edge = item_named(backup, EDGE)
    seeded.delete_object(collection(edge), edge.source_id)

    run = checked(owner, start_run(tenant, backup, items=[edge]))
    assert codes_of(run, EDGE) == {"target_missing": "warning"}
    assert "will be created" in results(run, "target_missing")[0].message

    run = runs.restore_run_update_options(actor=owner, run=run, options={"create_missing": False})
    run = checked(owner, run)
    row = results(run, "target_missing")[0]
    assert row.severity == "blocking"
    assert "Create missing objects" in row.resolution
    assert run.metadata["checks"]["counts"]["blocking"] == 1


def test_object_changed_after_the_backup_warns_that_changes_are_overwritten(
    backup, seeded, tenant, owner, start_run
):
    edge = item_named(backup, EDGE)
    obj = live(seeded, edge)
    obj["description"] = "edited in the portal after the backup"
    seeded.put_object(collection(edge), obj)  # stamps lastModifiedDateTime = now

    run = checked(owner, start_run(tenant, backup, items=[edge]))
    row = results(run, "target_newer_than_backup")[0]
    assert row.severity == "warning"
    assert "overwrites" in row.message and EDGE in row.message
    assert row.details["target_modified_at"] > row.details["backup_modified_at"]


def test_several_same_name_targets_are_an_ambiguous_match(backup, seeded, tenant, owner, start_run):
    edge = item_named(backup, EDGE)
    original = live(seeded, edge)
    seeded.delete_object(collection(edge), edge.source_id)
    for _ in range(2):
        copy_ = {key: value for key, value in original.items() if key != "id"}
        seeded.put_object(collection(edge), copy_)

    run = checked(owner, start_run(tenant, backup, items=[edge]))
    row = results(run, "ambiguous_match")[0]
    assert row.severity == "blocking"
    assert "2 " in row.message and EDGE in row.message
    assert len(row.details["candidates"]) == 2


def test_deleted_group_blocks_until_mapped_or_skipped(backup, seeded, tenant, owner, start_run):
    restrictions = item_named(backup, DEVICE_RESTRICTIONS)
    groups = normalize.group_refs(restrictions.assignments)
    broad = group_id(backup, "SG-Intune-Windows-Broad")
    assert broad in groups
    seeded.delete_object("groups", broad)

    run = checked(owner, start_run(tenant, backup, items=[restrictions]))
    row = results(run, "group_missing")[0]
    assert row.severity == "blocking"
    assert "SG-Intune-Windows-Broad" in row.message
    assert "does not exist in Contoso Test" in row.message
    assert "Map it to an existing group of Contoso Test in step 3" in row.resolution
    assert "skip this assignment" in row.resolution
    assert row.details["source_id"] == broad

    other = group_id(backup, "SG-Intune-Windows-Pilot")
    mapped = runs.restore_run_update_mapping(
        actor=owner, run=run, mapping={"group": {broad: other}}
    )
    run = checked(owner, mapped)
    assert not results(run, "group_missing")

    skipped = runs.restore_run_update_mapping(
        actor=owner, run=run, mapping={"group": {broad: None}}
    )
    run = checked(owner, skipped)
    assert not results(run, "group_missing")
    assert run.metadata["checks"]["counts"]["blocking"] == 0


def test_a_mapping_to_a_group_that_does_not_exist_still_blocks(
    backup, seeded, tenant, owner, start_run
):
    restrictions = item_named(backup, DEVICE_RESTRICTIONS)
    broad = group_id(backup, "SG-Intune-Windows-Broad")
    seeded.delete_object("groups", broad)
    run = start_run(
        tenant, backup, items=[restrictions], mapping={"group": {broad: "no-such-group"}}
    )
    run = checked(owner, run)
    row = results(run, "group_missing")[0]
    assert row.details["status"] == "mapped_missing"
    assert "no-such-group" in row.message


def test_same_name_group_is_proposed_never_applied(backup, seeded, tenant, owner, start_run):
    restrictions = item_named(backup, DEVICE_RESTRICTIONS)
    broad = group_id(backup, "SG-Intune-Windows-Broad")
    seeded.delete_object("groups", broad)
    recreated = seeded.put_object(
        "groups", {"displayName": "SG-Intune-Windows-Broad", "securityEnabled": True}
    )

    run = checked(owner, start_run(tenant, backup, items=[restrictions]))
    row = results(run, "group_missing")[0]
    assert row.severity == "blocking", "a suggestion does not resolve anything by itself"
    assert row.details["suggested_target_id"] == recreated["id"]
    assert row.details["suggested_target_name"] == "SG-Intune-Windows-Broad"
    assert "Suggested" in row.resolution
    run.refresh_from_db()
    assert run.group_mapping == {}, "the suggestion is not applied"

    needs = restore_run_mapping_needs(run)
    [need] = needs["group"]
    assert need["status"] == "missing"
    assert need["name"] == "SG-Intune-Windows-Broad"
    assert need["suggestion"] == {"id": recreated["id"], "name": "SG-Intune-Windows-Broad"}
    assert need["items"][0]["name"] == DEVICE_RESTRICTIONS

    # the user takes the suggestion: then it is resolved and the editor shows it as mapped
    run = runs.restore_run_update_mapping(
        actor=owner, run=run, mapping={"group": {broad: need["suggestion"]["id"]}}
    )
    run = checked(owner, run)
    assert not results(run, "group_missing")
    [need] = restore_run_mapping_needs(run)["group"]
    assert need["status"] == "mapped" and need["mapped_to"] == recreated["id"]


def test_missing_filter_blocks_unless_in_scope_or_skipped(backup, seeded, tenant, owner, start_run):
    restrictions = item_named(backup, DEVICE_RESTRICTIONS)
    corporate = item_named(backup, "Corporate-owned Windows", "assignment_filter")
    seeded.delete_object(collection(corporate), corporate.source_id)

    run = checked(owner, start_run(tenant, backup, items=[restrictions]))
    row = results(run, "filter_missing")[0]
    assert row.severity == "blocking"
    assert "Corporate-owned Windows" in row.message
    assert "Include the assignment filter in the scope" in row.resolution

    # the filter in scope: it will be created, the reference is resolved
    run = checked(owner, start_run(tenant, backup, items=[restrictions, corporate]))
    assert not results(run, "filter_missing")
    assert codes_of(run, "Corporate-owned Windows") == {"target_missing": "warning"}

    # or its assignments skipped explicitly
    run = start_run(
        tenant,
        backup,
        items=[restrictions],
        mapping={"assignment_filter": {corporate.source_id: None}},
    )
    run = checked(owner, run)
    assert not results(run, "filter_missing")


def test_missing_scope_tag_blocks_until_mapped(backup, seeded, tenant, owner, start_run):
    printers = item_named(backup, FINANCE_PRINTERS)
    finance = item_named(backup, "Finance", "scope_tag")
    emea = item_named(backup, "EMEA", "scope_tag")
    seeded.delete_object(collection(finance), finance.source_id)

    run = checked(owner, start_run(tenant, backup, items=[printers]))
    row = results(run, "scope_tag_missing")[0]
    assert row.severity == "blocking"
    assert "scope tag 'Finance'" in row.message

    run = runs.restore_run_update_mapping(
        actor=owner, run=run, mapping={"scope_tag": {finance.source_id: emea.source_id}}
    )
    run = checked(owner, run)
    assert not results(run, "scope_tag_missing")


def test_missing_notification_template_blocks(backup, seeded, tenant, owner, start_run):
    compliance = item_named(backup, IOS_COMPLIANCE)
    template = item_named(backup, "Compliance - Device not compliant", "notification_template")
    seeded.delete_object(collection(template), template.source_id)

    run = checked(owner, start_run(tenant, backup, items=[compliance]))
    row = results(run, "notification_template_missing")[0]
    assert row.severity == "blocking"
    assert "Compliance - Device not compliant" in row.message

    run = runs.restore_run_update_mapping(
        actor=owner, run=run, mapping={"notification_template": {template.source_id: None}}
    )
    run = checked(owner, run)
    assert not results(run, "notification_template_missing")


def test_assignments_off_leaves_group_references_unchecked(
    backup, seeded, tenant, owner, start_run
):
    restrictions = item_named(backup, DEVICE_RESTRICTIONS)
    seeded.delete_object("groups", group_id(backup, "SG-Intune-Windows-Broad"))
    run = start_run(tenant, backup, items=[restrictions], options={"include_assignments": False})
    run = checked(owner, run)
    assert not results(run, "group_missing")
    assert not results(run, "broad_assignment")


def test_unsupported_type_is_a_warning(
    emulated, demo_objects, tenant, owner, start_run, take_backup
):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    emulated.put_object(
        "deviceManagement/deviceConfigurations",
        {
            "@odata.type": "#microsoft.graph.windows81SCEPCertificateProfile",
            "displayName": "WIN - SCEP - Legacy",
            "roleScopeTagIds": ["0"],
        },
    )
    backup = take_backup(tenant)
    scep = backup.items.get(display_name="WIN - SCEP - Legacy")
    assert scep.policy_type == "unsupported"

    run = checked(owner, start_run(tenant, backup, items=[scep]))
    assert codes_of(run, "WIN - SCEP - Legacy") == {"unsupported_type": "warning"}
    assert "never written" in results(run, "unsupported_type")[0].message


def test_assignments_not_captured_is_a_warning(backup, tenant, owner, start_run):
    edge = item_named(backup, EDGE)
    stored = BackupItem.objects.get(pk=edge.pk)
    stored.assignments = None
    stored.content_hash = normalize.content_hash(
        edge.policy_type, edge.payload, None, edge.scope_tag_ids
    )
    stored.save(update_fields=["assignments", "content_hash"])
    run = checked(owner, start_run(tenant, backup, items=[edge]))
    assert codes_of(run, EDGE) == {"assignments_not_captured": "warning"}
    assert "left as they are" in results(run, "assignments_not_captured")[0].message


def test_secret_missing_from_the_backup_blocks_that_item(backup, tenant, owner, start_run):
    oma = item_named(backup, OMA)
    assert oma.secrets
    oma.secrets = {}
    oma.save(update_fields=["secrets"])

    run = checked(owner, start_run(tenant, backup, items=[oma, item_named(backup, EDGE)]))
    row = results(run, "secret_value_missing")[0]
    assert row.severity == "blocking"
    assert row.item_name == OMA
    assert "PreSharedKey" in row.message
    assert codes_of(run, EDGE) == {"safe": "safe"}, "only that item is blocked"


def test_tampered_payload_fails_integrity(backup, tenant, owner, start_run):
    edge = item_named(backup, EDGE)
    payload = dict(edge.payload)
    payload["description"] = "changed in the database"
    stored = BackupItem.objects.get(pk=edge.pk)
    stored.payload = payload
    stored.save(update_fields=["payload"])

    run = checked(owner, start_run(tenant, backup, items=[edge]))
    row = results(run, "payload_integrity")[0]
    assert row.severity == "blocking"
    assert row.details["stored_hash"] == edge.content_hash
    assert row.details["computed_hash"] != edge.content_hash


def test_unreadable_type_limits_the_checks(backup, seeded, tenant, owner, start_run):
    seeded.denied_permissions = {"DeviceManagementApps.Read.All"}
    run = checked(owner, start_run(tenant, backup))

    tenant_wide = [row for row in results(run, "permission_limited") if not row.item_source_id]
    assert {row.details["type"] for row in tenant_wide} == {
        "ios_app_protection",
        "android_app_protection",
        "windows_app_protection",
        "mobile_app",
        "app_configuration_device",
        "app_configuration_managed_app",
    }
    assert all(row.severity == "warning" for row in tenant_wide)
    assert "DeviceManagementApps.Read.All" in tenant_wide[0].resolution
    app = results(run, "permission_limited", "iOS - APP - Finance")[0]
    assert "skipped" in app.message
    assert not results(run, "target_missing"), "an unreadable type proves nothing is missing"
    assert run.metadata["checks"]["summary"]["unreadable_types"] == [
        "android_app_protection",
        "app_configuration_device",
        "app_configuration_managed_app",
        "ios_app_protection",
        "mobile_app",
        "windows_app_protection",
    ]


def test_checks_read_the_target_in_batches_and_never_delete(
    emulated, demo_objects, tenant, owner, start_run, take_backup, request_log
):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    for index in range(300):
        emulated.put_object(
            "deviceManagement/deviceConfigurations",
            {
                "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
                "displayName": f"WIN - Bulk {index:03}",
                "passwordRequired": bool(index % 2),
                "roleScopeTagIds": ["0"],
            },
        )
    for index in range(60):
        emulated.put_object(
            "deviceManagement/configurationPolicies",
            {
                "name": f"WIN - SC Bulk {index:03}",
                "platforms": "windows10",
                "technologies": "mdm",
                "roleScopeTagIds": ["0"],
                "settings": [],
            },
        )
    backup = take_backup(tenant)
    items = backup.items.count()
    assert items > 400
    run = start_run(tenant, backup)
    # setting names are read once per tenant (tests/catalog counts them): here only the target
    setting_definitions_ensure_for_payloads(
        tenant=tenant,
        payloads=[(item.policy_type, item.payload) for item in backup.items.all()],
        client_factory=lambda: graph_client_for(tenant),
    )

    before = len(request_log())
    run = checked(owner, run)
    during = request_log()[before:]

    assert run.metadata["checks"]["counts"]["blocking"] == 0
    assert run.metadata["checks"]["summary"]["setting_definitions"]["graph_requests"] == 0
    # Even counting every $batch sub-request, far fewer requests than items: each collection
    # is listed once (paged), per-item reads go 20 to a $batch.
    assert len(during) < items / 2, len(during)
    http_requests = run.metadata["checks"]["summary"]["graph_requests"]
    assert http_requests < items / 5, http_requests
    batches = [entry for entry in during if entry.path.endswith("/$batch")]
    per_item = len(during) - http_requests  # the $batch sub-requests
    assert len(batches) <= per_item / 20 + len(registry.all_types()), (len(batches), per_item)
    listings = [entry for entry in during if entry.path.endswith("/deviceConfigurations")]
    assert len(listings) == 4, "one listing of the collection (4 pages of 100)"
    assert not [entry for entry in request_log() if entry.method == "DELETE"]


def test_checks_are_refused_before_reading_anything_for_a_viewer(
    backup, tenant, personas, start_run, request_log
):
    run = start_run(tenant, backup)
    before = len(request_log())
    with pytest.raises(RestoreRunRefused):
        restore_run_run_checks(actor=personas["viewer"], run=run)
    assert len(request_log()) == before


def test_unreadable_groups_are_not_reported_as_deleted(backup, seeded, tenant, owner, start_run):
    seeded.denied_permissions = {"Group.Read.All"}
    restrictions = item_named(backup, DEVICE_RESTRICTIONS)
    run = checked(owner, start_run(tenant, backup, items=[restrictions]))

    [limited] = results(run, "permission_limited")
    assert limited.details == {"type": "groups"}
    assert "Group.Read.All" in limited.resolution
    missing = results(run, "group_missing")
    assert missing, "an unconfirmed group still blocks: the write could fail or mis-target"
    assert all("could not be read" in row.message for row in missing)


def test_unreadable_scope_tags_block_their_references_instead_of_trusting_them(
    backup, seeded, tenant, owner, start_run
):
    seeded.denied_permissions = {"DeviceManagementRBAC.Read.All"}
    printers = item_named(backup, FINANCE_PRINTERS)
    finance = item_named(backup, "Finance", "scope_tag")
    run = checked(owner, start_run(tenant, backup, items=[printers, finance]))

    tag = results(run, "scope_tag_missing", FINANCE_PRINTERS)[0]
    assert tag.severity == "blocking"
    assert "could not be read" in tag.message
    assert results(run, "permission_limited", "Finance")[0].severity == "warning"
