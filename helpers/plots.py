"""The node heat map of notebook 03, coloured as Batch Explorer colours node states."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable

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
FAILED = {"starttaskfailed", "unusable", "unknown"}  # also hatched: not told by colour alone


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
        axes.add_patch(Rectangle((column, rows - row - 1), 0.9, 0.9, edgecolor="white",
                                 facecolor=NODE_COLOURS.get(state, "#f98819"),
                                 hatch="//" if state in FAILED else None))
    axes.set_xlim(0, columns)
    axes.set_ylim(0, rows)
    axes.set_aspect("equal")
    axes.axis("off")
    axes.set_title(f"{title} ({len(states)})")
    seen = sorted(set(states))
    axes.legend(handles=[Patch(facecolor=NODE_COLOURS.get(s, "#f98819"), label=s,
                               hatch="//" if s in FAILED else None) for s in seen],
                loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    figure.tight_layout()
    return figure
