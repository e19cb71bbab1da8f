"""Benchmark 3: 1,000 trivial tasks, added with create_tasks and watched until they complete.

On Azure the monitor should not hammer the service; locally it should not slow the run down.
Three runs, each on a fresh localbatch so that the service's peak memory (VmHWM) is its own:
the kit's monitor (notebook 06: task counts with backoff); the same while 20 other clients poll
list_tasks and get_job_task_counts as fast as they can; and the original sample's approach
(list every task once a second until all are completed). Every request the watcher sends is
counted, with the bytes it gets back.
"""

from __future__ import annotations

import threading
import time

from azure.batch import BatchClient, models

from .common import (
    Counter,
    Row,
    batch_client,
    create_job,
    localbatch,
    median,
    monitor,
    spread,
    start_pool,
)

JOB_ID = "scale"
TARGET_S, TARGET_REQUESTS = 20, 60


def original_sample(batch: BatchClient, job_id: str, timeout: float = 600) -> None:
    """The sample's wait_for_tasks_to_complete: list every task, once a second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = batch.list_tasks(job_id)
        incomplete = [task for task in tasks if task.state != models.BatchTaskState.COMPLETED]
        if not incomplete:
            return
        time.sleep(1)
    raise TimeoutError("tasks still incomplete")


def _poll(endpoints: dict, counter: Counter, stop: threading.Event) -> None:
    """One of the extra clients: list the tasks, read the counts, again, until told to stop."""
    batch = batch_client(endpoints, counter)
    while not stop.is_set():
        list(batch.list_tasks(JOB_ID))
        batch.get_job_task_counts(JOB_ID)


def one_run(count: int, nodes: int, slots: int, watch, pollers: int = 0) -> dict:
    with localbatch() as inst:
        batch = batch_client(inst.endpoints)
        start_pool(batch, nodes, slots)
        create_job(batch, JOB_ID)
        tasks = [models.BatchTaskCreateOptions(id=f"t{i}", command_line="/bin/true")
                 for i in range(count)]
        watcher, others, stop = Counter(), Counter(), threading.Event()
        threads = [threading.Thread(target=_poll, args=(inst.endpoints, others, stop))
                   for _ in range(pollers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        batch.create_tasks(JOB_ID, tasks)
        watch(batch_client(inst.endpoints, watcher), JOB_ID)
        wall = time.perf_counter() - started
        stop.set()
        for thread in threads:
            thread.join()
        counts = batch.get_job_task_counts(JOB_ID).task_counts
        if counts.succeeded != count:
            raise RuntimeError(f"{counts.succeeded} of {count} tasks succeeded")
        return {"wall": wall, "requests": watcher.requests, "kib": watcher.bytes / 1024,
                "rss": inst.peak_rss_mib(), "others": others.requests / wall}


def run(count: int = 1000, nodes: int = 2, slots: int = 8, pollers: int = 20,
        repeats: int = 3) -> list[Row]:
    where = f"{count} tasks, {nodes}×{slots} slots"
    kits = []
    for r in range(repeats):
        kits.append(one_run(count, nodes, slots, monitor))
        print(f"  kit monitor, repeat {r + 1}: {kits[-1]['wall']:.1f} s, "
              f"{kits[-1]['requests']} requests")
    kit = {name: median([k[name] for k in kits]) for name in ("requests", "kib", "rss")}
    walls = [k["wall"] for k in kits]
    kit["wall"] = median(walls)
    busy = one_run(count, nodes, slots, monitor, pollers)
    print(f"  with {pollers} pollers: {busy['wall']:.1f} s, {busy['others']:.0f} requests/s")
    sample = one_run(count, nodes, slots, original_sample)
    print(f"  original sample: {sample['wall']:.1f} s, {sample['requests']} requests")
    return [
        Row(f"{where}: create_tasks + kit monitor, wall", spread(walls),
            f"< {TARGET_S} s", kit["wall"] < TARGET_S),
        Row("… kit monitor: HTTP requests (KiB received), median",
            f"{kit['requests']:.0f} ({kit['kib']:.0f} KiB)", f"< {TARGET_REQUESTS}",
            kit["requests"] < TARGET_REQUESTS),
        Row("… service peak RSS (VmHWM), median", f"{kit['rss']:.0f} MiB"),
        Row(f"… with {pollers} clients polling list_tasks + counts: wall, their polls/s",
            f"{busy['wall']:.1f} s, {busy['others']:.0f}/s"),
        Row("… with them: monitor requests, service peak RSS",
            f"{busy['requests']}, {busy['rss']:.0f} MiB"),
        Row("… original sample (list all tasks every 1 s): wall", f"{sample['wall']:.1f} s"),
        Row("… original sample: HTTP requests (KiB received)",
            f"{sample['requests']} ({sample['kib']:.0f} KiB)"),
        Row("… original sample: service peak RSS", f"{sample['rss']:.0f} MiB"),
    ]
