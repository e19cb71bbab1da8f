"""Notebook 09's pandas and plots, run cell by cell on a small timing table whose answers are
known: the code a learner reads is the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "09_explore_timings.ipynb"
CELLS = {c["id"]: "".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]}
NAMES, GANTT, WAIT_RUN, PROGRESS, ACTIVITY, SPEEDUP = (
    "218b7c55", "4f03727a", "b96ba6b8", "6b937a4a", "f08827ce", "e6d5c619")
T0 = pd.Timestamp("2026-01-01 12:00:00", tz="UTC")


def run(*ids: str, **namespace) -> dict:
    """Run the notebook's cells, in order, in one namespace (as the kernel would)."""
    for cell_id in ids:
        exec(compile(CELLS[cell_id], f"09:{cell_id}", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def table() -> pd.DataFrame:
    """Three tasks on two nodes: B starts first; T3 waits for node A and fails."""
    rows = [  # task, node, result, created, started, ended
        ("T1", "node-A", "success", 0, 1, 3),
        ("T2", "node-B", "success", 0, 0.5, 2.5),
        ("T3", "node-A", "failure", 0, 3, 4),
    ]
    at = lambda seconds: T0 + pd.Timedelta(seconds=seconds)
    frame = pd.DataFrame([{"task": t, "node": n, "result": r, "exit_code": int(r != "success"),
                           "created": at(c),
                           "started": at(s), "ended": at(e)} for t, n, r, c, s, e in rows])
    frame["waiting_s"] = (frame["started"] - frame["created"]).dt.total_seconds()
    frame["running_s"] = (frame["ended"] - frame["started"]).dt.total_seconds()
    return frame


def test_seconds_since_the_start_and_nodes_named_in_order_of_first_work(table) -> None:
    data = run(NAMES, table=table)["table"].set_index("task")
    assert data.loc["T3", ["created_t", "started_t", "ended_t"]].tolist() == [0, 3, 4]
    assert data["node_name"].to_dict() == {"T1": "node 2", "T2": "node 1", "T3": "node 2"}


def test_gantt_one_bar_per_task_in_its_node_row_failures_hatched(table) -> None:
    namespace = run(NAMES, GANTT, table=table)
    axes = plt.gcf().axes[0]
    bars = axes.patches
    assert sorted((b.get_x(), b.get_width()) for b in bars) == [(0.5, 2), (1, 2), (3, 1)]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["node 1", "node 2"]
    assert sorted(t.get_text() for t in axes.texts) == ["T1", "T2", "T3"]
    hatched = [b for b in bars if b.get_hatch()]
    assert [(b.get_x(), b.get_width()) for b in hatched] == [(3, 1)]
    assert matplotlib.colors.to_hex(hatched[0].get_facecolor()) == namespace["FAILURE"].lower()


def test_waiting_then_running_stacked_per_task(table) -> None:
    run(NAMES, GANTT, WAIT_RUN, table=table)
    bars = plt.gcf().axes[0].patches
    assert len(bars) == 6  # three waiting, three running
    running = sorted((b.get_x(), b.get_width(), bool(b.get_hatch())) for b in bars[3:])
    assert running == [(0.5, 2, False), (1, 2, False), (3, 1, True)]


def test_progress_counts_started_and_done(table) -> None:
    events = run(NAMES, PROGRESS, table=table)["events"]
    assert events["t"].tolist() == [0.5, 1, 2.5, 3, 3, 4]
    after = events.groupby("t").last()  # at t=3 one task ends and another starts
    assert after["started"].tolist() == [1, 2, 2, 3, 3]
    assert after["ended"].tolist() == [0, 0, 1, 2, 3]


def test_activity_counts_running_tasks_per_node_over_time(table) -> None:
    activity = run(NAMES, GANTT, PROGRESS, ACTIVITY, table=table)["activity"]
    assert list(activity.index) == ["node 1", "node 2"]
    busy = (activity > 0).mean(axis=1)
    assert busy["node 1"] == pytest.approx(2 / 4, abs=0.05)   # 0.5 to 2.5 of 4 s
    assert busy["node 2"] == pytest.approx(3 / 4, abs=0.05)   # 1 to 3, then 3 to 4
    assert activity.to_numpy().max() == 1


def test_speedup_against_the_smallest_pool() -> None:
    runs = pd.DataFrame({"nodes": [1, 2, 4], "wall_s": [8.0, 5.0, 3.0]})
    data = run(SPEEDUP, runs=runs)["runs"]
    assert data["speed_up"].round(3).tolist() == [1.0, 1.6, round(8 / 3, 3)]
    assert data["ideal"].tolist() == [1, 2, 4]
    assert data["efficiency"].round(3).tolist() == [1.0, 0.8, round(8 / 12, 3)]


def test_the_answers_work_from_the_data(table, capsys) -> None:
    answers = [cid for cid, source in CELLS.items() if source.startswith("# Answer")]
    assert len(answers) == 4
    runs = pd.DataFrame({"nodes": [1, 2, 4], "wall_s": [8.0, 5.0, 3.0]})
    run(NAMES, GANTT, PROGRESS, SPEEDUP, *answers, table=table, runs=runs)
    printed = capsys.readouterr().out
    assert "node 2 finished last, and ran tasks 75% of the time" in printed
    assert "Waited longest: ['T3'" in printed
    assert "Failed tasks ran 1.00 s on average, the others 2.00 s." in printed
    assert "2 nodes: speed-up 1.60, efficiency 0.80" in printed
