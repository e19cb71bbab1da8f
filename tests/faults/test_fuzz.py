"""Property-based: valid request bodies, mutated in types and values, never break the service.

Why: one mistyped field used to be stored and then crash the scheduler for every job. Each
mutated body must get a 2xx or a 4xx with a BatchError body (strict JSON), never a 500, and the
scheduler must still run a task afterwards. Pools are created with no nodes, and a mutation
never asks for any, so the run starts no node processes of its own.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from azure.batch import BatchClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import job_on, unique
from tests.faults.test_validation import job_body, pool_body, runs_a_task, send

URL = "https://example.invalid/input/clip.mp4?sv=2025-01-05&sig=FUZZSIG"
TASK = {
    "id": "task", "displayName": "a task", "commandLine": "/bin/echo hello",
    "resourceFiles": [{"httpUrl": URL, "filePath": "clip.mp4", "fileMode": "0644"}],
    "outputFiles": [{"filePattern": "*.mp3", "destination": {"container": {
        "containerUrl": "https://example.invalid/output?sig=FUZZSIG", "path": "out"}},
        "uploadOptions": {"uploadCondition": "taskSuccess"}}],
    "environmentSettings": [{"name": "A", "value": "b"}],
    "constraints": {"maxWallClockTime": "PT1H", "retentionTime": "P1D", "maxTaskRetryCount": 1},
    "requiredSlots": 1,
    "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}},
}
NODE_COUNTS = ("targetDedicatedNodes", "targetLowPriorityNodes")
SPECIAL = st.sampled_from([0, -1, 1, 256, 257, 1000, 1001, -1001, 2**31 - 1, 2**31, -2**31 - 1,
                           10**20, 0.5, 1e308, "", " ", "PT1M", "PT5M", "P", "PT", "P1DT",
                           "Spread", "PACK", "noaction", "x" * 2000, "../x", "/etc/passwd",
                           "ftp://example.invalid/x", "1", "-1"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | SPECIAL
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6)


def paths(doc: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON document: the root, each property and each item."""
    yield prefix
    if isinstance(doc, dict):
        for name, value in doc.items():
            yield from paths(value, prefix + (name,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from paths(value, prefix + (index,))


def mutate(data: st.DataObject, body: Any) -> Any:
    """One to three changes: a value replaced (any JSON type), a property dropped or added."""
    body = copy.deepcopy(body)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(paths(body))))
        value = data.draw(JSON_VALUES)
        if not path:
            body = value
            continue
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            parent[path[-1]] = value
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(min_size=1, max_size=10))] = value
        else:
            parent.append(value)
    return body


def no_new_nodes(body: Any) -> Any:
    """A node count above 0 is set to 0: the fuzz run must not start node processes."""
    if isinstance(body, dict):
        for name in NODE_COUNTS:
            value = body.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                body[name] = 0
    return body


def strict_json(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in an answer: not JSON")
    return json.loads(text, parse_constant=refuse)


def assert_answered_well(answer) -> None:
    assert answer.status_code < 500, answer.text
    assert "FUZZSIG" not in answer.text
    if answer.status_code >= 400:
        error = strict_json(answer.text)
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"]["value"], str)
        for item in error.get("values", []):
            assert isinstance(item["key"], str) and isinstance(item["value"], str)
    elif answer.content:
        for result in strict_json(answer.text).get("value", []):
            if result["status"] != "success":
                assert result["error"]["code"]


@pytest.fixture(scope="module")
def fuzz_job(batch: BatchClient, empty_pool: str) -> Iterator[str]:
    """The job that mutated tasks go to: its pool has no nodes, so none of them ever runs."""
    with job_on(batch, empty_pool, "fuzzjob") as job_id:
        yield job_id


def targets(kind: str, pool_id: str, job_id: str) -> tuple[str, dict]:
    """Where a kind of body is posted, and a valid body of that kind."""
    return {
        "pool": ("/pools", pool_body("fuzz", startTask={
            "commandLine": "/bin/true", "waitForSuccess": True, "maxTaskRetryCount": 0},
            taskSlotsPerNode=2, resizeTimeout="PT15M",
            taskSchedulingPolicy={"nodeFillType": "pack"}, metadata=[{"name": "a", "value": "b"}])),
        "job": ("/jobs", job_body("fuzz", pool_id, priority=10, maxParallelTasks=2,
                                  constraints={"maxWallClockTime": "PT1H", "maxTaskRetryCount": 0},
                                  onAllTasksComplete="noaction", metadata=[{"name": "a",
                                                                             "value": "b"}])),
        "task": (f"/jobs/{job_id}/tasks", TASK),
        "collection": (f"/jobs/{job_id}/addtaskcollection",
                       {"value": [TASK, {**TASK, "id": "second"}]}),
        "resize": (f"/pools/{pool_id}/resize", {"targetDedicatedNodes": 0,
                                                "resizeTimeout": "PT10M",
                                                "nodeDeallocationOption": "requeue"}),
    }[kind]


@pytest.mark.parametrize("examples", [
    pytest.param(20, id="quick"),
    pytest.param(80, id="many", marks=pytest.mark.slow),
])
@pytest.mark.parametrize("kind", ["pool", "job", "task", "collection", "resize"])
def test_mutated_bodies_never_break_the_service(batch: BatchClient, endpoints: dict,
                                                shared_pool: str, empty_pool: str, fuzz_job: str,
                                                kind: str, examples: int) -> None:
    path, valid = targets(kind, empty_pool, fuzz_job)
    created: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=st.data())
    def post_mutated(data: st.DataObject) -> None:
        body = no_new_nodes(mutate(data, valid))
        if isinstance(body, dict) and body.get("id") in ("fuzz", "task"):
            body["id"] = unique("fuzz")   # a body still valid creates something new
        answer = send(endpoints, "POST", path, body)
        assert_answered_well(answer)
        if answer.status_code == 201 and kind in ("pool", "job"):
            created.append(answer.headers["Location"].split("/", 3)[3])

    try:
        post_mutated()
    finally:
        for entity in created:
            send(endpoints, "DELETE", "/" + entity)
    for listed in ("/pools", "/jobs", f"/jobs/{fuzz_job}/tasks"):
        answer = send(endpoints, "GET", listed)
        assert answer.status_code == 200, answer.text
        strict_json(answer.text)
    runs_a_task(batch, shared_pool)
