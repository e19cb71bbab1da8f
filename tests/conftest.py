"""Fixtures: a localbatch instance in a fresh state folder, and real SDK clients for it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)

from localbatch.control import down, trust_variables, up
from localbatch.statedir import StateDir, exited
from tests.pools import install_ffmpeg, tutorial_pool
from tests.tutorial_run import ROOT, TutorialRun, run_tutorial


def trusted(state: StateDir) -> StateDir:
    """This test process trusts the instance's local CA, as a shell does after
    `eval "$(python -m localbatch env)"`. Each state folder has a CA of its own, and each bundle
    adds it to the one before, so the process trusts every instance it started."""
    os.environ.update(trust_variables(state, dict(os.environ)))
    return state


@pytest.fixture(scope="session")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateDir]:
    """A localbatch of the tests' own, beside any a learner has running."""
    state = StateDir(tmp_path_factory.mktemp("localbatch"))
    up(state)
    yield trusted(state)
    down(state)


@pytest.fixture(scope="session")
def tutorial_run(tmp_path_factory: pytest.TempPathFactory) -> TutorialRun:
    """The suite's one headless run of the tutorial, shared by every test that needs one."""
    return run_tutorial(tmp_path_factory.mktemp("tutorial-run"))


@pytest.fixture(scope="session")
def handouts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make handouts` into a temp folder, built once for the page tests and the browser's."""
    out = tmp_path_factory.mktemp("handouts")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_handouts.py"),
                          "--out", str(out)], capture_output=True, text=True, check=False,
                         timeout=600)
    assert run.returncode == 0, f"build_handouts.py failed:\n{run.stderr[-3000:]}"
    assert f"Handouts: {out / 'index.html'}" in run.stdout
    return out


@pytest.fixture
def own_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateDir]:
    """A localbatch of one test's own, for tests that kill or restart it."""
    state = StateDir(tmp_path_factory.mktemp("own-localbatch"))
    up(state)
    yield trusted(state)
    down(state)


def alive(pid: int) -> bool:
    """Running: it exists and has not exited (a zombie still answers `kill 0`)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not exited(pid)


@pytest.fixture(scope="session")
def endpoints(request: pytest.FixtureRequest) -> dict[str, str]:
    """localbatch's endpoints and keys or, under --live, the Azure accounts' (the same names)."""
    if request.config.getoption("--live"):
        return request.getfixturevalue("live_endpoints")
    return request.getfixturevalue("state").endpoints()


def batch_client(endpoints: dict[str, str], key: str | None = None) -> BatchClient:
    return BatchClient(endpoints["BATCH_ACCOUNT_URL"], AzureNamedKeyCredential(
        endpoints["BATCH_ACCOUNT_NAME"], key or endpoints["BATCH_ACCOUNT_KEY"]),
        retry_total=0)


@pytest.fixture(scope="session")
def batch(endpoints: dict[str, str]) -> BatchClient:
    return batch_client(endpoints)


@pytest.fixture(scope="session")
def blobs(endpoints: dict[str, str]) -> BlobServiceClient:
    return BlobServiceClient(endpoints["STORAGE_BLOB_URL"], credential={
        "account_name": endpoints["STORAGE_ACCOUNT_NAME"],
        "account_key": endpoints["STORAGE_ACCOUNT_KEY"]})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def scaled(seconds: float) -> float:
    """A timeout or polling interval, stretched under --live (BATCH_TESTS_TIME_SCALE, set by the
    root conftest): Azure takes minutes where localbatch takes a second, and throttles pollers."""
    return seconds * float(os.environ.get("BATCH_TESTS_TIME_SCALE", "1"))


def wait_for(condition: Callable[[], object], timeout: float = 60, what: str = "condition"):
    """Poll until condition() is truthy; fail naming what was awaited."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(scaled(0.05))
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def pool_options(pool_id: str, nodes: int, start_task: models.BatchStartTask | None = None,
                 slots: int = 1) -> models.BatchPoolCreateOptions:
    return tutorial_pool(pool_id, nodes, slots, start_task)


def nodes_ready(batch: BatchClient, pool_id: str, count: int) -> bool:
    nodes = list(batch.list_nodes(pool_id))
    return len(nodes) == count and all(n.state in ("idle", "running") for n in nodes)


def delete_pool(batch: BatchClient, pool_id: str) -> None:
    try:
        batch.begin_delete_pool(pool_id, polling_interval=scaled(0.1)).result()
    except ResourceNotFoundError:
        pass


@contextmanager
def pool_on(batch: BatchClient, prefix: str, nodes: int, slots: int = 1,
            start_task: models.BatchStartTask | None = None) -> Iterator[str]:
    """A new pool of the tutorial's kind, once its nodes are ready; deleted on the way out."""
    pool_id = unique(prefix)
    batch.create_pool(pool_options(pool_id, nodes, start_task, slots))
    try:
        wait_for(lambda: nodes_ready(batch, pool_id, nodes), what=f"{nodes} idle node(s)")
        yield pool_id
    finally:
        delete_pool(batch, pool_id)


START_ONLY = "LIFECYCLE_START_ONLY"


@pytest.fixture(scope="module")
def start_pool(batch: BatchClient) -> Iterator[str]:
    """A pool of one node whose start task prints its environment."""
    start = models.BatchStartTask(
        command_line="/bin/bash -c 'env'", wait_for_success=True,
        environment_settings=[models.EnvironmentSetting(name=START_ONLY, value="start")])
    with pool_on(batch, "start-pool", 1, start_task=start) as pool_id:
        yield pool_id


@pytest.fixture(scope="module")
def empty_pool(batch: BatchClient) -> Iterator[str]:
    """A pool with no nodes: tasks added to its jobs stay active and cost nothing."""
    with pool_on(batch, "errpool", 0) as pool_id:
        yield pool_id


@pytest.fixture(scope="session")
def shared_pool(batch: BatchClient) -> Iterator[str]:
    """A pool of two idle nodes that tests put their own jobs on, with notebook 03's start task
    (so its tasks can call ffmpeg)."""
    pool_id = unique("pool")
    batch.create_pool(pool_options(pool_id, 2, install_ffmpeg()))
    wait_for(lambda: nodes_ready(batch, pool_id, 2), what="two idle nodes")
    yield pool_id
    delete_pool(batch, pool_id)


def delete_job(batch: BatchClient, job_id: str) -> None:
    """Delete a job and wait until it is gone (it may be gone already)."""
    try:
        batch.begin_delete_job(job_id, polling_interval=scaled(0.1)).result()
    except ResourceNotFoundError:
        pass


@contextmanager
def job_on(batch: BatchClient, pool_id: str, prefix: str = "job", **options) -> Iterator[str]:
    """A new job on the pool (with any other create options), deleted on the way out."""
    job_id = unique(prefix)
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id), **options))
    try:
        yield job_id
    finally:
        delete_job(batch, job_id)


@pytest.fixture
def job(batch: BatchClient, shared_pool: str) -> Iterator[str]:
    """A fresh job on the shared pool, deleted afterwards."""
    with job_on(batch, shared_pool) as job_id:
        yield job_id


@pytest.fixture
def idle_job(batch: BatchClient, empty_pool: str) -> Iterator[str]:
    """A fresh job on the empty pool: its tasks stay active."""
    with job_on(batch, empty_pool, "errjob") as job_id:
        yield job_id


def tasks_done(batch: BatchClient, job_id: str) -> bool:
    counts = batch.get_job_task_counts(job_id).task_counts
    return counts.active == 0 and counts.running == 0


def wait_tasks(batch: BatchClient, job_id: str, timeout: float = 120) -> dict[str, models.BatchTask]:
    wait_for(lambda: tasks_done(batch, job_id), timeout, f"the tasks of {job_id}")
    return {t.id: t for t in batch.list_tasks(job_id)}


@pytest.fixture(scope="session")
def containers(blobs: BlobServiceClient) -> dict[str, str]:
    """Fresh input and output containers for this test run."""
    names = {"input": unique("input"), "output": unique("output")}
    for name in names.values():
        try:
            blobs.create_container(name)
        except ResourceExistsError:
            pass
    return names


def _expiry() -> datetime:
    return datetime.now(timezone.utc) + timedelta(hours=2)


def blob_read_url(blobs: BlobServiceClient, endpoints: dict, container: str, name: str) -> str:
    sas = generate_blob_sas(endpoints["STORAGE_ACCOUNT_NAME"], container, name,
                            account_key=endpoints["STORAGE_ACCOUNT_KEY"],
                            permission=BlobSasPermissions(read=True), expiry=_expiry())
    return blobs.get_blob_client(container, name).url + "?" + sas


def container_url(blobs: BlobServiceClient, endpoints: dict, container: str,
                  permission: ContainerSasPermissions) -> str:
    sas = generate_container_sas(endpoints["STORAGE_ACCOUNT_NAME"], container,
                                 account_key=endpoints["STORAGE_ACCOUNT_KEY"],
                                 permission=permission, expiry=_expiry())
    return f"{blobs.url.rstrip('/')}/{container}?{sas}"


def output_file(pattern: str, url: str, condition: str, path: str | None = None
                ) -> models.OutputFile:
    return models.OutputFile(
        file_pattern=pattern,
        destination=models.OutputFileDestination(
            container=models.OutputFileBlobContainerDestination(container_url=url, path=path)),
        upload_options=models.OutputFileUploadConfiguration(upload_condition=condition))
