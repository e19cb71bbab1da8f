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
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.conftest import delete_job, delete_pool, job_on, pool_options, unique, wait_for
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


# -- update and replace (PATCH and PUT) ----------------------------------------------------------

@pytest.mark.conformance
def test_a_job_updated_to_terminate_completes_once_its_tasks_have(batch: BatchClient) -> None:
    """Learn's pattern: add all tasks, then set the job to terminate when they are done. The
    spec: onAllTasksComplete may not go back from terminatejob to noaction (400)."""
    pool_id, job_id = unique("update"), unique("ends")
    batch.create_pool(pool_options(pool_id, 1))
    try:
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"t{i}", command_line="/bin/true") for i in range(3)])
        batch.update_job(job_id, models.BatchJobUpdateOptions(
            priority=100, all_tasks_complete_mode="terminatejob"))
        job = batch.get_job(job_id)
        assert job.priority == 100 and job.all_tasks_complete_mode == "terminatejob"
        wait_for(lambda: batch.get_job(job_id).state == "completed", 120, "the job to complete")
        with pytest.raises(HttpResponseError) as refused:
            batch.update_job(job_id, models.BatchJobUpdateOptions(priority=1))
        assert (refused.value.status_code, refused.value.error.code) == (409, "JobCompleted")
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.2).result()
        delete_pool(batch, pool_id)


@pytest.mark.conformance
def test_update_and_replace_follow_the_specs_rules(batch: BatchClient) -> None:
    pool_id, job_id = unique("rules"), unique("job")
    batch.create_pool(pool_options(pool_id, 0))
    try:
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id),
            all_tasks_complete_mode="terminatejob", priority=5))
        with pytest.raises(HttpResponseError) as back:
            batch.update_job(job_id, models.BatchJobUpdateOptions(
                all_tasks_complete_mode="noaction"))
        assert (back.value.status_code, back.value.error.code) == (400, "InvalidPropertyValue")
        with pytest.raises(HttpResponseError) as moved:
            batch.update_job(job_id, models.BatchJobUpdateOptions(
                pool_info=models.BatchPoolInfo(pool_id="another-pool")))
        assert moved.value.status_code == 409   # only a disabled job may change its pool
        batch.replace_job(job_id, models.BatchJob(
            pool_info=models.BatchPoolInfo(pool_id=pool_id),
            constraints=models.BatchJobConstraints(max_task_retry_count=2)))
        job = batch.get_job(job_id)
        assert job.priority == 0   # PUT: what the body leaves out goes back to its default
        assert job.constraints.max_task_retry_count == 2
        assert job.all_tasks_complete_mode == "terminatejob"
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.2).result()
        delete_pool(batch, pool_id)
