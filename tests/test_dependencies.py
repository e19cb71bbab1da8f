"""Task dependencies, through the SDK (Learn, "Create task dependencies to run tasks that depend
on other tasks"; the error codes from Learn's "Batch status and error codes")."""

from __future__ import annotations

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from tests.conftest import delete_pool, nodes_ready, pool_options, unique, wait_for


@pytest.fixture(scope="module")
def pool(batch: BatchClient):
    pool_id = unique("deps")
    batch.create_pool(pool_options(pool_id, 2))
    wait_for(lambda: nodes_ready(batch, pool_id, 2), 120, "two idle nodes")
    yield pool_id
    delete_pool(batch, pool_id)


def job(batch: BatchClient, pool_id: str, dependencies: bool = True) -> str:
    job_id = unique("job")
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id),
        uses_task_dependencies=dependencies))
    return job_id


def task(task_id: str, command: str = "/bin/true", ids=None, ranges=None, conditions=None):
    depends = models.BatchTaskDependencies(task_ids=ids, task_id_ranges=ranges) \
        if ids or ranges else None
    return models.BatchTaskCreateOptions(id=task_id, command_line=command, depends_on=depends,
                                         exit_conditions=conditions)


def state(batch: BatchClient, job_id: str, task_id: str) -> str:
    return batch.get_task(job_id, task_id).state


def refused(batch: BatchClient, job_id: str, options) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        batch.create_task(job_id, options)
    return caught.value


@pytest.mark.conformance
def test_a_dependency_needs_the_jobs_flag(batch: BatchClient, pool: str) -> None:
    """TaskDependenciesNotSpecifiedOnJob, 400 (Azure/azure-sdk-for-python#27859, #42399)."""
    job_id = job(batch, pool, dependencies=False)
    try:
        error = refused(batch, job_id, task("b", ids=["a"]))
        assert (error.status_code, error.error.code) == (400, "TaskDependenciesNotSpecifiedOnJob")
        assert batch.get_job(job_id).uses_task_dependencies is False
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.2).result()


@pytest.mark.conformance
def test_a_dependant_waits_for_its_parents_then_runs(batch: BatchClient, pool: str) -> None:
    """"A dependant stays active until every parent has completed and satisfies it"; a range
    selects the tasks whose ids are integers."""
    job_id = job(batch, pool)
    try:
        batch.create_tasks(job_id, [task(str(i), "/bin/sleep 2") for i in range(1, 4)] + [
            task("join", ids=["setup"], ranges=[models.BatchTaskIdRange(start=1, end=3)]),
            task("setup", "/bin/sleep 1")])
        assert batch.get_job(job_id).uses_task_dependencies is True
        stored = batch.get_task(job_id, "join").depends_on
        assert stored.task_ids == ["setup"] and stored.task_id_ranges[0].end == 3
        wait_for(lambda: state(batch, job_id, "setup") == "completed", 60, "the parent")
        assert state(batch, job_id, "join") == "active"   # 1 to 3 still run
        done = wait_for(lambda: (t := batch.get_task(job_id, "join")).state == "completed" and t,
                        60, "the dependant")
        parents_end = max(batch.get_task(job_id, str(i)).execution_info.end_time
                          for i in range(1, 4))
        assert done.execution_info.start_time >= parents_end
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.2).result()


@pytest.mark.conformance
def test_a_failed_parent_blocks_unless_its_exit_conditions_satisfy(batch: BatchClient,
                                                                   pool: str) -> None:
    """Learn's defaults: satisfy for exit code 0, block for any other end; exitConditions'
    dependencyAction changes that. A blocked dependant is never scheduled (#26037)."""
    job_id = job(batch, pool)
    satisfy = models.ExitConditions(exit_codes=[models.ExitCodeMapping(
        code=3, exit_options=models.ExitOptions(dependency_action="satisfy"))])
    try:
        batch.create_tasks(job_id, [
            task("fails", "/bin/sh -c 'exit 3'"), task("blocked", ids=["fails"]),
            task("fails-ok", "/bin/sh -c 'exit 3'", conditions=satisfy),
            task("runs", ids=["fails-ok"])])
        wait_for(lambda: state(batch, job_id, "runs") == "completed", 60, "the satisfied one")
        assert batch.get_task(job_id, "fails").execution_info.exit_code == 3
        assert state(batch, job_id, "blocked") == "active"
        counts = batch.get_job_task_counts(job_id).task_counts
        assert counts.active == 1 and counts.running == 0
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.2).result()


@pytest.mark.conformance
def test_the_documented_limits(batch: BatchClient, pool: str) -> None:
    """taskIds: at most 64,000 characters (TaskDependencyListTooLong); ranges: a limit whose size
    is not documented (TaskDependencyRangesTooLong, here past 1,000)."""
    job_id = job(batch, pool)
    try:
        ids = [f"{i:063d}" for i in range(1100)]   # 69,300 characters
        error = refused(batch, job_id, task("many", ids=ids))
        assert (error.status_code, error.error.code) == (400, "TaskDependencyListTooLong")
        ranges = [models.BatchTaskIdRange(start=i, end=i) for i in range(1001)]
        error = refused(batch, job_id, task("ranges", ranges=ranges))
        assert (error.status_code, error.error.code) == (400, "TaskDependencyRangesTooLong")
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.2).result()


def test_a_task_that_depends_on_itself_is_refused(batch: BatchClient, pool: str) -> None:
    """Not documented: localbatch refuses it (400 InvalidPropertyValue), as the README says."""
    job_id = job(batch, pool)
    try:
        for options in (task("7", ids=["7"]),
                        task("7", ranges=[models.BatchTaskIdRange(start=1, end=9)])):
            error = refused(batch, job_id, options)
            assert (error.status_code, error.error.code) == (400, "InvalidPropertyValue")
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.2).result()
