"""Handlers for /pools and a pool's nodes."""

from __future__ import annotations

from .. import errors
from ..registry import key
from .http import Call, Reply, accepted, created, entity, listing


def create_pool(call: Call) -> Reply:
    return created(call.svc.pools.create(call.body or {}))


def list_pools(call: Call) -> Reply:
    return listing(call, sorted(call.svc.registry.pools.items()), "pools", "/pools")


def get_pool(call: Call) -> Reply:
    return entity(call, call.svc.pools.get(call.params["pool_id"]), "pools")


def pool_exists(call: Call) -> Reply:
    pool = call.svc.pools.get(call.params["pool_id"])
    return Reply(200, None, {"ETag": pool["eTag"]})


def delete_pool(call: Call) -> Reply:
    pool = call.svc.pools.get(call.params["pool_id"])
    call.svc.pools.delete(pool["id"])
    return Reply(202)


def resize_pool(call: Call) -> Reply:
    return accepted(call.svc.pools.resize(call.params["pool_id"], call.body or {}))


def _nodes(call: Call) -> tuple[str, dict]:
    pool = call.svc.pools.get(call.params["pool_id"])
    return key(pool["id"]), call.svc.registry.nodes.get(key(pool["id"]), {})


def list_nodes(call: Call) -> Reply:
    pool_key, nodes = _nodes(call)
    return listing(call, sorted(nodes.items()), "nodes",
                   f"/pools/{call.svc.registry.pools[pool_key]['id']}/nodes")


def get_node(call: Call) -> Reply:
    _, nodes = _nodes(call)
    node = nodes.get(call.params["node_id"])
    if node is None:
        raise errors.NodeNotFound()
    return entity(call, node, "nodes")
