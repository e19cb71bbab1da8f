"""Benchmark 2: scheduling latency, from a task's creation to running, and from its exit to completed.

The design promises an event-driven scheduler ("a task starts within milliseconds of a free
slot, not on a polling tick"); this measures it. 200 trivial tasks are added at once to a pool
with a slot for each. Creation to running is the service's own record (creationTime to
executionInfo.startTime). For exit to completed the task writes the time it exits: its command,
`date +%s.%N`, is the last thing the process does, and its stdout.txt is read back afterwards.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from azure.batch import models

from .common import (
    Row,
    batch_client,
    create_job,
    localbatch,
    median,
    monitor,
    percentile,
    seconds_between,
    start_pool,
)

COMMAND = "/bin/bash -c 'date +%s.%N'"
TARGET_MS = 50


def burst(batch, job_id: str, count: int) -> tuple[list[float], list[float]]:
    """Add `count` tasks in one create_tasks call, wait, and return both latencies in ms."""
    create_job(batch, job_id)
    batch.create_tasks(job_id, [models.BatchTaskCreateOptions(id=f"t{i}", command_line=COMMAND)
                                for i in range(count)])
    monitor(batch, job_id)
    return _latencies(batch, job_id)


def one_at_a_time(batch, job_id: str, count: int) -> tuple[list[float], list[float]]:
    """The same, each task added only when the one before completed: no queue, no backlog."""
    create_job(batch, job_id)
    for i in range(count):
        batch.create_task(job_id, models.BatchTaskCreateOptions(id=f"t{i}", command_line=COMMAND))
        while batch.get_task(job_id, f"t{i}", select=["state"]).state != "completed":
            time.sleep(0.005)
    return _latencies(batch, job_id)


def _latencies(batch, job_id: str) -> tuple[list[float], list[float]]:
    to_running, to_completed = [], []
    for task in batch.list_tasks(job_id):
        info = task.execution_info
        if info.result != "success":
            raise RuntimeError(f"task {task.id} failed: {info.failure_info}")
        stdout = b"".join(batch.download_task_file(job_id, task.id, "stdout.txt")).decode()
        exited = datetime.fromtimestamp(float(stdout.strip()), timezone.utc)
        to_running.append(1000 * seconds_between(task.creation_time, info.start_time))
        to_completed.append(1000 * seconds_between(exited, info.end_time))
    batch.begin_delete_job(job_id, polling_interval=0.1).result()
    return to_running, to_completed


def run(count: int = 200, repeats: int = 3, nodes: int = 2, single: int = 20) -> list[Row]:
    """Over https (the default), then over http (`up --http`) for comparison."""
    return [row for scheme in ("https", "http")
            for row in _run(scheme, count, repeats, nodes, single)]


def _run(scheme: str, count: int, repeats: int, nodes: int, single: int) -> list[Row]:
    slots = -(-count // nodes)   # enough slots for every task at once
    runs = []
    with localbatch(scheme=scheme) as inst:
        batch = batch_client(inst.endpoints)
        start_pool(batch, nodes, slots)
        for r in range(repeats):
            runs.append(burst(batch, f"latency-{r}", count))
            print(f"  {scheme} repeat {r + 1}: creation→running p50 "
                  f"{percentile(runs[-1][0], 50):.1f} ms, exit→completed p50 "
                  f"{percentile(runs[-1][1], 50):.1f} ms")
        alone = one_at_a_time(batch, "latency-single", single)
    rows = []
    for index, name in enumerate(("creation → running", "exit → completed")):
        p50 = median([percentile(r[index], 50) for r in runs])
        p95 = median([percentile(r[index], 95) for r in runs])
        rows += [Row(f"{count} tasks at once over {scheme}, {nodes}×{slots} slots: {name}, p50",
                     f"{p50:.1f} ms", f"< {TARGET_MS} ms", p50 < TARGET_MS),
                 Row(f"… {name}, p95 (medians over n={repeats})", f"{p95:.1f} ms"),
                 Row(f"… one task at a time ({single}): {name}, p50 / p95",
                     f"{percentile(alone[index], 50):.1f} / {percentile(alone[index], 95):.1f} ms")]
    return rows
