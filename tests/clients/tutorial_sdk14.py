"""The tutorial's flow written for azure-batch 14.x, run inside its own venv (not .venv).

Endpoints and keys come from the environment (the names `python -m localbatch env` prints); the
ids to use from argv. It prints one JSON line of what happened, for the test to check.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

import azure.batch.models as batchmodels
from azure.batch import BatchServiceClient
from azure.batch.batch_auth import SharedKeyCredentials
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)

TASKS = 3


def wait(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def storage(env: dict, suffix: str):
    """Input and output containers, one input blob; a read SAS URL and a write container URL."""
    account, key = env["STORAGE_ACCOUNT_NAME"], env["STORAGE_ACCOUNT_KEY"]
    blobs = BlobServiceClient(env["STORAGE_BLOB_URL"],
                              credential={"account_name": account, "account_key": key})
    expiry = datetime.now(timezone.utc) + timedelta(hours=1)
    names = {"input": f"input-{suffix}", "output": f"output-{suffix}"}
    for name in names.values():
        blobs.create_container(name)
    blobs.get_blob_client(names["input"], "words.txt").upload_blob(b"hello from batch 14\n")
    read = generate_blob_sas(account, names["input"], "words.txt", account_key=key,
                             permission=BlobSasPermissions(read=True), expiry=expiry)
    write = generate_container_sas(account, names["output"], account_key=key,
                                   permission=ContainerSasPermissions(write=True, create=True),
                                   expiry=expiry)
    input_url = blobs.get_blob_client(names["input"], "words.txt").url + "?" + read
    output_url = f"{blobs.url.rstrip('/')}/{names['output']}?{write}"
    return blobs, names, input_url, output_url


def task(index: int, input_url: str, output_url: str) -> batchmodels.TaskAddParameter:
    return batchmodels.TaskAddParameter(
        id=f"upper-{index}",
        command_line="/bin/bash -c 'tr a-z A-Z < words.txt | tee upper.txt'",
        resource_files=[batchmodels.ResourceFile(http_url=input_url, file_path="words.txt")],
        output_files=[batchmodels.OutputFile(
            file_pattern="upper.txt",
            destination=batchmodels.OutputFileDestination(
                container=batchmodels.OutputFileBlobContainerDestination(
                    container_url=output_url, path=f"upper-{index}.txt")),
            upload_options=batchmodels.OutputFileUploadOptions(
                upload_condition=batchmodels.OutputFileUploadCondition.task_success))])


def main(pool_id: str, job_id: str) -> dict:
    env = os.environ
    blobs, containers, input_url, output_url = storage(env, job_id)
    batch = BatchServiceClient(
        SharedKeyCredentials(env["BATCH_ACCOUNT_NAME"], env["BATCH_ACCOUNT_KEY"]),
        batch_url=env["BATCH_ACCOUNT_URL"])
    pool = batchmodels.PoolAddParameter(
        id=pool_id, vm_size="Standard_A1_v2", target_dedicated_nodes=2,
        virtual_machine_configuration=batchmodels.VirtualMachineConfiguration(
            image_reference=batchmodels.ImageReference(
                publisher="canonical", offer="ubuntu-24_04-lts", sku="server-gen1",
                version="latest"),
            node_agent_sku_id="batch.node.ubuntu 24.04"),
        start_task=batchmodels.StartTask(
            command_line="/bin/bash -c 'echo node ready'", wait_for_success=True,
            user_identity=batchmodels.UserIdentity(auto_user=batchmodels.AutoUserSpecification(
                scope=batchmodels.AutoUserScope.pool,
                elevation_level=batchmodels.ElevationLevel.admin))))
    batch.pool.add(pool)
    try:
        batch.pool.add(pool)
        duplicate = "accepted"
    except batchmodels.BatchErrorException as exc:
        duplicate = exc.error.code

    def idle_nodes() -> list | None:
        nodes = list(batch.compute_node.list(pool_id))
        idle = [n for n in nodes if n.state == batchmodels.ComputeNodeState.idle]
        return nodes if len(idle) == len(nodes) == 2 else None

    nodes = wait(idle_nodes, "2 idle nodes")
    batch.job.add(batchmodels.JobAddParameter(
        id=job_id, pool_info=batchmodels.PoolInformation(pool_id=pool_id)))
    added = batch.task.add_collection(job_id, [task(i, input_url, output_url)
                                               for i in range(TASKS)])
    wait(lambda: all(t.state == batchmodels.TaskState.completed
                     for t in batch.task.list(job_id)), "the tasks")
    tasks = list(batch.task.list(job_id))
    stdout = b"".join(batch.file.get_from_task(job_id, "upper-0", "stdout.txt"))
    outputs = {b.name: blobs.get_blob_client(containers["output"], b.name).download_blob()
               .readall().decode() for b in blobs.get_container_client(containers["output"])
               .list_blobs()}
    counts = batch.job.get_task_counts(job_id).task_counts
    batch.job.delete(job_id)
    batch.pool.delete(pool_id)
    wait(lambda: not batch.pool.exists(pool_id), "the pool to go")
    wait(lambda: all(j.id != job_id for j in batch.job.list()), "the job to go")
    return {
        "api_version": batch.api_version,
        "duplicate_pool": duplicate,
        "start_tasks": [n.start_task_info.result.value for n in nodes],
        "added": [r.status.value for r in added.value],
        "results": {t.id: [t.execution_info.result.value, t.execution_info.exit_code]
                    for t in tasks},
        "succeeded": counts.succeeded,
        "stdout": stdout.decode(),
        "outputs": outputs,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
