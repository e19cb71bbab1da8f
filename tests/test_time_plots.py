"""The plots of notebook 09, on small hand-built timing tables whose right answers are known."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from helpers.plots import (
    RESULT_COLOURS,
    activity_data,
    gantt,
    node_activity,
    progress,
    progress_data,
    relative,
    speedup,
    speedup_data,
    wait_and_run,
)

T0 = pd.Timestamp("2026-01-01 12:00:00", tz="UTC")


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


@pytest.fixture
def table() -> pd.DataFrame:
    """Three tasks on two nodes: B starts first; T3 waits for node A and fails."""
    rows = [  # task, node, result, created, started, ended
        ("T1", "node-A", "success", 0, 1, 3),
        ("T2", "node-B", "success", 0, 0.5, 2.5),
        ("T3", "node-A", "failure", 0, 3, 4),
    ]
    frame = pd.DataFrame([{"task": t, "node": n, "result": r, "created": at(c),
                           "started": at(s), "ended": at(e)} for t, n, r, c, s, e in rows])
    frame["waiting_s"] = (frame["started"] - frame["created"]).dt.total_seconds()
    frame["running_s"] = (frame["ended"] - frame["started"]).dt.total_seconds()
    return frame


def test_relative_times_and_node_names_in_order_of_first_work(table) -> None:
    data = relative(table).set_index("task")
    assert data.loc["T3", ["created_t", "started_t", "ended_t"]].tolist() == [0, 3, 4]
    assert data["node_name"].to_dict() == {"T1": "node 2", "T2": "node 1", "T3": "node 2"}


def test_progress_counts_started_and_done(table) -> None:
    data = progress_data(table)
    assert data["t"].tolist() == [0.5, 1, 2.5, 3, 3, 4]
    after = data.groupby("t").last()  # at t=3 one task ends and another starts
    assert after["started"].tolist() == [1, 2, 2, 3, 3]
    assert after["ended"].tolist() == [0, 0, 1, 2, 3]
    lines = progress(table).axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["started", "done"]


def test_activity_counts_running_tasks_per_node_and_step(table) -> None:
    data = activity_data(table, step=1.0)
    assert list(data.columns) == [0, 1, 2, 3, 4]
    assert data.loc["node 1"].tolist() == [0, 1, 1, 0, 0]   # node-B: 0.5 to 2.5
    assert data.loc["node 2"].tolist() == [0, 1, 1, 1, 0]   # node-A: 1 to 3, then 3 to 4
    image = node_activity(table, step=1.0).axes[0].images[0]
    assert image.get_array().shape == (2, 5)


def test_gantt_draws_one_bar_per_task_in_its_node_row(table) -> None:
    axes = gantt(table).axes[0]
    rows = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert len(rows) == 2
    widths = sorted(round(p.get_extents().width, 6) for c in rows for p in c.get_paths())
    assert widths == [1, 2, 2]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["node 1", "node 2"]
    assert sorted(t.get_text() for t in axes.texts) == ["T1", "T2", "T3"]


def test_wait_and_run_stacks_waiting_then_running_and_marks_failures(table) -> None:
    axes = wait_and_run(table).axes[0]
    bars = axes.patches
    assert len(bars) == 6  # three waiting, three running
    running = {round(b.get_y(), 1): (b.get_x(), b.get_width(), b.get_facecolor()) for b in bars[3:]}
    assert sorted((x, w) for x, w, _ in running.values()) == [(0.5, 2), (1, 2), (3, 1)]
    assert [t.get_text() for t in axes.texts] == [" ✗ failed"]
    red = tuple(int(RESULT_COLOURS["failure"][i:i + 2], 16) / 255 for i in (1, 3, 5))
    assert sum(1 for *_, colour in running.values() if tuple(colour[:3]) == pytest.approx(red)) == 1


def test_speedup_against_the_smallest_pool() -> None:
    runs = pd.DataFrame({"nodes": [4, 1, 2], "wall_s": [3.0, 8.0, 5.0]})
    data = speedup_data(runs)
    assert data["nodes"].tolist() == [1, 2, 4]
    assert data["speed_up"].round(3).tolist() == [1.0, 1.6, round(8 / 3, 3)]
    assert data["ideal"].tolist() == [1, 2, 4]
    assert data["efficiency"].round(3).tolist() == [1.0, 0.8, round(8 / 12, 3)]
    left, right = speedup(runs).axes
    assert list(left.get_lines()[0].get_ydata()) == [8.0, 5.0, 3.0]
    assert [line.get_label() for line in right.get_lines()] == ["measured", "ideal"]


def test_figures_render_as_png(table) -> None:
    assert gantt(table)._repr_png_().startswith(b"\x89PNG")
