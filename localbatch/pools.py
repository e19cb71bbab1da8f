"""Pools: create, read, resize and delete; each node a local agent process."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from . import errors, states, validate, wire
from .autoscale import DEFAULT_INTERVAL, AutoScale, check_formula, run_document
from .background import Background
from .ids import key
from .nodes import NodeManager, new_node_doc
from .paths import Paths
from .registry import Registry
from .tasks import Tasks

POLL = 0.2   # seconds between checks while a leaving node waits for its tasks
PREEMPTED_SECONDS = 30   # how long a preempted node waits for capacity (the autoscale clock's)
UNSUPPORTED = ("applicationPackageReferences",)
TARGETS = ("targetDedicatedNodes", "targetLowPriorityNodes")
# What PATCH /pools/{poolId} may change here; the rest of BatchPoolUpdateOptions is refused.
UPDATABLE = ("displayName", "metadata", "startTask")
# A reboot of a node in these states is refused with the service's documented 409s. The spec
# says idle or running; Azure also reboots a starttaskfailed node, the usual fix for one. An
# unusable node is not rebooted here: localbatch restarts a lost node by itself.
NOT_REBOOTABLE = {"creating": errors.NodeBeingCreated, "starting": errors.NodeBeingStarted,
                  "waitingforstarttask": errors.NodeBeingStarted,
                  "rebooting": errors.NodeBeingRebooted, "unusable": errors.NodeStateUnusable,
                  "leavingpool": errors.OperationNotValidOnNode}


class Pools:
    def __init__(self, registry: Registry, nodes: NodeManager, tasks: Tasks, paths: Paths,
                 background: Background, base_url: str, max_nodes: int, autoscale: AutoScale):
        self.registry, self.nodes, self.tasks, self.paths = registry, nodes, tasks, paths
        self.background, self.base_url, self.max_nodes = background, base_url, max_nodes
        self.autoscale = autoscale
        autoscale.apply = self.apply_autoscale

    def get(self, pool_id: str) -> dict:
        pool = self.registry.pools.get(key(pool_id))
        if pool is None:
            raise errors.PoolNotFound()
        return pool

    def listed(self) -> list[tuple[str, dict]]:
        return sorted(self.registry.pools.items())

    def listed_nodes(self, pool_id: str) -> tuple[dict, list[tuple[str, dict]]]:
        pool = self.get(pool_id)
        return pool, sorted(self.registry.nodes.get(key(pool["id"]), {}).items())

    def node(self, pool_id: str, node_id: str) -> dict:
        pool = self.get(pool_id)
        node = self.registry.nodes.get(key(pool["id"]), {}).get(node_id)
        if node is None:
            raise errors.NodeNotFound()
        return node

    def node_folder(self, pool_id: str, node_id: str) -> Path:
        self.node(pool_id, node_id)
        return self.paths.node(key(pool_id), node_id)

    def _total_nodes(self) -> int:
        return sum(len(nodes) for nodes in self.registry.nodes.values())

    def create(self, body: dict) -> dict:
        """A new pool from a body the schema has checked (BatchPoolCreateOptions)."""
        pool_id = validate.ident(body["id"])
        validate.unsupported(body, UNSUPPORTED)
        validate.not_local(body, ("mountConfiguration",))
        validate.subnet((body.get("networkConfiguration") or {}).get("subnetId"))
        vm_config = body["virtualMachineConfiguration"]
        validate.not_local(vm_config, ("containerConfiguration",))
        image = vm_config["imageReference"]
        validate.image_id(image.get("virtualMachineImageId"))
        if key(pool_id) in self.registry.pools:
            raise errors.PoolExists()
        scaling = self._autoscale_options(body)
        stamp = wire.iso(wire.now())
        pool = {
            "id": pool_id, "url": f"{self.base_url}/pools/{pool_id}",
            "creationTime": stamp, "state": states.FIRST["pool"], "stateTransitionTime": stamp,
            "allocationState": "resizing", "allocationStateTransitionTime": stamp,
            "vmSize": body["vmSize"], "resizeTimeout": body.get("resizeTimeout") or "PT15M",
            "currentDedicatedNodes": 0, "currentLowPriorityNodes": 0,
            "targetDedicatedNodes": body.get("targetDedicatedNodes", 0),
            "targetLowPriorityNodes": body.get("targetLowPriorityNodes", 0),
            "enableAutoScale": False, **scaling, "enableInterNodeCommunication": False,
            "taskSlotsPerNode": body.get("taskSlotsPerNode", 1),
            "taskSchedulingPolicy": {"nodeFillType": validate.enum(
                (body.get("taskSchedulingPolicy") or {}).get("nodeFillType"), "spread")},
            "virtualMachineConfiguration": {**vm_config, "imageReference": image},
        }
        for name in ("displayName", "metadata", "networkConfiguration"):
            if body.get(name):
                pool[name] = body[name]
        if body.get("userAccounts"):
            pool["userAccounts"] = validate.user_accounts(body["userAccounts"])
        if body.get("startTask"):
            pool["startTask"] = self._start_task(body["startTask"])
        self.registry.touch(pool)
        self.registry.save_pool(pool)
        self._allocate(pool)
        if scaling:
            self.apply_autoscale(key(pool_id), self.autoscale.start(key(pool_id), pool, True))
        return pool

    def _autoscale_options(self, body: dict) -> dict:
        """A new pool's autoscale properties, with the spec's rules (BatchPoolCreateOptions):
        with enableAutoScale, autoScaleFormula "is required" and the targets "must not be
        specified"; without it, the formula "must not be specified"."""
        if not body.get("enableAutoScale"):
            if body.get("autoScaleFormula") is not None:
                raise validate.invalid("autoScaleFormula", "(a formula)", "autoScaleFormula must "
                                       "not be specified if enableAutoScale is false")
            return {}
        for name in TARGETS:
            if body.get(name) is not None:
                raise validate.invalid(name, body[name], f"{name} must not be specified if "
                                       "enableAutoScale is true: the formula sets it")
        formula = validate.require(body, "autoScaleFormula")
        check_formula(formula)
        interval = body.get("autoScaleEvaluationInterval") or DEFAULT_INTERVAL
        return {"enableAutoScale": True, "autoScaleFormula": formula,
                "autoScaleEvaluationInterval": wire.duration(
                    wire.duration_seconds(interval, "autoScaleEvaluationInterval"))}

    # -- autoscale ---------------------------------------------------------------------------

    def enable_autoscale(self, pool_id: str, body: dict) -> dict:
        """Enable Pool Auto Scale (REST): not while a resize is in progress, not twice within
        30 seconds; a formula is needed unless autoscale is on already, which then keeps its
        own; a new interval starts a new schedule from now."""
        pool = self._active(pool_id)
        pool_key = key(pool["id"])
        if pool["allocationState"] != "steady" and not pool["enableAutoScale"]:
            raise errors.PoolBeingResized()
        formula = body.get("autoScaleFormula")
        if formula is None and not pool["enableAutoScale"]:
            raise errors.MissingRequiredProperty(values={"PropertyName": "autoScaleFormula"})
        if formula is not None:
            check_formula(formula)
        self.autoscale.enabling(pool_key)
        interval = body.get("autoScaleEvaluationInterval")
        pool.update(enableAutoScale=True, autoScaleFormula=formula or pool["autoScaleFormula"],
                    autoScaleEvaluationInterval=wire.duration(wire.duration_seconds(
                        interval or pool.get("autoScaleEvaluationInterval") or DEFAULT_INTERVAL,
                        "autoScaleEvaluationInterval")))
        self.registry.touch(pool)
        self.apply_autoscale(pool_key, self.autoscale.start(pool_key, pool, interval is not None))
        return pool

    def disable_autoscale(self, pool_id: str) -> dict:
        """Disable Pool Auto Scale: the pool keeps the targets it has (recorded: the formula,
        interval and last run go from the pool)."""
        pool = self._active(pool_id)
        for name in ("autoScaleFormula", "autoScaleEvaluationInterval", "autoScaleRun"):
            pool.pop(name, None)
        pool["enableAutoScale"] = False
        self.autoscale.stop(key(pool["id"]))
        self.registry.touch(pool)
        self.registry.save_pool(pool)
        return pool

    def evaluate_autoscale(self, pool_id: str, body: dict) -> dict:
        """Evaluate Pool Auto Scale: "The Pool must have auto scaling enabled"; the formula is
        checked and run against the pool now, not applied."""
        pool = self._active(pool_id)
        if not pool["enableAutoScale"]:
            raise errors.AutoScalingNotEnabled()
        check_formula(body["autoScaleFormula"])
        return run_document(self.autoscale.run(key(pool["id"]), pool, body["autoScaleFormula"]))

    def apply_autoscale(self, pool_key: str, evaluation) -> None:
        """An evaluation's outcome: the pool's autoScaleRun, and (when it succeeded) its new
        targets, reached with its $NodeDeallocationOption. A failed run changes no target."""
        pool = self.registry.pools.get(pool_key)
        if pool is None or pool["state"] != "active" or not pool["enableAutoScale"]:
            return
        pool["autoScaleRun"] = run_document(evaluation)
        targets = evaluation.targets
        wanted = (targets["targetDedicatedNodes"], targets["targetLowPriorityNodes"])
        if evaluation.error is None and wanted != tuple(pool[name] for name in TARGETS):
            pool["targetDedicatedNodes"], pool["targetLowPriorityNodes"] = wanted
            pool["allocationState"] = "resizing"
            pool["allocationStateTransitionTime"] = wire.iso(wire.now())
            self.registry.touch(pool)
            self._allocate(pool, targets["nodeDeallocationOption"] or "requeue")
            return
        self.registry.touch(pool)
        self.registry.save_pool(pool)

    def _active(self, pool_id: str) -> dict:
        pool = self.get(pool_id)
        if pool["state"] == "deleting":
            raise errors.PoolBeingDeleted()
        return pool

    # -- Spot preemption ---------------------------------------------------------------------

    def preempt(self, pool_id: str, node_id: str) -> None:
        """Take a Spot node back, as Azure does (Learn, "Use Spot VMs with Batch"): the node
        shows preempted and stays in the pool (counted in currentLowPriorityNodes, as the spec
        says, and in $PreemptedNodeCount); its running tasks are requeued and run again when
        capacity returns; its VM is gone, and its files with it. The pool keeps its target, and
        the node comes back with its id through creating and starting: here after
        PREEMPTED_SECONDS of the autoscale clock (when Azure has capacity again is not known)."""
        pool = self._active(pool_id)
        pool_key = key(pool["id"])
        node = self.node(pool_id, node_id)
        if node["isDedicated"]:
            raise errors.NodeNotSpot()
        if node["state"] in ("preempted", "leavingpool"):
            raise errors.OperationNotValidOnNode(f"The node is {node['state']} already.")
        self.nodes.set_state(pool_key, node, "preempted")
        self.tasks.release_node(pool_key, node_id)
        self.background.spawn(self._preempted(pool_key, node_id))
        self.tasks.schedule()

    async def _preempted(self, pool_key: str, node_id: str) -> None:
        await self.nodes.stop(pool_key, node_id)
        await asyncio.sleep(max(2.0, PREEMPTED_SECONDS / self.autoscale.scale))
        pool = self.registry.pools.get(pool_key)
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if pool is not None and pool["state"] == "active" and node is not None \
                and node["state"] == "preempted":
            self.nodes.recreate(pool_key, node_id)

    def _start_task(self, spec: dict) -> dict:
        validate.not_local(spec, ("containerSettings",))
        return {
            "commandLine": spec["commandLine"],
            "resourceFiles": validate.resource_files(spec.get("resourceFiles")),
            "environmentSettings": list(spec.get("environmentSettings") or []),
            "userIdentity": validate.user_identity(spec.get("userIdentity")),
            "maxTaskRetryCount": spec.get("maxTaskRetryCount", 0),
            "waitForSuccess": spec.get("waitForSuccess", True),
        }

    def _allocate(self, pool: dict, deallocation: str = "requeue") -> None:
        """Create or remove nodes until the pool has its targets (within the local node quota)."""
        pool_key = key(pool["id"])
        nodes = self.registry.nodes.setdefault(pool_key, {})
        errors_seen = []
        for dedicated, target_name in ((True, "targetDedicatedNodes"),
                                       (False, "targetLowPriorityNodes")):
            mine = [n for n in nodes.values()
                    if n["isDedicated"] is dedicated and n["state"] != "leavingpool"]
            want = pool[target_name]
            for _ in range(want - len(mine)):
                if self._total_nodes() >= self.max_nodes:
                    errors_seen.append(self._quota_error(dedicated))
                    break
                self.nodes.add(pool_key, new_node_doc(self.base_url, pool, dedicated))
            # preempted nodes go first, then the least busy
            surplus = sorted(mine, key=lambda n: (n["state"] != "preempted",
                                                  n["runningTasksCount"]))[: max(0, len(mine) - want)]
            for node in surplus:
                self.nodes.set_state(pool_key, node, "leavingpool")
                self.background.spawn(self.remove_node(pool_key, node["id"], deallocation))
        if errors_seen:
            pool["resizeErrors"] = errors_seen[:1]
        else:
            pool.pop("resizeErrors", None)
        self.registry.save_pool(pool)
        self.node_allocated(pool_key)

    def _quota_error(self, dedicated: bool) -> dict:
        """The codes of .NET's PoolResizeErrorCodes: AccountCoreQuotaReached for dedicated
        cores, AccountLowPriorityCoreQuotaReached for Spot (low-priority) ones. The table also
        lists AccountSpotCoreQuotaReached; which of the two Azure answers today is not verified."""
        return {"code": "AccountCoreQuotaReached" if dedicated else
                "AccountLowPriorityCoreQuotaReached",
                "message": f"The local node quota ({self.max_nodes} nodes in all pools) was "
                           "reached; set LOCALBATCH_MAX_NODES to allow more.",
                "values": [{"name": "MaxNodes", "value": str(self.max_nodes)}]}

    def node_allocated(self, pool_key: str) -> None:
        """Count allocated nodes; the pool is steady once none is still being created."""
        pool = self.registry.pools.get(pool_key)
        if pool is None or pool["state"] != "active":
            return
        nodes = list(self.registry.nodes.get(pool_key, {}).values())
        pool["currentDedicatedNodes"] = sum(1 for n in nodes if n["isDedicated"])
        pool["currentLowPriorityNodes"] = sum(1 for n in nodes if not n["isDedicated"])
        if pool["allocationState"] == "resizing" and \
                all(n["state"] not in ("creating", "leavingpool") for n in nodes):
            pool["allocationState"] = "steady"
            pool["allocationStateTransitionTime"] = wire.iso(wire.now())
        self.registry.save_pool(pool)

    async def remove_node(self, pool_key: str, node_id: str, deallocation: str | None = None
                          ) -> None:
        """Take a node out of its pool, its running tasks handled as deallocation says (None:
        the pool is being deleted, and they are requeued without counting)."""
        if deallocation in ("taskcompletion", "retaineddata"):
            await self._drain(pool_key, node_id, deallocation == "retaineddata")
            if node_id not in self.registry.nodes.get(pool_key, {}):
                return   # removed meanwhile (its pool deleted)
        self.tasks.release_node(pool_key, node_id, deallocation)
        await self.nodes.remove(pool_key, node_id)
        self.node_allocated(pool_key)

    async def _drain(self, pool_key: str, node_id: str, retain: bool) -> None:
        """Wait until the node runs nothing, then (retain) until the retentionTime of every task
        that ran on it has passed; a task or job deleted meanwhile no longer holds it."""
        while node_id in self.registry.nodes.get(pool_key, {}) and (
                self.nodes.busy(pool_key, node_id) or (retain and self._retained_until(pool_key, node_id) > wire.now())):
            await asyncio.sleep(POLL)

    def _retained_until(self, pool_key: str, node_id: str) -> datetime:
        """When the files of the last task that ran on this node may go."""
        until = wire.now() - timedelta(seconds=1)
        pool_id = self.registry.pools[pool_key]["id"]
        for tasks in self.registry.tasks.values():
            for task in tasks.values():
                info = task.get("nodeInfo") or {}
                end = task["executionInfo"].get("endTime")
                if (info.get("poolId"), info.get("nodeId")) != (pool_id, node_id) or not end:
                    continue
                retention = wire.duration_seconds(task["constraints"]["retentionTime"],
                                                  "retentionTime")
                until = max(until, datetime.fromisoformat(end) + timedelta(seconds=retention))
        return until

    def resize(self, pool_id: str, body: dict) -> dict:
        pool = self._active(pool_id)
        if pool["enableAutoScale"]:
            raise errors.AutoScalingEnabled()
        if pool["allocationState"] != "steady":
            raise errors.PoolBeingResized()
        # What a resize down does with the removed nodes' running tasks (spec): requeue them
        # (counted in requeueCount), terminate them for good, let them complete, or let them
        # complete and keep the node until their retentionTime has passed.
        deallocation = validate.enum(body.get("nodeDeallocationOption"), "requeue")
        pool["targetDedicatedNodes"] = body.get("targetDedicatedNodes", 0)
        pool["targetLowPriorityNodes"] = body.get("targetLowPriorityNodes", 0)
        pool["allocationState"] = "resizing"
        pool["allocationStateTransitionTime"] = wire.iso(wire.now())
        self.registry.touch(pool)
        self._allocate(pool, deallocation)
        return pool

    def update(self, pool_id: str, body: dict) -> dict:
        """PATCH: only the properties present change; nodes pick up a new start task when they
        next boot (join the pool or reboot), as on Azure."""
        pool = self.get(pool_id)
        if pool["state"] == "deleting":
            raise errors.PoolBeingDeleted()
        validate.unsupported(body, tuple(name for name in body if name not in UPDATABLE))
        if body.get("startTask") is not None:
            pool["startTask"] = self._start_task(body["startTask"])
        for name in ("displayName", "metadata"):
            if body.get(name):
                pool[name] = body[name]
            elif name in body and body[name] is not None:   # an empty list or name clears it
                pool.pop(name, None)
        self.registry.touch(pool)
        self.registry.save_pool(pool)
        return pool

    def reboot(self, pool_id: str, node_id: str, body: dict) -> None:
        """The node goes rebooting at once (the SDK's poller waits while it is); its tasks are
        handled as nodeRebootOption says, then its agent restarts and runs the pool's current
        start task."""
        pool = self.get(pool_id)
        if pool["state"] == "deleting":
            raise errors.PoolBeingDeleted()
        pool_key = key(pool["id"])
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None:
            raise errors.NodeNotFound()
        if node["state"] in NOT_REBOOTABLE:
            raise NOT_REBOOTABLE[node["state"]]()
        option = validate.enum(body.get("nodeRebootOption"), "requeue")
        self.nodes.begin_reboot(pool_key, node, pool.get("startTask"))
        self.background.spawn(self._reboot(pool_key, node_id, option))

    async def _reboot(self, pool_key: str, node_id: str, option: str) -> None:
        if option in ("taskcompletion", "retaineddata"):
            await self._drain(pool_key, node_id, option == "retaineddata")
        else:
            self.tasks.release_node(pool_key, node_id, option)
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None or node["state"] != "rebooting":
            return   # removed, or lost and restarting already
        await self.nodes.stop(pool_key, node_id)
        pool = self.registry.pools.get(pool_key)
        if pool is None or pool["state"] != "active" or \
                node_id not in self.registry.nodes.get(pool_key, {}):
            return
        self.nodes.restart(pool_key, node_id)

    def delete(self, pool_id: str) -> None:
        pool = self.get(pool_id)
        if pool["state"] == "deleting":
            raise errors.PoolBeingDeleted()
        states.move("pool", pool, "deleting")
        self.registry.touch(pool)
        self.registry.save_pool(pool)
        self.autoscale.forget(key(pool_id))
        self.background.spawn(self.reclaim(key(pool_id)))

    async def reclaim(self, pool_key: str) -> None:
        """Stop the nodes of a deleted pool, then forget it."""
        await asyncio.gather(*(self.remove_node(pool_key, node_id)
                               for node_id in list(self.registry.nodes.get(pool_key, {}))))
        shutil.rmtree(self.paths.pool(pool_key), ignore_errors=True)
        self.registry.drop_pool(pool_key)

    def recover(self, pool_key: str) -> None:
        """After a restart: a deletion or node removal under way finishes, the nodes start."""
        if self.registry.pools[pool_key]["state"] == "deleting":
            self.background.spawn(self.reclaim(pool_key))
            return
        for node in list(self.registry.nodes.get(pool_key, {}).values()):
            if node["state"] == "leavingpool":   # its removal was under way
                self.background.spawn(self.remove_node(pool_key, node["id"]))
                continue
            if node["state"] == "preempted":   # its capacity came back meanwhile
                self.nodes.recreate(pool_key, node["id"])
                continue
            self.nodes.restart(pool_key, node["id"])
