"""Evaluating a checked formula against a pool's variables at a moment: the autoScaleRun.

Variables (Learn, "Variables": https://learn.microsoft.com/azure/batch/batch-automatic-scaling):
- Read-write: $TargetDedicatedNodes, $TargetLowPriorityNodes and $NodeDeallocationOption
  (requeue, terminate, taskcompletion or retaineddata; requeue by default). Read before they
  are set, the targets are the pool's current targets, which the caller passes under those
  names (0 if it does not): a recorded run read $TargetDedicatedNodes = 1 from its pool, and
  the service reports an unset target at its current value ("$TargetLowPriorityNodes=0").
  Learn's aliases $TargetDedicated and $TargetLowPriority set the same targets; when a
  formula sets both names, the full one wins (Learn's note).
- Read-only: $CPUPercent, $WallClockSeconds, $MemoryBytes, $DiskBytes, $DiskReadBytes,
  $DiskWriteBytes, $DiskReadOps, $DiskWriteOps, $NetworkInBytes, $NetworkOutBytes,
  $SampleNodeCount, $ActiveTasks, $RunningTasks, $PendingTasks ($ActiveTasks plus
  $RunningTasks), $SucceededTasks, $FailedTasks, $TaskSlotsPerNode, $CurrentDedicatedNodes,
  $CurrentLowPriorityNodes, $UsableNodeCount, $PreemptedNodeCount. The caller supplies them, a
  double (float) or a Samples; a sampled metric it leaves out has no samples, any other it
  leaves out is an unknown variable (not documented). $UsableNodeCount is not in the versions
  of Learn read here (2019 to 2021); it is taken as the others. $CurrentDedicated reads
  $CurrentDedicatedNodes: Microsoft's Enable-AzBatchAutoScale example uses it; whether Azure
  still accepts it is not verified; nor, here, for the target aliases, though Learn documents
  them and the Azure SDK for .NET's migration guide still writes "$TargetDedicated = 1;".
- A user variable is any other name, with or without "$" ($x and x are two variables, as the
  service prints them). Reading one never set fails the run (the service fails
  "$something_useless" with AutoScalingFormulaEvaluationError).

The run's outcome, from recorded runs: results are the three read-write variables, then the
user variables the formula set, sorted by code point ("$samples=96.6667;$targetVMs=0.5;
$tasks=0;cappedPoolSize=3"), as name=value joined by ";". The aliases are not printed (not
documented). A target becomes a node count by truncation, which Learn's "+ 3) / 4" idiom
assumes; a target that is negative, nan, infinite or past 2^31 - 1 fails the run (not
documented). A run that fails changes nothing: its results are the read-write variables as
they were, as recorded ("$TargetDedicatedNodes=2;..." after a failed evaluation); its
assignments are those made before the failure.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from . import nodes
from .errors import EVALUATION_ERROR, FormulaError, RunError
from .functions import FUNCTIONS, Stop
from .operators import binary, prefix
from .parse import parse
from .samples import Samples
from .values import CONSTANTS, DEALLOCATION_OPTIONS, kind, member, show, truth, utc

DEDICATED, LOW_PRIORITY, DEALLOCATION = (
    "$TargetDedicatedNodes", "$TargetLowPriorityNodes", "$NodeDeallocationOption")
ALIASES = {"$TargetDedicated": DEDICATED, "$TargetLowPriority": LOW_PRIORITY}
READ_ALIASES = {**ALIASES, "$CurrentDedicated": "$CurrentDedicatedNodes"}
SAMPLED = ("$CPUPercent", "$WallClockSeconds", "$MemoryBytes", "$DiskBytes", "$DiskReadBytes",
           "$DiskWriteBytes", "$DiskReadOps", "$DiskWriteOps", "$NetworkInBytes",
           "$NetworkOutBytes", "$SampleNodeCount", "$ActiveTasks", "$RunningTasks",
           "$PendingTasks", "$SucceededTasks", "$FailedTasks", "$PreemptedNodeCount")
READ_ONLY = frozenset(SAMPLED + ("$TaskSlotsPerNode", "$CurrentDedicatedNodes",
                                 "$CurrentLowPriorityNodes", "$UsableNodeCount",
                                 "$CurrentDedicated"))
MAX_NODES = 2**31 - 1
NO_SAMPLES = Samples()


@dataclass(frozen=True)
class Evaluation:
    """One autoScaleRun. assignments: every variable the formula set, as written, in the order
    first set, with its last value. targets: targetDedicatedNodes and targetLowPriorityNodes
    (int) and nodeDeallocationOption (the value set, or None). results: autoScaleRun.results.
    error: None, or autoScaleRun.error (code, message, values of name and value)."""
    assignments: dict
    targets: dict
    results: str
    error: dict | None


def evaluate(formula: nodes.Formula | str, variables: dict, now: datetime,
             rng: random.Random | None = None) -> Evaluation:
    """Run a formula (parsed, or text to parse) at `now`. Never raises: a problem is the
    Evaluation's error, a formula that does not parse included."""
    run = _Run(variables, now, rng)
    try:
        if isinstance(formula, str):
            formula = parse(formula)
        return run.execute(formula)
    except FormulaError as exc:
        return run.failed({"code": exc.code, "message": exc.message,
                           "values": [{"name": n, "value": v} for n, v in exc.values]})
    except Exception as exc:   # noqa: BLE001 - a bug here must not take the caller down
        error = RunError(f"internal error ({type(exc).__name__})", EVALUATION_ERROR)
        return run.failed(error.as_dict())


class _Run:
    def __init__(self, variables: dict, now: datetime, rng: random.Random | None) -> None:
        self.now = utc(now) if isinstance(now, datetime) else now
        self.rng = rng if rng is not None else random   # the module: its shared generator
        self.given: dict[str, object] = {}
        for name, value in (variables or {}).items():
            if isinstance(value, Samples):
                self.given[name] = value
            elif isinstance(value, (int, float)):
                self.given[name] = float(value)
        self.assigned: dict[str, object] = {}
        self.where: dict[str, nodes.Assign] = {}

    def execute(self, formula: nodes.Formula) -> Evaluation:
        try:
            if not isinstance(self.now, datetime):
                raise RunError("the evaluation time is not a datetime")
            try:
                for statement in formula.statements:
                    if isinstance(statement, nodes.Assign):
                        self.assign(statement)
                    else:
                        self.value(statement.value)
            except Stop:
                pass   # stop(): what was set before it stands
            targets = {"targetDedicatedNodes": self.count(DEDICATED),
                       "targetLowPriorityNodes": self.count(LOW_PRIORITY),
                       "nodeDeallocationOption": self.assigned.get(DEALLOCATION)}
        except RunError as exc:
            return self.failed(exc.as_dict())
        return Evaluation(dict(self.assigned), targets, self.results(), None)

    def failed(self, error: dict) -> Evaluation:
        current = {name: self.current(name) for name in (DEDICATED, LOW_PRIORITY)}
        targets = {"targetDedicatedNodes": _nodes(current[DEDICATED]),
                   "targetLowPriorityNodes": _nodes(current[LOW_PRIORITY]),
                   "nodeDeallocationOption": None}
        results = (f"{DEDICATED}={show(current[DEDICATED])};"
                   f"{LOW_PRIORITY}={show(current[LOW_PRIORITY])};{DEALLOCATION}=requeue")
        return Evaluation(dict(self.assigned), targets, results, error)

    def current(self, name: str) -> float:
        value = self.given.get(name, 0.0)
        return value if isinstance(value, float) else 0.0

    def target(self, name: str) -> tuple[object, nodes.Assign | None]:
        """A target's value after the run, and the statement that set it (None: not set)."""
        for written in (name, *(alias for alias, full in ALIASES.items() if full == name)):
            if written in self.assigned:
                return self.assigned[written], self.where[written]
        return self.current(name), None

    def count(self, name: str) -> int:
        """A target as a node count; one the formula set must be a possible one."""
        value, statement = self.target(name)
        if statement is not None and not (math.isfinite(value) and 0 <= value <= MAX_NODES):
            error = RunError(f"{name} is {show(value)}: a node count is from 0 to {MAX_NODES}")
            error.locate(statement.line, statement.column)
            raise error
        return _nodes(value)

    def results(self) -> str:
        option = self.assigned.get(DEALLOCATION, "requeue")
        fixed = [f"{DEDICATED}={show(self.target(DEDICATED)[0])}",
                 f"{LOW_PRIORITY}={show(self.target(LOW_PRIORITY)[0])}",
                 f"{DEALLOCATION}={option}"]
        own = sorted(name for name in self.assigned
                     if name not in (DEDICATED, LOW_PRIORITY, DEALLOCATION, *ALIASES))
        return ";".join(fixed + [f"{name}={show(self.assigned[name])}" for name in own])

    # -- statements and expressions ------------------------------------------------------

    def assign(self, statement: nodes.Assign) -> None:
        name = statement.name
        try:
            if name in READ_ONLY:
                raise RunError(f"{name} is read-only")
            if name in CONSTANTS:
                raise RunError(f"{name} is a constant")
            value = self.value(statement.value)
            if isinstance(value, Samples):
                raise RunError("a sampled metric cannot be stored: use its methods, such as "
                               "GetSample()")
            if name == DEALLOCATION and value not in DEALLOCATION_OPTIONS:
                raise RunError(f"{name} is one of {', '.join(DEALLOCATION_OPTIONS)}, not "
                               f"{show(value)}")
            if name in (DEDICATED, LOW_PRIORITY, *ALIASES) and not isinstance(value, float):
                raise RunError(f"{name} is a double, not a {kind(value)}")
        except RunError as exc:
            exc.locate(statement.line, statement.column)
            raise
        self.assigned[name] = value
        self.where[name] = statement

    def value(self, node: object) -> object:
        try:
            return self._value(node)
        except RunError as exc:
            exc.locate(node.line, node.column)
            raise

    def _value(self, node: object) -> object:
        if isinstance(node, (nodes.Number, nodes.String)):
            return node.value
        if isinstance(node, nodes.Name):
            return self.read(node.name)
        if isinstance(node, nodes.Chain):
            result = self.value(node.operands[0])
            for (op, line, column), operand in zip(node.ops, node.operands[1:]):
                right = self.value(operand)
                try:
                    result = binary(op, result, right)
                except RunError as exc:
                    exc.locate(line, column)
                    raise
            return result
        if isinstance(node, nodes.Logical):
            for operand in node.operands:
                decided = truth(self.value(operand))
                if decided == (node.op == "||"):
                    return 1.0 if decided else 0.0
            return 0.0 if node.op == "||" else 1.0
        if isinstance(node, nodes.Ternary):
            chosen = node.then if truth(self.value(node.condition)) else node.otherwise
            return self.value(chosen)
        if isinstance(node, nodes.Prefix):
            return prefix(node.op, self.value(node.operand))
        if isinstance(node, nodes.Call):
            args = [self.value(arg) for arg in node.args]
            for arg in args:
                if isinstance(arg, Samples):
                    raise RunError(f"{node.name}() takes values, not a sampled metric: use its "
                                   "methods, such as GetSample()")
            return FUNCTIONS[node.name][2](args, self.now, self.rng)
        if isinstance(node, nodes.Method):
            metric = self.value(node.target)
            label = node.target.name if isinstance(node.target, nodes.Name) else "the metric"
            if not isinstance(metric, Samples):
                raise RunError(f"{label} is a {kind(metric)}, not a sampled metric: it has no "
                               f"{node.name}()")
            return metric.call(node.name, [self.value(arg) for arg in node.args], self.now,
                               label)
        if isinstance(node, nodes.Member):
            moment = self.value(node.target)
            if not isinstance(moment, datetime):
                raise RunError(f"a {kind(moment)} has no member {node.name}")
            return member(moment, node.name)
        raise RunError(f"cannot evaluate {type(node).__name__}")

    def read(self, name: str) -> object:
        name = READ_ALIASES.get(name, name)
        if name in (DEDICATED, LOW_PRIORITY):
            return self.target(name)[0]
        if name in self.assigned:
            return self.assigned[name]
        if name == DEALLOCATION:
            return "requeue"
        if name in self.given:
            return self.given[name]
        if name in SAMPLED:
            return NO_SAMPLES
        if name in CONSTANTS:
            return CONSTANTS[name]
        raise RunError(f"{name} is not defined")


def _nodes(value: float) -> int:
    """A node count by truncation; a caller's impossible current target counts as 0."""
    return int(value) if math.isfinite(value) and 0 <= value <= MAX_NODES else 0
