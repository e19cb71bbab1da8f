"""Event-driven scheduling: on every change that frees a slot or adds work, place active tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import states, wire
from .registry import key

if TYPE_CHECKING:
    from .service import Service

READY = ("idle", "running")


class Scheduler:
    def __init__(self, svc: Service):
        self.svc = svc

    def kick(self) -> None:
        """Place as many queued tasks as free slots allow (jobs by priority, then age)."""
        reg = self.svc.registry
        jobs = sorted((j for j in reg.jobs.values() if j["state"] == "active"),
                      key=lambda j: (-j["priority"], j["creationTime"]))
        for job in jobs:
            job_key = key(job["id"])
            queue = self.svc.tasks.queues.get(job_key)
            pool = reg.pools.get(key(job["poolInfo"]["poolId"]))
            if not queue or pool is None or pool["state"] != "active":
                continue
            self._fill(job, job_key, queue, pool)

    def _fill(self, job: dict, job_key: str, queue: dict[str, None], pool: dict) -> None:
        pool_key = key(pool["id"])
        slots = pool["taskSlotsPerNode"]
        nodes = [n for n in self.svc.registry.nodes.get(pool_key, {}).values()
                 if n["state"] in READY and n["schedulingState"] == "enabled"]
        limit = job["maxParallelTasks"]
        running = sum(1 for c in self.svc.tasks.running if c.startswith(job_key + "/"))
        spread = pool["taskSchedulingPolicy"]["nodeFillType"] == "spread"
        while queue and nodes and (limit == -1 or running < limit):
            task_key = next(iter(queue))
            task = self.svc.registry.tasks[job_key][task_key]
            need = task["requiredSlots"]
            fits = [n for n in nodes if slots - n["runningTaskSlotsCount"] >= need]
            if not fits:
                return
            node = (min if spread else max)(fits, key=lambda n: n["runningTaskSlotsCount"])
            del queue[task_key]
            self._dispatch(job, job_key, task, pool, node)
            running += 1

    def _dispatch(self, job: dict, job_key: str, task: dict, pool: dict, node: dict) -> None:
        svc = self.svc
        pool_key = key(pool["id"])
        task_root = f"workitems/{job['id']}/job-1/{task['id']}"
        states.move("task", task, "running")
        task["executionInfo"]["startTime"] = task["stateTransitionTime"]
        task["nodeInfo"] = {
            "affinityId": node["affinityId"], "nodeUrl": node["url"], "poolId": pool["id"],
            "nodeId": node["id"],
            "taskRootDirectory": task_root,
            "taskRootDirectoryUrl": f"{node['url']}/files/{task_root}"}
        svc.registry.save_task(job_key, task)
        node["runningTasksCount"] += 1
        node["runningTaskSlotsCount"] += task["requiredSlots"]
        states.move("node", node, "running")
        svc.registry.save_node(pool_key, node)
        compound = f"{job_key}/{key(task['id'])}"
        svc.tasks.running[compound] = (pool_key, node["id"])
        env = {s["name"]: s.get("value", "") for s in
               job.get("commonEnvironmentSettings", []) + task["environmentSettings"]}
        env.update(AZ_BATCH_JOB_ID=job["id"], AZ_BATCH_TASK_ID=task["id"])
        wall = task["constraints"]["maxWallClockTime"]
        svc.node_manager.send(pool_key, node["id"], {"op": "run", "key": compound, "spec": {
            "taskDir": task_root, "commandLine": task["commandLine"],
            "resourceFiles": task["resourceFiles"], "outputFiles": task["outputFiles"],
            "env": env,
            "maxWallClockSeconds": None if wall == wire.FOREVER else
            wire.duration_seconds(wall, "maxWallClockTime")}})
