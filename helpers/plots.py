"""Plots of pools and tasks, coloured as Batch Explorer colours them."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .clients import sdk_text


class PlotFigure(Figure):
    """A Figure that a notebook shows as a PNG when it is a cell's result, whatever the backend."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


NODE_COLOURS = {  # Batch Explorer's heat map legend
    "idle": "#919191", "running": "#178d17", "creating": "#dbf659", "starting": "#fffe5c",
    "waitingforstarttask": "#be93d9", "starttaskfailed": "#aa3939", "unusable": "#f95619",
    "offline": "#305796", "preempted": "#313131", "leavingpool": "#ff755c",
    "unknown": "#f98819",
}


def node_heatmap(nodes: Iterable, title: str = "Nodes by state") -> Figure:
    """One tile per node (from list_nodes), coloured by its state, with a legend."""
    states = [sdk_text(node.state) for node in nodes]
    columns = max(1, math.ceil(math.sqrt(len(states))))
    rows = max(1, math.ceil(len(states) / columns))
    # Not pyplot: the notebook shows it once, as the cell's result.
    figure = PlotFigure(figsize=(2 + columns * 0.8, 0.6 + rows * 0.8))
    axes = figure.subplots()
    for index, state in enumerate(states):
        row, column = divmod(index, columns)
        axes.add_patch(Rectangle((column, rows - row - 1), 0.9, 0.9,
                                 color=NODE_COLOURS.get(state, "#f98819")))
    axes.set_xlim(0, columns)
    axes.set_ylim(0, rows)
    axes.set_aspect("equal")
    axes.axis("off")
    axes.set_title(f"{title} ({len(states)})")
    seen = sorted(set(states))
    axes.legend(handles=[Patch(color=NODE_COLOURS.get(s, "#f98819"), label=s) for s in seen],
                loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    figure.tight_layout()
    return figure


RESULT_COLOURS = {"success": "#178d17", "failure": "#c0392b"}
WAIT_COLOUR = "#b0b0b0"


def relative(table: pd.DataFrame) -> pd.DataFrame:
    """The timing table with seconds since the first task was created, and short node names."""
    t0 = table["created"].min()
    out = table.copy()
    for column in ("created", "started", "ended"):
        out[f"{column}_t"] = (out[column] - t0).dt.total_seconds()
    order = out.sort_values("started")["node"].dropna().unique()
    names = {node: f"node {i}" for i, node in enumerate(order, start=1)}
    out["node_name"] = out["node"].map(names)
    return out


def gantt(table: pd.DataFrame) -> Figure:
    """Each node's tasks as bars on a time line: gaps are idle time, red bars failures."""
    data = relative(table).dropna(subset=["started_t", "ended_t"])
    nodes = sorted(data["node_name"].unique(), key=lambda n: int(n.split()[1]))
    figure = PlotFigure(figsize=(8, 0.6 + 0.5 * len(nodes)))
    axes = figure.subplots()
    for row, node in enumerate(nodes):
        mine = data[data["node_name"] == node]
        axes.broken_barh(list(zip(mine["started_t"], mine["running_s"])), (row - 0.4, 0.8),
                         facecolors=[RESULT_COLOURS.get(r, "#f98819") for r in mine["result"]],
                         edgecolor="white")
        for _, task in mine.iterrows():
            axes.text(task["started_t"] + task["running_s"] / 2, row, task["task"],
                      ha="center", va="center", fontsize=7, color="white")
    axes.set_yticks(range(len(nodes)), nodes)
    axes.set_xlabel("seconds since the first task was created")
    axes.set_title("Tasks per node")
    figure.tight_layout()
    return figure


def wait_and_run(table: pd.DataFrame) -> Figure:
    """Per task, the seconds it waited for a node, then ran; failures marked ✗ in red."""
    data = relative(table).iloc[::-1]
    figure = PlotFigure(figsize=(8, 0.6 + 0.3 * len(data)))
    axes = figure.subplots()
    axes.barh(data["task"], data["waiting_s"], color=WAIT_COLOUR, label="waiting")
    axes.barh(data["task"], data["running_s"], left=data["waiting_s"],
              color=[RESULT_COLOURS.get(r, "#f98819") for r in data["result"]], label="running")
    for _, task in data[data["result"] == "failure"].iterrows():
        axes.text(task["waiting_s"] + task["running_s"], task["task"], " ✗ failed",
                  va="center", color=RESULT_COLOURS["failure"], fontsize=8)
    axes.set_xlabel("seconds")
    axes.legend(loc="lower right")
    axes.set_title("Waiting and running time per task")
    figure.tight_layout()
    return figure


def progress_data(table: pd.DataFrame) -> pd.DataFrame:
    """How many tasks had started and ended at each moment (seconds since the first creation)."""
    data = relative(table)
    events = pd.concat([pd.DataFrame({"t": data["started_t"], "started": 1, "ended": 0}),
                        pd.DataFrame({"t": data["ended_t"], "started": 0, "ended": 1})])
    events = events.dropna().sort_values("t", kind="stable")
    events[["started", "ended"]] = events[["started", "ended"]].cumsum()
    return events.reset_index(drop=True)


def progress(table: pd.DataFrame) -> Figure:
    """Tasks started and done against time: the job's progress, as Batch Explorer draws it."""
    data = progress_data(table)
    figure = PlotFigure(figsize=(7, 3.5))
    axes = figure.subplots()
    axes.step(data["t"], data["started"], where="post", label="started", color="#305796")
    axes.step(data["t"], data["ended"], where="post", label="done", color="#178d17")
    axes.set_xlabel("seconds since the first task was created")
    axes.set_ylabel("tasks")
    axes.legend()
    axes.set_title("Job progress")
    figure.tight_layout()
    return figure


def activity_data(table: pd.DataFrame, step: float | None = None) -> pd.DataFrame:
    """Tasks running on each node (rows) at each time step (columns; 50 steps by default)."""
    data = relative(table).dropna(subset=["started_t", "ended_t"])
    end = data["ended_t"].max() if len(data) else 0.0
    step = step or max(end / 50, 0.01)
    slices = [round(i * step, 6) for i in range(int(end / step) + 1)]
    rows = {}
    for node, mine in data.groupby("node_name"):
        rows[node] = [int(((mine["started_t"] <= t) & (mine["ended_t"] > t)).sum())
                      for t in slices]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=slices)
    return frame.sort_index(key=lambda idx: idx.str.split().str[1].astype(int))


def node_activity(table: pd.DataFrame, step: float | None = None) -> Figure:
    """A heat map of node states over time: idle (white) or running n tasks (green)."""
    data = activity_data(table, step)
    step = float(data.columns[1] - data.columns[0]) if len(data.columns) > 1 else 1.0
    figure = PlotFigure(figsize=(8, 0.8 + 0.45 * len(data)))
    axes = figure.subplots()
    image = axes.imshow(data.to_numpy(), aspect="auto", interpolation="nearest", cmap="Greens",
                        vmin=0, extent=(0, len(data.columns) * step, len(data) - 0.5, -0.5))
    axes.set_yticks(range(len(data)), list(data.index))
    axes.set_xlabel("seconds since the first task was created")
    axes.set_title("Node activity (running tasks; white = idle)")
    figure.colorbar(image, ax=axes, label="running tasks")
    figure.tight_layout()
    return figure


def speedup_data(runs: pd.DataFrame) -> pd.DataFrame:
    """From wall times per node count, the speed-up over the smallest pool and its efficiency."""
    runs = runs.sort_values("nodes").reset_index(drop=True)
    base = runs.iloc[0]
    runs["speed_up"] = base["wall_s"] / runs["wall_s"]
    runs["ideal"] = runs["nodes"] / base["nodes"]
    runs["efficiency"] = runs["speed_up"] / runs["ideal"]
    return runs


def speedup(runs: pd.DataFrame) -> Figure:
    """Wall time and speed-up against the number of nodes, with the ideal (linear) line."""
    data = speedup_data(runs)
    figure = PlotFigure(figsize=(9, 3.5))
    left, right = figure.subplots(1, 2)
    left.plot(data["nodes"], data["wall_s"], "o-")
    left.set_xlabel("nodes")
    left.set_ylabel("wall time (s)")
    left.set_title("Job wall time")
    right.plot(data["nodes"], data["speed_up"], "o-", label="measured")
    right.plot(data["nodes"], data["ideal"], "--", color="grey", label="ideal")
    right.set_xlabel("nodes")
    right.set_ylabel("speed-up")
    right.legend()
    right.set_title("Speed-up")
    for axes in (left, right):
        axes.set_xticks(list(data["nodes"]))
    figure.tight_layout()
    return figure
