"""Legal but odd requests that answered 500: deeply nested $filter, links that dangle.

Why: 2,000 nested parentheses in $filter hit Python's recursion limit, and one dangling symbolic
link in a task's folder made the recursive task and node file listings fail as a whole.
"""

from __future__ import annotations

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from tests.conftest import wait_tasks
from tests.raw_rest import values_of


def nested(depth: int, inner: str = "state eq 'completed'") -> str:
    return "(" * depth + inner + ")" * depth


@pytest.mark.parametrize("text", [nested(2000), "not " * 2000 + "state eq 'active'",
                                  nested(51)])
def test_filters_nested_too_deep_are_400_naming_the_limit(batch: BatchClient, job: str,
                                                          text: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        list(batch.list_tasks(job, filter=text))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidQueryParameterValue"
    values = values_of(caught.value)
    assert values["QueryParameterName"] == "$filter"
    assert "nested" in values["Reason"]


def test_a_filter_nested_within_the_limit_still_filters(batch: BatchClient, job: str) -> None:
    batch.create_tasks(job, [models.BatchTaskCreateOptions(id=i, command_line=f"/bin/{i}")
                             for i in ("true", "false")])
    wait_tasks(batch, job)
    found = batch.list_tasks(job, filter=nested(50, "executionInfo/exitCode gt 0"))
    assert [t.id for t in found] == ["false"]
    found = batch.list_tasks(job, filter="not " * 4 + "(id eq 'true')")
    assert [t.id for t in found] == ["true"]


def test_dangling_links_are_left_out_of_file_listings(batch: BatchClient, job: str,
                                                      shared_pool: str) -> None:
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="links", command_line="/bin/sh -c 'echo kept > kept.txt; ln -s /nonexistent/x "
                                 "dangling; ln -s loop loop; mkdir sub; ln -s ../gone sub/gone'"))
    task = wait_tasks(batch, job)["links"]
    assert task.execution_info.result == "success"
    names = {f.name for f in batch.list_task_files(job, "links", recursive=True)}
    assert {"wd/kept.txt", "wd/sub", "stdout.txt"} <= names
    assert not names & {"wd/dangling", "wd/loop", "wd/sub/gone"}
    node_id = task.node_info.node_id
    node_names = {f.name for f in batch.list_node_files(shared_pool, node_id, recursive=True)}
    assert any(n.endswith("/links/wd/kept.txt") for n in node_names)
    assert not any(n.endswith(("/links/wd/dangling", "/links/wd/loop")) for n in node_names)
    assert b"".join(batch.download_task_file(job, "links", "wd/kept.txt")) == b"kept\n"
