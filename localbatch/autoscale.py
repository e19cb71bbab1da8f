"""Autoscale: a pool's formula, sampled and evaluated on the service's own clock.

Batch samples a pool's metrics every 30 seconds and evaluates its formula every
autoScaleEvaluationInterval (5 minutes at least; Learn, "Create a formula to automatically scale
compute nodes"). Here both run on one ticker, and LOCALBATCH_TIME_SCALE (1 by default) divides
them, with the 30 seconds between two enables: at 10, a PT5M interval lasts 30 s and a sample is
taken every 3 s. The formula's own time is not scaled: time() is the wall clock, and a window
such as TimeInterval_Minute * 5 is five real minutes, which then holds ten times more samples.

What a sample holds, per pool: the task counts of its active jobs ($ActiveTasks,
$RunningTasks, $PendingTasks as their sum, $SucceededTasks, $FailedTasks as the jobs' totals:
Learn does not say whether a sample counts all tasks or those of its period), its preempted
nodes, and $CPUPercent (the node agents' process trees, psutil) with $SampleNodeCount. The other
resource metrics ($MemoryBytes, $Disk*, $Network*, $WallClockSeconds) have no samples here, and
a formula that asks for them fails as on Azure when samples are missing. The history lives in
memory: a restart of the service starts it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import timedelta

import psutil

from . import dependencies, errors, wire
from .formula import FormulaError, Samples, evaluate, parse
from .ids import key
from .nodes import NodeManager
from .registry import Registry

log = logging.getLogger(__name__)

SAMPLE_PERIOD = 30.0        # seconds between two samples on Azure (Learn)
ENABLE_SPACING = 30.0       # "You cannot call this API for the same Pool more than once every
                            # 30 seconds" (Enable Pool Auto Scale, REST 2025-06-01)
DEFAULT_INTERVAL = "PT15M"  # autoScaleEvaluationInterval: "The default value is 15 minutes"
HISTORY = 24 * 3600         # seconds of samples kept (localbatch's choice: a day)
TASK_METRICS = ("$ActiveTasks", "$RunningTasks", "$PendingTasks", "$SucceededTasks",
                "$FailedTasks", "$PreemptedNodeCount", "$CPUPercent", "$SampleNodeCount")
USABLE = ("idle", "running")


def check_formula(text: str) -> None:
    """A formula the service would refuse, refused the same way: 400 and the parser's line."""
    try:
        parse(text)
    except FormulaError as exc:
        raise errors.formula_error(exc.code, exc.message,
                                   {name: value for name, value in exc.values}) from None


class AutoScale:
    """Samples every pool that scales itself, evaluates its formula when it is due, and hands
    the results to the pool manager (apply), which alone changes a pool."""

    def __init__(self, registry: Registry, nodes: NodeManager, scale: float = 1.0):
        self.registry, self.nodes, self.scale = registry, nodes, scale
        self.history: dict[str, dict[str, deque]] = {}
        self.due: dict[str, float] = {}           # pool key: loop time of its next evaluation
        self.enabled_at: dict[str, float] = {}    # pool key: loop time of its last enable
        self.cpu: dict[tuple[str, str], tuple[float, float]] = {}   # node: (cpu s, wall s)
        self.apply = None   # Pools.apply_autoscale(pool_key, evaluation), set by Pools

    @property
    def period(self) -> float:
        return SAMPLE_PERIOD / self.scale

    def seconds(self, interval: str) -> float:
        """An evaluation interval as the local clock runs it."""
        return wire.duration_seconds(interval, "autoScaleEvaluationInterval") / self.scale

    # -- the schedule ----------------------------------------------------------------------

    def enabling(self, pool_key: str) -> None:
        """The 30-second rule between two enables (scaled with the clock): 503
        TooManyEnableAutoScaleRequests (the error table), which the SDKs retry by themselves."""
        now = asyncio.get_running_loop().time()
        last = self.enabled_at.get(pool_key)
        if last is not None and now - last < ENABLE_SPACING / self.scale:
            raise errors.TooManyEnableAutoScaleRequests()

    def start(self, pool_key: str, pool: dict, new_schedule: bool) -> dict:
        """Autoscale on, or its formula or interval changed: the pool is sampled and its formula
        evaluated at once (localbatch's choice: the spec does not say when the first run is),
        and a new interval restarts the schedule from now (the spec)."""
        loop = asyncio.get_running_loop()
        self.enabled_at[pool_key] = loop.time()
        self.sample(pool_key, pool)
        if new_schedule or pool_key not in self.due:
            self.due[pool_key] = loop.time() + self.seconds(pool["autoScaleEvaluationInterval"])
        return self.run(pool_key, pool, pool["autoScaleFormula"])

    def stop(self, pool_key: str) -> None:
        self.due.pop(pool_key, None)

    def forget(self, pool_key: str) -> None:
        for table in (self.history, self.due, self.enabled_at):
            table.pop(pool_key, None)
        for node in [node for node in self.cpu if node[0] == pool_key]:
            del self.cpu[node]

    async def tick_forever(self) -> None:
        """Sample every pool that scales itself each period; evaluate those that are due."""
        while True:
            await asyncio.sleep(self.period)
            try:
                self.tick()
            except Exception:   # one bad pool must not stop the clock of the others
                log.exception("autoscale tick failed")

    def tick(self) -> None:
        now = asyncio.get_running_loop().time()
        for pool_key, pool in list(self.registry.pools.items()):
            if not pool.get("enableAutoScale") or pool["state"] != "active":
                continue
            self.sample(pool_key, pool)
            due = self.due.setdefault(pool_key, now)
            if now >= due:
                self.due[pool_key] = now + self.seconds(pool["autoScaleEvaluationInterval"])
                self.apply(pool_key, self.run(pool_key, pool, pool["autoScaleFormula"]))

    # -- samples and runs ------------------------------------------------------------------

    def sample(self, pool_key: str, pool: dict) -> None:
        at = wire.now()
        history = self.history.setdefault(
            pool_key, {name: deque(maxlen=int(HISTORY / self.period)) for name in TASK_METRICS})
        for name, value in self._measure(pool_key, pool).items():
            history[name].append((at, value))

    def _measure(self, pool_key: str, pool: dict) -> dict[str, float]:
        counts = dict.fromkeys(("active", "running", "success", "failure"), 0)
        for job_key, job in self.registry.jobs.items():
            if job.get("state") != "active" or \
                    key((job.get("poolInfo") or {}).get("poolId") or "") != pool_key:
                continue
            tasks = self.registry.tasks.get(job_key, {})
            for task in tasks.values():
                if task["state"] == "active" and \
                        dependencies.state(task, tasks) != dependencies.SATISFIED:
                    continue   # Learn: $ActiveTasks leaves out tasks whose dependencies wait
                if task["state"] == "completed":
                    counts[task["executionInfo"].get("result") or "failure"] += 1
                elif task["state"] in counts:
                    counts[task["state"]] += 1
        nodes = self.registry.nodes.get(pool_key, {})
        values = {"$ActiveTasks": counts["active"], "$RunningTasks": counts["running"],
                  "$PendingTasks": counts["active"] + counts["running"],
                  "$SucceededTasks": counts["success"], "$FailedTasks": counts["failure"],
                  "$PreemptedNodeCount": sum(n["state"] == "preempted" for n in nodes.values())}
        cpu = [c for c in (self._cpu_percent(pool_key, node_id) for node_id in nodes)
               if c is not None]
        values["$SampleNodeCount"] = len(cpu)
        if cpu:
            values["$CPUPercent"] = sum(cpu) / len(cpu)
        return values

    def _cpu_percent(self, pool_key: str, node_id: str) -> float | None:
        """A node's CPU use since its last sample: its agent and everything it started, as a
        share of one core (a local node has no cores of its own), at most 100."""
        pid = self.nodes.pid(pool_key, node_id)
        if pid is None:
            return None
        try:
            root = psutil.Process(pid)
            used = sum(sum(p.cpu_times()[:2]) for p in (root, *root.children(recursive=True)))
        except psutil.Error:
            return None
        wall = asyncio.get_running_loop().time()
        before = self.cpu.get((pool_key, node_id))
        self.cpu[(pool_key, node_id)] = (used, wall)
        if before is None or wall <= before[1]:
            return None
        return max(0.0, min(100.0, 100 * (used - before[0]) / (wall - before[1])))

    def run(self, pool_key: str, pool: dict, formula: str):
        """The formula evaluated against the pool now: a formula.Evaluation (never raises)."""
        period = timedelta(seconds=self.period)
        history = self.history.get(pool_key, {})
        nodes = list(self.registry.nodes.get(pool_key, {}).values())
        variables: dict = {name: Samples(history.get(name, ()), period) for name in TASK_METRICS}
        variables.update({
            "$TargetDedicatedNodes": float(pool["targetDedicatedNodes"]),
            "$TargetLowPriorityNodes": float(pool["targetLowPriorityNodes"]),
            "$CurrentDedicatedNodes": float(sum(n["isDedicated"] for n in nodes)),
            "$CurrentLowPriorityNodes": float(sum(not n["isDedicated"] for n in nodes)),
            "$UsableNodeCount": float(sum(n["state"] in USABLE for n in nodes)),
            "$TaskSlotsPerNode": float(pool["taskSlotsPerNode"]),
        })
        return evaluate(formula, variables, wire.now())


def run_document(evaluation) -> dict:
    """autoScaleRun: timestamp, results and (a failed run) error."""
    run = {"timestamp": wire.iso(wire.now()), "results": evaluation.results}
    if evaluation.error:
        run["error"] = evaluation.error
    return run
