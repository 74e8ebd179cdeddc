"""A spool of JSON rows: a long list of results kept at its compressed size, not as objects.

The checks and the preview produce one row per item of a restore's scope (20,000 and more on a
large tenant) before they are recorded in one transaction. Held as Python objects, those rows
are most of the memory such a run needs; spooled, they cost their zlib-compressed JSON, in
memory up to ``memory_limit`` and in a temporary file beyond it. Rows come back in the order
they were appended, ``batch_size`` at a time, so the writer never holds more than one batch.
"""

from __future__ import annotations

import json
import struct
import tempfile
import zlib
from collections.abc import Iterator
from typing import IO, Any

_LENGTH = struct.Struct(">I")


class JsonRowSpool:
    """Append JSON-serializable rows, then read them back in batches (once or many times)."""

    def __init__(self, *, batch_size: int = 500, memory_limit: int = 4 * 1024 * 1024) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1.")
        self.batch_size = batch_size
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=memory_limit)
        self._pending: list[Any] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __enter__(self) -> JsonRowSpool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def append(self, row: Any) -> None:
        self._pending.append(row)
        self._count += 1
        if len(self._pending) >= self.batch_size:
            self._flush()

    def batches(self) -> Iterator[list[Any]]:
        """The rows in the order they were appended, at most ``batch_size`` per list."""
        self._flush()
        self._file.seek(0)
        while header := self._file.read(_LENGTH.size):
            (size,) = _LENGTH.unpack(header)
            yield json.loads(zlib.decompress(self._file.read(size)))
        self._file.seek(0, 2)

    def close(self) -> None:
        self._pending = []
        self._file.close()

    def _flush(self) -> None:
        if not self._pending:
            return
        data = zlib.compress(json.dumps(self._pending, separators=(",", ":")).encode(), 1)
        self._file.seek(0, 2)
        self._file.write(_LENGTH.pack(len(data)))
        self._file.write(data)
        self._pending = []
