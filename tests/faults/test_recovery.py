"""Faults a learner's laptop meets: a node's process killed, Azurite restarted, and the kernel
restarted (or the laptop asleep) in the middle of monitoring."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from azure.batch import BatchClient, models
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

from localbatch.control import down, up
from localbatch.statedir import StateDir
from tests.conftest import (
    alive,
    batch_client,
    delete_pool,
    nodes_ready,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)

ROOT = Path(__file__).resolve().parents[2]


def agent_pid(node_id: str) -> int:
    """The process of one node (a localbatch.node_agent with this --node-id)."""
    for process in psutil.process_iter(["cmdline"]):
        argv = process.info["cmdline"] or []   # None: gone, or not ours to read
        if "localbatch.node_agent" in argv and node_id in argv:
            return process.pid
    raise AssertionError(f"no process for node {node_id}")


def test_a_killed_node_is_replaced_and_its_task_runs_again(batch: BatchClient,
                                                           tmp_path: Path) -> None:
    pool_id, job_id = unique("lost-node"), unique("job")
    batch.create_pool(pool_options(pool_id, 2))
    try:
        wait_for(lambda: nodes_ready(batch, pool_id, 2), what="two idle nodes")
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
        runs = tmp_path / "runs"
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="t", command_line=f"/bin/bash -c 'echo $$ >> {runs}; sleep 3'"))
        wait_for(lambda: runs.exists(), what="the task to start")
        first_node = batch.get_task(job_id, "t").node_info.node_id
        first_pid = int(runs.read_text().split()[0])
        os.kill(agent_pid(first_node), signal.SIGKILL)
        wait_for(lambda: batch.get_node(pool_id, first_node).state == "unusable", 10,
                 "the lost node to show unusable")
        wait_for(lambda: not alive(first_pid), 10, "the lost node's task process to end")
        task = wait_tasks(batch, job_id)["t"]
        assert task.execution_info.result == "success"
        assert task.execution_info.retry_count == 0  # a node recovery is not a retry
        assert len(runs.read_text().split()) == 2
        wait_for(lambda: batch.get_node(pool_id, first_node).state == "idle", 30,
                 "the lost node to come back")
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.1).result()
        delete_pool(batch, pool_id)


def test_blobs_survive_an_azurite_restart(own_state: StateDir) -> None:
    """A stop and start keeps every blob. Azurite writes its blob index every 5 s (LokiJS
    autosave), so a crash loses at most the last 5 s of uploads: one after that survives it."""
    from azure.storage.blob import BlobServiceClient

    endpoints = own_state.endpoints()
    blobs = BlobServiceClient(endpoints["STORAGE_BLOB_URL"], credential={
        "account_name": endpoints["STORAGE_ACCOUNT_NAME"],
        "account_key": endpoints["STORAGE_ACCOUNT_KEY"]})
    blobs.create_container("kept")
    blobs.get_blob_client("kept", "clip.mp4").upload_blob(b"video bytes")
    down(own_state)
    up(own_state)
    assert blobs.get_blob_client("kept", "clip.mp4").download_blob().readall() == b"video bytes"
    blobs.get_blob_client("kept", "later.mp4").upload_blob(b"more bytes")
    time.sleep(10)  # well past the 5 s autosave: this is about a crash, not a timing target
    pid = own_state.pid("azurite")
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), 10, "Azurite to die")
    up(own_state)  # even while the killed process's threads still hold its socket
    assert "successfully listens" in (own_state.logs / "azurite.log").read_text().rsplit(
        "is starting", 1)[1]
    assert own_state.endpoints()["STORAGE_BLOB_URL"] == endpoints["STORAGE_BLOB_URL"]
    assert blobs.get_blob_client("kept", "later.mp4").download_blob().readall() == b"more bytes"


def run_notebook(name: str, timeout: int = 600) -> nbformat.NotebookNode:
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    return notebook


def test_rerunning_the_monitor_after_a_kernel_restart_picks_the_job_up(
        own_state: StateDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool loses its nodes while 06 waits (a laptop asleep); 06's kernel dies on a
    timeout; the nodes come back; 06 run again in a new kernel finds the job where it is."""
    monkeypatch.setenv("LOCALBATCH_HOME", str(own_state.path))
    monkeypatch.setenv("BATCH_NOTEBOOKS_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("BATCH_NOTEBOOKS_ENV_FILE", str(tmp_path / "settings.env"))
    monkeypatch.setenv("BATCH_TARGET", "local")
    batch = batch_client(own_state.endpoints())
    names = [f"0{i}_{n}.ipynb" for i, n in enumerate(
        ["start_here", "authenticate", "upload_inputs", "create_pool", "create_job"])]
    ran = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"), *names,
                          "--out", str(tmp_path / "executed")], capture_output=True, text=True,
                         check=False, timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    batch.begin_resize_pool("LinuxFFmpegPool", models.BatchPoolResizeOptions(
        target_dedicated_nodes=0, target_low_priority_nodes=0), polling_interval=0.1).result()
    wait_for(lambda: not list(batch.list_nodes("LinuxFFmpegPool")), 30, "the nodes to go")
    run_notebook("05_add_tasks.ipynb")
    with pytest.raises(CellTimeoutError):
        run_notebook("06_monitor_tasks.ipynb", timeout=5)
    batch.begin_resize_pool("LinuxFFmpegPool", models.BatchPoolResizeOptions(
        target_dedicated_nodes=0, target_low_priority_nodes=2), polling_interval=0.1).result()
    monitor = run_notebook("06_monitor_tasks.ipynb")
    printed = "".join(o.get("text", "") for c in monitor.cells for o in c.get("outputs", []))
    assert "5 tasks completed: 5 succeeded, 0 failed" in printed
    assert "✓ every task succeeded" in printed
    run_notebook("08_cleanup.ipynb")
