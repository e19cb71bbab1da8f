"""Which tasks wait and which run where: the one owner of the task queues and the runs.

Every other part asks this book through its methods; nobody else changes its maps."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .ids import key


@dataclass(frozen=True, order=True)
class TaskRef:
    """A task's name inside the service: its job's key and its own."""
    job: str
    task: str

    @classmethod
    def of(cls, job_id: str, task_id: str) -> TaskRef:
        return cls(key(job_id), key(task_id))

    def __str__(self) -> str:
        return f"{self.job}/{self.task}"


@dataclass(eq=False)
class Run:
    """One dispatch of a task to a node. It holds its slots there until that node reports its
    end (or is gone), so a task deleted or requeued meanwhile cannot leak or double-free them."""
    key: str        # "job/task/n": the name the node knows this run by
    ref: TaskRef
    pool_key: str
    node_id: str
    slots: int


class RunBook:
    def __init__(self):
        self._queues: dict[str, dict[str, None]] = {}   # job key -> active task keys, FIFO
        self._running: dict[TaskRef, Run] = {}   # a task -> its current run
        self._runs: dict[str, Run] = {}          # run key -> every run still on a node
        self._ending: dict[str, dict] = {}       # run key -> failureInfo to record at its end
        self._serial = itertools.count(1)

    # -- the queues --------------------------------------------------------------------------

    def enqueue(self, ref: TaskRef) -> None:
        self._queues.setdefault(ref.job, {})[ref.task] = None

    def dequeue(self, ref: TaskRef) -> None:
        self._queues.get(ref.job, {}).pop(ref.task, None)

    def queued(self, job_key: str) -> list[str]:
        """The job's active task keys, first in first out."""
        return list(self._queues.get(job_key, ()))

    def has_queued(self, job_key: str) -> bool:
        return bool(self._queues.get(job_key))

    def drop_queue(self, job_key: str) -> None:
        self._queues.pop(job_key, None)

    # -- the runs ----------------------------------------------------------------------------

    def start(self, ref: TaskRef, pool_key: str, node_id: str, slots: int) -> Run:
        self.dequeue(ref)
        run = Run(f"{ref}/{next(self._serial)}", ref, pool_key, node_id, slots)
        self._running[ref] = self._runs[run.key] = run
        return run

    def current(self, ref: TaskRef) -> Run | None:
        return self._running.get(ref)

    def is_current(self, run: Run) -> bool:
        return self._running.get(run.ref) is run

    def get(self, run_key: str) -> Run | None:
        return self._runs.get(run_key)

    def running_in(self, job_key: str) -> int:
        return sum(1 for ref in self._running if ref.job == job_key)

    def job_runs(self, job_key: str) -> list[Run]:
        """Every run of the job still on a node, current or not."""
        return [r for r in self._runs.values() if r.ref.job == job_key]

    def on_node(self, pool_key: str, node_id: str) -> list[Run]:
        return [r for r in self._runs.values() if (r.pool_key, r.node_id) == (pool_key, node_id)]

    def is_on_node(self, run: Run) -> bool:
        return run.key in self._runs

    def end_with(self, run: Run, failure: dict) -> None:
        """Record why the run is being ended, for when its node reports the end."""
        self._ending[run.key] = failure

    def detach(self, ref: TaskRef) -> Run | None:
        """The task is no longer running (deleted): its run keeps its slots until its end."""
        return self._running.pop(ref, None)

    def ended(self, run_key: str) -> tuple[Run | None, dict | None, bool]:
        """A run's end: the run, why it was ended (None: by itself), and whether it was still
        its task's current run."""
        run = self._runs.pop(run_key, None)
        if run is None:
            return None, None, False
        ending = self._ending.pop(run_key, None)
        current = self._running.get(run.ref) is run
        if current:
            del self._running[run.ref]
        return run, ending, current

    def take_node(self, pool_key: str, node_id: str) -> list[Run]:
        """Forget every run on a node that is gone; return those still current for their task."""
        current = []
        for run in self.on_node(pool_key, node_id):
            del self._runs[run.key]
            self._ending.pop(run.key, None)
            if self._running.get(run.ref) is run:
                del self._running[run.ref]
                current.append(run)
        return current
