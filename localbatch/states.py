"""The allowed state transitions of each entity, in one table each, and the state it is created
in. Only the module that owns an entity moves it, always through move(): pools.py a pool; jobs.py
and joblife.py a job; tasks.py a task; nodes.py a node (tests/test_architecture.py checks it)."""

from __future__ import annotations

from . import wire

TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "pool": {"active": {"deleting"}, "deleting": set()},
    "node": {
        # a Spot node can be preempted in any state but leaving (localbatch preempt-node), and
        # comes back through creating
        "creating": {"starting", "unusable", "leavingpool", "preempted"},
        "starting": {"waitingforstarttask", "idle", "unusable", "leavingpool", "preempted"},
        "waitingforstarttask": {"idle", "starttaskfailed", "unusable", "starting",
                                "leavingpool", "preempted"},
        "idle": {"running", "unusable", "starting", "leavingpool", "rebooting", "preempted"},
        "running": {"idle", "unusable", "starting", "leavingpool", "rebooting", "preempted"},
        "starttaskfailed": {"unusable", "starting", "leavingpool", "rebooting", "preempted"},
        "unusable": {"starting", "leavingpool", "preempted"},
        "rebooting": {"starting", "unusable", "leavingpool", "preempted"},
        "preempted": {"creating", "leavingpool"},   # back when capacity returns
        "leavingpool": set(),
    },
    "job": {
        "active": {"terminating", "deleting", "completed"},
        "terminating": {"completed", "deleting"},
        "completed": {"deleting"},
        "deleting": set(),
    },
    "task": {
        "active": {"preparing", "running", "completed"},
        "preparing": {"running", "active", "completed"},   # its node's job preparation task
        "running": {"completed", "active"},
        "completed": {"active"},
    },
}


FIRST = {"pool": "active", "node": "creating", "job": "active", "task": "active"}
"""The state each entity is created in: every later one is reached through move()."""


class TransitionError(RuntimeError):
    """A bug in localbatch: a move the table does not allow."""


def move(kind: str, doc: dict, new_state: str) -> bool:
    """Move doc to new_state if the table allows it; False when it is already there."""
    old = doc.get("state")
    if old == new_state:
        return False
    if new_state not in TRANSITIONS[kind].get(old, set()):
        raise TransitionError(f"{kind} {doc.get('id')}: {old} -> {new_state} is not allowed")
    stamp = wire.iso(wire.now())
    if kind in ("task", "job"):
        doc["previousState"] = old
        doc["previousStateTransitionTime"] = doc.get("stateTransitionTime")
    doc["state"] = new_state
    doc["stateTransitionTime"] = stamp
    return True
