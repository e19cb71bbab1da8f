"""Handlers for a job's tasks."""

from __future__ import annotations

from .. import errors, schema, wire
from .http import Call, Reply, created, entity, error_body, listing


def create_task(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchTaskCreateOptions", body)
    return created(call.svc.tasks.create(call.params["job_id"], body))


def create_task_collection(call: Call) -> Reply:
    """Each task is checked on its own: a bad one is that task's clienterror, not the request's."""
    items = schema.check_collection({} if call.body is None else call.body)
    good, refused = [], []
    for item in items:
        error = schema.refusal("BatchTaskCreateOptions", item)
        if error is None:
            good.append(item)
            continue
        task_id = item.get("id") if isinstance(item, dict) else None
        refused.append({"status": "clienterror", "taskId": task_id,
                        "error": error_body(error, call.base_url, call.request_id)})
    results = [_added(call, task_id, outcome) for task_id, outcome in
               call.svc.tasks.create_collection(call.params["job_id"], good)]
    return Reply(200, {"value": results + refused})


def _added(call: Call, task_id: str | None, outcome: dict | errors.BatchError) -> dict:
    """One task's entry in an addtaskcollection answer."""
    if isinstance(outcome, errors.BatchError):
        return {"status": "clienterror", "taskId": task_id,
                "error": error_body(outcome, call.base_url, call.request_id)}
    return {"status": "success", "taskId": outcome["id"], "eTag": outcome["eTag"],
            "lastModified": outcome["lastModified"], "location": outcome["url"]}


def list_tasks(call: Call) -> Reply:
    job, tasks = call.svc.tasks.listed(call.params["job_id"])
    return listing(call, tasks, "tasks", f"/jobs/{job['id']}/tasks")


def get_task(call: Call) -> Reply:
    return entity(call, call.svc.tasks.get(call.params["job_id"], call.params["task_id"]),
                  "tasks")


def _write(call: Call) -> None:
    """A change to a task: only if its conditional header (If-Match and the like) allows."""
    task = call.svc.tasks.get(call.params["job_id"], call.params["task_id"])
    wire.precondition(call.headers, task, read=False)


def delete_task(call: Call) -> Reply:
    _write(call)
    call.svc.tasks.delete(call.params["job_id"], call.params["task_id"])
    return Reply(200)


def terminate_task(call: Call) -> Reply:
    _write(call)
    call.svc.tasks.terminate(call.params["job_id"], call.params["task_id"])
    return Reply(204)


def reactivate_task(call: Call) -> Reply:
    _write(call)
    call.svc.tasks.reactivate(call.params["job_id"], call.params["task_id"])
    return Reply(204)
