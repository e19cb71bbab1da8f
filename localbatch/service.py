"""The service without HTTP: builds the managers, hands each the few parts it calls, and wires
the nodes' events back to them. Nothing here decides what a task or a node does."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from .autoscale import AutoScale
from .background import Background
from .events import NodeEventHandler
from .image import Image
from .joblife import JobLife
from .jobprep import JobPrep
from .jobs import Jobs
from .nodes import AgentSettings, NodeManager
from .paths import Paths
from .pools import Pools
from .registry import Registry
from .runs import RunBook
from .scheduler import Scheduler
from .secrecy import frames
from .store import Store
from .tasks import Tasks
from .tokens import Identity

log = logging.getLogger(__name__)


class Service:
    def __init__(self, state_dir: Path, account: str, key: str, base_url: str, image: Image,
                 max_nodes: int = 8, identity: Identity | None = None, identity_header: str = "",
                 time_scale: float = 1.0):
        self.account, self.key, self.base_url = account, key, base_url
        self.identity, self.identity_header = identity, identity_header   # None: no tokens
        self.registry = Registry(Store(state_dir / "batch.sqlite"))
        self.background = Background()
        book, paths = RunBook(), Paths(state_dir)
        self.node_manager = NodeManager(self.registry, book, paths,
                                        AgentSettings(account, base_url, image))
        prep = JobPrep(self.registry, self.node_manager)
        life = JobLife(self.registry, book, prep)
        scheduler = Scheduler(self.registry, book, prep)
        self.tasks = Tasks(self.registry, book, life, scheduler, self.node_manager, paths, prep)
        self.jobs = Jobs(self.registry, life, self.tasks, prep, paths, self.background, base_url)
        self.autoscale = AutoScale(self.registry, self.node_manager, time_scale)
        self.pools = Pools(self.registry, self.node_manager, self.tasks, paths, self.background,
                           base_url, max_nodes, self.autoscale)
        self.node_manager.attach(NodeEventHandler(self.node_manager, self.pools, self.tasks,
                                                  self.background))

    def commit(self) -> None:
        """What a request changed goes to disk before it is answered."""
        self.registry.store.flush()

    def recover(self) -> None:
        """At start: finish deletions, requeue what was running, start the nodes again, and the
        autoscale clock. A job or pool that cannot be recovered is logged and left alone; the
        rest start."""
        for job_key in list(self.registry.jobs):
            self._isolated(f"job {job_key!r}", self.jobs.recover, job_key)
        for pool_key in list(self.registry.pools):
            self._isolated(f"pool {pool_key!r}", self.pools.recover, pool_key)
        self.background.spawn(self.autoscale.tick_forever())

    def _isolated(self, what: str, step, *args) -> None:
        try:
            step(*args)
        except Exception as exc:  # noqa: BLE001 (one bad stored document must not stop the rest)
            log.error("%s could not be recovered: %s", what, frames(exc))

    async def shutdown(self) -> None:
        await asyncio.gather(*(self.node_manager.stop(p, n)
                               for p, n in list(self.node_manager.procs)))
        self.registry.store.close()
