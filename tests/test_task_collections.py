"""Adding tasks in collections as the real Batch service answers it: the limit of 100, a
result per task, and the SDK's chunking helper.

Through the real SDK.
"""

from __future__ import annotations

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from tests.raw_rest import ETAG

pytestmark = pytest.mark.conformance   # only the REST API: `make test-live` runs it on Azure


def trivial_task(task_id: str) -> models.BatchTaskCreateOptions:
    return models.BatchTaskCreateOptions(id=task_id, command_line="/bin/true")


# -- task collections ----------------------------------------------------------------------


def test_collection_of_101_tasks_is_413_request_body_too_large(
        batch: BatchClient, idle_job: str) -> None:
    group = models.BatchTaskGroup(task_values=[trivial_task(f"t{i:03}") for i in range(101)])
    with pytest.raises(HttpResponseError) as info:
        batch.create_task_collection(idle_job, group)
    assert info.value.status_code == 413
    assert info.value.error.code == "RequestBodyTooLarge"
    assert list(batch.list_tasks(idle_job)) == []


def test_collection_of_100_tasks_is_accepted(batch: BatchClient, idle_job: str) -> None:
    group = models.BatchTaskGroup(task_values=[trivial_task(f"t{i:03}") for i in range(100)])
    result = batch.create_task_collection(idle_job, group)
    assert len(result.result_values) == 100
    assert {r.status for r in result.result_values} == {"success"}


def test_collection_with_existing_id_reports_task_exists_for_that_task_only(
        batch: BatchClient, idle_job: str) -> None:
    batch.create_task(idle_job, trivial_task("dup"))
    group = models.BatchTaskGroup(task_values=[
        trivial_task("new1"), trivial_task("dup"), trivial_task("new2")])
    result = batch.create_task_collection(idle_job, group)
    by_id = {r.task_id: r for r in result.result_values}
    assert set(by_id) == {"new1", "dup", "new2"}
    assert by_id["dup"].status == "clienterror"
    assert by_id["dup"].error.code == "TaskExists"
    for task_id in ("new1", "new2"):
        assert by_id[task_id].status == "success"
        assert by_id[task_id].error is None
        assert ETAG.match(by_id[task_id].etag)
        assert by_id[task_id].location.endswith(f"/jobs/{idle_job}/tasks/{task_id}")
    assert {t.id for t in batch.list_tasks(idle_job)} == {"dup", "new1", "new2"}


def test_create_tasks_helper_adds_250_tasks(batch: BatchClient, idle_job: str) -> None:
    """The SDK's chunking helper splits 250 tasks into collections of at most 100."""
    tasks = [trivial_task(f"bulk{i:03}") for i in range(250)]
    result = batch.create_tasks(idle_job, tasks)
    assert len(result.result_values) == 250
    assert {r.status for r in result.result_values} == {"success"}
    ids = [t.id for t in batch.list_tasks(idle_job)]
    assert len(ids) == 250
    assert set(ids) == {t.id for t in tasks}
