"""RestoreExecutor: writes a previewed, confirmed run to the target tenant (DESIGN.md §2).

1. Claim the run (conditional ``queued -> running``; the database allows one running run per
   tenant). A run whose tenant is busy waits for the lock, then stays queued with the reason.
2. Read the live target once for the in-scope types and capture the pre-restore snapshot of
   every in-scope target object (a ``pre_restore`` backup set linked to the run), once per run.
3. Foundations first (scope tags, filters, notification templates), recording source id ->
   target id; then policies with references rewritten by the run's resolver (the one the checks
   and the preview use: the mapping, the foundations this run created or matched, same-tenant
   ids that still exist); then assignments. An item with a reference that is unresolved at
   that point fails (``unresolved_reference``): it is never written with the source tenant's
   id.
4. Per item: re-read the target and compare it with the hash the preview saw (else
   ``changed_since_preview``), write, read back, verify, and persist the outcome (a checkpoint)
   before the item's next step: every written item is read back and verified right after its
   write, before its checkpoint is ``done`` and before its lane writes anything else.
   Cancellation is honoured between items. Nothing is ever deleted. With
   ``TENANTGUARD_RESTORE_CONCURRENCY`` > 1, independent items of one type run at the same
   time, their Graph waits overlapping (``RestoreExecutor._restore_concurrently``). Only the
   payloads of the items in flight are held (``RestoreExecutor._loaded``).
5. Finish ``completed`` (every written item verified), ``partial`` or ``failed``.

Resume: checkpoints make a second execution of the same run continue where the first stopped.
An item whose create was started but not recorded (the worker died in between) is recognised
by its ``creating`` checkpoint: the object found by name in the target is adopted, never
created twice.

Unclear answers: a create whose answer was lost (504, timeout, dropped connection: the Graph
client raises ``OutcomeUnknownError`` and never resends it) may have been applied. The executor
then looks in the target for an object of that type and name that was not there before and,
where Graph gives ``createdDateTime``, was created after the request went out
(``target.find_created``): one is adopted (recorded as created, completed and verified as
usual, its reason says so), none means the create is sent again (at most
``MAX_CREATE_ATTEMPTS`` times), several fail the item with the ids found (never a guess). A
resumed ``creating`` checkpoint is resolved the same way. Child writes after a create
(``PartialWriteError``) and updates whose answer was lost are completed by reading the object
again and writing only what still differs.

One item never stops the others: any failure of an item (Graph, database, a payload that is
not an object, secrets that cannot be decrypted, anything unexpected) updates that item's
single checkpoint as ``failed`` with a message, and the run goes on to end ``partial`` (or
``failed`` when nothing was written).
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import groupby
from typing import Any, cast, overload

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from tenantguard.backups.models import BackupItem, BackupKind, BackupSet, BackupStatus
from tenantguard.backups.services import backup_set_store_captured
from tenantguard.crypto import decryption_problem
from tenantguard.graph import GraphClient, GraphError, OutcomeUnknownError
from tenantguard.intune import normalize, reference_kinds, references, registry, target, write
from tenantguard.intune.assignment_plan import AssignmentMode
from tenantguard.intune.capture import CapturedItem
from tenantguard.restores.models import (
    CHANGED_SINCE_PREVIEW_REASON,
    OUTCOMES_WITH_TARGET,
    ExecutionStage,
    ItemOutcome,
    PreviewAction,
    RestoreItemOutcome,
    RestoreRun,
    RestoreStatus,
)
from tenantguard.restores.services.diff import target_hash
from tenantguard.restores.services.errors import RestoreRunError
from tenantguard.restores.services.fingerprint import effective_options, normalized_mapping
from tenantguard.restores.services.runs import (
    restore_run_cancel_requested,
    restore_run_claim,
    restore_run_finish,
    restore_run_heartbeat,
)
from tenantguard.restores.services.source import (
    ReferenceResolver,
    TenantIdentities,
    assignments_plan,
    build_resolver,
    foundation_type_keys,
    intended_item,
    load_source,
    load_target_groups,
    policy_type_of,
    restore_order,
    singular,
    with_kept_elements,
)
from tenantguard.restores.services.target_read import restore_target_reads_forget
from tenantguard.tenants.graph_access import TenantConfigurationError, graph_client_for

logger = logging.getLogger(__name__)

#: How long a run waits for another run of the same tenant to finish before it gives up
#: (it then stays queued and can be queued again).
LOCK_WAIT_SECONDS = 600.0
LOCK_POLL_SECONDS = 2.0
#: Before a create, the target's names of that type are listed again when the last listing is
#: older than this: "re-read before each write" for objects that do not exist yet, at the cost
#: of one paged ``$select`` listing per type and interval.
CREATE_RECHECK_SECONDS = 15.0
#: After an unclear answer to a create: seconds to let Graph finish before looking for the
#: object (a gateway that timed out may still be forwarding it), how many creates are sent at
#: most while none is found, and how much earlier than our clock Graph's ``createdDateTime`` of
#: our own object may read (clock skew between this host and Microsoft's).
LOST_CREATE_SETTLE_SECONDS = 5.0
MAX_CREATE_ATTEMPTS = 3
LOST_CREATE_CLOCK_SKEW = timedelta(minutes=5)
ADOPTED_REASON = (
    "Graph did not confirm the create ({why}); the object it had created was found in the "
    "target and adopted: created once."
)
RESUMED_REASON = "Recovered after an interrupted run: created once."
#: While a run executes, a thread of the worker sends its heartbeat this often, also while one
#: item takes long (Graph's Retry-After can hold a request for minutes): the automatic resume
#: (``recovery.py``, after 5 minutes without one) must never take over a live worker's run.
HEARTBEAT_EVERY_SECONDS = 60.0
#: An executor that saves no checkpoint for this long is presumed hung: its heartbeat thread
#: stops, so the run is taken over instead of holding the tenant's lock for ever. Far above
#: the longest an item takes (a few requests, each within the client's retry budget of 5 min).
HEARTBEAT_MAX_SILENCE_SECONDS = 3600.0
#: Items restored at once when the Django setting ``TENANTGUARD_RESTORE_CONCURRENCY`` is not
#: set (config/settings.py sets it, default 4). Measured (bench/README.md, issue 10,
#: "Execution"): against a loopback emulator at Intune's limits 1,000 updates take 186.2 s
#: (96.7 % of the 180 s write floor; the first window's requests and the CPU before the first
#: write bound it, not the item concurrency); with 100 ms per answer it restored 300 updates in 62.6 s instead of 154.3 s
#: (4.8 instead of 1.9 writes per second), i.e. it is what keeps the writes at Intune's budget
#: (5 per second) at real Graph latencies.
#: Each item still goes re-read, checkpoint, write, checkpoint, read back, checkpoint; only the
#: Graph requests of different items overlap (the database work is one thread at a time on the
#: run's connection, ``_SharedConnection``). The pacers decide what may be sent. With 1 the
#: items run one after the other, in restore order, on the run's thread.
ITEM_CONCURRENCY = 1


def item_concurrency() -> int:
    """Items a run restores at once (at least 1)."""
    value = getattr(settings, "TENANTGUARD_RESTORE_CONCURRENCY", None)
    return max(1, int(value)) if value else ITEM_CONCURRENCY


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _SourceItemGone(RestoreRunError):
    """An item's row is no longer in the run's backup set when its steps run (``_loaded``)."""


@dataclass(frozen=True, slots=True)
class _ItemRow:
    """What orders a backup item in the run and lanes it (``_work_items``): its payload,
    assignments and secrets are read when the item's own steps run (``_loaded``)."""

    pk: int
    policy_type: str
    source_id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the preview planned for an item: its ``RestorePreviewItem`` without the diff."""

    action: str
    target_id: str
    target_hash: str
    reason: str


def _payload_needed_to_plan(type_key: str) -> bool:
    """Items of ``type_key`` are ordered by a value in their payload (``_restore_sequence``),
    or may be the tenant's own default object: ``_work_items`` reads their payloads to know."""
    ptype = registry.POLICY_TYPES.get(type_key)
    if ptype is None:
        return False
    return bool(
        ptype.priority is not None
        or ptype.singleton is not None
        or ptype.default_flag
        or ptype.default_id_suffix
    )


@dataclass(slots=True)
class _WorkItem:
    """One in-scope backup item with what the preview planned for it."""

    position: int
    backup_item: Any
    planned: _Plan | None
    #: The backup item is the tenant's own default of its type (``PolicyType.is_tenant_default``
    #: of its payload), known before its payload is read.
    is_default: bool = False

    @property
    def type_key(self) -> str:
        return str(self.backup_item.policy_type)

    @property
    def source_id(self) -> str:
        return str(self.backup_item.source_id)

    @property
    def ptype(self) -> registry.PolicyType:
        return policy_type_of(self.type_key)


def _kind_of_foundation(type_key: str) -> str | None:
    """The reference kind a foundation type's ids belong to (``reference_kinds``), None for
    types nothing refers to."""
    kind = reference_kinds.kind_of_type(type_key)
    return kind.key if kind is not None else None


class UnresolvedReferenceError(write.WriteError):
    """An item refers to something the run's resolver cannot resolve at execution time (the
    mapped object is gone, a foundation of the run was not restored, ...): it is not written,
    never with the source tenant's id."""


@dataclass
class _Intended:
    payload: dict[str, Any]
    #: The backup's assignments after the mapping (explicitly skipped ones left out); the list
    #: written is ``source.assignments_plan`` of these and the target's current ones.
    assignments: list[dict[str, Any]] | None
    scope_tag_ids: list[str]
    skipped_assignments: int = 0
    assignment_mode: AssignmentMode = "replace"
    #: Captured secret values to send (source identifiers replaced when chosen).
    secrets: Any = field(default=None, repr=False)


@dataclass
class RestoreExecutor:
    run: RestoreRun
    worker_id: str
    client: GraphClient
    foundation_ids: dict[str, dict[str, str]] = field(default_factory=dict)
    # The run's reference resolver (``source.build_resolver``, as the checks and the preview),
    # told the ids of the foundations this run created or matched (``foundation_ids``).
    _resolver: ReferenceResolver | None = None
    # Reads saved for later steps of the same item (never persisted: a resumed run reads again).
    # The target's assignments as read before a body write (a PATCH/PUT of the body leaves
    # them as they are), and reads after which nothing was written (they are the read-back).
    _assignments_read: dict[tuple[str, str], list[dict[str, Any]] | None] = field(
        default_factory=dict
    )
    _unchanged_reads: dict[tuple[str, str], CapturedItem] = field(default_factory=dict)
    # Names of each type's live objects and when they were listed, for the check before a create.
    create_recheck_seconds: float = field(default_factory=lambda: CREATE_RECHECK_SECONDS)
    _live_names: dict[str, tuple[float, dict[str, list[str]]]] = field(default_factory=dict)
    lost_create_settle_seconds: float = field(default_factory=lambda: LOST_CREATE_SETTLE_SECONDS)
    # The last saved checkpoint of each item: every failure path updates this row.
    _checkpoints: dict[tuple[str, str], RestoreItemOutcome] = field(default_factory=dict)
    # Called at each checkpoint: the heartbeat thread beats only while the executor progresses.
    on_progress: Callable[[], None] | None = None
    #: Items restored at once (see ``ITEM_CONCURRENCY``).
    concurrency: int = field(default_factory=item_concurrency)
    # While items run on worker threads: the one database connection they share (the run's),
    # used by one thread at a time (``_SharedConnection``).
    _database: _SharedConnection | None = None
    # Objects this run created, per type and name: seen by the check before a create whatever
    # the age of the type's listing (``_live_ids``).
    _created_names: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # One lock per type (``_names_lock``) guards that type's ``_live_names`` and
    # ``_created_names`` entries. It is held only to read or swap them, never across a Graph
    # request (which hands the run's database connection to other threads and takes it back):
    # a thread holding the connection may wait for it, never the other way round.
    _names_locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _names_locks_guard: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Set when an item's worker stopped with an error: the other lanes start no further item.
    _stop_starting: threading.Event = field(default_factory=threading.Event, repr=False)

    def _names_lock(self, type_key: str) -> threading.Lock:
        with self._names_locks_guard:
            return self._names_locks.setdefault(type_key, threading.Lock())

    def _live_ids(self, type_key: str, display_name: str) -> list[str]:
        """Ids of the target objects of this type and name, listed at most
        ``create_recheck_seconds`` ago (one cheap ``$select`` listing per type), and the ones
        this run created."""
        lock = self._names_lock(type_key)
        with lock:
            read_at, names = self._live_names.get(type_key, (None, {}))
        now = time.monotonic()
        if read_at is None or now - read_at >= self.create_recheck_seconds:
            names = target.live_names(self.client, type_key=type_key)  # outside the lock
            with lock:
                self._live_names[type_key] = (now, names)
        with lock:
            created = self._created_names.get(type_key, {}).get(display_name, [])
            ids = list(names.get(display_name, []))
            return ids + [object_id for object_id in created if object_id not in ids]

    # ---- setup ---------------------------------------------------------------------------

    @property
    def _source(self) -> BackupSet:
        if self.run.backup_set is None:  # the policy never queues a run without one
            raise RestoreRunError(f"Restore run #{self.run.pk} has no backup set to restore.")
        return self.run.backup_set

    def _work_items(self) -> list[_WorkItem]:
        """The run's items in restore order, each with what the preview planned for it.

        Only what orders and lanes them is held (``_ItemRow``, the preview's plan without its
        diff): each item's payload, assignments and secrets are read when its steps run
        (``_loaded``), so a run of 20,000 items never holds every payload at once."""
        run = self.run
        items = BackupItem.objects.filter(backup_set=self._source).select_related(None)
        if run.scope_mode == "selected":
            items = items.filter(pk__in=[int(pk) for pk in run.requested_items or []])
        rows = [
            _ItemRow(pk=pk, policy_type=type_key, source_id=source_id, display_name=name)
            for pk, type_key, source_id, name in items.values_list(
                "pk", "policy_type", "source_id", "display_name"
            ).iterator(chunk_size=2000)
        ]
        # The few items whose payload orders them or makes them the tenant's default.
        ranks: dict[int, int] = {}
        defaults: set[int] = set()
        needed = [row.pk for row in rows if _payload_needed_to_plan(row.policy_type)]
        for start in range(0, len(needed), 500):
            for item in BackupItem.objects.filter(pk__in=needed[start : start + 500]):
                ranks[item.pk] = _priority_rank(item.policy_type, item.payload)
                if isinstance(item.payload, dict) and policy_type_of(
                    item.policy_type
                ).is_tenant_default(item.payload):
                    defaults.add(item.pk)
        planned = {
            (type_key, source_id): _Plan(
                action=action, target_id=target_id, target_hash=target_hash, reason=reason
            )
            for type_key, source_id, action, target_id, target_hash, reason in (
                run.preview_items.values_list(
                    "policy_type", "source_id", "action", "target_id", "target_hash", "reason"
                ).iterator(chunk_size=2000)
            )
        }
        rows.sort(key=lambda row: _restore_sequence(row, rank=ranks.get(row.pk, 0)))
        return [
            _WorkItem(
                position=index,
                backup_item=row,
                planned=planned.get((row.policy_type, row.source_id)),
                is_default=row.pk in defaults,
            )
            for index, row in enumerate(rows)
        ]

    @contextmanager
    def _loaded(self, item: _WorkItem) -> Iterator[None]:
        """``item.backup_item`` as the full ``BackupItem`` (payload, assignments, secrets)
        for the block, read by its primary key; its ``_ItemRow`` again after: the run holds
        the payloads of the items in flight only."""
        row = item.backup_item
        if not isinstance(row, _ItemRow):  # already full (built so by a caller)
            yield
            return
        try:
            item.backup_item = BackupItem.objects.get(pk=row.pk, backup_set=self._source)
        except BackupItem.DoesNotExist:
            raise _SourceItemGone(
                f"Backup item '{row.display_name}' ({row.policy_type} {row.source_id}) is no "
                f"longer in backup set #{self._source.pk} this run restores from: it was "
                "deleted or moved during the run. Run the checks and the preview again to "
                "restore it."
            ) from None
        try:
            yield
        finally:
            item.backup_item = row

    def _checkpointed(self) -> set[tuple[str, str]]:
        """The (type, source id) of the items with a checkpoint from an earlier execution of
        the run, and the foundations' target ids it recorded (``foundation_ids``): values, not
        the rows (with their differences); an item's row is read when its own steps run."""
        keys: set[tuple[str, str]] = set()
        for type_key, source_id, target_id, outcome in self.run.item_outcomes.values_list(
            "policy_type", "source_id", "target_id", "outcome"
        ).iterator(chunk_size=2000):
            keys.add((type_key, source_id))
            kind = _kind_of_foundation(type_key)
            if kind and target_id and outcome in OUTCOMES_WITH_TARGET:
                self.foundation_ids.setdefault(kind, {})[source_id] = target_id
        return keys

    # ---- the run ---------------------------------------------------------------------------

    def execute(self) -> RestoreRun:
        options = effective_options(self.run)
        mapping = normalized_mapping(self.run.group_mapping)
        work = self._work_items()
        checkpointed = self._checkpointed()

        writable_types = sorted({w.type_key for w in work if write.is_writable(w.type_key)})
        # The foundation types too: references are resolved against them like in the preview.
        read_types = sorted(set(writable_types) | set(foundation_type_keys()))
        state = target.read_target(self.client, type_keys=read_types)
        self._ensure_snapshot(work, state, writable_types)
        self._resolver = self._build_resolver(state)

        # Work items are in restore order (foundations first), so by the time a policy is
        # written its scope tags, filters and templates exist and their ids are known.
        if self.concurrency > 1:
            cancelled = self._restore_concurrently(work, checkpointed, mapping, options)
            return self._finish(cancelled=cancelled)
        for item in work:
            if self._should_stop():
                return self._finish(cancelled=True)
            self._restore_work_item(item, checkpointed, mapping, options)
        return self._finish(cancelled=False)

    def _restore_work_item(
        self,
        item: _WorkItem,
        checkpointed: set[tuple[str, str]],
        mapping: dict[str, Any],
        options: dict[str, bool],
    ) -> None:
        key = (item.type_key, item.source_id)
        try:
            # an earlier execution's checkpoint, read now: the run holds the rows of the items
            # in flight only
            checkpoint = self._stored_checkpoint(item) if key in checkpointed else None
            if checkpoint is not None and checkpoint.stage == ExecutionStage.DONE:
                return  # finished by an earlier execution: nothing to read, nothing to write
            if checkpoint is not None:
                self._checkpoints[key] = checkpoint
            with self._loaded(item):
                self._restore_item(item, mapping, options, checkpoint)
        except (_LostClaim, ConnectionSharingError):
            raise
        except Exception as exc:  # one item's failure never stops the others
            self._fail_item(item, exc)
        finally:
            # Done (written, read back and verified, or failed): the run keeps nothing of the
            # items it is not working on (an item whose assignments were not restored, e.g.
            # with assignments off, would otherwise leave its target assignments behind).
            self._checkpoints.pop(key, None)
            self._assignments_read.pop(key, None)
            self._unchanged_reads.pop(key, None)

    # ---- several items at once -------------------------------------------------------------

    def _restore_concurrently(
        self,
        work: list[_WorkItem],
        checkpointed: set[tuple[str, str]],
        mapping: dict[str, Any],
        options: dict[str, bool],
    ) -> bool:
        """Restore ``work`` with up to ``concurrency`` items at once; True when cancelled.

        Order is kept where it matters: a type starts only when every item of the types
        before it in restore order is done (the ids of the foundations a policy refers to are
        known when it is written, parents exist before their children), and items of one type
        that may touch the same target object (same name, same planned target) and the creates
        of one type run one after the other in one lane (``_lanes``). Each item keeps its own
        sequence: re-read, checkpoint, write, checkpoint, read back, checkpoint.

        Every thread uses the run's own database connection (its transactions, the claim check
        in the checkpoint's transaction), one thread at a time: a worker holds it except while
        its Graph requests are in flight or wait for the pacers (``_SharedConnection``), so
        only the waiting overlaps."""
        database = _SharedConnection()
        self._database = database
        self._stop_starting.clear()
        client = self.client
        # the same client with its requests releasing the connection (a stand-in, not a type)
        self.client = cast(GraphClient, _ConnectionReleasingClient(client, database))
        done: queue.SimpleQueue[Future[bool]] = queue.SimpleQueue()
        cancelled = False
        errors: list[BaseException] = []
        try:
            # The pool is left last: a worker still running then can take the connection.
            with (
                ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix=f"restore-{self.run.pk}"
                ) as pool,
                database.held(),
            ):
                for _, same_order in groupby(work, key=lambda w: restore_order(w.type_key)):
                    lanes = _lanes(list(same_order))
                    running: set[Future[bool]] = set()
                    while lanes or running:
                        while lanes and len(running) < self.concurrency and not errors:
                            try:
                                cancelled = cancelled or self._should_stop()
                            except BaseException as exc:  # _LostClaim: let the others end
                                self._worker_failed(exc, errors)
                                break
                            if cancelled:
                                break
                            future = pool.submit(
                                contextvars.copy_context().run,
                                self._restore_lane,
                                lanes.pop(0),
                                checkpointed,
                                mapping,
                                options,
                            )
                            future.add_done_callback(done.put)
                            running.add(future)
                        if not running:
                            break
                        with database.released():
                            finished = done.get()
                        running.discard(finished)
                        error = finished.exception()
                        if error is not None:
                            # the others end with their current item and start no other
                            self._worker_failed(error, errors)
                        elif finished.result():
                            cancelled = True
                    if cancelled or errors:
                        break
        finally:
            self._stop_starting.set()  # whatever ended the loop: no lane starts another item
            self.client = client
            self._database = None
        if errors:
            # A lost claim first: the run is another worker's now, it must not be finished here.
            raise next((e for e in errors if isinstance(e, _LostClaim)), errors[0])
        return cancelled

    def _worker_failed(self, error: BaseException, errors: list[BaseException]) -> None:
        """Log a worker's (or the scheduling loop's) error and stop the lanes starting items."""
        self._stop_starting.set()
        errors.append(error)
        if isinstance(error, _LostClaim):
            logger.warning("Restore run %s: %s", self.run.pk, error)
        else:
            logger.error(
                "Restore run %s: a worker stopped with an error (%s); no further item is "
                "started, the run ends once the items in flight are done",
                self.run.pk,
                type(error).__name__,
                exc_info=error,
            )

    def _restore_lane(
        self,
        lane: list[_WorkItem],
        checkpointed: set[tuple[str, str]],
        mapping: dict[str, Any],
        options: dict[str, bool],
    ) -> bool:
        """Restore one lane's items in order on a worker thread; True when cancelled."""
        assert self._database is not None
        with self._database.shared_with_this_thread():
            for index, item in enumerate(lane):
                if self._stop_starting.is_set():  # another worker failed: start nothing more
                    return False
                if index and self._should_stop():
                    return True
                self._restore_work_item(item, checkpointed, mapping, options)
        return False

    def _build_resolver(self, state: target.TargetState) -> ReferenceResolver:
        """The resolver of the checks and the preview (``source.build_resolver``), from the
        same persisted run inputs and the target as read now, with the ids of the foundations
        this run creates or matches (``foundation_ids``, filled as they are written)."""
        source = load_source(self.run)
        groups = load_target_groups(self.client, source, state, suggestions=False)
        return build_resolver(
            items=source.items,
            target_state=state,
            target_groups=groups,
            backup_names=source.names,
            inputs=source.inputs,
            foundation_ids=self.foundation_ids,
        )

    def _restore_item(
        self,
        item: _WorkItem,
        mapping: dict[str, Any],
        options: dict[str, bool],
        checkpoint: RestoreItemOutcome | None,
    ) -> None:
        key = (item.type_key, item.source_id)
        if checkpoint is None or not checkpoint.is_final_for_object:
            checkpoint = self._restore_object(item, mapping, options, checkpoint)
        outcome = checkpoint
        if options["include_assignments"] and outcome.needs_assignments:
            self._restore_assignments(item, outcome, mapping)
        if outcome.needs_verification:
            self._verify(
                item, outcome, mapping, options, current=self._unchanged_reads.pop(key, None)
            )

    def _fail_item(self, item: _WorkItem, exc: Exception) -> None:
        """Record an item that failed outside the expected errors as failed, and go on."""
        key = (item.type_key, item.source_id)
        self._unchanged_reads.pop(key, None)
        self._assignments_read.pop(key, None)
        code, message = _failure_of(exc)
        logger.error(
            "Restore run %s: %s %s failed (%s); the run goes on with the next item",
            self.run.pk,
            item.type_key,
            item.source_id,
            code,
            exc_info=not isinstance(exc, GraphError | write.WriteError),
        )
        try:
            self._record(
                item,
                None,
                outcome=ItemOutcome.FAILED,
                stage=ExecutionStage.DONE,
                error_code=code,
                error_message=message,
            )
        except _LostClaim:
            raise
        except Exception:
            logger.exception(
                "Restore run %s: could not record the failure of %s %s",
                self.run.pk,
                item.type_key,
                item.source_id,
            )

    def _should_stop(self) -> bool:
        self._hold_claim()
        return restore_run_cancel_requested(run_id=self.run.pk)

    def _hold_claim(self) -> None:
        """Beat, and stop (``_LostClaim``) when the run is no longer this worker's. Called
        between items, with every checkpoint and right before every write to the target: a
        worker whose run was taken over while it hung (its heartbeat went stale, another
        worker resumed the run) writes nothing more, neither to Graph nor to the checkpoints."""
        if not restore_run_heartbeat(run_id=self.run.pk, worker_id=self.worker_id):
            raise _LostClaim(
                f"Restore run #{self.run.pk} is no longer held by worker {self.worker_id} "
                "(it was resumed elsewhere, or finished): this worker stops without writing."
            )
        if self.on_progress is not None:
            self.on_progress()

    # ---- snapshot --------------------------------------------------------------------------

    def _ensure_snapshot(
        self, work: list[_WorkItem], state: target.TargetState, type_keys: list[str]
    ) -> None:
        if BackupSet.objects.filter(
            restore_run=self.run,
            kind=BackupKind.PRE_RESTORE,
            status__in=[BackupStatus.COMPLETED, BackupStatus.PARTIAL],
        ).exists():
            return
        # A snapshot left running by a worker that died is incomplete: take it again.
        BackupSet.objects.filter(
            restore_run=self.run, kind=BackupKind.PRE_RESTORE, status=BackupStatus.RUNNING
        ).delete()
        target_ids: set[str] = set()
        for item in work:
            if item.planned is not None and item.planned.target_id:
                target_ids.add(item.planned.target_id)
            match = target.match_item(
                state,
                type_key=item.type_key,
                source_id=item.source_id,
                display_name=item.backup_item.display_name,
                same_tenant=self._same_tenant,
                # a payload that is not an object fails its item later, never here
                is_default=item.is_default,
            )
            target_ids.update(
                c.source_id
                for c in ([match.target] if match.target else []) + list(match.candidates)
            )
        with transaction.atomic():
            snapshot = BackupSet.objects.create(
                tenant=self.run.tenant,
                kind=BackupKind.PRE_RESTORE,
                restore_run=self.run,
                created_by=self.run.requested_by,
                name=f"Before restore #{self.run.pk} to {self.run.tenant_label} ({timezone.now():%Y-%m-%d %H:%M} UTC)",
            )
        # The target was read moments ago for this execution: the snapshot is that read,
        # decoded a chunk at a time as it is stored.
        ids_of = getattr(state, "ids", None)  # a state that lists ids without decoding
        keys = [
            (key, object_id)
            for key in type_keys
            for object_id in (ids_of(key) if ids_of else [c.source_id for c in state.items(key)])
            if object_id in target_ids
        ]
        backup_set_store_captured(
            backup_set=snapshot,
            # a sequence read in slices (its length, then chunk by chunk), not a list
            items=cast(list[Any], _SnapshotItems(state, keys)),
            warnings=[
                {"type_key": key, "source_id": None, "message": message, "permission": None}
                for key, message in state.unreadable.items()
                if key in type_keys
            ],
            group_names=dict(state.group_names),
        )

    @property
    def _same_tenant(self) -> bool:
        return self._source.tenant_id == self.run.tenant_id

    # ---- phase 1 and 2: objects -------------------------------------------------------------

    def _intended(self, item: _WorkItem, mapping: dict[str, Any]) -> _Intended:
        """What is written for ``item``: the preview's own function (``source.intended_item``)
        with the run's resolver and the identities the preview used (persisted with it), so
        references and the source tenant's identifiers are written exactly as the preview
        showed. A reference that is unresolved now (``UnresolvedReferenceError``) fails the
        item: it is never written with the source tenant's id. Assignment references count only
        when assignments are written."""
        if self._resolver is None:
            raise RestoreRunError(f"Restore run #{self.run.pk}: references were not resolved.")
        backup_item = item.backup_item
        options = effective_options(self.run)
        preview_summary = ((self.run.metadata or {}).get("preview") or {}).get("summary") or {}
        identities = (
            None
            if self._same_tenant
            else TenantIdentities.from_json(
                (preview_summary.get("tenant_identifiers") or {}).get("identities")
            )
        )
        intended = intended_item(
            type_key=item.type_key,
            payload=backup_item.payload,
            assignments=backup_item.assignments,
            scope_tag_ids=backup_item.scope_tag_ids,
            resolver=self._resolver,
            identities=identities,
            source_identifiers=options["source_identifiers"],
            secrets=backup_item.secrets,
        )
        rewritten = intended.rewritten
        blocking = [
            ref
            for ref in rewritten.unresolved
            if options["include_assignments"] or not references.in_assignment(ref)
        ]
        if blocking:
            label = f"{singular(policy_type_of(item.type_key).label)} '{backup_item.display_name}'"
            raise UnresolvedReferenceError(
                self._resolver.describe_unresolved(blocking, item_label=label)
            )
        return _Intended(
            payload=rewritten.payload,
            assignments=rewritten.assignments,
            scope_tag_ids=rewritten.scope_tag_ids,
            skipped_assignments=len(rewritten.skipped_assignments),
            assignment_mode=options["assignment_mode"],
            secrets=intended.secrets,
        )

    def _record(
        self, item: _WorkItem, existing: RestoreItemOutcome | None, **values: Any
    ) -> RestoreItemOutcome:
        """Persist the item's checkpoint before the executor moves on.

        Every item has exactly one checkpoint row: the last one saved for it (``existing`` may
        be stale, e.g. ``None`` from before a ``creating`` checkpoint), else the row in the
        database, else a new one."""
        key = (item.type_key, item.source_id)
        outcome = self._checkpoints.get(key) or existing
        if outcome is None or outcome.pk is None:
            outcome = self._stored_checkpoint(item) or outcome
        if outcome is None:
            outcome = RestoreItemOutcome(
                run=self.run,
                position=item.position,
                policy_type=item.type_key,
                source_id=item.source_id,
                display_name=item.backup_item.display_name,
            )
        if values.get("outcome") in (ItemOutcome.CREATED, ItemOutcome.UPDATED):
            values["object_written"] = True
        for name, value in values.items():
            setattr(outcome, name, value)
        try:
            with transaction.atomic():
                self._hold_claim()  # in the same transaction: a taken-over run is not written
                outcome.save()
        except IntegrityError:
            # A row for this item exists already (saved by another path): update that one.
            stored = self._stored_checkpoint(item)
            if stored is None:
                raise
            for name, value in values.items():
                setattr(stored, name, value)
            with transaction.atomic():
                self._hold_claim()
                stored.save()
            outcome = stored
        self._checkpoints[key] = outcome
        return outcome

    def _stored_checkpoint(self, item: _WorkItem) -> RestoreItemOutcome | None:
        return RestoreItemOutcome.objects.filter(
            run=self.run, policy_type=item.type_key, source_id=item.source_id
        ).first()

    def _restore_object(
        self,
        item: _WorkItem,
        mapping: dict[str, Any],
        options: dict[str, bool],
        existing: RestoreItemOutcome | None,
    ) -> RestoreItemOutcome:
        planned = item.planned
        payload = item.backup_item.payload
        if not isinstance(payload, dict):
            kind = "a list" if isinstance(payload, list) else f"a {type(payload).__name__}"
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.FAILED,
                stage=ExecutionStage.DONE,
                error_code="invalid_payload",
                error_message=f"The backup holds this item's settings as {kind}, not as an "
                "object, so it cannot be written. Capture the source tenant again, or leave "
                "this item out of the restore.",
            )
        if planned is not None and planned.action == PreviewAction.SKIP:
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.SKIPPED,
                stage="done",
                reason=planned.reason or "Skipped by the preview.",
                target_id=planned.target_id,
            )
        if (
            not write.is_writable(item.type_key, item.backup_item.payload)
            or registry.is_unsupported(item.ptype)
            or item.ptype.is_preview_only
        ):
            # Safety net: the preview plans these as skipped; whatever it said, never write them.
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.SKIPPED,
                stage="done",
                reason="TenantGuard never writes this object (a preview-only or unsupported "
                "type, or Intune's built-in scope tag).",
            )
        if planned is None:
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.SKIPPED,
                stage="done",
                reason="Not in the preview: run the preview again to restore it.",
            )
        unreadable_secrets = decryption_problem(item.backup_item.secrets)
        if unreadable_secrets and planned.action in (PreviewAction.CREATE, PreviewAction.UPDATE):
            return self._record(
                item,
                existing,
                outcome=ItemOutcome.FAILED,
                stage=ExecutionStage.DONE,
                error_code="secrets_unreadable",
                error_message=f"Its captured secret values cannot be read, so it was not "
                f"written. {unreadable_secrets}",
            )
        try:
            return self._write_object(item, mapping, options, existing)
        except (GraphError, write.WriteError, normalize.MissingSecretError) as exc:
            logger.warning(
                "Restore run %s: %s %s failed: %s", self.run.pk, item.type_key, item.source_id, exc
            )
            code, message = _failure_of(exc)
            # ``existing`` may be stale (a checkpoint was saved since): _record uses the latest.
            return self._record(
                item,
                None,
                outcome=ItemOutcome.FAILED,
                stage=ExecutionStage.DONE,
                error_code=code,
                error_message=message,
            )

    def _write_object(
        self,
        item: _WorkItem,
        mapping: dict[str, Any],
        options: dict[str, bool],
        existing: RestoreItemOutcome | None,
    ) -> RestoreItemOutcome:
        planned = item.planned
        assert planned is not None
        backup_item = item.backup_item
        intended = self._intended(item, mapping)
        kind = _kind_of_foundation(item.type_key)
        key = (item.type_key, item.source_id)

        def remember(current: CapturedItem | None, *, written: bool) -> None:
            if current is not None and current.assignments is not None:
                self._assignments_read[key] = current.assignments
            if current is not None and not written:
                self._unchanged_reads[key] = current

        if planned.action == PreviewAction.CREATE:
            # Re-read: has an object of this name appeared since the preview?
            live = self._live_ids(item.type_key, backup_item.display_name)
            adopted_id = ""
            if existing is not None and existing.stage == ExecutionStage.CREATING:
                # A create from an execution that died before recording its answer: it may
                # have been applied. Look for it before creating again.
                adopted_id = existing.target_id or self._find_own_create(
                    item, known_ids=(), sent_at=existing.updated_at
                )
            if adopted_id:
                read, changed, _ = self._complete(item, intended, adopted_id)
                remember(read, written=changed)
                outcome = self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.CREATED,
                    stage=ExecutionStage.WRITTEN,
                    target_id=adopted_id,
                    reason=RESUMED_REASON,
                )
            elif live:
                return self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.SKIPPED,
                    stage="done",
                    reason=CHANGED_SINCE_PREVIEW_REASON,
                    skip_code="changed_since_preview",
                    target_id=live[0],
                )
            elif not options["create_missing"]:
                return self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.SKIPPED,
                    stage="done",
                    reason="Missing in the target and 'create missing objects' is off.",
                )
            else:
                self._record(
                    item, existing, stage=ExecutionStage.CREATING, outcome=ItemOutcome.PENDING
                )
                partial: write.PartialWriteError | None = None
                try:
                    target_id, reason = self._create(item, intended, known_ids=live)
                except write.PartialWriteError as exc:
                    target_id, reason, partial = exc.target_id, "", exc
                # The id is recorded at once: whatever happens next, a resumed run adopts this
                # object instead of creating another.
                self._record(item, None, target_id=target_id)
                with self._names_lock(item.type_key):
                    self._created_names.setdefault(item.type_key, {}).setdefault(
                        backup_item.display_name, []
                    ).append(target_id)
                if reason or partial is not None:
                    # Adopted, or its child objects failed: write what the object still lacks.
                    try:
                        read, changed, _ = self._complete(item, intended, target_id)
                    except (GraphError, write.WriteError) as exc:
                        if partial is None:
                            raise
                        raise write.PartialWriteError(
                            f"{partial} Completing it again failed too: {exc}",
                            target_id=target_id,
                        ) from exc
                    remember(read, written=changed)
                    if partial is not None:
                        reason = "Created; its child objects were completed on a second pass."
                else:
                    self._assignments_read[key] = []  # a new object has no assignments yet
                outcome = self._record(
                    item,
                    None,
                    outcome=ItemOutcome.CREATED,
                    stage=ExecutionStage.WRITTEN,
                    target_id=target_id,
                    reason=reason,
                )
        else:
            target_id = planned.target_id
            current = target.read_one(self.client, type_key=item.type_key, object_id=target_id)
            own_write_in_flight = existing is not None and existing.stage == ExecutionStage.UPDATING
            if current is None or (
                target_hash(item.type_key, current) != planned.target_hash
                and not own_write_in_flight
            ):
                return self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.SKIPPED,
                    stage="done",
                    reason=CHANGED_SINCE_PREVIEW_REASON,
                    skip_code="changed_since_preview",
                    target_id=target_id,
                )
            if planned.action == PreviewAction.NO_CHANGE:
                remember(current, written=False)
                outcome = self._record(
                    item,
                    existing,
                    outcome=ItemOutcome.UNCHANGED,
                    stage="written",
                    target_id=target_id,
                )
            else:
                # An update whose worker died mid-write differs from the preview because of our
                # own write: it is applied again (writes are idempotent), never reported changed.
                existing = self._record(
                    item, existing, stage=ExecutionStage.UPDATING, target_id=target_id
                )
                current, changed, unclear = self._complete(
                    item, intended, target_id, current=current
                )
                remember(current, written=changed)
                outcome = self._record(
                    item,
                    existing,
                    stage="written",
                    target_id=target_id,
                    outcome=ItemOutcome.UPDATED
                    if changed or unclear or own_write_in_flight
                    else ItemOutcome.UNCHANGED,
                )
        if kind and outcome.target_id:
            self.foundation_ids.setdefault(kind, {})[item.source_id] = outcome.target_id
        return outcome

    # ---- creates and updates whose answer may be lost -------------------------------------------

    def _create(
        self, item: _WorkItem, intended: _Intended, *, known_ids: list[str]
    ) -> tuple[str, str]:
        """Create the object once: ``(target id, reason)``, the reason saying when it was
        adopted after an unclear answer. Raises ``PartialWriteError`` as ``create_object``."""
        first_sent = timezone.now()
        unclear: OutcomeUnknownError | None = None
        for attempt in range(1, MAX_CREATE_ATTEMPTS + 1):
            self._hold_claim()
            try:
                new_id = write.create_object(
                    self.client,
                    type_key=item.type_key,
                    payload=intended.payload,
                    secrets=intended.secrets,
                )
                return new_id, ""
            except OutcomeUnknownError as exc:
                unclear = exc
            logger.warning(
                "Restore run %s: the create of %s '%s' got no clear answer (attempt %d of %d); "
                "looking for it in the target",
                self.run.pk,
                item.type_key,
                item.backup_item.display_name,
                attempt,
                MAX_CREATE_ATTEMPTS,
            )
            self._settle()
            older: list[str] = []
            found = self._find_own_create(
                item, known_ids=known_ids, sent_at=first_sent, older=older
            )
            if found:
                return found, ADOPTED_REASON.format(why=_unclear_answer(unclear))
            if older:
                # Not there before, but dated earlier than the request: ours if this host's
                # clock runs ahead of Microsoft's, else someone made or renamed it. Creating
                # again could make a duplicate; adopting could take someone else's object.
                raise AmbiguousCreateError(
                    f"Graph did not confirm the create of {item.ptype.label.lower()} "
                    f"'{item.backup_item.display_name}' ({_unclear_answer(unclear)}), and an "
                    f"object of that name that was not there before is now in the target "
                    f"({', '.join(older)}), dated by Graph earlier than the request: this "
                    "server's clock may be ahead of Microsoft's, or someone made or renamed "
                    "it. TenantGuard neither adopted it nor created another: check it in the "
                    "Intune portal (delete it if it is an extra copy), then run the checks and "
                    "the preview again."
                )
        assert unclear is not None
        raise write.WriteError(
            f"Graph did not confirm the create of '{item.backup_item.display_name}' "
            f"{MAX_CREATE_ATTEMPTS} times ({_unclear_answer(unclear)}) and the object is not in "
            "the target: it was not created. It may still appear if Graph applies a late "
            "request: run the preview again before restoring it."
        ) from unclear

    def _settle(self) -> None:
        """Give Graph time to finish a request whose answer was lost before looking at the
        target; a back-off like any other, so bounded by the client's retry policy."""
        seconds = min(self.lost_create_settle_seconds, self.client.retry.max_delay)
        if seconds > 0:
            with _released(self._database):
                self.client.clock.sleep(seconds)

    def _find_own_create(
        self,
        item: _WorkItem,
        *,
        known_ids: list[str] | tuple[str, ...],
        sent_at: Any,
        older: list[str] | None = None,
    ) -> str:
        """The one object our own create may have made (see ``target.find_created``); "" when
        there is none. Several are never guessed between: the item fails, naming them.
        ``older`` receives the new objects of that name Graph dates before the request."""
        found = target.find_created(
            self.client,
            type_key=item.type_key,
            display_name=item.backup_item.display_name,
            known_ids=known_ids,
            created_after=sent_at - LOST_CREATE_CLOCK_SKEW if sent_at is not None else None,
            older=older,
        )
        if len(found) > 1:
            raise AmbiguousCreateError(
                f"Graph did not confirm the create of {item.ptype.label.lower()} "
                f"'{item.backup_item.display_name}', and {len(found)} objects of that name have "
                f"appeared in the target since ({', '.join(found)}). TenantGuard does not guess "
                "which one is its own: check them in the Intune portal, delete the extra ones, "
                "then run the checks and the preview again."
            )
        return found[0] if found else ""

    def _complete(
        self,
        item: _WorkItem,
        intended: _Intended,
        target_id: str,
        *,
        current: CapturedItem | None = None,
    ) -> tuple[CapturedItem, bool, bool]:
        """Bring ``target_id`` to the intended state, writing only what differs:
        ``(object as read before the last write, changed, an answer was unclear)``.

        ``update_object`` compares before it writes, so after a lost answer it is safe to read
        the object again and run it again (at most ``MAX_CREATE_ATTEMPTS`` times)."""
        unclear = False
        for attempt in range(1, MAX_CREATE_ATTEMPTS + 1):
            if current is None:
                current = target.read_one(self.client, type_key=item.type_key, object_id=target_id)
            if current is None:
                raise write.WriteError(
                    f"{item.ptype.label} object {target_id} ('{item.backup_item.display_name}') "
                    "is not in the target any more; run the checks and the preview again."
                )
            self._hold_claim()
            try:
                changed = write.update_object(
                    self.client,
                    type_key=item.type_key,
                    target_id=target_id,
                    payload=intended.payload,
                    secrets=intended.secrets,
                    current=current,
                )
                return current, changed, unclear
            except OutcomeUnknownError:
                if attempt == MAX_CREATE_ATTEMPTS:
                    raise
                unclear = True
                current = None
                self._settle()
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- phase 3: assignments ----------------------------------------------------------------

    def _restore_assignments(
        self, item: _WorkItem, outcome: RestoreItemOutcome, mapping: dict[str, Any]
    ) -> None:
        key = (item.type_key, item.source_id)
        intended = self._intended(item, mapping)
        payload = item.backup_item.payload if isinstance(item.backup_item.payload, dict) else None
        if (
            intended.assignments is None
            or not item.ptype.assign
            # A tenant default applies to everyone: never assigned (the checks and the preview
            # say so too).
            or item.ptype.is_tenant_default(payload)
            or item.ptype.is_tenant_default(item.source_id)
        ):
            self._record(item, outcome, stage="assigned")
            return
        try:
            if key in self._assignments_read:
                current_assignments = self._assignments_read.pop(key)
            else:
                current = target.read_one(
                    self.client, type_key=item.type_key, object_id=outcome.target_id
                )
                current_assignments = current.assignments if current else None
                if current is not None:
                    self._unchanged_reads[key] = current
                # Resumed after another execution wrote the object: what is there now must be
                # what the preview planned against, else the write could remove an assignment
                # no preview showed.
                if current_assignments is not None and not self._assignments_as_previewed(
                    item, intended, outcome, current_assignments
                ):
                    self._unchanged_reads.pop(key, None)
                    self._record(
                        item,
                        outcome,
                        stage="done",
                        outcome=ItemOutcome.FAILED,
                        error_code="changed_since_preview",
                        error_message="The object was written, but its assignments in the "
                        "target changed after the preview, so they were left as they are: run "
                        "the checks and the preview again to restore them.",
                    )
                    return
            if current_assignments is None:
                # The target's assignments cannot be read: neither a merge nor the list of
                # removals can be known, so they are left as they are (as the preview said).
                self._record(
                    item,
                    outcome,
                    stage="assigned",
                    skipped_assignments=intended.skipped_assignments,
                )
                return
            # The preview's own function, on the assignments just re-read: the list written
            # and what it removes are exactly what the preview showed.
            plan = assignments_plan(
                type_key=item.type_key,
                backup=intended.assignments,
                current=current_assignments,
                mode=intended.assignment_mode,
            )
            if plan.written is not None and plan.changes_anything:
                self._hold_claim()
                write.assign_object(
                    self.client,
                    type_key=item.type_key,
                    target_id=outcome.target_id,
                    assignments=plan.written,
                    payload=payload,
                )
                self._unchanged_reads.pop(key, None)
                self._record(
                    item,
                    outcome,
                    stage="assigned",
                    assignments_written=True,
                    skipped_assignments=intended.skipped_assignments,
                )
            else:
                self._record(
                    item,
                    outcome,
                    stage="assigned",
                    skipped_assignments=intended.skipped_assignments,
                )
        except GraphError as exc:
            self._unchanged_reads.pop(key, None)
            self._record(
                item,
                outcome,
                stage="done",
                outcome=ItemOutcome.FAILED,
                error_code=_failure_of(exc)[0],
                error_message=f"The object was written but its assignments were not: {exc}",
            )

    def _assignments_as_previewed(
        self,
        item: _WorkItem,
        intended: _Intended,
        outcome: RestoreItemOutcome,
        current: list[dict[str, Any]],
    ) -> bool:
        """``current`` (read on resume) is the target's list the preview planned against (the
        pre-restore snapshot's, none for a created object) or already the list written from it
        (the assign was applied before the worker died)."""
        planned = item.planned
        if planned is not None and planned.action == PreviewAction.CREATE:
            before: list[dict[str, Any]] | None = []
        else:
            snapshot = BackupItem.objects.filter(
                backup_set__restore_run=self.run,
                backup_set__kind=BackupKind.PRE_RESTORE,
                policy_type=item.type_key,
                source_id=outcome.target_id,
            ).first()
            before = snapshot.assignments if snapshot is not None else None
        if not isinstance(before, list):
            return False
        now = normalize.normalize_assignments(current)
        if now == normalize.normalize_assignments(before):
            return True
        plan = assignments_plan(
            type_key=item.type_key,
            backup=intended.assignments,
            current=before,
            mode=intended.assignment_mode,
        )
        return now == normalize.normalize_assignments(plan.written or [])

    # ---- verification --------------------------------------------------------------------------

    def _verify(
        self,
        item: _WorkItem,
        outcome: RestoreItemOutcome,
        mapping: dict[str, Any],
        options: dict[str, bool],
        current: CapturedItem | None = None,
    ) -> None:
        intended = self._intended(item, mapping)
        try:
            if current is None:
                current = target.read_one(
                    self.client, type_key=item.type_key, object_id=outcome.target_id
                )
        except GraphError as exc:
            self._record(
                item,
                outcome,
                stage="done",
                verified=False,
                differences=[f"Could not read it back: {exc}"],
            )
            return
        if current is None:
            self._record(
                item,
                outcome,
                stage="done",
                verified=False,
                differences=["The object is not in the target any more."],
            )
            return
        differences = verification_differences(
            type_key=item.type_key,
            intended=intended,
            current=current,
            include_assignments=options["include_assignments"],
        )
        self._record(item, outcome, stage="done", verified=not differences, differences=differences)

    # ---- end -------------------------------------------------------------------------------------

    def _finish(self, *, cancelled: bool) -> RestoreRun:
        # A run taken over after the last item is the new worker's to finish, not an error.
        self._hold_claim()
        # what the summary needs of each item, not its rows (20,000 of them with differences)
        outcomes = [
            _Tally(outcome=outcome, object_written=written, verified=verified, skip_code=code)
            for outcome, written, verified, code in self.run.item_outcomes.values_list(
                "outcome", "object_written", "verified", "skip_code"
            ).iterator(chunk_size=2000)
        ]
        summary: dict[str, int] = {}
        for outcome in outcomes:
            summary[outcome.outcome] = summary.get(outcome.outcome, 0) + 1
        written = [
            o
            for o in outcomes
            if o.outcome in (ItemOutcome.CREATED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED)
        ]
        failed = [o for o in outcomes if o.outcome == ItemOutcome.FAILED]
        # Failed after its object was written (e.g. its assignments were refused): the tenant
        # did change, so the run is partial, never "failed" as if nothing had been written.
        failed_after_writing = [o for o in failed if o.object_written]
        unverified = [o for o in written if o.verified is False]
        changed = [o for o in outcomes if o.skip_code == "changed_since_preview"]
        if cancelled:
            status = RestoreStatus.CANCELLED
        elif failed and not written and not failed_after_writing:
            status = RestoreStatus.FAILED
        elif failed or unverified or changed:
            status = RestoreStatus.PARTIAL
        else:
            status = RestoreStatus.COMPLETED
        results = {
            "dry_run": False,
            "summary": summary,
            "verified": sum(1 for o in written if o.verified),
            "unverified": len(unverified),
            "changed_since_preview": len(changed),
            "failed": len(failed),
            "failed_after_writing": len(failed_after_writing),
            "items": len(outcomes),
        }
        return restore_run_finish(
            run=self.run, status=status, results=results, worker_id=self.worker_id
        )


@dataclass(frozen=True, slots=True)
class _Tally:
    """An item's outcome as the run's summary counts it (``RestoreExecutor._finish``)."""

    outcome: str
    object_written: bool
    verified: bool | None
    skip_code: str


class _SnapshotItems(Sequence[CapturedItem]):
    """The pre-restore snapshot's objects, ``(type, id)`` pairs decoded from the target state
    when asked for: ``backup_set_store_captured`` stores them a chunk at a time, so the
    snapshot never holds every target payload at once."""

    def __init__(self, state: target.TargetState, keys: list[tuple[str, str]]) -> None:
        self._state = state
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> CapturedItem: ...

    @overload
    def __getitem__(self, index: slice) -> list[CapturedItem]: ...

    def __getitem__(self, index: int | slice) -> CapturedItem | list[CapturedItem]:
        if isinstance(index, slice):
            return [self._one(key) for key in self._keys[index]]
        return self._one(self._keys[index])

    def _one(self, key: tuple[str, str]) -> CapturedItem:
        found = self._state.by_id(*key)
        if found is None:  # the keys were listed from this state
            raise RestoreRunError(f"Target object {key[1]} ({key[0]}) is not in the read.")
        return found


def _priority_rank(type_key: str, payload: Any) -> int:
    """The backup's priority of an item of a type whose priority renumbers the others (0 for
    other types; last when it has none)."""
    ptype = registry.POLICY_TYPES.get(type_key)
    if ptype is None or ptype.priority is None:
        return 0
    value = payload.get(ptype.priority.property) if isinstance(payload, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 2**31


def _restore_sequence(item: _ItemRow, *, rank: int) -> tuple[Any, ...]:
    """Where ``item`` goes in the run: restore order, type, then (for a type whose priority
    renumbers the others) the backup's priority ``rank`` (``_priority_rank``), lowest first,
    so that setting them one after the other ends in the backup's order; then name."""
    return (restore_order(item.policy_type), item.policy_type, rank, item.display_name, item.pk)


def _renumbers_siblings(type_key: str) -> bool:
    ptype = registry.POLICY_TYPES.get(type_key)
    return ptype is not None and ptype.priority is not None


def _lanes(items: list[_WorkItem]) -> list[list[_WorkItem]]:
    """``items`` (one restore-order step) in lanes, each in order: items of one type that
    share a display name or a planned target object are in the same lane (run one after the
    other), and so are the creates of one type (each looks at the type's names right before it
    creates, after the one before it: an object someone made meanwhile is seen, never made a
    second time) and every item of a type whose priority moves the others (``setPriority``).
    Lanes are in the order of their first item."""
    parent = list(range(len(items)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first: dict[tuple[str, str, str], int] = {}
    for index, item in enumerate(items):
        keys = [("name", item.type_key, str(item.backup_item.display_name))]
        if item.planned is not None and item.planned.target_id:
            keys.append(("target", item.type_key, str(item.planned.target_id)))
        if item.planned is not None and item.planned.action == PreviewAction.CREATE:
            keys.append(("create", item.type_key, ""))
        if _renumbers_siblings(item.type_key):
            # Setting one object's priority moves the type's others: one after the other, in
            # the backup's priority order (``_restore_sequence``).
            keys.append(("priority", item.type_key, ""))
        for key in keys:
            other = first.setdefault(key, index)
            high, low = sorted((root(index), root(other)), reverse=True)
            parent[high] = low
    lanes: dict[int, list[_WorkItem]] = {}
    for index, item in enumerate(items):
        lanes.setdefault(root(index), []).append(item)
    return [lanes[key] for key in sorted(lanes)]


class _SharedConnection:
    """The run's database connection, shared by the run's thread and its workers, used by one
    thread at a time: the thread that holds it (``held``) does its database work (checkpoints,
    the claim check in their transaction, cancellation) on it; ``released`` lets the others use
    it while this thread waits for Graph. Transactions therefore never interleave, and every
    thread sees what the others wrote (one connection, as one thread would)."""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.alias = alias
        self.connection = connections[alias]
        # Transactions open when the items started (a caller's, a test's): ``released`` refuses
        # to hand the connection over from inside any transaction opened after.
        self.base_atomic_depth = len(self.connection.atomic_blocks)
        self._lock = threading.RLock()
        self._held = threading.local()

    @contextmanager
    def held(self) -> Iterator[None]:
        self._lock.acquire()
        self._held.depth = getattr(self._held, "depth", 0) + 1
        try:
            yield
        finally:
            self._held.depth -= 1
            self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let other threads use the connection for the block (nothing when this thread does
        not hold it, e.g. a thread of the Graph client's own).

        Raises ``ConnectionSharingError`` inside a transaction opened since the items started
        (a Graph request inside ``transaction.atomic()``): another thread's queries would run
        in it, and a rollback would undo them. Graph requests belong outside transactions."""
        depth = getattr(self._held, "depth", 0)
        atomic_depth = len(self.connection.atomic_blocks)
        if depth and atomic_depth > self.base_atomic_depth:
            raise ConnectionSharingError(
                "A Graph request was made inside a database transaction while restoring items "
                f"concurrently ({atomic_depth - self.base_atomic_depth} transaction(s) open): "
                "other items would run their queries in it. This is a bug in TenantGuard: make "
                "the Graph request outside transaction.atomic(), or set "
                "TENANTGUARD_RESTORE_CONCURRENCY=1 until it is fixed."
            )
        for _ in range(depth):
            self._lock.release()
        self._held.depth = 0
        try:
            yield
        finally:
            for _ in range(depth):
                self._lock.acquire()
            self._held.depth = depth

    @contextmanager
    def shared_with_this_thread(self) -> Iterator[None]:
        """On a worker thread: use the run's connection, holding it, for the block."""
        self.connection.inc_thread_sharing()
        connections[self.alias] = self.connection
        try:
            with self.held():
                yield
        finally:
            del connections[self.alias]
            self.connection.dec_thread_sharing()


@contextmanager
def _released(database: _SharedConnection | None) -> Iterator[None]:
    if database is None:
        yield
    else:
        with database.released():
            yield


class _ConnectionReleasingClient:
    """The run's ``GraphClient`` for its worker threads: each request releases the shared
    database connection while it is in flight or waits for the pacers, so another item's
    database work goes on meanwhile. Everything else is the client's own."""

    _REQUESTS = frozenset({"get", "post", "patch", "put", "delete", "batch", "list_collection"})

    def __init__(self, client: GraphClient, database: _SharedConnection) -> None:
        self._client = client
        self._database = database

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if name == "iter_collection":
            return self._iter_collection
        if name not in self._REQUESTS:
            return value

        def request(*args: Any, **kwargs: Any) -> Any:
            with self._database.released():
                return value(*args, **kwargs)

        return request

    def _iter_collection(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        pages = self._client.iter_collection(*args, **kwargs)
        while True:
            with self._database.released():
                try:
                    entry = next(pages)
                except StopIteration:
                    return
            yield entry


class _LostClaim(Exception):
    """Another worker holds the run now (it was resumed elsewhere): stop without finishing."""


class ConnectionSharingError(RuntimeError):
    """The run's shared database connection was to be handed to another thread from inside a
    transaction (``_SharedConnection.released``): a bug, the run stops."""


class AmbiguousCreateError(write.WriteError):
    """A create got no clear answer and several objects of its name appeared since."""


def _unclear_answer(exc: OutcomeUnknownError) -> str:
    return f"answer {exc.status}" if exc.status else "no answer: the connection was lost"


def _failure_of(exc: BaseException) -> tuple[str, str]:
    """``(error_code, error_message)`` recorded for a failed item. Messages of unexpected
    exceptions are not recorded (they may quote data): the log has them."""
    if isinstance(exc, OutcomeUnknownError):
        return "outcome_unknown", str(exc)
    if isinstance(exc, GraphError):
        return exc.code or str(exc.status or "graph_error"), str(exc)
    if isinstance(exc, AmbiguousCreateError):
        return "ambiguous_create", str(exc)
    if isinstance(exc, write.PartialWriteError):
        return "partial_write", str(exc)
    if isinstance(exc, UnresolvedReferenceError):
        return "unresolved_reference", str(exc)
    if isinstance(exc, write.WriteError | normalize.MissingSecretError):
        return "invalid_payload", str(exc)
    if isinstance(exc, _SourceItemGone):
        return "source_item_missing", str(exc)
    if isinstance(exc, DatabaseError):
        return (
            "database_error",
            f"The database refused to record this item's progress ({type(exc).__name__}); "
            "it may be incomplete in the target. Run the restore again: it matches what was "
            "written instead of creating it twice.",
        )
    return (
        "internal_error",
        f"An unexpected error stopped this item ({type(exc).__name__}); the server log has "
        "the details. The other items went on. Run the restore again for this item.",
    )


def verification_differences(
    *, type_key: str, intended: _Intended, current: CapturedItem, include_assignments: bool
) -> list[str]:
    """What still differs between the intended state and the object read back (empty: verified).

    Assignments are compared with the list ``source.assignments_plan`` makes of the backup's
    and the read-back ones: in ``replace`` mode the backup's list; in ``merge`` mode the
    read-back list itself, which it equals only when every backup assignment is there.
    Elements a merge-only child list keeps (``source.with_kept_elements``) are expected."""
    differences: list[str] = []
    expected = with_kept_elements(
        type_key=type_key, intended=intended.payload, current=current.payload
    ).payload
    if normalize.normalize_payload(type_key, expected) != normalize.normalize_payload(
        type_key, current.payload
    ):
        differences.append("Settings differ from the backup after writing.")
    if include_assignments and intended.assignments is not None and policy_type_of(type_key).assign:
        if current.assignments is None:
            differences.append("Its assignments could not be read back.")
        else:
            plan = assignments_plan(
                type_key=type_key,
                backup=intended.assignments,
                current=current.assignments,
                mode=intended.assignment_mode,
            )
            if normalize.normalize_assignments(
                plan.written or []
            ) != normalize.normalize_assignments(current.assignments):
                differences.append("Assignments differ from the backup after writing.")
    if policy_type_of(type_key).scope_tag_property and sorted(intended.scope_tag_ids) != sorted(
        current.scope_tag_ids
    ):
        differences.append("Scope tags differ from the backup after writing.")
    return differences


def restore_run_execute(
    *,
    run_id: int,
    worker_id: str | None = None,
    client: GraphClient | None = None,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> RestoreRun:
    """Claim and execute a queued run (the task worker's entry point; safe to call twice)."""
    worker_id = worker_id or default_worker_id()
    waited = 0.0
    while True:
        claim = restore_run_claim(run_id=run_id, worker_id=worker_id)
        if claim:
            break
        run = RestoreRun.objects.get(pk=run_id)
        if claim.code != "lock_busy" or waited >= lock_wait_seconds:
            logger.info("Restore run %s not executed: %s", run_id, claim.reason)
            return run
        sleep(LOCK_POLL_SECONDS)
        waited += LOCK_POLL_SECONDS
    run = RestoreRun.objects.select_related("tenant", "backup_set", "requested_by").get(pk=run_id)
    keeper = HeartbeatKeeper(
        beat=lambda: restore_run_heartbeat(run_id=run_id, worker_id=worker_id),
        every=HEARTBEAT_EVERY_SECONDS,
        name=f"restore-{run_id}-heartbeat",
        max_silence=HEARTBEAT_MAX_SILENCE_SECONDS,
    )
    keeper.start()
    try:
        # Inside the try: a tenant whose connection settings cannot be used (a secret that no
        # longer decrypts, a field cleared since the run was queued) ends the run as failed
        # with what to do, instead of leaving it running with the tenant's lock until the
        # automatic resume has failed it five times.
        # This run is about to change the tenant: no other run's preview may plan from a read
        # of it taken before.
        restore_target_reads_forget(tenant=run.tenant)
        executor = RestoreExecutor(
            run=run,
            worker_id=worker_id,
            client=client or graph_client_for(run.tenant),
            on_progress=keeper.touch,
        )
        return executor.execute()
    except _LostClaim as exc:
        logger.warning("%s", exc)
        return RestoreRun.objects.get(pk=run_id)
    except TenantConfigurationError as exc:
        logger.warning("Restore run %s not executed: %s", run_id, exc)
        done = run.item_outcomes.count()  # a resumed run may have written items before
        written = (
            f"This attempt wrote nothing; the {done} item(s) done before are listed"
            if done
            else "Nothing was written"
        )
        return _end_failed_run(
            run=run,
            worker_id=worker_id,
            results={
                "dry_run": False,
                "error": f"{exc} {written}: fix the tenant's connection, then start a new "
                "restore run.",
                "error_code": "tenant_configuration",
                "items": done,
            },
        )
    except GraphError as exc:
        # Tenant-wide failure (e.g. the target cannot be read at all): nothing more can be done.
        return _end_failed_run(
            run=run,
            worker_id=worker_id,
            results={"dry_run": False, "error": str(exc), "items": run.item_outcomes.count()},
        )
    except Exception as exc:
        # Outside any item (reading the target, the snapshot, a worker thread that stopped):
        # end the run instead of leaving it running until the automatic resume retries the
        # same failure.
        logger.exception("Restore run %s stopped unexpectedly", run_id)
        code, _ = _failure_of(exc)
        done = run.item_outcomes.count()
        return _end_failed_run(
            run=run,
            worker_id=worker_id,
            results={
                "dry_run": False,
                "error": f"An unexpected error stopped this run ({type(exc).__name__}) after "
                f"{done} item(s); the server log has the details. The items done are listed; "
                "start a new restore run for the rest (it compares each object with the "
                "backup again, so nothing is created twice).",
                "error_code": code,
                "items": done,
            },
        )
    finally:
        keeper.stop()


def _end_failed_run(*, run: RestoreRun, worker_id: str, results: dict[str, Any]) -> RestoreRun:
    """End a run that stopped on an error: ``partial`` when an object was written before,
    else ``failed``. Never raises: a run that is no longer this worker's (taken over
    meanwhile), or a database that refuses the finish, is logged and the run returned as
    stored, so the task does not crash in its own error path (the automatic resume ends a run
    left running)."""
    try:
        written = run.item_outcomes.filter(object_written=True).exists()
        status = RestoreStatus.PARTIAL if written else RestoreStatus.FAILED
        return restore_run_finish(run=run, status=status, results=results, worker_id=worker_id)
    except RestoreRunError as exc:
        logger.warning("Restore run %s: %s", run.pk, exc)
    except Exception:
        logger.exception(
            "Restore run %s: could not record that it stopped (%s); the automatic resume "
            "takes it over",
            run.pk,
            results.get("error_code", "error"),
        )
    try:
        return RestoreRun.objects.get(pk=run.pk)
    except Exception:
        logger.exception("Restore run %s: could not be read back", run.pk)
        return run


class HeartbeatKeeper:
    """Calls ``beat()`` every ``every`` seconds from a daemon thread until stopped, or until
    ``beat()`` returns False (the run is no longer this worker's: ``lost`` is then True).

    The executor also beats between items; this thread covers one item that takes long. It
    uses its own database connection, closed after each beat; a failed beat is logged and the
    next one tried.

    It beats only for an executor that makes progress: ``touch()`` (called at every
    checkpoint) proves it; after ``max_silence`` seconds without one the executor is presumed
    hung and the thread stops beating (``silenced``), so the automatic resume frees the tenant
    instead of a hung worker holding its lock for ever. The executor checks its claim before
    each write, so a hung worker that wakes up after the takeover writes nothing."""

    def __init__(
        self,
        *,
        beat: Callable[[], bool],
        every: float,
        name: str = "heartbeat",
        max_silence: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.beat = beat
        self.every = every
        self.max_silence = max_silence
        self.lost = False
        self.silenced = False
        self._monotonic = monotonic
        self._last_progress = monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        if self.every > 0:
            self._thread.start()

    def touch(self) -> None:
        """The executor made progress (a checkpoint): keep beating."""
        self._last_progress = self._monotonic()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            silent_for = self._monotonic() - self._last_progress
            if self.max_silence is not None and silent_for > self.max_silence:
                logger.error(
                    "%s: the executor made no progress for %.0f s; no more heartbeats, so the "
                    "automatic resume takes the run over",
                    self._thread.name,
                    silent_for,
                )
                self.silenced = True
                return
            try:
                if not self.beat():
                    self.lost = True
                    return
            except Exception:
                logger.warning("restore heartbeat failed; trying again", exc_info=True)
            finally:
                connections.close_all()  # this thread's own connection
