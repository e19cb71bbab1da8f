"""Task, job, pool and node lifecycle rules (fidelity reference §6) through the real SDK.

The tests marked conformance use only the REST API and blobs; the others check processes and
files on this machine, so `make test-live` leaves them out.
"""

from __future__ import annotations

import http.server
import os
import shlex
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.batch.models._models import BatchJobTerminateOptions as TerminateOptions
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions

from tests.conftest import (
    alive,
    blob_read_url,
    container_url,
    delete_job,
    delete_pool,
    job_on,
    nodes_ready,
    output_file,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)

WRITE = ContainerSasPermissions(write=True, create=True)
READ_LIST = ContainerSasPermissions(read=True, list=True)
START_ONLY = "LIFECYCLE_START_ONLY"


def bash(script: str) -> str:
    """A command line running script with bash, as a learner writes it for Azure."""
    return f"/bin/bash -c {shlex.quote(script)}"


def sleeper(pid_file: Path) -> str:
    """A task that records its shell's pid and a child's pid, then waits 30 s for the child."""
    return bash(f"sleep 30 & echo $$ $! > {shlex.quote(str(pid_file))}; wait")


def read_pids(pid_file: Path) -> list[int] | None:
    """The pids a sleeper wrote, once the line is complete."""
    text = pid_file.read_text() if pid_file.exists() else ""
    return [int(p) for p in text.split()] if text.endswith("\n") else None


def wait_gone(pids: list[int], what: str) -> None:
    wait_for(lambda: not any(alive(p) for p in pids), 30, f"the processes of {what} to end")


def wait_running(batch: BatchClient, job_id: str, task_id: str, pid_file: Path) -> list[int]:
    """Wait until a sleeper task runs and has written its pids; return them (all alive)."""
    wait_for(lambda: batch.get_task(job_id, task_id).state == "running", 60,
             f"{task_id} to run")
    pids = wait_for(lambda: read_pids(pid_file), 60, f"the pids of {task_id}")
    assert len(pids) == 2 and all(alive(p) for p in pids)
    return pids


def parse_env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def stdout_of(batch: BatchClient, job_id: str, task_id: str) -> str:
    return b"".join(batch.download_task_file(job_id, task_id, "stdout.txt")).decode()


def terminate_job(batch: BatchClient, job_id: str, reason: str) -> None:
    """begin_terminate_job with a reason: azure-batch 15.1.0 cannot send it without one.

    With options None or empty the SDK leaves the content-type header None and raises
    ValueError("No value for given attribute") before anything is sent.
    """
    batch.begin_terminate_job(job_id, TerminateOptions(termination_reason=reason),
                              polling_interval=0.1).result()


def blob_names(blobs: BlobServiceClient, container: str, prefix: str) -> set[str]:
    return {b.name for b in blobs.get_container_client(container)
            .list_blobs(name_starts_with=prefix)}


def blob_text(blobs: BlobServiceClient, container: str, name: str) -> str:
    return blobs.get_blob_client(container, name).download_blob().readall().decode()


@pytest.fixture(scope="module")
def start_pool(batch: BatchClient) -> Iterator[str]:
    """A pool of one node whose start task prints its environment."""
    pool_id = unique("start-pool")
    start = models.BatchStartTask(
        command_line="/bin/bash -c 'env'", wait_for_success=True,
        environment_settings=[models.EnvironmentSetting(name=START_ONLY, value="start")])
    batch.create_pool(pool_options(pool_id, 1, start))
    try:
        wait_for(lambda: nodes_ready(batch, pool_id, 1), what="one idle node")
        yield pool_id
    finally:
        delete_pool(batch, pool_id)


# -- retries ------------------------------------------------------------------------------------

def test_nonzero_exit_is_retried_up_to_max_task_retry_count(batch: BatchClient, job: str,
                                                           tmp_path: Path) -> None:
    failing, passing = tmp_path / "failing.txt", tmp_path / "passing.txt"
    retry_twice = models.BatchTaskConstraints(max_task_retry_count=2)
    batch.create_tasks(job, [
        models.BatchTaskCreateOptions(
            id="failing", command_line=bash(f"echo run >> {shlex.quote(str(failing))}; exit 1"),
            constraints=retry_twice),
        models.BatchTaskCreateOptions(
            id="passing", command_line=bash(f"echo run >> {shlex.quote(str(passing))}"),
            constraints=retry_twice)])
    tasks = wait_tasks(batch, job)

    assert failing.read_text().splitlines() == ["run"] * 3  # one try and two retries
    bad = tasks["failing"]
    assert bad.state == "completed"
    assert bad.constraints.max_task_retry_count == 2
    info = bad.execution_info
    assert (info.result, info.exit_code, info.retry_count) == ("failure", 1, 2)
    assert info.last_retry_time is not None
    assert (info.failure_info.category, info.failure_info.code) == ("usererror", "FailureExitCode")

    assert passing.read_text().splitlines() == ["run"]
    info = tasks["passing"].execution_info
    assert (info.result, info.exit_code, info.retry_count) == ("success", 0, 0)
    assert info.failure_info is None
    assert info.last_retry_time is None


def test_resource_file_failure_is_not_retried(batch: BatchClient, blobs: BlobServiceClient,
                                              endpoints: dict, containers: dict, job: str,
                                              tmp_path: Path) -> None:
    """A pre-processing error completes the task at once: no retry, no process, no exit code."""
    ran = tmp_path / "ran.txt"
    missing = blob_read_url(blobs, endpoints, containers["input"], f"missing/{uuid.uuid4().hex}")
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="nofile", command_line=bash(f"echo run >> {shlex.quote(str(ran))}"),
        resource_files=[models.ResourceFile(http_url=missing, file_path="in.bin")],
        constraints=models.BatchTaskConstraints(max_task_retry_count=2)))
    task = wait_tasks(batch, job)["nofile"]
    info = task.execution_info
    assert task.state == "completed"
    assert info.result == "failure"
    assert (info.failure_info.category, info.failure_info.code) == ("usererror", "BlobNotFound")
    assert info.exit_code is None
    assert info.retry_count == 0
    assert not ran.exists()
    assert "sig=" not in (info.failure_info.message or "")


# -- launch failures -------------------------------------------------------------------------

def test_a_program_that_cannot_start_fails_the_task_at_once(batch: BatchClient, job: str,
                                                            tmp_path: Path) -> None:
    """Missing, or executable but not a program (a script without a #! line): the task completes
    as failed with no exit code, and is not retried."""
    script = tmp_path / "no-shebang.sh"
    script.write_text("echo hi\n")
    script.chmod(0o755)
    retry = models.BatchTaskConstraints(max_task_retry_count=2)
    batch.create_tasks(job, [
        models.BatchTaskCreateOptions(id="missing", command_line="no-such-program --flag",
                                      constraints=retry),
        models.BatchTaskCreateOptions(id="script", command_line=str(script), constraints=retry)])
    tasks = wait_tasks(batch, job)
    for task_id, code, words in (("missing", "CommandProgramNotFound", "'no-such-program'"),
                                 ("script", "CommandLaunchFailed", "Exec format error")):
        info = tasks[task_id].execution_info
        assert tasks[task_id].state == "completed"
        assert (info.result, info.exit_code, info.retry_count) == ("failure", None, 0)
        assert (info.failure_info.category, info.failure_info.code) == ("usererror", code)
        assert words in info.failure_info.message


# -- maxWallClockTime ---------------------------------------------------------------------------

def test_max_wall_clock_time_terminates_the_task(batch: BatchClient, job: str,
                                                 tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="slow", command_line=sleeper(pid_file),
        constraints=models.BatchTaskConstraints(max_wall_clock_time=timedelta(seconds=1))))
    task = wait_tasks(batch, job, timeout=30)["slow"]
    assert task.constraints.max_wall_clock_time == timedelta(seconds=1)
    assert task.state == "completed"
    info = task.execution_info
    assert info.result == "failure"
    assert info.failure_info is not None and info.failure_info.code
    assert info.failure_info.category in ("usererror", "servererror")
    pids = read_pids(pid_file)
    assert pids is not None
    wait_gone(pids, "the timed-out task")


# -- resource files from a container ------------------------------------------------------------

@pytest.mark.conformance
def test_container_resource_files_keep_prefix_and_folders(
        batch: BatchClient, blobs: BlobServiceClient, endpoints: dict, containers: dict,
        job: str) -> None:
    root = unique("rf")
    client = blobs.get_container_client(containers["input"])
    for name in (f"{root}/keep/a.txt", f"{root}/keep/sub/b.txt", f"{root}/other/c.txt",
                 f"{root}/keepsake.txt"):
        client.upload_blob(name, name.encode(), overwrite=True)
    source = container_url(blobs, endpoints, containers["input"], READ_LIST)
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="fromcontainer", command_line=bash("find inputs -type f | sort"),
        resource_files=[models.ResourceFile(storage_container_url=source,
                                            blob_prefix=f"{root}/keep/", file_path="inputs")]))
    task = wait_tasks(batch, job)["fromcontainer"]
    assert task.execution_info.result == "success"

    expected = {f"wd/inputs/{root}/keep/a.txt", f"wd/inputs/{root}/keep/sub/b.txt"}
    files = {f.name for f in batch.list_task_files(job, "fromcontainer", recursive=True)
             if f.name.startswith("wd/") and not f.is_directory}
    assert files == expected
    assert stdout_of(batch, job, "fromcontainer").splitlines() == sorted(
        name[len("wd/"):] for name in expected)
    content = b"".join(batch.download_task_file(job, "fromcontainer",
                                                f"wd/inputs/{root}/keep/sub/b.txt"))
    assert content == f"{root}/keep/sub/b.txt".encode()


# -- output files -------------------------------------------------------------------------------

@pytest.mark.conformance
def test_wildcard_output_pattern_uploads_each_match_under_the_path(
        batch: BatchClient, blobs: BlobServiceClient, endpoints: dict, containers: dict,
        job: str) -> None:
    out = container_url(blobs, endpoints, containers["output"], WRITE)
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="wild", command_line=bash("echo a > a.txt; echo b > b.txt; echo c > c.log"),
        output_files=[output_file("*.txt", out, "taskcompletion", f"{job}/wild")]))
    info = wait_tasks(batch, job)["wild"].execution_info
    assert (info.result, info.exit_code) == ("success", 0)
    assert blob_names(blobs, containers["output"], f"{job}/") == {f"{job}/wild/a.txt",
                                                                 f"{job}/wild/b.txt"}
    assert blob_text(blobs, containers["output"], f"{job}/wild/b.txt") == "b\n"


@pytest.mark.conformance
def test_upload_conditions_follow_the_exit_code(
        batch: BatchClient, blobs: BlobServiceClient, endpoints: dict, containers: dict,
        job: str) -> None:
    out = container_url(blobs, endpoints, containers["output"], WRITE)

    def task(task_id: str, script: str) -> models.BatchTaskCreateOptions:
        return models.BatchTaskCreateOptions(id=task_id, command_line=bash(script), output_files=[
            output_file("r.txt", out, "tasksuccess", f"{job}/{task_id}/on-success.txt"),
            output_file("r.txt", out, "taskfailure", f"{job}/{task_id}/on-failure.txt")])

    batch.create_tasks(job, [task("ok", "echo ok > r.txt"),
                             task("bad", "echo bad > r.txt; exit 2")])
    tasks = wait_tasks(batch, job)
    assert tasks["ok"].execution_info.result == "success"
    assert (tasks["bad"].execution_info.exit_code,
            tasks["bad"].execution_info.failure_info.code) == (2, "FailureExitCode")
    assert blob_names(blobs, containers["output"], f"{job}/") == {
        f"{job}/ok/on-success.txt", f"{job}/bad/on-failure.txt"}
    assert blob_text(blobs, containers["output"], f"{job}/bad/on-failure.txt") == "bad\n"


@pytest.mark.conformance
def test_missing_destination_container_fails_the_task(
        batch: BatchClient, blobs: BlobServiceClient, endpoints: dict, job: str) -> None:
    absent = unique("nosuch")
    out = container_url(blobs, endpoints, absent, WRITE)
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="lost", command_line=bash("echo data > r.txt"),
        output_files=[output_file("r.txt", out, "tasksuccess", "r.txt")]))
    info = wait_tasks(batch, job)["lost"].execution_info
    assert info.exit_code == 0
    assert info.result == "failure"
    assert info.failure_info.code == "FileUploadContainerNotFound"
    assert info.retry_count == 0
    assert not blobs.get_container_client(absent).exists()


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


def test_terminate_job_ends_running_and_holds_queued_tasks(
        batch: BatchClient, start_pool: str, tmp_path: Path) -> None:
    """One node, one slot: the first task runs, the others wait and must never start."""
    job_id = unique("term-job")
    pid_file, ran = tmp_path / "pids", tmp_path / "ran.txt"
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=start_pool)))
    try:
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="first", command_line=sleeper(pid_file)))
        pids = wait_running(batch, job_id, "first", pid_file)
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"queued{i}", command_line=bash(f"echo {i} >> {shlex.quote(str(ran))}"))
            for i in range(2)])
        assert {t.id: t.state for t in batch.list_tasks(job_id)} == {
            "first": "running", "queued0": "active", "queued1": "active"}

        terminate_job(batch, job_id, "StoppedByTest")
        job = batch.get_job(job_id)
        assert job.state == "completed"
        assert job.execution_info.end_time is not None
        # The job leaves `terminating` only once its running tasks are terminated.
        first = batch.get_task(job_id, "first")
        assert first.state == "completed"
        assert first.execution_info.result == "failure"
        wait_gone(pids, "the running task of the terminated job")
        wait_for(lambda: next(iter(batch.list_nodes(start_pool))).state == "idle", 30,
                 "the node to be idle again")
        assert not ran.exists()
        for task_id in ("queued0", "queued1"):
            queued = batch.get_task(job_id, task_id)
            assert queued.node_info is None, task_id
            assert queued.execution_info.start_time is None, task_id
        # Active tasks stay active and are never scheduled (REST reference, Job - Terminate;
        # the SDK's begin_terminate_job docstring says the same).
        assert [batch.get_task(job_id, t).state for t in ("queued0", "queued1")] == [
            "active", "active"]
    finally:
        delete_job(batch, job_id)


@pytest.mark.conformance
def test_terminate_job_records_the_reason(batch: BatchClient, shared_pool: str) -> None:
    with job_on(batch, shared_pool, "reason-job") as job_id:
        terminate_job(batch, job_id, "StoppedByTest")
        job = batch.get_job(job_id)
        assert job.state == "completed"
        assert job.execution_info.termination_reason == "StoppedByTest"


def test_delete_job_kills_its_running_task(batch: BatchClient, job: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    batch.create_task(job, models.BatchTaskCreateOptions(id="sleeper",
                                                         command_line=sleeper(pid_file)))
    pids = wait_running(batch, job, "sleeper", pid_file)
    batch.begin_delete_job(job, polling_interval=0.1).result()
    with pytest.raises(ResourceNotFoundError) as caught:
        batch.get_job(job)
    assert caught.value.error.code == "JobNotFound"
    wait_gone(pids, "the deleted job's task")


# -- pools and nodes ----------------------------------------------------------------------------

@pytest.mark.conformance
def test_resize_pool_up_and_down(batch: BatchClient) -> None:
    pool_id = unique("resize")
    start = models.BatchStartTask(command_line="/bin/echo ready", wait_for_success=True)
    batch.create_pool(pool_options(pool_id, 1, start))
    try:
        wait_for(lambda: nodes_ready(batch, pool_id, 1), what="one idle node")
        wait_for(lambda: batch.get_pool(pool_id).allocation_state == "steady", 60,
                 "the new pool to be steady")

        batch.begin_resize_pool(pool_id, models.BatchPoolResizeOptions(target_dedicated_nodes=2),
                                polling_interval=0.1).result()
        wait_for(lambda: nodes_ready(batch, pool_id, 2) and all(
            n.state == "idle" for n in batch.list_nodes(pool_id)), 60, "two idle nodes")
        pool = batch.get_pool(pool_id)
        assert pool.allocation_state == "steady"
        assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (2, 2)
        for listed in batch.list_nodes(pool_id):
            node = batch.get_node(pool_id, listed.id)
            assert node.state == "idle"
            assert node.is_dedicated is True
            info = node.start_task_info
            assert (info.state, info.result, info.exit_code) == ("completed", "success", 0)
            assert node.start_task.command_line == "/bin/echo ready"

        batch.begin_resize_pool(pool_id, models.BatchPoolResizeOptions(target_dedicated_nodes=1),
                                polling_interval=0.1).result()
        # steady means no change in the number of nodes is still in progress
        pool = batch.get_pool(pool_id)
        assert pool.allocation_state == "steady"
        assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (1, 1)
        assert len(list(batch.list_nodes(pool_id))) == 1
        wait_for(lambda: nodes_ready(batch, pool_id, 1), 60, "one idle node after shrinking")
    finally:
        delete_pool(batch, pool_id)


@pytest.mark.conformance
def test_node_files_show_the_node_layout(batch: BatchClient, start_pool: str) -> None:
    node = next(iter(batch.list_nodes(start_pool)))
    entries = {f.name: f for f in batch.list_node_files(start_pool, node.id, recursive=False)}
    assert {"shared", "startup", "workitems"} <= set(entries)
    assert all(entries[name].is_directory for name in ("shared", "startup", "workitems"))
    assert not any("/" in name for name in entries)  # not recursive
    props = batch.get_node_file_properties(start_pool, node.id, "startup/stdout.txt")
    stdout = b"".join(batch.download_node_file(start_pool, node.id, "startup/stdout.txt"))
    assert props.is_directory is False
    assert int(props.content_length) == len(stdout) > 0


# -- environment --------------------------------------------------------------------------------

def assert_no_service_secrets(env: dict[str, str], raw: str, endpoints: dict) -> None:
    for name in env:
        upper = name.upper()
        assert not any(word in upper for word in ("KEY", "SECRET", "AZURITE", "LOCALBATCH",
                                                  "CONNECTION_STRING")), name
    for secret in (endpoints["BATCH_ACCOUNT_KEY"], endpoints["STORAGE_ACCOUNT_KEY"]):
        assert secret not in raw


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


@pytest.mark.conformance
def test_start_task_environment(batch: BatchClient, start_pool: str, endpoints: dict) -> None:
    node = next(iter(batch.list_nodes(start_pool)))
    raw = b"".join(batch.download_node_file(start_pool, node.id, "startup/stdout.txt")).decode()
    env = parse_env(raw)
    assert env["AZ_BATCH_NODE_ID"] == node.id
    assert env["AZ_BATCH_POOL_ID"] == start_pool
    assert env[START_ONLY] == "start"
    assert "AZ_BATCH_JOB_ID" not in env
    assert "AZ_BATCH_TASK_ID" not in env
    assert_no_service_secrets(env, raw, endpoints)


# -- onAllTasksComplete -------------------------------------------------------------------------

@pytest.mark.conformance
def test_all_tasks_complete_terminates_the_job(batch: BatchClient, shared_pool: str) -> None:
    job_id = unique("auto-job")
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=shared_pool),
        all_tasks_complete_mode=models.BatchAllTasksCompleteMode.TERMINATE_JOB))
    try:
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"t{i}", command_line="/bin/echo done") for i in range(3)])
        job = wait_for(lambda: (j := batch.get_job(job_id)).state == "completed" and j, 60,
                       "the job to complete by itself")
        assert job.all_tasks_complete_mode == "terminatejob"
        assert job.execution_info.termination_reason == "AllTasksComplete"
        tasks = list(batch.list_tasks(job_id))
        assert len(tasks) == 3
        assert all(t.state == "completed" and t.execution_info.result == "success"
                   for t in tasks)
        assert max(t.execution_info.end_time for t in tasks) <= job.execution_info.end_time
    finally:
        delete_job(batch, job_id)
