"""Task dependencies: whether a task may run yet, from its parents' ends (Learn, "Create task
dependencies to run tasks that depend on other tasks").

A dependant waits while a parent has not completed, and for good once a parent's end blocks
it; it runs when every parent has completed and satisfies it. What satisfies: each parent's
exitConditions (its exit code's entry, then its exit code range's, else `default`), and without
them Learn's defaults: `satisfy` for exit code 0, `block` for every other end, a pre-processing
(resource file) or upload error included. A range selects the job's tasks whose ids are integers
in it (Learn); tasks of a range that do not exist (yet) are not waited for (not documented).
"""

from __future__ import annotations

from .ids import key

WAITING, SATISFIED, BLOCKED = "waiting", "satisfied", "blocked"
MAX_ID_CHARACTERS = 64000   # TaskDependencyListTooLong (Learn's error table, the spec)
MAX_RANGES = 1000           # TaskDependencyRangesTooLong: its limit is not documented


def parent_keys(task: dict, tasks: dict[str, dict]) -> list[str]:
    """The keys of the job's tasks this one depends on (its ids, then its ranges' integer ids)."""
    depends = task.get("dependsOn") or {}
    keys = [key(task_id) for task_id in depends.get("taskIds") or []]
    for span in depends.get("taskIdRanges") or []:
        keys += [k for k, other in tasks.items()
                 if other["id"].isdigit() and span["start"] <= int(other["id"]) <= span["end"]]
    return keys


def action(parent: dict) -> str:
    """What a completed parent's end does to its dependants: satisfy or block."""
    info = parent.get("executionInfo") or {}
    conditions = parent.get("exitConditions") or {}
    failure = info.get("failureInfo") or {}
    code = info.get("exitCode")
    chosen = None
    if failure.get("code", "").startswith("FileUpload"):
        chosen = conditions.get("fileUploadError")
    elif failure and code is None and failure.get("code") != "TaskEnded":
        chosen = conditions.get("preProcessingError")
    elif code is not None:
        chosen = next((entry["exitOptions"] for entry in conditions.get("exitCodes") or []
                       if entry["code"] == code), None)
        chosen = chosen or next((entry["exitOptions"] for entry in
                                 conditions.get("exitCodeRanges") or []
                                 if entry["start"] <= code <= entry["end"]), None)
    chosen = chosen or conditions.get("default")
    if chosen and chosen.get("dependencyAction"):
        return chosen["dependencyAction"].lower()
    return "satisfy" if code == 0 and not failure else "block"


def state(task: dict, tasks: dict[str, dict]) -> str:
    """waiting, satisfied or blocked: whether the task may be scheduled."""
    if not task.get("dependsOn"):
        return SATISFIED
    found = WAITING if any(k not in tasks for k in
                           (key(t) for t in task["dependsOn"].get("taskIds") or [])) else SATISFIED
    for parent_key in parent_keys(task, tasks):
        parent = tasks.get(parent_key)
        if parent is None or parent is task:
            continue
        if parent["state"] != "completed":
            found = WAITING
        elif action(parent) == "block":
            return BLOCKED
    return found
