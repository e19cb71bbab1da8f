"""Load: many tasks and many clients at once, and nothing lost, duplicated or left unanswered.

Why: a class runs the tutorial with thousands of inputs, and learners keep several notebooks
(and the monitor's progress bar) polling the same job. `create_tasks` must add every task once,
the scheduler must run each exactly once, and every poll must get an answer whose counts only
move forward. Timeouts are generous and nothing here is timed: speed is the benchmark's business.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from azure.batch import BatchClient, models

from tests.conftest import (
    batch_client,
    job_on,
    pool_on,
    wait_tasks,
)

CLIENTS = 20


@pytest.fixture(scope="module")
def slotted_pool(batch: BatchClient) -> Iterator[str]:
    """Two nodes of four task slots each: eight tasks run at once."""
    with pool_on(batch, "load-pool", 2, slots=4) as pool_id:
        yield pool_id


@pytest.fixture
def load_job(batch: BatchClient, slotted_pool: str) -> Iterator[str]:
    with job_on(batch, slotted_pool, "load-job") as job_id:
        yield job_id


def add_tasks(batch: BatchClient, job_id: str, count: int, command: str) -> list[str]:
    """Add `count` tasks in one create_tasks call; every one must be reported added."""
    ids = [f"t{i:04d}" for i in range(count)]
    result = batch.create_tasks(job_id, [
        models.BatchTaskCreateOptions(id=task_id, command_line=command) for task_id in ids])
    statuses = {item.task_id: item.status for item in result.result_values}
    assert len(result.result_values) == count and sorted(statuses) == ids
    assert set(statuses.values()) == {"success"}, statuses
    return ids


@pytest.mark.slow
def test_a_thousand_tasks_run_once_each(batch: BatchClient, slotted_pool: str,
                                        load_job: str) -> None:
    ids = add_tasks(batch, load_job, 1000, "/bin/true")
    tasks = wait_tasks(batch, load_job, timeout=1200)

    listed = [t.id for t in batch.list_tasks(load_job)]
    assert len(listed) == 1000 and sorted(set(listed)) == ids, "each task listed exactly once"
    bad = {task_id: (t.state, t.execution_info and t.execution_info.result)
           for task_id, t in tasks.items()
           if t.state != "completed" or t.execution_info.result != "success"
           or t.execution_info.exit_code != 0 or t.execution_info.retry_count != 0}
    assert not bad, f"{len(bad)} tasks did not succeed first time, e.g. {list(bad.items())[:5]}"
    counts = batch.get_job_task_counts(load_job)
    tc = counts.task_counts
    assert (tc.active, tc.running, tc.completed, tc.succeeded, tc.failed) == (0, 0, 1000, 1000, 0)
    assert counts.task_slot_counts.succeeded == 1000
    nodes = list(batch.list_nodes(slotted_pool))
    assert sum(n.total_tasks_run for n in nodes) == 1000, \
        {n.id: n.total_tasks_run for n in nodes}
    assert sum(n.total_tasks_succeeded for n in nodes) == 1000
    assert {t.node_info.node_id for t in tasks.values()} == {n.id for n in nodes}


def poll(endpoints: dict, job_id: str, total: int, log: list, errors: list) -> None:
    """One learner's notebook: task counts and the full list, until every task has completed."""
    client = batch_client(endpoints)
    try:
        while True:
            counts = client.get_job_task_counts(job_id).task_counts
            listed = list(client.list_tasks(job_id, max_results=100, select=["id", "state"]))
            done = sum(t.state == "completed" for t in listed)
            log.append((counts.active, counts.running, counts.completed, counts.succeeded,
                        len(listed), len({t.id for t in listed}), done))
            if counts.completed == total and done == total:
                return
    except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        client.close()


def test_twenty_clients_polling_while_tasks_run(batch: BatchClient, endpoints: dict,
                                                load_job: str) -> None:
    total = 200
    add_tasks(batch, load_job, total, "/bin/sleep 0.5")
    logs: list[list] = [[] for _ in range(CLIENTS)]
    errors: list[str] = []
    threads = [threading.Thread(target=poll, args=(endpoints, load_job, total, log, errors),
                                daemon=True) for log in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not [t for t in threads if t.is_alive()], "a client never saw the job finish"
    assert not errors, f"{len(errors)} requests went unanswered: {errors[:3]}"

    for client, log in enumerate(logs):
        assert log, f"client {client} made no request"
        for active, running, completed, succeeded, listed, unique_ids, done in log:
            assert active + running + completed == total, (client, log)
            assert listed == unique_ids == total, (client, "the list lost or doubled a task")
        for column, what in ((2, "completed"), (3, "succeeded"), (6, "listed completed")):
            series = [entry[column] for entry in log]
            assert series == sorted(series), f"client {client}: {what} went back: {series}"
    assert any(entry[1] for log in logs for entry in log), "no poll saw a task running"
    wait_tasks(batch, load_job)
