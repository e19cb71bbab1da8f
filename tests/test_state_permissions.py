"""The state folder holds keys, SAS URLs and the learner's blobs: it is the owner's only, on a
shared workshop server too."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from azure.batch import models
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions

from localbatch.control import down, up
from localbatch.statedir import StateDir
from tests.conftest import (
    batch_client,
    container_url,
    nodes_ready,
    output_file,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)


def modes(root: Path) -> dict[str, int]:
    """Every folder's and file's permission bits under root (and root's), links left out."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for folder, subfolders, files in os.walk(root):
        for name in [*subfolders, *files]:
            path = Path(folder, name)
            if not path.is_symlink():
                found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def shared(found: dict[str, int]) -> dict[str, str]:
    return {path: oct(mode) for path, mode in found.items() if mode & 0o077}


def test_everything_a_job_leaves_in_the_state_folder_is_owner_only(own_state: StateDir) -> None:
    """After a task that downloaded nothing but uploaded an output: the folder, the SQLite
    database, Azurite's files, the logs, the node's and the task's files."""
    endpoints = own_state.endpoints()
    batch = batch_client(endpoints)
    blobs = BlobServiceClient(endpoints["STORAGE_BLOB_URL"], credential={
        "account_name": endpoints["STORAGE_ACCOUNT_NAME"],
        "account_key": endpoints["STORAGE_ACCOUNT_KEY"]})
    blobs.create_container("out")
    url = container_url(blobs, endpoints, "out", ContainerSasPermissions(write=True))
    pool_id, job_id = unique("pool"), unique("job")
    batch.create_pool(pool_options(pool_id, 1))
    wait_for(lambda: nodes_ready(batch, pool_id, 1), what="an idle node")
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    batch.create_task(job_id, models.BatchTaskCreateOptions(
        id="t", command_line="/bin/bash -c 'echo secret > out.txt'",
        output_files=[output_file("out.txt", url, "tasksuccess")]))
    assert wait_tasks(batch, job_id)["t"].execution_info.result == "success"
    found = modes(own_state.path)
    assert found["."] == 0o700
    for name in ("batch.sqlite", "keys.json", "ports.json", "logs/service.log",
                 "logs/azurite.log"):
        assert found[name] == 0o600, name
    assert any(p.startswith("azurite/") and mode == 0o600 for p, mode in found.items())
    assert any(p.startswith("logs/node-") for p in found)
    assert any(p.endswith("/wd/out.txt") for p in found)
    assert shared(found) == {}


def test_an_existing_open_folder_is_tightened_at_up(tmp_path: Path) -> None:
    """A folder an older localbatch left 0755 with 0644 files; a link in it to a file outside
    is left alone, and so is that file."""
    root = tmp_path / "state"
    (root / "azurite").mkdir(parents=True)
    (root / "azurite" / "__blobstorage__").write_bytes(b"a learner's video")
    (root / "batch.sqlite").write_bytes(b"")
    (root / "run.sh").write_text("#!/bin/sh\n")
    outside = tmp_path / "ffmpeg"
    outside.write_bytes(b"")
    (root / "link").symlink_to(outside)
    for path, mode in ((root, 0o755), (root / "azurite", 0o775),
                       (root / "azurite" / "__blobstorage__", 0o644),
                       (root / "batch.sqlite", 0o666), (root / "run.sh", 0o755),
                       (outside, 0o644)):
        path.chmod(mode)
    state = StateDir(root)
    try:
        up(state)
    finally:
        down(state)
    found = modes(root)
    assert shared(found) == {}
    assert (found["."], found["azurite"], found["azurite/__blobstorage__"],
            found["batch.sqlite"], found["run.sh"]) == (0o700, 0o700, 0o600, 0o600, 0o700)
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
