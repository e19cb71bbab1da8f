"""The operations notebook 10 fixes failures with, through the real SDK: reactivate a task,
update a pool's start task, reboot a node, and the local `kill-node` command."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.batch.models._models import BatchNodeRebootOptions
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from localbatch.statedir import StateDir
from tests.conftest import (
    alive,
    blob_read_url,
    delete_pool,
    job_on,
    nodes_ready,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)


def bash(script: str) -> str:
    return f"/bin/bash -c {shlex.quote(script)}"


# azure-batch 15.1's begin_reboot_node without options fails in the client before it sends
# anything (Azure/azure-sdk-for-python#46815: no content-type); options, even the default, work.
REQUEUE = BatchNodeRebootOptions(node_reboot_kind="requeue")


def start_task(script: str) -> models.BatchStartTask:
    return models.BatchStartTask(command_line=bash(script), wait_for_success=True)


@pytest.fixture
def one_node_pool(batch: BatchClient, tmp_path: Path) -> Iterator[str]:
    """A pool of one node whose start task appends 'v1' to tmp_path/boots."""
    pool_id = unique("recover")
    batch.create_pool(pool_options(pool_id, 1, start_task(f"echo v1 >> {tmp_path}/boots")))
    try:
        wait_for(lambda: nodes_ready(batch, pool_id, 1), what="one idle node")
        yield pool_id
    finally:
        delete_pool(batch, pool_id)


def the_node(batch: BatchClient, pool_id: str) -> models.BatchNode:
    return next(iter(batch.list_nodes(pool_id)))


def running_pid(batch: BatchClient, job_id: str, task_id: str, pid_file: Path) -> int:
    """Wait until the task runs and has written its shell's pid; return it."""
    wait_for(lambda: pid_file.exists() and pid_file.read_text().endswith("\n"),
             what=f"{task_id} to start")
    return int(pid_file.read_text().split()[-1])


# -- reactivate ------------------------------------------------------------------------------

def test_a_failed_task_is_reactivated_and_runs_again(batch: BatchClient, job: str,
                                                     tmp_path: Path) -> None:
    marker = tmp_path / "input-fixed"
    batch.create_task(job, models.BatchTaskCreateOptions(
        # once fixed, it runs 2 s: long enough to be seen active or running right after
        id="flaky", command_line=bash(f"test -e {marker} || {{ echo missing >&2; exit 3; }}; "
                                      "sleep 2"),
        constraints=models.BatchTaskConstraints(max_task_retry_count=1)))
    failed = wait_tasks(batch, job)["flaky"]
    assert failed.execution_info.result == "failure"
    assert (failed.execution_info.exit_code, failed.execution_info.retry_count) == (3, 1)
    marker.touch()
    batch.reactivate_task(job, "flaky")
    again = batch.get_task(job, "flaky")
    assert again.etag != failed.etag
    assert again.state in ("active", "running") and again.execution_info.retry_count == 0
    assert again.execution_info.failure_info is None and again.execution_info.exit_code is None
    done = wait_tasks(batch, job)["flaky"]
    assert done.execution_info.result == "success" and done.execution_info.exit_code == 0
    assert done.command_line == failed.command_line and done.execution_info.retry_count == 0


def test_only_a_failed_completed_task_can_be_reactivated(batch: BatchClient, job: str,
                                                         tmp_path: Path) -> None:
    batch.create_task(job, models.BatchTaskCreateOptions(id="fine", command_line="/bin/true"))
    wait_tasks(batch, job)
    with pytest.raises(HttpResponseError) as caught:
        batch.reactivate_task(job, "fine")
    assert (caught.value.status_code, caught.value.error.code) == (409, "TaskSucceeded")
    pids = tmp_path / "pid"
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="busy", command_line=bash(f"echo $$ > {pids}; sleep 30")))
    running_pid(batch, job, "busy", pids)
    with pytest.raises(HttpResponseError) as caught:
        batch.reactivate_task(job, "busy")
    assert (caught.value.status_code, caught.value.error.code) == (409, "TaskNotCompleted")
    with pytest.raises(HttpResponseError) as caught:
        batch.reactivate_task(job, "no-such-task")
    assert caught.value.error.code == "TaskNotFound"


def test_a_script_by_relative_path_runs_in_the_working_directory(
        batch: BatchClient, blobs: BlobServiceClient, endpoints: dict, containers: dict,
        job: str) -> None:
    """`./run.sh` names a resource file in the task's working directory (notebook 10's case 2:
    without its #! line it cannot be launched, which is not the same as not found)."""
    for name, text in (("with.sh", b"#!/bin/sh\necho ran\n"), ("without.sh", b"echo ran\n")):
        blobs.get_blob_client(containers["input"], name).upload_blob(text, overwrite=True)
        batch.create_task(job, models.BatchTaskCreateOptions(
            id=name.removesuffix(".sh"), command_line=f"./{name}",
            resource_files=[models.ResourceFile(
                http_url=blob_read_url(blobs, endpoints, containers["input"], name),
                file_path=name, file_mode="755")]))
    tasks = wait_tasks(batch, job)
    assert tasks["with"].execution_info.result == "success"
    assert b"".join(batch.download_task_file(job, "with", "stdout.txt")) == b"ran\n"
    assert tasks["without"].execution_info.failure_info.code == "CommandLaunchFailed"
    assert tasks["without"].execution_info.exit_code is None


# -- update a pool ---------------------------------------------------------------------------

def test_update_pool_changes_only_what_is_given(batch: BatchClient, one_node_pool: str) -> None:
    before = batch.get_pool(one_node_pool)
    node_before = the_node(batch, one_node_pool)
    batch.update_pool(one_node_pool, models.BatchPoolUpdateOptions(
        start_task=start_task("echo v2"),
        metadata=[models.BatchMetadataItem(name="owner", value="course")]))
    after = batch.get_pool(one_node_pool)
    assert after.etag != before.etag
    assert after.start_task.command_line == bash("echo v2")
    assert [(m.name, m.value) for m in after.metadata] == [("owner", "course")]
    assert (after.vm_size, after.target_dedicated_nodes) == (before.vm_size, 1)
    node = the_node(batch, one_node_pool)   # a node that is running keeps its start task
    assert (node.id, node.state) == (node_before.id, "idle")
    assert node.start_task.command_line == node_before.start_task.command_line
    batch.update_pool(one_node_pool, models.BatchPoolUpdateOptions(display_name="renamed"))
    renamed = batch.get_pool(one_node_pool)
    assert renamed.display_name == "renamed"
    assert renamed.start_task.command_line == bash("echo v2")   # absent: left as it was


def test_update_pool_refuses_what_localbatch_does_not_change(batch: BatchClient,
                                                             one_node_pool: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        batch.update_pool(one_node_pool, models.BatchPoolUpdateOptions(task_slots_per_node=4))
    assert (caught.value.status_code, caught.value.error.code) == (400, "InvalidPropertyValue")
    assert "taskSlotsPerNode" in str(caught.value)
    with pytest.raises(HttpResponseError) as caught:
        batch.update_pool(one_node_pool, models.BatchPoolUpdateOptions(
            start_task=models.BatchStartTask(command_line="")))
    assert caught.value.status_code == 400 and "commandLine" in str(caught.value)
    assert batch.get_pool(one_node_pool).task_slots_per_node == 1
    with pytest.raises(HttpResponseError) as caught:
        batch.update_pool(unique("no-pool"), models.BatchPoolUpdateOptions(display_name="x"))
    assert caught.value.error.code == "PoolNotFound"


# -- reboot ----------------------------------------------------------------------------------

def test_reboot_requeues_the_running_task_and_runs_the_current_start_task(
        batch: BatchClient, one_node_pool: str, tmp_path: Path) -> None:
    batch.update_pool(one_node_pool, models.BatchPoolUpdateOptions(
        start_task=start_task(f"echo v2 >> {tmp_path}/boots")))
    node = the_node(batch, one_node_pool)
    pids = tmp_path / "pids"
    with job_on(batch, one_node_pool) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="long", command_line=bash(f"echo $$ >> {pids}; sleep 2")))
        first_pid = running_pid(batch, job_id, "long", pids)
        poller = batch.begin_reboot_node(one_node_pool, node.id, REQUEUE, polling_interval=0.1)
        assert the_node(batch, one_node_pool).state in ("rebooting", "starting",
                                                        "waitingforstarttask")
        poller.result()
        wait_for(lambda: not alive(first_pid), 10, "the task's process to end with the reboot")
        task = wait_tasks(batch, job_id)["long"]
    assert task.execution_info.result == "success"
    assert (task.execution_info.retry_count, task.execution_info.requeue_count) == (0, 1)
    assert len(pids.read_text().split()) == 2   # it ran again, after the reboot
    rebooted = wait_for(lambda: (n := the_node(batch, one_node_pool)).state == "idle" and n,
                        30, "the rebooted node to be idle")
    assert rebooted.id == node.id and rebooted.last_boot_time > node.last_boot_time
    assert rebooted.start_task.command_line == bash(f"echo v2 >> {tmp_path}/boots")
    assert (tmp_path / "boots").read_text().split() == ["v1", "v2"]
    assert rebooted.start_task_info.result == "success"


def test_a_node_whose_start_task_failed_is_fixed_by_update_and_reboot(
        batch: BatchClient) -> None:
    pool_id = unique("broken-start")
    broken = models.BatchStartTask(command_line="/bin/no-such-installer", wait_for_success=True)
    batch.create_pool(pool_options(pool_id, 1, broken))
    try:
        node = wait_for(lambda: (n := next(iter(batch.list_nodes(pool_id)), None)) and
                        n.state == "starttaskfailed" and n, 30, "a starttaskfailed node")
        assert node.start_task_info.failure_info.code == "CommandProgramNotFound"
        batch.update_pool(pool_id, models.BatchPoolUpdateOptions(
            start_task=start_task("echo installed")))
        # as notebook 10 calls it: the options as the REST body's JSON
        batch.begin_reboot_node(pool_id, node.id, {"nodeRebootOption": "requeue"},
                                polling_interval=0.1).result()
        fixed = wait_for(lambda: (n := batch.get_node(pool_id, node.id)).state in (
            "idle", "starttaskfailed") and n, 30, "the rebooted node")
        assert fixed.state == "idle"
        assert fixed.start_task_info.result == "success"
        assert fixed.start_task_info.failure_info is None
        out = b"".join(batch.download_node_file(pool_id, node.id, "startup/stdout.txt"))
        assert out.decode().strip() == "installed"
    finally:
        delete_pool(batch, pool_id)


def test_reboot_with_taskcompletion_waits_and_refuses_a_second_reboot(
        batch: BatchClient, one_node_pool: str, tmp_path: Path) -> None:
    node = the_node(batch, one_node_pool)
    pids = tmp_path / "pids"
    with job_on(batch, one_node_pool) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="finishes", command_line=bash(f"echo $$ >> {pids}; sleep 1.5")))
        running_pid(batch, job_id, "finishes", pids)
        batch.begin_reboot_node(one_node_pool, node.id, BatchNodeRebootOptions(
            node_reboot_kind="taskcompletion"), polling_interval=0.1)
        assert batch.get_node(one_node_pool, node.id).state == "rebooting"
        with pytest.raises(HttpResponseError) as caught:
            batch.begin_reboot_node(one_node_pool, node.id, REQUEUE, polling_interval=0.1)
        assert (caught.value.status_code, caught.value.error.code) == (409, "NodeBeingRebooted")
        task = wait_tasks(batch, job_id)["finishes"]
    assert task.execution_info.result == "success"
    assert task.execution_info.requeue_count == 0 and len(pids.read_text().split()) == 1
    wait_for(lambda: the_node(batch, one_node_pool).state == "idle", 30, "the node back")


def test_reboot_with_terminate_ends_the_running_task(batch: BatchClient, one_node_pool: str,
                                                     tmp_path: Path) -> None:
    node = the_node(batch, one_node_pool)
    pids = tmp_path / "pids"
    with job_on(batch, one_node_pool) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="ended", command_line=bash(f"echo $$ >> {pids}; sleep 30")))
        pid = running_pid(batch, job_id, "ended", pids)
        batch.begin_reboot_node(one_node_pool, node.id, BatchNodeRebootOptions(
            node_reboot_kind="terminate"), polling_interval=0.1).result()
        task = wait_tasks(batch, job_id)["ended"]
        wait_for(lambda: not alive(pid), 10, "the terminated task's process to end")
    assert task.execution_info.result == "failure"
    assert task.execution_info.failure_info.code == "TaskEnded"


def test_reboot_refusals_name_what_is_wrong(batch: BatchClient, one_node_pool: str) -> None:
    node = the_node(batch, one_node_pool)
    with pytest.raises(HttpResponseError) as caught:
        batch.begin_reboot_node(one_node_pool, node.id, BatchNodeRebootOptions(
            node_reboot_kind="reimage"), polling_interval=0.1)
    assert caught.value.status_code == 400 and "nodeRebootOption" in str(caught.value)
    with pytest.raises(HttpResponseError) as caught:
        batch.begin_reboot_node(one_node_pool, "tvmps_no_such_node_d", REQUEUE,
                                polling_interval=0.1)
    assert (caught.value.status_code, caught.value.error.code) == (404, "NodeNotFound")
    assert the_node(batch, one_node_pool).state == "idle"


# -- kill-node -------------------------------------------------------------------------------

def kill_node(state: StateDir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localbatch", "--state-dir", str(state.path),
                           "kill-node", *args], capture_output=True, text=True, timeout=30,
                          check=False)


def test_kill_node_loses_the_node_and_its_task_runs_again(
        batch: BatchClient, state: StateDir, tmp_path: Path) -> None:
    pool_id = unique("kill-node")
    batch.create_pool(pool_options(pool_id, 2))
    pids = tmp_path / "pids"
    try:
        wait_for(lambda: nodes_ready(batch, pool_id, 2), what="two idle nodes")
        with job_on(batch, pool_id) as job_id:
            batch.create_task(job_id, models.BatchTaskCreateOptions(
                id="t", command_line=bash(f"echo $$ >> {pids}; sleep 2")))
            first_pid = running_pid(batch, job_id, "t", pids)
            first_node = batch.get_task(job_id, "t").node_info.node_id
            killed = kill_node(state, pool_id, first_node)
            assert killed.returncode == 0, killed.stderr
            assert killed.stdout.splitlines() == [(
                f"killed node {first_node} of pool {pool_id}: localbatch requeues its running "
                "tasks and restarts it")]
            wait_for(lambda: not alive(first_pid), 10, "the lost node's task process to end")
            task = wait_tasks(batch, job_id)["t"]
        assert task.execution_info.result == "success"
        assert (task.execution_info.retry_count, task.execution_info.requeue_count) == (0, 0)
        assert len(pids.read_text().split()) == 2
        wait_for(lambda: batch.get_node(pool_id, first_node).state == "idle", 30,
                 "the lost node to come back")
    finally:
        delete_pool(batch, pool_id)


def test_kill_node_errors_name_what_to_fix(batch: BatchClient, state: StateDir,
                                           shared_pool: str, tmp_path: Path) -> None:
    cases = [
        ((unique("no-pool"), "tvmps_x_d"), "has no pool"),
        ((shared_pool, "tvmps_no_such_node_d"), "has no running node 'tvmps_no_such_node_d'"),
        ((shared_pool, "../service"), "is not a node id"),
    ]
    for args, message in cases:
        result = kill_node(state, *args)
        assert result.returncode == 1 and message in result.stderr, result.stderr
    stopped = StateDir(tmp_path / "not-running")
    result = kill_node(stopped, shared_pool, "tvmps_x_d")
    assert result.returncode == 1 and "localbatch is not running" in result.stderr
    assert nodes_ready(batch, shared_pool, 2)
