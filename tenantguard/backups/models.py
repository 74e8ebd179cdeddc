from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

from django.conf import settings
from django.db import IntegrityError, connections, models, transaction
from django.db.models import Exists, OuterRef
from django.db.models.constants import OnConflict
from django.db.models.signals import post_delete
from django.dispatch import receiver

from tenantguard.crypto import EncryptedJSONField

#: Lookups at most this many digests (or ids) per query: far below SQLite's bound on parameters.
_LOOKUP_CHUNK = 500


class BackupStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    PARTIAL = "partial", "Partial (see warnings)"
    FAILED = "failed", "Failed"


class BackupKind(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULED = "scheduled", "Scheduled"
    PRE_RESTORE = "pre_restore", "Pre-restore snapshot"


class BackupSet(models.Model):
    """One snapshot of a tenant's configuration."""

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="backup_sets"
    )
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=BackupStatus.choices, default=BackupStatus.RUNNING
    )
    kind = models.CharField(max_length=20, choices=BackupKind.choices, default=BackupKind.MANUAL)
    restore_run = models.ForeignKey(
        "restores.RestoreRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="snapshots",
        help_text="For pre-restore snapshots: the restore run that took it.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    captured_at = models.DateTimeField(
        null=True, blank=True, help_text="When the capture finished."
    )
    item_count = models.PositiveIntegerField(default=0)
    # [{"type_key", "source_id" | None, "message", "permission" | None}]
    warnings = models.JSONField(default=list, blank=True)
    # Group id -> display name for every group the captured assignments reference.
    group_names = models.JSONField(default=dict, blank=True)
    # The tenant's own identifiers when it was captured (Graph ``organization``: tenant id and
    # verified domains, ``tenant_identity.TenantIdentity.to_json``); {} when unreadable.
    source_identity = models.JSONField(default=dict, blank=True)
    # {"types_done", "types_total", "current_type", "items"} while running.
    progress = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant})"


class StoredValue(NamedTuple):
    """A stored payload's (or assignments') id and digest, as ``intern`` returns them."""

    pk: int
    digest: str


def _canonical_json(payload: Any) -> str:
    """``payload`` as canonical JSON: sorted keys, no spaces, ASCII only."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _digest_of(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def payload_digest(payload: Any) -> str:
    """SHA-256 (hex) of ``payload``'s canonical JSON (sorted keys, no spaces, ASCII): equal
    payloads have equal digests whatever their key order or the database that returned them."""
    return _digest_of(_canonical_json(payload))


class BackupPayloadManager(models.Manager["BackupPayload"]):
    def intern(self, *, tenant_id: int, payloads: Sequence[Any]) -> list[StoredValue]:
        """The stored payload of ``tenant_id`` for each of ``payloads`` (same order), created
        where the tenant has none with its digest yet.

        Safe when another backup of the tenant interns the same payload at the same moment:
        inserts ignore a (tenant, digest) that already exists, then the rows are read back.
        Only (digest, id) pairs are read, and rows are built only for the digests the tenant
        does not have yet: an unchanged night builds and inserts none. A new value is stored as
        the canonical JSON its digest was computed from (encoded once)."""
        texts = [_canonical_json(payload) for payload in payloads]
        digests = [_digest_of(text) for text in texts]
        wanted: dict[str, tuple[Any, str]] = {}
        for digest, payload, text in zip(digests, payloads, texts, strict=True):
            wanted.setdefault(digest, (payload, text))
        ids = self._ids(tenant_id, list(wanted))
        # In digest order: two stores of the tenant inserting the same new values at once (a
        # backup and a pre-restore snapshot) wait on each other's rows in the same order, so
        # PostgreSQL never finds them deadlocked.
        missing = sorted(digest for digest in wanted if digest not in ids)
        if missing:
            self._insert_ignoring_existing(
                tenant_id, [(digest, *wanted[digest]) for digest in missing]
            )
            ids.update(self._ids(tenant_id, missing))
        for digest in wanted:
            if digest not in ids:
                # Inserted, then deleted by a retention sweep before it was read back.
                raise IntegrityError(
                    f"The payload {digest} of tenant {tenant_id} vanished while it was stored."
                )
        return [StoredValue(ids[digest], digest) for digest in digests]

    def _insert_ignoring_existing(self, tenant_id: int, rows: list[tuple[str, Any, str]]) -> None:
        """Insert (digest, payload, canonical JSON) rows of ``tenant_id``, skipping a digest the
        tenant already has (another backup's row). One statement for all rows, without building
        a model object per row or compiling an insert per field and row (``bulk_create``'s
        cost), and without encoding a payload again: the column gets its canonical JSON (the
        same value; PostgreSQL's ``jsonb`` parses it, SQLite keeps the text). A None payload
        goes through its field, as ``bulk_create`` would (SQL NULL: refused, the column is not
        nullable)."""
        connection = connections[self.db]
        meta = BackupPayload._meta
        fields = [
            cast("models.Field[Any, Any]", meta.get_field(name))
            for name in ("tenant", "digest", "payload")
        ]
        ops = connection.ops
        sql = " ".join(
            part
            for part in (
                ops.insert_statement(on_conflict=OnConflict.IGNORE),
                ops.quote_name(meta.db_table),
                "(" + ", ".join(ops.quote_name(str(field.column)) for field in fields) + ")",
                "VALUES (%s, %s, "
                + ("%s::jsonb" if connection.vendor == "postgresql" else "%s")
                + ")",
                ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None),
            )
            if part
        )
        payload_field = fields[2]
        with connection.cursor() as cursor:
            cursor.executemany(
                sql,
                [
                    (
                        tenant_id,
                        digest,
                        text
                        if payload is not None
                        else payload_field.get_db_prep_save(payload, connection),
                    )
                    for digest, payload, text in rows
                ],
            )

    def _ids(self, tenant_id: int, digests: list[str]) -> dict[str, int]:
        """Digest -> id of ``tenant_id``'s stored values among ``digests``: one plain query per
        chunk (building the ORM's ``digest__in`` query cost more CPU than running it)."""
        connection = connections[self.db]
        meta = BackupPayload._meta
        quote = connection.ops.quote_name
        columns = {
            name: quote(str(cast("models.Field[Any, Any]", meta.get_field(name)).column))
            for name in ("tenant", "digest", "id")
        }
        # Only the model's own quoted table and column names are formatted in; values are
        # parameters.
        select = " ".join(
            (
                "SELECT",
                f"{columns['digest']}, {columns['id']}",
                "FROM",
                quote(meta.db_table),
                "WHERE",
                f"{columns['tenant']} = %s AND {columns['digest']} IN",
            )
        )
        ids: dict[str, int] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(digests), _LOOKUP_CHUNK):
                chunk = digests[start : start + _LOOKUP_CHUNK]
                cursor.execute(
                    select + "(" + ", ".join(["%s"] * len(chunk)) + ")", [tenant_id, *chunk]
                )
                ids.update(cursor.fetchall())
        return ids

    def delete_orphans(self, *, tenant_id: int) -> int:
        """Delete ``tenant_id``'s stored values (payloads and assignments) that no backup item
        refers to any more; how many."""
        items = BackupItem._base_manager
        orphans = self.filter(tenant_id=tenant_id).filter(
            ~Exists(items.filter(stored_payload=OuterRef("pk"))),
            ~Exists(items.filter(stored_assignments=OuterRef("pk"))),
        )
        deleted, _ = orphans.only("pk").delete()
        return deleted


class BackupPayload(models.Model):
    """A captured JSON value, stored once per tenant and content: an object's payload (its JSON,
    without secret values) or its assignments. Every backup item of the tenant whose payload (or
    assignments) has the same canonical JSON refers to the same row, so unchanged nights add
    item rows, not payloads or assignments. A row has no kind: equal JSON is one row."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the payload's canonical JSON.")
    payload = models.JSONField(default=dict)

    objects = BackupPayloadManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "digest"], name="backuppayload_unique_digest")
        ]

    def __str__(self) -> str:
        return f"payload {self.digest[:12]} (tenant {self.tenant_id})"


_NOT_SET = object()

#: An item's JSON values stored once per tenant and content (``BackupPayload``): the attribute
#: the code reads and writes -> the item's reference to its stored row.
_INTERNED = {"payload": "stored_payload", "assignments": "stored_assignments"}
#: Of those, the ones that can be None ("could not be captured"): no stored row, a null reference.
_NULLABLE = frozenset({"assignments"})


def _pending_key(name: str) -> str:
    return f"_{name}_pending"


def _stored_key(name: str) -> str:
    """Where an item keeps (reference id, value) of what it just stored: read back without a
    query (or a row object) while its reference still has that id."""
    return f"_{name}_stored"


class BackupItemQuerySet(models.QuerySet["BackupItem"]):
    """Items read with their stored payload and assignments (joined, never a query per item).
    ``bulk_create`` stores the ``payload`` and ``assignments`` assigned to new items. Queries
    name the stored rows: ``stored_payload__payload__<path>``, ``stored_assignments__payload``,
    ``stored_assignments__isnull=True`` (assignments not captured); ``payload`` and
    ``assignments`` are not columns, so a lookup on them is an error. To change a stored
    item's payload, assign it and ``save(update_fields=["payload"])``."""

    def bulk_create(  # type: ignore[override]
        self, objs: Iterable[BackupItem], *args: Any, **kwargs: Any
    ) -> list[BackupItem]:
        items = list(objs)
        if transaction.get_connection(self.db).in_atomic_block:
            backup_items_intern_payloads(items, using=self.db)
            return list(super().bulk_create(items, *args, **kwargs))  # type: ignore[arg-type]
        try:
            return self._intern_and_create(items, *args, **kwargs)
        except IntegrityError:
            # In its own transaction, a stored value that a retention sweep deleted between
            # being found and being referred to fails the insert (foreign key): store it again.
            for item in items:
                item.pk = None
                item._state.adding = True
                for name, reference in _INTERNED.items():
                    known = item.__dict__.get(_stored_key(name))
                    if known is not None:
                        setattr(item, name, known[1])
                    elif reference in item._state.fields_cache:
                        row = item._state.fields_cache[reference]
                        setattr(item, name, None if row is None else row.payload)
            return self._intern_and_create(items, *args, **kwargs)

    def _intern_and_create(
        self, items: list[BackupItem], *args: Any, **kwargs: Any
    ) -> list[BackupItem]:
        with transaction.atomic(using=self.db):
            backup_items_intern_payloads(items, using=self.db)
            return list(super().bulk_create(items, *args, **kwargs))  # type: ignore[arg-type]


class BackupItemManager(models.Manager["BackupItem"]):
    def get_queryset(self) -> BackupItemQuerySet:
        return BackupItemQuerySet(self.model, using=self._db).select_related(*_INTERNED.values())

    def bulk_create(
        self, objs: Iterable[BackupItem], *args: Any, **kwargs: Any
    ) -> list[BackupItem]:
        return self.get_queryset().bulk_create(objs, *args, **kwargs)


def backup_items_intern_payloads(items: Sequence[BackupItem], *, using: str | None = None) -> None:
    """Point each unsaved item at its tenant's stored copies of its payload and assignments
    (one lookup per chunk of digests, one insert for the new ones; no row for assignments that
    could not be captured)."""
    pending = [item for item in items if any(item.interned_pending(name) for name in _INTERNED)]
    if not pending:
        return
    tenant_of_set: dict[int, int] = {}
    unknown = set()
    for item in pending:
        cached = item._state.fields_cache.get("backup_set")
        if cached is not None:
            tenant_of_set[item.backup_set_id] = cached.tenant_id
        else:
            unknown.add(item.backup_set_id)
    unknown -= set(tenant_of_set)
    if unknown:
        tenant_of_set.update(
            BackupSet.objects.using(using)
            .filter(pk__in=sorted(unknown))
            .values_list("pk", "tenant_id")
        )
    by_tenant: dict[int, list[BackupItem]] = defaultdict(list)
    for item in pending:
        by_tenant[tenant_of_set[item.backup_set_id]].append(item)
    manager = BackupPayload.objects.db_manager(using)
    for tenant_id, tenant_items in by_tenant.items():
        values: list[Any] = []
        targets: list[tuple[BackupItem, str]] = []
        for item in tenant_items:
            for name, reference in _INTERNED.items():
                if not item.interned_pending(name):
                    continue
                value = item.__dict__.get(_pending_key(name), _NOT_SET)
                if value is _NOT_SET:  # a new item's payload never assigned: the default
                    value = {}
                if value is None and name in _NULLABLE:
                    setattr(item, f"{reference}_id", None)
                    item.__dict__.pop(_pending_key(name), None)
                    item.__dict__.pop(_stored_key(name), None)
                else:
                    values.append(value)
                    targets.append((item, name))
        stored = manager.intern(tenant_id=tenant_id, payloads=values) if values else []
        for (item, name), value, row in zip(targets, values, stored, strict=True):
            # The reference only (no row object is built); the value stays readable on the
            # item without a query for as long as the reference is unchanged.
            setattr(item, f"{_INTERNED[name]}_id", row.pk)
            item.__dict__[_stored_key(name)] = (row.pk, value)
            item.__dict__.pop(_pending_key(name), None)


def _interned_property(name: str, doc: str) -> property:
    """``name`` of an item as if it were its own JSON column: read from its stored row (joined
    by the default manager); assigned, it is stored on ``save()`` or ``bulk_create``."""
    reference = _INTERNED[name]
    attname = f"{reference}_id"
    key = _pending_key(name)
    stored_key = _stored_key(name)

    def get(self: BackupItem) -> Any:
        pending = self.__dict__.get(key, _NOT_SET)
        if pending is not _NOT_SET:
            return pending
        reference_id = getattr(self, attname)
        known = self.__dict__.get(stored_key)
        if known is not None and reference_id is not None and known[0] == reference_id:
            return known[1]
        if reference_id is None and reference not in self._state.fields_cache:
            if name in _NULLABLE:
                return None
            self.__dict__[key] = {}  # a new item's empty payload, as the column's default was
            return self.__dict__[key]
        row = getattr(self, reference)
        return None if row is None else row.payload

    def set(self: BackupItem, value: Any) -> None:
        self.__dict__[key] = value

    return property(get, set, doc=doc)


class BackupItem(models.Model):
    """One captured Intune object."""

    # No index of its own: the unique constraint below starts with it.
    backup_set = models.ForeignKey(
        BackupSet, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    policy_type = models.CharField(max_length=80)
    category = models.CharField(max_length=80, blank=True)
    source_id = models.CharField(max_length=200)
    display_name = models.CharField(max_length=500)
    platform = models.CharField(max_length=40, blank=True)
    # The captured object (``payload`` below): stored once per tenant and content.
    stored_payload = models.ForeignKey(
        BackupPayload, on_delete=models.PROTECT, related_name="items"
    )
    # Its assignments (``assignments`` below), stored the same way; null when not captured.
    stored_assignments = models.ForeignKey(
        BackupPayload,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignment_items",
        help_text="Null when they could not be captured.",
    )
    scope_tag_ids = models.JSONField(default=list, blank=True)
    source_modified_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    warnings = models.JSONField(default=list, blank=True)
    # Captured secret values (e.g. OMA-URI encrypted settings): never in `payload`.
    secrets = EncryptedJSONField()

    objects = BackupItemManager()

    payload = _interned_property(
        "payload",
        "The captured object as read from Graph (never its secret values: see ``secrets``).",
    )
    assignments = _interned_property(
        "assignments",
        "The object's assignments as captured; None when they could not be captured ([] when "
        "it has none).",
    )

    class Meta:
        ordering = ["policy_type", "display_name"]
        # The only item index besides the references': every item query is within one set
        # (this index's prefix) and a set's items are few enough to group and sort without a
        # covering index (per-night storage counts: bench/storage_nights.py).
        constraints = [
            models.UniqueConstraint(
                fields=["backup_set", "policy_type", "source_id"], name="backupitem_unique_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} [{self.policy_type}]"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:  # ``payload``/``assignments``: saved as their references
            kwargs["update_fields"] = {_INTERNED.get(name, name) for name in update_fields}
        pending = [name for name in _INTERNED if self.interned_pending(name)]
        if pending:
            backup_items_intern_payloads([self], using=kwargs.get("using"))
            if update_fields is not None:
                kwargs["update_fields"].update(_INTERNED[name] for name in pending)
        super().save(*args, **kwargs)

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        for name in _INTERNED:
            self.__dict__.pop(_pending_key(name), None)
            self.__dict__.pop(_stored_key(name), None)
        super().refresh_from_db(*args, **kwargs)

    def interned_pending(self, name: str) -> bool:
        """True while ``name`` (``payload`` or ``assignments``) is not stored yet: assigned a
        new value, or a new item's payload."""
        if _pending_key(name) in self.__dict__:
            return True
        reference = _INTERNED[name]
        return (
            name not in _NULLABLE
            and getattr(self, f"{reference}_id") is None
            and reference not in self._state.fields_cache
        )

    @property
    def payload_pending(self) -> bool:
        """True while the payload is not stored yet (a new item, or one given a new payload)."""
        return self.interned_pending("payload")


@receiver(post_delete, sender=BackupSet)
def _backup_set_deleted(sender: type[BackupSet], instance: BackupSet, **kwargs: Any) -> None:
    """However a backup set is deleted (retention, a snapshot taken again, the shell), the
    payloads only its items used go with it, in the same transaction."""
    BackupPayload.objects.db_manager(kwargs.get("using")).delete_orphans(
        tenant_id=instance.tenant_id
    )
