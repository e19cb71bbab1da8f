"""Contained processes: everything a task starts, background children included, ends when the
task ends or is terminated, when its node is removed or its pool deleted, and at
`localbatch down`. On Azure the VM goes and everything with it; a laptop must not collect
orphans. Each test finds the orphan by a unique marker in its command line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.batch import BatchClient, models

from localbatch.control import down
from localbatch.statedir import StateDir
from tests.conftest import (
    batch_client,
    delete_pool,
    job_on,
    nodes_ready,
    pool_on,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)
from tests.test_node_agent import background, processes_with

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(),
                                reason="finds processes through /proc")


@pytest.fixture
def one_node_pool(batch: BatchClient) -> Iterator[str]:
    with pool_on(batch, "procs", 1) as pool_id:
        yield pool_id


def start_marked(batch: BatchClient, job_id: str, tmp_path: Path, then: str,
                 leave_group: bool = False) -> str:
    """Add a task whose background child carries a fresh marker; return the marker once the
    child has run (it may have ended with its task already)."""
    marker = f"orphan-{uuid.uuid4().hex}"
    flag = tmp_path / f"{marker}.flag"
    batch.create_task(job_id, models.BatchTaskCreateOptions(
        id="marked", command_line=background(marker, flag, then, leave_group)))
    wait_for(flag.exists, 60, "the background child to start")
    return marker


def wait_no_orphan(marker: str, what: str) -> None:
    wait_for(lambda: not processes_with(marker), 15, f"the background child to end {what}")


def test_a_background_child_ends_with_its_task(batch: BatchClient, job: str,
                                               tmp_path: Path) -> None:
    marker = start_marked(batch, job, tmp_path, "echo started")
    task = wait_tasks(batch, job)["marked"]
    assert task.execution_info.result == "success"
    wait_no_orphan(marker, "after its task completed")


def test_terminating_a_task_ends_its_background_child(batch: BatchClient, job: str,
                                                      tmp_path: Path) -> None:
    marker = start_marked(batch, job, tmp_path, "sleep 600")
    assert processes_with(marker)
    batch.terminate_task(job, "marked")
    assert wait_tasks(batch, job)["marked"].execution_info.failure_info.code == "TaskEnded"
    wait_no_orphan(marker, "after its task was terminated")


def test_removing_a_node_ends_its_tasks_processes(batch: BatchClient, one_node_pool: str,
                                                  tmp_path: Path) -> None:
    with job_on(batch, one_node_pool) as job_id:
        marker = start_marked(batch, job_id, tmp_path, "sleep 600")
        assert processes_with(marker)
        batch.begin_resize_pool(one_node_pool, models.BatchPoolResizeOptions(
            target_dedicated_nodes=0), polling_interval=0.1).result()
        wait_no_orphan(marker, "after its node was removed")
        assert batch.get_task(job_id, "marked").state == "active"   # requeued, no node left


def test_deleting_a_pool_ends_its_tasks_processes(batch: BatchClient, one_node_pool: str,
                                                  tmp_path: Path) -> None:
    with job_on(batch, one_node_pool) as job_id:
        marker = start_marked(batch, job_id, tmp_path, "sleep 600")
        assert processes_with(marker)
        delete_pool(batch, one_node_pool)
        wait_no_orphan(marker, "after its pool was deleted")


def test_a_child_that_leaves_its_group_ends_when_its_node_stops(
        batch: BatchClient, one_node_pool: str, tmp_path: Path) -> None:
    """`setsid cmd &` escapes its task's group, so it outlives the task (a documented
    difference); the node finds it by its environment when it stops."""
    with job_on(batch, one_node_pool) as job_id:
        marker = start_marked(batch, job_id, tmp_path, "echo started", leave_group=True)
        assert wait_tasks(batch, job_id)["marked"].execution_info.result == "success"
        delete_pool(batch, one_node_pool)
        wait_no_orphan(marker, "after its node stopped")


def test_localbatch_down_ends_task_processes(own_state: StateDir, tmp_path: Path) -> None:
    batch = batch_client(own_state.endpoints())
    pool_id = unique("down")
    batch.create_pool(pool_options(pool_id, 1))
    wait_for(lambda: nodes_ready(batch, pool_id, 1), what="one idle node")
    job_id = unique("job")
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    marker = start_marked(batch, job_id, tmp_path, "sleep 600")
    assert processes_with(marker)
    assert "service" in down(own_state)
    wait_no_orphan(marker, "after localbatch down")
