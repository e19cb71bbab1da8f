"""The service's own fields of jobs and tasks: kept beside the wire documents, never inside, and
on disk across a restart; a broken one is quarantined like a broken document."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from localbatch.registry import Registry
from localbatch.store import Store

TASK = {"id": "t1", "state": "running"}


def reopened(path: Path) -> Registry:
    return Registry(Store(path))


def seeded(path: Path, job_state: str, pgid: int, reason: str) -> Registry:
    """A job j1 with its task t1, each with a side record."""
    registry = Registry(Store(path))
    registry.save_job({"id": "j1", "state": job_state})
    registry.save_task("j1", dict(TASK))
    registry.save_task_side("j1", "t1", pgid=pgid)
    registry.save_job_side("j1", terminateReason=reason)
    return registry


def test_side_fields_survive_a_restart_and_stay_out_of_the_documents(tmp_path: Path) -> None:
    seeded(tmp_path / "s.db", "terminating", 4242, "MaxWallClockTimeExpiry").store.close()

    again = reopened(tmp_path / "s.db")
    assert again.task_side == {"j1": {"t1": {"pgid": 4242}}}
    assert again.job_side == {"j1": {"terminateReason": "MaxWallClockTimeExpiry"}}
    assert again.tasks["j1"]["t1"] == TASK
    assert again.jobs["j1"] == {"id": "j1", "state": "terminating"}


def test_clearing_the_last_field_removes_the_record(tmp_path: Path) -> None:
    registry = Registry(Store(tmp_path / "s.db"))
    registry.save_task_side("j1", "t1", pgid=7)
    registry.save_task_side("j1", "t1", pgid=None)
    registry.save_job_side("j1", terminateReason="UserTerminate")
    registry.save_job_side("j1", terminateReason=None)
    registry.store.close()
    again = reopened(tmp_path / "s.db")
    assert (again.task_side.get("j1", {}), again.job_side) == ({}, {})


def test_dropping_a_job_drops_its_side_records_and_its_tasks(tmp_path: Path) -> None:
    registry = seeded(tmp_path / "s.db", "active", 7, "UserTerminate")
    registry.drop_job("j1")
    registry.store.close()
    again = reopened(tmp_path / "s.db")
    assert (again.jobs, again.task_side, again.job_side) == ({}, {}, {})


def test_a_broken_side_record_is_quarantined_and_the_service_starts(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO docs VALUES ('task-side', 'j1/t1', ?)",
                   (json.dumps({"pgid": "not a number"}),))
    registry = reopened(path)
    assert registry.task_side == {}
    with sqlite3.connect(path) as db:
        kept = db.execute("SELECT kind, key, reason FROM quarantine").fetchall()
    assert [(kind, key) for kind, key, _ in kept] == [("task-side", "j1/t1")]
    assert "pgid" in kept[0][2]
