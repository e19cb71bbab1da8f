"""Job preparation and release tasks (REST spec 2025-06-01, BatchJobPreparationTask and
BatchJobReleaseTask): the one owner of their runs and of their status on each node
(BatchJobPreparationAndReleaseTaskStatus, kept in the job's side record).

The preparation task runs on a node before that node's first task of the job; with
waitForSuccess (the default) the job's tasks given that node wait, `preparing`, until it has
succeeded, and a node where it failed after its retries takes no more tasks of the job. It runs
again after the node boots anew, unless it had succeeded and rerunOnNodeRebootAfterSuccess is
false (Azure keeps a failed node out until it is reimaged; localbatch has no reimage, so a boot
gives it another try). The release task runs, once the job ends (terminated, deleted, or all its
tasks complete with terminatejob), on each node whose preparation task completed there and that
ran the job's tasks; the job completes once they have. Neither holds a task slot (the spec)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from . import paths, protocol, validate, wire
from .ids import key
from .nodes import NodeManager
from .registry import Registry
from .runs import Run

PREP, RELEASE = "jobPreparationTaskExecutionInfo", "jobReleaseTaskExecutionInfo"
RELEASE_LONGEST = 15 * 60   # the spec: "You may not specify a timeout longer than 15 minutes"
ENDED = {"category": "usererror", "code": "TaskEnded",
         "message": "The task was ended before it completed: its job or node went away."}


def preparation_task(body: dict | None) -> dict | None:
    """A job's jobPreparationTask as kept, with the spec's defaults (as the recordings show)."""
    if not body:
        return None
    validate.not_local(body, ("containerSettings",))
    constraints = body.get("constraints") or {}
    return {"id": validate.ident(body.get("id") or "jobpreparation"),
            "commandLine": body["commandLine"],
            "resourceFiles": validate.resource_files(body.get("resourceFiles")),
            "environmentSettings": list(body.get("environmentSettings") or []),
            "constraints": {"maxWallClockTime": constraints.get("maxWallClockTime")
                            or wire.FOREVER,
                            "retentionTime": constraints.get("retentionTime") or "P7D",
                            "maxTaskRetryCount": constraints.get("maxTaskRetryCount", 0)},
            "userIdentity": validate.user_identity(body.get("userIdentity")),
            "waitForSuccess": body.get("waitForSuccess", True),
            "rerunOnNodeRebootAfterSuccess": body.get("rerunOnNodeRebootAfterSuccess", True)}


def release_task(body: dict | None, preparation: dict | None) -> dict | None:
    """A job's jobReleaseTask as kept. The spec: it "cannot be specified without also specifying
    a Job Preparation Task" (no error code is documented: localbatch answers 400
    MissingRequiredProperty naming jobPreparationTask), and its maxWallClockTime is at most 15
    minutes (400)."""
    if not body:
        return None
    if preparation is None:
        validate.require({}, "jobPreparationTask")
    validate.not_local(body, ("containerSettings",))
    wall = body.get("maxWallClockTime") or "PT15M"
    if wire.duration_seconds(wall, "jobReleaseTask.maxWallClockTime") > RELEASE_LONGEST:
        raise validate.invalid("jobReleaseTask.maxWallClockTime", wall,
                               "A job release task may run for at most 15 minutes (PT15M).")
    release_id = validate.ident(body.get("id") or "jobrelease")
    if key(release_id) == key(preparation["id"]):
        raise validate.invalid("jobReleaseTask.id", release_id,
                               "The job release task needs an id of its own, not the job "
                               "preparation task's.")
    return {"id": release_id, "commandLine": body["commandLine"],
            "resourceFiles": validate.resource_files(body.get("resourceFiles")),
            "environmentSettings": list(body.get("environmentSettings") or []),
            "maxWallClockTime": wall, "retentionTime": body.get("retentionTime") or "P7D",
            "userIdentity": validate.user_identity(body.get("userIdentity"))}


@dataclass(frozen=True)
class PrepRun:
    """One run of a job's preparation (PREP) or release (RELEASE) task on a node."""
    kind: str
    job_key: str
    pool_key: str
    node_id: str
    boot: str | None   # the node's lastBootTime when it started: a later boot lost it


class JobPrep:
    def __init__(self, registry: Registry, nodes: NodeManager):
        self.registry, self.nodes = registry, nodes
        self.runs: dict[str, PrepRun] = {}   # run key ("jobprep:…") -> what it runs
        self.waiting: dict[str, tuple[Run, dict]] = {}   # a preparing task's run -> its spec
        self._serial = itertools.count(1)

    @staticmethod
    def owns(run_key: str) -> bool:
        return run_key.startswith("jobprep:")

    # -- the status documents ----------------------------------------------------------------

    def statuses(self, job_key: str) -> dict[str, dict]:
        """node id -> BatchJobPreparationAndReleaseTaskStatus, for every node that ran either."""
        return self.registry.job_side.get(job_key, {}).get("prepStatus", {})

    def _save(self, job_key: str, node_id: str, status: dict | None) -> None:
        mine = dict(self.statuses(job_key))
        if status is None:
            mine.pop(node_id, None)
        else:
            mine[node_id] = status
        self.registry.save_job_side(job_key, prepStatus=mine or None)

    def _live(self, job_key: str, node_id: str, kind: str) -> bool:
        """Whether such a run is on the node now (not lost with an earlier boot of it)."""
        for run in self.runs.values():
            if (run.kind, run.job_key, run.node_id) == (kind, job_key, node_id):
                node = self.registry.nodes.get(run.pool_key, {}).get(node_id) or {}
                if node.get("lastBootTime") == run.boot:
                    return True
        return False

    # -- before a task: the preparation task ---------------------------------------------------

    def eligible(self, job: dict, pool_key: str, node: dict) -> bool:
        """Whether the node may take the job's tasks: not where its preparation task failed
        (with waitForSuccess), until the node boots anew."""
        prep = job.get("jobPreparationTask")
        if not prep or not prep["waitForSuccess"]:
            return True
        info = self._current(key(job["id"]), node)
        return info is None or info["state"] == "running" or info["result"] == "success"

    def _current(self, job_key: str, node: dict) -> dict | None:
        """The node's preparation info for the job, None when it must run (again): never run,
        or run before the node's last boot (and not to be kept), or lost with its run."""
        status = self.statuses(job_key).get(node["id"])
        info = (status or {}).get(PREP)
        if info is None:
            return None
        prep = self.registry.jobs[job_key]["jobPreparationTask"]
        rebooted = status.get("bootTime") != node.get("lastBootTime")
        if info["state"] == "running":
            return info if self._live(job_key, node["id"], PREP) else None
        if rebooted and not (info["result"] == "success"
                             and not prep["rerunOnNodeRebootAfterSuccess"]):
            return None
        return info

    def gate(self, job: dict, pool: dict, node: dict) -> bool:
        """A task of the job is placed on the node: start its preparation task there if it must
        run; True when the task may run now, False when it waits (preparing) for it."""
        prep = job.get("jobPreparationTask")
        if not prep:
            return True
        job_key = key(job["id"])
        info = self._current(job_key, node)
        if info is None:
            info = self._start(PREP, job, pool, node, retry=0)
        return not prep["waitForSuccess"] or info["state"] == "completed"

    def hold(self, run: Run, spec: dict) -> None:
        """A task waits on its node, preparing: its run holds its slots, its spec is kept."""
        self.waiting[run.key] = (run, spec)

    def unhold(self, run_key: str) -> None:
        self.waiting.pop(run_key, None)

    def _start(self, kind: str, job: dict, pool: dict, node: dict, retry: int) -> dict:
        job_key, pool_key = key(job["id"]), key(pool["id"])
        doc = job["jobPreparationTask" if kind == PREP else "jobReleaseTask"]
        stamp = wire.iso(wire.now())
        status = dict(self.statuses(job_key).get(node["id"]) or {
            "poolId": pool["id"], "nodeId": node["id"], "nodeUrl": node["url"]})
        root = paths.task_root(job["id"], doc["id"])
        old = status.get(kind) or {}
        info = {"startTime": stamp, "state": "running", "taskRootDirectory": root,
                "taskRootDirectoryUrl": f"{node['url']}/files/{root}"}
        if kind == PREP:
            info["retryCount"] = retry
            if retry:
                info["lastRetryTime"] = stamp
            status["bootTime"] = node.get("lastBootTime")
        elif old:
            return old
        status[kind] = info
        self._save(job_key, node["id"], status)
        run_key = f"jobprep:{job_key}:{node['id']}:{next(self._serial)}"
        self.runs[run_key] = PrepRun(kind, job_key, pool_key, node["id"], node.get("lastBootTime"))
        wall = doc["constraints"]["maxWallClockTime"] if kind == PREP else doc["maxWallClockTime"]
        env = {s["name"]: s.get("value", "") for s in
               job.get("commonEnvironmentSettings", []) + doc["environmentSettings"]}
        env.update(AZ_BATCH_JOB_ID=job["id"], AZ_BATCH_TASK_ID=doc["id"])
        self.nodes.send(pool_key, node["id"], protocol.run(run_key, {
            "taskDir": root, "commandLine": doc["commandLine"],
            "jobPrepDir": paths.task_root(job["id"], job["jobPreparationTask"]["id"])
            if kind == RELEASE else None,
            "resourceFiles": doc["resourceFiles"], "outputFiles": [], "env": env,
            "admin": protocol.admin(doc["userIdentity"], pool),
            "maxWallClockSeconds": None if wall == wire.FOREVER else
            wire.duration_seconds(wall, "maxWallClockTime")}))
        return info

    # -- a run's end -------------------------------------------------------------------------

    def on_done(self, run_key: str, event: dict) -> tuple[PrepRun | None, bool | None]:
        """A preparation or release run ended: its status is recorded (a failed preparation is
        retried while its maxTaskRetryCount allows). Returns the run and whether it succeeded
        (None: it runs again), for the caller to run or requeue the tasks that wait for it."""
        run = self.runs.pop(run_key, None)
        status = self.statuses(run.job_key).get(run.node_id) if run else None
        job = self.registry.jobs.get(run.job_key) if run else None
        if run is None or status is None or job is None:
            return None, None
        info = dict(status[run.kind])
        failure = ENDED if event.get("killed") else event.get("failure")
        if run.kind == PREP and failure and failure["code"] == "FailureExitCode" and \
                job["state"] == "active" and self._retries_left(job, info):
            node = self.registry.nodes.get(run.pool_key, {}).get(run.node_id)
            pool = self.registry.pools.get(run.pool_key)
            if node is not None and pool is not None:
                self._start(PREP, job, pool, node, info["retryCount"] + 1)
                return run, None
        info.update(state="completed", endTime=wire.iso(wire.now()),
                    result="failure" if failure else "success")
        if event.get("exitCode") is not None:
            info["exitCode"] = event["exitCode"]
        if failure:
            info["failureInfo"] = failure
        self._save(run.job_key, run.node_id, {**status, run.kind: info})
        return run, not failure

    @staticmethod
    def _retries_left(job: dict, info: dict) -> bool:
        retries = job["jobPreparationTask"]["constraints"]["maxTaskRetryCount"]
        return retries == -1 or info["retryCount"] < retries

    def take_waiting(self, job_key: str, node: tuple[str, str] | None = None
                     ) -> list[tuple[Run, dict]]:
        """The job's preparing tasks (on one node: (pool key, node id)), out of the wait."""
        mine = [k for k, (run, _) in self.waiting.items() if run.ref.job == job_key
                and node in (None, (run.pool_key, run.node_id))]
        return [self.waiting.pop(k) for k in mine]

    # -- the job's end: the release task -------------------------------------------------------

    def releasing(self, job: dict) -> bool:
        """The job is ending: start its release task on each node that needs one, once; True
        while any still runs there."""
        job_key = key(job["id"])
        if not job.get("jobReleaseTask"):
            return False
        busy = False
        for node_id, status in list(self.statuses(job_key).items()):
            prep, release = status.get(PREP) or {}, status.get(RELEASE)
            if release is not None:
                if release["state"] == "running" and not self._live(job_key, node_id, RELEASE):
                    self._lost(job_key, node_id, RELEASE)   # its node went away meanwhile
                busy |= self._live(job_key, node_id, RELEASE)
                continue
            ran = prep.get("state") == "completed" and (
                prep.get("result") == "success" or not job["jobPreparationTask"]["waitForSuccess"])
            pool_key = key(status["poolId"])
            node = self.registry.nodes.get(pool_key, {}).get(node_id)
            pool = self.registry.pools.get(pool_key)
            if ran and node is not None and pool is not None and \
                    self.nodes.pid(pool_key, node_id) is not None:
                self._start(RELEASE, job, pool, node, retry=0)
                busy = True
        return busy

    def _lost(self, job_key: str, node_id: str, kind: str) -> None:
        status = self.statuses(job_key).get(node_id)
        if status and (status.get(kind) or {}).get("state") == "running":
            self._save(job_key, node_id, {**status, kind: {
                **status[kind], "state": "completed", "endTime": wire.iso(wire.now()),
                "result": "failure", "failureInfo": ENDED}})

    def node_gone(self, pool_key: str, node_id: str) -> set[str]:
        """The node's agent stopped (lost, rebooted, removed): its runs are over. A preparation
        runs again on the node's next task; a release shows failed. Returns the jobs touched."""
        jobs = set()
        for run_key, run in list(self.runs.items()):
            if (run.pool_key, run.node_id) == (pool_key, node_id):
                del self.runs[run_key]
                jobs.add(run.job_key)
                if run.kind == RELEASE:
                    self._lost(run.job_key, node_id, RELEASE)
                else:   # the preparation runs again on the node's next task of the job
                    rest = {k: v for k, v in (self.statuses(run.job_key).get(node_id) or {}).items()
                            if k != PREP}
                    self._save(run.job_key, node_id, rest if RELEASE in rest else None)
        for run_key, (run, _) in list(self.waiting.items()):
            if (run.pool_key, run.node_id) == (pool_key, node_id):
                del self.waiting[run_key]
        return jobs

    def kill_job_runs(self, job_key: str) -> None:
        """The job is ending: its preparation runs are killed (their end is recorded then)."""
        for run_key, run in self.runs.items():
            if run.job_key == job_key and run.kind == PREP:
                self.nodes.send(run.pool_key, run.node_id, protocol.kill(run_key))

    def forget_job(self, job_key: str) -> None:
        for run_key in [k for k, r in self.runs.items() if r.job_key == job_key]:
            del self.runs[run_key]
        for run_key in [k for k, (r, _) in self.waiting.items() if r.ref.job == job_key]:
            del self.waiting[run_key]
