"""Handlers for /jobs."""

from __future__ import annotations

from .http import Call, Reply, accepted, created, entity, listing


def create_job(call: Call) -> Reply:
    return created(call.svc.jobs.create(call.body or {}))


def list_jobs(call: Call) -> Reply:
    return listing(call, sorted(call.svc.registry.jobs.items()), "jobs", "/jobs")


def get_job(call: Call) -> Reply:
    return entity(call, call.svc.jobs.get(call.params["job_id"]), "jobs")


def delete_job(call: Call) -> Reply:
    call.svc.jobs.delete(call.params["job_id"])
    return Reply(202)


def terminate_job(call: Call) -> Reply:
    reason = (call.body or {}).get("terminateReason") or "UserTerminate"
    call.svc.jobs.terminate(call.params["job_id"], reason)
    return accepted(call.svc.jobs.get(call.params["job_id"]))


def task_counts(call: Call) -> Reply:
    return Reply(200, call.svc.tasks.counts(call.params["job_id"]))
