"""How a task fails: retries, launch failures and the wall-clock limit.

These tests check processes and files on this machine, so `make test-live` leaves them out.
"""

from __future__ import annotations

import shlex
import uuid
from datetime import timedelta
from pathlib import Path

from azure.batch import BatchClient, models
from azure.storage.blob import BlobServiceClient

from tests.conftest import blob_read_url, wait_tasks
from tests.task_helpers import bash, read_pids, sleeper, wait_gone

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
