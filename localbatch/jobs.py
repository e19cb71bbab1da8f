"""Jobs: create, read, terminate and delete; a job's tasks run on its pool."""

from __future__ import annotations

import asyncio
import shutil

from . import errors, states, validate, wire
from .background import Background
from .ids import key
from .joblife import JobLife
from .paths import Paths
from .registry import Registry
from .tasks import Tasks

UNSUPPORTED = ("jobManagerTask", "jobPreparationTask", "jobReleaseTask", "networkConfiguration",
               "usesTaskDependencies")


class Jobs:
    def __init__(self, registry: Registry, life: JobLife, tasks: Tasks, paths: Paths,
                 background: Background, base_url: str):
        self.registry, self.life, self.tasks = registry, life, tasks
        self.paths, self.background, self.base_url = paths, background, base_url

    def get(self, job_id: str) -> dict:
        return self.life.get(job_id)

    def listed(self) -> list[tuple[str, dict]]:
        return sorted(self.registry.jobs.items())

    def create(self, body: dict) -> dict:
        """A new job from a body the schema has checked (BatchJobCreateOptions)."""
        job_id = validate.ident(body["id"])
        validate.unsupported(body, UNSUPPORTED)
        pool_info = body["poolInfo"]
        if pool_info.get("autoPoolSpecification"):
            raise validate.invalid("poolInfo.autoPoolSpecification", "(set)",
                                   "localbatch does not emulate auto pools: create a pool first.")
        # Required here, not in the schema: poolId is optional there beside an auto pool.
        validate.require(pool_info, "poolId", "poolInfo.")
        constraints = body.get("constraints") or {}
        if key(job_id) in self.registry.jobs:
            raise errors.JobExists()
        stamp = wire.iso(wire.now())
        job = {
            "id": job_id, "url": f"{self.base_url}/jobs/{job_id}",
            "creationTime": stamp, "state": states.FIRST["job"], "stateTransitionTime": stamp,
            "priority": body.get("priority", 0),
            "maxParallelTasks": body.get("maxParallelTasks", -1),
            "allowTaskPreemption": body.get("allowTaskPreemption", False),
            "usesTaskDependencies": False,
            "constraints": {
                "maxWallClockTime": constraints.get("maxWallClockTime") or wire.FOREVER,
                "maxTaskRetryCount": constraints.get("maxTaskRetryCount", 0)},
            "poolInfo": {"poolId": pool_info["poolId"]},
            "executionInfo": {"startTime": stamp, "poolId": pool_info["poolId"]},
            "onAllTasksComplete": validate.enum(body.get("onAllTasksComplete"), "noaction"),
            "onTaskFailure": validate.enum(body.get("onTaskFailure"), "noaction"),
        }
        for name in ("displayName", "metadata", "commonEnvironmentSettings"):
            if body.get(name):
                job[name] = body[name]
        self.registry.touch(job)
        self.registry.save_job(job)
        return job

    def terminate(self, job_id: str, reason: str = "UserTerminate") -> None:
        """Running tasks are ended; tasks not started stay active and never run."""
        job = self.get(job_id)
        if job["state"] == "deleting":
            raise errors.JobBeingDeleted()
        if job["state"] == "completed":
            raise errors.JobCompleted()
        states.move("job", job, "terminating")
        self.registry.save_job_side(key(job_id), terminateReason=reason)
        self.registry.touch(job)
        self.registry.save_job(job)
        self.tasks.end_running(key(job_id))
        self.life.check_terminated(key(job_id))

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if job["state"] == "deleting":
            raise errors.JobBeingDeleted()
        states.move("job", job, "deleting")
        self.registry.touch(job)
        self.registry.save_job(job)
        self.background.spawn(self._reclaim(key(job_id)))

    async def _reclaim(self, job_key: str) -> None:
        await self.tasks.kill_running(job_key)
        job_id = self.registry.jobs[job_key]["id"]
        self.registry.drop_job(job_key)
        for folder in self.paths.job_folders(job_id, self.registry.nodes):
            # off the event loop: thousands of task folders take a while
            await asyncio.to_thread(shutil.rmtree, folder, True)

    def recover(self, job_key: str) -> None:
        """After a restart: a deletion under way finishes, the job's tasks queue again."""
        if self.registry.jobs[job_key]["state"] == "deleting":
            self.registry.drop_job(job_key)
        else:
            self.tasks.recover_job(job_key)
