"""Walk the audit chain and report every place where the trail was tampered with.

``audit_chain_verify()`` is what ``tenantguard audit verify`` runs. It streams the events in
``sequence`` order (constant memory; 100,000 events take a few seconds) and reports:

- ``edited``: an event's recorded fields no longer give its stored hash;
- ``missing``: a gap in the sequence (events deleted);
- ``broken_link``: an event's ``prev_hash`` is not the hash of the event before it (an event
  was replaced, or the chain was rewritten from there on);
- ``reordered``: row ids do not grow with the sequence (events were moved);
- ``anchor``: given an anchor (``sequence:hash`` printed by an earlier verify and kept outside
  the database), that event is gone (the end of the trail was cut off) or has another hash (the
  chain was rewritten up to it);
- ``trigger``: a trigger that refuses UPDATE/DELETE is missing.

Without an anchor it cannot see events cut off the end of the trail, or a chain recomputed from
the tampered event to the end: keep the head it prints somewhere else and pass it next time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from tenantguard.audit.chain import GENESIS_HASH, HASHED_FIELDS, event_hash
from tenantguard.audit.models import AuditEvent
from tenantguard.audit.triggers import triggers_missing

_COLUMNS = ("id", "prev_hash", "hash", *HASHED_FIELDS)


@dataclass(frozen=True)
class ChainProblem:
    kind: str  # edited | missing | broken_link | reordered | anchor | trigger
    message: str
    event_id: int | None = None
    sequence: int | None = None


@dataclass
class ChainReport:
    events: int = 0
    last_sequence: int = 0
    last_hash: str = GENESIS_HASH
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.intact:
            return (
                f"{self.events} events, chain intact (head {self.last_sequence}:{self.last_hash})"
            )
        return (
            f"{self.events} events, {len(self.problems)} problem(s): the audit trail is not intact"
        )


@dataclass
class _Walk:
    """Where the walk is: the last event seen."""

    report: ChainReport
    last_id: int | None = None
    anchor_sequence: int | None = None
    anchor_seen: tuple[int, str] | None = None  # (id, hash) of the event at the anchor

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
            prev_hash=row["prev_hash"], fields={column: row[column] for column in HASHED_FIELDS}
        )
        if recomputed != row["hash"]:
            report.problems.append(
                ChainProblem(
                    "edited",
                    f"edited: {name}, action {row['action'][:100]!r}, no longer matches its hash: "
                    "its recorded fields were changed",
                    event_id,
                    sequence,
                )
            )
        if sequence == self.anchor_sequence:
            self.anchor_seen = (event_id, row["hash"])
        if sequence < expected:
            # Out of the chain (reported above): the events around it are checked against each
            # other, so no gap or broken link is reported that the edit did not cause.
            return
        report.last_sequence, report.last_hash, self.last_id = sequence, row["hash"], event_id


def _rows(*, chunk_size: int) -> Iterator[dict[str, Any]]:
    events = AuditEvent.objects.order_by("sequence").values_list(*_COLUMNS)
    for values in events.iterator(chunk_size):
        yield dict(zip(_COLUMNS, values, strict=True))


def audit_chain_verify(
    *, anchor: tuple[int, str] | None = None, chunk_size: int = 2000
) -> ChainReport:
    """Walk the whole audit chain; ``report.problems`` is empty when the trail is intact.

    ``anchor`` is ``(sequence, hash)`` of an event printed by an earlier run (``summary()``)
    and kept outside the database: that event must still be there with that hash.
    """
    report = ChainReport()
    walk = _Walk(report, anchor_sequence=anchor[0] if anchor else None)
    for row in _rows(chunk_size=chunk_size):
        walk.visit(row)
    if anchor is not None:
        _check_anchor(report, anchor, seen=walk.anchor_seen)
    for trigger in triggers_missing(connection):
        report.problems.append(
            ChainProblem(
                "trigger",
                f"trigger missing: {trigger}, so the database no longer refuses UPDATE or DELETE "
                "on the audit trail; put it back with `python manage.py migrate` (every migrate "
                "restores missing triggers, `tenantguard run` migrates at start)",
            )
        )
    return report


def _check_anchor(
    report: ChainReport, anchor: tuple[int, str], *, seen: tuple[int, str] | None
) -> None:
    sequence, expected_hash = anchor
    if seen is None:
        newest = (
            f"the newest event left is sequence {report.last_sequence}"
            if report.events
            else "the trail is empty"
        )
        report.problems.append(
            ChainProblem(
                "anchor",
                f"anchor: event sequence {sequence} is gone ({newest}): events were cut off the "
                "end of the trail",
                None,
                sequence,
            )
        )
    elif seen[1] != expected_hash:
        report.problems.append(
            ChainProblem(
                "anchor",
                f"anchor: event id={seen[0]} (sequence {sequence}) has hash {seen[1]}, not the "
                f"anchored {expected_hash}: the chain was rewritten up to it",
                seen[0],
                sequence,
            )
        )
