"""Cross-tenant restore (TEST -> PROD): a backup of ``tenant`` (Contoso Test) restored into
``prod_tenant`` (Contoso), both holding the demo configuration under different ids. Objects
match by type and name; every group, filter, scope tag and template reference needs the mapping
(or its foundation in scope)."""

from __future__ import annotations

from typing import Any

import pytest

from tenantguard.emulator.demo import demo_tenant_objects
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestorePreviewItem, RestoreRun
from tenantguard.restores.services import runs
from tenantguard.restores.services.checks import (
    restore_run_mapping_needs,
    restore_run_run_checks,
)
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.tenants.graph_access import emulated_tenant

from .helpers import item_named, preview_of, results

WALLPAPER = "WIN - PS - Set Contoso wallpaper"
FINANCE_PRINTERS = "WIN - PS - Map Finance printers"


@pytest.fixture
def prod(prod_tenant: Any) -> Any:
    """The emulated PROD tenant with the same demo configuration under its own ids."""
    emulated = emulated_tenant(prod_tenant)
    for obj in demo_tenant_objects(tenant_label="Contoso", seed=202):
        emulated.put_object(collection_of(obj, source="test"), obj)
    return emulated


def suggested_mapping(run: RestoreRun) -> dict[str, dict[str, str]]:
    """What a user accepting every proposal in the mapping editor would send."""
    return {
        kind: {need["source_id"]: need["suggestion"]["id"] for need in needs if need["suggestion"]}
        for kind, needs in restore_run_mapping_needs(run).items()
        if needs
    }


def test_everything_matches_by_name_and_groups_need_the_mapping(
    backup, prod, prod_tenant, owner, start_run, request_log
):
    run = start_run(prod_tenant, backup)
    run = restore_run_run_checks(actor=owner, run=run)

    assert not results(run, "target_missing"), "every object exists in PROD under its name"
    missing_groups = results(run, "group_missing")
    assert missing_groups, "group ids never carry over to another tenant"
    assert {row.details["source_name"] for row in missing_groups} <= set(
        backup.group_names.values()
    )
    for row in missing_groups:
        assert row.severity == "blocking"
        assert "does not exist in Contoso" in row.message
        assert row.details["suggested_target_id"] not in backup.group_names
        assert row.details["suggested_target_name"] == row.details["source_name"]
    # foundations in scope are matched by name in PROD: their references are resolved
    for code in ("scope_tag_missing", "filter_missing", "notification_template_missing"):
        assert not results(run, code)

    mapping = suggested_mapping(run)
    assert set(mapping) == {"group"}
    assert len(mapping["group"]) == len({row.details["source_id"] for row in missing_groups})
    run.refresh_from_db()
    assert run.group_mapping == {}, "suggestions are proposals only"

    run = runs.restore_run_update_mapping(actor=owner, run=run, mapping=mapping)
    run = restore_run_run_checks(actor=owner, run=run)
    # What still blocks is the source tenant's own domain in a device restriction profile
    # (its preferred Entra domain): never written into PROD unnoticed.
    blocking = [row for row in run.check_results.all() if row.severity == "blocking"]
    assert {row.code for row in blocking} == {"source_tenant_identifier"}, [
        (row.code, row.message) for row in blocking
    ]
    assert "contoso-test.onmicrosoft.com" in blocking[0].message
    run = runs.restore_run_update_options(
        actor=owner, run=run, options={"source_identifiers": "replace"}
    )
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.metadata["checks"]["counts"]["blocking"] == 0

    run = restore_run_run_preview(actor=owner, run=run)
    run = RestoreRun.objects.get(pk=run.pk)
    wallpaper = preview_of(run, WALLPAPER)
    prod_wallpaper = next(
        obj
        for obj in prod.list_objects("deviceManagement/deviceManagementScripts")
        if obj["displayName"] == WALLPAPER
    )
    assert wallpaper.target_id == prod_wallpaper["id"] != item_named(backup, WALLPAPER).source_id
    assert wallpaper.action == "no_change", wallpaper.diff
    summary = run.metadata["preview"]["summary"]
    # only the tenant-specific values differ (the tenant id inside three policies)
    assert summary["policies"]["update"] == 3
    assert summary["policies"]["create"] == 0
    assert summary["foundations"]["create"] == 0
    assert summary["assignments"]["added"] == summary["assignments"]["removed"] == 0
    assert not [entry for entry in request_log() if entry.method == "DELETE"]


def test_foundations_out_of_scope_need_the_mapping_with_name_suggestions(
    backup, prod, prod_tenant, owner, start_run
):
    printers = item_named(backup, FINANCE_PRINTERS)
    run = start_run(prod_tenant, backup, items=[printers])
    run = restore_run_run_checks(actor=owner, run=run)

    tag = results(run, "scope_tag_missing")[0]
    assert tag.severity == "blocking"
    assert tag.details["source_name"] == "Finance"
    prod_finance = next(
        obj
        for obj in prod.list_objects("deviceManagement/roleScopeTags")
        if obj["displayName"] == "Finance"
    )
    assert tag.details["suggested_target_id"] == prod_finance["id"]
    assert "Include the scope tag in the scope in step 2" in tag.resolution

    run = runs.restore_run_update_mapping(actor=owner, run=run, mapping=suggested_mapping(run))
    run = restore_run_run_checks(actor=owner, run=run)
    assert run.metadata["checks"]["counts"]["blocking"] == 0
    run = restore_run_run_preview(actor=owner, run=run)
    item = RestorePreviewItem.objects.get(run=run, display_name=FINANCE_PRINTERS)
    assert item.action == "no_change", item.diff
    assert item.diff["scope_tags"] == {"added": [], "removed": []}


def test_a_policy_missing_in_prod_is_created_with_mapped_references_by_name(
    backup, prod, prod_tenant, owner, start_run
):
    printers = item_named(backup, FINANCE_PRINTERS)
    prod_printers = next(
        obj
        for obj in prod.list_objects("deviceManagement/deviceManagementScripts")
        if obj["displayName"] == FINANCE_PRINTERS
    )
    prod.delete_object("deviceManagement/deviceManagementScripts", prod_printers["id"])
    finance_tag = item_named(backup, "Finance", "scope_tag")
    run = start_run(prod_tenant, backup, items=[printers, finance_tag])
    run = restore_run_run_checks(actor=owner, run=run)
    assert results(run, "target_missing", FINANCE_PRINTERS)[0].severity == "warning"
    run = runs.restore_run_update_mapping(actor=owner, run=run, mapping=suggested_mapping(run))
    run = restore_run_run_checks(actor=owner, run=run)
    run = restore_run_run_preview(actor=owner, run=run)

    item = RestorePreviewItem.objects.get(run=run, display_name=FINANCE_PRINTERS)
    assert item.action == "create"
    assert item.diff["scope_tags"]["added"] == ["Finance"]
    added = item.diff["assignments"]["added"]
    assert added and all(a["group_id"] not in backup.group_names for a in added)
    assert {a["group"] for a in added} <= set(backup.group_names.values())


def test_newer_than_the_backup_across_tenants_means_changed_after_the_backup_was_taken(
    backup, prod, prod_tenant, owner, start_run
):
    from datetime import timedelta

    from tenantguard.backups.models import BackupItem

    from .helpers import collection

    wallpaper = item_named(backup, WALLPAPER)
    printers = item_named(backup, FINANCE_PRINTERS)

    def prod_object(item):
        [obj] = [
            o for o in prod.list_objects(collection(item)) if o["displayName"] == item.display_name
        ]
        return obj

    # PROD's printers script changed an hour before the backup (and after its TEST twin): the
    # backup already postdates that change, so nothing made after the backup is overwritten.
    before_backup = backup.captured_at - timedelta(hours=1)
    BackupItem.objects.filter(pk=printers.pk).update(
        source_modified_at=before_backup - timedelta(days=1)
    )
    old = prod_object(printers)
    prod.delete_object(collection(printers), old["id"])
    prod.put_object(
        collection(printers),
        {
            **old,
            "description": "PROD's own edit",
            "lastModifiedDateTime": before_backup.isoformat().replace("+00:00", "Z"),
        },
    )
    # PROD's wallpaper script is edited now, after the backup was taken.
    prod.put_object(collection(wallpaper), {**prod_object(wallpaper), "description": "edited now"})

    run = restore_run_run_checks(
        actor=owner, run=start_run(prod_tenant, backup, items=[wallpaper, printers])
    )

    newer = results(run, "target_newer_than_backup")
    assert [row.item_name for row in newer] == [WALLPAPER]
    assert "after this backup was taken from another tenant" in newer[0].message
    assert newer[0].details["backup_modified_at"] == backup.captured_at.isoformat()
