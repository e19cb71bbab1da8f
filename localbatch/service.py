"""The service's state and behaviour, without HTTP: pools, nodes, jobs, tasks and the scheduler."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from . import errors, states, wire
from .jobs import Jobs
from .nodes import NodeManager
from .pools import Pools
from .registry import Registry
from .scheduler import Scheduler
from .store import Store
from .tasks import Tasks

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
            log.error("background work failed", exc_info=job.exception())

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

    def free_slot(self, pool_key: str, node_id: str, compound: str, succeeded: bool) -> None:
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None:
            return
        job_key, task_key = compound.split("/")
        task = self.registry.tasks.get(job_key, {}).get(task_key)
        node["runningTasksCount"] = max(0, node["runningTasksCount"] - 1)
        node["runningTaskSlotsCount"] = max(
            0, node["runningTaskSlotsCount"] - (task["requiredSlots"] if task else 1))
        node["totalTasksRun"] += 1
        node["totalTasksSucceeded"] += int(succeeded)
        if node["runningTasksCount"] == 0 and node["state"] == "running":
            states.move("node", node, "idle")
        self.registry.save_node(pool_key, node)

    def requeue_node_tasks(self, pool_key: str, node_id: str) -> None:
        """Tasks on a node that is gone run again elsewhere; as on Azure, no retry is counted."""
        for compound, placement in list(self.tasks.running.items()):
            if placement != (pool_key, node_id):
                continue
            del self.tasks.running[compound]
            job_key, task_key = compound.split("/")
            task = self.registry.tasks.get(job_key, {}).get(task_key)
            if task is not None and task["state"] == "running":
                self.tasks.requeue(job_key, task, count=False)

    def on_node_lost(self, pool_key: str, node_id: str) -> None:
        """A node's process died: its tasks are requeued, it shows unusable, then restarts."""
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None:
            return
        log.warning("node %s of pool %s was lost; restarting it", node_id, pool_key)
        self.requeue_node_tasks(pool_key, node_id)
        node["runningTasksCount"] = node["runningTaskSlotsCount"] = 0
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
        """After a restart: finish deletions, requeue what was running, start the nodes again."""
        reg = self.registry
        for job_key, job in list(reg.jobs.items()):
            if job["state"] == "deleting":
                reg.drop_job(job_key)
                continue
            tasks = sorted(reg.tasks.get(job_key, {}).items(), key=lambda kv: kv[1]["creationTime"])
            for task_key, task in tasks:
                if task["state"] == "running":
                    self.tasks.requeue(job_key, task, count=False)
                elif task["state"] == "active":
                    self.tasks.queues.setdefault(job_key, {})[task_key] = None
        for pool_key, pool in list(reg.pools.items()):
            if pool["state"] == "deleting":
                self.spawn(self.pools.reclaim(pool_key))
                continue
            for node in reg.nodes.get(pool_key, {}).values():
                node.update(state="creating", stateTransitionTime=wire.iso(wire.now()),
                            runningTasksCount=0, runningTaskSlotsCount=0)
                node.pop("startTaskInfo", None)
                reg.save_node(pool_key, node)
                self.node_manager.launch(pool_key, node["id"])

    async def shutdown(self) -> None:
        await asyncio.gather(*(self.node_manager.stop(p, n)
                               for p, n in list(self.node_manager.procs)))
        self.registry.store.close()
