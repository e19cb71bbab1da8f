"""Work the service runs beside its requests (reclaiming, draining, restarting nodes)."""

from __future__ import annotations

import asyncio
import logging

from .secrecy import frames

log = logging.getLogger(__name__)


class Background:
    def __init__(self):
        self.pending: set[asyncio.Task] = set()   # asyncio tasks, not Batch tasks

    def spawn(self, coro) -> None:
        """Run a coroutine in the background, keeping a reference so it is not collected."""
        work = asyncio.get_running_loop().create_task(coro)
        self.pending.add(work)
        work.add_done_callback(self._finished)

    def _finished(self, work: asyncio.Task) -> None:
        self.pending.discard(work)
        if not work.cancelled() and work.exception():
            log.error("background work failed: %s", frames(work.exception()))
