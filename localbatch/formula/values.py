"""The formula's values, and how autoScaleRun.results prints them.

Learn's types (https://learn.microsoft.com/azure/batch/batch-automatic-scaling, "Types") map to
Python as: double -> float; doubleVec -> tuple of floats; doubleVecList -> only a function's
argument list (see functions.py); string -> str; timestamp -> an aware datetime in UTC;
timeinterval -> Interval. A sampled metric (samples.Samples) is an object with methods, not a
value: it cannot be stored in a variable or used in arithmetic (not documented).

Printing, from recorded results: a double as C's %g, six significant digits ("$samples=96.6667",
"$targetVMs=0.5"), a timestamp as "2016-10-13T19:18:47.805Z" (Learn), a doubleVec as
"[1,1,1]" (Learn, "GetSample() and sample ranges"), a string bare ("requeue"). How a
timeinterval prints is not documented: an ISO 8601 duration ("PT10M"), the REST API's form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .errors import RunError


@dataclass(frozen=True, slots=True)
class Interval:
    """A timeinterval, in seconds (TimeInterval_100ns is 1e-7)."""
    seconds: float


# Learn's TimeInterval_* constants. How long TimeInterval_Year is is not documented: 365 days.
TIME_INTERVALS = {
    "TimeInterval_Zero": Interval(0.0),
    "TimeInterval_100ns": Interval(1e-7),
    "TimeInterval_Microsecond": Interval(1e-6),
    "TimeInterval_Millisecond": Interval(1e-3),
    "TimeInterval_Second": Interval(1.0),
    "TimeInterval_Minute": Interval(60.0),
    "TimeInterval_Hour": Interval(3600.0),
    "TimeInterval_Day": Interval(86400.0),
    "TimeInterval_Week": Interval(7 * 86400.0),
    "TimeInterval_Year": Interval(365 * 86400.0),
}

# $NodeDeallocationOption's values, written bare in Learn's formulas
# ("$NodeDeallocationOption = taskcompletion;"): names that read as their own string.
DEALLOCATION_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")
CONSTANTS = {**TIME_INTERVALS, **{option: option for option in DEALLOCATION_OPTIONS}}

TIMESTAMP_MEMBERS = ("year", "month", "day", "weekday", "hour", "minute", "second")


def kind(value: object) -> str:
    """The formula's name for a value's type, as errors name it."""
    if isinstance(value, float):
        return "double"
    if isinstance(value, tuple):
        return "doubleVec"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, Interval):
        return "timeinterval"
    return "sampled metric"


def utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def shift(moment: datetime, interval: Interval) -> datetime:
    """timestamp + timeinterval, failing cleanly past the calendar's ends."""
    try:
        return moment + timedelta(seconds=interval.seconds)
    except (OverflowError, ValueError):
        raise RunError("the timestamp is out of range") from None


def member(moment: datetime, name: str) -> float:
    """A timestamp's member, from Learn's list. Learn gives "1 for Monday"; the rest of the
    week is not documented: .NET's DayOfWeek is followed (Sunday 0 ... Saturday 6)."""
    if name == "weekday":
        return float(moment.isoweekday() % 7)
    return float(getattr(moment, name))


def truth(value: object) -> bool:
    """A double as a condition: nonzero is true (Learn, for the ternary operator)."""
    if not isinstance(value, float):
        raise RunError(f"a condition must be a double, not a {kind(value)}")
    return value != 0


def show(value: object) -> str:
    """A value as autoScaleRun.results prints it."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ",".join(f"{item:g}" for item in value) + "]"
    if isinstance(value, datetime):
        m = utc(value)
        return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
                f"{m.second:02d}.{m.microsecond // 1000:03d}Z")
    if isinstance(value, Interval):
        return duration(value.seconds)
    return str(value)


def duration(seconds: float) -> str:
    """ISO 8601: PT0S, PT1M30S, P1DT2H, -PT0.5S."""
    if not math.isfinite(seconds):
        return f"{seconds:g}"
    sign, rest = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(rest, 86400.0)
    hours, rest = divmod(rest, 3600.0)
    minutes, rest = divmod(rest, 60.0)
    text = "P" + (f"{days:.0f}D" if days else "")
    clock = (f"{hours:.0f}H" if hours else "") + (f"{minutes:.0f}M" if minutes else "")
    clock += f"{rest:g}S" if rest or not (days or clock) else ""
    return sign + text + ("T" + clock if clock else "")
