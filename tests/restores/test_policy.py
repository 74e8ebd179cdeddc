"""Every gate of RestoreRunPolicy, each with the reason an admin sees, and the refusal through the
queue service (the path every client takes)."""

from __future__ import annotations

import pytest

from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services import runs
from tenantguard.restores.services.policy import Action, RestoreRunPolicy

DRY_RUN = "Dry-run is on: turn it off to write to the tenant."
NO_PREVIEW = "No preview yet: run the preview in step 4."
TICK = "Tick 'I reviewed the impact'."


def refusal(actor, run: RestoreRun) -> list[str]:
    with pytest.raises(runs.RestoreRunRefused) as excinfo:
        runs.restore_run_queue_execution(actor=actor, run=run)
    return excinfo.value.reasons


def fresh(run: RestoreRun) -> RestoreRun:
    return RestoreRun.objects.select_related("tenant").get(pk=run.pk)


def test_a_fully_prepared_run_with_only_warnings_is_queued(
    personas, tenant, backup_set, wizard, enqueued, django_capture_on_commit_callbacks
):
    operator = personas["operator"]
    run = wizard.prepare(
        operator, tenant, backup_set, checks=[wizard.check("target_newer_than_backup", "warning")]
    )
    assert RestoreRunPolicy(run, operator).can("execute").allowed

    with django_capture_on_commit_callbacks(execute=True):
        run = runs.restore_run_queue_execution(actor=operator, run=run)

    assert fresh(run).status == RestoreStatus.QUEUED
    assert enqueued.enqueued == [run.pk]


def test_dry_run_on_refuses_execution(personas, tenant, backup_set, wizard, enqueued):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, dry_run=True)

    assert refusal(operator, run) == [DRY_RUN]
    assert fresh(run).status == RestoreStatus.PREVIEWED
    assert enqueued.enqueued == []


def test_no_preview_refuses_execution(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="checked")
    run = runs.restore_run_set_dry_run(actor=operator, run=run, dry_run=False)

    reasons = refusal(operator, run)

    assert NO_PREVIEW in reasons
    assert DRY_RUN not in reasons


def test_no_checks_refuses_execution(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="scoped")

    reasons = refusal(operator, run)

    assert "No checks yet: run the checks in step 3." in reasons
    assert NO_PREVIEW in reasons


def test_a_scope_change_makes_checks_and_preview_stale(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)
    first_item = backup_set.items.order_by("pk").first()

    run = runs.restore_run_set_scope(
        actor=operator, run=run, mode="selected", item_ids=[first_item.pk]
    )

    assert run.status == RestoreStatus.SCOPED
    reasons = refusal(operator, run)
    assert "Preview is out of date: the scope changed after it ran." in reasons
    assert (
        "Checks are out of date: the scope changed after they ran. Run them again in step 3."
        in reasons
    )


def test_setting_the_same_scope_again_keeps_checks_and_preview_current(
    personas, tenant, backup_set, wizard
):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)

    run = runs.restore_run_set_scope(actor=operator, run=run, mode="all")

    assert run.status == RestoreStatus.PREVIEWED
    assert RestoreRunPolicy(run, operator).can("execute").allowed


def test_a_mapping_change_makes_the_preview_stale(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)

    run = runs.restore_run_update_mapping(
        actor=operator, run=run, mapping={"group": {"g-source": "g-target"}}
    )

    reasons = refusal(operator, run)
    assert "Preview is out of date: the mapping changed after it ran." in reasons
    assert fresh(run).status == RestoreStatus.SCOPED


def test_an_option_change_makes_the_preview_stale(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)

    run = runs.restore_run_update_options(
        actor=operator, run=run, options={"include_assignments": False}
    )

    assert "Preview is out of date: the options changed after it ran." in refusal(operator, run)


def test_setting_an_option_to_its_default_changes_nothing(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)

    run = runs.restore_run_update_options(actor=operator, run=run, options={"create_missing": True})

    assert RestoreRunPolicy(run, operator).can("execute").allowed


def test_stale_checks_refuse_the_preview_too(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="checked")
    run = runs.restore_run_update_mapping(
        actor=operator, run=run, mapping={"assignment_filter": {"f-1": None}}
    )

    decision = RestoreRunPolicy(run, operator).can("run_preview")

    assert decision.reasons == [
        "Checks are out of date: the mapping changed after they ran. Run them again in step 3."
    ]
    with pytest.raises(runs.RestoreRunRefused):
        wizard.record_preview(operator, run)


def test_running_checks_again_makes_the_preview_stale(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)

    run = wizard.record_checks(operator, run)

    assert run.status == RestoreStatus.CHECKED
    assert (
        "Preview is out of date: the checks ran again after it. Run the preview again in step 4."
        in refusal(operator, run)
    )


def test_an_open_blocking_check_refuses_execution(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(
        operator,
        tenant,
        backup_set,
        checks=[
            wizard.check("group_missing", "blocking"),
            wizard.check("ambiguous_match", "blocking", name="iOS restrictions"),
            wizard.check("broad_assignment", "warning"),
        ],
    )

    assert refusal(operator, run) == ["Checks found 2 blocking problems: resolve them in step 3."]


def test_missing_acknowledgement_refuses_execution(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, acknowledged=False)

    assert refusal(operator, run) == [TICK]


def test_no_confirmation_at_all_refuses_execution(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="previewed")

    assert refusal(operator, run) == [TICK, "Type the tenant name 'Contoso Test' to confirm."]


def test_a_wrong_tenant_label_refuses_execution(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, typed_label="Contoso")

    assert refusal(operator, run) == [
        "The typed tenant name does not match 'Contoso Test' exactly (it is case-sensitive)."
    ]


def test_a_wrong_case_tenant_label_refuses_execution(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, typed_label="contoso test")

    assert refusal(operator, run) == [
        "The typed tenant name does not match 'Contoso Test' exactly (it is case-sensitive)."
    ]


def test_the_label_is_the_one_frozen_at_creation(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = runs.restore_run_create(actor=operator, tenant=tenant, backup_set=backup_set)
    tenant.display_name = "Contoso Renamed"
    tenant.save()
    run = fresh(run)
    run = runs.restore_run_set_scope(actor=operator, run=run, mode="all")
    run = wizard.record_checks(operator, run)
    run = wizard.record_preview(operator, run)
    run = runs.restore_run_set_dry_run(actor=operator, run=run, dry_run=False)
    run = runs.restore_run_confirm(
        actor=operator, run=run, acknowledged=True, typed_label="Contoso Renamed"
    )

    assert refusal(operator, run) == [
        "The typed tenant name does not match 'Contoso Test' exactly (it is case-sensitive)."
    ]


def test_a_confirmation_for_an_earlier_preview_does_not_count(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)

    run = wizard.record_preview(operator, run)

    assert refusal(operator, run) == [TICK, "Type the tenant name 'Contoso Test' to confirm."]


def test_a_confirmation_by_someone_else_does_not_count(personas, tenant, backup_set, wizard):
    run = wizard.prepare(personas["operator"], tenant, backup_set)

    assert refusal(personas["owner"], run) == [
        "The confirmation was given by operator: confirm it yourself before executing."
    ]


def test_an_operator_cannot_execute_on_a_prod_tenant(
    personas, prod_tenant, make_backup_set, wizard
):
    operator = personas["operator"]
    backup_set = make_backup_set(prod_tenant)
    run = wizard.prepare(operator, prod_tenant, backup_set, until="previewed")

    decision = RestoreRunPolicy(run, operator).can("execute")
    assert "Only tenant admins can execute restores on PROD tenants." in decision.reasons
    with pytest.raises(runs.RestoreRunRefused) as excinfo:
        runs.restore_run_confirm(actor=operator, run=run, acknowledged=True, typed_label="Contoso")
    assert excinfo.value.reasons == ["Only tenant admins can execute restores on PROD tenants."]
    assert "Only tenant admins can execute restores on PROD tenants." in refusal(operator, run)


def test_an_admin_can_execute_on_a_prod_tenant(
    personas, prod_tenant, make_backup_set, wizard, enqueued
):
    owner = personas["owner"]
    run = wizard.prepare(owner, prod_tenant, make_backup_set(prod_tenant))

    runs.restore_run_queue_execution(actor=owner, run=run)

    assert fresh(run).status == RestoreStatus.QUEUED


def test_the_environment_frozen_at_creation_keeps_prod_protection(
    personas, prod_tenant, make_backup_set, wizard
):
    operator = personas["operator"]
    run = wizard.prepare(personas["owner"], prod_tenant, make_backup_set(prod_tenant))
    prod_tenant.environment = "test"
    prod_tenant.save()

    decision = RestoreRunPolicy(fresh(run), operator).can("execute")

    assert "Only tenant admins can execute restores on PROD tenants." in decision.reasons


def test_a_viewer_can_neither_prepare_nor_execute(personas, tenant, backup_set, wizard):
    viewer = personas["viewer"]
    run = wizard.prepare(personas["operator"], tenant, backup_set)
    policy = RestoreRunPolicy(run, viewer)

    assert policy.can("set_scope").reasons == [
        "You are Viewer on tenant 'Contoso Test': to prepare restores you need the Operator role or higher."
    ]
    assert policy.can("execute").reasons[0] == (
        "You are Viewer on tenant 'Contoso Test': to execute restores you need the Operator role or higher."
    )
    with pytest.raises(runs.RestoreRunRefused):
        runs.restore_run_create(actor=viewer, tenant=tenant, backup_set=backup_set)
    refusal(viewer, run)


def test_an_outsider_can_do_nothing(personas, tenant, backup_set, wizard):
    outsider = personas["outsider"]
    run = wizard.prepare(personas["operator"], tenant, backup_set)
    no_role = "You have no role on tenant 'Contoso Test': ask a tenant admin for access."

    for action in Action:
        if action in (Action.CLAIM, Action.FINISH):
            continue
        assert no_role in RestoreRunPolicy(run, outsider).can(action).reasons, action
    assert no_role in refusal(outsider, run)


def test_queued_and_terminal_runs_cannot_be_edited(personas, tenant, backup_set, wizard, enqueued):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)
    run = runs.restore_run_queue_execution(actor=operator, run=run)

    assert RestoreRunPolicy(run, operator).can("set_scope").reasons == [
        "The run is queued for execution: cancel it to change anything."
    ]
    run = runs.restore_run_cancel(actor=operator, run=run)
    assert RestoreRunPolicy(run, operator).can("select_source").reasons == [
        "This run is cancelled: start a new run to restore again."
    ]


def test_decisions_lists_every_user_action(personas, tenant, backup_set, wizard):
    run = wizard.prepare(personas["operator"], tenant, backup_set, until="scoped")

    decisions = RestoreRunPolicy(run, personas["operator"]).decisions()

    assert decisions["run_checks"].allowed
    assert not decisions["run_preview"].allowed
    assert "claim" not in decisions
