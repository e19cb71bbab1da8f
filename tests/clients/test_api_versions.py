"""Which api-versions localbatch accepts (localbatch/versions.py), and the whole numbers as JSON
strings that the Azure CLI sends."""

from __future__ import annotations

import pytest
from azure.batch import BatchClient
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from localbatch import API_VERSION
from localbatch.versions import ACCEPTED, LACKS
from tests.conftest import delete_pool, job_on, unique

POOL = {"vmSize": "Standard_A1_v2", "virtualMachineConfiguration": {
    "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                       "sku": "server-gen1", "version": "latest"},
    "nodeAgentSKUId": "batch.node.ubuntu 24.04"}}


def send(batch: BatchClient, method: str, path: str, version: str, body: dict | None = None):
    """The raw response, error or not (the SDK raises for any status over 299)."""
    try:
        return batch.send_request(HttpRequest(method, path, params={"api-version": version},
                                              json=body))
    except HttpResponseError as exc:
        return exc.response


def test_the_clients_versions_are_accepted() -> None:
    assert API_VERSION in ACCEPTED
    assert {"2024-02-01.19.0", "2024-07-01.20.0", "2023-11-01.18.0"} <= set(ACCEPTED)
    assert set(LACKS) < set(ACCEPTED)


@pytest.mark.parametrize("version", list(ACCEPTED))
def test_each_version_answers_as_the_newest_less_what_it_lacks(
        batch: BatchClient, shared_pool: str, version: str) -> None:
    with job_on(batch, shared_pool) as job_id:
        for path in (f"/pools/{shared_pool}", f"/pools/{shared_pool}/nodes", f"/jobs/{job_id}"):
            newest = send(batch, "GET", path, API_VERSION).json()
            older = send(batch, "GET", path, version)
            assert older.status_code == 200
            lacks = LACKS.get(version, set())
            if "value" in newest:
                newest["value"] = [{k: v for k, v in item.items() if k not in lacks}
                                   for item in newest["value"]]
            else:
                newest = {k: v for k, v in newest.items() if k not in lacks}
            assert older.json() == newest


def test_what_the_oldest_versions_lack(batch: BatchClient, shared_pool: str) -> None:
    """2020-09-01.12.0 has no allowTaskPreemption nor maxParallelTasks on a job and no
    virtualMachineInfo on a node; 2021-06-01.14.0 only no allowTaskPreemption."""
    with job_on(batch, shared_pool, max_parallel_tasks=2) as job_id:
        job14 = send(batch, "GET", f"/jobs/{job_id}", "2021-06-01.14.0").json()
        assert "allowTaskPreemption" not in job14 and job14["maxParallelTasks"] == 2
        job12 = send(batch, "GET", f"/jobs/{job_id}", "2020-09-01.12.0").json()
        assert "allowTaskPreemption" not in job12 and "maxParallelTasks" not in job12
        assert job12["poolInfo"] == {"poolId": shared_pool}
        newest = send(batch, "GET", f"/jobs/{job_id}", API_VERSION).json()
        assert newest["allowTaskPreemption"] is False and newest["maxParallelTasks"] == 2
    nodes = send(batch, "GET", f"/pools/{shared_pool}/nodes", "2020-09-01.12.0").json()["value"]
    assert nodes and all("virtualMachineInfo" not in n and n["vmSize"] for n in nodes)


@pytest.mark.parametrize("version", ["2020-03-01.11.0", "2017-09-01.6.0", "2024-02-01",
                                     "2025-06-01.21.0"])
def test_other_versions_keep_the_400(batch: BatchClient, version: str) -> None:
    response = send(batch, "GET", "/pools", version)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "UnsupportedRequestVersion"
    values = {v["key"]: v["value"] for v in error["values"]}
    assert values["QueryParameterValue"] == version
    assert "2024-02-01.19.0" in values["Reason"] and API_VERSION in values["Reason"]


def test_whole_numbers_as_strings_are_taken_as_numbers(batch: BatchClient) -> None:
    pool_id = unique("strings")
    body = {"id": pool_id, **POOL, "targetDedicatedNodes": "0", "taskSlotsPerNode": "2",
            "startTask": {"commandLine": "/bin/true", "maxTaskRetryCount": "1"}}
    try:
        assert send(batch, "POST", "/pools", "2024-02-01.19.0", body).status_code == 201
        pool = send(batch, "GET", f"/pools/{pool_id}", API_VERSION).json()
        assert (pool["targetDedicatedNodes"], pool["taskSlotsPerNode"]) == (0, 2)
        assert pool["startTask"]["maxTaskRetryCount"] == 1
    finally:
        delete_pool(batch, pool_id)


@pytest.mark.parametrize("value", ["one", "1.5", " 1", ""])
def test_other_strings_for_numbers_are_still_refused(batch: BatchClient, value: str) -> None:
    response = send(batch, "POST", "/pools", API_VERSION,
                    {"id": unique("strings"), **POOL, "targetDedicatedNodes": value})
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "InvalidPropertyValue"
    assert {"key": "PropertyName", "value": "targetDedicatedNodes"} in error["values"]
