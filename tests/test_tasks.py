"""Ending a task: terminate or delete it while it runs or downloads;
and the environment a task runs in.

The tests marked conformance use only the REST API and blobs; the others check processes and
files on this machine, so `make test-live` leaves them out.
"""

from __future__ import annotations

import http.server
import os
import shlex
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import ResourceNotFoundError

from tests.conftest import delete_job, unique, wait_for, wait_tasks
from tests.task_helpers import (
    assert_no_service_secrets,
    bash,
    parse_env,
    sleeper,
    stdout_of,
    wait_gone,
    wait_running,
)

# -- terminate and delete -----------------------------------------------------------------------

def test_terminate_running_task(batch: BatchClient, job: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    batch.create_task(job, models.BatchTaskCreateOptions(id="sleeper",
                                                         command_line=sleeper(pid_file)))
    pids = wait_running(batch, job, "sleeper", pid_file)
    batch.terminate_task(job, "sleeper")
    task = wait_for(lambda: (t := batch.get_task(job, "sleeper")).state == "completed" and t,
                    30, "the terminated task to complete")
    assert task.execution_info.result == "failure"
    assert task.execution_info.failure_info is not None
    wait_gone(pids, "the terminated task")
    counts = batch.get_job_task_counts(job).task_counts
    assert (counts.running, counts.completed, counts.failed) == (0, 1, 1)


@pytest.fixture
def slow_url() -> Iterator[str]:
    """A URL that answers after 2 s: a resource file still downloading."""
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(2)
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"data")

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slow.bin"
    server.shutdown()


def test_terminating_a_task_while_it_downloads_means_it_never_starts(
        batch: BatchClient, job: str, tmp_path: Path, slow_url: str) -> None:
    ran = tmp_path / "ran.txt"
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="downloading", command_line=bash(f"echo run > {shlex.quote(str(ran))}"),
        resource_files=[models.ResourceFile(http_url=slow_url, file_path="slow.bin")]))
    wait_for(lambda: batch.get_task(job, "downloading").state == "running", 30,
             "the task to start downloading")
    batch.terminate_task(job, "downloading")
    task = wait_tasks(batch, job)["downloading"]
    assert task.execution_info.failure_info.code == "TaskEnded"
    assert task.execution_info.exit_code is None
    assert not ran.exists()


def test_delete_running_task(batch: BatchClient, job: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    batch.create_task(job, models.BatchTaskCreateOptions(id="sleeper",
                                                         command_line=sleeper(pid_file)))
    pids = wait_running(batch, job, "sleeper", pid_file)
    batch.delete_task(job, "sleeper")
    with pytest.raises(ResourceNotFoundError) as caught:
        batch.get_task(job, "sleeper")
    assert caught.value.error.code == "TaskNotFound"
    wait_gone(pids, "the deleted task")
    assert [t.id for t in batch.list_tasks(job)] == []


@pytest.mark.conformance
def test_task_environment(batch: BatchClient, shared_pool: str, endpoints: dict) -> None:
    job_id = unique("env-job")
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=shared_pool),
        common_environment_settings=[models.EnvironmentSetting(name="JOB_ONLY", value="job"),
                                     models.EnvironmentSetting(name="BOTH", value="job")]))
    try:
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="env", command_line=bash('env; echo "CWD=$(pwd -P)"'),
            environment_settings=[models.EnvironmentSetting(name="TASK_ONLY", value="task"),
                                  models.EnvironmentSetting(name="BOTH", value="task")]))
        task = wait_tasks(batch, job_id)["env"]
        assert task.execution_info.result == "success"
        raw = stdout_of(batch, job_id, "env")
        env = parse_env(raw)
        assert env["AZ_BATCH_JOB_ID"] == job_id
        assert env["AZ_BATCH_TASK_ID"] == "env"
        assert env["AZ_BATCH_NODE_ID"] == task.node_info.node_id
        assert env["AZ_BATCH_POOL_ID"] == shared_pool
        assert os.path.realpath(env["AZ_BATCH_TASK_WORKING_DIR"]) == env["CWD"]
        assert (env["TASK_ONLY"], env["JOB_ONLY"], env["BOTH"]) == ("task", "job", "task")
        assert_no_service_secrets(env, raw, endpoints)
    finally:
        delete_job(batch, job_id)
