"""Request bodies are checked against the service's own schema before anything is stored.

Why: one badly typed field (`priority: "high"`) was accepted with 201, then crashed the scheduler
on every kick and, reloaded from SQLite, after every restart too. Each case answers 400 (or 413)
naming the property, as the service does, and the service still runs tasks afterwards.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
import requests
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from localbatch import schema
from localbatch.control import down, up
from localbatch.schema import generate
from localbatch.statedir import StateDir
from localbatch.store import Store
from tests.conftest import (
    batch_client,
    delete_job,
    job_on,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)
from tests.raw_rest import signed_headers, values_of

JSON = "application/json; odata=minimalmetadata"


def send(endpoints: dict, method: str, path: str, body: object = None, raw: bytes | None = None,
         headers: dict | None = None) -> requests.Response:
    """A signed request with any body, as a hostile but legal client sends it."""
    url = endpoints["BATCH_ACCOUNT_URL"].rstrip("/") + path + \
        ("&" if "?" in path else "?") + "api-version=2025-06-01"
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    given = dict(headers or {})
    if data:
        given.update({"Content-Type": JSON, "Content-Length": str(len(data))})
    return requests.request(method, url, data=data or None, timeout=30,
                            headers=signed_headers(endpoints, method, url, given))


def refusal(answer: requests.Response, status: int = 400) -> tuple[str, dict[str, str]]:
    """The error code and values of a BatchError answer, after checking its status."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["message"]["value"]
    return body["code"], {v["key"]: v["value"] for v in body.get("values", [])}


def job_body(job_id: str, pool_id: str, **extra) -> dict:
    return {"id": job_id, "poolInfo": {"poolId": pool_id}, **extra}


def pool_body(pool_id: str, **extra) -> dict:
    return {"id": pool_id, "vmSize": "standard_a1_v2", "targetDedicatedNodes": 0,
            "virtualMachineConfiguration": {
                "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                                   "sku": "server", "version": "latest"},
                "nodeAgentSKUId": "batch.node.ubuntu 24.04"}, **extra}


def runs_a_task(batch: BatchClient, pool_id: str) -> None:
    """The scheduler still works: a new job's task runs to success."""
    with job_on(batch, pool_id, "after") as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
        assert wait_tasks(batch, job_id)["t"].execution_info.result == "success"


@pytest.fixture
def idle_job(batch: BatchClient, shared_pool: str) -> Iterator[str]:
    with job_on(batch, shared_pool, "val") as job_id:
        yield job_id


# -- the schema itself -----------------------------------------------------------------------


def test_vendored_schema_matches_the_installed_sdk() -> None:
    """A new azure-batch changes the models: regenerate (python -m localbatch.schema.generate)."""
    assert generate.build() == json.loads(schema.SOURCE.read_text())


def test_every_documented_range_names_a_property_of_the_schema() -> None:
    for (definition, prop), (keywords, source) in schema.RANGES.items():
        assert prop in schema.SPEC["$defs"][definition]["properties"], (definition, prop)
        assert source and keywords


# -- the cases, through the SDK and raw ----------------------------------------------


def test_a_string_priority_is_refused_and_tasks_still_run(batch: BatchClient,
                                                          shared_pool: str) -> None:
    job_id = unique("prio")
    with pytest.raises(HttpResponseError) as caught:
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=shared_pool), priority="high"))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidPropertyValue"
    values = values_of(caught.value)
    assert values["PropertyName"] == "priority"
    assert values["PropertyValue"] == "high"
    assert job_id not in {j.id for j in batch.list_jobs()}
    runs_a_task(batch, shared_pool)


@pytest.mark.parametrize("body, name", [
    ({"poolInfo": {"poolId": 5}}, "poolInfo.poolId"),
    ({"poolInfo": "x"}, "poolInfo"),
    ({"constraints": "x"}, "constraints"),
    ({"constraints": {"maxWallClockTime": 60}}, "constraints.maxWallClockTime"),
    ({"constraints": {"maxWallClockTime": "an hour"}}, "constraints.maxWallClockTime"),
    ({"priority": 5000}, "priority"),
    ({"priority": -1001}, "priority"),
    ({"priority": 1.5}, "priority"),
    ({"priority": 2.0}, "priority"),
    ({"priority": True}, "priority"),
    ({"maxParallelTasks": 0}, "maxParallelTasks"),
    ({"maxParallelTasks": -2}, "maxParallelTasks"),
    ({"onAllTasksComplete": "whenever"}, "onAllTasksComplete"),
    ({"displayName": "x" * 1025}, "displayName"),
    ({"metadata": [{"name": "a", "value": 1}]}, "metadata[0].value"),
])
def test_job_bodies_out_of_the_schema_name_the_property(endpoints: dict, shared_pool: str,
                                                        body: dict, name: str) -> None:
    answer = send(endpoints, "POST", "/jobs", {**job_body(unique("bad"), shared_pool), **body})
    code, values = refusal(answer)
    assert code == "InvalidPropertyValue"
    assert values["PropertyName"] == name
    assert values["Reason"]


@pytest.mark.parametrize("body, name", [
    ({"taskSlotsPerNode": 10**6}, "taskSlotsPerNode"),
    ({"taskSlotsPerNode": 0}, "taskSlotsPerNode"),
    ({"targetDedicatedNodes": 2**31}, "targetDedicatedNodes"),
    ({"targetLowPriorityNodes": -1}, "targetLowPriorityNodes"),
    ({"resizeTimeout": 900}, "resizeTimeout"),
    ({"resizeTimeout": "PT4M"}, "resizeTimeout"),
    ({"taskSchedulingPolicy": {"nodeFillType": "diagonal"}}, "taskSchedulingPolicy.nodeFillType"),
    ({"startTask": {"commandLine": "/bin/true", "maxTaskRetryCount": -2}},
     "startTask.maxTaskRetryCount"),
    ({"startTask": {"commandLine": "/bin/true", "waitForSuccess": "yes"}},
     "startTask.waitForSuccess"),
])
def test_pool_bodies_out_of_the_schema_name_the_property(endpoints: dict, body: dict,
                                                         name: str) -> None:
    pool_id = unique("badpool")
    code, values = refusal(send(endpoints, "POST", "/pools", {**pool_body(pool_id), **body}))
    assert (code, values["PropertyName"]) == ("InvalidPropertyValue", name)
    assert send(endpoints, "GET", f"/pools/{pool_id}").status_code == 404


def test_missing_required_properties_are_named_with_their_path(endpoints: dict) -> None:
    pool = pool_body(unique("nocfg"))
    del pool["virtualMachineConfiguration"]["nodeAgentSKUId"]
    code, values = refusal(send(endpoints, "POST", "/pools", pool))
    assert (code, values) == ("MissingRequiredProperty",
                              {"PropertyName": "virtualMachineConfiguration.nodeAgentSKUId"})
    code, values = refusal(send(endpoints, "POST", "/jobs", {"id": unique("nopool")}))
    assert (code, values) == ("MissingRequiredProperty", {"PropertyName": "poolInfo"})


@pytest.mark.parametrize("body, name", [
    ({"resourceFiles": ["https://example.invalid/a.mp4?sv=1&sig=SECRETSIG"]}, "resourceFiles[0]"),
    ({"resourceFiles": [{"httpUrl": 7, "filePath": "a"}]}, "resourceFiles[0].httpUrl"),
    ({"requiredSlots": 0}, "requiredSlots"),
    ({"requiredSlots": "sv=2025-01-05&sig=SECRETSIG"}, "requiredSlots"),
    ({"constraints": {"maxTaskRetryCount": "three"}}, "constraints.maxTaskRetryCount"),
    ({"environmentSettings": [{"name": 1}]}, "environmentSettings[0].name"),
    ({"userIdentity": {"autoUser": {"scope": "everywhere"}}}, "userIdentity.autoUser.scope"),
    ({"outputFiles": [{"filePattern": "*.mp3", "destination": {"container": {
        "containerUrl": "https://example.invalid/out?sig=SECRETSIG"}},
        "uploadOptions": {"uploadCondition": "always"}}]},
     "outputFiles[0].uploadOptions.uploadCondition"),
])
def test_task_bodies_out_of_the_schema_name_the_property_without_a_sas(
        endpoints: dict, idle_job: str, body: dict, name: str) -> None:
    answer = send(endpoints, "POST", f"/jobs/{idle_job}/tasks",
                  {"id": "t", "commandLine": "/bin/true", **body})
    code, values = refusal(answer)
    assert (code, values["PropertyName"]) == ("InvalidPropertyValue", name)
    assert "SECRETSIG" not in answer.text


def test_enums_are_case_insensitive(batch: BatchClient, endpoints: dict, shared_pool: str) -> None:
    job_id = unique("case")
    answer = send(endpoints, "POST", "/jobs",
                  job_body(job_id, shared_pool, onAllTasksComplete="TerminateJob"))
    assert answer.status_code == 201, answer.text
    try:
        assert batch.get_job(job_id).all_tasks_complete_mode == "terminatejob"
    finally:
        delete_job(batch, job_id)


@pytest.mark.parametrize("raw", [b'{"id": "nan", "poolInfo": {"poolId": "p"}, "priority": NaN}',
                                 b'{"id": "inf", "poolInfo": {"poolId": "p"}, "priority": Infinity}',
                                 b'{"id": "ninf", "poolInfo": {"poolId": "p"}, "x": -Infinity}',
                                 b'{"id": "deep", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"])
def test_nan_infinity_and_deep_nesting_are_not_json(endpoints: dict, raw: bytes) -> None:
    code, values = refusal(send(endpoints, "POST", "/jobs", raw=raw))
    assert code == "InvalidRequestBody"
    assert values["Reason"]
    job_id = json.loads(raw[:raw.index(b",")] + b"}")["id"]
    assert send(endpoints, "GET", f"/jobs/{job_id}").status_code == 404


@pytest.mark.parametrize("body", [[], ["terminateReason"], "stop", 5])
def test_a_body_that_is_not_an_object_is_an_invalid_request_body(
        endpoints: dict, idle_job: str, body: object) -> None:
    code, _ = refusal(send(endpoints, "POST", f"/jobs/{idle_job}/terminate", body))
    assert code == "InvalidRequestBody"
    code, _ = refusal(send(endpoints, "POST", "/pools", body))
    assert code == "InvalidRequestBody"


def test_a_bogus_node_deallocation_option_is_refused(endpoints: dict, shared_pool: str) -> None:
    code, values = refusal(send(endpoints, "POST", f"/pools/{shared_pool}/resize",
                                {"targetDedicatedNodes": 2, "nodeDeallocationOption": "shred"}))
    assert (code, values["PropertyName"]) == ("InvalidPropertyValue", "nodeDeallocationOption")
    assert "requeue" in values["Reason"]


# -- task collections --------------------------------------------------------------------------


def test_a_collection_over_1_mb_is_request_body_too_large(endpoints: dict, idle_job: str) -> None:
    big = "x" * 400_000
    tasks = [{"id": f"big{i}", "commandLine": f"/bin/echo {big}"} for i in range(3)]
    code, values = refusal(send(endpoints, "POST", f"/jobs/{idle_job}/addtaskcollection",
                                {"value": tasks}), 413)
    assert code == "RequestBodyTooLarge"
    assert int(values["ActualSizeInBytes"]) > 1024 * 1024
    assert send(endpoints, "GET", f"/jobs/{idle_job}/tasks").json()["value"] == []


def test_a_collection_of_101_tasks_is_request_body_too_large(endpoints: dict,
                                                             idle_job: str) -> None:
    tasks = [{"id": f"t{i}", "commandLine": "/bin/true"} for i in range(101)]
    code, values = refusal(send(endpoints, "POST", f"/jobs/{idle_job}/addtaskcollection",
                                {"value": tasks}), 413)
    assert (code, values["ActualTaskCount"]) == ("RequestBodyTooLarge", "101")


def test_a_bad_task_in_a_collection_is_that_tasks_client_error(endpoints: dict,
                                                               idle_job: str) -> None:
    tasks = [{"id": "good", "commandLine": "/bin/true"},
             {"id": "typed", "commandLine": "/bin/true", "requiredSlots": "two"},
             {"id": "nocommand"}]
    answer = send(endpoints, "POST", f"/jobs/{idle_job}/addtaskcollection", {"value": tasks})
    assert answer.status_code == 200, answer.text
    results = {r["taskId"]: r for r in answer.json()["value"]}
    assert results["good"]["status"] == "success"
    assert results["typed"]["status"] == "clienterror"
    assert results["typed"]["error"]["code"] == "InvalidPropertyValue"
    assert {"key": "PropertyName", "value": "requiredSlots"} in results["typed"]["error"]["values"]
    assert results["nocommand"]["error"]["code"] == "MissingRequiredProperty"
    listed = send(endpoints, "GET", f"/jobs/{idle_job}/tasks").json()["value"]
    assert [t["id"] for t in listed] == ["good"]


@pytest.mark.parametrize("body", [{"value": "t"}, {"value": None}, {}, {"value": {"id": "t"}}])
def test_a_collection_that_is_not_a_list_is_refused(endpoints: dict, idle_job: str,
                                                    body: dict) -> None:
    code, values = refusal(send(endpoints, "POST", f"/jobs/{idle_job}/addtaskcollection", body))
    assert code in ("InvalidPropertyValue", "MissingRequiredProperty")
    assert values["PropertyName"] == "value"


# -- what is stored is checked when it is loaded -------------------------------------------------


def test_store_quarantines_a_bad_document_and_its_children(tmp_path, caplog) -> None:
    path = tmp_path / "s.db"
    store = Store(path)
    store.put("job", "bad", {"id": "bad", "priority": "high", "poolInfo": {"poolId": "p"}})
    store.put("task", "bad/t1", {"id": "t1", "commandLine": "x"})
    store.put("job", "good", {"id": "good", "priority": 1, "poolInfo": {"poolId": "p"}})
    store.put("task", "good/t1", {"id": "t1", "commandLine": "x"})
    store.put("task", "good/t2", {"id": "t2", "requiredSlots": "many"})
    store.close()
    with caplog.at_level("WARNING", logger="localbatch.store"):
        again = Store(path)
        assert [k for k, _ in again.load("job")] == ["good"]
        assert [k for k, _ in again.load("task")] == ["good/t1"]
    assert "job 'bad'" in caplog.text and "priority" in caplog.text
    assert "task 'good/t2'" in caplog.text
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT kind, key, reason FROM quarantine ORDER BY kind, key").fetchall()
    assert [(k, key) for k, key, _ in rows] == [("job", "bad"), ("task", "bad/t1"),
                                               ("task", "good/t2")]
    assert "priority" in rows[0][2]


def test_a_bad_stored_job_is_quarantined_at_start_up_and_tasks_still_run(
        own_state: StateDir) -> None:
    """A job stored before validation existed (priority "high") no longer bricks the service."""
    batch = batch_client(own_state.endpoints())
    pool_id, job_id = unique("qpool"), unique("qjob")
    batch.create_pool(pool_options(pool_id, 1))
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    batch.create_task(job_id, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
    down(own_state)
    with sqlite3.connect(own_state.path / "batch.sqlite") as db:
        db.execute("UPDATE docs SET doc = json_set(doc, '$.priority', 'high') "
                   "WHERE kind = 'job' AND key = ?", (job_id.lower(),))
    up(own_state)
    with pytest.raises(HttpResponseError) as caught:
        batch.get_job(job_id)
    assert caught.value.status_code == 404
    log = (own_state.logs / "service.log").read_text()
    assert f"job '{job_id.lower()}'" in log and "quarantine" in log
    wait_for(lambda: batch.get_pool(pool_id).allocation_state == "steady", what="a steady pool")
    runs_a_task(batch, pool_id)
