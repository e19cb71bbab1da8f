"""SQLite persistence: every change is committed before the request that made it is answered."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Store:
    """Documents (JSON) by kind and key; one table, one file, write-through."""

    def __init__(self, path: Path | str):
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS docs (kind TEXT, key TEXT, doc TEXT, PRIMARY KEY (kind, key))")
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes into one commit (nested uses join the outer one)."""
        if self._depth == 0:
            self._db.execute("BEGIN")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            self._db.execute("COMMIT")

    def put(self, kind: str, key: str, doc: dict) -> None:
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, ?)",
                             (kind, key, json.dumps(doc, separators=(",", ":"))))

    def delete(self, kind: str, key: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM docs WHERE kind = ? AND key = ?", (kind, key))

    def delete_prefix(self, kind: str, prefix: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM docs WHERE kind = ? AND substr(key, 1, ?) = ?",
                             (kind, len(prefix), prefix))

    def load(self, kind: str) -> list[tuple[str, dict]]:
        rows = self._db.execute("SELECT key, doc FROM docs WHERE kind = ? ORDER BY key", (kind,))
        return [(key, json.loads(doc)) for key, doc in rows]

    def close(self) -> None:
        self._db.close()
