"""The operators, by the types of their operands: exactly Learn's table ("Operations",
https://learn.microsoft.com/azure/batch/batch-automatic-scaling#operations), anything else an
evaluation error. So double * timeinterval is allowed but not double + doubleVec (only
doubleVec + double is listed), and a timestamp moves by adding a timeinterval, never by
subtracting one (Learn's own example adds -6 * TimeInterval_Hour).

Comparisons and && || give 1 or 0. Not documented, and chosen from C: arithmetic is IEEE's, so
x / 0 is inf (nan for 0 / 0) and an overflow is inf; && and || stop at the first operand that
decides; vectors of different lengths do not combine; strings compare by code point.
"""

from __future__ import annotations

import math
from datetime import datetime

from .errors import RunError
from .values import Interval, kind, shift


def arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * (
            math.copysign(1.0, b))
    return a / b


COMPARE = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
    ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "!=": lambda a, b: a != b,
}
COMPARABLE = (float, str, datetime, Interval)


def binary(op: str, a: object, b: object) -> object:
    """a op b for one of + - * / < <= == >= > !=."""
    if op in COMPARE:
        for family in COMPARABLE:
            if isinstance(a, family) and isinstance(b, family):
                return 1.0 if COMPARE[op](_key(a), _key(b)) else 0.0
    elif isinstance(a, float) and isinstance(b, float):
        return arithmetic(op, a, b)
    elif isinstance(a, tuple) and isinstance(b, float):
        return tuple(arithmetic(op, x, b) for x in a)
    elif isinstance(a, tuple) and isinstance(b, tuple):
        if len(a) != len(b):
            raise RunError(f"doubleVecs of {len(a)} and {len(b)} values do not combine")
        return tuple(arithmetic(op, x, y) for x, y in zip(a, b))
    elif isinstance(a, float) and isinstance(b, Interval) and op == "*":
        return Interval(a * b.seconds)
    elif isinstance(a, Interval) and isinstance(b, float) and op in "*/":
        return Interval(arithmetic(op, a.seconds, b))
    elif isinstance(a, Interval) and isinstance(b, Interval) and op in "+-":
        return Interval(arithmetic(op, a.seconds, b.seconds))
    elif op == "+" and isinstance(a, Interval) and isinstance(b, datetime):
        return shift(b, a)
    elif op == "+" and isinstance(a, datetime) and isinstance(b, Interval):
        return shift(a, b)
    elif op == "-" and isinstance(a, datetime) and isinstance(b, datetime):
        return Interval((a - b).total_seconds())
    raise RunError(f"no operator {op} for a {kind(a)} and a {kind(b)}")


def _key(value: object) -> object:
    return value.seconds if isinstance(value, Interval) else value


def prefix(op: str, a: object) -> object:
    """-x and !x: - of a double or a timeinterval, ! of a double (1 if it is zero)."""
    if isinstance(a, float):
        return -a if op == "-" else (1.0 if a == 0 else 0.0)
    if op == "-" and isinstance(a, Interval):
        return Interval(-a.seconds)
    raise RunError(f"no operator {op} for a {kind(a)}")
