"""Review findings on the compact target read (issue 10, target 3): a Graph string with a lone
surrogate, objects listed twice with one id, a state used after it was closed, concurrent adds,
kept reads that cannot be decoded, and the settings names reading only the rows they need."""

from __future__ import annotations

import json
import threading
import zlib
from types import SimpleNamespace

import pytest

from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import target
from tenantguard.intune.capture import CapturedItem
from tenantguard.intune.setting_definitions import SETTINGS_CATALOG_TYPE_KEYS
from tenantguard.intune.target import TargetState
from tenantguard.restores.models import RestoreTargetRead
from tenantguard.restores.services import checks as checks_module
from tenantguard.restores.services import diff as diff_module
from tenantguard.restores.services import setting_labels
from tenantguard.restores.services import source as source_module
from tenantguard.restores.services.checks import restore_run_run_checks
from tenantguard.restores.services.diff import restore_run_run_preview
from tenantguard.restores.services.errors import RestoreRunError
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.restores.services.source import TargetGroups, load_source
from tenantguard.restores.services.target_read import decode_target, encode_target

#: what Graph's JSON ``"cut \ud83d"`` decodes to: half of an emoji, a lone surrogate
CUT = json.loads('"cut \\ud83d"')


def _item(source_id: str, *, name: str = "Baseline", secrets=None, payload=None) -> CapturedItem:
    return CapturedItem(
        type_key="device_configuration",
        source_id=source_id,
        display_name=name,
        platform="windows",
        payload=payload if payload is not None else {"id": source_id, "displayName": name},
        assignments=[],
        scope_tag_ids=["0"],
        source_modified_at="2026-01-02T03:04:05Z",
        secrets=dict(secrets or {}),
        group_refs=set(),
    )


# 1. lone surrogates --------------------------------------------------------------------------


def test_a_graph_string_with_a_lone_surrogate_is_stored_and_kept_exactly():
    item = _item("a", name=CUT, payload={"id": "a", "description": CUT, "notes": "é ü 😀"})
    state = TargetState(items=[item])  # was: UnicodeEncodeError, the whole read aborted
    assert state.by_id("device_configuration", "a") == item
    assert state.by_name("device_configuration", CUT) == [item]
    # and the checks' kept read (names in its meta lines too) gives it back exactly
    data, _, count = encode_target(run_id=1, fingerprint="f", state=state, groups=TargetGroups())
    _, kept, _ = decode_target(data)
    assert count == 1 and kept.items("device_configuration") == [item]


# 2. objects listed twice with one id ---------------------------------------------------------


@pytest.mark.parametrize("secret_first", [True, False])
def test_two_objects_of_one_id_keep_their_own_secret_values(secret_first):
    with_secret = _item("dup", name="A", secrets={"omaSettings[./Vendor/k]": "value-of-a"})
    without = _item("dup", name="B")
    items = [with_secret, without] if secret_first else [without, with_secret]
    state = TargetState(items=items)
    assert state.items("device_configuration") == items
    assert state.by_name("device_configuration", "A")[0].secrets == with_secret.secrets
    assert state.by_name("device_configuration", "B")[0].secrets == {}


# 3. a closed state -----------------------------------------------------------------------------


def test_a_closed_state_refuses_every_lookup_rather_than_saying_absent():
    state = TargetState(items=[_item("a")])
    state.close()
    state.close()  # harmless
    lookups = [
        lambda: state.has("device_configuration", "a"),
        lambda: state.by_id("device_configuration", "a"),
        lambda: state.by_name("device_configuration", "Baseline"),
        lambda: state.name_of("device_configuration", "a"),
        lambda: state.ids("device_configuration"),
        lambda: list(state.iter_items("device_configuration")),
        lambda: list(state.rows("device_configuration")),
        lambda: state.type_keys,
        lambda: state.add(_item("b")),
    ]
    for lookup in lookups:
        with pytest.raises(RuntimeError, match=r"closed.*read the target again"):
            lookup()


@pytest.fixture
def backup(personas, tenant, emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )


def _run(owner, tenant, backup):
    run = restore_run_create(actor=owner, tenant=tenant, backup_set=backup)
    return restore_run_set_scope(actor=owner, run=run, mode="all")


def test_the_checks_and_the_preview_close_their_read_of_the_target(
    personas, tenant, backup, monkeypatch
):
    reads = []

    def spied(module):
        real = module.read_target_for

        def read_target_for(*args, **kwargs):
            read = real(*args, **kwargs)
            reads.append(read)
            return read

        monkeypatch.setattr(module, "read_target_for", read_target_for)

    spied(checks_module)
    spied(diff_module)
    owner = personas["owner"]
    run = restore_run_run_checks(actor=owner, run=_run(owner, tenant, backup))
    run = restore_run_run_preview(actor=owner, run=run)
    assert run.metadata["preview"]["item_count"] == backup.items.count()
    assert [read.read_by for read in reads] == ["checks", "checks"]  # the preview reused it
    assert reads[0].state is not reads[1].state
    assert all(read.state.closed for read in reads)


# 4. concurrent adds ----------------------------------------------------------------------------


class _MeetingLock:
    """A lock whose first two takers wait for each other before taking it: each has done what
    it does before the lock when the other takes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._meeting = threading.Barrier(2, timeout=5)
        self._met = 0

    def __enter__(self):
        if self._met < 2:
            self._met += 1
            self._meeting.wait()
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)


@pytest.mark.parametrize("limit", [1_000_000, 0], ids=["memory", "file"])
def test_concurrent_adds_each_get_their_own_place(limit):
    store = target._RowStore(limit=limit)
    store._lock = _MeetingLock()
    placed: dict[bytes, tuple[int, int]] = {}

    def add(data: bytes) -> None:
        placed[data] = store.add(data)

    threads = [threading.Thread(target=add, args=(data,)) for data in (b"first", b"second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(placed) == [b"first", b"second"]
    for data, (offset, length) in placed.items():
        assert store.get(offset, length) == data
    store.close()


# 5. kept reads that cannot be decoded ------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        zlib.compress(b"[1,2]\n"),  # a header that is not an object
        zlib.compress(b'"a string"\n'),
        zlib.compress(b'{"version":2,"groups":[1]}\n'),  # groups not an object
        zlib.compress(b'{"version":2,"parents":{"t":[1]}}\n'),
        zlib.compress(b'{"version":2}\n[1,2]\t[]\n'),  # a meta line of two values
        zlib.compress(b'{"version":2}\n\xff\t[]\n'),
        b"",
        b"not compressed",
    ],
    ids=["list", "string", "groups", "parents", "meta", "bytes", "empty", "not-zlib"],
)
def test_a_corrupt_kept_read_is_refused_as_not_decodable(data):
    with pytest.raises(ValueError):
        decode_target(data)


def _format_1_read(run) -> bytes:
    """A read as the previous version kept it (format 1: whole objects as JSON lines)."""
    header = {"version": 1, "run": run.pk, "fingerprint": "f", "unreadable": {}}
    line = {"type_key": "device_configuration", "source_id": "a", "payload": {}}
    return zlib.compress(json.dumps(header).encode() + b"\n" + json.dumps(line).encode() + b"\n")


@pytest.mark.parametrize("kind", ["format_1", "not_a_dict"])
def test_a_kept_read_that_cannot_be_decoded_is_dropped_and_the_target_read_again(
    personas, tenant, backup, kind
):
    owner = personas["owner"]
    run = restore_run_run_checks(actor=owner, run=_run(owner, tenant, backup))
    data = _format_1_read(run) if kind == "format_1" else zlib.compress(b"[1]\n")
    RestoreTargetRead.objects.filter(run=run).update(data=data)
    previewed = restore_run_run_preview(actor=owner, run=run)
    read = previewed.metadata["preview"]["summary"]["target_read"]
    assert read["read_by"] == "preview" and read["reused"] is False
    assert "earlier version" in read["not_reused"]
    assert "the target is read again" in read["not_reused"]
    # never tried again by the next preview
    assert not RestoreTargetRead.objects.filter(run=run).exists()


# 6. an item gone mid-run, in any step ---------------------------------------------------------


def test_an_item_gone_mid_run_is_worded_for_every_step(personas, tenant, backup):
    source = load_source(_run(personas["owner"], tenant, backup))
    gone = next(iter(source.items))
    backup.items.filter(pk=gone.pk).delete()
    with pytest.raises(RestoreRunError) as raised:
        list(source.items)  # the executor's resolver reads them too
    message = str(raised.value)
    assert f"#{gone.pk}" in message and "while the run was using it: run the step again" in message
    assert "checked or previewed" not in message


# 7. setting names read only the settings catalog rows -----------------------------------------


def test_setting_names_read_only_the_settings_catalog_rows(personas, tenant, backup, monkeypatch):
    source = load_source(_run(personas["owner"], tenant, backup))
    assert source.items.type_keys - SETTINGS_CATALOG_TYPE_KEYS, "other types are in scope"
    assert source.items.type_keys & SETTINGS_CATALOG_TYPE_KEYS, "settings catalog items too"
    real = source_module._source_item
    read_types: list[str] = []

    def spied(row):
        read_types.append(row.policy_type)
        return real(row)

    monkeypatch.setattr(source_module, "_source_item", spied)
    read = SimpleNamespace(source=source, state=TargetState())
    payloads = list(setting_labels._payloads(read))
    assert payloads and {type_key for type_key, _ in payloads} <= SETTINGS_CATALOG_TYPE_KEYS
    assert read_types and set(read_types) <= SETTINGS_CATALOG_TYPE_KEYS
