"""A job's end: terminate it (running tasks end, queued ones never
start), delete it, or let it complete when all its tasks have.

The tests marked conformance use only the REST API and blobs; the others check processes and
files on this machine, so `make test-live` leaves them out.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import ResourceNotFoundError

from tests.conftest import delete_job, job_on, unique, wait_for
from tests.task_helpers import bash, sleeper, terminate_job, wait_gone, wait_running

# -- terminate and delete -----------------------------------------------------------------------

def test_terminate_job_ends_running_and_holds_queued_tasks(
        batch: BatchClient, start_pool: str, tmp_path: Path) -> None:
    """One node, one slot: the first task runs, the others wait and must never start."""
    job_id = unique("term-job")
    pid_file, ran = tmp_path / "pids", tmp_path / "ran.txt"
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=start_pool)))
    try:
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="first", command_line=sleeper(pid_file)))
        pids = wait_running(batch, job_id, "first", pid_file)
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"queued{i}", command_line=bash(f"echo {i} >> {shlex.quote(str(ran))}"))
            for i in range(2)])
        assert {t.id: t.state for t in batch.list_tasks(job_id)} == {
            "first": "running", "queued0": "active", "queued1": "active"}

        terminate_job(batch, job_id, "StoppedByTest")
        job = batch.get_job(job_id)
        assert job.state == "completed"
        assert job.execution_info.end_time is not None
        # The job leaves `terminating` only once its running tasks are terminated.
        first = batch.get_task(job_id, "first")
        assert first.state == "completed"
        assert first.execution_info.result == "failure"
        wait_gone(pids, "the running task of the terminated job")
        wait_for(lambda: next(iter(batch.list_nodes(start_pool))).state == "idle", 30,
                 "the node to be idle again")
        assert not ran.exists()
        for task_id in ("queued0", "queued1"):
            queued = batch.get_task(job_id, task_id)
            assert queued.node_info is None, task_id
            assert queued.execution_info.start_time is None, task_id
        # Active tasks stay active and are never scheduled (REST reference, Job - Terminate;
        # the SDK's begin_terminate_job docstring says the same).
        assert [batch.get_task(job_id, t).state for t in ("queued0", "queued1")] == [
            "active", "active"]
    finally:
        delete_job(batch, job_id)


@pytest.mark.conformance
def test_terminate_job_records_the_reason(batch: BatchClient, shared_pool: str) -> None:
    with job_on(batch, shared_pool, "reason-job") as job_id:
        terminate_job(batch, job_id, "StoppedByTest")
        job = batch.get_job(job_id)
        assert job.state == "completed"
        assert job.execution_info.termination_reason == "StoppedByTest"


def test_delete_job_kills_its_running_task(batch: BatchClient, job: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    batch.create_task(job, models.BatchTaskCreateOptions(id="sleeper",
                                                         command_line=sleeper(pid_file)))
    pids = wait_running(batch, job, "sleeper", pid_file)
    batch.begin_delete_job(job, polling_interval=0.1).result()
    with pytest.raises(ResourceNotFoundError) as caught:
        batch.get_job(job)
    assert caught.value.error.code == "JobNotFound"
    wait_gone(pids, "the deleted job's task")


# -- onAllTasksComplete -------------------------------------------------------------------------

@pytest.mark.conformance
def test_all_tasks_complete_terminates_the_job(batch: BatchClient, shared_pool: str) -> None:
    job_id = unique("auto-job")
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=shared_pool),
        all_tasks_complete_mode=models.BatchAllTasksCompleteMode.TERMINATE_JOB))
    try:
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"t{i}", command_line="/bin/echo done") for i in range(3)])
        job = wait_for(lambda: (j := batch.get_job(job_id)).state == "completed" and j, 60,
                       "the job to complete by itself")
        assert job.all_tasks_complete_mode == "terminatejob"
        assert job.execution_info.termination_reason == "AllTasksComplete"
        tasks = list(batch.list_tasks(job_id))
        assert len(tasks) == 3
        assert all(t.state == "completed" and t.execution_info.result == "success"
                   for t in tasks)
        assert max(t.execution_info.end_time for t in tasks) <= job.execution_info.end_time
    finally:
        delete_job(batch, job_id)
