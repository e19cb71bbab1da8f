"""nodeDeallocationOption on a resize down, as the spec describes each value: `requeue` (the
default; counted in requeueCount), `terminate` (the task ends for good), `taskcompletion` (it
finishes first) and `retaineddata` (it finishes, and the node stays until the task's
retentionTime has passed). An unknown value is a 400."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from tests.conftest import (
    job_on,
    pool_on,
    wait_for,
    wait_tasks,
)


@pytest.fixture
def pool(batch: BatchClient) -> Iterator[str]:
    with pool_on(batch, "dealloc", 1) as pool_id:
        yield pool_id


@pytest.fixture
def job(batch: BatchClient, pool: str) -> Iterator[str]:
    with job_on(batch, pool) as job_id:
        yield job_id


def run_then_shrink(batch: BatchClient, pool: str, job: str, tmp_path: Path, seconds: float,
                    option: str, **task_options) -> Path:
    """Start a task that marks its start, sleeps, then marks its end; once it runs, resize the
    pool to 0 with the option. Return the end mark's path."""
    started, ended = tmp_path / "started", tmp_path / "ended"
    script = f"touch {shlex.quote(str(started))}; sleep {seconds}; touch {shlex.quote(str(ended))}"
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="t", command_line=f"/bin/bash -c {shlex.quote(script)}", **task_options))
    wait_for(started.exists, 60, "the task to start")
    batch.begin_resize_pool(pool, models.BatchPoolResizeOptions(
        target_dedicated_nodes=0, node_deallocation_option=option), polling_interval=0.1)
    return ended


def no_nodes(batch: BatchClient, pool: str) -> bool:
    return not list(batch.list_nodes(pool))


def test_requeue_puts_the_task_back_and_counts_it(batch: BatchClient, pool: str, job: str,
                                                  tmp_path: Path) -> None:
    ended = run_then_shrink(batch, pool, job, tmp_path, 30, "requeue")
    wait_for(lambda: no_nodes(batch, pool), 30, "the node to go")
    task = batch.get_task(job, "t")
    assert task.state == "active"
    assert (task.execution_info.requeue_count, task.execution_info.retry_count) == (1, 0)
    assert not ended.exists()


def test_terminate_ends_the_task_for_good(batch: BatchClient, pool: str, job: str,
                                          tmp_path: Path) -> None:
    ended = run_then_shrink(batch, pool, job, tmp_path, 30, "terminate")
    wait_for(lambda: no_nodes(batch, pool), 30, "the node to go")
    task = wait_tasks(batch, job, 30)["t"]
    assert task.state == "completed"
    assert task.execution_info.result == "failure"
    assert task.execution_info.failure_info.code == "TaskEnded"
    assert task.execution_info.requeue_count == 0
    assert not ended.exists()


def test_taskcompletion_lets_the_task_finish_first(batch: BatchClient, pool: str, job: str,
                                                   tmp_path: Path) -> None:
    ended = run_then_shrink(batch, pool, job, tmp_path, 2, "taskcompletion")
    node = next(iter(batch.list_nodes(pool)))
    assert node.state == "leavingpool"
    assert batch.get_pool(pool).allocation_state == "resizing"
    task = wait_tasks(batch, job, 30)["t"]
    assert task.execution_info.result == "success" and ended.exists()
    wait_for(lambda: no_nodes(batch, pool), 30, "the node to go after its task")
    wait_for(lambda: batch.get_pool(pool).allocation_state == "steady", 30, "a steady pool")


def test_retaineddata_keeps_the_node_until_the_retention_time_passes(
        batch: BatchClient, pool: str, job: str, tmp_path: Path) -> None:
    run_then_shrink(batch, pool, job, tmp_path, 1, "retaineddata",
                    constraints=models.BatchTaskConstraints(retention_time="PT4S"))
    task = wait_tasks(batch, job, 30)["t"]
    assert task.execution_info.result == "success"
    assert not no_nodes(batch, pool)   # the task's files are still kept
    wait_for(lambda: no_nodes(batch, pool), 30, "the node to go once retention passed")


def test_an_unknown_deallocation_option_is_a_400(batch: BatchClient, pool: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        batch.begin_resize_pool(pool, models.BatchPoolResizeOptions(
            target_dedicated_nodes=0, node_deallocation_option="evaporate"),
            polling_interval=0.1).result()
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidPropertyValue"
    assert "nodeDeallocationOption" in str(caught.value)
    assert len(list(batch.list_nodes(pool))) == 1
