"""Handlers for /jobs."""

from __future__ import annotations

from .. import schema, wire
from .http import Call, Reply, accepted, created, entity, entity_headers, listing


def create_job(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchJobCreateOptions", body)
    return created(call.svc.jobs.create(body))


def list_jobs(call: Call) -> Reply:
    return listing(call, call.svc.jobs.listed(), "jobs", "/jobs")


def get_job(call: Call) -> Reply:
    return entity(call, call.svc.jobs.get(call.params["job_id"]), "jobs")


REPLACEABLE = ("priority", "maxParallelTasks", "allowTaskPreemption", "constraints", "poolInfo",
               "onAllTasksComplete", "metadata", "networkConfiguration")


def update_job(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchJobUpdateOptions", body)
    wire.precondition(call.headers, call.svc.jobs.get(call.params["job_id"]), read=False)
    return Reply(200, None, entity_headers(call.svc.jobs.update(call.params["job_id"], body,
                                                                replace=False)))


def replace_job(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    # the SDK sends a BatchJob: what PUT can change is what PATCH can, checked the same way,
    # and its read-only properties (a job read with get_job, sent back) are ignored
    schema.check("BatchJobUpdateOptions", {name: body[name] for name in REPLACEABLE
                                           if name in body})
    wire.precondition(call.headers, call.svc.jobs.get(call.params["job_id"]), read=False)
    return Reply(200, None, entity_headers(call.svc.jobs.update(call.params["job_id"], body,
                                                                replace=True)))


def list_preparation_status(call: Call) -> Reply:
    job_id = call.params["job_id"]
    return listing(call, call.svc.jobs.preparation_status(job_id),
                   "jobpreparationandreleasetaskstatuslist",
                   f"/jobs/{job_id}/jobpreparationandreleasetaskstatus")


def delete_job(call: Call) -> Reply:
    wire.precondition(call.headers, call.svc.jobs.get(call.params["job_id"]), read=False)
    call.svc.jobs.delete(call.params["job_id"])
    return Reply(202)


def terminate_job(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchJobTerminateOptions", body)
    wire.precondition(call.headers, call.svc.jobs.get(call.params["job_id"]), read=False)
    reason = body.get("terminateReason") or "UserTerminate"
    call.svc.jobs.terminate(call.params["job_id"], reason)
    return accepted(call.svc.jobs.get(call.params["job_id"]))


def task_counts(call: Call) -> Reply:
    return Reply(200, call.svc.tasks.counts(call.params["job_id"]))
