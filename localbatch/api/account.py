"""Handlers for the account's lists: the supported images and each pool's node counts."""

from __future__ import annotations

from .. import catalogue
from .http import Call, Reply, listing

# BatchNodeCounts, in the spec's spelling: the node states it counts, then "total".
COUNTED = ("creating", "deallocated", "deallocating", "idle", "leavingPool", "offline",
           "preempted", "rebooting", "reimaging", "running", "starting", "startTaskFailed",
           "unknown", "unusable", "upgradingOS", "waitingForStartTask")
SPELLING = {state.lower(): state for state in COUNTED}


def node_counts(pool_id: str, nodes: list[dict]) -> dict:
    """A pool's BatchPoolNodeCounts: dedicated and Spot nodes apart (Spot is lowPriority)."""
    counts = {"poolId": pool_id}
    for kind, dedicated in (("dedicated", True), ("lowPriority", False)):
        mine = [node for node in nodes if node["isDedicated"] is dedicated]
        tally = dict.fromkeys(COUNTED, 0)
        for node in mine:
            tally[SPELLING.get(node["state"], "unknown")] += 1
        counts[kind] = {**tally, "total": len(mine)}
    return counts


def list_supported_images(call: Call) -> Reply:
    return listing(call, catalogue.supported_images(), "supportedimages", "/supportedimages")


def list_pool_node_counts(call: Call) -> Reply:
    pools = call.svc.pools
    keyed = [(pool_key, node_counts(pool["id"], [n for _, n in pools.listed_nodes(pool["id"])[1]]))
             for pool_key, pool in pools.listed()]
    return listing(call, keyed, "poolnodecounts", "/nodecounts")
