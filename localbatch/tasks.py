"""Tasks: add (one or a collection), read, terminate, delete, and what happens when one ends."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import errors, states, validate, wire
from .node_agent import carries
from .registry import key

if TYPE_CHECKING:
    from .service import Service

MAX_COLLECTION = 100
UNSUPPORTED = ("multiInstanceSettings", "dependsOn", "containerSettings",
               "applicationPackageReferences", "exitConditions", "affinityInfo")
ENDED_BY_USER = {"category": "usererror", "code": "TaskEnded",
                 "message": "The task was terminated before it completed."}
# Learn, "Batch status and error codes", task failure codes: TaskSchedulingConstraintFailed is a
# UserError, "Task cannot be scheduled on the pool associated with the job".
TOO_MANY_SLOTS = "TaskSchedulingConstraintFailed"


@dataclass(eq=False)
class Run:
    """One dispatch of a task to a node. It holds its slots there until that node reports its
    end (or is gone), so a task deleted or requeued meanwhile cannot leak or double-free them."""
    key: str        # "job/task/n": the name the node knows this run by
    compound: str   # "job/task"
    pool_key: str
    node_id: str
    slots: int


def is_task_process(pid: int, state_dir: Path) -> bool:
    """Whether pid is (still) a task of this localbatch: its environment names our node root."""
    return carries(pid, f"AZ_BATCH_NODE_ROOT_DIR={state_dir}", exact=False)


def retries_left(task: dict) -> bool:
    retries = task["constraints"]["maxTaskRetryCount"]
    return retries == -1 or task["executionInfo"]["retryCount"] < retries


class Tasks:
    def __init__(self, svc: Service):
        self.svc = svc
        self.queues: dict[str, dict[str, None]] = {}   # job key -> active task keys, FIFO
        self.running: dict[str, Run] = {}   # "job/task" -> its current run
        self.runs: dict[str, Run] = {}      # run key -> every run still on a node
        self.ending: dict[str, dict] = {}   # run key -> failureInfo to record when it ends
        self._serial = itertools.count(1)

    def get(self, job_id: str, task_id: str) -> dict:
        tasks = self.svc.registry.tasks.get(key(job_id))
        if tasks is None:
            raise errors.JobNotFound()
        task = tasks.get(key(task_id))
        if task is None:
            raise errors.TaskNotFound()
        return task

    def _open_job(self, job_id: str) -> dict:
        job = self.svc.jobs.get(job_id)
        if job["state"] == "deleting":
            raise errors.JobBeingDeleted()
        if job["state"] == "terminating":
            raise errors.JobBeingTerminated()
        if job["state"] == "completed":
            raise errors.JobCompleted()
        return job

    def build(self, job: dict, body: dict) -> dict:
        """A new task document from a request body, or the service's 400 naming the property."""
        if not isinstance(body, dict):
            raise errors.InvalidRequestBody()
        task_id = validate.ident(body)
        command_line = validate.require(body, "commandLine")
        validate.unsupported(body, UNSUPPORTED)
        constraints = body.get("constraints") or {}
        stamp = wire.iso(wire.now())
        task = {
            "id": task_id, "url": f"{job['url']}/tasks/{task_id}",
            "creationTime": stamp, "state": "active", "stateTransitionTime": stamp,
            "commandLine": command_line,
            "resourceFiles": validate.resource_files(body.get("resourceFiles")),
            "outputFiles": validate.output_files(body.get("outputFiles")),
            "environmentSettings": validate.environment(body.get("environmentSettings"),
                                                        "environmentSettings"),
            "constraints": {
                "maxWallClockTime": validate.duration(
                    constraints.get("maxWallClockTime"), "constraints.maxWallClockTime",
                    job["constraints"]["maxWallClockTime"]),
                "retentionTime": validate.duration(constraints.get("retentionTime"),
                                                   "constraints.retentionTime", "P7D"),
                "maxTaskRetryCount": validate.count(
                    constraints, "maxTaskRetryCount", job["constraints"]["maxTaskRetryCount"],
                    minimum=-1)},
            "requiredSlots": validate.count(body, "requiredSlots", 1, minimum=1),
            "userIdentity": validate.user_identity(body.get("userIdentity")),
            "executionInfo": {"retryCount": 0, "requeueCount": 0},
        }
        if body.get("displayName"):
            task["displayName"] = body["displayName"]
        self.svc.registry.touch(task)
        return task

    def _add(self, job: dict, task: dict) -> None:
        job_key = key(job["id"])
        self.svc.registry.save_task(job_key, task)
        self.queues.setdefault(job_key, {})[key(task["id"])] = None

    def create(self, job_id: str, body: dict) -> dict:
        job = self._open_job(job_id)
        task = self.build(job, body)
        if key(task["id"]) in self.svc.registry.tasks[key(job["id"])]:
            raise errors.TaskExists()
        self._add(job, task)
        self.svc.scheduler.kick()
        return task

    def create_collection(self, job_id: str, body: dict, request_id: str = "") -> list[dict]:
        job = self._open_job(job_id)
        values = body.get("value") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise errors.MissingRequiredProperty(values={"PropertyName": "value"})
        if len(values) > MAX_COLLECTION:
            raise errors.RequestBodyTooLarge(values={
                "MaxTaskCount": str(MAX_COLLECTION), "ActualTaskCount": str(len(values))})
        existing = self.svc.registry.tasks[key(job["id"])]
        results = [self._collection_item(job, item, existing, request_id) for item in values]
        self.svc.scheduler.kick()
        return results

    def _collection_item(self, job: dict, item: dict, existing: dict, request_id: str) -> dict:
        task_id = item.get("id") if isinstance(item, dict) else None
        try:
            task = self.build(job, item)
            if key(task["id"]) in existing:
                raise errors.TaskExists()
        except errors.BatchError as exc:
            return {"status": "clienterror", "taskId": task_id, "error": self.svc.error_body(exc, request_id)}
        self._add(job, task)
        return {"status": "success", "taskId": task["id"], "eTag": task["eTag"],
                "lastModified": task["lastModified"], "location": task["url"]}

    def counts(self, job_id: str) -> dict:
        self.svc.jobs.get(job_id)
        counts = dict.fromkeys(("active", "running", "completed", "succeeded", "failed"), 0)
        slots = dict(counts)
        for task in self.svc.registry.tasks.get(key(job_id), {}).values():
            names = [task["state"]]
            if task["state"] == "completed":
                names.append("succeeded" if task["executionInfo"].get("result") == "success"
                             else "failed")
            for name in names:
                counts[name] += 1
                slots[name] += task["requiredSlots"]
        return {"taskCounts": counts, "taskSlotCounts": slots}

    # -- ending tasks ---------------------------------------------------------------------

    def start_run(self, compound: str, pool_key: str, node_id: str, slots: int) -> Run:
        run = Run(f"{compound}/{next(self._serial)}", compound, pool_key, node_id, slots)
        self.running[compound] = self.runs[run.key] = run
        self.svc.count_slots(pool_key, node_id)
        return run

    def take_node_runs(self, pool_key: str, node_id: str) -> list[Run]:
        """Forget every run on a node that is gone; return those still current for their task."""
        gone = [r for r in self.runs.values() if (r.pool_key, r.node_id) == (pool_key, node_id)]
        current = []
        for run in gone:
            del self.runs[run.key]
            self.ending.pop(run.key, None)
            if self.running.get(run.compound) is run:
                del self.running[run.compound]
                current.append(run)
        self.svc.count_slots(pool_key, node_id)
        return current

    def task_of(self, run: Run) -> tuple[str, dict | None]:
        job_key, task_key = run.compound.split("/")
        return job_key, self.svc.registry.tasks.get(job_key, {}).get(task_key)

    def on_started(self, run_key: str, pid: int) -> None:
        """Remember the task's process group, to end it if its node or the service is lost."""
        run = self.runs.get(run_key)
        if run is None or self.running.get(run.compound) is not run:
            return
        job_key, task = self.task_of(run)
        if task is not None and task["state"] == "running":
            task["_pgid"] = pid
            self.svc.registry.save_task(job_key, task)

    def kill_orphan(self, task: dict) -> None:
        """End the process group a lost node (or a crashed service) left running."""
        pgid = task.pop("_pgid", None)
        if pgid and is_task_process(pgid, self.svc.state_dir):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def on_done(self, run_key: str, event: dict) -> None:
        """A node reports that a run's process ended (or never started)."""
        run = self.runs.pop(run_key, None)
        if run is None:   # its node was already counted as gone
            return
        self.svc.run_ended(run, event.get("failure") is None and event.get("exitCode") == 0
                           and not event.get("killed"))
        ending = self.ending.pop(run_key, None)
        if self.running.get(run.compound) is not run:   # deleted, or requeued meanwhile
            self.svc.scheduler.kick()
            return
        del self.running[run.compound]
        job_key, task = self.task_of(run)
        job = self.svc.registry.jobs.get(job_key)
        if task is None or task["state"] != "running" or job is None or \
                job["state"] == "deleting":
            self.svc.scheduler.kick()
            return
        if event.get("killed") and ending is None:
            self.requeue(job_key, task, count=False)
        elif ending is not None:
            self.finish(job_key, task, event.get("exitCode"), ending)
        else:
            self.finish(job_key, task, event.get("exitCode"), event.get("failure"))
        self.svc.jobs.check_terminated(job_key)
        self.svc.scheduler.kick()

    def finish(self, job_key: str, task: dict, exit_code: int | None, failure: dict | None,
               ) -> None:
        info = task["executionInfo"]
        if failure is not None and failure["code"] == "FailureExitCode" and retries_left(task):
            info["retryCount"] += 1
            info["lastRetryTime"] = wire.iso(wire.now())
            info["exitCode"] = exit_code
            self.requeue(job_key, task, count=False)
            return
        task.pop("_pgid", None)
        states.move("task", task, "completed")
        info["endTime"] = task["stateTransitionTime"]
        if exit_code is not None:
            info["exitCode"] = exit_code
        else:
            info.pop("exitCode", None)
        info["result"] = "failure" if failure else "success"
        if failure:
            info["failureInfo"] = failure
        else:
            info.pop("failureInfo", None)
        self.svc.registry.touch(task)
        self.svc.registry.save_task(job_key, task)
        self.svc.jobs.check_all_done(job_key)

    def requeue(self, job_key: str, task: dict, count: bool) -> None:
        """Back to active, to run again: a retry, or a node recovery (not counted)."""
        self.kill_orphan(task)
        states.move("task", task, "active")
        if count:
            task["executionInfo"]["requeueCount"] += 1
        for stale in ("startTime", "endTime", "result", "failureInfo"):
            task["executionInfo"].pop(stale, None)
        task.pop("nodeInfo", None)
        self.svc.registry.save_task(job_key, task)
        self.queues.setdefault(job_key, {})[key(task["id"])] = None

    def terminate(self, job_id: str, task_id: str) -> None:
        task = self.get(job_id, task_id)
        self._end(key(job_id), task, ENDED_BY_USER)

    def reactivate(self, job_id: str, task_id: str) -> None:
        """A failed task runs again as it was defined, its retry count reset (REST spec: only a
        completed task that failed, in a job that is still active)."""
        job = self._open_job(job_id)
        task = self.get(job_id, task_id)
        if task["state"] != "completed":
            raise errors.TaskNotCompleted()
        if task["executionInfo"].get("result") != "failure":
            raise errors.TaskSucceeded()
        task["executionInfo"]["retryCount"] = 0
        for stale in ("exitCode", "lastRetryTime"):
            task["executionInfo"].pop(stale, None)
        self.svc.registry.touch(task)
        self.requeue(key(job["id"]), task, count=False)
        self.svc.scheduler.kick()

    def _end(self, job_key: str, task: dict, failure: dict) -> None:
        run = self.running.get(f"{job_key}/{key(task['id'])}")
        if task["state"] == "active":
            self.queues.get(job_key, {}).pop(key(task["id"]), None)
            self.finish(job_key, task, None, failure)
        elif task["state"] == "running" and run is not None:
            self.ending[run.key] = failure
            self.kill(run)

    def kill(self, run: Run) -> None:
        self.svc.node_manager.send(run.pool_key, run.node_id, {"op": "kill", "key": run.key})

    def end_running(self, job_key: str) -> None:
        for task in list(self.svc.registry.tasks.get(job_key, {}).values()):
            if task["state"] == "running":
                self._end(job_key, task, ENDED_BY_USER)

    def delete(self, job_id: str, task_id: str) -> None:
        task = self.get(job_id, task_id)
        job_key, task_key = key(job_id), key(task_id)
        compound = f"{job_key}/{task_key}"
        self.queues.get(job_key, {}).pop(task_key, None)
        run = self.running.pop(compound, None)
        if run is not None:   # its slots stay taken until its node confirms the kill
            self.kill(run)
        node_info = task.get("nodeInfo")
        self.svc.registry.drop_task(job_key, task_key)
        self.svc.jobs.check_terminated(job_key)   # it may have been the last one running
        if node_info:
            shutil.rmtree(self.svc.task_dir(task), ignore_errors=True)

    async def kill_running(self, job_key: str, timeout: float = 10) -> None:
        """Kill the job's running task processes and wait until their nodes confirm it."""
        self.queues.pop(job_key, None)
        mine = [r for r in self.runs.values() if r.compound.startswith(job_key + "/")]
        for run in mine:
            self.kill(run)
        deadline = asyncio.get_running_loop().time() + timeout
        while any(r.key in self.runs for r in mine):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.02)
