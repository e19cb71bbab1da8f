"""Tasks: add (one or a collection), read, terminate, delete, and what happens when one ends."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

from . import dependencies, errors, protocol, states, validate, wire
from .ids import key
from .joblife import JobLife
from .jobprep import PREP, JobPrep
from .nodes import NodeManager
from .paths import Paths
from .registry import Registry
from .runs import Run, RunBook, TaskRef
from .scheduler import Scheduler

UNSUPPORTED = ("multiInstanceSettings", "applicationPackageReferences", "affinityInfo")
ENDED_BY_USER = {"category": "usererror", "code": "TaskEnded",
                 "message": "The task was terminated before it completed."}


def _exit_conditions(conditions: dict) -> dict:
    """exitConditions as given; their jobAction (disable or terminate the job) is not emulated."""
    options = [conditions.get(name) for name in ("preProcessingError", "fileUploadError",
                                                 "default")]
    options += [entry["exitOptions"] for name in ("exitCodes", "exitCodeRanges")
                for entry in conditions.get(name) or []]
    for option in filter(None, options):
        if (option.get("jobAction") or "none").lower() != "none":
            raise validate.invalid("exitConditions.jobAction", option["jobAction"],
                                   "localbatch does not emulate an exit condition's jobAction: "
                                   "leave it none")
    return conditions


def is_task_process(pid: int, state_dir: Path) -> bool:
    """Whether pid is (still) a task of this localbatch: its environment names our node root."""
    return protocol.carries(pid, f"AZ_BATCH_NODE_ROOT_DIR={state_dir}", exact=False)


def retries_left(task: dict) -> bool:
    retries = task["constraints"]["maxTaskRetryCount"]
    return retries == -1 or task["executionInfo"]["retryCount"] < retries


class Tasks:
    def __init__(self, registry: Registry, book: RunBook, life: JobLife, scheduler: Scheduler,
                 nodes: NodeManager, paths: Paths, prep: JobPrep):
        self.registry, self.book, self.life = registry, book, life
        self.scheduler, self.nodes, self.paths, self.prep = scheduler, nodes, paths, prep

    def get(self, job_id: str, task_id: str) -> dict:
        tasks = self.registry.tasks.get(key(job_id))
        if tasks is None:
            raise errors.JobNotFound()
        task = tasks.get(key(task_id))
        if task is None:
            raise errors.TaskNotFound()
        return task

    def listed(self, job_id: str) -> tuple[dict, list[tuple[str, dict]]]:
        """A job and its tasks, in key order, for a list."""
        job = self.life.get(job_id)
        return job, sorted(self.registry.tasks.get(key(job["id"]), {}).items())

    def folder(self, task: dict) -> Path | None:
        """Where a task's files are (None: it never ran)."""
        return self.paths.task(task) if task.get("nodeInfo") else None

    def build(self, job: dict, body: dict) -> dict:
        """A new task document from a body the schema has checked (BatchTaskCreateOptions), or
        the service's 400 for what localbatch does not take."""
        task_id = validate.ident(body["id"])
        validate.unsupported(body, UNSUPPORTED)
        validate.not_local(body, ("containerSettings",))
        constraints, defaults = body.get("constraints") or {}, job["constraints"]
        stamp = wire.iso(wire.now())
        task = {
            "id": task_id, "url": f"{job['url']}/tasks/{task_id}",
            "creationTime": stamp, "state": states.FIRST["task"], "stateTransitionTime": stamp,
            "commandLine": body["commandLine"],
            "resourceFiles": validate.resource_files(body.get("resourceFiles")),
            "outputFiles": validate.output_files(body.get("outputFiles")),
            "environmentSettings": list(body.get("environmentSettings") or []),
            "constraints": {
                "maxWallClockTime": constraints.get("maxWallClockTime")
                                    or defaults["maxWallClockTime"],
                "retentionTime": constraints.get("retentionTime") or "P7D",
                "maxTaskRetryCount": constraints.get("maxTaskRetryCount",
                                                     defaults["maxTaskRetryCount"])},
            "requiredSlots": body.get("requiredSlots", 1),
            "userIdentity": validate.user_identity(body.get("userIdentity")),
            "executionInfo": {"retryCount": 0, "requeueCount": 0},
        }
        if body.get("displayName"):
            task["displayName"] = body["displayName"]
        if body.get("dependsOn"):
            task["dependsOn"] = self._depends_on(job, task_id, body["dependsOn"])
        if body.get("exitConditions"):
            task["exitConditions"] = _exit_conditions(body["exitConditions"])
        self.registry.touch(task)
        return task

    def _depends_on(self, job: dict, task_id: str, depends: dict) -> dict:
        """dependsOn, with the error table's 400s: the job must use task dependencies
        (TaskDependenciesNotSpecifiedOnJob), the ids may total 64,000 characters
        (TaskDependencyListTooLong), the ranges are limited (TaskDependencyRangesTooLong; to
        how many is not documented: MAX_RANGES here). A task that depends on itself is refused,
        as localbatch's choice: what Azure does is not documented."""
        if not job.get("usesTaskDependencies"):
            raise errors.TaskDependenciesNotSpecifiedOnJob()
        ids = list(depends.get("taskIds") or [])
        ranges = [{"start": r["start"], "end": r["end"]} for r in depends.get("taskIdRanges") or []]
        if sum(len(i) for i in ids) > dependencies.MAX_ID_CHARACTERS:
            raise errors.TaskDependencyListTooLong()
        if len(ranges) > dependencies.MAX_RANGES:
            raise errors.TaskDependencyRangesTooLong()
        for span in ranges:
            if span["start"] > span["end"]:
                raise validate.invalid("dependsOn.taskIdRanges", f"{span['start']}-{span['end']}",
                                       "a range's start must not be after its end")
        itself = key(task_id) in map(key, ids) or task_id.isdigit() and any(
            r["start"] <= int(task_id) <= r["end"] for r in ranges)
        if itself:
            raise validate.invalid("dependsOn", task_id, "a task cannot depend on itself")
        return {**({"taskIds": ids} if ids else {}), **({"taskIdRanges": ranges} if ranges else {})}

    @staticmethod
    def _check_id(job: dict, task_id: str) -> None:
        """A task may not take the id of its job's preparation or release task (the spec's
        409s)."""
        for name, error in (("jobPreparationTask", errors.TaskIdSameAsJobPreparationTask),
                            ("jobReleaseTask", errors.TaskIdSameAsJobReleaseTask)):
            if job.get(name) and key(job[name]["id"]) == key(task_id):
                raise error()

    def _add(self, job: dict, task: dict) -> None:
        job_key = key(job["id"])
        self.registry.save_task(job_key, task)
        self.book.enqueue(TaskRef(job_key, key(task["id"])))

    def create(self, job_id: str, body: dict) -> dict:
        job = self.life.open(job_id)
        task = self.build(job, body)
        self._check_id(job, task["id"])
        if key(task["id"]) in self.registry.tasks[key(job["id"])]:
            raise errors.TaskExists()
        self._add(job, task)
        self.schedule()
        return task

    def create_collection(self, job_id: str, items: list[dict]
                          ) -> list[tuple[str, dict | errors.BatchError]]:
        """Each task id with its new task, or the error that refused it; the schema has checked
        the collection's size and each item."""
        job = self.life.open(job_id)
        existing = self.registry.tasks[key(job["id"])]
        results = [self._collection_item(job, item, existing) for item in items]
        self.schedule()
        return results

    def _collection_item(self, job: dict, item: dict, existing: dict
                         ) -> tuple[str, dict | errors.BatchError]:
        task_id = item["id"]
        try:
            task = self.build(job, item)
            self._check_id(job, task["id"])
            if key(task["id"]) in existing:
                raise errors.TaskExists()
        except errors.BatchError as exc:
            return task_id, exc
        self._add(job, task)
        return task["id"], task

    def counts(self, job_id: str) -> dict:
        self.life.get(job_id)
        counts = dict.fromkeys(("active", "running", "completed", "succeeded", "failed"), 0)
        slots = dict(counts)
        for task in self.registry.tasks.get(key(job_id), {}).values():
            names = ["running" if task["state"] == "preparing" else task["state"]]
            if task["state"] == "completed":
                names.append("succeeded" if task["executionInfo"].get("result") == "success"
                             else "failed")
            for name in names:
                counts[name] += 1
                slots[name] += task["requiredSlots"]
        return {"taskCounts": counts, "taskSlotCounts": slots}


    # -- placing and ending tasks ----------------------------------------------------------

    def schedule(self) -> None:
        """Let the scheduler place what it can; the tasks it cannot place fail here, and the
        jobs it cannot schedule show why."""
        failed, bad_jobs = self.scheduler.place(self._start)
        for job, exc in bad_jobs:
            self.life.unschedulable(job, exc)
        for ref, failure in failed:
            task = self.registry.tasks.get(ref.job, {}).get(ref.task)
            if task is not None and task.get("state") == "active":
                self.finish(ref.job, task, None, failure)

    def _start(self, ref: TaskRef, task: dict, pool: dict, node: dict, spec: dict) -> None:
        """The scheduler placed the task on the node: it runs there, holding the node's slots,
        or first waits there (preparing) for the job's preparation task."""
        task_root = spec["taskDir"]
        ready = self.prep.gate(self.registry.jobs[ref.job], pool, node)
        states.move("task", task, "running" if ready else "preparing")
        if ready:
            task["executionInfo"]["startTime"] = task["stateTransitionTime"]
        task["nodeInfo"] = {
            "affinityId": node["affinityId"], "nodeUrl": node["url"], "poolId": pool["id"],
            "nodeId": node["id"],
            "taskRootDirectory": task_root,
            "taskRootDirectoryUrl": f"{node['url']}/files/{task_root}"}
        self.registry.save_task(ref.job, task)
        run = self.book.start(ref, key(pool["id"]), node["id"], task["requiredSlots"])
        if ready:
            self.nodes.dispatch(run, spec)
        else:
            self.prep.hold(run, spec)
            self.nodes.count_slots(run.pool_key, run.node_id)

    def _prepared(self, job_key: str, pool_key: str, node_id: str, succeeded: bool) -> None:
        """The job's preparation task ended for good on the node: the tasks waiting there run,
        or (it failed) go back to the queue for another node."""
        for run, spec in self.prep.take_waiting(job_key, (pool_key, node_id)):
            task = self.task_of(run)
            if task is None or task["state"] != "preparing" or not self.book.is_current(run):
                continue
            if succeeded:
                states.move("task", task, "running")
                task["executionInfo"]["startTime"] = task["stateTransitionTime"]
                self.registry.save_task(job_key, task)
                self.nodes.dispatch(run, spec)
            else:
                self.book.ended(run.key)
                self.requeue(job_key, task, count=False)
                self.nodes.count_slots(pool_key, node_id)

    def task_of(self, run: Run) -> dict | None:
        return self.registry.tasks.get(run.ref.job, {}).get(run.ref.task)

    def on_started(self, run_key: str, pid: int) -> None:
        """Remember the task's process group, to end it if its node or the service is lost."""
        run = self.book.get(run_key)
        if run is None or not self.book.is_current(run):
            return
        task = self.task_of(run)
        if task is not None and task["state"] == "running":
            self.registry.save_task_side(run.ref.job, run.ref.task, pgid=pid)

    def kill_orphan(self, job_key: str, task: dict) -> None:
        """End the process group a lost node (or a crashed service) left running."""
        task_key = key(task["id"])
        pgid = self.registry.task_side.get(job_key, {}).get(task_key, {}).get("pgid")
        self.registry.save_task_side(job_key, task_key, pgid=None)
        if pgid and is_task_process(pgid, self.paths.state_dir):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def on_done(self, run_key: str, event: dict) -> None:
        """A node reports that a run's process ended (or never started)."""
        if self.prep.owns(run_key):
            prep_run, succeeded = self.prep.on_done(run_key, event)
            if prep_run is not None:
                if prep_run.kind == PREP and succeeded is not None:
                    self._prepared(prep_run.job_key, prep_run.pool_key, prep_run.node_id,
                                   succeeded)
                self.life.check_terminated(prep_run.job_key)
            self.schedule()
            return
        run, ending, current = self.book.ended(run_key)
        if run is None:   # its node was already counted as gone
            return
        self.nodes.run_ended(run, event.get("failure") is None and event.get("exitCode") == 0
                             and not event.get("killed"))
        job_key, task = run.ref.job, self.task_of(run)
        job = self.registry.jobs.get(job_key)
        if not current or task is None or task["state"] != "running" or job is None or \
                job["state"] == "deleting":   # deleted, or requeued meanwhile
            self.schedule()
            return
        if event.get("killed") and ending is None:
            self.requeue(job_key, task, count=False)
        elif ending is not None:
            self.finish(job_key, task, event.get("exitCode"), ending)
        else:
            self.finish(job_key, task, event.get("exitCode"), event.get("failure"))
        self.life.check_terminated(job_key)
        self.schedule()

    def finish(self, job_key: str, task: dict, exit_code: int | None, failure: dict | None,
               ) -> None:
        info = task["executionInfo"]
        if failure is not None and failure["code"] == "FailureExitCode" and retries_left(task):
            info["retryCount"] += 1
            info["lastRetryTime"] = wire.iso(wire.now())
            info["exitCode"] = exit_code
            self.requeue(job_key, task, count=False)
            return
        self.registry.save_task_side(job_key, key(task["id"]), pgid=None)
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
        self.registry.touch(task)
        self.registry.save_task(job_key, task)
        self.life.check_all_done(job_key)

    def requeue(self, job_key: str, task: dict, count: bool) -> None:
        """Back to active, to run again: a retry, or a node recovery (not counted)."""
        self.kill_orphan(job_key, task)
        states.move("task", task, "active")
        if count:
            task["executionInfo"]["requeueCount"] += 1
        for stale in ("startTime", "endTime", "result", "failureInfo"):
            task["executionInfo"].pop(stale, None)
        task.pop("nodeInfo", None)
        self.registry.save_task(job_key, task)
        self.book.enqueue(TaskRef(job_key, key(task["id"])))

    def release_node(self, pool_key: str, node_id: str, option: str | None = None) -> None:
        """A node's running tasks, once it is gone or leaving: ended for good (terminate), or
        requeued. As on Azure, a lost node counts no retry, and only a requeue the user asked
        for (resize or reboot with `requeue`) counts a requeue."""
        ended_jobs = self.prep.node_gone(pool_key, node_id)
        for run in self.book.take_node(pool_key, node_id):
            task = self.task_of(run)
            if task is None or task["state"] not in ("running", "preparing"):
                continue
            if option == "terminate":
                self.kill_orphan(run.ref.job, task)
                self.finish(run.ref.job, task, None, ENDED_BY_USER)
                self.life.check_terminated(run.ref.job)
            else:
                self.requeue(run.ref.job, task, count=option == "requeue")
        self.nodes.count_slots(pool_key, node_id)
        for job_key in ended_jobs:   # a release task that ran there ends with it
            self.life.check_terminated(job_key)

    def terminate(self, job_id: str, task_id: str) -> None:
        task = self.get(job_id, task_id)
        self._end(key(job_id), task, ENDED_BY_USER)

    def reactivate(self, job_id: str, task_id: str) -> None:
        """A failed task runs again as it was defined, its retry count reset (REST spec: only a
        completed task that failed, in a job that is still active)."""
        job = self.life.open(job_id)
        task = self.get(job_id, task_id)
        if task["state"] != "completed":
            raise errors.TaskNotCompleted()
        if task["executionInfo"].get("result") != "failure":
            raise errors.TaskSucceeded()
        task["executionInfo"]["retryCount"] = 0
        for stale in ("exitCode", "lastRetryTime"):
            task["executionInfo"].pop(stale, None)
        self.registry.touch(task)
        self.requeue(key(job["id"]), task, count=False)
        self.schedule()

    def _end(self, job_key: str, task: dict, failure: dict) -> None:
        ref = TaskRef(job_key, key(task["id"]))
        run = self.book.current(ref)
        if task["state"] == "active":
            self.book.dequeue(ref)
            self.finish(job_key, task, None, failure)
        elif task["state"] == "preparing" and run is not None:   # never dispatched
            self.prep.unhold(run.key)
            self.book.ended(run.key)
            self.finish(job_key, task, None, failure)
            self.nodes.count_slots(run.pool_key, run.node_id)
        elif task["state"] == "running" and run is not None:
            self.book.end_with(run, failure)
            self.nodes.kill(run)

    def end_running(self, job_key: str) -> None:
        self.prep.kill_job_runs(job_key)
        for task in list(self.registry.tasks.get(job_key, {}).values()):
            if task["state"] in ("running", "preparing"):
                self._end(job_key, task, ENDED_BY_USER)

    def delete(self, job_id: str, task_id: str) -> None:
        task = self.get(job_id, task_id)
        ref = TaskRef.of(job_id, task_id)
        self.book.dequeue(ref)
        run = self.book.detach(ref)
        if run is not None and run.key in self.prep.waiting:   # preparing: never dispatched
            self.prep.unhold(run.key)
            self.book.ended(run.key)
            self.nodes.count_slots(run.pool_key, run.node_id)
        elif run is not None:   # its slots stay taken until its node confirms the kill
            self.nodes.kill(run)
        folder = self.folder(task)
        self.registry.drop_task(ref.job, ref.task)
        self.life.check_terminated(ref.job)   # it may have been the last one running
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    async def kill_running(self, job_key: str, timeout: float = 10) -> None:
        """Kill the job's running task processes and wait until their nodes confirm it."""
        self.book.drop_queue(job_key)
        self.prep.kill_job_runs(job_key)
        for run, _ in self.prep.take_waiting(job_key):   # preparing: never dispatched
            self.book.ended(run.key)
            self.nodes.count_slots(run.pool_key, run.node_id)
        mine = self.book.job_runs(job_key)
        for run in mine:
            self.nodes.kill(run)
        deadline = asyncio.get_running_loop().time() + timeout
        while any(self.book.is_on_node(r) for r in mine):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.02)

    def recover_job(self, job_key: str) -> None:
        """After a restart: what was running runs again, what was active waits again."""
        tasks = sorted(self.registry.tasks.get(job_key, {}).items(),
                       key=lambda kv: kv[1]["creationTime"])
        for task_key, task in tasks:
            if task["state"] in ("running", "preparing"):
                self.requeue(job_key, task, count=False)
            elif task["state"] == "active":
                self.book.enqueue(TaskRef(job_key, task_key))
