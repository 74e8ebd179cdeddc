"""Checks and preview of a large tenant keep flat memory (issue 10, target 3): the target as
read is kept compact (``TargetState``: an index in memory, each object as compact JSON moved to
a temporary file past ``target.SPILL_BYTES``), the scoped backup items are read from the
database a chunk at a time (``source.SourceItems``), and the checks' read of the target skips
the OMA-URI secret values it never looks at (the executor's snapshot still reads them)."""

from __future__ import annotations

import tracemalloc

import pytest

from tenantguard.backups.models import BackupItem
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.demo import apply_demo_drift
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import target
from tenantguard.intune.capture import CapturedItem
from tenantguard.intune.target import TargetState
from tenantguard.restores.services import source as source_module
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.errors import RestoreRunError
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.restores.services.source import SourceItems, load_source
from tenantguard.tenants.graph_access import embedded_emulator

SECRET_READ = "getOmaSettingPlainTextValue"
MIB = 1024 * 1024


def _big_item(index: int, *, size: int = 20_000, secret: str | None = None) -> CapturedItem:
    return CapturedItem(
        type_key="settings_catalog",
        source_id=f"policy-{index}",
        display_name=f"Policy {index % 50}",
        platform="windows",
        payload={"id": f"policy-{index}", "settings": [f"{index}-" + "x" * size]},
        assignments=[{"target": {"groupId": f"g{index}"}}],
        scope_tag_ids=["0"],
        source_modified_at="2026-01-02T03:04:05Z",
        secrets={"omaSettings[./Vendor/key]": secret} if secret else {},
        group_refs={f"g{index}"},
    )


def _traced_growth(build):
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        built = build()
        return built, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_a_large_target_read_does_not_stay_in_the_python_heap():
    # 600 objects of 20 KB: 12 MB of payloads as read
    state, held = _traced_growth(lambda: TargetState(items=(_big_item(i) for i in range(600))))
    assert len(state) == 600 and state.stored_bytes > 12_000_000
    # the index and at most SPILL_BYTES of rows before they go to the file
    assert held < target.SPILL_BYTES + 1 * MIB, f"{held / MIB:.1f} MiB held"


def test_a_compact_target_state_answers_like_the_objects_read(monkeypatch):
    monkeypatch.setattr(target, "SPILL_BYTES", 50_000)  # spill after a few objects
    items = [_big_item(i, size=5_000, secret="s3cr3t-value" if i == 3 else None) for i in range(40)]
    state = TargetState(items=items)
    assert state.type_keys == ["settings_catalog"]
    assert state.ids("settings_catalog") == [item.source_id for item in items]
    assert state.items("settings_catalog") == items
    assert state.by_id("settings_catalog", "policy-17") == items[17]
    assert state.by_id("settings_catalog", "nope") is None
    assert state.has("settings_catalog", "policy-39") and not state.has("scope_tag", "policy-39")
    assert state.name_of("settings_catalog", "policy-7") == "Policy 7"
    assert state.by_name("settings_catalog", "Policy 7") == [items[7]]
    # the executor's read keeps the secret values, in memory only: never in the stored rows
    assert state.by_id("settings_catalog", "policy-3").secrets == {
        "omaSettings[./Vendor/key]": "s3cr3t-value"
    }
    assert all(b"s3cr3t-value" not in row for _, _, row in state.rows("settings_catalog"))
    # what a caller does with an object it was given changes nothing in the state
    state.by_id("settings_catalog", "policy-5").payload["settings"] = []
    assert state.by_id("settings_catalog", "policy-5") == items[5]


@pytest.fixture
def seeded(emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return emulated


@pytest.fixture
def backup(personas, tenant, seeded):
    return backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )


def _run(owner, tenant, backup):
    run = restore_run_create(actor=owner, tenant=tenant, backup_set=backup)
    return restore_run_set_scope(actor=owner, run=run, mode="all")


def _secret_reads(since: int) -> int:
    return sum(1 for entry in embedded_emulator().request_log[since:] if SECRET_READ in entry.path)


def test_the_checks_read_no_secret_value_of_the_target_and_the_backup_does(
    personas, tenant, seeded
):
    log = embedded_emulator().request_log
    start = len(log)
    backup = backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )
    assert _secret_reads(start) > 0, "the demo tenant holds OMA-URI secret values"
    assert any(item.secrets for item in backup.items.all())
    owner = personas["owner"]
    run = _run(owner, tenant, backup)
    start = len(log)
    run = restore_run_run_checks(actor=owner, run=run)
    assert _secret_reads(start) == 0
    # and the preview (here: reading the target itself) shows the same plan without them
    start = len(log)
    run = restore_run_run_preview(actor=owner, run=run)
    assert _secret_reads(start) == 0
    assert run.metadata["preview"]["item_count"] == backup.items.count()


def test_the_executors_snapshot_still_reads_the_targets_secret_values(
    personas, tenant, backup, seeded
):
    from tenantguard.restores.services.execute import restore_run_execute
    from tenantguard.restores.services.runs import (
        restore_run_confirm,
        restore_run_queue_execution,
        restore_run_set_dry_run,
    )

    owner = personas["owner"]
    assert apply_demo_drift(seeded, seed=1)  # something to restore
    run = restore_run_run_preview(
        actor=owner, run=restore_run_run_checks(actor=owner, run=_run(owner, tenant, backup))
    )
    run = restore_run_set_dry_run(actor=owner, run=run, dry_run=False)
    run = restore_run_confirm(
        actor=owner, run=run, acknowledged=True, typed_label=tenant.display_name
    )
    run = restore_run_queue_execution(actor=owner, run=run)
    start = len(embedded_emulator().request_log)
    run = restore_run_execute(run_id=run.pk)
    assert _secret_reads(start) > 0
    snapshot = run.snapshots.get(kind="pre_restore")
    with_secrets = [item for item in snapshot.items.all() if item.secrets]
    assert with_secrets, "the pre-restore snapshot keeps the target's secret values"


def test_the_scoped_items_are_read_from_the_database_as_they_are_used(personas, tenant, backup):
    source = load_source(_run(personas["owner"], tenant, backup))
    assert isinstance(source.items, SourceItems)
    first = list(source.items)
    assert len(first) == len(source.items) == backup.items.count()
    assert list(source.items) == first, "each pass reads the same items in the same order"
    foundations = list(source_module.items_of_types(source.items, ["scope_tag"]))
    assert foundations == [item for item in first if item.type_key == "scope_tag"]
    # nothing was copied at load time: an item gone since is an error, never skipped silently
    BackupItem.objects.filter(pk=first[-1].pk).delete()
    with pytest.raises(RestoreRunError, match=rf"#{first[-1].pk}.*run the step again"):
        list(source.items)


def test_loading_the_source_holds_no_payload(personas, tenant, backup):
    owner = personas["owner"]
    template = backup.items.filter(policy_type="device_configuration").first()
    assert template is not None
    BackupItem.objects.bulk_create(
        BackupItem(
            backup_set=backup,
            policy_type=template.policy_type,
            category=template.category,
            source_id=f"bulk-{index}",
            display_name=f"Bulk {index}",
            platform=template.platform,
            payload={**template.payload, "description": f"{index}-" + "y" * 20_000},
            content_hash=template.content_hash,
        )
        for index in range(300)
    )
    run = _run(owner, tenant, backup)
    source, held = _traced_growth(lambda: load_source(run))
    assert len(source.items) == backup.items.count()
    # 300 x 20 KB of payloads in the backup; the loaded source keeps keys and types only
    assert held < 1 * MIB, f"{held / MIB:.1f} MiB held"


def test_checks_and_preview_hand_their_rows_over_as_they_are_produced(
    personas, tenant, backup, seeded, monkeypatch
):
    """Neither step builds the list of every result / planned item: the recording reads them
    from a generator (``runs.restore_run_record_*`` spool them compressed), and the summary is
    counted on the way."""
    from tenantguard.restores.services import checks, diff

    handed: dict[str, object] = {}

    def spy(step, real):
        def record(**kwargs):
            rows = kwargs["results"] if step == "checks" else kwargs["items"]
            handed[step] = rows
            assert not isinstance(rows, list | tuple), f"the {step} built a list of all rows"
            assert callable(kwargs["summary"])
            return real(**kwargs)

        return record

    monkeypatch.setattr(
        checks, "restore_run_record_checks", spy("checks", checks.restore_run_record_checks)
    )
    monkeypatch.setattr(
        diff, "restore_run_record_preview", spy("preview", diff.restore_run_record_preview)
    )
    owner = personas["owner"]
    assert apply_demo_drift(seeded, seed=1)
    run = restore_run_run_checks(actor=owner, run=_run(owner, tenant, backup))
    recorded = run.metadata["checks"]
    assert recorded["result_count"] == run.check_results.count() > backup.items.count() // 2
    assert sum(recorded["counts"].values()) == recorded["result_count"]
    assert recorded["summary"]["items"] == backup.items.count()
    run = restore_run_run_preview(actor=owner, run=run)
    preview = run.metadata["preview"]
    assert preview["item_count"] == run.preview_items.count() == backup.items.count()
    summary = preview["summary"]
    assert summary["items"] == backup.items.count()
    assert sum(summary["policies"].values()) + sum(summary["foundations"].values()) == (
        backup.items.count()
    )
    assert set(handed) == {"checks", "preview"}


def test_references_found_on_one_pass_are_not_looked_for_again_within_a_bound(
    personas, tenant, backup, monkeypatch
):
    from tenantguard.intune import references

    walks: list[str] = []
    real = references.references_of

    def counting(**kwargs):
        walks.append(kwargs["type_key"])
        return real(**kwargs)

    monkeypatch.setattr(source_module, "references_of", counting)
    source = load_source(_run(personas["owner"], tenant, backup))
    first = [
        (item.pk, source_module.item_references(item, include_assignments=True))
        for item in source.items
    ]
    walked = len(walks)
    assert walked == len(source.items)
    second = [
        (item.pk, source_module.item_references(item, include_assignments=True))
        for item in source.items
    ]
    assert second == first
    assert len(walks) == walked, "the second pass found nothing again"
    assert any(refs for _, refs in first)

    # past the bound, the items are walked again (and still answer the same)
    monkeypatch.setattr(source_module, "REFERENCE_CACHE_BYTES", 0)
    bounded = load_source(_run(personas["owner"], tenant, backup))
    for _ in range(2):
        again = [
            (item.pk, source_module.item_references(item, include_assignments=True))
            for item in bounded.items
        ]
        assert again == first
    assert len(walks) == walked + 2 * len(first)
