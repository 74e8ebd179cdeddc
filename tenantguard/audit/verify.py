"""Walk the audit chain and report every place where the trail was tampered with.

``audit_chain_verify()`` is what ``tenantguard audit verify`` runs. It streams the events in
``sequence`` order (constant memory; 100,000 events take a few seconds) and reports:

- ``edited``: an event's recorded fields no longer give its stored hash;
- ``missing``: a gap in the sequence (events deleted), also at the end of the trail, measured
  against the chain head row;
- ``broken_link``: an event's ``prev_hash`` is not the hash of the event before it (an event
  was replaced, or the chain was rewritten from there on);
- ``reordered``: row ids do not grow with the sequence (events were moved);
- ``head``: the chain head row is missing or does not match the newest event;
- ``trigger``: a trigger that refuses UPDATE/DELETE is missing.

What it cannot see: a rewrite of the whole chain from the tampered event to the end *and* of
the head row. Keep the head hash it prints somewhere else to catch that too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from tenantguard.audit.chain import GENESIS_HASH, HASHED_FIELDS, event_hash
from tenantguard.audit.models import AuditChainHead, AuditEvent
from tenantguard.audit.triggers import triggers_missing

_COLUMNS = ("id", "prev_hash", "hash", *HASHED_FIELDS)


@dataclass(frozen=True)
class ChainProblem:
    kind: str  # edited | missing | broken_link | reordered | head | trigger
    message: str
    event_id: int | None = None
    sequence: int | None = None


@dataclass
class ChainReport:
    events: int = 0
    last_sequence: int = 0
    last_hash: str = GENESIS_HASH
    head_sequence: int | None = None
    head_hash: str | None = None
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.intact:
            return (
                f"{self.events} events, chain intact "
                f"(head: sequence {self.last_sequence}, hash {self.last_hash})"
            )
        return f"{self.events} events, {len(self.problems)} problem(s): the audit trail was tampered with"


@dataclass
class _Walk:
    """Where the walk is: the last event seen."""

    report: ChainReport
    last_id: int | None = None

    def visit(self, row: dict[str, Any]) -> None:
        report = self.report
        event_id, sequence = row["id"], row["sequence"]
        name = f"event id={event_id} (sequence {sequence})"
        report.events += 1
        expected = report.last_sequence + 1
        if sequence < expected:
            report.problems.append(
                ChainProblem(
                    "edited",
                    f"edited: {name} has a sequence below {expected}: sequences start at 1",
                    event_id,
                    sequence,
                )
            )
        elif sequence > expected:
            before = (
                f"event id={self.last_id} (sequence {report.last_sequence})"
                if self.last_id is not None
                else "the start of the trail"
            )
            missing = str(expected) if sequence == expected + 1 else f"{expected}..{sequence - 1}"
            report.problems.append(
                ChainProblem(
                    "missing",
                    f"missing: sequence {missing} between {before} and {name}: events were deleted",
                    event_id,
                    sequence,
                )
            )
        elif row["prev_hash"] != report.last_hash:
            report.problems.append(
                ChainProblem(
                    "broken_link",
                    f"broken link: {name} does not follow sequence {report.last_sequence}: its "
                    "prev_hash is not that event's hash (an event was replaced or the chain "
                    "rewritten from here)",
                    event_id,
                    sequence,
                )
            )
        if self.last_id is not None and event_id < self.last_id:
            report.problems.append(
                ChainProblem(
                    "reordered",
                    f"reordered: {name} comes after event id={self.last_id} (sequence "
                    f"{report.last_sequence}) in the chain but has a smaller id",
                    event_id,
                    sequence,
                )
            )
        recomputed = event_hash(
            prev_hash=row["prev_hash"], fields={name: row[name] for name in HASHED_FIELDS}
        )
        if recomputed != row["hash"]:
            report.problems.append(
                ChainProblem(
                    "edited",
                    f"edited: {name}, action '{row['action']}', no longer matches its hash: "
                    "its recorded fields were changed",
                    event_id,
                    sequence,
                )
            )
        report.last_sequence, report.last_hash, self.last_id = sequence, row["hash"], event_id


def _rows(*, after: int, up_to: int | None, chunk_size: int) -> Iterator[dict[str, Any]]:
    events = AuditEvent.objects.filter(sequence__gt=after)
    if up_to is not None:
        events = events.filter(sequence__lte=up_to)
    for values in events.order_by("sequence").values_list(*_COLUMNS).iterator(chunk_size):
        yield dict(zip(_COLUMNS, values, strict=True))


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole audit chain; ``report.problems`` is empty when the trail is intact.

    Safe while others append: events committed during the walk are walked too, up to the chain
    head read after the first pass (the head and its event are committed together).
    """
    report = ChainReport()
    walk = _Walk(report)
    for row in _rows(after=0, up_to=None, chunk_size=chunk_size):
        walk.visit(row)
    head = AuditChainHead.objects.filter(pk=AuditChainHead.SINGLETON_PK).first()
    if head is not None and head.sequence > report.last_sequence:
        for row in _rows(after=report.last_sequence, up_to=head.sequence, chunk_size=chunk_size):
            walk.visit(row)
    _check_head(report, head, last_id=walk.last_id)
    for trigger in triggers_missing(connection):
        report.problems.append(
            ChainProblem(
                "trigger",
                f"trigger missing: {trigger}, so the database no longer refuses UPDATE or DELETE "
                "on the audit trail; reinstall it with `python manage.py migrate audit 0003` "
                "then `python manage.py migrate audit`",
            )
        )
    return report


def _check_head(report: ChainReport, head: AuditChainHead | None, *, last_id: int | None) -> None:
    if head is None:
        if report.events:
            report.problems.append(
                ChainProblem(
                    "head",
                    "head: the chain head row is missing, so events cut off the end of the trail "
                    "cannot be detected",
                )
            )
        return
    report.head_sequence, report.head_hash = head.sequence, head.hash
    newest = (
        f"event id={last_id} (sequence {report.last_sequence})"
        if last_id is not None
        else "no event"
    )
    if head.sequence > report.last_sequence:
        first = report.last_sequence + 1
        missing = str(first) if first == head.sequence else f"{first}..{head.sequence}"
        report.problems.append(
            ChainProblem(
                "missing",
                f"missing: sequence {missing} at the end of the trail (the chain head records "
                f"{head.sequence} events, the newest left is {newest}): events were deleted",
                last_id,
                report.last_sequence,
            )
        )
    elif head.sequence < report.last_sequence:
        report.problems.append(
            ChainProblem(
                "head",
                f"head: the chain head stops at sequence {head.sequence} but the trail goes on to "
                f"{newest}: events after it were written around audit_event_record",
                last_id,
                report.last_sequence,
            )
        )
    elif head.hash != report.last_hash:
        report.problems.append(
            ChainProblem(
                "head",
                f"head: {newest} does not match the chain head's hash: the end of the chain was "
                "rewritten",
                last_id,
                report.last_sequence,
            )
        )
