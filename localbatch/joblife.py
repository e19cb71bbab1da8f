"""Looking jobs up and completing them: what both the job and the task manager need."""

from __future__ import annotations

import logging

from . import errors, states
from .ids import key
from .jobprep import JobPrep
from .registry import Registry
from .runs import RunBook
from .scheduler import internal_error
from .secrecy import frames

log = logging.getLogger(__name__)


class JobLife:
    def __init__(self, registry: Registry, book: RunBook, prep: JobPrep):
        self.registry, self.book, self.prep = registry, book, prep
        self._unschedulable: set[str] = set()   # jobs whose scheduling error was shown

    def get(self, job_id: str) -> dict:
        job = self.registry.jobs.get(key(job_id))
        if job is None:
            raise errors.JobNotFound()
        return job

    def open(self, job_id: str) -> dict:
        """A job that still takes tasks, or the service's 409 saying why not."""
        job = self.get(job_id)
        if job["state"] == "deleting":
            raise errors.JobBeingDeleted()
        if job["state"] == "terminating":
            raise errors.JobBeingTerminated()
        if job["state"] == "completed":
            raise errors.JobCompleted()
        return job

    def check_terminated(self, job_key: str) -> None:
        """A terminating job completes once none of its tasks is running any more, and its
        release task (if any) has run on the nodes that ran its preparation task."""
        job = self.registry.jobs.get(job_key)
        if job is None or job["state"] != "terminating":
            return
        if not self.book.running_in(job_key) and not self.prep.releasing(job):
            reason = self.registry.job_side.get(job_key, {}).get("terminateReason")
            self.registry.save_job_side(job_key, terminateReason=None)
            self.complete(job, reason or "UserTerminate")

    def complete(self, job: dict, reason: str) -> None:
        states.move("job", job, "completed")
        job["executionInfo"].update(endTime=job["stateTransitionTime"], terminateReason=reason)
        self.registry.save_job(job)

    def check_all_done(self, job_key: str) -> None:
        """onAllTasksComplete=terminatejob: the job completes when its last task does (after
        its release tasks, if it has them: it is terminating meanwhile)."""
        job = self.registry.jobs.get(job_key)
        if job is None or job["state"] != "active" or job["onAllTasksComplete"] != "terminatejob":
            return
        tasks = self.registry.tasks.get(job_key, {}).values()
        if tasks and all(t["state"] == "completed" for t in tasks):
            if job.get("jobReleaseTask"):
                states.move("job", job, "terminating")
                self.registry.save_job_side(job_key, terminateReason="AllTasksComplete")
                self.registry.save_job(job)
                self.check_terminated(job_key)
            else:
                self.complete(job, "AllTasksComplete")

    def unschedulable(self, job: dict, exc: Exception) -> None:
        """A job the scheduler cannot use (a bad stored document): where it failed is logged, and
        shown as the job's scheduling error, once per job while the service runs."""
        name = repr(job.get("id"))
        if name in self._unschedulable:
            return
        self._unschedulable.add(name)
        log.error("job %s cannot be scheduled: %s", name, frames(exc))
        if isinstance(job.get("executionInfo"), dict):
            job["executionInfo"]["schedulingError"] = internal_error("job", exc)
        if isinstance(job.get("id"), str):
            self.registry.save_job(job)
