"""The one handler of what nodes report: each event goes to the manager that owns its state."""

from __future__ import annotations

from .background import Background
from .nodes import NodeManager
from .pools import Pools
from .tasks import Tasks


class NodeEventHandler:
    def __init__(self, nodes: NodeManager, pools: Pools, tasks: Tasks, background: Background):
        self.nodes, self.pools, self.tasks, self.background = nodes, pools, tasks, background

    def node_started(self, pool_key: str) -> None:
        self.pools.node_allocated(pool_key)

    def node_ready(self) -> None:
        """A node became idle or ran its start task: work may fit now."""
        self.tasks.schedule()

    def task_started(self, run_key: str, pid: int) -> None:
        self.tasks.on_started(run_key, pid)

    def task_done(self, run_key: str, event: dict) -> None:
        self.tasks.on_done(run_key, event)

    def node_lost(self, pool_key: str, node_id: str) -> None:
        """A node's process died: its tasks are requeued, it shows unusable, then restarts
        (unless it was leaving the pool anyway)."""
        if not self.nodes.exists(pool_key, node_id):
            return
        self.tasks.release_node(pool_key, node_id)
        restart = self.nodes.mark_lost(pool_key, node_id)
        self.tasks.schedule()
        if restart:
            self.background.spawn(self.nodes.replace(pool_key, node_id))
