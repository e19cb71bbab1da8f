"""Nothing stored can break the service: a job or task document the scheduler cannot use fails
on its own (shown as that job's scheduling error or that task's failure, logged once), a node
whose reader breaks is reported and restarted, and a restart skips what it cannot recover.

The API rejects such documents; these tests put them in the service's memory or its store
directly, as an older version, a hand edit or a bug could, and run the service in-process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from localbatch import image
from localbatch.service import Service

POOL = {"id": "pool", "vmSize": "standard_a1_v2", "targetDedicatedNodes": 1,
        "taskSlotsPerNode": 2,
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts",
                               "sku": "server-gen1", "version": "latest"},
            "nodeAgentSKUId": "batch.node.ubuntu 24.04"}}


@contextlib.asynccontextmanager
async def running_service(state_dir: Path,
                          before_recover: Callable[[Service], None] | None = None
                          ) -> AsyncIterator[Service]:
    """A Service with its scheduler and node processes, without HTTP."""
    svc = Service(state_dir, "acct", "key", "http://127.0.0.1:9", image.build(state_dir / "image"))
    if before_recover is not None:
        before_recover(svc)
    svc.recover()
    try:
        yield svc
    finally:
        await svc.shutdown()


async def until(condition: Callable[[], object], what: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def task_state(svc: Service, job: str, task: str) -> dict:
    return svc.registry.tasks[job][task]


def completed(svc: Service, job: str, task: str) -> bool:
    return task_state(svc, job, task)["state"] == "completed"


def node_idle(svc: Service) -> bool:
    nodes = list(svc.registry.nodes.get("pool", {}).values())
    return len(nodes) == 1 and nodes[0]["state"] == "idle"


async def pool_and_jobs(svc: Service, *job_ids: str) -> None:
    svc.pools.create(dict(POOL))
    for job_id in job_ids:
        svc.jobs.create({"id": job_id, "poolInfo": {"poolId": "pool"}})
    await until(lambda: node_idle(svc), "an idle node")


@pytest.mark.parametrize(("name", "value", "raised"), [
    ("priority", "high", "TypeError"),            # what the API once let through
    ("poolInfo", {"poolId": 5}, "AttributeError"),
])
def test_a_job_with_a_badly_typed_field_fails_alone(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, value: object,
        raised: str) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            await pool_and_jobs(svc, "bad", "good")
            svc.registry.jobs["bad"][name] = value
            svc.tasks.create("bad", {"id": "t", "commandLine": "/bin/true"})
            for n in range(3):
                svc.tasks.create("good", {"id": f"t{n}", "commandLine": "/bin/true"})
            await until(lambda: all(completed(svc, "good", f"t{n}") for n in range(3)),
                        "the good job's tasks")
            assert {task_state(svc, "good", f"t{n}")["executionInfo"]["result"]
                    for n in range(3)} == {"success"}
            error = svc.registry.jobs["bad"]["executionInfo"]["schedulingError"]
            assert (error["category"], error["code"]) == ("servererror", "Unknown")
            assert raised in error["message"]
            assert task_state(svc, "bad", "t")["state"] == "active"

    with caplog.at_level(logging.ERROR, logger="localbatch.scheduler"):
        asyncio.run(scenario())
    reports = [r for r in caplog.records if "job 'bad' cannot be scheduled" in r.getMessage()]
    assert len(reports) == 1   # once, not on every kick


def test_a_task_with_a_bad_document_fails_alone(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            await pool_and_jobs(svc, "job")
            job = svc.registry.jobs["job"]
            bad = svc.tasks.build(job, {"id": "bad", "commandLine": "/bin/true"})
            bad["constraints"] = "x"
            svc.tasks._add(job, bad)
            svc.tasks.create("job", {"id": "good", "commandLine": "/bin/true"})
            await until(lambda: completed(svc, "job", "good") and completed(svc, "job", "bad"),
                        "both tasks to complete")
            info = task_state(svc, "job", "bad")["executionInfo"]
            assert info["result"] == "failure"
            assert (info["failureInfo"]["category"], info["failureInfo"]["code"]) == (
                "servererror", "Unknown")
            assert task_state(svc, "job", "good")["executionInfo"]["result"] == "success"

    asyncio.run(scenario())


def test_a_node_whose_reader_fails_is_reported_and_restarted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            counted = svc.pools.node_allocated
            failures = []

            def broken_once(pool_key: str) -> None:
                if not failures:
                    failures.append(pool_key)
                    raise RuntimeError("a bug while the node starts")
                counted(pool_key)

            svc.pools.create(dict(POOL))
            svc.pools.node_allocated = broken_once   # the reader calls it once its node runs
            await until(lambda: failures, "the node's reader to fail")
            node = next(iter(svc.registry.nodes["pool"].values()))
            assert node["state"] == "unusable"
            await until(lambda: node_idle(svc), "the node to be restarted")
            svc.jobs.create({"id": "job", "poolInfo": {"poolId": "pool"}})
            svc.tasks.create("job", {"id": "t", "commandLine": "/bin/true"})
            await until(lambda: completed(svc, "job", "t"), "a task on the restarted node")

    with caplog.at_level(logging.ERROR, logger="localbatch.nodes"):
        asyncio.run(scenario())
    assert any("failed: RuntimeError" in r.getMessage() for r in caplog.records)


def test_a_restart_skips_a_job_it_cannot_recover(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """The document is put in memory after loading, past any check made while loading."""
    async def first_run() -> None:
        async with running_service(tmp_path) as svc:
            svc.jobs.create({"id": "good", "poolInfo": {"poolId": "pool"}})
            svc.tasks.create("good", {"id": "t", "commandLine": "/bin/true"})

    def break_one(svc: Service) -> None:
        svc.registry.jobs["broken"] = {"id": "broken", "priority": 0}   # no state, no times
        svc.registry.tasks["broken"] = {"t": {"id": "t"}}

    async def second_run() -> None:
        async with running_service(tmp_path, break_one) as svc:
            assert svc.tasks.book.queued("good") == ["t"]
            svc.pools.create(dict(POOL))   # the good job's pool: its task runs
            await until(lambda: completed(svc, "good", "t"), "the good job's task")

    asyncio.run(first_run())
    with caplog.at_level(logging.ERROR):
        asyncio.run(second_run())
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("job 'broken' could not be recovered: KeyError") for m in messages)
    assert sum("job 'broken' cannot be scheduled" in m for m in messages) == 1
