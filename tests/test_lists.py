"""Lists as the service answers them: paging by odata.nextLink, $filter, $select, task counts."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from azure.batch import BatchClient, models
from azure.batch._patch import BatchSharedKeyAuthPolicy
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from tests.conftest import delete_pool, job_on, pool_options, unique, wait_tasks

pytestmark = pytest.mark.conformance   # only the REST API: `make test-live` runs it on Azure

API = "2025-06-01"
TASK_COUNT = 25


def signed_get(endpoints: dict[str, str], url: str) -> requests.Response:
    """A GET signed by the SDK's own shared-key policy (for what the SDK's pager hides)."""
    request = HttpRequest("GET", url)
    BatchSharedKeyAuthPolicy(AzureNamedKeyCredential(
        endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_KEY"])).on_request(
        PipelineRequest(request, PipelineContext(None)))
    return requests.get(url, headers=dict(request.headers), timeout=30)


def list_url(endpoints: dict[str, str], path: str, **query: str) -> str:
    params = {"api-version": API, **query}
    text = "&".join(f"{quote(k, safe='$')}={quote(v, safe=',')}" for k, v in params.items())
    return f"{endpoints['BATCH_ACCOUNT_URL'].rstrip('/')}{path}?{text}"


@pytest.fixture(scope="module")
def finished_job(batch: BatchClient, shared_pool: str) -> Iterator[str]:
    """A job of 25 trivial tasks (t00..t24), all completed."""
    with job_on(batch, shared_pool, "lists") as job_id:
        batch.create_task_collection(job_id, models.BatchTaskGroup(task_values=[
            models.BatchTaskCreateOptions(id=f"t{i:02}", command_line="/bin/true")
            for i in range(TASK_COUNT)]))
        wait_tasks(batch, job_id, timeout=180)
        yield job_id


@pytest.fixture(scope="module")
def mixed_job(batch: BatchClient, shared_pool: str) -> Iterator[str]:
    """A job of four tasks: ok1..ok3 exit 0, bad exits 3; all completed."""
    tasks = [models.BatchTaskCreateOptions(id=f"ok{i}", command_line="/bin/true")
             for i in (1, 2, 3)]
    tasks.append(models.BatchTaskCreateOptions(id="bad", command_line='/bin/bash -c "exit 3"'))
    with job_on(batch, shared_pool, "mixed") as job_id:
        batch.create_task_collection(job_id, models.BatchTaskGroup(task_values=tasks))
        wait_tasks(batch, job_id)
        yield job_id


# -- paging ----------------------------------------------------------------------------------


def test_list_tasks_pages_through_all_tasks_once(batch: BatchClient, finished_job: str) -> None:
    ids = [t.id for t in batch.list_tasks(finished_job, max_results=10)]
    assert len(ids) == TASK_COUNT
    assert sorted(ids) == [f"t{i:02}" for i in range(TASK_COUNT)]


def test_raw_pages_carry_next_link_until_the_last(endpoints: dict[str, str],
                                                  finished_job: str) -> None:
    """Pages of 10, 10 and 5; each link repeats maxresults=10 and adds $skiptoken."""
    url: str | None = list_url(endpoints, f"/jobs/{finished_job}/tasks", maxresults="10")
    pages: list[list[str]] = []
    bodies = []
    while url:
        response = signed_get(endpoints, url)
        assert response.status_code == 200, response.text
        body = response.json()
        bodies.append(body)
        assert body["odata.metadata"].endswith("$metadata#tasks")
        pages.append([item["id"] for item in body["value"]])
        url = body.get("odata.nextLink")
        if url:
            query = parse_qs(urlsplit(url).query)
            assert query["maxresults"] == ["10"]
            assert query["$skiptoken"][0]
            assert query["api-version"] == [API]
            assert urlsplit(url).path == f"/jobs/{finished_job}/tasks"
        assert len(pages) <= 5, "paging does not end"
    assert [len(p) for p in pages] == [10, 10, 5]
    assert "odata.nextLink" in bodies[0]
    assert "odata.nextLink" not in bodies[-1]
    flat = [i for p in pages for i in p]
    assert sorted(flat) == [f"t{i:02}" for i in range(TASK_COUNT)]
    assert len(set(flat)) == TASK_COUNT


# -- $filter ---------------------------------------------------------------------------------


def test_filter_on_state(batch: BatchClient, finished_job: str) -> None:
    completed = [t.id for t in batch.list_tasks(finished_job, filter="state eq 'completed'")]
    assert sorted(completed) == [f"t{i:02}" for i in range(TASK_COUNT)]
    assert list(batch.list_tasks(finished_job, filter="state eq 'active'")) == []
    paged = [t.id for t in batch.list_tasks(finished_job, filter="state eq 'completed'",
                                            max_results=10)]
    assert sorted(paged) == [f"t{i:02}" for i in range(TASK_COUNT)]


def test_filter_combining_two_terms_with_and(batch: BatchClient, mixed_job: str) -> None:
    both = {t.id for t in batch.list_tasks(
        mixed_job, filter="state eq 'completed' and executionInfo/exitCode eq 0")}
    assert both == {"ok1", "ok2", "ok3"}
    failed = {t.id for t in batch.list_tasks(
        mixed_job, filter="state eq 'completed' and executionInfo/exitCode eq 3")}
    assert failed == {"bad"}


def test_filter_with_or_and_comparisons(batch: BatchClient, mixed_job: str) -> None:
    """The documented example: (executionInfo/exitCode lt 0) or (executionInfo/exitCode gt 0)."""
    nonzero = {t.id for t in batch.list_tasks(
        mixed_job, filter="(executionInfo/exitCode lt 0) or (executionInfo/exitCode gt 0)")}
    assert nonzero == {"bad"}


def test_malformed_filter_is_invalid_query_parameter_value(batch: BatchClient,
                                                           finished_job: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        list(batch.list_tasks(finished_job, filter="state eq"))
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidQueryParameterValue"
    values = {v.key: v.value for v in info.value.model.error_values or []}
    assert values.get("QueryParameterName") == "$filter"


# -- $select ---------------------------------------------------------------------------------


def test_select_returns_only_those_keys(endpoints: dict[str, str], finished_job: str) -> None:
    response = signed_get(endpoints, list_url(endpoints, f"/jobs/{finished_job}/tasks",
                                              **{"$select": "id,state"}))
    assert response.status_code == 200, response.text
    items = response.json()["value"]
    assert len(items) == TASK_COUNT
    assert all(set(item) == {"id", "state"} for item in items), items[0]


def test_next_link_keeps_select(endpoints: dict[str, str], finished_job: str) -> None:
    """Later pages answer the same $select as the first."""
    first = signed_get(endpoints, list_url(endpoints, f"/jobs/{finished_job}/tasks",
                                           maxresults="10", **{"$select": "id,state"})).json()
    second = signed_get(endpoints, first["odata.nextLink"])
    assert second.status_code == 200, second.text
    items = second.json()["value"]
    assert len(items) == 10
    assert all(set(item) == {"id", "state"} for item in items), items[0]


def test_select_through_the_sdk_leaves_other_attributes_none(batch: BatchClient,
                                                             finished_job: str) -> None:
    tasks = list(batch.list_tasks(finished_job, select=["id", "state"]))
    assert len(tasks) == TASK_COUNT
    for task in tasks:
        assert task.id and task.state == "completed"
        assert task.url is None
        assert task.etag is None
        assert task.command_line is None
        assert task.execution_info is None


# -- pools and jobs --------------------------------------------------------------------------


def test_list_pools_filter_startswith(batch: BatchClient) -> None:
    prefix = unique("lp")
    mine = [f"{prefix}-a", f"{prefix}-b"]
    other = unique("other")
    created = []
    try:
        for pool_id in [*mine, other]:
            batch.create_pool(pool_options(pool_id, 0))
            created.append(pool_id)
        found = [p.id for p in batch.list_pools(filter=f"startswith(id,'{prefix}')")]
        assert sorted(found) == mine
        every = {p.id for p in batch.list_pools()}
        assert set(created) <= every
    finally:
        for pool_id in created:
            delete_pool(batch, pool_id)


def test_list_jobs_finds_a_created_job(batch: BatchClient, job: str) -> None:
    jobs = {j.id: j for j in batch.list_jobs()}
    assert job in jobs
    assert jobs[job].state == "active"
    filtered = [j.id for j in batch.list_jobs(filter=f"id eq '{job}'")]
    assert filtered == [job]


# -- task counts -----------------------------------------------------------------------------


def test_job_task_counts_match(batch: BatchClient, mixed_job: str) -> None:
    result = batch.get_job_task_counts(mixed_job)
    counts = result.task_counts
    assert (counts.active, counts.running, counts.completed) == (0, 0, 4)
    assert (counts.succeeded, counts.failed) == (3, 1)
    slots = result.task_slot_counts
    assert (slots.completed, slots.succeeded, slots.failed) == (4, 3, 1)
    bad = batch.get_task(mixed_job, "bad")
    assert bad.execution_info.exit_code == 3
    assert bad.execution_info.result == "failure"
    assert bad.execution_info.failure_info.code == "FailureExitCode"
