"""Notebook 09's experiment: the same conversion job on pools of different sizes, locally.

Each run makes a pool of N local nodes, adds one task per video, waits for them, and returns
the task timing table; then it deletes the job and the pool. It always uses localbatch (on
Azure the same experiment costs money and minutes of pool start-up per run).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from azure.batch import models
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import (
    BlobSasPermissions,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)

from .clients import batch_client, blob_client
from .settings import Settings, local_settings
from .timings import timing_table

COMMAND = "ffmpeg -nostdin -y -loglevel error -i in.mp4 -vn out.mp3"


def run_on_nodes(nodes: int, videos: list[Path], timeout: float = 600) -> pd.DataFrame:
    """Convert the videos on a fresh pool of `nodes` local nodes; the task timing table."""
    settings = local_settings()
    batch, blobs = batch_client(settings), blob_client(settings)
    for name in ("experiment-input", "experiment-output"):
        try:
            blobs.create_container(name)
        except ResourceExistsError:
            pass
    for path in videos:
        with open(path, "rb") as data:
            blobs.get_blob_client("experiment-input", path.name).upload_blob(data, overwrite=True)
    pool_id, job_id = f"Experiment{nodes}Nodes", f"Experiment{nodes}Job"
    batch.create_pool(models.BatchPoolCreateOptions(
        id=pool_id, vm_size="Standard_A1_v2", target_dedicated_nodes=nodes,
        virtual_machine_configuration=models.VirtualMachineConfiguration(
            image_reference=models.BatchVmImageReference(
                publisher="canonical", offer="ubuntu-24_04-lts", sku="server-gen1",
                version="latest"),
            node_agent_sku_id="batch.node.ubuntu 24.04")))
    try:
        _wait(lambda: sum(n.state == "idle" for n in batch.list_nodes(pool_id)) == nodes,
              timeout, f"{nodes} idle nodes")
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
        batch.create_tasks(job_id, _tasks(settings, blobs, videos))
        _wait(lambda: _done(batch, job_id), timeout, "the tasks")
        return timing_table(batch.list_tasks(job_id))
    finally:
        for delete, ident in ((batch.begin_delete_job, job_id), (batch.begin_delete_pool, pool_id)):
            try:
                delete(ident, polling_interval=0.1).result()
            except Exception:  # noqa: BLE001, S110 - nothing to delete is fine here
                pass


def _tasks(settings: Settings, blobs, videos: list[Path]) -> list[models.BatchTaskCreateOptions]:
    expiry = datetime.now(timezone.utc) + timedelta(hours=2)
    key = {"account_key": settings.storage_key}
    output = blobs.get_container_client("experiment-output").url + "?" + generate_container_sas(
        settings.storage_account, "experiment-output", expiry=expiry,
        permission=ContainerSasPermissions(write=True, create=True), **key)
    tasks = []
    for index, path in enumerate(videos):
        sas = generate_blob_sas(settings.storage_account, "experiment-input", path.name,
                                expiry=expiry, permission=BlobSasPermissions(read=True), **key)
        tasks.append(models.BatchTaskCreateOptions(
            id=f"Task{index}", command_line=COMMAND,
            resource_files=[models.ResourceFile(
                http_url=blobs.get_blob_client("experiment-input", path.name).url + "?" + sas,
                file_path="in.mp4")],
            output_files=[models.OutputFile(
                file_pattern="out.mp3",
                destination=models.OutputFileDestination(
                    container=models.OutputFileBlobContainerDestination(
                        container_url=output, path=f"{path.stem}.mp3")),
                upload_options=models.OutputFileUploadConfiguration(
                    upload_condition="tasksuccess"))]))
    return tasks


def _done(batch, job_id: str) -> bool:
    counts = batch.get_job_task_counts(job_id).task_counts
    return counts.active == 0 and counts.running == 0


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)
