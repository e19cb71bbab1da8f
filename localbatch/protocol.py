"""What the service and a node agent share: the messages, JSON lines on the agent's stdin
(orders, "op") and stdout (events, "ev"), and how both find a task's processes (by their
environment). Kept free of imports beyond the standard library's json and pathlib, so that a
node agent starts fast."""

from __future__ import annotations

import json

import psutil  # a process's environment

# Orders, service -> node.
RUN, START_TASK, KILL, SHUTDOWN = "run", "start_task", "kill", "shutdown"
# Events, node -> service: the agent is up; the start task's progress; a task's process
# started (with its pid); a task's process ended, was killed, or never started.
READY, START_TASK_STATE, STARTED, DONE = "ready", "starttask", "started", "done"
START_TASK_KEY = "startup"   # the run key a node's start task runs under


def admin(user_identity: dict, pool: dict) -> bool:
    """Whether a task runs elevated: its auto-user asks for admin, or the pool's user account it
    names is an admin (the spec's elevationLevel; both default to nonadmin)."""
    if user_identity.get("username"):
        return any(account["name"] == user_identity["username"]
                   and account.get("elevationLevel") == "admin"
                   for account in pool.get("userAccounts", []))
    return user_identity.get("autoUser", {}).get("elevationLevel") == "admin"


def encode(message: dict) -> bytes:
    return (json.dumps(message) + "\n").encode()


def decode(line: bytes) -> dict:
    return json.loads(line)


def run(run_key: str, spec: dict) -> dict:
    return {"op": RUN, "key": run_key, "spec": spec}


def start_task(spec: dict) -> dict:
    return {"op": START_TASK, "spec": spec}


def kill(run_key: str) -> dict:
    return {"op": KILL, "key": run_key}


def shutdown() -> dict:
    return {"op": SHUTDOWN}


def ready() -> dict:
    return {"ev": READY}


def started(run_key: str, pid: int) -> dict:
    return {"ev": STARTED, "key": run_key, "pid": pid}


def done(run_key: str, exit_code: int | None, failure: dict | None = None,
         killed: bool = False) -> dict:
    """A run's end: its exit code (None: it never ran), its failureInfo, or that it was killed."""
    event = {"ev": DONE, "key": run_key, "exitCode": exit_code}
    if killed:
        event["killed"] = True
    else:
        event["failure"] = failure
    return event


def start_task_state(state: str, retry_count: int, exit_code: int | None = None,
                     failure: dict | None = None) -> dict:
    """The start task is running (attempt retry_count) or completed (with how it ended)."""
    event = {"ev": START_TASK_STATE, "state": state, "retryCount": retry_count}
    if state == "completed":
        event.update(exitCode=exit_code, failure=failure)
    return event


def carries(pid: int, setting: str, exact: bool = True) -> bool:
    """Whether a process's environment has this NAME=value entry (or, not exact, one that
    starts with it): every process a task starts carries AZ_BATCH_NODE_ROOT_DIR, so the agent
    (at its end) and the service (after losing a node) find it wherever it went."""
    try:
        environ = psutil.Process(pid).environ()
    except (psutil.Error, OSError):   # gone, not ours to read, or not readable on this system
        return False
    entries = [f"{name}={value}" for name, value in environ.items()]
    return any(e == setting if exact else e.startswith(setting) for e in entries)
