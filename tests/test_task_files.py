"""A task's files in blob storage: resource files from a container,
output files by pattern and by upload condition, and a missing destination container.

Only the REST API and blobs: `make test-live` runs these against Azure.
"""

from __future__ import annotations

import pytest
from azure.batch import BatchClient, models
from azure.storage.blob import BlobServiceClient

from tests.conftest import container_url, output_file, unique, wait_tasks
from tests.task_helpers import READ_LIST, WRITE, bash, blob_names, blob_text, stdout_of

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
