"""Taking backups: start a backup set, capture a tenant into it."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import CharField, Field, JSONField
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tenantguard.accounts.permissions import Capability, ensure_capability
from tenantguard.audit.context import current_request_id
from tenantguard.audit.services import audit_event_record
from tenantguard.backups.models import (
    BackupItem,
    BackupKind,
    BackupPayload,
    BackupSet,
    BackupStatus,
)
from tenantguard.graph import GraphClient, GraphError
from tenantguard.intune import capture, normalize, registry, target, tenant_identity
from tenantguard.tenants.graph_access import TenantConfigurationError, graph_client_for
from tenantguard.tenants.models import Tenant

logger = logging.getLogger(__name__)

_BULK_SIZE = 200
#: A capture's progress is saved (an UPDATE of its set) when a type starts, and after an item
#: when the last save is ``_PROGRESS_SECONDS`` old: the progress page asks every 2 s, and an
#: unthrottled capture stores thousands of items a second (at Intune's limits they come in
#: bursts, so the count must not wait for a round number of items).
_PROGRESS_SECONDS = 0.5

ProgressCallback = Callable[[dict[str, Any]], None]


def backup_set_start(
    *,
    actor: Any,
    tenant: Tenant,
    name: str = "",
    kind: str = BackupKind.MANUAL,
    enqueue: bool = True,
) -> BackupSet:
    """Create a running backup set and (by default) queue its capture on the task worker."""
    ensure_capability(actor, tenant, Capability.BACKUP)
    return backup_set_open(actor=actor, tenant=tenant, name=name, kind=kind, enqueue=enqueue)


def backup_set_open(
    *, actor: Any, tenant: Tenant, name: str, kind: str, enqueue: bool = True
) -> BackupSet:
    """``backup_set_start`` without the permission check, for the system's own backups (the
    scheduler, with ``actor=None``). People's requests go through ``backup_set_start``."""
    with transaction.atomic():
        backup_set = BackupSet.objects.create(
            tenant=tenant,
            name=name or f"{tenant.display_name} - {timezone.now():%Y-%m-%d %H:%M} UTC",
            kind=kind,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            progress={"types_done": 0, "types_total": 0, "current_type": "", "items": 0},
        )
        audit_event_record(
            actor=actor,
            action="backup.started",
            subject=backup_set,
            tenant=tenant,
            details={"kind": kind},
        )
        if enqueue:
            from tenantguard.backups.tasks import capture_backup_set_task

            backup_set_id = backup_set.pk
            transaction.on_commit(lambda: capture_backup_set_task.enqueue(backup_set_id))
    return backup_set


def _parse_modified(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _category_of(type_key: str) -> str:
    try:
        return registry.get(type_key).category
    except KeyError:
        return "Unsupported"


def _item_row(backup_set: BackupSet, captured: Any) -> dict[str, Any]:
    """The columns of ``captured``'s backup item (by attname) but its stored references, with
    its ``payload`` and ``assignments`` (interned by ``_items_store``)."""
    scope_tag_ids = list(captured.scope_tag_ids or [])
    return {
        "backup_set_id": backup_set.pk,
        "policy_type": captured.type_key,
        "category": _category_of(captured.type_key),
        "source_id": captured.source_id,
        "display_name": (captured.display_name or captured.source_id)[:500],
        "platform": captured.platform or "",
        "scope_tag_ids": scope_tag_ids,
        "source_modified_at": _parse_modified(captured.source_modified_at),
        "content_hash": normalize.content_hash(
            captured.type_key, captured.payload, captured.assignments, scope_tag_ids
        ),
        "warnings": list(captured.warnings or []),
        "secrets": dict(captured.secrets or {}),
        "payload": captured.payload,
        # None: not captured (no stored row, a null reference); [] when it has none
        "assignments": captured.assignments,
    }


def _item_fields() -> list[Field[Any, Any]]:
    """Item fields written by ``_items_store``: every concrete column but the primary key."""
    meta = BackupItem._meta
    return [field for field in meta.concrete_fields if field is not meta.pk]


def _items_store(*, backup_set: BackupSet, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (``_item_row``) as items of ``backup_set``: their payloads and
    assignments interned (``BackupPayload.objects.intern``: stored once per tenant and
    content), then one ``INSERT`` for all rows, without a model object per item or Django's
    insert compiler per field and row (most of the storing's CPU with ``bulk_create``). Each
    value is prepared for the database by its own field, as ``bulk_create`` would; a column
    the rows do not name gets its field's default.

    Like ``BackupItem.objects.bulk_create``: in its own transaction, a stored value that a
    retention sweep deleted between being found and being referred to fails the insert
    (foreign key), and everything is stored again once."""
    if not rows:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        _items_insert(backup_set, rows)
        return
    try:
        with transaction.atomic():
            _items_insert(backup_set, rows)
    except IntegrityError:
        with transaction.atomic():
            _items_insert(backup_set, rows)


def _items_insert(backup_set: BackupSet, rows: list[dict[str, Any]]) -> None:
    values: list[Any] = []
    for row in rows:
        values.append(row["payload"])
        if row["assignments"] is not None:
            values.append(row["assignments"])
    stored = iter(BackupPayload.objects.intern(tenant_id=backup_set.tenant_id, payloads=values))
    connection = transaction.get_connection()
    fields = _item_fields()
    preparers = [(field.attname, _db_preparer(field, connection)) for field in fields]
    prepared: list[tuple[Any, ...]] = []
    for row in rows:
        row["stored_payload_id"] = next(stored).pk
        row["stored_assignments_id"] = None if row["assignments"] is None else next(stored).pk
        prepared.append(tuple(prepare(row.get(name, _DEFAULT)) for name, prepare in preparers))
    ops = connection.ops
    # names quoted by the backend, values only as parameters
    sql = " ".join(
        (
            ops.insert_statement(),
            ops.quote_name(BackupItem._meta.db_table),
            "(" + ", ".join(ops.quote_name(str(field.column)) for field in fields) + ")",
            "VALUES (" + ", ".join(["%s"] * len(fields)) + ")",
        )
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, prepared)


_DEFAULT = object()  # a column the row does not name: its field's default


def _db_preparer(field: Field[Any, Any], connection: Any) -> Callable[[Any], Any]:
    """``value -> field.get_db_prep_save(value, connection)``, with the field's default for
    ``_DEFAULT``, and without the chain of calls for the values that come out as they went in
    (a string of a ``CharField``, an integer reference or none)."""

    def prepare(value: Any) -> Any:
        if value is _DEFAULT:
            value = field.get_default()
        return field.get_db_prep_save(value, connection)

    if type(field) is CharField:
        return lambda value: value if type(value) is str else prepare(value)
    if field.is_relation:
        nullable = field.null
        return lambda value: (
            value if type(value) is int or (value is None and nullable) else prepare(value)
        )
    if isinstance(field, JSONField):
        # most items carry the same few small lists (scope tags ["0"], no warnings): each
        # distinct one prepared once per insert
        known: dict[tuple[str, ...], Any] = {}

        def prepare_json(value: Any) -> Any:
            if type(value) is not list or len(value) > 4 or len(known) > 64:
                return prepare(value)
            key = tuple(value)
            if not all(type(element) is str for element in key):
                return prepare(value)
            if key not in known:
                known[key] = prepare(value)
            return known[key]

        return prepare_json
    return prepare


def _backup_set_finish(
    *,
    backup_set: BackupSet,
    status: str,
    warnings: list[dict[str, Any]],
    group_names: dict[str, str],
    error: str,
    progress: dict[str, Any],
) -> None:
    with transaction.atomic():
        finished = {
            "status": status,
            "captured_at": timezone.now(),
            "item_count": BackupItem.objects.filter(backup_set=backup_set).count(),
            "warnings": warnings,
            "group_names": group_names,
            "progress": dict(progress),
            "error": error,
        }
        # Only a set still running is finished: one failed meanwhile (as stale, while this
        # capture was slow to report) keeps its recorded, audited failure.
        if not BackupSet.objects.filter(pk=backup_set.pk, status=BackupStatus.RUNNING).update(
            **finished
        ):
            backup_set.refresh_from_db()
            logger.warning(
                "Backup set %s finished its capture (%s) after it had been marked %s; it stays %s.",
                backup_set.pk,
                status,
                backup_set.status,
                backup_set.status,
            )
            return
        for name, value in finished.items():
            setattr(backup_set, name, value)
        audit_event_record(
            actor=backup_set.created_by,
            action=f"backup.{status}",
            subject=backup_set,
            tenant=backup_set.tenant,
            details={
                "item_count": backup_set.item_count,
                "warning_count": len(warnings),
                "error": error,
            },
        )


def backup_set_store_captured(
    *,
    backup_set: BackupSet,
    items: list[Any],
    warnings: list[dict[str, Any]],
    group_names: dict[str, str],
) -> BackupSet:
    """Finish ``backup_set`` from objects already read: the pre-restore snapshot reuses the
    executor's read of the target instead of reading the tenant a second time."""
    for start in range(0, len(items), _BULK_SIZE):
        _items_store(
            backup_set=backup_set,
            rows=[_item_row(backup_set, item) for item in items[start : start + _BULK_SIZE]],
        )
    _backup_set_finish(
        backup_set=backup_set,
        status=BackupStatus.PARTIAL if warnings else BackupStatus.COMPLETED,
        warnings=warnings,
        group_names=group_names,
        error="",
        progress={"items": len(items)},
    )
    return backup_set


@contextmanager
def _process_objects_frozen() -> Iterator[None]:
    """Inside the block, the garbage collector leaves alone the objects that existed before
    it (``gc.freeze``): Django, the app's modules, the worker's own state, about 160,000
    objects in a backup worker, that a capture's full collections would otherwise scan again
    and again (about an eighth of an unthrottled backup's CPU). They are handed back to the
    collector (``gc.unfreeze``) when the block ends; one that becomes garbage during the
    capture is collected then. Garbage left by earlier work (a worker's previous task) is
    collected first, so it is not kept for the whole capture. Left to whoever froze objects
    before (a server that freezes at start-up)."""
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _group_names(
    client: GraphClient, group_ids: set[str]
) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Names of the groups assignments use, and a warning when some are gone or unreadable."""
    if not group_ids:
        return {}, None
    try:
        found = {
            g["id"]: g.get("displayName", "")
            for g in target.find_groups(client, ids=sorted(group_ids))
        }
    except GraphError as exc:
        return {}, {
            "type_key": "groups",
            "source_id": None,
            "permission": "Group.Read.All",
            "message": f"Group names could not be read ({exc}). Assignments are captured with group ids only; "
            "grant the app Group.Read.All to see names.",
        }
    missing = sorted(group_ids - set(found))
    if not missing:
        return found, None
    return found, {
        "type_key": "groups",
        "source_id": None,
        "permission": None,
        "message": f"{len(missing)} assigned group(s) no longer exist in the tenant: "
        + ", ".join(missing[:10]),
    }


def _record_source_identity(backup_set: BackupSet, client: GraphClient) -> None:
    """Keep the tenant's own identifiers (``organization``) with the backup: a restore into
    another tenant finds them in payloads. Optional: without Organization.Read.All the restore
    falls back to the tenant's record."""
    try:
        identity = tenant_identity.read_identity(client)
    except GraphError as exc:
        logger.info("Backup set %s: organization not read (%s)", backup_set.pk, exc)
        return
    BackupSet.objects.filter(pk=backup_set.pk).update(source_identity=identity.to_json())
    backup_set.source_identity = identity.to_json()


def backup_set_capture(
    *,
    backup_set: BackupSet,
    client: GraphClient | None = None,
    type_keys: list[str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> BackupSet:
    """Read the tenant into ``backup_set``; finishes completed, partial (warnings) or failed.

    ``type_keys`` limits the capture to those types. Items are written in chunks so a
    5,000-object tenant never sits in memory at once.
    """
    with _process_objects_frozen():
        return _backup_set_capture(
            backup_set=backup_set, client=client, type_keys=type_keys, on_progress=on_progress
        )


def _backup_set_capture(
    *,
    backup_set: BackupSet,
    client: GraphClient | None,
    type_keys: list[str] | None,
    on_progress: ProgressCallback | None,
) -> BackupSet:
    tenant = backup_set.tenant
    warnings: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    group_ids: set[str] = set()
    counts: dict[str, Any] = {"items": 0, "types_done": 0, "types_total": 0, "current_type": ""}

    def flush() -> None:
        if pending:
            _items_store(backup_set=backup_set, rows=pending)
            pending.clear()

    saved_at = [time.monotonic()]

    def save_progress() -> None:
        counts["updated_at"] = timezone.now().isoformat()  # how stale detection sees it alive
        BackupSet.objects.filter(pk=backup_set.pk).update(
            progress=dict(counts), item_count=counts["items"]
        )
        saved_at[0] = time.monotonic()
        if on_progress is not None:
            on_progress(dict(counts))

    def progress(event: Any) -> None:
        type_key = (
            event.get("type_key") if isinstance(event, dict) else getattr(event, "type_key", "")
        )
        counts["types_total"] = (
            event.get("types_total")
            if isinstance(event, dict)
            else getattr(event, "types_total", 0)
        ) or counts["types_total"]
        if type_key and type_key != counts["current_type"]:
            if counts["current_type"]:
                counts["types_done"] += 1
            counts["current_type"] = type_key
            flush()
            save_progress()

    try:
        client = client or graph_client_for(tenant)
        for captured in capture.iter_capture(client, type_keys=type_keys, progress=progress):
            if isinstance(captured, capture.CaptureWarning):
                warnings.append(
                    {
                        "type_key": captured.type_key,
                        "source_id": captured.source_id,
                        "message": captured.message,
                        "permission": captured.permission,
                    }
                )
                continue
            pending.append(_item_row(backup_set, captured))
            group_ids.update(captured.group_refs or ())
            for message in captured.warnings or []:
                warnings.append(
                    {
                        "type_key": captured.type_key,
                        "source_id": captured.source_id,
                        "message": f"{captured.display_name}: {message}",
                        "permission": None,
                    }
                )
            counts["items"] += 1
            if len(pending) >= _BULK_SIZE:
                flush()
            if time.monotonic() - saved_at[0] >= _PROGRESS_SECONDS:
                save_progress()
        flush()
        group_names, group_warning = _group_names(client, group_ids)
        if group_warning:
            warnings.append(group_warning)
        _record_source_identity(backup_set, client)
        status = BackupStatus.PARTIAL if warnings else BackupStatus.COMPLETED
        error = ""
    except (GraphError, TenantConfigurationError) as exc:
        flush()
        group_names = {}
        status = BackupStatus.FAILED
        error = str(exc)
        logger.warning("Backup set %s failed: %s", backup_set.pk, error)
    except Exception:
        # Never leave a set "running" behind an unexpected error: it would hold the tenant's
        # scheduled backups until stale detection gives up on it.
        logger.exception("Backup set %s failed unexpectedly", backup_set.pk)
        _backup_set_finish(
            backup_set=backup_set,
            status=BackupStatus.FAILED,
            warnings=warnings,
            group_names={},
            error="An unexpected error stopped the backup (details are in the server log under "
            f"request id {current_request_id()}). Run it again.",
            progress=counts,
        )
        raise

    counts["types_done"] = counts["types_total"] or counts["types_done"]
    counts["current_type"] = ""
    _backup_set_finish(
        backup_set=backup_set,
        status=status,
        warnings=warnings,
        group_names=group_names,
        error=error,
        progress=counts,
    )
    if on_progress is not None:
        on_progress(dict(counts))
    return backup_set


#: A backup whose capture no task worker has picked up for this long is failed: nothing serves
#: the queue (no worker runs), and the tenant's schedule must not wait on it for ever.
BACKUP_QUEUE_GIVE_UP = timedelta(hours=24)

#: A running backup set that has not reported progress for this long is presumed dead (its
#: worker stopped): ``backup_sets_fail_stale`` marks it failed so it blocks nothing any more.
BACKUP_STALE_AFTER = timedelta(hours=2)


def backup_set_mark_started(*, backup_set: BackupSet) -> bool:
    """A worker picked ``backup_set`` up: stamp its first sign of life, so the stale check
    measures from now and not from when it was queued. ``False`` (nothing stamped) when it is
    no longer running: failed while it waited in the queue."""
    progress = {**(backup_set.progress or {}), "updated_at": timezone.now().isoformat()}
    started = BackupSet.objects.filter(pk=backup_set.pk, status=BackupStatus.RUNNING).update(
        progress=progress
    )
    if started:
        backup_set.progress = progress
    else:
        backup_set.refresh_from_db()
    return bool(started)


def _capture_still_queued(backup_set: BackupSet) -> bool:
    """Whether the database task queue still holds ``backup_set``'s capture, not yet picked up
    by a worker (``False`` with another task backend: nothing to ask)."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from tenantguard.backups.tasks import capture_backup_set_task

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        task_path=capture_backup_set_task.module_path,
        args_kwargs__args__0=backup_set.pk,
    ).exists()


def backup_sets_fail_stale(*, tenant: Tenant, now: datetime | None = None) -> list[BackupSet]:
    """Mark ``tenant``'s running backup sets failed when they have not reported for
    ``BACKUP_STALE_AFTER`` (audited, with what to do). Pre-restore snapshots are left to their
    restore run, which ends or resumes them."""
    now = now or timezone.now()
    failed: list[BackupSet] = []
    for backup_set in BackupSet.objects.filter(tenant=tenant, status=BackupStatus.RUNNING).exclude(
        kind=BackupKind.PRE_RESTORE
    ):
        last = parse_datetime(str((backup_set.progress or {}).get("updated_at") or ""))
        if last is None and _capture_still_queued(backup_set):
            # Never started, its task still waiting for a free worker: a long queue (a fleet
            # of tenants, few workers) is not a stopped worker, unless nothing serves the queue.
            waited = now - backup_set.created_at
            if waited < BACKUP_QUEUE_GIVE_UP:
                continue
            reason = "never_started"
            error = (
                f"No task worker picked this backup up in {waited.total_seconds() // 3600:.0f} "
                "hours, so it was marked failed. Check that a task worker runs (`tenantguard "
                "run` starts one; in production `python -m django db_worker`), then run it again."
            )
        else:
            last = last or backup_set.created_at
            if now - last < BACKUP_STALE_AFTER:
                continue
            reason = "stale"
            error = (
                f"The backup stopped reporting at {last:%Y-%m-%d %H:%M} UTC (the task worker "
                "was probably stopped) and was marked failed. Run it again."
            )
        with transaction.atomic():
            updated = BackupSet.objects.filter(
                pk=backup_set.pk, status=BackupStatus.RUNNING
            ).update(status=BackupStatus.FAILED, error=error)
            if not updated:
                continue
            audit_event_record(
                actor=None,
                action="backup.failed",
                subject=backup_set,
                tenant=tenant,
                details={
                    "reason": reason,
                    "last_progress_at": (last or backup_set.created_at).isoformat(),
                },
            )
        failed.append(backup_set)
    return failed
