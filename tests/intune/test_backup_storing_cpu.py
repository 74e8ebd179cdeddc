"""A backup's CPU per object (issue 10, target 4): captured objects are stored without a
``BackupItem`` object per item and without Django's per-field insert compiler, the objects that
existed before the capture are left out of its garbage collections, and a listing classifies
each ``@odata.type`` once. What is stored is what ``bulk_create`` stored."""

from __future__ import annotations

import copy
import gc
import weakref
from typing import Any

import pytest
from django.db.models.signals import pre_init

from tenantguard.backups import services
from tenantguard.backups.models import BackupItem, BackupKind, BackupPayload, BackupPayloadManager
from tenantguard.backups.services import (
    backup_set_capture,
    backup_set_open,
    backup_set_store_captured,
)
from tenantguard.emulator.seed import collection_of
from tenantguard.intune import capture, normalize, registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return emulated


def _open(tenant, name="night"):
    return backup_set_open(
        actor=None, tenant=tenant, name=name, kind=BackupKind.SCHEDULED, enqueue=False
    )


def _captured(type_key: str, index: int, **extra: Any) -> capture.CapturedItem:
    fields: dict[str, Any] = {
        "type_key": type_key,
        "source_id": f"id-{index}",
        "display_name": f"Policy {index}",
        "platform": "windows",
        "payload": {"@odata.type": "#x", "id": f"id-{index}", "displayName": f"Policy {index}"},
        "assignments": [{"target": {"groupId": f"g-{index}"}}],
        "scope_tag_ids": ["0"],
        "source_modified_at": "2026-01-02T03:04:05Z",
    }
    fields.update(extra)
    return capture.CapturedItem(**fields)


def test_a_backup_stores_what_it_captured_without_an_item_object_per_item(
    tenant, seeded, monkeypatch
):
    seen: list[capture.CapturedItem] = []
    real_iter_capture = capture.iter_capture

    def recording(*args: Any, **kwargs: Any):
        for entry in real_iter_capture(*args, **kwargs):
            if isinstance(entry, capture.CapturedItem):
                seen.append(copy.deepcopy(entry))
            yield entry

    monkeypatch.setattr(capture, "iter_capture", recording)
    built: list[object] = []

    def count(sender: object, **kwargs: Any) -> None:
        built.append(sender)

    pre_init.connect(count, sender=BackupItem)
    try:
        backup_set = backup_set_capture(backup_set=_open(tenant))
    finally:
        pre_init.disconnect(count, sender=BackupItem)

    assert backup_set.status == "completed", backup_set.warnings
    assert built == []  # no BackupItem object while storing (bulk_create built one per item)
    stored = {(item.policy_type, item.source_id): item for item in backup_set.items.all()}
    assert len(stored) == len(seen) == backup_set.item_count > 60
    with_secrets = 0
    for captured in seen:
        item = stored[(captured.type_key, captured.source_id)]
        assert item.category == registry.get(captured.type_key).category
        assert item.display_name == (captured.display_name or captured.source_id)[:500]
        assert item.platform == (captured.platform or "")
        assert item.scope_tag_ids == captured.scope_tag_ids
        assert item.warnings == captured.warnings
        assert item.secrets == captured.secrets  # encrypted at rest, read back decrypted
        with_secrets += bool(captured.secrets)
        assert item.payload == captured.payload
        assert item.assignments == captured.assignments
        assert (item.stored_assignments_id is None) == (captured.assignments is None)
        assert item.content_hash == normalize.content_hash(
            captured.type_key, captured.payload, captured.assignments, captured.scope_tag_ids
        )
        if captured.source_modified_at:
            assert item.source_modified_at == services._parse_modified(captured.source_modified_at)
        else:
            assert item.source_modified_at is None
    assert with_secrets, "the demo tenant has encrypted OMA-URI values"
    assert BackupPayload.objects.filter(tenant=tenant).count() < 2 * len(seen)


def test_stored_items_equal_bulk_create_items_column_by_column(tenant):
    """The direct insert and ``BackupItem.objects.bulk_create`` store the same row."""
    items = [
        _captured("device_configuration", 1),
        _captured(
            "settings_catalog",
            2,
            assignments=None,
            scope_tag_ids=["0", "5"],
            source_modified_at=None,
            warnings=["assignments could not be read: Graph said no"],
            secrets={"omaSettings[./x]": "s3cret"},
            platform="",
        ),
    ]
    direct = backup_set_store_captured(
        backup_set=_open(tenant, "direct"), items=items, warnings=[], group_names={}
    )
    through_orm = _open(tenant, "orm")
    objects = []
    for captured in items:
        row = services._item_row(through_orm, captured)
        item = BackupItem(
            **{
                name: value
                for name, value in row.items()
                if name not in ("payload", "assignments", "backup_set_id")
            },
            backup_set=through_orm,
        )
        item.payload = row["payload"]
        item.assignments = row["assignments"]
        objects.append(item)
    BackupItem.objects.bulk_create(objects)

    columns = [
        field.attname for field in services._item_fields() if field.attname != "backup_set_id"
    ]
    fetched_direct = list(
        BackupItem.objects.filter(backup_set=direct).order_by("source_id").values(*columns)
    )
    fetched_orm = list(
        BackupItem.objects.filter(backup_set=through_orm).order_by("source_id").values(*columns)
    )
    assert fetched_direct == fetched_orm
    assert fetched_direct[1]["stored_assignments_id"] is None
    assert fetched_direct[1]["secrets"] == {"omaSettings[./x]": "s3cret"}
    assert direct.item_count == 2 and direct.status == "completed"


@pytest.mark.django_db(transaction=True)
def test_storing_again_when_a_retention_sweep_deleted_a_stored_value_meanwhile(tenant, monkeypatch):
    """Between interning and the insert, another transaction deletes a stored value no item
    refers to yet (retention): the insert fails on the reference and everything is stored
    again once, as ``BackupItem.objects.bulk_create`` does."""
    real_intern = BackupPayloadManager.intern
    calls: list[int] = []

    def intern_then_swept(self, *, tenant_id, payloads):
        stored = real_intern(self, tenant_id=tenant_id, payloads=payloads)
        calls.append(len(payloads))
        if len(calls) == 1:
            BackupPayload.objects.filter(pk__in=[value.pk for value in stored]).delete()
        return stored

    monkeypatch.setattr(BackupPayloadManager, "intern", intern_then_swept)
    backup_set = backup_set_store_captured(
        backup_set=_open(tenant),
        items=[_captured("device_configuration", index) for index in range(3)],
        warnings=[],
        group_names={},
    )

    assert len(calls) == 2
    items = list(BackupItem.objects.filter(backup_set=backup_set).order_by("source_id"))
    assert [item.source_id for item in items] == ["id-0", "id-1", "id-2"]
    assert all(BackupPayload.objects.filter(pk=item.stored_payload_id).exists() for item in items)
    assert items[1].payload["displayName"] == "Policy 1"


def test_the_capture_leaves_older_objects_out_of_its_collections_and_hands_them_back(
    tenant, seeded
):
    assert gc.get_freeze_count() == 0
    during: list[int] = []
    backup_set = _open(tenant)
    services.backup_set_capture(
        backup_set=backup_set, on_progress=lambda counts: during.append(gc.get_freeze_count())
    )
    assert during and min(during) > 0  # frozen while capturing
    assert gc.get_freeze_count() == 0  # every object collectable again afterwards


def test_objects_someone_else_froze_stay_frozen(tenant, seeded):
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        services.backup_set_capture(backup_set=_open(tenant))
        # still frozen (less whatever was freed meanwhile), not handed back by the capture
        assert gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_garbage_left_before_a_capture_is_not_kept_for_the_whole_capture():
    """A worker's previous task leaves cyclic garbage behind; freezing it with the process's
    objects would keep it alive (and its memory) until the capture ends."""
    garbage = _Cycle()
    ref = weakref.ref(garbage)
    del garbage
    with services._process_objects_frozen():
        gc.collect()
        assert ref() is None


def _listing(collection: str) -> capture._Listing:
    ptypes = [ptype for ptype in registry.all_types() if ptype.collection == collection]
    return capture._Listing(ptypes=ptypes, params={}, next_url=None)


def test_a_listing_classifies_like_the_registry(demo_objects):
    listings: dict[str, capture._Listing] = {}
    for obj in demo_objects:
        collection = collection_of(obj, source="test")
        if not registry.types_for_collection(collection):
            continue
        listing = listings.setdefault(collection, _listing(collection))
        assert listing.classify(obj) == registry.classify(collection, obj), obj.get("id")
    assert len(listings) > 20


def test_a_listing_classifies_each_odata_type_once(monkeypatch):
    collection = "deviceManagement/deviceConfigurations"
    calls: list[str] = []
    real_classify = registry.classify

    def counting(collection: str, obj: Any) -> registry.PolicyType:
        calls.append(obj.get("@odata.type"))
        return real_classify(collection, obj)

    monkeypatch.setattr(registry, "classify", counting)
    listing = _listing(collection)
    kinds = ["#microsoft.graph.windows10GeneralConfiguration", "#microsoft.graph.unknownThing"]
    found = [listing.classify({"@odata.type": kinds[i % 2], "id": str(i)}) for i in range(40)]

    assert sorted(calls) == sorted(kinds)
    assert {ptype.key for ptype in found[::2]} == {
        real_classify(collection, {"@odata.type": kinds[0]}).key
    }
    assert {ptype.key for ptype in found[1::2]} == {registry.UNSUPPORTED.key}


def test_a_listing_with_a_discriminator_asks_the_registry_for_each_object():
    """Settings catalog and endpoint security share a collection and an ``@odata.type``; the
    template family decides: remembering by ``@odata.type`` would give both the same type."""
    listing = _listing("deviceManagement/configurationPolicies")
    odata_type = "#microsoft.graph.deviceManagementConfigurationPolicy"
    security = {
        "@odata.type": odata_type,
        "id": "a",
        "templateReference": {"templateFamily": "endpointSecurityFirewall"},
    }
    catalog = {
        "@odata.type": odata_type,
        "id": "b",
        "templateReference": {"templateFamily": "none"},
    }

    assert listing.classify(security).key == "endpoint_security"
    assert listing.classify(catalog).key == "settings_catalog"
    assert listing.classify(security).key == "endpoint_security"


def test_progress_is_saved_at_most_twice_a_second_besides_type_changes(tenant, seeded, monkeypatch):
    def saves(seconds: float) -> int:
        monkeypatch.setattr(services, "_PROGRESS_SECONDS", seconds)
        calls: list[int] = []
        backup_set_capture(backup_set=_open(tenant), on_progress=lambda c: calls.append(c["items"]))
        return len(calls)

    every_item = saves(0.0)
    throttled = saves(3600.0)
    items = BackupItem.objects.filter(backup_set__tenant=tenant).count() // 2
    assert every_item - throttled > items // 2  # one per item before, type changes only now
