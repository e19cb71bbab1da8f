"""The service's state and behaviour, without HTTP: pools, nodes, jobs, tasks and the scheduler."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from . import errors, states, wire
from .jobs import Jobs
from .node_agent import frames
from .nodes import NodeManager
from .pools import Pools
from .registry import Registry
from .scheduler import Scheduler
from .store import Store
from .tasks import Run, Tasks

log = logging.getLogger(__name__)


class Service:
    def __init__(self, state_dir: Path, account: str, key: str, base_url: str, bin_dir: Path,
                 max_nodes: int = 8):
        self.state_dir = state_dir
        self.account, self.key, self.base_url = account, key, base_url
        self.bin_dir, self.max_nodes = bin_dir, max_nodes
        self.registry = Registry(Store(state_dir / "batch.sqlite"))
        self.node_manager = NodeManager(self)
        self.scheduler = Scheduler(self)
        self.pools, self.jobs, self.tasks = Pools(self), Jobs(self), Tasks(self)
        self.background: set[asyncio.Task] = set()

    def spawn(self, coro) -> None:
        """Run a coroutine in the background, keeping a reference so it is not collected."""
        job = asyncio.get_running_loop().create_task(coro)
        self.background.add(job)
        job.add_done_callback(self._finished)

    def _finished(self, job: asyncio.Task) -> None:
        self.background.discard(job)
        if not job.cancelled() and job.exception():
            log.error("background work failed: %s", frames(job.exception()))

    def error_body(self, exc: errors.BatchError, request_id: str = "") -> dict:
        """The service's BatchError JSON for an exception."""
        body = {
            "odata.metadata": f"{self.base_url}/$metadata#Microsoft.Azure.Batch.Protocol."
                              "Entities.Container.errors/@Element",
            "code": exc.code,
            "message": {"lang": "en-US", "value": f"{exc.message}\nRequestId:{request_id}\n"
                                                  f"Time:{wire.iso(wire.now())}"},
        }
        if exc.values:
            body["values"] = [{"key": k, "value": v} for k, v in exc.values.items()]
        return body

    def total_nodes(self) -> int:
        return sum(len(nodes) for nodes in self.registry.nodes.values())

    def task_dir(self, task: dict) -> Path:
        info = task["nodeInfo"]
        return self.node_manager.root(info["poolId"].lower(), info["nodeId"]) / \
            info["taskRootDirectory"]

    # -- nodes and tasks meeting -------------------------------------------------------------

    def count_slots(self, pool_key: str, node_id: str) -> None:
        """A node's running counts, from the runs it holds: counted, never incremented, so they
        cannot drift."""
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None:
            return
        mine = [r for r in self.tasks.runs.values() if (r.pool_key, r.node_id) == (pool_key, node_id)]
        node["runningTasksCount"] = len(mine)
        node["runningTaskSlotsCount"] = sum(r.slots for r in mine)
        if mine and node["state"] == "idle":
            states.move("node", node, "running")
        elif not mine and node["state"] == "running":
            states.move("node", node, "idle")
        self.registry.save_node(pool_key, node)

    def run_ended(self, run: Run, succeeded: bool) -> None:
        node = self.registry.nodes.get(run.pool_key, {}).get(run.node_id)
        if node is not None:
            node["totalTasksRun"] += 1
            node["totalTasksSucceeded"] += int(succeeded)
        self.count_slots(run.pool_key, run.node_id)

    def requeue_node_tasks(self, pool_key: str, node_id: str, count: bool = False) -> None:
        """Tasks on a node that is gone run again elsewhere. As on Azure, a lost node counts no
        retry, and only a requeue the user asked for (resize with `requeue`) counts a requeue."""
        for run in self.tasks.take_node_runs(pool_key, node_id):
            job_key, task = self.tasks.task_of(run)
            if task is not None and task["state"] == "running":
                self.tasks.requeue(job_key, task, count=count)

    def on_node_lost(self, pool_key: str, node_id: str) -> None:
        """A node's process died: its tasks are requeued, it shows unusable, then restarts."""
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None:
            return
        self.requeue_node_tasks(pool_key, node_id)
        if node["state"] == "leavingpool":   # on its way out anyway: nothing to restart
            self.scheduler.kick()
            return
        log.warning("node %s of pool %s was lost; restarting it", node_id, pool_key)
        states.move("node", node, "unusable")
        self.registry.save_node(pool_key, node)
        self.scheduler.kick()
        self.spawn(self._replace_node(pool_key, node_id))

    async def _replace_node(self, pool_key: str, node_id: str) -> None:
        await asyncio.sleep(1)  # a node that dies at once must not restart in a tight loop
        pool = self.registry.pools.get(pool_key)
        if pool is not None and pool["state"] == "active" and \
                node_id in self.registry.nodes.get(pool_key, {}):
            self.node_manager.launch(pool_key, node_id)

    # -- start and stop ----------------------------------------------------------------------

    def recover(self) -> None:
        """After a restart: finish deletions, requeue what was running, start the nodes again.
        A job or pool that cannot be recovered is logged and left alone; the rest start."""
        for job_key in list(self.registry.jobs):
            self._isolated(f"job {job_key!r}", self._recover_job, job_key)
        for pool_key in list(self.registry.pools):
            self._isolated(f"pool {pool_key!r}", self._recover_pool, pool_key)

    def _isolated(self, what: str, step, *args) -> None:
        try:
            step(*args)
        except Exception as exc:  # noqa: BLE001 (one bad stored document must not stop the rest)
            log.error("%s could not be recovered: %s", what, frames(exc))

    def _recover_job(self, job_key: str) -> None:
        reg = self.registry
        if reg.jobs[job_key]["state"] == "deleting":
            reg.drop_job(job_key)
            return
        tasks = sorted(reg.tasks.get(job_key, {}).items(), key=lambda kv: kv[1]["creationTime"])
        for task_key, task in tasks:
            if task["state"] == "running":
                self.tasks.requeue(job_key, task, count=False)
            elif task["state"] == "active":
                self.tasks.queues.setdefault(job_key, {})[task_key] = None

    def _recover_pool(self, pool_key: str) -> None:
        reg = self.registry
        if reg.pools[pool_key]["state"] == "deleting":
            self.spawn(self.pools.reclaim(pool_key))
            return
        for node in list(reg.nodes.get(pool_key, {}).values()):
            if node["state"] == "leavingpool":   # its removal was under way
                self.spawn(self.pools.remove_node(pool_key, node["id"]))
                continue
            node.update(state="creating", stateTransitionTime=wire.iso(wire.now()),
                        runningTasksCount=0, runningTaskSlotsCount=0)
            node.pop("startTaskInfo", None)
            reg.save_node(pool_key, node)
            self.node_manager.launch(pool_key, node["id"])

    async def shutdown(self) -> None:
        await asyncio.gather(*(self.node_manager.stop(p, n)
                               for p, n in list(self.node_manager.procs)))
        self.registry.store.close()
