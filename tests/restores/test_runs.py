"""The run lifecycle services: what each step stores, resets and audits, and the worker side
(claim, heartbeat, finish, resume, the one-running-run-per-tenant lock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenantguard.accounts.models import Membership
from tenantguard.audit.models import AuditEvent
from tenantguard.restores.models import (
    RestoreCheckResult,
    RestorePreviewItem,
    RestoreRun,
    RestoreStatus,
)
from tenantguard.restores.services import runs
from tenantguard.restores.services.fingerprint import restore_run_fingerprint


def fresh(run: RestoreRun) -> RestoreRun:
    return RestoreRun.objects.select_related("tenant", "backup_set").get(pk=run.pk)


def actions_of(run: RestoreRun) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(subject_type="restores.restorerun", subject_id=str(run.pk))
    return [(event.action, event.actor_label) for event in events.order_by("created_at", "id")]


# ---- create and source ---------------------------------------------------------------------


def test_create_freezes_environment_and_label_and_starts_as_a_dry_run_draft(personas, prod_tenant):
    run = runs.restore_run_create(actor=personas["operator"], tenant=prod_tenant)

    assert (run.environment, run.tenant_label) == ("prod", "Contoso")
    assert run.dry_run is True
    assert run.status == RestoreStatus.DRAFT
    assert run.requested_by == personas["operator"]
    assert actions_of(run) == [("restore.created", "operator")]


def test_changing_the_backup_set_resets_scope_mapping_checks_preview_and_confirmation(
    personas, tenant, backup_set, make_backup_set, wizard
):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, checks=[wizard.check("x", "warning")])
    run = runs.restore_run_update_mapping(actor=operator, run=run, mapping={"group": {"g1": "g2"}})
    run = runs.restore_run_set_scope(
        actor=operator, run=run, mode="selected", item_ids=[backup_set.items.first().pk]
    )
    assert RestoreCheckResult.objects.filter(run=run).exists()
    assert RestorePreviewItem.objects.filter(run=run).exists()
    other = make_backup_set(tenant, name="Weekly")

    run = runs.restore_run_select_source(actor=operator, run=run, backup_set=other)

    run = fresh(run)
    assert run.backup_set == other
    assert run.status == RestoreStatus.DRAFT
    assert (run.scope_mode, run.requested_items) == ("all", [])
    assert run.group_mapping == {}
    assert run.options == {}
    assert run.dry_run is True
    assert not {"checks", "preview", "confirmation"} & set(run.metadata)
    assert not RestoreCheckResult.objects.filter(run=run).exists()
    assert not RestorePreviewItem.objects.filter(run=run).exists()
    assert actions_of(run)[-1] == ("restore.source_selected", "operator")


def test_a_backup_set_that_is_not_finished_cannot_be_the_source(personas, tenant, make_backup_set):
    running = make_backup_set(tenant, name="Half", status="running")

    with pytest.raises(runs.RestoreRunRefused) as excinfo:
        runs.restore_run_create(actor=personas["operator"], tenant=tenant, backup_set=running)

    assert excinfo.value.reasons == ["Backup set 'Half' is running: pick a completed backup set."]


def test_a_cross_tenant_source_needs_view_access_to_its_tenant(
    personas, tenant, prod_tenant, make_user, make_backup_set
):
    test_backup = make_backup_set(tenant, name="From test")
    prod_only_admin = make_user("prod-admin")
    Membership.objects.create(user=prod_only_admin, tenant=prod_tenant, role="admin")

    run = runs.restore_run_create(actor=personas["owner"], tenant=prod_tenant)
    run = runs.restore_run_select_source(actor=personas["owner"], run=run, backup_set=test_backup)
    assert run.backup_set == test_backup

    other_run = runs.restore_run_create(actor=prod_only_admin, tenant=prod_tenant)
    with pytest.raises(runs.RestoreRunRefused) as excinfo:
        runs.restore_run_select_source(actor=prod_only_admin, run=other_run, backup_set=test_backup)
    assert "You cannot view the backups" in excinfo.value.reasons[0]
    assert fresh(other_run).backup_set is None


# ---- scope, mapping, options -----------------------------------------------------------------


def test_selected_scope_with_an_empty_selection_is_an_error_never_all(
    personas, tenant, backup_set, wizard
):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="created")

    with pytest.raises(runs.RestoreRunError) as excinfo:
        runs.restore_run_set_scope(actor=operator, run=run, mode="selected", item_ids=[])

    assert str(excinfo.value) == (
        "Select at least one item, or choose 'All items'. An empty selection never means all."
    )
    assert isinstance(excinfo.value, ValueError)
    run = fresh(run)
    assert run.status == RestoreStatus.DRAFT


def test_selected_items_must_belong_to_the_backup_set(
    personas, tenant, backup_set, make_backup_set, wizard
):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="created")
    foreign = make_backup_set(tenant, name="Other").items.first()

    with pytest.raises(runs.RestoreRunError, match="not in backup set 'Nightly'"):
        runs.restore_run_set_scope(actor=operator, run=run, mode="selected", item_ids=[foreign.pk])


def test_selected_scope_is_stored_sorted_and_moves_to_scoped(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="created")
    ids = list(backup_set.items.values_list("pk", flat=True))[:3]

    run = runs.restore_run_set_scope(
        actor=operator, run=run, mode="selected", item_ids=[ids[2], ids[0], ids[1], ids[0]]
    )

    assert fresh(run).requested_items == sorted(ids)
    assert run.status == RestoreStatus.SCOPED
    assert actions_of(run)[-1] == ("restore.scope_set", "operator")


def test_scope_all_of_an_empty_backup_set_is_an_error(personas, tenant, make_backup_set):
    empty = make_backup_set(tenant, name="Empty", items=())
    run = runs.restore_run_create(actor=personas["operator"], tenant=tenant, backup_set=empty)

    with pytest.raises(runs.RestoreRunError, match="has no items to restore"):
        runs.restore_run_set_scope(actor=personas["operator"], run=run, mode="all")


def test_scope_needs_a_backup_set(personas, tenant):
    run = runs.restore_run_create(actor=personas["operator"], tenant=tenant)

    with pytest.raises(runs.RestoreRunRefused) as excinfo:
        runs.restore_run_set_scope(actor=personas["operator"], run=run, mode="all")

    assert excinfo.value.reasons == ["No backup set yet: pick one in step 1."]


def test_mapping_accepts_targets_and_explicit_skips_and_rejects_unknown_kinds(
    personas, tenant, backup_set, wizard
):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="scoped")

    run = runs.restore_run_update_mapping(
        actor=operator,
        run=run,
        mapping={"group": {"g1": "target-1", "g2": None}, "scope_tag": {}},
    )
    assert fresh(run).group_mapping == {"group": {"g1": "target-1", "g2": None}}
    event = AuditEvent.objects.filter(action="restore.mapping_updated").get()
    assert event.details["mapped"] == {"group": 1}
    assert event.details["skipped"] == {"group": 1}

    with pytest.raises(runs.RestoreRunError, match="Unknown mapping kind"):
        runs.restore_run_update_mapping(actor=operator, run=run, mapping={"users": {"a": "b"}})
    with pytest.raises(runs.RestoreRunError, match="skip it explicitly"):
        runs.restore_run_update_mapping(actor=operator, run=run, mapping={"group": {"g1": " "}})


def test_options_default_on_and_reject_unknown_names(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="scoped")

    with pytest.raises(runs.RestoreRunError, match="Unknown option"):
        runs.restore_run_update_options(actor=operator, run=run, options={"delete_extra": True})
    with pytest.raises(runs.RestoreRunError, match="true or false"):
        runs.restore_run_update_options(actor=operator, run=run, options={"create_missing": "no"})
    run = runs.restore_run_update_options(
        actor=operator, run=run, options={"create_missing": False}
    )
    assert fresh(run).options == {"create_missing": False}


# ---- checks and preview --------------------------------------------------------------------


def test_checks_are_persisted_with_counts_and_fingerprint(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="scoped")
    fingerprint = runs.restore_run_inputs_fingerprint(run)

    run = runs.restore_run_record_checks(
        actor=operator,
        run=run,
        results=[wizard.check("group_missing", "blocking"), wizard.check("safe", "safe")],
        summary={"blocking": 1, "warning": 0, "safe": 1},
        inputs_fingerprint=fingerprint,
    )

    run = fresh(run)
    assert run.status == RestoreStatus.CHECKED
    checks = run.metadata["checks"]
    assert checks["fingerprint"] == fingerprint == restore_run_fingerprint(run)
    assert checks["counts"] == {"blocking": 1, "warning": 0, "safe": 1}
    assert checks["summary"] == {"blocking": 1, "warning": 0, "safe": 1}
    stored = list(run.check_results.values_list("code", "severity", "item_name", "resolution"))
    assert stored[0] == ("group_missing", "blocking", "Windows baseline", "Do something about it.")


def test_checks_and_preview_are_recorded_from_generators_read_once(
    personas, tenant, backup_set, wizard
):
    """The checks and the preview hand their rows over as generators (flat memory on a large
    scope): each is read once, in order, and a summary given as a function is computed after."""
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="scoped")
    produced: list[int] = []

    def results():
        for n in range(1203):
            produced.append(n)
            yield wizard.check(f"check_{n}", "safe" if n % 2 else "warning")

    run = runs.restore_run_record_checks(
        actor=operator,
        run=run,
        results=results(),
        summary=lambda: {"produced": len(produced)},
        inputs_fingerprint=runs.restore_run_inputs_fingerprint(run),
    )

    run = fresh(run)
    assert run.metadata["checks"]["summary"] == {"produced": 1203}
    assert run.metadata["checks"]["counts"] == {"blocking": 0, "warning": 602, "safe": 601}
    assert run.metadata["checks"]["result_count"] == 1203
    codes = list(run.check_results.order_by("position").values_list("position", "code"))
    assert codes == [(n, f"check_{n}") for n in range(1203)]

    items = iter(wizard.preview_items(backup_set))
    run = runs.restore_run_record_preview(
        actor=operator, run=run, summary=lambda: {"computed": "after"}, items=items
    )
    run = fresh(run)
    assert run.metadata["preview"]["summary"] == {"computed": "after"}
    assert run.metadata["preview"]["item_count"] == run.preview_items.count() == 5
    positions = list(run.preview_items.order_by("position").values_list("position", flat=True))
    assert positions == [0, 1, 2, 3, 4]


def test_checks_computed_for_inputs_that_changed_meanwhile_are_refused(
    personas, tenant, backup_set, wizard
):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="scoped")
    fingerprint = runs.restore_run_inputs_fingerprint(run)
    run = runs.restore_run_update_options(
        actor=operator, run=run, options={"include_assignments": False}
    )

    with pytest.raises(runs.RestoreRunError, match="inputs changed while the checks ran"):
        runs.restore_run_record_checks(
            actor=operator, run=run, results=[], summary={}, inputs_fingerprint=fingerprint
        )


def test_check_results_and_preview_items_are_validated(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="scoped")

    with pytest.raises(runs.RestoreRunError, match="severity 'fatal'"):
        wizard.record_checks(operator, run, [wizard.check("x", "fatal")])
    run = wizard.record_checks(operator, run)
    with pytest.raises(runs.RestoreRunError, match="skipped without a reason"):
        runs.restore_run_record_preview(
            actor=operator,
            run=run,
            summary={},
            items=[{"policy_type": "device_configuration", "source_id": "a", "action": "skip"}],
        )


def test_preview_is_persisted_on_the_run(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="previewed")

    run = fresh(run)
    assert run.status == RestoreStatus.PREVIEWED
    preview = run.metadata["preview"]
    assert preview["summary"] == {"create": 0, "update": 5}
    assert preview["actions"]["update"] == 5
    assert preview["fingerprint"] == restore_run_fingerprint(run)
    assert run.preview_items.count() == 5


# ---- queue, refusals, dry run --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_refused_forged_execution_is_audited_and_the_audit_survives(
    personas, tenant, backup_set, wizard, enqueued
):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, until="checked")
    # A client that skips the wizard and forges the confirmation straight into the run.
    RestoreRun.objects.filter(pk=run.pk).update(
        dry_run=False,
        metadata={
            **fresh(run).metadata,
            "confirmation": {"acknowledged": True, "typed_label": "Contoso Test"},
        },
    )

    with pytest.raises(runs.RestoreRunRefused) as excinfo:
        runs.restore_run_queue_execution(actor=operator, run=run)

    assert "No preview yet: run the preview in step 4." in excinfo.value.reasons
    event = AuditEvent.objects.get(action="restore.execute_refused")
    assert event.actor_label == "operator"
    assert event.details["reasons"] == excinfo.value.reasons
    assert fresh(run).status == RestoreStatus.CHECKED
    assert enqueued.enqueued == []


def test_queue_enqueues_the_task_only_after_commit(
    personas, tenant, backup_set, wizard, enqueued, django_capture_on_commit_callbacks
):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)

    with django_capture_on_commit_callbacks() as callbacks:
        runs.restore_run_queue_execution(actor=operator, run=run)
        assert enqueued.enqueued == []
    for callback in callbacks:
        callback()

    assert enqueued.enqueued == [run.pk]
    assert fresh(run).metadata["queued"]["by"] == "operator"


def test_a_dry_run_ends_completed_without_writing(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set, dry_run=True)

    run = runs.restore_run_finish_dry_run(actor=operator, run=run)

    run = fresh(run)
    assert run.status == RestoreStatus.COMPLETED
    assert run.results["dry_run"] is True
    assert run.results["written"] == 0
    assert run.results["summary"] == {"create": 0, "update": 5}
    assert actions_of(run)[-1] == ("restore.finished", "operator")


def test_finishing_as_a_dry_run_needs_dry_run_on(personas, tenant, backup_set, wizard):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)

    with pytest.raises(runs.RestoreRunRefused, match="Dry-run is off"):
        runs.restore_run_finish_dry_run(actor=operator, run=run)


def test_every_transition_is_audited_with_its_actor(personas, tenant, backup_set, wizard, enqueued):
    operator = personas["operator"]
    run = wizard.prepare(operator, tenant, backup_set)
    run = runs.restore_run_queue_execution(actor=operator, run=run)
    assert runs.restore_run_claim(run_id=run.pk, worker_id="w1")
    runs.restore_run_finish(run=run, status="completed", results={"items": []}, worker_id="w1")

    assert actions_of(run) == [
        ("restore.created", "operator"),
        ("restore.scope_set", "operator"),
        ("restore.checks_recorded", "operator"),
        ("restore.preview_recorded", "operator"),
        ("restore.dry_run_set", "operator"),
        ("restore.confirmed", "operator"),
        ("restore.queued", "operator"),
        ("restore.claimed", "system"),
        ("restore.finished", "system"),
    ]


# ---- worker side ---------------------------------------------------------------------------


@pytest.fixture
def queued_run(personas, tenant, backup_set, wizard, enqueued):
    def make() -> RestoreRun:
        run = wizard.prepare(personas["operator"], tenant, backup_set)
        return runs.restore_run_queue_execution(actor=personas["operator"], run=run)

    return make


def test_a_second_claim_of_the_same_run_returns_false(queued_run):
    run = queued_run()

    first = runs.restore_run_claim(run_id=run.pk, worker_id="w1")
    second = runs.restore_run_claim(run_id=run.pk, worker_id="w2")

    assert first and first.claimed
    assert not second
    assert second.reason == "The run is running, not queued."
    assert second.code == "not_queued"
    run = fresh(run)
    assert (run.status, run.worker_id) == (RestoreStatus.RUNNING, "w1")
    assert run.started_at is not None and run.heartbeat_at is not None


def test_one_running_run_per_tenant_the_second_claim_is_refused_with_the_reason(queued_run):
    first, second = queued_run(), queued_run()
    assert runs.restore_run_claim(run_id=first.pk, worker_id="w1")

    outcome = runs.restore_run_claim(run_id=second.pk, worker_id="w2")

    assert not outcome
    assert outcome.code == "lock_busy"
    assert outcome.reason == (
        f"Another restore is running on tenant 'Contoso Test' (run #{first.pk}): "
        "this run stays queued until it finishes."
    )
    assert fresh(second).status == RestoreStatus.QUEUED
    assert AuditEvent.objects.filter(
        action="restore.claim_refused", subject_id=str(second.pk)
    ).exists()

    runs.restore_run_finish(run=first, status="completed", results={}, worker_id="w1")
    assert runs.restore_run_claim(run_id=second.pk, worker_id="w2")


def test_the_database_itself_refuses_two_running_runs_on_one_tenant(queued_run):
    from django.db import IntegrityError, transaction

    first, second = queued_run(), queued_run()
    RestoreRun.objects.filter(pk=first.pk).update(status=RestoreStatus.RUNNING)

    with pytest.raises(IntegrityError), transaction.atomic():
        RestoreRun.objects.filter(pk=second.pk).update(status=RestoreStatus.RUNNING)


def test_a_claim_rechecks_the_gates_and_fails_a_forged_queued_run(
    personas, tenant, backup_set, wizard
):
    run = wizard.prepare(personas["operator"], tenant, backup_set, dry_run=True)
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.QUEUED)

    outcome = runs.restore_run_claim(run_id=run.pk, worker_id="w1")

    assert not outcome
    assert outcome.code == "gates_unmet"
    assert "Dry-run is on: turn it off to write to the tenant." in outcome.reason
    run = fresh(run)
    assert run.status == RestoreStatus.FAILED
    assert "Dry-run is on" in " ".join(run.results["reasons"])


def test_heartbeat_and_finish_only_count_for_the_worker_holding_the_claim(queued_run):
    run = queued_run()
    runs.restore_run_claim(run_id=run.pk, worker_id="w1")

    assert runs.restore_run_heartbeat(run_id=run.pk, worker_id="w1")
    assert not runs.restore_run_heartbeat(run_id=run.pk, worker_id="w2")
    with pytest.raises(runs.RestoreRunError, match="no longer held by worker 'w2'"):
        runs.restore_run_finish(run=run, status="completed", results={}, worker_id="w2")
    with pytest.raises(runs.RestoreRunError, match="cannot finish as 'queued'"):
        runs.restore_run_finish(run=run, status="queued", results={}, worker_id="w1")

    run = runs.restore_run_finish(run=run, status="partial", results={"items": []}, worker_id="w1")
    assert fresh(run).status == RestoreStatus.PARTIAL
    assert not runs.restore_run_heartbeat(run_id=run.pk, worker_id="w1")


def test_resume_requeues_a_run_whose_worker_died(
    personas, queued_run, enqueued, django_capture_on_commit_callbacks
):
    owner = personas["owner"]
    run = queued_run()
    runs.restore_run_claim(run_id=run.pk, worker_id="w1")
    started_at = fresh(run).started_at

    with pytest.raises(runs.RestoreRunRefused, match="still alive"):
        runs.restore_run_resume(actor=owner, run=run)

    RestoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        runs.restore_run_resume(actor=owner, run=run)

    run = fresh(run)
    assert run.status == RestoreStatus.QUEUED
    assert run.metadata["resumes"] == 1
    assert enqueued.enqueued[-1] == run.pk
    assert not runs.restore_run_heartbeat(run_id=run.pk, worker_id="w1")
    assert runs.restore_run_claim(run_id=run.pk, worker_id="w2")
    assert fresh(run).started_at == started_at
    assert ("restore.resumed", "owner") in actions_of(run)


def test_resume_needs_the_execute_role(personas, queued_run):
    run = queued_run()
    runs.restore_run_claim(run_id=run.pk, worker_id="w1")
    RestoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    with pytest.raises(runs.RestoreRunRefused, match="Viewer"):
        runs.restore_run_resume(actor=personas["viewer"], run=run)


def test_cancel_before_execution_and_during_it(personas, queued_run, tenant, backup_set, wizard):
    operator = personas["operator"]
    draft = wizard.prepare(operator, tenant, backup_set, until="created")
    assert runs.restore_run_cancel(actor=operator, run=draft).status == RestoreStatus.CANCELLED

    run = queued_run()
    runs.restore_run_claim(run_id=run.pk, worker_id="w1")
    runs.restore_run_cancel(actor=operator, run=run)
    assert fresh(run).status == RestoreStatus.RUNNING
    assert runs.restore_run_cancel_requested(run_id=run.pk)
    with pytest.raises(runs.RestoreRunRefused, match="already requested"):
        runs.restore_run_cancel(actor=operator, run=run)

    # The worker died before it saw the request: resuming ends the run as cancelled.
    RestoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    runs.restore_run_resume(actor=personas["owner"], run=run)
    assert fresh(run).status == RestoreStatus.CANCELLED


def test_a_claimed_run_cannot_be_claimed_after_cancel(personas, queued_run):
    run = queued_run()
    runs.restore_run_cancel(actor=personas["operator"], run=run)

    outcome = runs.restore_run_claim(run_id=run.pk, worker_id="w1")

    assert not outcome
    assert "cancelled" in outcome.reason
