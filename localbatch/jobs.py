"""Jobs: create, read, update, terminate and delete; a job's tasks run on its pool."""

from __future__ import annotations

import asyncio
import shutil

from . import errors, jobprep, states, validate, wire
from .background import Background
from .ids import key
from .joblife import JobLife
from .jobprep import JobPrep
from .paths import Paths
from .registry import Registry
from .tasks import Tasks

UNSUPPORTED = ("jobManagerTask", "networkConfiguration")


class Jobs:
    def __init__(self, registry: Registry, life: JobLife, tasks: Tasks, prep: JobPrep,
                 paths: Paths, background: Background, base_url: str):
        self.registry, self.life, self.tasks, self.prep = registry, life, tasks, prep
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
        preparation = jobprep.preparation_task(body.get("jobPreparationTask"))
        release = jobprep.release_task(body.get("jobReleaseTask"), preparation)
        if key(job_id) in self.registry.jobs:
            raise errors.JobExists()
        stamp = wire.iso(wire.now())
        job = {
            "id": job_id, "url": f"{self.base_url}/jobs/{job_id}",
            "creationTime": stamp, "state": states.FIRST["job"], "stateTransitionTime": stamp,
            "priority": body.get("priority", 0),
            "maxParallelTasks": body.get("maxParallelTasks", -1),
            "allowTaskPreemption": body.get("allowTaskPreemption", False),
            "usesTaskDependencies": bool(body.get("usesTaskDependencies", False)),
            "constraints": {
                "maxWallClockTime": constraints.get("maxWallClockTime") or wire.FOREVER,
                "maxTaskRetryCount": constraints.get("maxTaskRetryCount", 0)},
            "poolInfo": {"poolId": pool_info["poolId"]},
            "executionInfo": {"startTime": stamp, "poolId": pool_info["poolId"]},
            "onAllTasksComplete": validate.enum(body.get("onAllTasksComplete"), "noaction"),
            "onTaskFailure": validate.enum(body.get("onTaskFailure"), "noaction"),
        }
        for name, value in (("jobPreparationTask", preparation), ("jobReleaseTask", release),
                            *((n, body.get(n)) for n in ("displayName", "metadata",
                                                         "commonEnvironmentSettings"))):
            if value:
                job[name] = value
        self.registry.touch(job)
        self.registry.save_job(job)
        return job

    def update(self, job_id: str, body: dict, replace: bool) -> dict:
        """Update Job (PATCH: what the body gives changes) or Replace Job (PUT: what it leaves
        out goes back to its default), with the spec's rules (BatchJobUpdateOptions):
        onAllTasksComplete may go from noaction to terminatejob, never back (400 "invalid
        property value"); poolInfo may change "only when the Job is disabled", and localbatch
        has no job disable, so a poolInfo naming another pool is refused (409, not documented:
        the job is never disabled here). Afterwards a job set to terminatejob whose tasks are
        all done completes at once."""
        job = self.get(job_id)
        if job["state"] in ("deleting", "terminating", "completed"):
            raise {"deleting": errors.JobBeingDeleted, "terminating": errors.JobBeingTerminated,
                   "completed": errors.JobCompleted}[job["state"]]()
        validate.unsupported(body, ("networkConfiguration",))
        pool_id = (body.get("poolInfo") or {}).get("poolId")
        if pool_id is not None and key(pool_id) != key(job["poolInfo"]["poolId"]):
            raise errors.JobNotDisabled()
        mode = body.get("onAllTasksComplete")
        if mode is not None:
            mode = validate.enum(mode, "noaction")
            if job["onAllTasksComplete"] == "terminatejob" and mode == "noaction":
                raise validate.invalid("onAllTasksComplete", mode, "once terminatejob, a job "
                                       "cannot go back to noaction")
        defaults = {"priority": 0, "maxParallelTasks": -1, "allowTaskPreemption": False}
        for name, default in defaults.items():
            if body.get(name) is not None:
                job[name] = body[name]
            elif replace:
                job[name] = default
        constraints = body.get("constraints")
        if constraints is not None or replace:
            constraints = constraints or {}
            job["constraints"] = {
                "maxWallClockTime": constraints.get("maxWallClockTime") or wire.FOREVER,
                "maxTaskRetryCount": constraints.get("maxTaskRetryCount", 0)}
        if mode is not None:
            job["onAllTasksComplete"] = mode
        if body.get("metadata") is not None:
            if body["metadata"]:
                job["metadata"] = body["metadata"]
            else:
                job.pop("metadata", None)
        elif replace:
            job.pop("metadata", None)
        self.registry.touch(job)
        self.registry.save_job(job)
        self.life.check_all_done(key(job_id))
        self.tasks.schedule()   # a new priority or parallel limit may let work run
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

    def preparation_status(self, job_id: str) -> list[tuple[str, dict]]:
        """The job's preparation and release task status per node, for a list; the spec's 409
        JobPreparationTaskNotSpecified for a job that has neither."""
        job = self.get(job_id)
        if not job.get("jobPreparationTask"):
            raise errors.JobPreparationTaskNotSpecified()
        return sorted((node_id, {k: v for k, v in status.items() if k != "bootTime"})
                      for node_id, status in self.prep.statuses(key(job_id)).items())

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if job["state"] == "deleting":
            raise errors.JobBeingDeleted()
        states.move("job", job, "deleting")
        self.registry.touch(job)
        self.registry.save_job(job)
        self.background.spawn(self._reclaim(key(job_id)))

    async def _reclaim(self, job_key: str) -> None:
        """Its tasks killed, its release tasks run (the spec: Delete Job runs them too), then
        the job and its folders go."""
        await self.tasks.kill_running(job_key)
        job = self.registry.jobs[job_key]
        deadline = asyncio.get_running_loop().time() + jobprep.RELEASE_LONGEST
        while self.prep.releasing(job) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        job_id = job["id"]
        self.prep.forget_job(job_key)
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
