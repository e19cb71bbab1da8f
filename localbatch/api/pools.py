"""Handlers for /pools and a pool's nodes."""

from __future__ import annotations

from .. import schema, wire
from .http import Call, Reply, accepted, created, entity, entity_headers, listing


def create_pool(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchPoolCreateOptions", body)
    return created(call.svc.pools.create(body))


def list_pools(call: Call) -> Reply:
    return listing(call, call.svc.pools.listed(), "pools", "/pools")


def get_pool(call: Call) -> Reply:
    return entity(call, call.svc.pools.get(call.params["pool_id"]), "pools")


def pool_exists(call: Call) -> Reply:
    pool = call.svc.pools.get(call.params["pool_id"])
    status = 200 if wire.precondition(call.headers, pool, read=True) else 304
    return Reply(status, None, {"ETag": pool["eTag"]})


def delete_pool(call: Call) -> Reply:
    pool = call.svc.pools.get(call.params["pool_id"])
    wire.precondition(call.headers, pool, read=False)
    call.svc.pools.delete(pool["id"])
    return Reply(202)


def update_pool(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchPoolUpdateOptions", body)
    pool = call.svc.pools.get(call.params["pool_id"])
    wire.precondition(call.headers, pool, read=False)
    return Reply(200, None, entity_headers(call.svc.pools.update(pool["id"], body)))


def resize_pool(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchPoolResizeOptions", body)
    wire.precondition(call.headers, call.svc.pools.get(call.params["pool_id"]), read=False)
    return accepted(call.svc.pools.resize(call.params["pool_id"], body))


def enable_autoscale(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchPoolEnableAutoScaleOptions", body)
    wire.precondition(call.headers, call.svc.pools.get(call.params["pool_id"]), read=False)
    pool = call.svc.pools.enable_autoscale(call.params["pool_id"], body)
    return Reply(200, None, {**entity_headers(pool),
                             "DataServiceId": f"{pool['url']}/enableautoscale"})


def disable_autoscale(call: Call) -> Reply:
    pool = call.svc.pools.disable_autoscale(call.params["pool_id"])
    return Reply(200, None, {**entity_headers(pool),
                             "DataServiceId": f"{pool['url']}/disableautoscale"})


def evaluate_autoscale(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchPoolEvaluateAutoScaleOptions", body)
    pool = call.svc.pools.get(call.params["pool_id"])
    run = call.svc.pools.evaluate_autoscale(pool["id"], body)
    # as recorded: the operation's URL as DataServiceId, and no ETag (nothing changed)
    return Reply(200, {"odata.metadata": f"{call.base_url}/$metadata#Microsoft.Azure.Batch."
                                         "Protocol.Entities.AutoScaleRun", **run},
                 {"DataServiceId": f"{pool['url']}/evaluateautoscale"})


def preempt_node(call: Call) -> Reply:
    """localbatch's own (`python -m localbatch preempt-node`): Azure has no such operation."""
    call.svc.pools.preempt(call.params["pool_id"], call.params["node_id"])
    return Reply(202)


def list_nodes(call: Call) -> Reply:
    pool, nodes = call.svc.pools.listed_nodes(call.params["pool_id"])
    return listing(call, nodes, "nodes", f"/pools/{pool['id']}/nodes")


def get_node(call: Call) -> Reply:
    return entity(call, call.svc.pools.node(call.params["pool_id"], call.params["node_id"]),
                  "nodes")


def reboot_node(call: Call) -> Reply:
    body = {} if call.body is None else call.body
    schema.check("BatchNodeRebootOptions", body)
    call.svc.pools.reboot(call.params["pool_id"], call.params["node_id"], body)
    return Reply(202)
