"""Work the service runs beside its requests (reclaiming, draining, restarting nodes)."""

from __future__ import annotations

import asyncio
import logging

from .node_agent import frames

log = logging.getLogger(__name__)


class Background:
    def __init__(self):
        self.jobs: set[asyncio.Task] = set()

    def spawn(self, coro) -> None:
        """Run a coroutine in the background, keeping a reference so it is not collected."""
        job = asyncio.get_running_loop().create_task(coro)
        self.jobs.add(job)
        job.add_done_callback(self._finished)

    def _finished(self, job: asyncio.Task) -> None:
        self.jobs.discard(job)
        if not job.cancelled() and job.exception():
            log.error("background work failed: %s", frames(job.exception()))
