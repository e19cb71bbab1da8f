"""Nothing a task produced is lost when the service or Azurite goes away mid-job: each task's
output arrives once, and no task is retried or requeued for it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions

from localbatch.control import down, up
from localbatch.settings import RETRY_VARIABLE
from localbatch.statedir import StateDir
from tests.conftest import (
    alive,
    batch_client,
    container_url,
    nodes_ready,
    output_file,
    pool_options,
    trusted,
    unique,
    wait_for,
    wait_tasks,
)
from tests.test_restart import kill_service

TASKS = 20
WRITE = ContainerSasPermissions(write=True, create=True)


@pytest.fixture
def patient_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                  ) -> Iterator[StateDir]:
    """A localbatch of the test's own whose nodes retry transfers for the default window."""
    monkeypatch.delenv(RETRY_VARIABLE, raising=False)
    state = StateDir(tmp_path_factory.mktemp("restart-outputs"))
    up(state)
    yield trusted(state)
    down(state)


class Job:
    """A pool of 2 nodes and a job whose tasks each write their id to out.txt, uploaded on
    success to <job>/<task>.txt in a container."""

    def __init__(self, state: StateDir):
        endpoints = state.endpoints()
        self.batch: BatchClient = batch_client(endpoints)
        self.blobs = BlobServiceClient(endpoints["STORAGE_BLOB_URL"], credential={
            "account_name": endpoints["STORAGE_ACCOUNT_NAME"],
            "account_key": endpoints["STORAGE_ACCOUNT_KEY"]})
        self.container = unique("outputs")
        self.blobs.create_container(self.container)
        self.url = container_url(self.blobs, endpoints, self.container, WRITE)
        self.pool_id, self.id = unique("pool"), unique("job")
        self.batch.create_pool(pool_options(self.pool_id, 2))
        wait_for(lambda: nodes_ready(self.batch, self.pool_id, 2), what="two idle nodes")
        self.batch.create_job(models.BatchJobCreateOptions(
            id=self.id, pool_info=models.BatchPoolInfo(pool_id=self.pool_id)))

    def add(self, ids: list[str], before: str = "sleep 0.5") -> None:
        self.batch.create_tasks(self.id, [models.BatchTaskCreateOptions(
            id=task_id, command_line=f"/bin/bash -c '{before}; echo $AZ_BATCH_TASK_ID > out.txt'",
            output_files=[output_file("out.txt", self.url, "tasksuccess",
                                      f"{self.id}/{task_id}.txt")]) for task_id in ids])

    def completed(self) -> int:
        return self.batch.get_job_task_counts(self.id).task_counts.completed

    def outputs(self) -> dict[str, bytes]:
        container = self.blobs.get_container_client(self.container)
        return {blob.name: container.download_blob(blob.name).readall()
                for blob in container.list_blobs(name_starts_with=f"{self.id}/")}

    def assert_nothing_lost(self) -> None:
        """All tasks succeeded, none retried or requeued, each output there once, as written."""
        tasks = wait_tasks(self.batch, self.id)
        assert len(tasks) == TASKS
        summary = {t.id: (t.execution_info.result, t.execution_info.exit_code,
                          t.execution_info.retry_count, t.execution_info.requeue_count,
                          t.execution_info.failure_info and t.execution_info.failure_info.code)
                   for t in tasks.values()}
        assert summary == {task_id: ("success", 0, 0, 0, None) for task_id in tasks}
        assert self.outputs() == {f"{self.id}/{task_id}.txt": f"{task_id}\n".encode()
                                  for task_id in tasks}
        counts = self.batch.get_job_task_counts(self.id).task_counts
        assert (counts.completed, counts.succeeded, counts.failed) == (TASKS, TASKS, 0)


def test_a_service_killed_mid_job_loses_no_output(patient_state: StateDir) -> None:
    """The issue's case: SIGKILL to the service once 4 of 20 tasks completed, then `up`."""
    job = Job(patient_state)
    azurite = patient_state.pid("azurite")
    job.add([f"t{i}" for i in range(TASKS)])
    wait_for(lambda: job.completed() >= 4, what="4 tasks to complete")
    kill_service(patient_state)
    up(patient_state)
    assert patient_state.pid("azurite") == azurite   # left running: it was healthy
    job.assert_nothing_lost()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_tasks_that_finish_while_azurite_is_down_upload_once_it_is_back(
        patient_state: StateDir, tmp_path: Path, how: signal.Signals) -> None:
    """4 tasks complete; 16 more wait on a gate. Azurite goes away, the gate opens, so tasks
    finish and upload while it is down; `up` starts it again, and every output arrives."""
    job = Job(patient_state)
    job.add([f"t{i}" for i in range(4)])
    wait_for(lambda: len(job.outputs()) == 4, what="the first 4 outputs")
    if how == signal.SIGKILL:   # Azurite saves its blob index every 5 s, and when stopped:
        time.sleep(10)          # a SIGKILL loses younger uploads
    gate = tmp_path / "gate"
    job.add([f"t{i}" for i in range(4, TASKS)], f"until [ -e {gate} ]; do sleep 0.05; done")
    wait_for(lambda: job.batch.get_job_task_counts(job.id).task_counts.running == 2,
             what="two gated tasks running")
    service, azurite = patient_state.pid("service"), patient_state.pid("azurite")
    os.killpg(azurite, how)
    wait_for(lambda: not alive(azurite), 20, "Azurite to end")
    gate.touch()
    written = [f"workitems/{job.id}/job-1/{task.id}/wd/out.txt"
               for task in job.batch.list_tasks(job.id) if task.state == "running"]
    wait_for(lambda: all(any((patient_state.path / "nodes").glob(f"*/*/{path}"))
                         for path in written), what="the two gated tasks to write their output")
    assert job.completed() == 4   # they cannot upload it while Azurite is down
    up(patient_state)
    assert patient_state.pid("service") == service   # left running: it was healthy
    job.assert_nothing_lost()
