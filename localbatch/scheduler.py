"""Event-driven scheduling: on every change that frees a slot or adds work, place active tasks.

A job or task whose stored document the scheduler cannot use fails on its own: it is logged and
shown as that job's scheduling error or that task's failure, and every other job keeps running.
The scheduler only places: it writes no document. Each placement is handed to the caller's
`start` (tasks.py, the tasks' owner, moves the task and dispatches it), and the tasks and jobs
that cannot run are handed back to the caller to fail."""

from __future__ import annotations

import logging
from collections.abc import Callable

from . import dependencies, paths, protocol, wire
from .ids import key
from .jobprep import JobPrep
from .registry import Registry
from .runs import RunBook, TaskRef
from .secrecy import frames

log = logging.getLogger(__name__)
READY = ("idle", "running")
# Learn, "Batch status and error codes", task failure codes: TaskSchedulingConstraintFailed is a
# UserError, "Task cannot be scheduled on the pool associated with the job".
TOO_MANY_SLOTS = "TaskSchedulingConstraintFailed"


def _integer(doc: dict, name: str) -> int:
    value = doc.get(name)
    if type(value) is not int:
        raise TypeError(f"{name} is not an integer")
    return value


Start = Callable[[TaskRef, dict, dict, dict, dict], None]
"""start(ref, task, pool, node, spec): run the task on the node (the caller's, who owns tasks)."""


def internal_error(what: str, exc: Exception) -> dict:
    """The error shown for a stored document localbatch could not use (never its values)."""
    return {"category": "servererror", "code": "Unknown",
            "message": f"localbatch could not schedule this {what} "
                       f"({exc.__class__.__name__}); the service log has where it failed."}


class Scheduler:
    def __init__(self, registry: Registry, book: RunBook, prep: JobPrep):
        self.registry, self.book, self.prep = registry, book, prep

    def place(self, start: Start) -> tuple[list[tuple[TaskRef, dict]], list[tuple[dict, Exception]]]:
        """Place as many queued tasks as free slots allow (jobs by priority, then age), each
        through start; return the tasks that cannot run, each with its failureInfo, and the jobs
        that cannot be scheduled, each with what went wrong."""
        failed: list[tuple[TaskRef, dict]] = []
        bad_jobs: list[tuple[dict, Exception]] = []
        ranked = []
        for job in list(self.registry.jobs.values()):
            try:
                if job["state"] == "active":
                    ranked.append(((-_integer(job, "priority"), str(job["creationTime"])), job))
            except Exception as exc:  # noqa: BLE001 (a bad stored job fails alone)
                bad_jobs.append((job, exc))
        for _, job in sorted(ranked, key=lambda pair: pair[0]):
            try:
                self._job(job, start, failed)
            except Exception as exc:  # noqa: BLE001 (as above)
                bad_jobs.append((job, exc))
        return failed, bad_jobs

    def _job(self, job: dict, start: Start, failed: list) -> None:
        job_key = key(job["id"])
        pool = self.registry.pools.get(key(job["poolInfo"]["poolId"]))
        if self.book.has_queued(job_key) and pool is not None and pool["state"] == "active":
            self._fill(job, job_key, pool, start, failed)

    def _fill(self, job: dict, job_key: str, pool: dict, start: Start, failed: list) -> None:
        pool_key = key(pool["id"])
        slots = _integer(pool, "taskSlotsPerNode")
        nodes = [n for n in self.registry.nodes.get(pool_key, {}).values()
                 if n["state"] in READY and n["schedulingState"] == "enabled"
                 and self.prep.eligible(job, pool_key, n)]
        limit = _integer(job, "maxParallelTasks")
        running = self.book.running_in(job_key)
        spread = pool["taskSchedulingPolicy"]["nodeFillType"] == "spread"
        for task_key in self.book.queued(job_key):
            if not nodes or (limit != -1 and running >= limit):
                return
            ref = TaskRef(job_key, task_key)
            tasks = self.registry.tasks[job_key]
            task = tasks[task_key]
            if dependencies.state(task, tasks) != dependencies.SATISFIED:
                continue   # it waits for its parents, or for good (blocked), in the queue
            try:
                need = _integer(task, "requiredSlots")
                if need > slots:   # it could never run: it fails, and the job goes on
                    self.book.dequeue(ref)
                    failed.append((ref, {
                        "category": "usererror", "code": TOO_MANY_SLOTS,
                        "message": f"The task needs {need} slots, but the nodes of pool "
                                   f"{pool['id']} have {slots} (taskSlotsPerNode)."}))
                    continue
                fits = [n for n in nodes if slots - n["runningTaskSlotsCount"] >= need]
                if not fits:
                    return
                node = (min if spread else max)(fits, key=lambda n: n["runningTaskSlotsCount"])
                spec = self._spec(job, task, pool)
            except Exception as exc:  # noqa: BLE001 (a bad stored task fails alone)
                self.book.dequeue(ref)
                log.error("task %r of job %r cannot be scheduled: %s", task.get("id"),
                          job["id"], frames(exc))
                failed.append((ref, internal_error("task", exc)))
                continue
            start(ref, task, pool, node, spec)
            running += 1

    def _spec(self, job: dict, task: dict, pool: dict) -> dict:
        """What the node needs to run the task, computed before anything changes state (and
        with what its end needs checked, so a bad document fails here, not once it ran)."""
        _integer(task["constraints"], "maxTaskRetryCount")
        _integer(task["executionInfo"], "retryCount")
        env = {s["name"]: s.get("value", "") for s in
               job.get("commonEnvironmentSettings", []) + task["environmentSettings"]}
        env.update(AZ_BATCH_JOB_ID=job["id"], AZ_BATCH_TASK_ID=task["id"])
        wall = task["constraints"]["maxWallClockTime"]
        prep = job.get("jobPreparationTask")
        return {"taskDir": paths.task_root(job["id"], task["id"]),
                "jobPrepDir": paths.task_root(job["id"], prep["id"]) if prep else None,
                "commandLine": task["commandLine"],
                "resourceFiles": task["resourceFiles"], "outputFiles": task["outputFiles"],
                "env": env, "admin": protocol.admin(task["userIdentity"], pool),
                "maxWallClockSeconds": None if wall == wire.FOREVER else
                wire.duration_seconds(wall, "maxWallClockTime")}
