"""`python -m localbatch kill-node POOL NODE`: lose a node on purpose, as a host failure would.

Not a Batch API operation: it SIGKILLs the node's agent process, found by the pid file the
service keeps beside the node's folder. The service then treats the node as lost (its running
tasks are requeued without counting a retry, their process groups killed, the node restarted).
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import psutil  # the agent's command line, to tell a reused pid

from .control import LocalBatchError, running
from .ids import key
from .paths import Paths
from .statedir import StateDir, exited

ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")   # Batch ids: letters, digits, hyphens, underscores


def _agent_pid(path: Path, node_id: str) -> int | None:
    """The live agent's pid, or None (no file, process gone, or the pid reused by another)."""
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if exited(pid):
        return None
    try:
        cmdline = "\0".join(psutil.Process(pid).cmdline())
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:   # where a command line cannot be read, the pid file is trusted
        return pid
    return pid if node_id in cmdline else None


def check_node_command(state: StateDir, pool_id: str, node_id: str) -> None:
    """What a command on one node (kill-node, preempt-node) needs: two ids, a running
    localbatch; else LocalBatchError saying what to fix."""
    for name, value in (("pool", pool_id), ("node", node_id)):
        if not ID.match(value):
            raise LocalBatchError(f"{value!r} is not a {name} id (letters, digits, hyphens and "
                                  "underscores).")
    if not all(running(state).values()):
        raise LocalBatchError("localbatch is not running: start it with "
                              "`python -m localbatch up`.")


def kill_node(state: StateDir, pool_id: str, node_id: str) -> None:
    """SIGKILL the agent of one node, or LocalBatchError saying what to fix."""
    check_node_command(state, pool_id, node_id)
    paths = Paths(state.path)
    if not paths.pool(key(pool_id)).is_dir():
        raise LocalBatchError(f"localbatch has no pool {pool_id!r} with nodes: "
                              "`batch.list_pools()` lists the pools.")
    pid = _agent_pid(paths.pid_file(key(pool_id), node_id), node_id)
    if pid is None:
        raise LocalBatchError(f"pool {pool_id!r} has no running node {node_id!r}: "
                              f"`batch.list_nodes({pool_id!r})` lists its nodes.")
    os.kill(pid, signal.SIGKILL)
