"""The audit trail's hash chain: how one event's hash is computed from the one before it.

Each event stores ``prev_hash`` (the hash of the event with the previous ``sequence``) and
``hash = sha256(prev_hash || canonical JSON of the event's recorded fields)``. Editing an event
changes its hash; deleting or reordering events breaks the ``prev_hash`` links or leaves a gap in
the sequence. ``tenantguard audit verify`` walks the chain (see ``verify.py``).

No Django models here: the same function hashes a new event, the migration that chained the
events written before the chain existed, and the verifier.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64

#: Version of the canonical form below, hashed with every event so it can evolve.
CHAIN_FORMAT = 1

#: The recorded fields that the hash covers, in the order they are hashed (the row ``id`` is
#: not covered: the database assigns it after the hash is computed; the verifier checks that ids
#: grow with the sequence instead).
HASHED_FIELDS = (
    "sequence",
    "created_at",
    "actor_id",
    "actor_label",
    "tenant_id",
    "tenant_label",
    "action",
    "subject_type",
    "subject_id",
    "subject_label",
    "details",
    "request_id",
)


def normalize_details(details: Any) -> Any:
    """``details`` as the database will give them back, so that the hash of a new event and the
    hash recomputed from its stored row agree. Applied once, when the event is recorded.

    A JSON round trip turns tuples into lists and non-string keys into strings. Integral floats
    become the integer they write, because PostgreSQL's jsonb keeps the decimal value and gives
    ``1e20`` back as ``100000000000000000000`` (other floats come back as the same float).
    """
    return json.loads(json.dumps(details), parse_float=_float_as_stored)


def _float_as_stored(text: str) -> float | int:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(text)


def canonical_timestamp(value: datetime) -> str:
    """UTC, microseconds always written: both databases keep microseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_event(fields: Mapping[str, Any]) -> str:
    """The canonical JSON of an event's recorded fields (``HASHED_FIELDS``, nothing else)."""
    record: dict[str, Any] = {"format": CHAIN_FORMAT}
    for name in HASHED_FIELDS:
        value = fields[name]
        if name == "created_at":
            value = canonical_timestamp(value)
        elif name == "details" and value is None:
            value = {}
        record[name] = value
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(*, prev_hash: str, fields: Mapping[str, Any]) -> str:
    """``sha256(prev_hash || canonical JSON of the event)`` as 64 hex digits."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical_event(fields).encode("utf-8"))
    return digest.hexdigest()
