"""Handlers for a job's tasks."""

from __future__ import annotations

from ..registry import key
from .http import Call, Reply, created, entity, listing


def create_task(call: Call) -> Reply:
    return created(call.svc.tasks.create(call.params["job_id"], call.body or {}))


def create_task_collection(call: Call) -> Reply:
    results = call.svc.tasks.create_collection(call.params["job_id"], call.body or {},
                                               call.request_id)
    return Reply(200, {"value": results})


def list_tasks(call: Call) -> Reply:
    job = call.svc.jobs.get(call.params["job_id"])
    tasks = call.svc.registry.tasks.get(key(job["id"]), {})
    return listing(call, sorted(tasks.items()), "tasks", f"/jobs/{job['id']}/tasks")


def get_task(call: Call) -> Reply:
    return entity(call, call.svc.tasks.get(call.params["job_id"], call.params["task_id"]),
                  "tasks")


def delete_task(call: Call) -> Reply:
    call.svc.tasks.delete(call.params["job_id"], call.params["task_id"])
    return Reply(200)


def terminate_task(call: Call) -> Reply:
    call.svc.tasks.terminate(call.params["job_id"], call.params["task_id"])
    return Reply(204)
