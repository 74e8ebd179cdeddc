"""One item's failure never stops the others (issue 7 A4).

Every failure path updates the item's single checkpoint: a create that fails after its
``creating`` checkpoint used to be recorded a second time (UNIQUE constraint on item
outcomes), which killed the executor and left the run ``running``.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection

from bench.bulk_tenant import generate_bulk_objects
from tenantguard.emulator import FaultConfig
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.graph import RequestPacer, RetryPolicy, ServerError, WritePacer
from tenantguard.intune import registry
from tenantguard.intune import write as write_module
from tenantguard.restores.services import execute as executor_module
from tenantguard.restores.services.execute import restore_run_execute
from tenantguard.tenants.graph_access import graph_client_for

from .conftest import duplicates, prepare_run, seed, take_backup


def _one_outcome_per_item(run, backup_set):
    keys = list(run.item_outcomes.values_list("policy_type", "source_id"))
    assert len(keys) == len(set(keys))
    assert set(keys) == set(backup_set.items.values_list("policy_type", "source_id"))


def _drifted_run(personas, tenant, seeded):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    apply_demo_drift(seeded, seed=1)
    return baseline, prepare_run(owner, tenant, baseline)


def test_a_create_failing_after_its_creating_checkpoint_is_recorded_once(
    personas, tenant, seeded, monkeypatch
):
    """The exact UNIQUE scenario: the create raises once its ``creating`` checkpoint exists."""
    baseline, run = _drifted_run(personas, tenant, seeded)
    creates = run.preview_items.filter(action="create").count()
    assert creates >= 2
    real_create = write_module.create_object
    failed: list[str] = []

    def create_failing_once(client, *, type_key, payload, secrets):
        if not failed:
            failed.append(registry.display_name_of(registry.get(type_key), payload))
            raise ServerError("Graph failed on its side (500).", status=500)
        return real_create(client, type_key=type_key, payload=payload, secrets=secrets)

    monkeypatch.setattr(write_module, "create_object", create_failing_once)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "partial", run.results
    _one_outcome_per_item(run, baseline)
    outcome = run.item_outcomes.get(display_name=failed[0])
    assert (outcome.outcome, outcome.stage) == ("failed", "done")
    assert "500" in outcome.error_code and "failed on its side" in outcome.error_message
    assert run.item_outcomes.filter(outcome="created").count() == creates - 1
    assert run.results["failed"] == 1


def test_an_unexpected_error_in_one_item_fails_that_item_only(
    personas, tenant, seeded, monkeypatch
):
    baseline, run = _drifted_run(personas, tenant, seeded)
    target = run.preview_items.filter(action="update").first()
    real_update = write_module.update_object

    def update_exploding(client, *, type_key, target_id, **kwargs):
        if target_id == target.target_id:
            raise RuntimeError("boom: value=hunter2")  # a message that must not be recorded
        return real_update(client, type_key=type_key, target_id=target_id, **kwargs)

    monkeypatch.setattr(write_module, "update_object", update_exploding)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "partial"
    _one_outcome_per_item(run, baseline)
    outcome = run.item_outcomes.get(policy_type=target.policy_type, source_id=target.source_id)
    assert (outcome.outcome, outcome.error_code) == ("failed", "internal_error")
    assert "RuntimeError" in outcome.error_message and "hunter2" not in outcome.error_message
    others = run.item_outcomes.exclude(pk=outcome.pk).filter(outcome__in=["created", "updated"])
    assert others.exists() and all(o.verified for o in others)


def test_payloads_stored_as_a_string_or_a_list_fail_their_item_only(personas, tenant, seeded):
    baseline, run = _drifted_run(personas, tenant, seeded)
    planned = list(run.preview_items.filter(action__in=["create", "update"])[:2])
    broken = {}
    for preview_item, bad in zip(planned, ['{"displayName": "text"}', [1, 2]], strict=True):
        item = baseline.items.get(
            policy_type=preview_item.policy_type, source_id=preview_item.source_id
        )
        item.payload = bad
        item.save(update_fields=["payload"])
        broken[(item.policy_type, item.source_id)] = "a str" if isinstance(bad, str) else "a list"

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "partial"
    _one_outcome_per_item(run, baseline)
    for (policy_type, source_id), kind in broken.items():
        outcome = run.item_outcomes.get(policy_type=policy_type, source_id=source_id)
        assert (outcome.outcome, outcome.error_code) == ("failed", "invalid_payload")
        assert f"as {kind}, not as an object" in outcome.error_message
    assert run.item_outcomes.filter(outcome__in=["created", "updated"], verified=True).exists()


def test_undecryptable_secrets_fail_their_item_only(personas, tenant, seeded):
    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    item = next(i for i in baseline.items.all() if i.secrets)
    collection = registry.get(item.policy_type).collection
    live = seeded.get_object(collection, item.source_id)
    live["description"] = "changed: the restore updates it"
    seeded.put_object(collection, live)
    apply_demo_drift(seeded, seed=1)
    run = prepare_run(owner, tenant, baseline)
    assert run.preview_items.get(source_id=item.source_id).action == "update"
    with connection.cursor() as cursor:  # what a database copied from another install reads as
        cursor.execute(
            "UPDATE backups_backupitem SET secrets = %s WHERE id = %s",
            ["enc:v1:gAAAAAB-not-decryptable-with-this-key", item.pk],
        )

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "partial"
    _one_outcome_per_item(run, baseline)
    outcome = run.item_outcomes.get(policy_type=item.policy_type, source_id=item.source_id)
    assert (outcome.outcome, outcome.error_code) == ("failed", "secrets_unreadable")
    assert "could not be decrypted" in outcome.error_message
    assert seeded.get_object(collection, item.source_id)["description"] == (
        "changed: the restore updates it"
    )
    assert run.item_outcomes.filter(outcome__in=["created", "updated"], verified=True).exists()


def test_a_database_error_in_one_item_fails_that_item_only(personas, tenant, seeded, monkeypatch):
    baseline, run = _drifted_run(personas, tenant, seeded)
    victim = run.preview_items.filter(action="create").first()
    real_verify = executor_module.RestoreExecutor._verify

    def verify_with_a_locked_database(self, item, outcome, *args, **kwargs):
        if item.source_id == victim.source_id:
            raise OperationalError("database is locked")
        return real_verify(self, item, outcome, *args, **kwargs)

    monkeypatch.setattr(executor_module.RestoreExecutor, "_verify", verify_with_a_locked_database)

    run = restore_run_execute(run_id=run.pk)

    assert run.status == "partial"
    _one_outcome_per_item(run, baseline)
    outcome = run.item_outcomes.get(policy_type=victim.policy_type, source_id=victim.source_id)
    assert (outcome.outcome, outcome.error_code) == ("failed", "database_error")
    assert outcome.target_id  # the object was created: a re-run matches it
    assert "OperationalError" in outcome.error_message


@pytest.mark.parametrize("fault_seed", [4])
def test_thirty_percent_faults_on_200_items_every_item_has_one_outcome(
    personas, tenant, emulated, fault_seed
):
    owner = personas["owner"]
    seed(emulated, generate_bulk_objects(count=200, seed=5, tenant_label="Contoso Test"))
    baseline = take_backup(owner, tenant)
    policies = baseline.items.exclude(
        policy_type__in=["scope_tag", "assignment_filter", "notification_template"]
    )
    for item in policies[:100]:
        emulated.delete_object(registry.get(item.policy_type).collection, item.source_id)
    for item in policies[100:]:
        collection = registry.get(item.policy_type).collection
        live = emulated.get_object(collection, item.source_id)
        if live is not None:
            live["description"] = "drifted"
            emulated.put_object(collection, live)
    run = prepare_run(owner, tenant, baseline)
    emulated.faults = FaultConfig(
        error_rates={"GET": 0.05, "POST": 0.3, "PATCH": 0.3, "PUT": 0.3},
        error_statuses=(429, 500, 503, 504),
        retry_after_seconds=0,
        seed=fault_seed,
    )
    client = graph_client_for(
        tenant,
        retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, budget_seconds=60),
        pacer=WritePacer(max_writes=100_000, per_seconds=1.0),
        request_pacer=RequestPacer(max_requests=100_000, per_seconds=1.0),
    )

    run = restore_run_execute(run_id=run.pk, client=client)
    emulated.faults = FaultConfig()

    assert run.status == "partial", run.results
    _one_outcome_per_item(run, baseline)
    failed = run.item_outcomes.filter(outcome="failed")
    assert failed.count() == run.results["failed"] > 0
    assert all(o.error_message for o in failed)
    assert not run.item_outcomes.filter(outcome="pending").exists()
    assert run.item_outcomes.filter(outcome="created").count() > 50
    assert not duplicates(emulated)


def test_a_run_whose_only_failure_came_after_writing_is_partial_not_failed(
    personas, tenant, seeded, monkeypatch
):
    """The object was created, then its assignments were refused: the tenant changed, so the
    run is reported partial (something was written), never "failed"."""
    from tenantguard.graph import BadRequestError

    owner = personas["owner"]
    baseline = take_backup(owner, tenant)
    deleted = next(
        item
        for item in baseline.items.exclude(stored_assignments=None)
        if item.assignments
        and registry.get(item.policy_type).assign
        and not item.secrets
        and not registry.get(item.policy_type).is_foundation
    )
    seeded.delete_object(registry.get(deleted.policy_type).collection, deleted.source_id)
    run = prepare_run(owner, tenant, baseline, item_ids=[deleted.pk])
    assert run.preview_items.get().action == "create"

    def refuse_assignments(*args, **kwargs):
        raise BadRequestError("Graph refused the assignments (400).", status=400)

    monkeypatch.setattr(write_module, "assign_object", refuse_assignments)

    run = restore_run_execute(run_id=run.pk)

    outcome = run.item_outcomes.get()
    assert outcome.outcome == "failed" and outcome.object_written
    assert run.status == "partial", run.results
    assert run.results["failed_after_writing"] == 1
