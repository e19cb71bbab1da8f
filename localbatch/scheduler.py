"""Event-driven scheduling: on every change that frees a slot or adds work, place active tasks.

A job or task whose stored document the scheduler cannot use fails on its own: it is logged and
shown as that job's scheduling error or that task's failure, and every other job keeps running.
The scheduler only places: the tasks that cannot run are handed back to the caller to finish."""

from __future__ import annotations

import logging

from . import paths, states, wire
from .ids import key
from .nodes import NodeManager
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


def _internal_error(what: str, exc: Exception) -> dict:
    """The error shown for a stored document localbatch could not use (never its values)."""
    return {"category": "servererror", "code": "Unknown",
            "message": f"localbatch could not schedule this {what} "
                       f"({exc.__class__.__name__}); the service log has where it failed."}


class Scheduler:
    def __init__(self, registry: Registry, book: RunBook, nodes: NodeManager):
        self.registry, self.book, self.nodes = registry, book, nodes

    def place(self) -> list[tuple[TaskRef, dict]]:
        """Place as many queued tasks as free slots allow (jobs by priority, then age); return
        the tasks that cannot run, each with its failureInfo."""
        failed: list[tuple[TaskRef, dict]] = []
        ranked = []
        for job in list(self.registry.jobs.values()):
            try:
                if job["state"] == "active":
                    ranked.append(((-_integer(job, "priority"), str(job["creationTime"])), job))
            except Exception as exc:  # noqa: BLE001 (a bad stored job fails alone)
                self._job_failed(job, exc)
        for _, job in sorted(ranked, key=lambda pair: pair[0]):
            try:
                self._job(job, failed)
            except Exception as exc:  # noqa: BLE001 (as above)
                self._job_failed(job, exc)
        return failed

    def _job(self, job: dict, failed: list) -> None:
        job_key = key(job["id"])
        pool = self.registry.pools.get(key(job["poolInfo"]["poolId"]))
        if self.book.has_queued(job_key) and pool is not None and pool["state"] == "active":
            self._fill(job, job_key, pool, failed)

    def _job_failed(self, job: dict, exc: Exception) -> None:
        """Log where it failed and show it as the job's scheduling error, once per job."""
        if job.get("_unschedulable"):
            return
        job["_unschedulable"] = True
        log.error("job %r cannot be scheduled: %s", job.get("id"), frames(exc))
        if isinstance(job.get("executionInfo"), dict):
            job["executionInfo"]["schedulingError"] = _internal_error("job", exc)
        if isinstance(job.get("id"), str):
            self.registry.save_job(job)

    def _fill(self, job: dict, job_key: str, pool: dict, failed: list) -> None:
        pool_key = key(pool["id"])
        slots = _integer(pool, "taskSlotsPerNode")
        nodes = [n for n in self.registry.nodes.get(pool_key, {}).values()
                 if n["state"] in READY and n["schedulingState"] == "enabled"]
        limit = _integer(job, "maxParallelTasks")
        running = self.book.running_in(job_key)
        spread = pool["taskSchedulingPolicy"]["nodeFillType"] == "spread"
        for task_key in self.book.queued(job_key):
            if not nodes or (limit != -1 and running >= limit):
                return
            ref = TaskRef(job_key, task_key)
            task = self.registry.tasks[job_key][task_key]
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
                spec = self._spec(job, task)
            except Exception as exc:  # noqa: BLE001 (a bad stored task fails alone)
                self.book.dequeue(ref)
                log.error("task %r of job %r cannot be scheduled: %s", task.get("id"),
                          job["id"], frames(exc))
                failed.append((ref, _internal_error("task", exc)))
                continue
            self._dispatch(ref, task, pool, node, spec)
            running += 1

    def _spec(self, job: dict, task: dict) -> dict:
        """What the node needs to run the task, computed before anything changes state (and
        with what its end needs checked, so a bad document fails here, not once it ran)."""
        _integer(task["constraints"], "maxTaskRetryCount")
        _integer(task["executionInfo"], "retryCount")
        env = {s["name"]: s.get("value", "") for s in
               job.get("commonEnvironmentSettings", []) + task["environmentSettings"]}
        env.update(AZ_BATCH_JOB_ID=job["id"], AZ_BATCH_TASK_ID=task["id"])
        wall = task["constraints"]["maxWallClockTime"]
        return {"taskDir": paths.task_root(job["id"], task["id"]),
                "commandLine": task["commandLine"],
                "resourceFiles": task["resourceFiles"], "outputFiles": task["outputFiles"],
                "env": env,
                "maxWallClockSeconds": None if wall == wire.FOREVER else
                wire.duration_seconds(wall, "maxWallClockTime")}

    def _dispatch(self, ref: TaskRef, task: dict, pool: dict, node: dict, spec: dict) -> None:
        task_root = spec["taskDir"]
        states.move("task", task, "running")
        task["executionInfo"]["startTime"] = task["stateTransitionTime"]
        task["nodeInfo"] = {
            "affinityId": node["affinityId"], "nodeUrl": node["url"], "poolId": pool["id"],
            "nodeId": node["id"],
            "taskRootDirectory": task_root,
            "taskRootDirectoryUrl": f"{node['url']}/files/{task_root}"}
        self.registry.save_task(ref.job, task)
        run = self.book.start(ref, key(pool["id"]), node["id"], task["requiredSlots"])
        self.nodes.dispatch(run, spec)
