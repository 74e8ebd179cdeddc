"""The preview plans from the checks' read of the target (issue 10: one read of the target),
only while the run's inputs are unchanged and the read is recent; otherwise it reads again."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rich.console import Console

from tenantguard.audit.models import AuditEvent
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.cli_restore_output import render_target_read
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import registry
from tenantguard.intune.capture import CapturedItem
from tenantguard.intune.target import TargetState
from tenantguard.restores.models import RestoreTargetRead
from tenantguard.restores.services import target_read
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.fingerprint import restore_run_fingerprint
from tenantguard.restores.services.runs import (
    restore_run_create,
    restore_run_set_scope,
    restore_run_update_options,
)
from tenantguard.restores.services.source import TargetGroups
from tenantguard.restores.services.target_read import restore_target_reads_forget
from tenantguard.tenants.graph_access import embedded_emulator


@pytest.fixture
def seeded(emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return emulated


@pytest.fixture
def drifted_backup(personas, tenant, seeded):
    """A backup of the seeded tenant, then the tenant changed (so the preview has work)."""
    backup = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )
    assert apply_demo_drift(seeded, seed=1)
    return backup


def _checked_run(owner, tenant, backup):
    run = restore_run_create(actor=owner, tenant=tenant, backup_set=backup)
    run = restore_run_set_scope(actor=owner, run=run, mode="all")
    return restore_run_run_checks(actor=owner, run=run)


def _requests_during(action):
    """(result, the emulator's log entries (batch parts each) while ``action`` ran)."""
    log = embedded_emulator().request_log
    start = len(log)
    result = action()
    return result, list(log[start:])


def _plan(run):
    return sorted(
        run.preview_items.values_list("policy_type", "source_id", "action", "target_hash", "diff")
    )


def test_the_preview_plans_from_the_checks_read_without_reading_the_target(
    personas, tenant, drifted_backup
):
    owner = personas["owner"]
    run = _checked_run(owner, tenant, drifted_backup)
    checks_read = run.metadata["checks"]["summary"]["target_read"]
    assert checks_read["read_by"] == "checks" and not checks_read["reused"]
    assert RestoreTargetRead.objects.get(run=run).object_count > 0

    previewed, sent = _requests_during(lambda: restore_run_run_preview(actor=owner, run=run))

    assert sent == []  # not one Graph request: not for the target, its groups, nor names
    summary = previewed.metadata["preview"]["summary"]
    assert summary["graph_requests"] == 0
    assert summary["target_read"] == {
        "read_at": checks_read["read_at"],
        "read_by": "checks",
        "reused": True,
        "graph_requests": checks_read["graph_requests"],
    }
    details = (
        AuditEvent.objects.filter(action="restore.preview_recorded", subject_id=str(run.pk))
        .latest("pk")
        .details
    )
    assert details["target_read"] == {
        "read_at": checks_read["read_at"],
        "read_by": "checks",
        "reused": True,
    }


def test_a_reused_read_plans_exactly_what_a_fresh_read_plans(
    personas, tenant, drifted_backup, settings
):
    owner = personas["owner"]
    reused = restore_run_run_preview(actor=owner, run=_checked_run(owner, tenant, drifted_backup))
    assert reused.metadata["preview"]["summary"]["target_read"]["reused"]
    settings.TENANTGUARD_TARGET_READ_REUSE_SECONDS = 0
    fresh_run = _checked_run(owner, tenant, drifted_backup)
    assert not RestoreTargetRead.objects.filter(run=fresh_run).exists()  # reuse off: not kept
    fresh, sent = _requests_during(lambda: restore_run_run_preview(actor=owner, run=fresh_run))
    assert sent  # read again
    target = fresh.metadata["preview"]["summary"]["target_read"]
    assert target["read_by"] == "preview" and not target["reused"]
    assert "turned off" in target["not_reused"]
    assert _plan(reused) and _plan(reused) == _plan(fresh)
    assert reused.metadata["preview"]["actions"] == fresh.metadata["preview"]["actions"]


def _preview_reads_again(owner, run) -> dict:
    previewed, sent = _requests_during(lambda: restore_run_run_preview(actor=owner, run=run))
    paths = {entry.path for entry in sent}
    assert any("/deviceManagement/" in path for path in paths), paths  # the target, again
    target = previewed.metadata["preview"]["summary"]["target_read"]
    assert target["read_by"] == "preview" and target["reused"] is False
    assert previewed.metadata["preview"]["summary"]["graph_requests"] > 0
    return target


def test_a_read_older_than_the_limit_is_read_again(personas, tenant, drifted_backup, settings):
    owner = personas["owner"]
    settings.TENANTGUARD_TARGET_READ_REUSE_SECONDS = 600
    run = _checked_run(owner, tenant, drifted_backup)
    kept = RestoreTargetRead.objects.get(run=run)
    kept.read_at -= timedelta(seconds=601)
    kept.save(update_fields=["read_at"])
    target = _preview_reads_again(owner, run)
    assert "10 min old" in target["not_reused"]


def test_a_read_for_other_inputs_is_read_again(personas, tenant, drifted_backup):
    owner = personas["owner"]
    run = _checked_run(owner, tenant, drifted_backup)
    # As if the read had been made for other inputs (the checks' own fingerprint is current).
    RestoreTargetRead.objects.filter(run=run).update(fingerprint="0" * 64)
    target = _preview_reads_again(owner, run)
    assert target["not_reused"] == "the run's inputs changed after the checks read the target"


def test_a_read_of_replaced_checks_is_read_again(personas, tenant, drifted_backup):
    owner = personas["owner"]
    run = _checked_run(owner, tenant, drifted_backup)
    RestoreTargetRead.objects.filter(run=run).update(checks_token="an-earlier-checks-run")
    target = _preview_reads_again(owner, run)
    assert "not the one of the checks recorded now" in target["not_reused"]


def test_another_runs_read_is_never_used(personas, tenant, drifted_backup):
    owner = personas["owner"]
    first = _checked_run(owner, tenant, drifted_backup)
    second = _checked_run(owner, tenant, drifted_backup)
    # The same inputs: equal fingerprints. Only the run's own read may be used.
    assert restore_run_fingerprint(first) == restore_run_fingerprint(second)
    first_read = RestoreTargetRead.objects.get(run=first)
    assert (
        target_read.why_not_reusable(
            first_read, run=second, fingerprint=restore_run_fingerprint(second)
        )
        == "the kept read belongs to another run"
    )
    # Even moved onto the other run, its checks token and its own header give it away.
    RestoreTargetRead.objects.filter(run=second).delete()
    RestoreTargetRead.objects.filter(pk=first_read.pk).update(run=second)
    target = _preview_reads_again(owner, second)
    assert "not the one of the checks recorded now" in target["not_reused"]


def test_running_the_checks_again_replaces_the_kept_read(personas, tenant, drifted_backup):
    owner = personas["owner"]
    run = _checked_run(owner, tenant, drifted_backup)
    first = RestoreTargetRead.objects.get(run=run)
    run = restore_run_run_checks(actor=owner, run=run)
    second = RestoreTargetRead.objects.get(run=run)
    assert RestoreTargetRead.objects.filter(run=run).count() == 1
    assert second.checks_token == run.metadata["checks"]["token"] != first.checks_token
    assert second.read_at > first.read_at


def test_the_kept_read_round_trips_without_secret_values():
    items = [
        CapturedItem(
            type_key="device_configuration",
            source_id="a",
            display_name="Windows baseline",
            platform="windows",
            payload={"displayName": "Windows baseline", "omaSettings": [{"value": None}]},
            assignments=[{"target": {"groupId": "g1"}}],
            scope_tag_ids=["0"],
            source_modified_at="2026-01-02T03:04:05Z",
            secrets={"omaSettings[./Vendor/x]": "plain-secret-value"},
            group_refs={"g1"},
        ),
        CapturedItem(
            type_key="scope_tag",
            source_id="1",
            display_name="Helpdesk",
            platform="all",
            payload={"displayName": "Helpdesk", "description": "é ünïcode"},
            assignments=None,
            scope_tag_ids=[],
            source_modified_at=None,
        ),
    ]
    state = TargetState(
        items=items,
        unreadable={"compliance_policy": "403"},
        group_names={"g1": "Group one"},
        parents={"nested": [("p1", "Parent")]},
    )
    groups = TargetGroups(
        existing={"g1": "Group one"}, named={"Sales": [{"id": "g2", "displayName": "Sales"}]}
    )
    data, raw, count = target_read.encode_target(
        run_id=7, fingerprint="f" * 64, state=state, groups=groups
    )
    assert count == 2 and raw > len(data)
    assert b"plain-secret-value" not in data
    header, decoded, decoded_groups = target_read.decode_target(data)
    assert header["run"] == 7 and header["fingerprint"] == "f" * 64
    first = decoded.by_id("device_configuration", "a")
    assert first is not None and first.secrets == {}
    assert first.payload == items[0].payload and first.assignments == items[0].assignments
    assert first.group_refs == {"g1"} and first.source_modified_at == "2026-01-02T03:04:05Z"
    assert decoded.by_name("scope_tag", "Helpdesk")[0].payload == items[1].payload
    assert decoded.unreadable == state.unreadable and decoded.group_names == state.group_names
    assert decoded.parents == {"nested": [("p1", "Parent")]}
    assert decoded_groups == groups


def test_step_4_the_cli_and_the_api_say_when_the_target_was_read(personas, tenant, drifted_backup):
    owner = personas["owner"]
    run = restore_run_run_preview(actor=owner, run=_checked_run(owner, tenant, drifted_backup))
    read_at = run.metadata["preview"]["summary"]["target_read"]["read_at"]
    stamp = f"{read_at[:10]} {read_at[11:19]} UTC"
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("restores:preview", args=[run.pk]))
    text = page.content.decode()
    assert f"Target read at {stamp} by the checks: this preview reused their read" in text
    out = io.StringIO()
    render_target_read(
        Console(file=out, width=200, color_system=None), run.metadata["preview"]["summary"]
    )
    assert f"Target read at {stamp} by the checks (the plan reused their read" in out.getvalue()
    answer = client.get(f"/api/restore-runs/{run.pk}").json()
    assert answer["preview"]["summary"]["target_read"]["reused"] is True
    assert answer["preview"]["summary"]["target_read"]["read_at"] == read_at


def test_a_read_that_cannot_be_kept_leaves_the_checks_and_the_preview_reads_again(
    personas, tenant, drifted_backup, monkeypatch
):
    from django.db import DatabaseError

    from tenantguard.restores.services import checks as checks_module

    def fails(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(checks_module, "restore_target_read_keep", fails)
    owner = personas["owner"]
    run = _checked_run(owner, tenant, drifted_backup)
    assert run.status == "checked" and run.metadata["checks"]["result_count"] > 0
    target = _preview_reads_again(owner, run)
    assert target["not_reused"].startswith("no read of the checks is kept")


def test_an_object_changed_after_the_checks_read_is_never_written_from_a_reused_read(
    personas, tenant, drifted_backup, seeded
):
    from tenantguard.intune import registry
    from tenantguard.restores.services.execute import restore_run_execute
    from tenantguard.restores.services.runs import (
        restore_run_confirm,
        restore_run_queue_execution,
        restore_run_set_dry_run,
    )

    owner = personas["owner"]
    run = _checked_run(owner, tenant, drifted_backup)
    # Someone edits an object after the checks read the target; the preview plans from that
    # older read (and says so).
    edited = next(
        item
        for item in drifted_backup.items.filter(policy_type="device_configuration").order_by("pk")
        if seeded.get_object(registry.get(item.policy_type).collection, item.source_id)
    )
    collection = registry.get(edited.policy_type).collection
    live = seeded.get_object(collection, edited.source_id)
    live["description"] = "changed by someone else after the checks read the target"
    seeded.put_object(collection, live)
    run = restore_run_run_preview(actor=owner, run=run)
    assert run.metadata["preview"]["summary"]["target_read"]["reused"]
    planned = run.preview_items.get(policy_type=edited.policy_type, source_id=edited.source_id)
    assert planned.action in {"update", "no_change"} and planned.target_hash
    run = restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = restore_run_confirm(
        actor=owner, run=run, acknowledged=True, typed_label=tenant.display_name
    )
    run = restore_run_queue_execution(actor=owner, run=run)
    other = _checked_run(owner, tenant, drifted_backup)  # another run of the tenant, read kept
    assert RestoreTargetRead.objects.filter(run=other).exists()
    run = restore_run_execute(run_id=run.pk)
    # the restore changed the tenant: the other run's preview must read it again
    assert not RestoreTargetRead.objects.filter(run=other).exists()
    outcome = run.item_outcomes.get(policy_type=edited.policy_type, source_id=edited.source_id)
    assert outcome.skip_code == "changed_since_preview"
    assert (
        seeded.get_object(collection, edited.source_id)["description"]
        == "changed by someone else after the checks read the target"
    )


def test_a_kept_read_that_cannot_be_decoded_is_read_again(personas, tenant, drifted_backup):
    owner = personas["owner"]
    run = _checked_run(owner, tenant, drifted_backup)
    RestoreTargetRead.objects.filter(run=run).update(data=b"not a compressed read")
    target = _preview_reads_again(owner, run)
    assert target["not_reused"].startswith("the kept read could not be decoded")


def test_reads_too_old_to_reuse_are_not_kept_for_ever(personas, tenant, drifted_backup):
    owner = personas["owner"]
    first = _checked_run(owner, tenant, drifted_backup)
    RestoreTargetRead.objects.filter(run=first).update(
        read_at=timezone.now() - timedelta(seconds=601)
    )
    second = _checked_run(owner, tenant, drifted_backup)
    assert list(RestoreTargetRead.objects.values_list("run_id", flat=True)) == [second.pk]


def test_across_tenants_the_preview_replaces_with_the_identities_the_checks_read(
    personas, tenant, prod_tenant, seeded, settings
):
    from tenantguard.emulator.demo import demo_tenant_objects
    from tenantguard.tenants.graph_access import emulated_tenant

    owner = personas["owner"]
    prod = emulated_tenant(prod_tenant)
    for obj in demo_tenant_objects(tenant_label="Contoso", seed=202):
        prod.put_object(collection_of(obj, source="test"), obj)
    backup = backup_set_capture(
        backup_set=backup_set_start(actor=owner, tenant=tenant, enqueue=False)
    )
    run = restore_run_create(actor=owner, tenant=prod_tenant, backup_set=backup)
    run = restore_run_set_scope(actor=owner, run=run, mode="all")
    run = restore_run_update_options(actor=owner, run=run, options={"source_identifiers": "keep"})
    run = restore_run_run_checks(actor=owner, run=run)
    identities = run.metadata["checks"]["summary"]["tenant_identities"]
    assert identities and identities["source"] and identities["target"]
    reused, sent = _requests_during(lambda: restore_run_run_preview(actor=owner, run=run))
    assert sent == []
    assert reused.metadata["preview"]["summary"]["target_read"]["reused"]
    settings.TENANTGUARD_TARGET_READ_REUSE_SECONDS = 0
    fresh = restore_run_run_preview(actor=owner, run=reused)
    assert not fresh.metadata["preview"]["summary"]["target_read"]["reused"]
    assert (
        reused.metadata["preview"]["summary"]["tenant_identifiers"]
        == (fresh.metadata["preview"]["summary"]["tenant_identifiers"])
    )


# -- one preview per read -------------------------------------------------------------------


def test_a_second_preview_reads_the_tenant_again_and_sees_a_later_edit(
    personas, tenant, drifted_backup, seeded
):
    owner = personas["owner"]
    run = restore_run_run_preview(actor=owner, run=_checked_run(owner, tenant, drifted_backup))
    assert run.metadata["preview"]["summary"]["target_read"]["reused"]
    assert not RestoreTargetRead.objects.filter(run=run).exists()

    edited = next(
        item
        for item in drifted_backup.items.filter(policy_type="device_configuration").order_by("pk")
        if seeded.get_object(registry.get(item.policy_type).collection, item.source_id)
    )
    before = run.preview_items.get(policy_type=edited.policy_type, source_id=edited.source_id)
    collection = registry.get(edited.policy_type).collection
    live = seeded.get_object(collection, edited.source_id)
    live["description"] = "edited after the first preview"
    seeded.put_object(collection, live)

    again, sent = _requests_during(lambda: restore_run_run_preview(actor=owner, run=run))

    assert sent  # the tenant was read again
    target = again.metadata["preview"]["summary"]["target_read"]
    assert target["read_by"] == "preview" and not target["reused"]
    assert "already planned from it" in target["not_reused"]
    after = again.preview_items.get(policy_type=edited.policy_type, source_id=edited.source_id)
    assert after.target_hash != before.target_hash


def test_a_restore_of_the_tenant_forgets_the_kept_reads_of_its_runs(
    personas, tenant, drifted_backup, prod_tenant
):
    owner = personas["owner"]
    first = _checked_run(owner, tenant, drifted_backup)
    second = _checked_run(owner, tenant, drifted_backup)
    assert RestoreTargetRead.objects.filter(run__in=[first, second]).count() == 2

    assert restore_target_reads_forget(tenant=tenant) == 2

    assert not RestoreTargetRead.objects.filter(run__tenant=tenant).exists()
    assert restore_target_reads_forget(tenant=prod_tenant) == 0
