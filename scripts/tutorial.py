"""The tutorial's whole flow as one script: MP4s to MP3s with ffmpeg on a Batch pool.

Runs against localbatch + Azurite by default (BATCH_TARGET=local), or against Azure
(BATCH_TARGET=azure, with BATCH_ACCOUNT_NAME/URL/KEY and STORAGE_ACCOUNT_NAME/KEY set).
Every call here is the public azure-batch / azure-storage-blob API a learner would write.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from azure.batch import BatchClient, models
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)

from helpers.media import is_valid_mp3, make_sample_inputs

ROOT = Path(__file__).resolve().parent.parent

POOL_ID, JOB_ID = "LinuxFFmpegPool", "LinuxFFmpegJob"
SAS_LIFETIME = timedelta(hours=12)  # outlasts a slow Spot allocation and a long queue


def settings() -> dict[str, str]:
    """Endpoints and keys: localbatch's own for the local target, the environment's for Azure."""
    target = os.environ.get("BATCH_TARGET", "local")
    if target == "local":
        from localbatch.control import state_dir, up
        return {**up(state_dir()), "BATCH_TARGET": "local"}
    needed = ["BATCH_ACCOUNT_NAME", "BATCH_ACCOUNT_URL", "BATCH_ACCOUNT_KEY",
              "STORAGE_ACCOUNT_NAME", "STORAGE_ACCOUNT_KEY"]
    missing = [name for name in needed if not os.environ.get(name)]
    if missing:
        sys.exit(f"BATCH_TARGET=azure needs these environment variables: {', '.join(missing)}")
    values = {name: os.environ[name] for name in needed}
    values["STORAGE_BLOB_URL"] = os.environ.get(
        "STORAGE_BLOB_URL", f"https://{values['STORAGE_ACCOUNT_NAME']}.blob.core.windows.net")
    return {**values, "BATCH_TARGET": "azure"}


def upload_inputs(blobs: BlobServiceClient, files: list[Path]) -> list[str]:
    for name in ("input", "output"):
        try:
            blobs.create_container(name)
        except ResourceExistsError:
            pass
    container = blobs.get_container_client("input")
    for path in files:
        with open(path, "rb") as data:
            container.upload_blob(path.name, data, overwrite=True)
    return [path.name for path in files]


def create_pool(batch: BatchClient, local: bool, nodes: int) -> None:
    if local:  # a laptop cannot apt-get install: the kit's ffmpeg is already on the nodes' PATH
        start = "/bin/bash -c 'ffmpeg -version | head -n 1'"
    else:
        start = ("/bin/bash -c 'export DEBIAN_FRONTEND=noninteractive && "
                 "apt-get -o DPkg::Lock::Timeout=300 update && "
                 "apt-get -o DPkg::Lock::Timeout=300 install -y ffmpeg'")
    pool = models.BatchPoolCreateOptions(
        id=POOL_ID, vm_size="Standard_A1_v2",
        virtual_machine_configuration=models.VirtualMachineConfiguration(
            image_reference=models.BatchVmImageReference(
                publisher="canonical", offer="ubuntu-24_04-lts", sku="server-gen1",
                version="latest"),
            node_agent_sku_id="batch.node.ubuntu 24.04"),
        target_dedicated_nodes=0, target_low_priority_nodes=nodes,
        start_task=models.BatchStartTask(
            command_line=start, wait_for_success=True, max_task_retry_count=3,
            user_identity=models.UserIdentity(auto_user=models.AutoUserSpecification(
                scope=models.AutoUserScope.POOL, elevation_level=models.ElevationLevel.ADMIN))))
    try:
        batch.create_pool(pool)
        print(f"Created pool {POOL_ID}")
    except ResourceExistsError:
        print(f"Pool {POOL_ID} exists: reusing it")


def wait_for_nodes(batch: BatchClient, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pool = batch.get_pool(POOL_ID)
        nodes = list(batch.list_nodes(POOL_ID))
        bad = [n for n in nodes if n.state in ("starttaskfailed", "unusable")]
        if bad:
            log = b"".join(batch.download_node_file(POOL_ID, bad[0].id, "startup/stderr.txt"))
            sys.exit(f"Node {bad[0].id} is {bad[0].state}; its start task said:\n{log.decode()}")
        if pool.resize_errors:
            sys.exit(f"The pool could not grow: {pool.resize_errors[0].message}")
        if pool.allocation_state == "steady" and nodes and all(
                n.state in ("idle", "running") for n in nodes):
            print(f"{len(nodes)} nodes ready")
            return
        time.sleep(0.5)
    sys.exit(f"Nodes not ready after {timeout:.0f} s: see list_nodes({POOL_ID!r}) for their states")


def add_tasks(batch: BatchClient, blobs: BlobServiceClient, names: list[str], s: dict) -> None:
    try:
        batch.begin_delete_job(JOB_ID, polling_interval=0.2).result()
        print(f"Deleted the previous {JOB_ID}")
    except ResourceNotFoundError:
        pass
    batch.create_job(models.BatchJobCreateOptions(
        id=JOB_ID, pool_info=models.BatchPoolInfo(pool_id=POOL_ID)))
    expiry = datetime.now(timezone.utc) + SAS_LIFETIME
    output_sas = generate_container_sas(
        s["STORAGE_ACCOUNT_NAME"], "output", account_key=s["STORAGE_ACCOUNT_KEY"],
        permission=ContainerSasPermissions(write=True, create=True), expiry=expiry)
    output_url = f"{blobs.url.rstrip('/')}/output?{output_sas}"
    tasks = []
    for index, name in enumerate(names):
        sas = generate_blob_sas(s["STORAGE_ACCOUNT_NAME"], "input", name,
                                account_key=s["STORAGE_ACCOUNT_KEY"],
                                permission=BlobSasPermissions(read=True), expiry=expiry)
        input_url = blobs.get_blob_client("input", name).url + "?" + sas
        # Safe local names (in.mp4/out.mp3): the original name only goes in the output blob's path.
        tasks.append(models.BatchTaskCreateOptions(
            id=f"Task{index}",
            command_line="ffmpeg -nostdin -y -loglevel error -i in.mp4 -vn out.mp3",
            resource_files=[models.ResourceFile(http_url=input_url, file_path="in.mp4")],
            output_files=[
                models.OutputFile(
                    file_pattern="out.mp3",
                    destination=models.OutputFileDestination(
                        container=models.OutputFileBlobContainerDestination(
                            container_url=output_url, path=os.path.splitext(name)[0] + ".mp3")),
                    upload_options=models.OutputFileUploadConfiguration(
                        upload_condition=models.OutputFileUploadCondition.TASK_SUCCESS)),
                models.OutputFile(
                    file_pattern="../std*.txt",
                    destination=models.OutputFileDestination(
                        container=models.OutputFileBlobContainerDestination(
                            container_url=output_url, path=f"logs/Task{index}")),
                    upload_options=models.OutputFileUploadConfiguration(
                        upload_condition=models.OutputFileUploadCondition.TASK_COMPLETION)),
            ]))
    batch.create_tasks(JOB_ID, tasks)
    print(f"Added {len(tasks)} tasks to {JOB_ID}")


def wait_for_tasks(batch: BatchClient, timeout: float) -> None:
    deadline, delay = time.monotonic() + timeout, 0.2
    while time.monotonic() < deadline:
        counts = batch.get_job_task_counts(JOB_ID).task_counts
        if counts.active == 0 and counts.running == 0:
            print(f"All tasks done: {counts.succeeded} succeeded, {counts.failed} failed")
            return
        time.sleep(delay)
        delay = min(delay * 1.5, 5)
    sys.exit(f"Tasks still pending after {timeout:.0f} s: {counts.active} active, "
             f"{counts.running} running; see list_tasks({JOB_ID!r})")


def report(batch: BatchClient) -> int:
    failed = 0
    for task in batch.list_tasks(JOB_ID, select=["id", "state", "executionInfo", "nodeInfo"]):
        info = task.execution_info
        ok = info.result == "success" and info.exit_code == 0
        failed += not ok
        run = (info.end_time - info.start_time).total_seconds()
        print(f"  {task.id:8} {'ok ' if ok else 'FAILED'} exit={info.exit_code} {run:5.2f} s")
        if not ok:
            stderr = b"".join(batch.download_task_file(JOB_ID, task.id, "stderr.txt")).decode()
            print("    stderr: " + (stderr.strip() or "(empty)").replace("\n", "\n    "))
    return failed


def download_outputs(blobs: BlobServiceClient, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    container = blobs.get_container_client("output")
    for blob in container.list_blobs():
        if blob.name.endswith(".mp3") and "/" not in blob.name:
            target = folder / blob.name
            with open(target, "wb") as out:
                container.download_blob(blob.name).readinto(out)
            saved.append(target)
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=Path, default=ROOT / "outputs" / "inputs",
                        help="folder of MP4s (five samples are made there if it has none)")
    parser.add_argument("--outputs", type=Path, default=ROOT / "outputs" / "mp3")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--keep-pool", action="store_true")
    args = parser.parse_args()
    s = settings()
    local = s["BATCH_TARGET"] == "local"
    files = sorted(args.inputs.glob("*.mp4")) or make_sample_inputs(args.inputs)
    blobs = BlobServiceClient(s["STORAGE_BLOB_URL"], credential={
        "account_name": s["STORAGE_ACCOUNT_NAME"], "account_key": s["STORAGE_ACCOUNT_KEY"]})
    batch = BatchClient(s["BATCH_ACCOUNT_URL"], AzureNamedKeyCredential(
        s["BATCH_ACCOUNT_NAME"], s["BATCH_ACCOUNT_KEY"]))
    poll = 0.2 if local else 5
    try:
        names = upload_inputs(blobs, files)
        print(f"Uploaded {len(names)} files to the input container")
        create_pool(batch, local, args.nodes)
        wait_for_nodes(batch, 120 if local else 1800)
        add_tasks(batch, blobs, names, s)
        wait_for_tasks(batch, 600 if local else 3600)
        failed = report(batch)
        saved = download_outputs(blobs, args.outputs)
        bad = [p.name for p in saved if not is_valid_mp3(p)]
        print(f"{len(saved)} MP3 files in {args.outputs}" + (f"; not valid: {bad}" if bad else ""))
    finally:
        batch.begin_delete_job(JOB_ID, polling_interval=poll).result() if _exists(
            batch.get_job, JOB_ID) else None
        if not args.keep_pool and _exists(batch.get_pool, POOL_ID):
            batch.begin_delete_pool(POOL_ID, polling_interval=poll).result()
            print(f"Deleted pool {POOL_ID}")
        try:
            blobs.delete_container("input")
        except ResourceNotFoundError:
            pass
    return 1 if failed or bad or len(saved) != len(files) else 0


def _exists(get, ident: str) -> bool:
    try:
        get(ident)
        return True
    except ResourceNotFoundError:
        return False


if __name__ == "__main__":
    sys.exit(main())
