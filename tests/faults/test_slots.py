"""Task slots: a node's slots are held by what actually runs there, so deleting and re-adding a
task cannot leak one, and a task that needs more slots than a node has fails on its own
(TaskSchedulingConstraintFailed, a UserError in Learn's table) instead of blocking its job."""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.batch import BatchClient, models

from tests.conftest import (
    job_on,
    pool_on,
    wait_for,
    wait_tasks,
)
from tests.faults.test_isolation import POOL, completed, node_idle, running_service, until


@pytest.fixture
def two_slot_node(batch: BatchClient) -> Iterator[str]:
    """A pool of one node with two task slots."""
    with pool_on(batch, "slots", 1, slots=2) as pool_id:
        yield pool_id


def node_slots(batch: BatchClient, pool_id: str) -> tuple[int, int]:
    node = next(iter(batch.list_nodes(pool_id)))
    return node.running_tasks_count, node.running_task_slots_count


def started(svc, job: str, task: str) -> bool:
    """The task's process runs: the service keeps its process group, beside the task's record."""
    return "pgid" in svc.registry.task_side.get(job, {}).get(task, {})


def meet(mine: Path, other: Path) -> str:
    """A task that runs only if its partner runs at the same time: each waits for the other."""
    script = (f"touch {shlex.quote(str(mine))}; for i in $(seq 300); do "
              f"[ -e {shlex.quote(str(other))} ] && exit 0; sleep 0.05; done; exit 1")
    return f"/bin/bash -c {shlex.quote(script)}"


def test_a_task_needing_more_slots_than_a_node_has_fails_and_the_job_goes_on(
        batch: BatchClient, two_slot_node: str) -> None:
    with job_on(batch, two_slot_node) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="big", command_line="/bin/true", required_slots=3))
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="after", command_line="/bin/true"))
        tasks = wait_tasks(batch, job_id, 60)
        big = tasks["big"].execution_info
        assert big.result == "failure" and big.exit_code is None
        assert (big.failure_info.category, big.failure_info.code) == (
            "usererror", "TaskSchedulingConstraintFailed")
        assert "3 slots" in big.failure_info.message
        assert tasks["after"].execution_info.result == "success"


def test_deleting_a_running_task_and_adding_it_again_leaks_no_slot(
        batch: BatchClient, two_slot_node: str, tmp_path: Path) -> None:
    with job_on(batch, two_slot_node) as job_id:
        long = models.BatchTaskCreateOptions(id="t", command_line="/bin/sleep 30")
        batch.create_task(job_id, long)
        wait_for(lambda: batch.get_task(job_id, "t").state == "running", 30, "t to run")
        batch.delete_task(job_id, "t")
        batch.create_task(job_id, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
        wait_tasks(batch, job_id, 60)
        wait_for(lambda: node_slots(batch, two_slot_node) == (0, 0), 30,
                 "the node to hold no slot")
        # both slots are usable: two tasks that need each other running at once both succeed
        a, b = tmp_path / "a", tmp_path / "b"
        batch.create_tasks(job_id, [
            models.BatchTaskCreateOptions(id="a", command_line=meet(a, b)),
            models.BatchTaskCreateOptions(id="b", command_line=meet(b, a))])
        tasks = wait_tasks(batch, job_id, 60)
        assert {tasks[i].execution_info.result for i in ("a", "b")} == {"success"}
        assert node_slots(batch, two_slot_node) == (0, 0)


def test_the_old_run_ending_after_its_replacement_starts_frees_only_its_own_slot(
        tmp_path: Path) -> None:
    """The same case in-process, where the order is certain: the deleted task's process is
    still being killed when its replacement is dispatched, and its end is reported after."""
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            svc.pools.create(dict(POOL))
            svc.jobs.create({"id": "job", "poolInfo": {"poolId": "pool"}})
            await until(lambda: node_idle(svc), "an idle node")
            svc.tasks.create("job", {"id": "t", "commandLine": "/bin/sleep 30"})
            await until(lambda: started(svc, "job", "t"), "t to start")
            assert "pgid" not in json.dumps(svc.tasks.get("job", "t"))   # a side record
            svc.tasks.delete("job", "t")
            svc.tasks.create("job", {"id": "t", "commandLine": "/bin/sleep 1"})
            node = next(iter(svc.registry.nodes["pool"].values()))
            assert (node["runningTasksCount"], node["runningTaskSlotsCount"]) == (2, 2)
            await until(lambda: completed(svc, "job", "t"), "the new t to complete")
            assert svc.registry.tasks["job"]["t"]["executionInfo"]["result"] == "success"
            await until(lambda: node["state"] == "idle", "the node to be idle")
            assert (node["runningTasksCount"], node["runningTaskSlotsCount"]) == (0, 0)
            assert node["totalTasksRun"] == 2 and not svc.tasks.book.on_node("pool", node["id"])

    asyncio.run(scenario())


def test_deleting_the_last_running_task_of_a_terminating_job_completes_the_job(
        tmp_path: Path) -> None:
    """The same bookkeeping: once the deleted task's run is no longer the task's, nothing is
    running, and a terminating job must not wait for that run's end to complete."""
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            svc.pools.create(dict(POOL))
            svc.jobs.create({"id": "job", "poolInfo": {"poolId": "pool"}})
            await until(lambda: node_idle(svc), "an idle node")
            svc.tasks.create("job", {"id": "t", "commandLine": "/bin/sleep 30"})
            await until(lambda: started(svc, "job", "t"), "t to start")
            svc.jobs.terminate("job")
            assert svc.registry.jobs["job"]["state"] == "terminating"
            svc.tasks.delete("job", "t")
            assert svc.registry.jobs["job"]["state"] == "completed"
            await until(lambda: node_idle(svc), "the node to be idle again")

    asyncio.run(scenario())
