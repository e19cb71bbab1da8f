"""The tutorial's flow through the real SDKs against localbatch and Azurite."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions

from helpers.media import is_valid_mp3, make_sample_inputs, make_sample_video
from tests.conftest import (
    blob_read_url,
    container_url,
    delete_pool,
    nodes_ready,
    output_file,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)
from tests.pools import install_ffmpeg

WRITE = ContainerSasPermissions(write=True, create=True)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_sample_inputs(tmp_path_factory.mktemp("inputs"), count=5, seconds=1.0)


def upload(blobs: BlobServiceClient, container: str, files: list[Path],
           names: list[str] | None = None) -> list[str]:
    names = names or [p.name for p in files]
    client = blobs.get_container_client(container)
    for path, name in zip(files, names):
        with open(path, "rb") as data:
            client.upload_blob(name, data, overwrite=True)
    return names


def convert_task(task_id: str, input_url: str, output_url: str, blob_name: str
                 ) -> models.BatchTaskCreateOptions:
    """The kit's task: safe local names, the original name only in the output blob's path."""
    return models.BatchTaskCreateOptions(
        id=task_id, command_line="ffmpeg -nostdin -y -loglevel error -i in.mp4 -vn out.mp3",
        resource_files=[models.ResourceFile(http_url=input_url, file_path="in.mp4")],
        output_files=[
            output_file("out.mp3", output_url, "tasksuccess", blob_name),
            output_file("../std*.txt", output_url, "taskcompletion", f"logs/{task_id}")])


def download(blobs: BlobServiceClient, container: str, name: str, folder: Path) -> Path:
    target = folder / name.replace("/", "_")
    target.write_bytes(blobs.get_container_client(container).download_blob(name).readall())
    return target


def test_tutorial_flow(batch: BatchClient, blobs: BlobServiceClient, endpoints: dict,
                       containers: dict, videos: list[Path], tmp_path: Path) -> None:
    """Upload, a pool of two nodes with a start task, a job, five tasks, outputs, cleanup."""
    pool_id, job_id = unique("ffmpeg-pool"), unique("ffmpeg-job")
    names = upload(blobs, containers["input"], videos)
    batch.create_pool(pool_options(pool_id, 2, install_ffmpeg()))
    wait_for(lambda: nodes_ready(batch, pool_id, 2), what="two idle nodes")
    for node in batch.list_nodes(pool_id):
        assert node.start_task_info.result == "success"
        assert node.start_task_info.exit_code == 0
        stdout = b"".join(batch.download_node_file(pool_id, node.id, "startup/stdout.txt"))
        assert b"Setting up ffmpeg" in stdout
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    output_url = container_url(blobs, endpoints, containers["output"], WRITE)
    batch.create_tasks(job_id, [
        convert_task(f"Task{i}", blob_read_url(blobs, endpoints, containers["input"], name),
                     output_url, f"flow/{Path(name).stem}.mp3")
        for i, name in enumerate(names)])

    tasks = wait_tasks(batch, job_id)
    counts = batch.get_job_task_counts(job_id).task_counts
    assert (counts.succeeded, counts.failed, counts.completed) == (5, 0, 5)
    assert {t.node_info.node_id for t in tasks.values()} == {n.id for n in batch.list_nodes(pool_id)}
    for task in tasks.values():
        assert task.execution_info.result == "success" and task.execution_info.exit_code == 0
        assert task.execution_info.start_time <= task.execution_info.end_time
        stderr = b"".join(batch.download_task_file(job_id, task.id, "stderr.txt"))
        assert stderr == b""
        props = batch.get_task_file_properties(job_id, task.id, "stdout.txt")
        assert props.is_directory is False
    mp3s = sorted(b.name for b in blobs.get_container_client(containers["output"])
                  .list_blobs(name_starts_with="flow/"))
    assert mp3s == [f"flow/LowPriVMs-{i}.mp3" for i in range(1, 6)]
    for name in mp3s:
        assert is_valid_mp3(download(blobs, containers["output"], name, tmp_path)), name
    logs = {b.name for b in blobs.get_container_client(containers["output"])
            .list_blobs(name_starts_with="logs/Task0/")}
    assert logs == {"logs/Task0/stdout.txt", "logs/Task0/stderr.txt"}

    batch.begin_delete_job(job_id, polling_interval=0.1).result()
    with pytest.raises(ResourceNotFoundError):
        batch.get_job(job_id)
    batch.begin_delete_pool(pool_id, polling_interval=0.1).result()
    with pytest.raises(ResourceNotFoundError) as caught:
        batch.get_pool(pool_id)
    assert caught.value.error.code == "PoolNotFound"


def test_failing_task_is_reported_and_others_unaffected(
        batch: BatchClient, blobs: BlobServiceClient, endpoints: dict, containers: dict,
        job: str) -> None:
    output_url = container_url(blobs, endpoints, containers["output"], WRITE)
    batch.create_tasks(job, [
        models.BatchTaskCreateOptions(
            id="bad", command_line="/bin/bash -c 'echo boom >&2; exit 3'",
            output_files=[output_file("../stderr.txt", output_url, "taskfailure",
                                      f"{job}/bad-stderr.txt")]),
        models.BatchTaskCreateOptions(id="good", command_line="/bin/echo fine"),
    ])
    tasks = wait_tasks(batch, job)
    bad = tasks["bad"].execution_info
    assert (bad.result, bad.exit_code) == ("failure", 3)
    assert bad.failure_info.category == "usererror"
    assert bad.failure_info.code == "FailureExitCode"
    assert b"".join(batch.download_task_file(job, "bad", "stderr.txt")) == b"boom\n"
    uploaded = blobs.get_blob_client(containers["output"], f"{job}/bad-stderr.txt")
    assert uploaded.download_blob().readall() == b"boom\n"
    good = tasks["good"].execution_info
    assert (good.result, good.exit_code) == ("success", 0)
    assert b"".join(batch.download_task_file(job, "good", "stdout.txt")) == b"fine\n"
    counts = batch.get_job_task_counts(job).task_counts
    assert (counts.succeeded, counts.failed) == (1, 1)


def test_command_substitution_is_a_literal_argument(batch: BatchClient, job: str,
                                                    tmp_path: Path) -> None:
    """No shell runs a command line: $(...) and backticks reach the program as text."""
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="literal", command_line=f"/bin/echo $(touch {marker}) `touch {marker}`"))
    task = wait_tasks(batch, job)["literal"]
    assert task.execution_info.exit_code == 0
    stdout = b"".join(batch.download_task_file(job, "literal", "stdout.txt")).decode()
    assert stdout == f"$(touch {marker}) `touch {marker}`\n"
    assert not marker.exists()


def test_quotes_split_as_a_posix_shell_would(batch: BatchClient, job: str) -> None:
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="quoted", command_line="""/bin/bash -c 'printf "%s|" "$@"' argv0 "a b" 'c "d"' e\\ f"""))
    wait_tasks(batch, job)
    stdout = b"".join(batch.download_task_file(job, "quoted", "stdout.txt")).decode()
    assert stdout == 'a b|c "d"|e f|'


HOSTILE = ["my talk (final).v2.mp4", "it's \"quoted\".mp4", "$(touch pwned).mp4",
           "-leading dash.mp4", "semi;colon & `tick`.mp4"]


def test_hostile_file_names_convert_safely(batch: BatchClient, blobs: BlobServiceClient,
                                           endpoints: dict, containers: dict, job: str,
                                           tmp_path: Path) -> None:
    source = make_sample_video(tmp_path / "clip.mp4", seconds=1.0)
    names = upload(blobs, containers["input"], [source] * len(HOSTILE), HOSTILE)
    output_url = container_url(blobs, endpoints, containers["output"], WRITE)
    batch.create_tasks(job, [
        convert_task(f"Task{i}", blob_read_url(blobs, endpoints, containers["input"], name),
                     output_url, f"{job}/{os.path.splitext(name)[0]}.mp3")
        for i, name in enumerate(names)])
    tasks = wait_tasks(batch, job)
    assert all(t.execution_info.result == "success" for t in tasks.values())
    made = sorted(b.name for b in blobs.get_container_client(containers["output"])
                  .list_blobs(name_starts_with=f"{job}/"))
    assert made == sorted(f"{job}/{os.path.splitext(n)[0]}.mp3" for n in HOSTILE)
    for name in made:
        assert is_valid_mp3(download(blobs, containers["output"], name, tmp_path)), name
    for task_id in tasks:
        wd = {f.name for f in batch.list_task_files(job, task_id, recursive=True)
              if f.name.startswith("wd/")}
        assert wd == {"wd/in.mp4", "wd/out.mp3"}, f"{task_id} left {wd}"


def test_read_only_output_sas_fails_the_upload(batch: BatchClient, blobs: BlobServiceClient,
                                               endpoints: dict, containers: dict,
                                               job: str) -> None:
    """As on Azure: the node uploads with the SAS it was given, so a read-only one is refused."""
    read_only = container_url(blobs, endpoints, containers["output"],
                              ContainerSasPermissions(read=True, list=True))
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="upload", command_line="/bin/bash -c 'echo data > result.txt'",
        output_files=[output_file("result.txt", read_only, "tasksuccess", f"{job}/result.txt")]))
    info = wait_tasks(batch, job)["upload"].execution_info
    assert info.exit_code == 0
    assert info.result == "failure"
    assert info.failure_info.code == "FileUploadAccessDenied"
    files = {f.name for f in batch.list_task_files(job, "upload")}
    assert {"fileuploadout.txt", "fileuploaderr.txt", "stdout.txt", "stderr.txt", "wd"} <= files
    err = b"".join(batch.download_task_file(job, "upload", "fileuploaderr.txt")).decode()
    assert "result.txt" in err and "sig=" not in err
    assert not list(blobs.get_container_client(containers["output"])
                    .list_blobs(name_starts_with=f"{job}/"))


def test_start_task_failure_makes_the_node_starttaskfailed(batch: BatchClient) -> None:
    pool_id = unique("bad-start")
    start = models.BatchStartTask(command_line="/bin/bash -c 'echo no ffmpeg here >&2; exit 7'",
                                  wait_for_success=True, max_task_retry_count=1)
    batch.create_pool(pool_options(pool_id, 1, start))
    try:
        node = wait_for(lambda: next((n for n in batch.list_nodes(pool_id)
                                      if n.state == "starttaskfailed"), None),
                        what="a starttaskfailed node")
        info = node.start_task_info
        assert (info.exit_code, info.result, info.retry_count) == (7, "failure", 1)
        stderr = b"".join(batch.download_node_file(pool_id, node.id, "startup/stderr.txt"))
        assert stderr == b"no ffmpeg here\n"
    finally:
        delete_pool(batch, pool_id)
