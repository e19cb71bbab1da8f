"""The checked formula, as parse() hands it to evaluate(): immutable nodes, each with the line
and column (1-based) that a run-time error names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Number:
    line: int
    column: int
    value: float


@dataclass(frozen=True, slots=True)
class String:
    line: int
    column: int
    value: str


@dataclass(frozen=True, slots=True)
class Name:
    """A variable or a constant (TimeInterval_Minute, taskcompletion), read when evaluated."""
    line: int
    column: int
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    line: int
    column: int
    name: str
    args: tuple


@dataclass(frozen=True, slots=True)
class Method:
    """A sampled metric's method: $CPUPercent.GetSample(...)."""
    line: int
    column: int
    target: object
    name: str
    args: tuple


@dataclass(frozen=True, slots=True)
class Member:
    """A timestamp's member: time().hour."""
    line: int
    column: int
    target: object
    name: str


@dataclass(frozen=True, slots=True)
class Prefix:
    line: int
    column: int
    op: str
    operand: object


@dataclass(frozen=True, slots=True)
class Chain:
    """Left-associative operators of one precedence level: operands[0] ops[0] operands[1] ...;
    each op is (operator, line, column)."""
    line: int
    column: int
    operands: tuple
    ops: tuple


@dataclass(frozen=True, slots=True)
class Logical:
    """&& or || over operands, left to right, stopping as soon as the result is known."""
    line: int
    column: int
    op: str
    operands: tuple


@dataclass(frozen=True, slots=True)
class Ternary:
    line: int
    column: int
    condition: object
    then: object
    otherwise: object


@dataclass(frozen=True, slots=True)
class Assign:
    line: int
    column: int
    name: str
    value: object


@dataclass(frozen=True, slots=True)
class Expression:
    """A statement that is only an expression: evaluated (it can fail, or stop()), then
    dropped."""
    line: int
    column: int
    value: object


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula that passed parse(): its text and its statements, in order."""
    text: str
    statements: tuple
