"""A sampled metric and its methods (Learn, "Obtain sample data":
https://learn.microsoft.com/azure/batch/batch-automatic-scaling#obtain-sample-data).

A sample is one recorded value of a metric ($ActiveTasks, $CPUPercent, ...): the Batch service
records one every 30 seconds, "30 seconds worth of metrics data", and some never arrive. Here a
sample is a (timestamp, value) pair; Samples holds a metric's history, oldest first, and the
period between samples (30 seconds unless a scaled clock passes its own). What the caller puts
in is its business: $PendingTasks, for one, is by Learn's definition the sum of $ActiveTasks
and $RunningTasks at each sample.

The methods, against the evaluation's time `now`:
- GetSample(count): the last `count` samples (fewer if there are fewer: not documented).
- GetSample(start [, percent]), GetSample(start, end [, percent]): the samples of a window.
  A timeinterval bound means `now` minus it, so GetSample(TimeInterval_Minute * 10) is the last
  ten minutes and GetSample(1 * TimeInterval_Minute, 6 * TimeInterval_Minute) the five minutes
  before the last one (Learn); a timestamp bound is itself. The window holds the samples after
  its earlier bound and up to its later one (which bound is given first, and that the earlier
  edge is left out, are not documented). With a percent, fewer than that percentage of the
  window's expected samples (its length / the period: 20 for ten minutes) fails the evaluation
  with InsufficientSampleData, as in Learn's example of 18 samples out of 20.
- GetSamplePercent(start [, end]): that percentage, 0 to 100, for the same windows. Learn's
  signature says doubleVec; it is a double (a recorded run printed "$samples=96.6667").
- GetSamplePeriod(): the period, a timeinterval. Count(): how many samples there are, a double.
  HistoryBeginTime(): the oldest sample's timestamp (an error when there is none: not
  documented).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta

from .errors import INSUFFICIENT_SAMPLES, RunError
from .values import Interval, kind, shift, utc

DEFAULT_PERIOD = timedelta(seconds=30)

# method -> (fewest, most) arguments, for parse() to check.
METHODS = {
    "GetSample": (1, 3),
    "GetSamplePercent": (1, 2),
    "GetSamplePeriod": (0, 0),
    "Count": (0, 0),
    "HistoryBeginTime": (0, 0),
}


class Samples:
    """A metric's history: (timestamp, value) pairs, which are sorted oldest first (the caller
    may give them newest last), and the sampling period."""

    __slots__ = ("_period", "_times", "_values")

    def __init__(self, points: Iterable[tuple[datetime, float]] = (),
                 period: timedelta = DEFAULT_PERIOD) -> None:
        if period <= timedelta(0):
            raise ValueError("the sampling period must be positive")
        ordered = sorted(((utc(at), float(value)) for at, value in points), key=lambda p: p[0])
        object.__setattr__(self, "_times", tuple(at for at, _ in ordered))
        object.__setattr__(self, "_values", tuple(value for _, value in ordered))
        object.__setattr__(self, "_period", period)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Samples is immutable")

    @property
    def points(self) -> tuple[tuple[datetime, float], ...]:
        return tuple(zip(self._times, self._values))

    @property
    def period(self) -> timedelta:
        return self._period

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Samples) and self.points == other.points
                and self._period == other._period)

    def __hash__(self) -> int:
        return hash((self.points, self._period))

    def __repr__(self) -> str:
        return f"Samples({len(self._values)} samples, period={self._period})"

    def call(self, method: str, args: list, now: datetime, label: str) -> object:
        """One of the methods, on evaluated arguments; `label` names the metric in errors."""
        if method == "GetSample":
            return self._get_sample(args, now, label)
        if method == "GetSamplePercent":
            return self._percent(*self._bounds(method, args, now))
        if method == "GetSamplePeriod":
            return Interval(self._period.total_seconds())
        if method == "Count":
            return float(len(self._values))
        if not self._times:
            raise RunError(f"{label} has no samples")
        return self._times[0]

    def _get_sample(self, args: list, now: datetime, label: str) -> tuple:
        args = list(args)
        if isinstance(args[0], float):
            if len(args) > 1:
                raise RunError("GetSample(count) takes no other argument")
            return self._last(args[0])
        wanted = None
        if len(args) == 3 or (len(args) == 2 and isinstance(args[1], float)):
            wanted = args.pop()
            if not isinstance(wanted, float):
                raise RunError(f"a sample percent must be a double, not a {kind(wanted)}")
        earlier, later = self._bounds("GetSample", args, now)
        if wanted is not None:
            got = self._percent(earlier, later)
            if got < wanted:
                raise RunError(f"Insufficient data from data set: {label} wanted {wanted:g}%, "
                               f"received {got:g}%", INSUFFICIENT_SAMPLES)
        return self._values[bisect_right(self._times, earlier):bisect_right(self._times, later)]

    def _last(self, count: float) -> tuple:
        if not math.isfinite(count) or count < 0:
            raise RunError(f"GetSample's count must be zero or more, not {count:g}")
        wanted = int(count)
        return self._values[-wanted:] if wanted else ()

    def _bounds(self, method: str, args: list, now: datetime) -> tuple[datetime, datetime]:
        """A window's earlier and later edges: start alone ends at `now`."""
        edges = [self._edge(method, arg, now) for arg in args] + ([now] if len(args) == 1 else [])
        return min(edges), max(edges)

    @staticmethod
    def _edge(method: str, arg: object, now: datetime) -> datetime:
        if isinstance(arg, Interval):
            return shift(now, Interval(-arg.seconds))
        if isinstance(arg, datetime):
            return arg
        raise RunError(f"{method} wants a timestamp or a timeinterval, not a {kind(arg)}")

    def _percent(self, earlier: datetime, later: datetime) -> float:
        expected = (later - earlier) / self._period
        if expected <= 0:
            return 0.0
        held = bisect_right(self._times, later) - bisect_right(self._times, earlier)
        return min(100.0, held / expected * 100.0)
