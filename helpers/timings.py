"""The task timing table: one row per task, the seconds it waited and ran, and a summary."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .clients import sdk_text

COLUMNS = ["task", "node", "state", "exit_code", "result", "created", "started", "ended",
           "waiting_s", "running_s"]


def timing_table(tasks: Iterable) -> pd.DataFrame:
    """A DataFrame from the SDK's BatchTask objects (list_tasks), sorted by task id."""
    rows = []
    for task in tasks:
        info, node = task.execution_info, task.node_info
        rows.append({
            "task": task.id, "node": node.node_id if node else None,
            "state": sdk_text(task.state), "exit_code": info.exit_code if info else None,
            "result": sdk_text(info.result) if info else None,
            "created": task.creation_time, "started": info.start_time if info else None,
            "ended": info.end_time if info else None})
    table = pd.DataFrame(rows, columns=COLUMNS[:8])
    for column in ("created", "started", "ended"):
        table[column] = pd.to_datetime(table[column], utc=True)
    table["waiting_s"] = (table["started"] - table["created"]).dt.total_seconds()
    table["running_s"] = (table["ended"] - table["started"]).dt.total_seconds()
    table["exit_code"] = table["exit_code"].astype("Int64")
    return table.sort_values("task", key=_natural).reset_index(drop=True)


def _natural(ids: pd.Series) -> pd.Series:
    """Task2 before Task10."""
    if ids.empty:
        return ids
    return ids.str.extract(r"^(.*?)(\d*)$").apply(
        lambda parts: parts[0] + parts[1].zfill(10), axis=1)


def summary(table: pd.DataFrame) -> pd.Series:
    """Tasks, successes, failures, run times, job wall time and the speed-up parallelism gave."""
    done = table.dropna(subset=["started", "ended"])
    wall = (done["ended"].max() - table["created"].min()).total_seconds() if len(done) else None
    return pd.Series(dtype=object, data={
        "tasks": len(table),
        "succeeded": int((table["result"] == "success").sum()),
        "failed": int((table["result"] == "failure").sum()),
        "min_run_s": done["running_s"].min(),
        "mean_run_s": done["running_s"].mean(),
        "max_run_s": done["running_s"].max(),
        "job_wall_s": wall,
        "speed_up": done["running_s"].sum() / wall if wall else None,
    })


def read_timings(path) -> pd.DataFrame:
    """A timing table saved with DataFrame.to_csv, with its times parsed again."""
    table = pd.read_csv(path, parse_dates=["created", "started", "ended"])
    table["exit_code"] = table["exit_code"].astype("Int64")
    return table
