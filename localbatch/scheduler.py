"""Event-driven scheduling: on every change that frees a slot or adds work, place active tasks.

A job or task whose stored document the scheduler cannot use fails on its own: it is logged and
shown as that job's scheduling error or that task's failure, and every other job keeps running."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import states, wire
from .node_agent import frames
from .registry import key
from .tasks import TOO_MANY_SLOTS

if TYPE_CHECKING:
    from .service import Service

log = logging.getLogger(__name__)
READY = ("idle", "running")


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
    def __init__(self, svc: Service):
        self.svc = svc

    def kick(self) -> None:
        """Place as many queued tasks as free slots allow (jobs by priority, then age)."""
        ranked = []
        for job in list(self.svc.registry.jobs.values()):
            try:
                if job["state"] == "active":
                    ranked.append(((-_integer(job, "priority"), str(job["creationTime"])), job))
            except Exception as exc:  # noqa: BLE001 (a bad stored job fails alone)
                self._job_failed(job, exc)
        for _, job in sorted(ranked, key=lambda pair: pair[0]):
            try:
                self._job(job)
            except Exception as exc:  # noqa: BLE001 (as above)
                self._job_failed(job, exc)

    def _job(self, job: dict) -> None:
        reg = self.svc.registry
        job_key = key(job["id"])
        queue = self.svc.tasks.queues.get(job_key)
        pool = reg.pools.get(key(job["poolInfo"]["poolId"]))
        if queue and pool is not None and pool["state"] == "active":
            self._fill(job, job_key, queue, pool)

    def _job_failed(self, job: dict, exc: Exception) -> None:
        """Log where it failed and show it as the job's scheduling error, once per job."""
        if job.get("_unschedulable"):
            return
        job["_unschedulable"] = True
        log.error("job %r cannot be scheduled: %s", job.get("id"), frames(exc))
        if isinstance(job.get("executionInfo"), dict):
            job["executionInfo"]["schedulingError"] = _internal_error("job", exc)
        if isinstance(job.get("id"), str):
            self.svc.registry.save_job(job)

    def _fill(self, job: dict, job_key: str, queue: dict[str, None], pool: dict) -> None:
        pool_key = key(pool["id"])
        slots = _integer(pool, "taskSlotsPerNode")
        nodes = [n for n in self.svc.registry.nodes.get(pool_key, {}).values()
                 if n["state"] in READY and n["schedulingState"] == "enabled"]
        limit = _integer(job, "maxParallelTasks")
        running = sum(1 for c in self.svc.tasks.running if c.startswith(job_key + "/"))
        spread = pool["taskSchedulingPolicy"]["nodeFillType"] == "spread"
        while queue and nodes and (limit == -1 or running < limit):
            task_key = next(iter(queue))
            task = self.svc.registry.tasks[job_key][task_key]
            try:
                need = _integer(task, "requiredSlots")
                if need > slots:   # it could never run: it fails, and the job goes on
                    del queue[task_key]
                    self._fail(job_key, task, {
                        "category": "usererror", "code": TOO_MANY_SLOTS,
                        "message": f"The task needs {need} slots, but the nodes of pool "
                                   f"{pool['id']} have {slots} (taskSlotsPerNode)."})
                    continue
                fits = [n for n in nodes if slots - n["runningTaskSlotsCount"] >= need]
                if not fits:
                    return
                node = (min if spread else max)(fits, key=lambda n: n["runningTaskSlotsCount"])
                spec = self._spec(job, task)
            except Exception as exc:  # noqa: BLE001 (a bad stored task fails alone)
                queue.pop(task_key, None)
                log.error("task %r of job %r cannot be scheduled: %s", task.get("id"),
                          job["id"], frames(exc))
                self._fail(job_key, task, _internal_error("task", exc))
                continue
            del queue[task_key]
            self._dispatch(job, job_key, task, pool, node, spec)
            running += 1

    def _fail(self, job_key: str, task: dict, failure: dict) -> None:
        if task.get("state") == "active":
            self.svc.tasks.finish(job_key, task, None, failure)

    def _spec(self, job: dict, task: dict) -> dict:
        """What the node needs to run the task, computed before anything changes state (and
        with what its end needs checked, so a bad document fails here, not once it ran)."""
        _integer(task["constraints"], "maxTaskRetryCount")
        _integer(task["executionInfo"], "retryCount")
        env = {s["name"]: s.get("value", "") for s in
               job.get("commonEnvironmentSettings", []) + task["environmentSettings"]}
        env.update(AZ_BATCH_JOB_ID=job["id"], AZ_BATCH_TASK_ID=task["id"])
        wall = task["constraints"]["maxWallClockTime"]
        return {"taskDir": f"workitems/{job['id']}/job-1/{task['id']}",
                "commandLine": task["commandLine"],
                "resourceFiles": task["resourceFiles"], "outputFiles": task["outputFiles"],
                "env": env,
                "maxWallClockSeconds": None if wall == wire.FOREVER else
                wire.duration_seconds(wall, "maxWallClockTime")}

    def _dispatch(self, job: dict, job_key: str, task: dict, pool: dict, node: dict,
                  spec: dict) -> None:
        svc = self.svc
        pool_key = key(pool["id"])
        task_root = spec["taskDir"]
        states.move("task", task, "running")
        task["executionInfo"]["startTime"] = task["stateTransitionTime"]
        task["nodeInfo"] = {
            "affinityId": node["affinityId"], "nodeUrl": node["url"], "poolId": pool["id"],
            "nodeId": node["id"],
            "taskRootDirectory": task_root,
            "taskRootDirectoryUrl": f"{node['url']}/files/{task_root}"}
        svc.registry.save_task(job_key, task)
        run = svc.tasks.start_run(f"{job_key}/{key(task['id'])}", pool_key, node["id"],
                                  task["requiredSlots"])
        svc.node_manager.send(pool_key, node["id"], {"op": "run", "key": run.key, "spec": spec})
