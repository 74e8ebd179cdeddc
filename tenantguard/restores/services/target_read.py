"""The checks' read of the target, kept for the preview, so a run reads its target once.

The checks and the preview need the same read of the live target (``source.load_target``: every
type in scope, the groups the items refer to and, across tenants, both tenants' identities).
The checks keep theirs (``restore_target_read_keep``: one ``RestoreTargetRead`` row per run,
replaced by every checks run, zlib-compressed JSON lines without the target's secret values,
which the preview does not use). The preview plans from it (``restore_target_read_reusable``,
passed to ``source.read_target_for`` as its ``reuse``) only when all of these hold:

- it is this run's read, made for the checks recorded now (their token, so a read of checks
  that were replaced or never recorded is never used);
- the run's inputs fingerprint now is the one the read was made for (the backup set, scope,
  mapping and options are those the checks saw);
- it started at most ``TENANTGUARD_TARGET_READ_REUSE_SECONDS`` ago (default 600 s; 0 turns
  reuse off).

Otherwise the preview reads the target itself, and says why. Either way the preview's summary
(``target_read``: ``read_at``, ``read_by``, ``reused``) says when the target was read and by
which step; the wizard, the CLI, the API and the audit event show it.

A reused read never writes stale data: before each write the executor re-reads the target object
(``target.read_one``) and skips the item as ``changed_since_preview`` when its hash differs from
the one the preview recorded, and before a create it looks again for an object of that name
(``execute.py``). The preview may only be older than it says.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.utils import timezone

from tenantguard.intune.target import TargetState
from tenantguard.restores.models import RestoreRun, RestoreTargetRead
from tenantguard.restores.services.source import (
    RunSource,
    TargetGroups,
    TargetRead,
    TenantIdentities,
)
from tenantguard.tenants.models import Tenant

FORMAT_VERSION: Final = 2
#: Clocks of two hosts may differ a little: a read "from the future" by more is not trusted.
_CLOCK_SKEW: Final = timedelta(seconds=60)
_CHUNK: Final = 64 * 1024


def reuse_limit() -> timedelta:
    """How old the checks' read may be for the preview to plan from it (0: never)."""
    return timedelta(seconds=int(getattr(settings, "TENANTGUARD_TARGET_READ_REUSE_SECONDS", 600)))


# --------------------------------------------------------------------------------------------
# Encoding: one JSON line of header, then one line per target object, compressed as it goes
# --------------------------------------------------------------------------------------------


def _meta(*values: Any) -> bytes:
    # ASCII-only: a lone surrogate in a name (a Graph string cut in half) round-trips escaped
    value = values[0] if len(values) == 1 else list(values)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def encode_target(
    *, run_id: int, fingerprint: str, state: TargetState, groups: TargetGroups
) -> tuple[bytes, int, int]:
    """``(compressed bytes, uncompressed size, objects)`` of the target as read: a JSON header
    line, then per object ``[type, id, name]``, a tab and the object as ``TargetState`` stores
    it (``target.encode_row``: no secret values). Lines are compressed one by one, so no
    uncompressed copy of the whole read is ever built."""
    compressor = zlib.compressobj(level=6)
    parts: list[bytes] = []
    raw = 0

    def put(value: Any) -> None:
        put_line(_meta(value) + b"\n")

    def put_line(line: bytes) -> None:
        nonlocal raw
        raw += len(line)
        chunk = compressor.compress(line)
        if chunk:
            parts.append(chunk)

    put(
        {
            "version": FORMAT_VERSION,
            "run": run_id,
            "fingerprint": fingerprint,
            "unreadable": state.unreadable,
            "group_names": state.group_names,
            "parents": state.parents,
            "groups": {
                "existing": dict(groups.existing),
                "named": {name: list(found) for name, found in groups.named.items()},
                "unreadable": groups.unreadable,
            },
        }
    )
    count = 0
    for type_key in state.type_keys:
        # each object as the state stores it (no secret values), never decoded here
        for source_id, name, row in state.rows(type_key):
            put_line(_meta(type_key, source_id, name) + b"\t" + row + b"\n")
            count += 1
    parts.append(compressor.flush())
    return b"".join(parts), raw, count


def _lines(data: bytes) -> Iterator[bytes]:
    """The decompressed lines of ``data``, a chunk at a time."""
    decompressor = zlib.decompressobj()
    pending = b""
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        pending += decompressor.decompress(view[start : start + _CHUNK])
        *complete, pending = pending.split(b"\n")
        yield from complete
    pending += decompressor.flush()
    yield from (line for line in pending.split(b"\n") if line)


def decode_target(data: bytes) -> tuple[dict[str, Any], TargetState, TargetGroups]:
    """``(header, state, groups)`` of ``encode_target``'s bytes. Bytes that are not such a
    read (corrupt, or another format: an earlier version's) raise ``ValueError``."""
    try:
        return _decode_target(data)
    except ValueError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, StopIteration, zlib.error) as error:
        raise ValueError(f"the kept read is corrupt ({type(error).__name__})") from error


def _decode_target(data: bytes) -> tuple[dict[str, Any], TargetState, TargetGroups]:
    lines = _lines(data)
    header = json.loads(next(lines))
    if not isinstance(header, dict):
        raise ValueError("the kept read's header is not an object")
    if header.get("version") != FORMAT_VERSION:
        raise ValueError(f"unknown target read format {header.get('version')!r}")
    state = TargetState(
        unreadable=header.get("unreadable") or {},
        group_names=header.get("group_names") or {},
        parents={
            type_key: [(str(pair[0]), str(pair[1])) for pair in pairs]
            for type_key, pairs in (header.get("parents") or {}).items()
        },
    )
    try:
        for line in lines:
            # each object goes into the state as stored: decoded only when the preview asks
            meta, tab, row = line.partition(b"\t")
            if not tab:
                raise ValueError("a line of the kept read has no object")
            type_key, source_id, name = json.loads(meta)
            state.add_row(
                type_key=str(type_key), source_id=str(source_id), display_name=str(name), row=row
            )
        stored_groups = header.get("groups") or {}
        groups = TargetGroups(
            existing=stored_groups.get("existing") or {},
            named=stored_groups.get("named") or {},
            unreadable=str(stored_groups.get("unreadable") or ""),
        )
    except BaseException:
        state.close()  # (its temporary file too)
        raise
    return header, state, groups


# --------------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------------


def _checks_token(run: RestoreRun) -> str:
    return str(((run.metadata or {}).get("checks") or {}).get("token") or "")


def restore_target_read_keep(*, run: RestoreRun, read: TargetRead) -> RestoreTargetRead | None:
    """Keep the checks' ``read`` of ``run`` (the run as the checks recorded it) for its
    preview, replacing the previous one. Nothing is kept when reuse is off or the read is not
    the recorded checks' (their fingerprint differs)."""
    checks = (run.metadata or {}).get("checks") or {}
    token = _checks_token(run)
    limit = reuse_limit()
    # Reads too old to be reused are never needed again (whichever run they belong to): the
    # database keeps at most the reads of the last ``limit``.
    RestoreTargetRead.objects.filter(read_at__lt=timezone.now() - limit).delete()
    if not token or checks.get("fingerprint") != read.fingerprint or not limit:
        RestoreTargetRead.objects.filter(run=run).delete()
        return None
    data, raw, count = encode_target(
        run_id=run.pk, fingerprint=read.fingerprint, state=read.state, groups=read.groups
    )
    kept, _ = RestoreTargetRead.objects.update_or_create(
        run=run,
        defaults={
            "fingerprint": read.fingerprint,
            "checks_token": token,
            "read_at": read.read_at,
            "graph_requests": read.read_requests,
            "object_count": count,
            "raw_bytes": raw,
            "data": data,
        },
    )
    return kept


def restore_target_reads_forget(*, tenant: Tenant) -> int:
    """Forget every kept read of ``tenant`` (a restore is about to change it): the previews of
    its other runs read the target again. How many were forgotten."""
    forgotten, _ = RestoreTargetRead.objects.filter(run__tenant=tenant).delete()
    return forgotten


def _age_words(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min"


def why_not_reusable(
    stored: RestoreTargetRead | None,
    *,
    run: RestoreRun,
    fingerprint: str,
    now: datetime | None = None,
) -> str:
    """Why the preview of ``run`` (inputs ``fingerprint``) must not plan from ``stored``;
    ``""`` when it may."""
    limit = reuse_limit()
    if not limit:
        return "reusing the checks' read is turned off: TENANTGUARD_TARGET_READ_REUSE_SECONDS is 0"
    if stored is None:
        return (
            "no read of the checks is kept: a preview already planned from it (each read "
            "serves one preview), a restore of the tenant started since, or it was not kept"
        )
    if stored.run_id != run.pk:
        return "the kept read belongs to another run"
    if not stored.checks_token or stored.checks_token != _checks_token(run):
        return "the kept read is not the one of the checks recorded now"
    if stored.fingerprint != fingerprint:
        return "the run's inputs changed after the checks read the target"
    age = (now or timezone.now()) - stored.read_at
    if age < -_CLOCK_SKEW:
        return "the kept read is dated in the future (clocks differ)"
    if age > limit:
        return (
            f"the checks' read is {_age_words(age)} old, over the "
            f"{_age_words(limit)} a preview may reuse it for"
        )
    return ""


def restore_target_read_reusable(
    run: RestoreRun, fingerprint: str, source: RunSource
) -> tuple[TargetRead | None, str]:
    """The checks' read of ``run`` as a ``TargetRead`` the preview plans from, or ``None`` and
    why not (``why_not_reusable``; see the module). ``source``: the run's scoped source as
    loaded now; across tenants the identities are the ones the checks recorded."""
    stored = RestoreTargetRead.objects.filter(run=run).first()
    reason = why_not_reusable(stored, run=run, fingerprint=fingerprint)
    if reason or stored is None:
        return None, reason
    if not source.inputs.same_tenant:
        summary = ((run.metadata or {}).get("checks") or {}).get("summary") or {}
        identities = TenantIdentities.from_json(summary.get("tenant_identities"))
        if identities is None:
            return None, "the checks recorded no tenant identities"
        source = dataclasses.replace(
            source, inputs=dataclasses.replace(source.inputs, identities=identities)
        )
    try:
        header, state, groups = decode_target(bytes(stored.data))
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration, zlib.error):
        # Never retried: the next preview (and this one) reads the target again.
        RestoreTargetRead.objects.filter(pk=stored.pk).delete()
        return None, (
            "the kept read could not be decoded (kept by an earlier version or damaged): "
            "the target is read again"
        )
    if header.get("run") != run.pk or header.get("fingerprint") != fingerprint:
        state.close()
        return None, "the kept read was made for another run or other inputs"
    # One preview per read: previewing again means "show me the tenant now".
    RestoreTargetRead.objects.filter(pk=stored.pk).delete()
    return (
        TargetRead(
            run=run,
            fingerprint=fingerprint,
            source=source,
            state=state,
            groups=groups,
            graph_requests=0,
            read_at=stored.read_at,
            read_by="checks",
            reused=True,
            read_requests=stored.graph_requests,
        ),
        "",
    )


__all__ = [
    "decode_target",
    "encode_target",
    "restore_target_read_keep",
    "restore_target_read_reusable",
    "restore_target_reads_forget",
    "reuse_limit",
    "why_not_reusable",
]
