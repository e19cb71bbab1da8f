"""Compute nodes: one agent process each, their states and slots, and their events passed on."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import secrets
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import image_apt, protocol, states, wire
from .image import Image
from .paths import Paths
from .registry import Registry
from .runs import Run, RunBook
from .secrecy import frames

log = logging.getLogger(__name__)
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


class NodeEvents(Protocol):
    """The one handler of what nodes report (wired in service.py)."""

    def node_started(self, pool_key: str) -> None: ...
    def node_ready(self) -> None: ...
    def node_lost(self, pool_key: str, node_id: str) -> None: ...
    def task_started(self, run_key: str, pid: int) -> None: ...
    def task_done(self, run_key: str, event: dict) -> None: ...


@dataclass(frozen=True)
class AgentSettings:
    """What every node agent process (node_agent.Agent) is started with."""
    account: str
    base_url: str
    image: Image


def new_node_doc(base_url: str, pool: dict, dedicated: bool) -> dict:
    node_id = f"tvmps_{secrets.token_hex(32)}_{'d' if dedicated else 'p'}"
    stamp = wire.iso(wire.now())
    doc = {
        "id": node_id,
        "url": f"{base_url}/pools/{pool['id']}/nodes/{node_id}",
        "state": states.FIRST["node"], "schedulingState": "enabled",
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


def die_with_parent() -> None:
    """Run in a node agent before it starts: the kernel kills it when the service dies (Linux;
    a no-op elsewhere), so no node outlives the service."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def forget_pid(path: Path, pid: int) -> None:
    """Remove a pid file if it still names this process (a rebooted node's agent may have
    written a new one meanwhile)."""
    try:
        if int(path.read_text()) == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


class NodeManager:
    """Starts and stops node agent processes, owns their states and slot counts, and passes
    what they report to one handler."""

    def __init__(self, registry: Registry, book: RunBook, paths: Paths,
                 agent_settings: AgentSettings):
        self.registry, self.book, self.paths = registry, book, paths
        self.agent_settings = agent_settings
        self.events: NodeEvents | None = None
        self.procs: dict[tuple[str, str], asyncio.subprocess.Process] = {}
        self.readers: set[asyncio.Task] = set()

    def attach(self, events: NodeEvents) -> None:
        self.events = events

    # -- a node's life: the pool manager asks, this manager changes the node ------------------

    def add(self, pool_key: str, node: dict) -> None:
        """A new node (new_node_doc) joins the pool, and its agent starts."""
        self.registry.save_node(pool_key, node)
        self.launch(pool_key, node["id"])

    def begin_reboot(self, pool_key: str, node: dict, start_task: dict | None) -> None:
        """The node shows rebooting, and will run the pool's current start task (if any)."""
        if start_task:
            node["startTask"] = start_task
        else:
            node.pop("startTask", None)
        self.set_state(pool_key, node, "rebooting")

    def restart(self, pool_key: str, node_id: str) -> None:
        """Start the node's agent again (after a reboot, or the service's restart): its start
        task runs anew, and it holds no run until the scheduler gives it one."""
        node = self.registry.nodes[pool_key][node_id]
        node.pop("startTaskInfo", None)
        self.set_state(pool_key, node, "starting")
        self.count_slots(pool_key, node_id)   # saves the node
        self.launch(pool_key, node_id)

    def recreate(self, pool_key: str, node_id: str) -> None:
        """A preempted node back on a new VM: nothing of its old disk (folder, installed
        packages), its start task run anew, through creating and starting."""
        node = self.registry.nodes[pool_key][node_id]
        root = self.paths.node(pool_key, node_id)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(image_apt.packages_dir(root), ignore_errors=True)
        node.pop("startTaskInfo", None)
        self.set_state(pool_key, node, "creating")
        self.count_slots(pool_key, node_id)   # saves the node
        self.launch(pool_key, node_id)

    async def remove(self, pool_key: str, node_id: str) -> None:
        """Shut the node down and forget it, with its folder and what its apt-get installed."""
        await self.stop(pool_key, node_id)
        self.registry.drop_node(pool_key, node_id)
        root = self.paths.node(pool_key, node_id)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(image_apt.packages_dir(root), ignore_errors=True)

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
        self.events.node_lost(pool_key, node_id)

    async def _run(self, pool_key: str, node_id: str) -> None:
        pool = self.registry.pools[pool_key]
        node = self.registry.nodes[pool_key][node_id]
        root = self.paths.node(pool_key, node_id)
        root.mkdir(parents=True, exist_ok=True)
        self.paths.logs.mkdir(exist_ok=True)
        with open(self.paths.node_log(node_id), "ab") as agent_log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "localbatch.node_agent", "--root", str(root),
                "--node-id", node_id, "--pool-id", pool["id"],
                "--account-name", self.agent_settings.account,
                "--account-url", self.agent_settings.base_url,
                "--path-admin", self.agent_settings.image.path["admin"],
                "--path-user", self.agent_settings.image.path["user"],
                "--apt-config", self.agent_settings.image.apt_config,
                *(["--dedicated"] if node["isDedicated"] else []),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=agent_log,
                preexec_fn=die_with_parent, limit=1 << 24)
        self.procs[(pool_key, node_id)] = proc
        pids = self.paths.pid_file(pool_key, node_id)
        pids.write_text(str(proc.pid))
        self.set_state(pool_key, node, "starting")
        self.events.node_started(pool_key)
        while line := await proc.stdout.readline():
            try:
                self.on_event(pool_key, node_id, protocol.decode(line))
            except Exception as exc:  # noqa: BLE001 (one bad event must not lose the node)
                log.error("node %s: an event failed: %s", node_id, frames(exc))
        await proc.wait()
        forget_pid(pids, proc.pid)
        if self.procs.pop((pool_key, node_id), None) is proc:
            self.events.node_lost(pool_key, node_id)

    def send(self, pool_key: str, node_id: str, message: dict) -> None:
        proc = self.procs.get((pool_key, node_id))
        if proc is not None and proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.write(protocol.encode(message))

    async def stop(self, pool_key: str, node_id: str) -> None:
        """Shut a node down: its tasks' process groups are killed, then the agent exits."""
        proc = self.procs.pop((pool_key, node_id), None)
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.write(protocol.encode(protocol.shutdown()))
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=5)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()

    def set_state(self, pool_key: str, node: dict, new_state: str) -> None:
        if states.move("node", node, new_state):
            self.registry.save_node(pool_key, node)

    def on_event(self, pool_key: str, node_id: str, event: dict) -> None:
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None:
            return
        kind = event["ev"]
        if node["state"] in ("leavingpool", "preempted") and \
                kind not in (protocol.STARTED, protocol.DONE):
            return
        if kind == protocol.READY:
            self.on_ready(pool_key, node)
        elif kind == protocol.START_TASK_STATE:
            self.on_start_task(pool_key, node, event)
        elif kind == protocol.STARTED and event["key"] != protocol.START_TASK_KEY:
            self.events.task_started(event["key"], event["pid"])
        elif kind == protocol.DONE:
            self.events.task_done(event["key"], event)

    def on_ready(self, pool_key: str, node: dict) -> None:
        now = wire.iso(wire.now())
        node["lastBootTime"] = now
        node["nodeAgentInfo"]["lastUpdateTime"] = now
        self.registry.save_node(pool_key, node)
        start_task = node.get("startTask")
        if not start_task:
            self.set_state(pool_key, node, "idle")
            self.events.node_ready()
            return
        env = {s["name"]: s.get("value", "") for s in start_task.get("environmentSettings", [])}
        pool = self.registry.pools[pool_key]
        self.send(pool_key, node["id"], protocol.start_task(
            {**start_task, "env": env, "admin": protocol.admin(start_task["userIdentity"], pool)}))
        self.set_state(pool_key, node, "waitingforstarttask" if start_task.get(
            "waitForSuccess", True) else "idle")
        self.events.node_ready()

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
                self.events.node_ready()
        self.registry.save_node(pool_key, node)

    # -- slots: counted from the runs a node holds, never incremented, so they cannot drift --

    def dispatch(self, run: Run, spec: dict) -> None:
        """Send a run to its node, whose slots it now holds."""
        self.count_slots(run.pool_key, run.node_id)
        self.send(run.pool_key, run.node_id, protocol.run(run.key, spec))

    def kill(self, run: Run) -> None:
        self.send(run.pool_key, run.node_id, protocol.kill(run.key))

    def count_slots(self, pool_key: str, node_id: str) -> None:
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None:
            return
        mine = self.book.on_node(pool_key, node_id)
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

    def busy(self, pool_key: str, node_id: str) -> bool:
        return bool(self.book.on_node(pool_key, node_id))

    # -- a node lost -------------------------------------------------------------------------

    def mark_lost(self, pool_key: str, node_id: str) -> bool:
        """A lost node shows unusable; whether it should restart (not when it was leaving)."""
        node = self.registry.nodes.get(pool_key, {}).get(node_id)
        if node is None or node["state"] == "leavingpool":
            return False
        log.warning("node %s of pool %s was lost; restarting it", node_id, pool_key)
        self.set_state(pool_key, node, "unusable")
        return True

    async def replace(self, pool_key: str, node_id: str) -> None:
        await asyncio.sleep(1)  # a node that dies at once must not restart in a tight loop
        pool = self.registry.pools.get(pool_key)
        if pool is not None and pool["state"] == "active" and \
                node_id in self.registry.nodes.get(pool_key, {}):
            self.launch(pool_key, node_id)

    def pid(self, pool_key: str, node_id: str) -> int | None:
        """The node's agent process, while it runs."""
        proc = self.procs.get((pool_key, node_id))
        return proc.pid if proc is not None and proc.returncode is None else None

    def exists(self, pool_key: str, node_id: str) -> bool:
        return node_id in self.registry.nodes.get(pool_key, {})
