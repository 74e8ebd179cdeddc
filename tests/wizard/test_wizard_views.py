"""The wizard's views through Django's test client: every page per persona, and the server
refusing (and auditing) what the page would not offer."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services.runs import restore_run_set_dry_run
from tenantguard.tenants.graph_access import emulated_tenant

STEPS = ("source", "scope", "checks", "preview", "confirm")
# (url name, POST data) of every state-changing endpoint of a run.
POSTS = (
    ("source", {"backup_set": "0", "confirm_reset": "on"}),
    ("scope", {"op": "all"}),
    ("checks_run", {}),
    ("mapping", {"kind": "group", "source_id": "x", "decision": "skip"}),
    ("options", {"create_missing": "on"}),
    ("preview_run", {}),
    ("dry_run", {}),
    ("execute", {"acknowledged": "on", "typed_label": "Contoso Test"}),
    ("finish_dry_run", {}),
    ("cancel", {}),
)


def _url(name, run, query=""):
    return reverse(f"restores:{name}", args=[run.pk]) + (f"?{query}" if query else "")


def _events(run, action):
    return AuditEvent.objects.filter(
        subject_type="restores.restorerun", subject_id=str(run.pk), action=action
    )


def _delete_group(tenant, name):
    emulated = emulated_tenant(tenant)
    (group,) = [g for g in emulated.list_objects("groups") if g.get("displayName") == name]
    emulated.delete_object("groups", group["id"])
    return group["id"]


# ---- roles -------------------------------------------------------------------------------------


def test_operator_reaches_every_step_and_the_run_page(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline)
    client = login(personas["operator"])
    for step in (*STEPS, "run"):
        response = client.get(_url(step, run))
        assert response.status_code == 200, step
        assert b"tg-env--test" in response.content, f"environment badge missing on {step}"
        assert b"Restore steps" in response.content


def test_viewer_sees_the_run_but_cannot_reach_the_wizard(personas, tenant, baseline, login, walk):
    run = walk(personas["owner"], tenant, baseline)
    client = login(personas["viewer"])
    page = client.get(_url("run", run))
    assert page.status_code == 200
    assert b"Continue the wizard" not in page.content
    for step in STEPS:
        refused = client.get(_url(step, run))
        assert refused.status_code == 403, step
        assert b"to prepare restores you need the Operator role" in refused.content
    assert client.get(reverse("restores:new")).status_code == 403
    assert client.get(_url("mapping_targets", run, "kind=group")).status_code == 403


def test_viewer_posts_are_refused_and_change_nothing(personas, tenant, baseline, login, walk):
    run = walk(personas["owner"], tenant, baseline)
    before = RestoreRun.objects.values().get(pk=run.pk)
    client = login(personas["viewer"])
    for name, data in POSTS:
        response = client.post(_url(name, run), data)
        assert response.status_code == 403, name
    after = RestoreRun.objects.values().get(pk=run.pk)
    assert after == before
    # The execute attempt went to the queue service, which audits every refusal.
    (refusal,) = _events(run, "restore.execute_refused")
    assert refusal.actor_label == "viewer"
    assert any("Viewer" in reason for reason in refusal.details["reasons"])


def test_outsider_gets_not_found(personas, tenant, baseline, login, walk):
    run = walk(personas["owner"], tenant, baseline, upto="draft")
    client = login(personas["outsider"])
    for step in (*STEPS, "run"):
        assert client.get(_url(step, run)).status_code == 404, step
    assert client.post(_url("execute", run)).status_code == 404


def test_anonymous_is_sent_to_the_login(personas, tenant, baseline, client, walk):
    run = walk(personas["owner"], tenant, baseline, upto="draft")
    response = client.get(_url("scope", run))
    assert response.status_code == 302 and "/login/" in response["Location"]


# ---- starting a run ----------------------------------------------------------------------------


def test_restore_entry_points_on_tenant_and_backup_set(personas, tenant, baseline, login):
    client = login(personas["operator"])
    tenant_page = client.get(reverse("admin:tenants_tenant_change", args=[tenant.pk]))
    assert f"/admin/restore-runs/new/?tenant={tenant.pk}".encode() in tenant_page.content
    backup_page = client.get(reverse("admin:backups_backupset_change", args=[baseline.pk]))
    assert f"/admin/restore-runs/new/?backup_set={baseline.pk}".encode() in backup_page.content


def test_starting_from_a_backup_set_creates_a_draft_and_opens_the_scope(
    personas, tenant, baseline, login
):
    client = login(personas["operator"])
    form = client.get(reverse("restores:new"), {"backup_set": baseline.pk})
    assert form.status_code == 200
    assert b"Contoso Test (TEST)" in form.content and b"Contoso (PROD)" in form.content
    response = client.post(
        reverse("restores:new"), {"tenant": tenant.pk, "backup_set": baseline.pk}
    )
    run = RestoreRun.objects.get()
    assert response["Location"] == _url("scope", run)
    assert (run.tenant, run.backup_set, run.dry_run, run.environment) == (
        tenant,
        baseline,
        True,
        "test",
    )
    assert run.requested_by == personas["operator"]


def test_starting_from_a_tenant_opens_the_source_step(personas, tenant, baseline, login):
    client = login(personas["operator"])
    response = client.post(reverse("restores:new"), {"tenant": tenant.pk})
    run = RestoreRun.objects.get()
    assert response["Location"] == _url("source", run)
    page = client.get(_url("source", run))
    assert baseline.name.encode() in page.content


# ---- step 1 ------------------------------------------------------------------------------------


def test_source_step_shows_the_backup_sets_facts(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline, upto="draft")
    page = login(personas["operator"]).get(_url("source", run)).content.decode()
    assert "Snapshot time" in page and f"{baseline.item_count} (" in page
    assert "Settings catalog" in page and "preview only" in page


def test_changing_the_source_warns_then_resets_later_steps(personas, tenant, baseline, login, walk):
    operator = personas["operator"]
    run = walk(operator, tenant, baseline)
    other = backup_set_capture(
        backup_set=backup_set_start(actor=operator, tenant=tenant, enqueue=False)
    )
    client = login(operator)
    page = client.get(_url("source", run)).content.decode()
    assert "Changing the backup set resets scope, mapping, checks, preview" in page
    refused = client.post(_url("source", run), {"backup_set": other.pk})
    assert refused.status_code == 200 and b"tick the box" in refused.content
    assert RestoreRun.objects.get(pk=run.pk).backup_set == baseline
    done = client.post(_url("source", run), {"backup_set": other.pk, "confirm_reset": "on"})
    assert done["Location"] == _url("scope", run)
    run.refresh_from_db()
    assert run.backup_set == other and run.status == RestoreStatus.DRAFT
    assert "checks" not in run.metadata and "preview" not in run.metadata
    assert not run.check_results.exists() and not run.preview_items.exists()


# ---- step 2 ------------------------------------------------------------------------------------


def _item_ids(backup_set, **filters):
    return list(backup_set.items.filter(**filters).values_list("pk", flat=True))


def test_scope_selection_is_kept_on_the_run_across_search_and_pages(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline, upto="draft")
    client = login(personas["operator"])
    scope_page = client.get(_url("scope", run)).content
    assert baseline.item_count == baseline.items.count() > 0
    assert f"{baseline.item_count} items in the backup set".encode() in scope_page
    compliance = _item_ids(baseline, policy_type="compliance_policy")
    scripts = _item_ids(baseline, policy_type="powershell_script")
    # Tick the compliance policies shown for a search ...
    client.post(
        _url("scope", run),
        {"op": "page", "q": "Compliance", "shown": compliance, "item": compliance},
        HTTP_HX_REQUEST="true",
    )
    # ... then, under another search, tick one script: the compliance ticks stay.
    response = client.post(
        _url("scope", run),
        {"op": "page", "q": "PS", "shown": scripts, "item": scripts[:1]},
        HTTP_HX_REQUEST="true",
    )
    run.refresh_from_db()
    assert run.scope_mode == "selected"
    assert sorted(run.requested_items) == sorted(compliance + scripts[:1])
    assert f"{len(compliance) + 1} items selected".encode() in response.content
    # A search result shows the saved ticks.
    page = client.get(_url("scope", run), {"q": "Compliance", "fragment": "list"})
    for item_id in compliance:
        assert f'id="item-{item_id}" checked'.encode() in page.content


def test_scope_select_all_of_a_group_and_back_to_all(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline, upto="draft")
    client = login(personas["operator"])
    client.post(
        _url("scope", run),
        {"group_action": "add|settings_catalog|windows", "q": "", "mode": "selected"},
    )
    run.refresh_from_db()
    assert sorted(run.requested_items) == sorted(
        _item_ids(baseline, policy_type="settings_catalog", platform="windows")
    )
    client.post(_url("scope", run), {"op": "all"})
    run.refresh_from_db()
    assert (run.scope_mode, run.requested_items) == ("all", [])


def test_an_empty_selection_is_an_error_never_all(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline, upto="draft")
    client = login(personas["operator"])
    item = _item_ids(baseline)[0]
    client.post(_url("scope", run), {"op": "page", "shown": [item], "item": [item]})
    response = client.post(
        _url("scope", run), {"op": "page", "shown": [item]}, HTTP_HX_REQUEST="true"
    )
    assert b"Select at least one item" in response.content
    run.refresh_from_db()
    assert (run.scope_mode, run.requested_items) == ("selected", [item])


def test_scope_change_after_preview_marks_checks_and_preview_out_of_date(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline)
    client = login(personas["operator"])
    item = _item_ids(baseline)[0]
    client.post(_url("scope", run), {"op": "page", "shown": [item], "item": [item]})
    preview = client.get(_url("preview", run)).content.decode()
    assert "This preview is out of date: the scope changed" in preview
    assert 'data-step="preview" data-state="stale"' in preview
    confirm = client.get(_url("confirm", run)).content.decode()
    assert "Preview is out of date" in confirm
    assert (
        'id="execute-button"' in confirm
        and "disabled" in confirm.split('id="execute-button"')[1][:400]
    )


# ---- step 3 ------------------------------------------------------------------------------------


def test_checks_run_and_show_results_by_severity(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    client = login(personas["operator"])
    response = client.post(_url("checks_run", run))
    assert response["Location"] == _url("checks", run)
    page = client.get(_url("checks", run)).content.decode()
    run.refresh_from_db()
    counts = run.metadata["checks"]["counts"]
    assert counts["warning"] == run.check_results.filter(severity="warning").count() > 0
    assert counts["blocking"] == 0 and "0 blocking" in page
    assert f"{counts['warning']} warnings" in page
    assert "target_missing" in page and "How to resolve:" in page
    assert 'data-step="checks" data-state="done"' in page


def test_missing_group_is_blocking_until_mapped_then_mapping_marks_preview_stale(
    personas, tenant, baseline, login, walk
):
    _delete_group(tenant, "SG-Update-Ring-Fast")
    run = walk(personas["operator"], tenant, baseline)
    client = login(personas["operator"])
    page = client.get(_url("checks", run)).content.decode()
    assert "group_missing" in page and "SG-Update-Ring-Fast" in page and "❌ missing" in page
    target_groups = client.get(
        _url("mapping_targets", run, "kind=group&q=SG-Intune&field_id=t&label=Map")
    ).content.decode()
    assert "SG-Intune-Windows-Pilot" in target_groups and '<label for="t">' in target_groups
    pilot = next(
        g["id"]
        for g in emulated_tenant(tenant).list_objects("groups")
        if g["displayName"] == "SG-Intune-Windows-Pilot"
    )
    source_id = run.check_results.get(code="group_missing").details["source_id"]
    client.post(
        _url("mapping", run),
        {"kind": "group", "source_id": source_id, "decision": "map", "target_id": pilot},
    )
    run.refresh_from_db()
    assert run.group_mapping == {"group": {source_id: pilot}}
    assert run.status == RestoreStatus.SCOPED
    assert (
        b"These checks are out of date: the mapping changed"
        in client.get(_url("checks", run)).content
    )
    client.post(_url("checks_run", run))
    run.refresh_from_db()
    assert run.metadata["checks"]["counts"]["blocking"] == 0


def test_skip_a_missing_group_and_edit_options(personas, tenant, baseline, login, walk):
    _delete_group(tenant, "SG-Update-Ring-Fast")
    run = walk(personas["operator"], tenant, baseline, upto="checks")
    client = login(personas["operator"])
    source_id = run.check_results.get(code="group_missing").details["source_id"]
    client.post(_url("mapping", run), {"kind": "group", "source_id": source_id, "decision": "skip"})
    client.post(_url("options", run), {"create_missing": "on"})
    run.refresh_from_db()
    assert run.group_mapping == {"group": {source_id: None}}
    assert run.options == {"create_missing": True, "include_assignments": False}
    page = client.get(_url("checks", run)).content.decode()
    assert "assignments skipped" in page


def test_foundation_targets_are_listed_from_the_target(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    page = login(personas["operator"]).get(
        _url("mapping_targets", run, "kind=scope_tag&field_id=f&label=Map")
    )
    assert b"EMEA" in page.content and b"Finance" in page.content


# ---- step 4 ------------------------------------------------------------------------------------


def test_preview_shows_summary_banner_and_items_filtered_by_action(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline, upto="checks")
    client = login(personas["operator"])
    client.post(_url("preview_run", run))
    page = client.get(_url("preview", run)).content.decode()
    assert "This is a simulation: nothing was written." in page
    assert "policies to create" in page and "Create (4)" in page and "Update (9)" in page
    updates = client.get(_url("preview", run, "action=update")).content.decode()
    assert updates.count('data-action="update"') == 9 and 'data-action="no_change"' not in updates
    # Readable diffs: settings catalog per setting, assignments with group names, tag names.
    assert "microsoft_edge_sslerroroverrideallowed" in updates
    assert "SG-Update-Ring-Fast" in updates
    assert "EMEA" in updates


def test_preview_is_refused_without_current_checks(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    response = login(personas["operator"]).post(_url("preview_run", run))
    assert response.status_code == 403 and b"No checks yet" in response.content


# ---- step 5 ------------------------------------------------------------------------------------


def _check(client, run, **data):
    return client.post(_url("confirm_check", run), data).content.decode()


def test_execute_conditions_follow_what_is_typed(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline)
    restore_run_set_dry_run(actor=personas["operator"], run=run, dry_run=False)
    client = login(personas["operator"])
    nothing = _check(client, run)
    assert "Tick &#x27;I reviewed the impact&#x27;." in nothing
    assert "Type the tenant name &#x27;Contoso Test&#x27; to confirm." in nothing
    wrong_case = _check(client, run, acknowledged="on", typed_label="contoso test")
    assert "does not match &#x27;Contoso Test&#x27; exactly" in wrong_case
    wrong = _check(client, run, acknowledged="on", typed_label="Contoso")
    assert "does not match" in wrong and "disabled" in wrong
    right = _check(client, run, acknowledged="on", typed_label="Contoso Test")
    assert "Every condition is met" in right
    assert "disabled" not in right.split('id="execute-button"')[1].split(">")[0]
    # Asking is not confirming: nothing was recorded.
    run.refresh_from_db()
    assert "confirmation" not in run.metadata


def test_dry_run_on_disables_execute_and_finishing_records_a_dry_run(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline)
    client = login(personas["operator"])
    panel = _check(client, run, acknowledged="on", typed_label="Contoso Test")
    assert "Dry-run is on: turn it off to write to the tenant." in panel
    assert "Finish dry run" in panel
    response = client.post(_url("finish_dry_run", run))
    assert response["Location"] == _url("run", run)
    run.refresh_from_db()
    assert run.status == RestoreStatus.COMPLETED and run.results["dry_run"] is True
    assert not run.item_outcomes.exists()
    assert b"Dry run completed: nothing was written" in client.get(_url("run", run)).content


def test_dry_run_toggle_is_saved_and_audited(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline)
    client = login(personas["operator"])
    panel = client.post(
        _url("dry_run", run),
        {"acknowledged": "on", "typed_label": "Contoso Test"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    run.refresh_from_db()
    assert run.dry_run is False and "Every condition is met" in panel
    assert _events(run, "restore.dry_run_set").count() == 1


@pytest.mark.parametrize("situation", ["no_preview", "dry_run", "blocking", "stale_preview"])
def test_forged_execute_is_refused_and_audited(situation, personas, tenant, baseline, login, walk):
    operator = personas["operator"]
    if situation == "blocking":
        _delete_group(tenant, "SG-Update-Ring-Fast")
    run = walk(
        operator, tenant, baseline, upto="checks" if situation == "no_preview" else "preview"
    )
    if situation != "dry_run":
        run = restore_run_set_dry_run(actor=operator, run=run, dry_run=False)
    client = login(operator)
    if situation == "stale_preview":
        item = _item_ids(baseline)[0]
        client.post(_url("scope", run), {"op": "page", "shown": [item], "item": [item]})
    response = client.post(
        _url("execute", run), {"acknowledged": "on", "typed_label": "Contoso Test"}
    )
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status not in (RestoreStatus.QUEUED, RestoreStatus.RUNNING, RestoreStatus.COMPLETED)
    (refusal,) = _events(run, "restore.execute_refused")
    expected = {
        "no_preview": "No preview yet",
        "dry_run": "Dry-run is on",
        "blocking": "blocking problem",
        "stale_preview": "Preview is out of date",
    }[situation]
    assert any(expected in reason for reason in refusal.details["reasons"]), refusal.details
    assert expected.encode() in response.content


def test_operator_executes_on_test_and_sees_per_item_outcomes(
    personas, tenant, baseline, login, walk, django_capture_on_commit_callbacks
):
    run = walk(personas["operator"], tenant, baseline)
    client = login(personas["operator"])
    client.post(_url("dry_run", run), {})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url("execute", run), {"acknowledged": "on", "typed_label": "Contoso Test"}
        )
    assert response["Location"] == _url("run", run)
    run.refresh_from_db()
    assert run.status == RestoreStatus.COMPLETED, run.results
    page = client.get(_url("run", run)).content.decode()
    assert 'data-outcome="created"' in page and 'data-outcome="updated"' in page
    assert "Pre-restore snapshot" in page and "Undo this restore" in page
    assert "restore.queued" in page and "restore.finished" in page
    failed_only = client.get(_url("run", run, "outcome=created")).content.decode()
    assert 'data-outcome="updated"' not in failed_only and 'data-outcome="created"' in failed_only


def test_undo_starts_a_new_run_from_the_snapshot(
    personas, tenant, baseline, login, walk, django_capture_on_commit_callbacks
):
    run = walk(personas["operator"], tenant, baseline)
    client = login(personas["operator"])
    client.post(_url("dry_run", run), {})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url("execute", run), {"acknowledged": "on", "typed_label": "Contoso Test"})
    response = client.post(_url("undo", run))
    undo = RestoreRun.objects.exclude(pk=run.pk).get()
    # Undo opens ready: checked and previewed (the immediate task backend ran both), on step 4.
    assert response["Location"] == _url("preview", undo)
    assert undo.backup_set.kind == "pre_restore" and undo.metadata["undo_of"] == run.pk
    assert undo.status == RestoreStatus.PREVIEWED and undo.dry_run


@pytest.fixture
def prod_baseline(personas, prod_tenant, demo_objects):
    emulated = emulated_tenant(prod_tenant)
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    backup_set = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=prod_tenant, enqueue=False)
    )
    # PROD drifted after the backup: the restore has something to write (a preview with
    # nothing to write is not executable).
    apply_demo_drift(emulated, seed=1)
    return backup_set


def test_operator_prepares_but_cannot_execute_on_prod(
    personas, prod_tenant, prod_baseline, login, walk, django_capture_on_commit_callbacks
):
    operator = personas["operator"]
    run = walk(operator, prod_tenant, prod_baseline)
    client = login(operator)
    client.post(_url("dry_run", run), {})
    page = client.get(_url("confirm", run)).content.decode()
    assert "tg-env--prod" in page and "PROD" in page
    panel = _check(client, run, acknowledged="on", typed_label="Contoso")
    assert "Only tenant admins can execute restores on PROD tenants." in panel or (
        "Admin role" in panel
    )
    response = client.post(_url("execute", run), {"acknowledged": "on", "typed_label": "Contoso"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == RestoreStatus.PREVIEWED
    assert _events(run, "restore.execute_refused").count() == 1
    # The admin can.
    admin_client = login(personas["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_url("execute", run), {"acknowledged": "on", "typed_label": "Contoso"})
    run.refresh_from_db()
    assert run.status == RestoreStatus.COMPLETED


# ---- run list ----------------------------------------------------------------------------------


def test_restore_runs_list_shows_status_environment_who_and_links(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline, upto="draft")
    client = login(personas["viewer"])
    page = client.get(reverse("admin:restores_restorerun_changelist")).content.decode()
    assert f"Restore #{run.pk}" in page and _url("run", run) in page
    assert "Draft" in page and "TEST" in page and "operator" in page
    assert "/admin/restore-runs/new/" not in page  # viewers cannot start one
    change = client.get(reverse("admin:restores_restorerun_change", args=[run.pk]))
    assert change["Location"] == _url("run", run)
    operator_page = login(personas["operator"]).get(reverse("admin:restores_restorerun_changelist"))
    assert b"/admin/restore-runs/new/" in operator_page.content
    outsider_page = login(personas["outsider"]).get(reverse("admin:restores_restorerun_changelist"))
    assert f"Restore #{run.pk}".encode() not in outsider_page.content


def test_run_page_polls_while_queued(personas, tenant, baseline, login, walk):
    run = walk(personas["operator"], tenant, baseline)
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.QUEUED)
    client = login(personas["viewer"])
    page = client.get(_url("run", run)).content.decode()
    assert 'hx-trigger="every 1s"' in page and "Queued" in page
    live = client.get(_url("live", run)).content.decode()
    planned = run.preview_items.count()
    assert planned > 0
    assert 'id="run-live"' in live and f"0 of {planned} items done" in live


def test_source_step_lists_the_target_tenants_backups_first(
    personas, tenant, baseline, prod_baseline, login, walk
):
    run = walk(personas["owner"], tenant, baseline, upto="draft")
    page = login(personas["owner"]).get(_url("source", run)).content.decode()
    own = page.index('<optgroup label="Backups of Contoso Test">')
    other = page.index(
        '<optgroup label="Other tenants (a cross-tenant restore into Contoso Test)">'
    )
    assert own < page.index(f'<option value="{baseline.pk}"') < other
    assert other < page.index(f'<option value="{prod_baseline.pk}"')
