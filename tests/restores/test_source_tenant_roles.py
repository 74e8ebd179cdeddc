"""Cross-tenant restores need a role on the SOURCE tenant too (issue 7, B5).

Using another tenant's backup as a source needs Operator (or Admin) there, checked when the
source is set and again at every step up to the worker's claim; items carrying the source's
captured secret values need Admin there. The target here is PROD (``prod_tenant``, "Contoso"),
the source the TEST tenant (``tenant``, "Contoso Test").
"""

from __future__ import annotations

import pytest

from tenantguard.accounts.models import Membership
from tenantguard.audit.models import AuditEvent
from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.selectors import restore_source_choices
from tenantguard.restores.services import runs
from tenantguard.restores.services.errors import RestoreRunRefused
from tenantguard.restores.services.policy import Action, RestoreRunPolicy

pytestmark = pytest.mark.django_db

SECRET_ITEM = "iOS restrictions"


def _person(make_user, name, *, on_target, on_source, target, source):
    user = make_user(name)
    Membership.objects.create(user=user, tenant=target, role=on_target)
    if on_source:
        Membership.objects.create(user=user, tenant=source, role=on_source)
    return user


@pytest.fixture
def source_viewer(make_user, personas, tenant, prod_tenant):
    """Admin of the PROD target, only Viewer of the TEST source."""
    return _person(
        make_user,
        "src-viewer",
        on_target="admin",
        on_source="viewer",
        target=prod_tenant,
        source=tenant,
    )


@pytest.fixture
def source_operator(make_user, personas, tenant, prod_tenant):
    """Admin of the PROD target, Operator of the TEST source."""
    return _person(
        make_user,
        "src-operator",
        on_target="admin",
        on_source="operator",
        target=prod_tenant,
        source=tenant,
    )


@pytest.fixture
def secret_backup(make_backup_set, tenant):
    """A TEST backup whose iOS restrictions item carries a captured secret value."""
    backup_set = make_backup_set(tenant, name="With secrets")
    item = backup_set.items.get(display_name=SECRET_ITEM)
    item.secrets = {"omaSettings[0].value": "vpn-pre-shared-key"}
    item.save()
    return backup_set


def _demote(user, tenant, role):
    Membership.objects.filter(user=user, tenant=tenant).update(role=role)


def _refused_events(run=None, action="restore.refused"):
    events = AuditEvent.objects.filter(action=action)
    if run is not None:
        events = events.filter(subject_id=str(run.pk))
    return list(events.order_by("pk"))


def test_a_source_viewer_can_neither_start_from_nor_pick_another_tenants_backup(
    source_viewer, tenant, prod_tenant, backup_set
):
    with pytest.raises(RestoreRunRefused) as refused:
        runs.restore_run_create(actor=source_viewer, tenant=prod_tenant, backup_set=backup_set)
    assert "Viewer on tenant 'Contoso Test'" in refused.value.message
    assert "needs the Operator role" in refused.value.message
    assert not RestoreRun.objects.exists()
    [event] = _refused_events()
    assert event.details["action"] == "create"

    run = runs.restore_run_create(actor=source_viewer, tenant=prod_tenant)
    with pytest.raises(RestoreRunRefused):
        runs.restore_run_select_source(actor=source_viewer, run=run, backup_set=backup_set)
    run.refresh_from_db()
    assert run.backup_set_id is None
    assert _refused_events(run)[0].details["action"] == "select_source"
    # The source pickers do not offer what would be refused.
    assert backup_set not in restore_source_choices(source_viewer)


def test_a_source_operator_may_restore_another_tenants_backup_without_secrets(
    source_operator, tenant, prod_tenant, backup_set, wizard, enqueued
):
    assert backup_set in restore_source_choices(source_operator)
    run = wizard.prepare(source_operator, prod_tenant, backup_set)

    run = runs.restore_run_queue_execution(actor=source_operator, run=run)

    assert run.status == RestoreStatus.QUEUED


def test_a_source_role_removed_later_blocks_every_step_and_execution(
    source_operator, tenant, prod_tenant, backup_set, wizard, enqueued
):
    run = wizard.prepare(source_operator, prod_tenant, backup_set)
    _demote(source_operator, tenant, "viewer")

    with pytest.raises(RestoreRunRefused) as refused:
        runs.restore_run_request_execution(
            actor=source_operator, run=run, acknowledged=True, typed_label="Contoso"
        )

    assert any("Operator role or higher on 'Contoso Test'" in r for r in refused.value.reasons)
    run.refresh_from_db()
    assert run.status == RestoreStatus.PREVIEWED
    assert enqueued.enqueued == []
    assert _refused_events(run, "restore.execute_refused")
    policy = RestoreRunPolicy(run, source_operator)
    for action in (Action.SET_SCOPE, Action.RUN_CHECKS, Action.RUN_PREVIEW, Action.CONFIRM):
        assert not policy.can(action).allowed, action
    # Taking the source's data away stays possible.
    assert policy.can(Action.SELECT_SOURCE).allowed
    assert policy.can(Action.CANCEL).allowed


def test_the_worker_claim_rechecks_the_source_role_of_who_queued(
    source_operator, tenant, prod_tenant, backup_set, wizard, enqueued
):
    run = wizard.prepare(source_operator, prod_tenant, backup_set)
    run = runs.restore_run_queue_execution(actor=source_operator, run=run)
    Membership.objects.filter(user=source_operator, tenant=tenant).delete()

    outcome = runs.restore_run_claim(run_id=run.pk, worker_id="w1")

    assert not outcome
    assert outcome.code == "gates_unmet"
    assert "cannot view the backups" in outcome.reason
    run.refresh_from_db()
    assert run.status == RestoreStatus.FAILED


def test_the_worker_claim_rechecks_the_target_role_of_who_queued(
    source_operator, tenant, prod_tenant, backup_set, wizard, enqueued
):
    """A PROD admin demoted to operator after queueing no longer executes there."""
    run = wizard.prepare(source_operator, prod_tenant, backup_set)
    run = runs.restore_run_queue_execution(actor=source_operator, run=run)
    _demote(source_operator, prod_tenant, "operator")

    outcome = runs.restore_run_claim(run_id=run.pk, worker_id="w1")

    assert not outcome
    assert outcome.code == "gates_unmet"
    assert "Only tenant admins can execute restores on PROD tenants." in outcome.reason
    run.refresh_from_db()
    assert run.status == RestoreStatus.FAILED


def test_secret_values_of_the_source_need_its_admin_to_execute(
    source_operator, tenant, prod_tenant, secret_backup, wizard, enqueued
):
    run = wizard.prepare(source_operator, prod_tenant, secret_backup, until="previewed")

    with pytest.raises(RestoreRunRefused) as refused:
        runs.restore_run_request_execution(
            actor=source_operator, run=run, acknowledged=True, typed_label="Contoso"
        )

    [reason] = [r for r in refused.value.reasons if "secret values" in r]
    assert f"'{SECRET_ITEM}'" in reason and "Admin of 'Contoso Test'" in reason
    assert "vpn-pre-shared-key" not in reason
    run.refresh_from_db()
    assert run.status == RestoreStatus.PREVIEWED and enqueued.enqueued == []
    [event] = _refused_events(run, "restore.execute_refused")
    assert "vpn-pre-shared-key" not in str(event.details)

    # Leaving the item out of the scope resolves it.
    others = list(
        secret_backup.items.exclude(display_name=SECRET_ITEM).values_list("pk", flat=True)
    )
    run = runs.restore_run_set_scope(
        actor=source_operator, run=run, mode="selected", item_ids=others
    )
    run = wizard.record_checks(source_operator, run)
    run = wizard.record_preview(source_operator, run)
    run = runs.restore_run_request_execution(
        actor=source_operator, run=run, acknowledged=True, typed_label="Contoso"
    )
    assert run.status == RestoreStatus.QUEUED


def test_a_source_admin_may_restore_its_secret_values_elsewhere(
    personas, tenant, prod_tenant, secret_backup, wizard, enqueued
):
    run = wizard.prepare(personas["owner"], prod_tenant, secret_backup)

    run = runs.restore_run_queue_execution(actor=personas["owner"], run=run)

    assert run.status == RestoreStatus.QUEUED


def test_an_operator_restores_secret_values_into_their_own_tenant(
    personas, tenant, secret_backup, wizard, enqueued
):
    run = wizard.prepare(personas["operator"], tenant, secret_backup)

    run = runs.restore_run_queue_execution(actor=personas["operator"], run=run)

    assert run.status == RestoreStatus.QUEUED


def _codes(run, code):
    return list(run.check_results.filter(code=code).values_list("item_name", "severity"))


def test_the_checks_block_secret_values_for_a_user_who_is_not_source_admin(
    source_operator, personas, tenant, prod_tenant, secret_backup
):
    from tenantguard.restores.services.checks import (
        SECRET_VALUES_NEED_SOURCE_ADMIN,
        restore_run_run_checks,
    )
    from tenantguard.tenants.graph_access import emulated_tenant

    emulated_tenant(prod_tenant)
    run = runs.restore_run_create(
        actor=source_operator, tenant=prod_tenant, backup_set=secret_backup
    )
    run = runs.restore_run_set_scope(actor=source_operator, run=run, mode="all")

    run = restore_run_run_checks(actor=source_operator, run=run)

    assert _codes(run, SECRET_VALUES_NEED_SOURCE_ADMIN) == [(SECRET_ITEM, "blocking")]
    result = run.check_results.get(code=SECRET_VALUES_NEED_SOURCE_ADMIN)
    assert "Admin role on 'Contoso Test'" in result.message
    assert "Remove the item from the scope" in result.resolution
    assert result.details["settings"] == ["omaSettings[0].value"]
    assert "vpn-pre-shared-key" not in f"{result.message} {result.details}"

    # A source admin's checks do not report it; restoring into the source itself never does.
    run = restore_run_run_checks(actor=personas["owner"], run=run)
    assert _codes(run, SECRET_VALUES_NEED_SOURCE_ADMIN) == []
    same = runs.restore_run_create(
        actor=personas["operator"], tenant=tenant, backup_set=secret_backup
    )
    same = runs.restore_run_set_scope(actor=personas["operator"], run=same, mode="all")
    same = restore_run_run_checks(actor=personas["operator"], run=same)
    assert _codes(same, SECRET_VALUES_NEED_SOURCE_ADMIN) == []
