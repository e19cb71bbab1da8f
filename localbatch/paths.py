"""Every folder and file the service keeps for its nodes and tasks, built in one place."""

from __future__ import annotations

from pathlib import Path

from .ids import key


def task_root(job_id: str, task_id: str) -> str:
    """A task's folder inside its node's root, as Azure names it (taskRootDirectory)."""
    return f"workitems/{job_id}/job-1/{task_id}"


class Paths:
    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.nodes = state_dir / "nodes"
        self.logs = state_dir / "logs"

    def pool(self, pool_key: str) -> Path:
        return self.nodes / pool_key

    def node(self, pool_key: str, node_id: str) -> Path:
        return self.nodes / pool_key / node_id

    def pid_file(self, pool_key: str, node_id: str) -> Path:
        """Where the service records a node agent's pid: beside the node's folder, so the
        node's file listing does not show it."""
        return self.nodes / pool_key / f"{node_id}.pid"

    def node_log(self, node_id: str) -> Path:
        return self.logs / f"node-{node_id[:16]}.log"

    def task(self, task: dict) -> Path:
        """The folder of a task that was dispatched (it has nodeInfo)."""
        info = task["nodeInfo"]
        return self.node(key(info["poolId"]), info["nodeId"]) / info["taskRootDirectory"]

    def job_folders(self, job_id: str, nodes: dict[str, dict]) -> list[Path]:
        """The job's folder on every node of every pool (nodes: pool key -> node id -> node)."""
        return [self.node(pool_key, node_id) / "workitems" / job_id
                for pool_key, pool_nodes in nodes.items() for node_id in pool_nodes]
