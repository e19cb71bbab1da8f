"""Looking jobs up and completing them: what both the job and the task manager need."""

from __future__ import annotations

from . import errors, states
from .ids import key
from .registry import Registry
from .runs import RunBook


class JobLife:
    def __init__(self, registry: Registry, book: RunBook):
        self.registry, self.book = registry, book

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
        """A terminating job completes once none of its tasks is running any more."""
        job = self.registry.jobs.get(job_key)
        if job is None or job["state"] != "terminating":
            return
        if not self.book.running_in(job_key):
            self.complete(job, job.pop("_terminateReason", "UserTerminate"))

    def complete(self, job: dict, reason: str) -> None:
        states.move("job", job, "completed")
        job["executionInfo"].update(endTime=job["stateTransitionTime"], terminateReason=reason)
        self.registry.save_job(job)

    def check_all_done(self, job_key: str) -> None:
        """onAllTasksComplete=terminatejob: the job completes when its last task does."""
        job = self.registry.jobs.get(job_key)
        if job is None or job["state"] != "active" or job["onAllTasksComplete"] != "terminatejob":
            return
        tasks = self.registry.tasks.get(job_key, {}).values()
        if tasks and all(t["state"] == "completed" for t in tasks):
            self.complete(job, "AllTasksComplete")
