"""The route table: every path, method and the handler that serves it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from .. import errors, tokens
from . import account, files, identity, jobs, pools, tasks
from .http import Call, Reply, dispatch

TASK = "/jobs/{job_id}/tasks/{task_id}"
NODE = "/pools/{pool_id}/nodes/{node_id}"
ROUTES: list[tuple[str, dict]] = [
    ("/supportedimages", {"GET": account.list_supported_images}),
    ("/nodecounts", {"GET": account.list_pool_node_counts}),
    ("/pools", {"POST": pools.create_pool, "GET": pools.list_pools}),
    ("/pools/{pool_id}", {"GET": pools.get_pool, "HEAD": pools.pool_exists,
                          "PATCH": pools.update_pool, "DELETE": pools.delete_pool}),
    ("/pools/{pool_id}/resize", {"POST": pools.resize_pool}),
    ("/pools/{pool_id}/enableautoscale", {"POST": pools.enable_autoscale}),
    ("/pools/{pool_id}/disableautoscale", {"POST": pools.disable_autoscale}),
    ("/pools/{pool_id}/evaluateautoscale", {"POST": pools.evaluate_autoscale}),
    ("/pools/{pool_id}/nodes", {"GET": pools.list_nodes}),
    (NODE, {"GET": pools.get_node}),
    (NODE + "/reboot", {"POST": pools.reboot_node}),
    ("/localbatch" + NODE + "/preempt", {"POST": pools.preempt_node}),
    (NODE + "/files", {"GET": files.list_node_files}),
    (NODE + "/files/{file_path:path}", {"GET": files.get_node_file,
                                        "HEAD": files.node_file_properties}),
    ("/jobs", {"POST": jobs.create_job, "GET": jobs.list_jobs}),
    ("/jobs/{job_id}", {"GET": jobs.get_job, "PATCH": jobs.update_job, "PUT": jobs.replace_job,
                        "DELETE": jobs.delete_job}),
    ("/jobs/{job_id}/terminate", {"POST": jobs.terminate_job}),
    ("/jobs/{job_id}/taskcounts", {"GET": jobs.task_counts}),
    ("/jobs/{job_id}/jobpreparationandreleasetaskstatus",
     {"GET": jobs.list_preparation_status}),
    ("/jobs/{job_id}/tasks", {"POST": tasks.create_task, "GET": tasks.list_tasks}),
    ("/jobs/{job_id}/addtaskcollection", {"POST": tasks.create_task_collection}),
    (TASK, {"GET": tasks.get_task, "DELETE": tasks.delete_task}),
    (TASK + "/terminate", {"POST": tasks.terminate_task}),
    (TASK + "/reactivate", {"POST": tasks.reactivate_task}),
    (TASK + "/files", {"GET": files.list_task_files}),
    (TASK + "/files/{file_path:path}", {"GET": files.get_task_file,
                                        "HEAD": files.task_file_properties}),
]


def _unsupported_verb(call: Call) -> Reply:
    raise errors.UnsupportedHttpVerb()


def _unknown_path(call: Call) -> Reply:
    raise errors.InvalidUri()


def _endpoint(handlers: dict):
    async def endpoint(request: Request):
        return await dispatch(request, handlers.get(request.method, _unsupported_verb))
    return endpoint


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def build_app(svc) -> Starlette:
    routes = [Route(tokens.IDENTITY_PATH, identity.issue_token, methods=["GET"])]
    routes += [Route(path, _endpoint(handlers), methods=ALL_METHODS) for path, handlers in ROUTES]
    routes.append(Route("/{rest:path}", _endpoint(dict.fromkeys(ALL_METHODS, _unknown_path)),
                        methods=ALL_METHODS))
    app = Starlette(routes=routes)
    app.state.svc = svc
    return app
