"""What the benchmarks share: a localbatch of their own, clients that count their requests,
pools, the kit's monitor loop (notebook 06), and the statistics and table rows they report."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil  # processes: CPU times, children, memory
from azure.batch import BatchClient, models
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import BlobServiceClient

from localbatch.control import down, trust_variables, up
from localbatch.statedir import StateDir
from tests.pools import install_ffmpeg, tutorial_pool

POOL_ID = "BenchPool"


@dataclass
class Row:
    """One line of the results table; `met` is None where there is no target."""

    figure: str
    value: str
    target: str = ""
    met: bool | None = None


@dataclass
class Instance:
    state: StateDir
    endpoints: dict[str, str]

    def service_pid(self) -> int:
        pid = self.state.pid("service")
        assert pid is not None, "the localbatch service is not running"
        return pid

    def peak_rss_mib(self) -> float:
        """The service process's peak resident memory (VmHWM), in MiB."""
        status = Path(f"/proc/{self.service_pid()}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


@contextmanager
def localbatch(max_nodes: int = 8, scheme: str = "https") -> Iterator[Instance]:
    """A fresh localbatch in a temp folder (never the learner's .localbatch), removed after;
    this process trusts its CA meanwhile, as a shell does after `localbatch env`."""
    folder = Path(tempfile.mkdtemp(prefix="bench-localbatch-"))
    state = StateDir(folder)
    before = dict(os.environ)
    os.environ["LOCALBATCH_MAX_NODES"] = str(max_nodes)   # up() passes our environment on
    try:
        endpoints = up(state, scheme)
        os.environ.update(trust_variables(state, dict(os.environ)))
        yield Instance(state, endpoints)
    finally:
        down(state)
        os.environ.clear()
        os.environ.update(before)
        shutil.rmtree(folder, ignore_errors=True)


class Counter:
    """Counts the HTTP requests a client sends and the bytes it receives (a raw_response_hook)."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        self._lock = threading.Lock()

    def __call__(self, response) -> None:
        size = int(response.http_response.headers.get("Content-Length") or 0)
        with self._lock:
            self.requests += 1
            self.bytes += size


def batch_client(endpoints: dict[str, str], counter: Counter | None = None) -> BatchClient:
    """The notebooks' client (shared key), optionally counting every request it sends."""
    extra = {"raw_response_hook": counter} if counter else {}
    return BatchClient(endpoints["BATCH_ACCOUNT_URL"], AzureNamedKeyCredential(
        endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_KEY"]), **extra)


def blob_client(endpoints: dict[str, str]) -> BlobServiceClient:
    return BlobServiceClient(endpoints["STORAGE_BLOB_URL"], credential={
        "account_name": endpoints["STORAGE_ACCOUNT_NAME"],
        "account_key": endpoints["STORAGE_ACCOUNT_KEY"]})


def start_pool(batch: BatchClient, nodes: int, slots: int = 1, timeout: float = 120) -> float:
    """Create the pool, with notebook 03's start task (a node has no ffmpeg until it runs), and
    wait until every node is idle; return the seconds."""
    started = time.perf_counter()
    batch.create_pool(tutorial_pool(POOL_ID, nodes, slots, install_ffmpeg()))
    deadline = started + timeout
    while True:
        states = [n.state for n in batch.list_nodes(POOL_ID)]
        if len(states) == nodes and all(s in ("idle", "running") for s in states):
            return time.perf_counter() - started
        if time.perf_counter() > deadline:
            raise TimeoutError(f"pool nodes still {states} after {timeout} s")
        time.sleep(0.05)


def delete_pool(batch: BatchClient) -> None:
    batch.begin_delete_pool(POOL_ID, polling_interval=0.1).result()


def create_job(batch: BatchClient, job_id: str) -> None:
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=POOL_ID)))


def monitor(batch: BatchClient, job_id: str, timeout: float = 600, cap: float = 0.25) -> None:
    """Notebook 06's wait, as the kit teaches it: task counts, backing off from 0.2 s to `cap`."""
    deadline, pause = time.monotonic() + timeout, 0.2
    counts = batch.get_job_task_counts(job_id).task_counts
    while counts.active or counts.running:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{counts.active} tasks active, {counts.running} running")
        time.sleep(pause)
        pause = min(pause * 1.5, cap)
        counts = batch.get_job_task_counts(job_id).task_counts


def cpu_seconds(pid: int) -> tuple[float, float]:
    """A process's own CPU time, and that of the children it has waited for, in seconds."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system, times.children_user + times.children_system


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.NoSuchProcess:
        return []   # it ended while we looked


def seconds_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], unit: str = "s", digits: int = 1) -> str:
    """A median with its range when there were repeats: '12.3 s (11.9–13.0, n=3)'."""
    mid = f"{median(values):.{digits}f} {unit}".rstrip()
    if len(values) < 2:
        return mid
    return f"{mid} ({min(values):.{digits}f}–{max(values):.{digits}f}, n={len(values)})"
