"""What the task, job and pool tests share: command lines that record their pids, waits on
those processes, and readers of a task's output and of blobs."""

from __future__ import annotations

import shlex
from pathlib import Path

from azure.batch import BatchClient
from azure.batch.models._models import BatchJobTerminateOptions as TerminateOptions
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions

from tests.conftest import alive, wait_for

WRITE = ContainerSasPermissions(write=True, create=True)
READ_LIST = ContainerSasPermissions(read=True, list=True)


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



def assert_no_service_secrets(env: dict[str, str], raw: str, endpoints: dict) -> None:
    for name in env:
        upper = name.upper()
        assert not any(word in upper for word in ("KEY", "SECRET", "AZURITE", "LOCALBATCH",
                                                  "CONNECTION_STRING")), name
    for secret in (endpoints["BATCH_ACCOUNT_KEY"], endpoints["STORAGE_ACCOUNT_KEY"]):
        assert secret not in raw
