"""Tenant object storage: in memory, optionally written through to one SQLite file."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def state_file(state_dir: Path, tenant_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", tenant_id)
    return state_dir / f"{safe}.sqlite3"


class ObjectStore:
    """Objects keyed by (collection, id), in insertion order.

    With ``db_path`` every write goes straight to SQLite (one row per object) and the
    constructor loads what a previous process left there. Callers serialise access (the
    emulator holds one lock around every request).
    """

    def __init__(self, db_path: Path | None = None) -> None:
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}
        self._meta: dict[str, str] = {}
        self._seq = 0
        self._db: sqlite3.Connection | None = None
        if db_path is not None:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
            # WAL without a sync per commit: a write survives the process, at emulator speed.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._load()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Group many writes (seeding, reset) into one SQLite transaction."""
        if self._db is None or self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _load(self) -> None:
        assert self._db is not None
        rows = self._db.execute("SELECT collection, id, seq, data FROM objects ORDER BY seq")
        for collection, object_id, seq, data in rows:
            self._objects.setdefault(collection, {})[object_id] = json.loads(data)
            self._seq = max(self._seq, seq)
        self._meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    @property
    def initialized(self) -> bool:
        return self._meta.get("initialized") == "1"

    def mark_initialized(self) -> None:
        self.set_meta("initialized", "1")

    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value
        if self._db is not None:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def get(self, collection: str, object_id: str) -> dict[str, Any] | None:
        return self._objects.get(collection, {}).get(object_id)

    def list(self, collection: str) -> list[dict[str, Any]]:
        return list(self._objects.get(collection, {}).values())

    def save(self, collection: str, obj: dict[str, Any]) -> None:
        object_id = str(obj["id"])
        bucket = self._objects.setdefault(collection, {})
        is_new = object_id not in bucket
        bucket[object_id] = obj
        if self._db is None:
            return
        data = json.dumps(obj, ensure_ascii=False)
        if is_new:
            self._seq += 1
            self._db.execute(
                "INSERT OR REPLACE INTO objects (collection, id, seq, data) VALUES (?, ?, ?, ?)",
                (collection, object_id, self._seq, data),
            )
        else:
            self._db.execute(
                "UPDATE objects SET data = ? WHERE collection = ? AND id = ?",
                (data, collection, object_id),
            )

    def delete(self, collection: str, object_id: str) -> bool:
        removed = self._objects.get(collection, {}).pop(object_id, None)
        if removed is not None and self._db is not None:
            self._db.execute(
                "DELETE FROM objects WHERE collection = ? AND id = ?", (collection, object_id)
            )
        return removed is not None

    def clear(self) -> None:
        self._objects.clear()
        self._meta.clear()
        if self._db is not None:
            self._db.execute("DELETE FROM objects")
            self._db.execute("DELETE FROM meta")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
