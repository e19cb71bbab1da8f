"""The service's write-behind store: changes are gathered, committed in one go, and never lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from localbatch.store import Store


def on_disk(path: Path, kind: str) -> dict[str, dict]:
    """What another process would find in the file now."""
    other = Store(path)
    try:
        return dict(other.load(kind))
    finally:
        other.close()


def test_outside_an_event_loop_each_change_is_committed_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.put("pool", "a", {"id": "a"})
    assert on_disk(tmp_path / "s.db", "pool") == {"a": {"id": "a"}}
    store.delete("pool", "a")
    assert on_disk(tmp_path / "s.db", "pool") == {}


def test_changes_of_one_turn_are_one_commit_of_the_latest_versions(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = Store(path)

    async def burst() -> tuple[dict, dict]:
        doc = {"id": "t", "state": "active"}
        store.put("task", "j/t", doc)
        doc["state"] = "running"
        store.put("task", "j/t", doc)
        doc["state"] = "completed"
        before = on_disk(path, "task")
        await asyncio.sleep(0)   # the turn ends: the store commits
        return before, on_disk(path, "task")

    before, after = asyncio.run(burst())
    assert before == {}
    assert after == {"j/t": {"id": "t", "state": "completed"}}


def test_prefix_deletion_keeps_order_with_puts(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = Store(path)
    store.put("task", "j/old", {"id": "old"})
    store.put("task", "k/other", {"id": "other"})

    async def turn() -> None:
        store.put("task", "j/gone", {"id": "gone"})    # before the deletion: deleted with it
        store.delete_prefix("task", "j/")
        store.put("task", "j/new", {"id": "new"})      # after it: kept
        await asyncio.sleep(0)

    asyncio.run(turn())
    assert on_disk(path, "task") == {"j/new": {"id": "new"}, "k/other": {"id": "other"}}


def test_a_failed_commit_keeps_the_changes_for_the_next(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = Store(path)
    store.put("pool", "a", {"id": "a"})
    bad = {"id": "b", "handle": object()}   # cannot be encoded
    with pytest.raises(TypeError):
        store.put("pool", "b", bad)
    assert on_disk(path, "pool") == {"a": {"id": "a"}}   # nothing half-written
    del bad["handle"]
    store.put("pool", "c", {"id": "c"})
    assert on_disk(path, "pool") == {"a": {"id": "a"}, "b": {"id": "b"}, "c": {"id": "c"}}
