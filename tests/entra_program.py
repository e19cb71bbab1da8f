"""The tutorial's flow as Microsoft's current sample writes it: Microsoft Entra ID only.

It knows DefaultAzureCredential(), BlobServiceClient(url, credential), get_user_delegation_key
and BatchClient(url, credential), and no key: the endpoints come from the environment (the names
`python -m localbatch env` prints), the ids, the start task and the videos from argv. It prints
one JSON line of what happened, for the test to check.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from azure.batch import BatchClient, models
from azure.identity import DefaultAzureCredential
from azure.storage.blob import (
    BlobClient,
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)


def wait(condition, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def main(pool_id: str, job_id: str, start_task: str, videos: list[str]) -> dict:
    credential = DefaultAzureCredential()
    blobs = BlobServiceClient(os.environ["STORAGE_BLOB_URL"], credential=credential)
    batch = BatchClient(os.environ["AZURE_BATCH_ACCOUNT_URL"], credential)
    account = blobs.account_name
    start, expiry = datetime.now(timezone.utc), datetime.now(timezone.utc) + timedelta(hours=1)
    delegation = blobs.get_user_delegation_key(start, expiry)
    inputs, outputs = blobs.create_container(f"in-{job_id}"), blobs.create_container(f"out-{job_id}")
    sources = []
    for video in map(Path, videos):
        blob = inputs.upload_blob(video.name, video.read_bytes())
        sas = generate_blob_sas(account, inputs.container_name, video.name,
                                user_delegation_key=delegation,
                                permission=BlobSasPermissions(read=True), expiry=expiry)
        sources.append((video, f"{blob.url}?{sas}"))
    write = generate_container_sas(account, outputs.container_name,
                                   user_delegation_key=delegation,
                                   permission=ContainerSasPermissions(write=True),
                                   expiry=expiry)
    output_url = f"{outputs.url}?{write}"

    batch.create_pool(models.BatchPoolCreateOptions(
        id=pool_id, vm_size="Standard_A1_v2", target_dedicated_nodes=2,
        virtual_machine_configuration=models.VirtualMachineConfiguration(
            image_reference=models.BatchVmImageReference(
                publisher="canonical", offer="ubuntu-24_04-lts", sku="server-gen1", version="latest"),
            node_agent_sku_id="batch.node.ubuntu 24.04"),
        start_task=models.BatchStartTask(
            command_line=start_task, wait_for_success=True,
            user_identity=models.UserIdentity(auto_user=models.AutoUserSpecification(
                scope=models.AutoUserScope.POOL, elevation_level=models.ElevationLevel.ADMIN)))))
    wait(lambda: [n for n in batch.list_nodes(pool_id) if n.state == "idle"][1:], "2 idle nodes")
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    tasks = []
    for index, (video, url) in enumerate(sources):
        mp3 = video.with_suffix(".mp3").name
        tasks.append(models.BatchTaskCreateOptions(
            id=f"convert-{index}",
            command_line=f"/bin/bash -c 'ffmpeg -loglevel error -i {video.name} {mp3}'",
            resource_files=[models.ResourceFile(http_url=url, file_path=video.name)],
            output_files=[models.OutputFile(
                file_pattern=mp3,
                destination=models.OutputFileDestination(
                    container=models.OutputFileBlobContainerDestination(container_url=output_url)),
                upload_options=models.OutputFileUploadConfiguration(
                    upload_condition=models.OutputFileUploadCondition.TASK_SUCCESS))]))
    batch.create_tasks(job_id, tasks)
    wait(lambda: all(t.state == "completed" for t in batch.list_tasks(job_id)), "the tasks")
    results = {t.id: [t.execution_info.result, t.execution_info.exit_code]
               for t in batch.list_tasks(job_id)}
    mp3s = {b.name: len(outputs.download_blob(b.name).readall()) for b in outputs.list_blobs()}
    refused = ""
    try:   # a read-only user delegation SAS refuses a write, as a key-signed one does
        BlobClient.from_blob_url(sources[0][1]).upload_blob(b"x", overwrite=True)
    except Exception as exc:  # noqa: BLE001 - the answer is what we report
        refused = f"{getattr(exc, 'status_code', '')} {getattr(exc, 'error_code', '')}"
    batch.begin_delete_job(job_id, polling_interval=0.2).result()
    batch.begin_delete_pool(pool_id, polling_interval=0.2).result()
    inputs.delete_container()
    outputs.delete_container()
    return {"delegation": [delegation.signed_oid is not None, delegation.signed_tid is not None],
            "results": results, "mp3s": mp3s, "read_only_write": refused}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]), default=str))
