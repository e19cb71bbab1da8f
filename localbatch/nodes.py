"""Compute nodes: one agent process each, their states, and what their events mean."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import states, wire
from .node_agent import die_with_parent, frames

if TYPE_CHECKING:
    from .service import Service

log = logging.getLogger(__name__)


def new_node_doc(svc: Service, pool: dict, dedicated: bool) -> dict:
    node_id = f"tvmps_{secrets.token_hex(32)}_{'d' if dedicated else 'p'}"
    stamp = wire.iso(wire.now())
    doc = {
        "id": node_id,
        "url": f"{svc.base_url}/pools/{pool['id']}/nodes/{node_id}",
        "state": "creating", "schedulingState": "enabled",
        "stateTransitionTime": stamp, "allocationTime": stamp,
        "ipAddress": "127.0.0.1", "affinityId": f"TVM:{node_id}", "vmSize": pool["vmSize"],
        "totalTasksRun": 0, "totalTasksSucceeded": 0,
        "runningTasksCount": 0, "runningTaskSlotsCount": 0,
        "isDedicated": dedicated,
        "nodeAgentInfo": {"version": "localbatch", "lastUpdateTime": stamp},
        "virtualMachineInfo": {"imageReference": {
            **pool["virtualMachineConfiguration"]["imageReference"], "exactVersion": "local"}},
    }
    if pool.get("startTask"):
        doc["startTask"] = pool["startTask"]
    return doc


def pid_file(nodes: Path, pool_key: str, node_id: str) -> Path:
    """Where the service records a node agent's pid: nodes/<pool>/<node>.pid (beside the node's
    folder, so the node's file listing does not show it)."""
    return nodes / pool_key / f"{node_id}.pid"


def forget_pid(path: Path, pid: int) -> None:
    """Remove a pid file if it still names this process (a rebooted node's agent may have
    written a new one meanwhile)."""
    try:
        if int(path.read_text()) == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


class NodeManager:
    """Starts and stops node agent processes and turns their events into state changes."""

    def __init__(self, svc: Service):
        self.svc = svc
        self.procs: dict[tuple[str, str], asyncio.subprocess.Process] = {}
        self.readers: set[asyncio.Task] = set()

    def root(self, pool_key: str, node_id: str):
        return self.svc.state_dir / "nodes" / pool_key / node_id

    def launch(self, pool_key: str, node_id: str) -> None:
        reader = asyncio.get_running_loop().create_task(self._run(pool_key, node_id))
        self.readers.add(reader)
        reader.add_done_callback(lambda done: self._ended(done, pool_key, node_id))

    def _ended(self, reader: asyncio.Task, pool_key: str, node_id: str) -> None:
        """A node's reader that fails is reported, and the node is treated as lost: its tasks
        run again and it restarts, never left creating or running with nobody listening."""
        self.readers.discard(reader)
        if reader.cancelled() or reader.exception() is None:
            return
        log.error("node %s of pool %s failed: %s", node_id, pool_key, frames(reader.exception()))
        proc = self.procs.pop((pool_key, node_id), None)
        if proc is not None and proc.returncode is None:
            proc.kill()
        self.svc.on_node_lost(pool_key, node_id)

    async def _run(self, pool_key: str, node_id: str) -> None:
        pool = self.svc.registry.pools[pool_key]
        node = self.svc.registry.nodes[pool_key][node_id]
        root = self.root(pool_key, node_id)
        root.mkdir(parents=True, exist_ok=True)
        logs = self.svc.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        with open(logs / f"node-{node_id[:16]}.log", "ab") as agent_log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "localbatch.node_agent", "--root", str(root),
                "--node-id", node_id, "--pool-id", pool["id"],
                "--account-name", self.svc.account, "--account-url", self.svc.base_url,
                "--bin-dir", str(self.svc.bin_dir), *(["--dedicated"] if node["isDedicated"] else []),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=agent_log,
                preexec_fn=die_with_parent, limit=1 << 24)
        self.procs[(pool_key, node_id)] = proc
        pids = pid_file(root.parent.parent, pool_key, node_id)
        pids.write_text(str(proc.pid))
        self.set_state(pool_key, node, "starting")
        self.svc.pools.node_allocated(pool_key)
        while line := await proc.stdout.readline():
            try:
                self.on_event(pool_key, node_id, json.loads(line))
            except Exception as exc:  # noqa: BLE001 (one bad event must not lose the node)
                log.error("node %s: an event failed: %s", node_id, frames(exc))
        await proc.wait()
        forget_pid(pids, proc.pid)
        if self.procs.pop((pool_key, node_id), None) is proc:
            self.svc.on_node_lost(pool_key, node_id)

    def send(self, pool_key: str, node_id: str, message: dict) -> None:
        proc = self.procs.get((pool_key, node_id))
        if proc is not None and proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.write((json.dumps(message) + "\n").encode())

    async def stop(self, pool_key: str, node_id: str) -> None:
        """Shut a node down: its tasks' process groups are killed, then the agent exits."""
        proc = self.procs.pop((pool_key, node_id), None)
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.write(b'{"op": "shutdown"}\n')
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=5)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()

    def set_state(self, pool_key: str, node: dict, new_state: str) -> None:
        if states.move("node", node, new_state):
            self.svc.registry.save_node(pool_key, node)

    def on_event(self, pool_key: str, node_id: str, event: dict) -> None:
        node = self.svc.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None:
            return
        kind = event["ev"]
        if node["state"] == "leavingpool" and kind not in ("started", "done"):
            return
        if kind == "ready":
            self.on_ready(pool_key, node)
        elif kind == "starttask":
            self.on_start_task(pool_key, node, event)
        elif kind == "started" and event["key"] != "startup":
            self.svc.tasks.on_started(event["key"], event["pid"])
        elif kind == "done":
            self.svc.tasks.on_done(event["key"], event)

    def on_ready(self, pool_key: str, node: dict) -> None:
        now = wire.iso(wire.now())
        node["lastBootTime"] = now
        node["nodeAgentInfo"]["lastUpdateTime"] = now
        start_task = node.get("startTask")
        if not start_task:
            self.set_state(pool_key, node, "idle")
            self.svc.scheduler.kick()
            return
        env = {s["name"]: s.get("value", "") for s in start_task.get("environmentSettings", [])}
        self.send(pool_key, node["id"], {"op": "start_task", "spec": {**start_task, "env": env}})
        self.set_state(pool_key, node, "waitingforstarttask" if start_task.get(
            "waitForSuccess", True) else "idle")
        self.svc.scheduler.kick()

    def on_start_task(self, pool_key: str, node: dict, event: dict) -> None:
        now = wire.iso(wire.now())
        info = node.setdefault("startTaskInfo", {})
        info.update(state=event["state"], retryCount=event["retryCount"])
        if event["state"] == "running":
            info.setdefault("startTime", now)
            if event["retryCount"]:
                info["lastRetryTime"] = now
            for stale in ("endTime", "exitCode", "result", "failureInfo"):
                info.pop(stale, None)
        else:
            info["endTime"] = now
            if event.get("exitCode") is not None:
                info["exitCode"] = event["exitCode"]
            failure = event.get("failure")
            if failure is None and event.get("exitCode") != 0:
                failure = {"category": "usererror", "code": "FailureExitCode",
                           "message": "The task process exited with an unexpected exit code"}
            info["result"] = "failure" if failure else "success"
            if failure:
                info["failureInfo"] = failure
            if node["state"] == "waitingforstarttask":
                self.set_state(pool_key, node, "starttaskfailed" if failure else "idle")
                self.svc.scheduler.kick()
        self.svc.registry.save_node(pool_key, node)
