"""helpers.timings and helpers.plots, on hand-made tasks and nodes with known numbers."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import matplotlib.colors as mcolors
import pandas as pd
import pytest
from azure.batch import models
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers.plots import NODE_COLOURS, node_heatmap
from helpers.timings import COLUMNS, read_timings, summary, timing_table

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Enumish:
    """Like an SDK enum member: its text is in .value, and str() is not that text."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return f"Enumish.{self.value.upper()}"


def task(task_id: str, created: float, started: float | None = None,
         ended: float | None = None, exit_code: int | None = 0, result="success",
         state="completed", node: str | None = "node-1") -> SimpleNamespace:
    info = None if started is None else SimpleNamespace(
        start_time=at(started), end_time=None if ended is None else at(ended),
        exit_code=exit_code, result=result)
    return SimpleNamespace(id=task_id, state=state, creation_time=at(created),
                           execution_info=info,
                           node_info=SimpleNamespace(node_id=node) if node else None)


@pytest.fixture
def tasks() -> list[SimpleNamespace]:
    """Four tasks: created at 0, 1, 2, 3 s; two succeed, one fails, one never started."""
    return [
        task("Task10", created=0, started=2.5, ended=10.0, node="node-2"),
        task("Task2", created=1, started=3.0, ended=7.0, exit_code=1, result="failure"),
        task("Task3", created=2, state="active", node=None),
        task("Task1", created=3, started=3.25, ended=12.0, node="node-1"),
    ]


# -- timing_table --------------------------------------------------------------------------


def test_columns_and_one_row_per_task(tasks) -> None:
    table = timing_table(tasks)
    assert list(table.columns) == COLUMNS
    assert len(table) == 4


def test_natural_sort(tasks) -> None:
    table = timing_table(tasks)
    assert list(table["task"]) == ["Task1", "Task2", "Task3", "Task10"]
    assert list(table.index) == [0, 1, 2, 3]


def test_natural_sort_with_prefixes_and_plain_names() -> None:
    ids = ["b10", "a2", "b9", "a10", "merge", "a1"]
    table = timing_table([task(i, created=0, started=1, ended=2) for i in ids])
    assert list(table["task"]) == ["a1", "a2", "a10", "b9", "b10", "merge"]


def test_waiting_and_running_seconds(tasks) -> None:
    table = timing_table(tasks).set_index("task")
    assert table.loc["Task10", "waiting_s"] == 2.5
    assert table.loc["Task10", "running_s"] == 7.5
    assert table.loc["Task2", "waiting_s"] == 2.0
    assert table.loc["Task2", "running_s"] == 4.0
    assert table.loc["Task1", "waiting_s"] == 0.25
    assert table.loc["Task1", "running_s"] == 8.75


def test_times_are_utc_timestamps(tasks) -> None:
    table = timing_table(tasks).set_index("task")
    assert table.loc["Task10", "created"] == pd.Timestamp("2024-05-01T12:00:00Z")
    assert table.loc["Task10", "started"] == pd.Timestamp("2024-05-01T12:00:02.5Z")
    assert table.loc["Task1", "ended"] == pd.Timestamp("2024-05-01T12:00:12Z")
    assert str(table["created"].dt.tz) == "UTC"


def test_task_without_execution_info_has_nan_durations(tasks) -> None:
    row = timing_table(tasks).set_index("task").loc["Task3"]
    assert math.isnan(row["waiting_s"]) and math.isnan(row["running_s"])
    assert pd.isna(row["started"]) and pd.isna(row["ended"])
    assert pd.isna(row["exit_code"]) and pd.isna(row["result"]) and pd.isna(row["node"])
    assert row["state"] == "active"
    assert row["created"] == pd.Timestamp("2024-05-01T12:00:02Z")


def test_running_task_has_waiting_but_no_running_time() -> None:
    table = timing_table([task("Task1", created=0, started=4, ended=None, exit_code=None,
                               result=None, state="running")])
    assert table.loc[0, "waiting_s"] == 4.0
    assert math.isnan(table.loc[0, "running_s"])


def test_exit_codes_and_nodes(tasks) -> None:
    table = timing_table(tasks).set_index("task")
    assert str(table["exit_code"].dtype) == "Int64"
    assert table.loc["Task2", "exit_code"] == 1
    assert table.loc["Task10", "exit_code"] == 0
    assert table.loc["Task10", "node"] == "node-2"


def test_enum_like_values_become_their_text() -> None:
    table = timing_table([task("Task1", created=0, started=1, ended=2,
                               state=Enumish("completed"), result=Enumish("success"))])
    assert table.loc[0, "state"] == "completed"
    assert table.loc[0, "result"] == "success"


def test_real_sdk_tasks() -> None:
    """BatchTask objects as list_tasks returns them: enums, not strings."""
    sdk_task = models.BatchTask({
        "id": "Task7", "state": "completed", "creationTime": "2024-05-01T12:00:00Z",
        "executionInfo": {"startTime": "2024-05-01T12:00:01.5Z",
                          "endTime": "2024-05-01T12:00:04Z", "exitCode": 0,
                          "result": "success", "retryCount": 0, "requeueCount": 0},
        "nodeInfo": {"nodeId": "tvmps_1"}})
    table = timing_table([sdk_task])
    assert table.loc[0, "state"] == "completed" and table.loc[0, "result"] == "success"
    assert table.loc[0, "waiting_s"] == 1.5 and table.loc[0, "running_s"] == 2.5
    assert table.loc[0, "node"] == "tvmps_1"
    assert summary(table)["succeeded"] == 1


def test_no_tasks_gives_an_empty_table() -> None:
    """A job with no tasks yet (list_tasks returns nothing): an empty table, not a crash."""
    table = timing_table([])
    assert list(table.columns) == COLUMNS
    assert len(table) == 0


# -- summary -------------------------------------------------------------------------------


def test_summary_numbers(tasks) -> None:
    result = summary(timing_table(tasks))
    runs = [7.5, 4.0, 8.75]              # Task10, Task2, Task1; Task3 never ran
    wall = 12.0 - 0.0                    # last end (Task1, 12 s) - first creation (Task10, 0 s)
    assert result["tasks"] == 4
    assert result["succeeded"] == 2
    assert result["failed"] == 1
    assert result["min_run_s"] == 4.0
    assert result["mean_run_s"] == pytest.approx(sum(runs) / 3)   # 6.75
    assert result["max_run_s"] == 8.75
    assert result["job_wall_s"] == wall
    assert result["speed_up"] == pytest.approx(sum(runs) / wall)  # 20.25 / 12 = 1.6875


def test_summary_wall_starts_at_the_first_creation_not_the_first_start() -> None:
    table = timing_table([task("Task1", created=5, started=20, ended=30),
                          task("Task2", created=0, started=10, ended=25)])
    result = summary(table)
    assert result["job_wall_s"] == 30.0
    assert result["speed_up"] == pytest.approx((10 + 15) / 30)


def test_summary_of_tasks_that_never_ran() -> None:
    result = summary(timing_table([task("Task1", created=0, state="active", node=None)]))
    assert result["tasks"] == 1
    assert result["succeeded"] == 0 and result["failed"] == 0
    assert result["job_wall_s"] is None
    assert result["speed_up"] is None
    assert math.isnan(result["mean_run_s"])


# -- read_timings --------------------------------------------------------------------------


def test_read_timings_round_trip(tasks, tmp_path: Path) -> None:
    table = timing_table(tasks)
    path = tmp_path / "timings.csv"
    table.to_csv(path, index=False)
    back = read_timings(path)
    assert list(back.columns) == COLUMNS
    assert str(back["exit_code"].dtype) == "Int64"
    assert list(back["exit_code"].astype(object).where(back["exit_code"].notna(), None)) == \
        [0, 1, None, 0]
    for column in ("created", "started", "ended"):
        assert pd.api.types.is_datetime64_any_dtype(back[column]), column
        assert (back[column] == table[column]).sum() == table[column].notna().sum(), column
        assert list(back[column].isna()) == list(table[column].isna()), column
    assert back["started"][0] == pd.Timestamp("2024-05-01T12:00:03.25Z")
    pd.testing.assert_series_equal(back["waiting_s"], table["waiting_s"])
    pd.testing.assert_series_equal(back["running_s"], table["running_s"])
    assert list(back["task"]) == list(table["task"])
    assert summary(back).equals(summary(table))


# -- node_heatmap --------------------------------------------------------------------------


STATES = ["idle", "running", "idle", "starting", "offline"]


def rectangles(figure: Figure) -> list[Rectangle]:
    (axes,) = figure.axes
    return [patch for patch in axes.patches if isinstance(patch, Rectangle)]


def test_heatmap_one_tile_per_node() -> None:
    figure = node_heatmap([SimpleNamespace(state=s) for s in STATES])
    assert isinstance(figure, Figure)
    assert len(rectangles(figure)) == 5


def test_heatmap_colours_by_state() -> None:
    figure = node_heatmap([SimpleNamespace(state=s) for s in STATES])
    colours = [tile.get_facecolor() for tile in rectangles(figure)]
    assert colours == [mcolors.to_rgba(NODE_COLOURS[s]) for s in STATES]


def test_heatmap_hatches_failed_states_so_colour_is_not_the_only_sign() -> None:
    figure = node_heatmap([SimpleNamespace(state=s) for s in ("idle", "starttaskfailed")])
    assert [bool(tile.get_hatch()) for tile in rectangles(figure)] == [False, True]
    legend = figure.axes[0].get_legend()
    assert {p.get_label(): bool(p.get_hatch()) for p in legend.get_patches()} == \
        {"idle": False, "starttaskfailed": True}


def test_heatmap_tiles_do_not_overlap() -> None:
    figure = node_heatmap([SimpleNamespace(state=s) for s in STATES])
    corners = [tile.get_xy() for tile in rectangles(figure)]
    assert len(set(corners)) == 5


def test_heatmap_legend_lists_each_state_once() -> None:
    figure = node_heatmap([SimpleNamespace(state=s) for s in STATES])
    legend = figure.axes[0].get_legend()
    labels = [text.get_text() for text in legend.get_texts()]
    assert sorted(labels) == ["idle", "offline", "running", "starting"]
    handles = legend.legend_handles
    assert [mcolors.to_hex(h.get_facecolor()) for h in handles] == \
        [NODE_COLOURS[label] for label in labels]


def test_heatmap_title_shows_the_count() -> None:
    figure = node_heatmap([SimpleNamespace(state=s) for s in STATES], title="mypool")
    assert figure.axes[0].get_title() == "mypool (5)"
    assert node_heatmap([SimpleNamespace(state="idle")]).axes[0].get_title() == \
        "Nodes by state (1)"


def test_heatmap_of_no_nodes() -> None:
    figure = node_heatmap([])
    assert rectangles(figure) == []
    assert figure.axes[0].get_title() == "Nodes by state (0)"


def test_heatmap_unknown_state_gets_the_unknown_colour() -> None:
    figure = node_heatmap([SimpleNamespace(state="rebooting")])
    assert rectangles(figure)[0].get_facecolor() == mcolors.to_rgba(NODE_COLOURS["unknown"])


def test_heatmap_of_real_sdk_nodes() -> None:
    """BatchNode.state is an enum (str(BatchNodeState.IDLE) == 'BatchNodeState.IDLE'):
    notebook 03 passes batch.list_nodes(...) straight in."""
    nodes = [models.BatchNode({"id": f"tvmps_{i}", "state": s}) for i, s in enumerate(STATES)]
    figure = node_heatmap(nodes)
    colours = [tile.get_facecolor() for tile in rectangles(figure)]
    assert colours == [mcolors.to_rgba(NODE_COLOURS[s]) for s in STATES]
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert sorted(labels) == ["idle", "offline", "running", "starting"]
