"""Jobs: create, read, terminate and delete; a job's tasks run on its pool."""

from __future__ import annotations

import asyncio
import shutil
from typing import TYPE_CHECKING

from . import errors, states, validate, wire
from .registry import key

if TYPE_CHECKING:
    from .service import Service

UNSUPPORTED = ("jobManagerTask", "jobPreparationTask", "jobReleaseTask", "networkConfiguration",
               "usesTaskDependencies")


class Jobs:
    def __init__(self, svc: Service):
        self.svc = svc

    def get(self, job_id: str) -> dict:
        job = self.svc.registry.jobs.get(key(job_id))
        if job is None:
            raise errors.JobNotFound()
        return job

    def create(self, body: dict) -> dict:
        job_id = validate.ident(body)
        validate.unsupported(body, UNSUPPORTED)
        pool_info = validate.require(body, "poolInfo")
        if pool_info.get("autoPoolSpecification"):
            raise validate.invalid("poolInfo.autoPoolSpecification", "(set)",
                                   "localbatch does not emulate auto pools: create a pool first.")
        validate.require(pool_info, "poolId", "poolInfo.")
        constraints = body.get("constraints") or {}
        if key(job_id) in self.svc.registry.jobs:
            raise errors.JobExists()
        stamp = wire.iso(wire.now())
        job = {
            "id": job_id, "url": f"{self.svc.base_url}/jobs/{job_id}",
            "creationTime": stamp, "state": "active", "stateTransitionTime": stamp,
            "priority": body.get("priority", 0),
            "maxParallelTasks": body.get("maxParallelTasks", -1),
            "allowTaskPreemption": bool(body.get("allowTaskPreemption", False)),
            "usesTaskDependencies": False,
            "constraints": {
                "maxWallClockTime": validate.duration(constraints.get("maxWallClockTime"),
                                                      "constraints.maxWallClockTime", wire.FOREVER),
                "maxTaskRetryCount": validate.count(constraints, "maxTaskRetryCount", 0,
                                                    minimum=-1)},
            "poolInfo": {"poolId": pool_info["poolId"]},
            "executionInfo": {"startTime": stamp, "poolId": pool_info["poolId"]},
            "onAllTasksComplete": validate.enum(body.get("onAllTasksComplete"),
                                                ("noaction", "terminatejob"),
                                                "onAllTasksComplete", "noaction"),
            "onTaskFailure": validate.enum(body.get("onTaskFailure"),
                                           ("noaction", "performexitoptionsjobaction"),
                                           "onTaskFailure", "noaction"),
        }
        for name in ("displayName", "metadata", "commonEnvironmentSettings"):
            if body.get(name):
                job[name] = body[name]
        validate.environment(job.get("commonEnvironmentSettings"), "commonEnvironmentSettings")
        self.svc.registry.touch(job)
        self.svc.registry.save_job(job)
        return job

    def terminate(self, job_id: str, reason: str = "UserTerminate") -> None:
        """Running tasks are ended; tasks not started stay active and never run."""
        job = self.get(job_id)
        if job["state"] == "deleting":
            raise errors.JobBeingDeleted()
        if job["state"] == "completed":
            raise errors.JobCompleted()
        states.move("job", job, "terminating")
        job["_terminateReason"] = reason
        self.svc.registry.touch(job)
        self.svc.registry.save_job(job)
        self.svc.tasks.end_running(key(job_id))
        self.check_terminated(key(job_id))

    def check_terminated(self, job_key: str) -> None:
        """A terminating job completes once none of its tasks is running any more."""
        job = self.svc.registry.jobs.get(job_key)
        if job is None or job["state"] != "terminating":
            return
        if not any(c.startswith(job_key + "/") for c in self.svc.tasks.running):
            self.complete(job, job.pop("_terminateReason", "UserTerminate"))

    def complete(self, job: dict, reason: str) -> None:
        states.move("job", job, "completed")
        job["executionInfo"].update(endTime=job["stateTransitionTime"], terminateReason=reason)
        self.svc.registry.save_job(job)

    def check_all_done(self, job_key: str) -> None:
        """onAllTasksComplete=terminatejob: the job completes when its last task does."""
        job = self.svc.registry.jobs.get(job_key)
        if job is None or job["state"] != "active" or job["onAllTasksComplete"] != "terminatejob":
            return
        tasks = self.svc.registry.tasks.get(job_key, {}).values()
        if tasks and all(t["state"] == "completed" for t in tasks):
            self.complete(job, "AllTasksComplete")

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if job["state"] == "deleting":
            raise errors.JobBeingDeleted()
        states.move("job", job, "deleting")
        self.svc.registry.touch(job)
        self.svc.registry.save_job(job)
        self.svc.spawn(self._reclaim(key(job_id)))

    async def _reclaim(self, job_key: str) -> None:
        await self.svc.tasks.kill_running(job_key)
        job_id = self.svc.registry.jobs[job_key]["id"]
        self.svc.registry.drop_job(job_key)
        folders = [self.svc.node_manager.root(pool_key, node_id) / "workitems" / job_id
                   for pool_key, nodes in self.svc.registry.nodes.items() for node_id in nodes]
        for folder in folders:  # off the event loop: thousands of task folders take a while
            await asyncio.to_thread(shutil.rmtree, folder, True)
