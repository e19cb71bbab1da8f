"""SQLite persistence, write-behind: changes gather in memory and are committed together, once
per turn of the event loop, and always before the request that made them is answered."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

from . import schema

log = logging.getLogger(__name__)
CHILDREN = {"pool": "node", "job": "task"}
"""What goes with a quarantined document: a pool's nodes, a job's tasks."""


class Store:
    """Documents (JSON) by kind and key; one table, one file.

    A burst of node events (200 tasks ending at once) is one commit, and a document changed many
    times in one turn is encoded once: per-change commits were most of the service's time.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS docs (kind TEXT, key TEXT, doc TEXT, PRIMARY KEY (kind, key))")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS quarantine (kind TEXT, key TEXT, doc TEXT, reason TEXT)")
        self._pending: dict[tuple[str, str], dict | None] = {}   # None: delete
        self._prefixes: list[tuple[str, str]] = []   # prefix deletions, applied first
        self._scheduled = False

    def put(self, kind: str, key: str, doc: dict) -> None:
        """Save `doc` as it is when the change is committed (the latest version wins)."""
        self._pending[(kind, key)] = doc
        self._schedule()

    def delete(self, kind: str, key: str) -> None:
        self._pending[(kind, key)] = None
        self._schedule()

    def delete_prefix(self, kind: str, prefix: str) -> None:
        for pending in [p for p in self._pending if p[0] == kind and p[1].startswith(prefix)]:
            del self._pending[pending]
        self._prefixes.append((kind, prefix))
        self._schedule()

    def _schedule(self) -> None:
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:   # no event loop (a script or a test): commit at once
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Commit every gathered change in one transaction (kept for the next try on failure)."""
        self._scheduled = False
        if not self._pending and not self._prefixes:
            return
        self._db.execute("BEGIN")
        try:
            for kind, prefix in self._prefixes:
                self._db.execute("DELETE FROM docs WHERE kind = ? AND substr(key, 1, ?) = ?",
                                 (kind, len(prefix), prefix))
            for (kind, key), doc in self._pending.items():
                if doc is None:
                    self._db.execute("DELETE FROM docs WHERE kind = ? AND key = ?", (kind, key))
                else:
                    self._db.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, ?)",
                                     (kind, key, json.dumps(doc, separators=(",", ":"))))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._pending.clear()
        self._prefixes.clear()

    def load(self, kind: str) -> list[tuple[str, dict]]:
        """The documents of a kind; one that breaks the service's schema is quarantined."""
        self.flush()
        rows = self._db.execute("SELECT key, doc FROM docs WHERE kind = ? ORDER BY key", (kind,))
        loaded = []
        for key, text in rows.fetchall():
            try:
                doc = json.loads(text)
                problem = schema.stored_problem(kind, doc)
            except ValueError:
                problem = "not valid JSON"
            if problem:
                self._quarantine(kind, key, problem)
            else:
                loaded.append((key, doc))
        return loaded

    def _quarantine(self, kind: str, key: str, problem: str) -> None:
        """Move a document (and its pool's nodes or job's tasks) aside, into the quarantine
        table of the same file, where it can still be read; the service starts without it."""
        children = CHILDREN.get(kind, "")
        self._db.execute("BEGIN")
        self._db.execute(
            "INSERT INTO quarantine SELECT kind, key, doc, ? FROM docs WHERE (kind = ? AND key = ?)"
            " OR (kind = ? AND substr(key, 1, ?) = ?)",
            (problem, kind, key, children, len(key) + 1, key + "/"))
        self._db.execute("DELETE FROM docs WHERE (kind = ? AND key = ?) OR "
                         "(kind = ? AND substr(key, 1, ?) = ?)",
                         (kind, key, children, len(key) + 1, key + "/"))
        self._db.execute("COMMIT")
        log.warning("The stored %s %r breaks the Batch schema (%s): the service starts without "
                    "it%s; it is kept in the quarantine table of %s.", kind, key, problem,
                    f" and its {children}s" if children else "", self.path)

    def close(self) -> None:
        self.flush()
        self._db.close()
