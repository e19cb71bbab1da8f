"""The predefined functions (Learn, "Functions":
https://learn.microsoft.com/azure/batch/batch-automatic-scaling#functions).

A doubleVecList is "any combination of double and doubleVec", flattened before the call:
avg(v, 7) with v = [1,2,3] is avg(1,2,3,7). lg, ln and log take a double and give one, or a
doubleVec (or several arguments) and give a doubleVec.

Where Learn is silent (not documented), the choices: arithmetic is IEEE's, as the service's %g
output suggests C (log of 0 is -inf, of a negative number nan); avg, max, min, range and
percentile of no value, std of fewer than two, val outside its vector and a time() string that
is neither W3C-DTF nor RFC 1123 are evaluation errors; percentile(v, p) takes p from 0 to 100
and gives the nearest-rank element (the smallest element with at least p% of v at or below
it); val's index must be a whole number; rand() is uniform on [0, 1); time()'s RFC 1123 form
ends in GMT or UTC, and a W3C-DTF date without a time zone is UTC; stop() ends the evaluation
there, successfully, with what was assigned before it.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from .errors import RunError
from .values import kind


class Stop(Exception):
    """stop() was called: the evaluation ends here."""


def numbers(name: str, args: list) -> tuple[float, ...]:
    """A doubleVecList, flattened."""
    flat: list[float] = []
    for arg in args:
        if isinstance(arg, float):
            flat.append(arg)
        elif isinstance(arg, tuple):
            flat.extend(arg)
        else:
            raise RunError(f"{name}() takes doubles and doubleVecs, not a {kind(arg)}")
    return tuple(flat)


def some(name: str, args: list) -> tuple[float, ...]:
    values = numbers(name, args)
    if not values:
        raise RunError(f"{name}() of no value")
    return values


def c_log(base: Callable[[float], float]) -> Callable[[float], float]:
    """A math log with C's answers where Python's raises: -inf at 0, nan below."""
    def log(x: float) -> float:
        if x > 0:
            return base(x)
        return -math.inf if x == 0 else math.nan
    return log


def logarithm(name: str, base: Callable[[float], float]) -> Callable:
    log = c_log(base)

    def call(args: list, now: datetime, rng: random.Random) -> float | tuple:
        if len(args) == 1 and isinstance(args[0], float):
            return log(args[0])
        return tuple(log(x) for x in numbers(name, args))
    return call


def std(args: list, now: datetime, rng: random.Random) -> float:
    """The sample standard deviation (n - 1)."""
    values = numbers("std", args)
    if len(values) < 2:
        raise RunError("std() needs at least two values")
    mean = sum(values) / len(values)
    return math.sqrt(sum((x - mean) * (x - mean) for x in values) / (len(values) - 1))


def percentile(args: list, now: datetime, rng: random.Random) -> float:
    vector, p = args
    if not isinstance(vector, tuple) or not isinstance(p, float):
        raise RunError(f"percentile() takes a doubleVec and a double, not a {kind(vector)} and "
                       f"a {kind(p)}")
    if not vector:
        raise RunError("percentile() of no value")
    if not 0 <= p <= 100:
        raise RunError(f"percentile() wants a percentage from 0 to 100, not {p:g}")
    ordered = sorted(vector)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def val(args: list, now: datetime, rng: random.Random) -> float:
    vector, index = args
    if not isinstance(vector, tuple) or not isinstance(index, float):
        raise RunError(f"val() takes a doubleVec and a double, not a {kind(vector)} and "
                       f"a {kind(index)}")
    if not (math.isfinite(index) and index == int(index) and 0 <= index < len(vector)):
        raise RunError(f"val() index {index:g} is not a position in a vector of {len(vector)}")
    return vector[int(index)]


def stop(args: list, now: datetime, rng: random.Random) -> None:
    raise Stop


def time(args: list, now: datetime, rng: random.Random) -> datetime:
    if not args:
        return now
    text = args[0]
    if not isinstance(text, str):
        raise RunError(f"time() takes a string, not a {kind(text)}")
    return now if text == "" else parse_time(text)


W3C_DTF = re.compile(r"(\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?"
                     r"(Z|[+-]\d\d:\d\d))?)?)?")
RFC_1123 = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d?) "
                      r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
                      r"(\d\d):(\d\d):(\d\d) (?:GMT|UTC)")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_time(text: str) -> datetime:
    """time()'s string: W3C-DTF (https://www.w3.org/TR/NOTE-datetime) or RFC 1123."""
    try:
        if match := W3C_DTF.fullmatch(text):
            year, month, day, hour, minute, second, fraction, zone = match.groups()
            moment = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                              int(minute or 0), int(second or 0),
                              int((fraction or "0")[:6].ljust(6, "0")), timezone.utc)
            if zone and zone != "Z":
                sign = 1 if zone[0] == "+" else -1
                moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            return moment
        if match := RFC_1123.fullmatch(text):
            day, month, year, hour, minute, second = match.groups()
            return datetime(int(year), MONTHS.index(month) + 1, int(day), int(hour),
                            int(minute), int(second), tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        pass
    raise RunError(f"time() cannot read {text!r}: it takes W3C-DTF or RFC 1123")


def _over(name: str, reduce: Callable[[tuple[float, ...]], float], empty_ok: bool = False):
    gather = numbers if empty_ok else some
    return lambda args, now, rng: reduce(gather(name, args))


# name -> (fewest arguments, most or None, implementation(args, now, rng)).
FUNCTIONS: dict[str, tuple[int, int | None, Callable]] = {
    "avg": (0, None, _over("avg", lambda v: sum(v) / len(v))),
    "len": (0, None, _over("len", lambda v: float(len(v)), empty_ok=True)),
    "lg": (1, None, logarithm("lg", math.log2)),
    "ln": (1, None, logarithm("ln", math.log)),
    "log": (1, None, logarithm("log", math.log10)),
    "max": (0, None, _over("max", max)),
    "min": (0, None, _over("min", min)),
    "norm": (0, None, _over("norm", lambda v: math.hypot(*v), empty_ok=True)),
    "percentile": (2, 2, percentile),
    "rand": (0, 0, lambda args, now, rng: rng.random()),
    "range": (0, None, _over("range", lambda v: max(v) - min(v))),
    "std": (0, None, std),
    "stop": (0, 0, stop),
    "sum": (0, None, _over("sum", lambda v: float(sum(v)), empty_ok=True)),
    "time": (0, 1, time),
    "val": (2, 2, val),
}
