"""Job preparation and release tasks, through the SDK (REST spec 2025-06-01: BatchJobPreparationTask,
BatchJobReleaseTask, List Job Preparation and Release Task Status; the recordings for the
defaults a job shows)."""

from __future__ import annotations

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from tests.conftest import job_on, nodes_ready, pool_on, unique, wait_for, wait_tasks
from tests.task_helpers import terminate_job
from tests.test_recovery_operations import REQUEUE

SHELL = "/bin/sh -c '{}'"


def preparation(command: str, **options) -> models.BatchJobPreparationTask:
    return models.BatchJobPreparationTask(command_line=SHELL.format(command), **options)


def release(command: str, **options) -> models.BatchJobReleaseTask:
    return models.BatchJobReleaseTask(command_line=SHELL.format(command), **options)


def statuses(batch: BatchClient, job_id: str
             ) -> dict[str, models.BatchJobPreparationAndReleaseTaskStatus]:
    return {s.node_id: s for s in batch.list_job_preparation_and_release_task_status(job_id)}


def refused(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def job_ended(batch: BatchClient, job_id: str) -> bool:
    return batch.get_job(job_id).state == "completed"


@pytest.mark.conformance
def test_the_preparation_task_runs_first_and_once_per_node(batch: BatchClient,
                                                           shared_pool: str) -> None:
    """Before a node's first task of the job, which waits `preparing`; the job's tasks see its
    folder (AZ_BATCH_JOB_PREP_WORKING_DIR, Learn's node variables); the status lists it per node."""
    count = "$AZ_BATCH_NODE_SHARED_DIR/$AZ_BATCH_JOB_ID.prepared"
    with job_on(batch, shared_pool, "prep", job_preparation_task=preparation(
            f"sleep 1; echo ok > marker; echo once >> {count}")) as job_id:
        assert statuses(batch, job_id) == {}   # the recordings: 200 and an empty list
        check = f'test -f "$AZ_BATCH_JOB_PREP_WORKING_DIR/marker" && test "$(wc -l < {count})" = 1'
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"t{n}", command_line=SHELL.format(check)) for n in range(4)])
        wait_for(lambda: any(t.state == "preparing" for t in batch.list_tasks(job_id)), 30,
                 "a task preparing")
        tasks = wait_tasks(batch, job_id)
        assert {t.execution_info.result for t in tasks.values()} == {"success"}
        seen = statuses(batch, job_id)
        used = {t.node_info.node_id for t in tasks.values()}
        assert set(seen) == used
        for node_id, status in seen.items():
            info = status.job_preparation_task_execution_info
            assert (info.state, info.result, info.exit_code, info.retry_count) == (
                "completed", "success", 0, 0)
            assert info.task_root_directory == f"workitems/{job_id}/job-1/jobpreparation"
            assert status.pool_id == shared_pool and status.job_release_task_execution_info is None
            first = min(t.execution_info.start_time for t in tasks.values()
                        if t.node_info.node_id == node_id)
            assert info.end_time <= first


@pytest.mark.conformance
def test_a_failed_preparation_keeps_the_jobs_tasks_off_the_node(batch: BatchClient,
                                                                shared_pool: str) -> None:
    """waitForSuccess (the default): retried up to maxTaskRetryCount, then no task of the job
    runs on that node; the job's other tasks wait, active."""
    with job_on(batch, shared_pool, "prepfail", job_preparation_task=preparation(
            "exit 3", constraints=models.BatchTaskConstraints(max_task_retry_count=1))) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
        wait_for(lambda: len(statuses(batch, job_id)) == 2 and all(
            s.job_preparation_task_execution_info.state == "completed"
            for s in statuses(batch, job_id).values()), 60, "the preparation failed on both nodes")
        for status in statuses(batch, job_id).values():
            info = status.job_preparation_task_execution_info
            assert (info.result, info.exit_code, info.retry_count) == ("failure", 3, 1)
            assert info.failure_info.code == "FailureExitCode" and info.last_retry_time
        task = batch.get_task(job_id, "t")
        assert task.state == "active" and task.execution_info.start_time is None


@pytest.mark.conformance
def test_without_wait_for_success_tasks_run_beside_it(batch: BatchClient,
                                                      shared_pool: str) -> None:
    """waitForSuccess false: tasks run while it runs, and even after it failed."""
    with job_on(batch, shared_pool, "prepnowait", job_preparation_task=preparation(
            "sleep 2; exit 1", wait_for_success=False)) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
        task = wait_tasks(batch, job_id)["t"]
        assert task.execution_info.result == "success"
        info = wait_for(lambda: (s := statuses(batch, job_id)[task.node_info.node_id]
                                 .job_preparation_task_execution_info).state == "completed"
                        and s, 30, "the preparation task's end")
        assert info.result == "failure" and task.execution_info.end_time < info.end_time


@pytest.mark.conformance
def test_the_release_task_runs_when_the_job_is_terminated(batch: BatchClient,
                                                          shared_pool: str) -> None:
    """On each node that ran the preparation task; the job completes after it (the spec: "The
    Job is not marked as complete until all Job Release Tasks have completed")."""
    with job_on(batch, shared_pool, "release", job_preparation_task=preparation("true"),
                job_release_task=release("sleep 1; exit 4")) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
        task = wait_tasks(batch, job_id)["t"]
        terminate_job(batch, job_id, "UserTerminate")   # its poller waits for the job's end
        assert job_ended(batch, job_id)
        seen = statuses(batch, job_id)
        assert list(seen) == [task.node_info.node_id]
        info = seen[task.node_info.node_id].job_release_task_execution_info
        assert (info.state, info.result, info.exit_code) == ("completed", "failure", 4)
        assert info.task_root_directory == f"workitems/{job_id}/job-1/jobrelease"
        assert task.execution_info.end_time <= info.start_time
        job = batch.get_job(job_id)
        assert info.end_time <= job.execution_info.end_time
        assert job.execution_info.termination_reason == "UserTerminate"


@pytest.mark.conformance
def test_the_release_task_runs_when_all_tasks_complete(batch: BatchClient,
                                                       shared_pool: str) -> None:
    """onAllTasksComplete terminatejob ends the job too, so its release task runs."""
    with job_on(batch, shared_pool, "releaseauto", job_preparation_task=preparation("true"),
                job_release_task=release("true")) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
        batch.update_job(job_id, models.BatchJobUpdateOptions(
            all_tasks_complete_mode=models.BatchAllTasksCompleteMode.TERMINATE_JOB))
        wait_for(lambda: job_ended(batch, job_id), 30, "the job completed")
        [status] = statuses(batch, job_id).values()
        assert status.job_release_task_execution_info.result == "success"
        assert batch.get_job(job_id).execution_info.termination_reason == "AllTasksComplete"


@pytest.mark.conformance
def test_a_job_shows_both_tasks_with_their_defaults(batch: BatchClient, shared_pool: str) -> None:
    """The defaults the recordings show: ids jobpreparation and jobrelease, waitForSuccess and
    rerunOnNodeRebootAfterSuccess true, retention P7D, a release's 15 minutes."""
    with job_on(batch, shared_pool, "prepdefaults", job_preparation_task=preparation("true"),
                job_release_task=release("true")) as job_id:
        job = batch.get_job(job_id)
        prep, rel = job.job_preparation_task, job.job_release_task
        assert (prep.id, prep.wait_for_success, prep.rerun_on_node_reboot_after_success) == (
            "jobpreparation", True, True)
        assert prep.constraints.max_task_retry_count == 0
        assert str(prep.constraints.retention_time) == "7 days, 0:00:00"
        assert (rel.id, str(rel.max_wall_clock_time)) == ("jobrelease", "0:15:00")
        for task_id, code in (("jobpreparation", "TaskIdSameAsJobPreparationTask"),
                              ("JobRelease", "TaskIdSameAsJobReleaseTask")):
            same = models.BatchTaskCreateOptions(id=task_id, command_line="/bin/true")
            error = refused(lambda same=same: batch.create_task(job_id, same))
            assert (error.status_code, error.error.code) == (409, code)


@pytest.mark.conformance
def test_the_status_of_a_job_without_a_preparation_task_is_refused(batch: BatchClient,
                                                                   job: str) -> None:
    """The spec: 409 JobPreparationTaskNotSpecified."""
    error = refused(lambda: statuses(batch, job))
    assert (error.status_code, error.error.code) == (409, "JobPreparationTaskNotSpecified")


def test_a_release_task_needs_a_preparation_task(batch: BatchClient, shared_pool: str) -> None:
    """The spec forbids it without an error code: localbatch answers 400 naming the missing
    jobPreparationTask (README, deliberate differences)."""
    error = refused(lambda: batch.create_job(models.BatchJobCreateOptions(
        id=unique("relonly"), pool_info=models.BatchPoolInfo(pool_id=shared_pool),
        job_release_task=release("true"))))
    assert (error.status_code, error.error.code) == (400, "MissingRequiredProperty")
    assert "jobPreparationTask" in str(error)


@pytest.mark.conformance
def test_a_release_task_runs_for_at_most_15_minutes(batch: BatchClient, shared_pool: str) -> None:
    """The spec: "You may not specify a timeout longer than 15 minutes" (400)."""
    error = refused(lambda: batch.create_job(models.BatchJobCreateOptions(
        id=unique("rellong"), pool_info=models.BatchPoolInfo(pool_id=shared_pool),
        job_preparation_task=preparation("true"),
        job_release_task=release("true", max_wall_clock_time="PT16M"))))
    assert error.status_code == 400


@pytest.mark.conformance
def test_a_reboot_reruns_the_preparation_task_as_it_says(batch: BatchClient) -> None:
    """rerunOnNodeRebootAfterSuccess: true runs it again after a reboot, false does not."""
    with pool_on(batch, "prepboot", 1) as pool_id, \
            job_on(batch, pool_id, "rerun", job_preparation_task=preparation("true")) as again, \
            job_on(batch, pool_id, "keep", job_preparation_task=preparation(
                "true", rerun_on_node_reboot_after_success=False)) as keep:
        def prepared(job_id: str):
            [status] = statuses(batch, job_id).values()
            return status.node_id, status.job_preparation_task_execution_info.start_time

        def one_task(job_id: str, task_id: str) -> None:
            batch.create_task(job_id, models.BatchTaskCreateOptions(id=task_id,
                                                                     command_line="/bin/true"))
            wait_tasks(batch, job_id)

        for job_id in (again, keep):
            one_task(job_id, "before")
        node_id, first = prepared(again)
        _, kept = prepared(keep)
        batch.begin_reboot_node(pool_id, node_id, REQUEUE, polling_interval=0.1).result()
        wait_for(lambda: nodes_ready(batch, pool_id, 1), 60, "the node back")
        for job_id in (again, keep):
            one_task(job_id, "after")
        assert prepared(again)[1] > first
        assert prepared(keep)[1] == kept


@pytest.mark.conformance
def test_the_release_task_runs_when_the_job_is_deleted(batch: BatchClient,
                                                       shared_pool: str) -> None:
    """Delete Job runs it too (the spec's BatchJobReleaseTask); the job is gone after it."""
    mark = "$AZ_BATCH_NODE_SHARED_DIR/$AZ_BATCH_JOB_ID.released"
    with job_on(batch, shared_pool, "reldel", job_preparation_task=preparation("true"),
                job_release_task=release(f"sleep 1; echo released > {mark}")) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
        node_id = wait_tasks(batch, job_id)["t"].node_info.node_id
    written = b"".join(batch.download_node_file(shared_pool, node_id, f"shared/{job_id}.released"))
    assert written == b"released\n"
