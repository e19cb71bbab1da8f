"""Autoscale and Spot preemption, through the SDK.

The rules (conformance: `make test-live` checks them on Azure) use the suite's service, whose
first evaluation comes at once. The pool that follows its queue, and preemption, need time: they
run on a service of this module's own whose autoscale clock runs 60 times faster
(LOCALBATCH_TIME_SCALE), so that a PT5M interval lasts 5 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from localbatch.control import LocalBatchError, down, up
from localbatch.statedir import StateDir
from tests.conftest import batch_client, delete_pool, pool_options, trusted, unique, wait_for

FIVE_MINUTES = timedelta(minutes=5)
SCALE = 60


def autoscale_pool(pool_id: str, formula: str, interval: timedelta | None = FIVE_MINUTES
                   ) -> models.BatchPoolCreateOptions:
    options = pool_options(pool_id, 0)
    options.target_dedicated_nodes = None
    options.enable_auto_scale = True
    options.auto_scale_formula = formula
    options.auto_scale_evaluation_interval = interval
    return options


def refused(call, *args) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call(*args)
    return caught.value


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StateDir, BatchClient]]:
    state = StateDir(tmp_path_factory.mktemp("fast-clock"))
    before = os.environ.get("LOCALBATCH_TIME_SCALE")
    os.environ["LOCALBATCH_TIME_SCALE"] = str(SCALE)
    try:
        up(state)
    finally:
        if before is None:
            del os.environ["LOCALBATCH_TIME_SCALE"]
        else:
            os.environ["LOCALBATCH_TIME_SCALE"] = before
    yield trusted(state), batch_client(state.endpoints())
    down(state)


# -- the rules -----------------------------------------------------------------------------------

@pytest.mark.conformance
def test_a_pool_created_with_a_formula_runs_it_and_keeps_the_interval(batch: BatchClient) -> None:
    """Spec: autoScaleRun {timestamp, results}; recorded: results list the three read-write
    variables; "PT06M00S" is echoed back as "PT6M"."""
    pool_id = unique("autoscale")
    batch.create_pool(autoscale_pool(pool_id, "$TargetDedicatedNodes = 0;",
                                     timedelta(minutes=6)))
    try:
        wait_for(lambda: batch.get_pool(pool_id).auto_scale_run, 120, "the first evaluation")
        pool = batch.get_pool(pool_id)
        assert pool.enable_auto_scale and pool.auto_scale_formula == "$TargetDedicatedNodes = 0;"
        assert pool.auto_scale_evaluation_interval == timedelta(minutes=6)
        assert pool.auto_scale_run.results == (
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue")
        assert pool.auto_scale_run.error is None and pool.auto_scale_run.timestamp
    finally:
        delete_pool(batch, pool_id)


@pytest.mark.conformance
@pytest.mark.parametrize("mistake, code", [
    ({"target_dedicated_nodes": 1}, "InvalidPropertyValue"),       # "must not be specified"
    ({"auto_scale_formula": None}, "MissingRequiredProperty"),      # "It is required"
    ({"auto_scale_evaluation_interval": timedelta(minutes=4)}, "InvalidPropertyValue"),
    ({"auto_scale_evaluation_interval": timedelta(hours=169)}, "InvalidPropertyValue"),
    ({"auto_scale_formula": "$TargetDedicatedNodes = (1 +;"}, "AutoScalingFormulaSyntaxError"),
    ({"auto_scale_formula": "$a = 1;" * 1200}, "AutoScalingFormulaTooLong"),   # over 8 KB
])
def test_a_pool_with_a_bad_autoscale_setting_is_refused(batch: BatchClient, mistake: dict,
                                                        code: str) -> None:
    """BatchPoolCreateOptions (REST 2025-06-01): the interval's limits are 5 minutes and 168
    hours; "The formula is checked for validity before the Pool is created"."""
    options = autoscale_pool(unique("bad-autoscale"), "$TargetDedicatedNodes = 0;")
    for name, value in mistake.items():
        setattr(options, name, value)
    error = refused(batch.create_pool, options)
    assert error.status_code == 400 and error.error.code == code, error


@pytest.mark.conformance
def test_the_rules_of_enable_resize_evaluate_and_disable(batch: BatchClient) -> None:
    """Enable Pool Auto Scale: "You cannot call this API for the same Pool more than once every
    30 seconds" (503 TooManyEnableAutoScaleRequests, the error table; this client does not
    retry); Evaluate: "The Pool must have auto scaling enabled"; Resize Pool: 409 while
    autoscale is on (the two 409s' codes are not documented); disabled, the pool keeps its
    targets (recorded)."""
    pool_id = unique("rules")
    batch.create_pool(pool_options(pool_id, 0))
    try:
        wait_for(lambda: batch.get_pool(pool_id).allocation_state == "steady", 60, "steady")
        error = refused(batch.evaluate_pool_auto_scale, pool_id,
                        models.BatchPoolEvaluateAutoScaleOptions(auto_scale_formula="$x = 1;"))
        assert (error.status_code, error.error.code) == (409, "AutoScalingNotEnabled")
        error = refused(batch.enable_pool_auto_scale, pool_id,
                        models.BatchPoolEnableAutoScaleOptions())
        assert (error.status_code, error.error.code) == (400, "MissingRequiredProperty")

        batch.enable_pool_auto_scale(pool_id, models.BatchPoolEnableAutoScaleOptions(
            auto_scale_formula="$TargetDedicatedNodes = 0;",
            auto_scale_evaluation_interval=FIVE_MINUTES))
        error = refused(batch.enable_pool_auto_scale, pool_id,
                        models.BatchPoolEnableAutoScaleOptions(
                            auto_scale_formula="$TargetDedicatedNodes = 1;"))
        assert (error.status_code, error.error.code) == (503, "TooManyEnableAutoScaleRequests")
        error = refused(batch.begin_resize_pool, pool_id,
                        models.BatchPoolResizeOptions(target_dedicated_nodes=1))
        assert (error.status_code, error.error.code) == (409, "AutoScalingEnabled")

        run = batch.evaluate_pool_auto_scale(pool_id, models.BatchPoolEvaluateAutoScaleOptions(
            auto_scale_formula="$TargetDedicatedNodes = 3; $slots = $TaskSlotsPerNode;"))
        assert run.results == ("$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;"
                               "$NodeDeallocationOption=requeue;$slots=1")
        assert batch.get_pool(pool_id).target_dedicated_nodes == 0   # evaluated, not applied
        error = refused(batch.evaluate_pool_auto_scale, pool_id,
                        models.BatchPoolEvaluateAutoScaleOptions(auto_scale_formula="1 +"))
        assert (error.status_code, error.error.code) == (400, "AutoScalingFormulaSyntaxError")
        failed = batch.evaluate_pool_auto_scale(pool_id, models.BatchPoolEvaluateAutoScaleOptions(
            auto_scale_formula="$TargetDedicatedNodes = $NoSuchVariable;"))
        assert failed.error is not None and failed.error.code

        batch.disable_pool_auto_scale(pool_id)
        pool = batch.get_pool(pool_id)
        assert not pool.enable_auto_scale and pool.auto_scale_formula is None
        assert pool.target_dedicated_nodes == 0
        batch.begin_resize_pool(pool_id, models.BatchPoolResizeOptions(target_dedicated_nodes=0),
                                polling_interval=0.2).result()
    finally:
        delete_pool(batch, pool_id)


def test_a_run_time_error_lands_in_the_run_and_changes_no_target(batch: BatchClient) -> None:
    """A formula with an error never breaks the service: the pool keeps its targets."""
    pool_id = unique("runtime")
    batch.create_pool(autoscale_pool(pool_id, "$TargetLowPriorityNodes = 1 / $Nope;"))
    try:
        run = wait_for(lambda: batch.get_pool(pool_id).auto_scale_run, 30, "the first run")
        assert run.error.code == "AutoScalingFormulaEvaluationError" and run.error.message
        assert batch.get_pool(pool_id).target_low_priority_nodes == 0
        assert batch.list_pools()   # the service still answers
    finally:
        delete_pool(batch, pool_id)


# -- on the fast clock ---------------------------------------------------------------------------

def test_the_pool_follows_its_queue(fast: tuple[StateDir, BatchClient]) -> None:
    """$PendingTasks sampled from the pool's real queue; the pool grows to the formula's target,
    then shrinks to 0 once the tasks are done."""
    _, batch = fast
    pool_id, job_id = unique("follow"), unique("queue")
    batch.create_pool(autoscale_pool(
        pool_id, "$TargetLowPriorityNodes = min(2, $PendingTasks.GetSample(1));"))
    try:
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"t{i}", command_line="/bin/sleep 4") for i in range(3)])
        wait_for(lambda: batch.get_pool(pool_id).current_low_priority_nodes == 2, 60,
                 "the pool to grow to 2 Spot nodes")
        assert "$TargetLowPriorityNodes=2" in batch.get_pool(pool_id).auto_scale_run.results
        wait_for(lambda: all(t.state == "completed" for t in batch.list_tasks(job_id)), 60,
                 "the tasks")
        batch.begin_delete_job(job_id, polling_interval=0.2).result()
        wait_for(lambda: batch.get_pool(pool_id).current_low_priority_nodes == 0, 60,
                 "the pool to shrink to 0")
    finally:
        delete_pool(batch, pool_id)


def test_a_preempted_spot_node_gives_its_task_to_another(fast: tuple[StateDir, BatchClient]
                                                         ) -> None:
    """Learn, "Use Spot VMs with Batch": a preempted node's running tasks are requeued and run
    again; the node shows preempted, stays in the pool (counted in currentLowPriorityNodes, as
    the spec says) and comes back with its id. A dedicated node cannot be preempted."""
    state, batch = fast
    pool_id, job_id = unique("spot"), unique("requeued")
    options = pool_options(pool_id, 1)
    options.target_low_priority_nodes = 2
    batch.create_pool(options)
    try:
        wait_for(lambda: sum(n.state == "idle" for n in batch.list_nodes(pool_id)) == 3, 60,
                 "three idle nodes")
        dedicated = next(n.id for n in batch.list_nodes(pool_id) if n.is_dedicated)
        spot = sorted(n.id for n in batch.list_nodes(pool_id) if not n.is_dedicated)
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
        batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
            id=f"t{i}", command_line="/bin/sleep 3") for i in range(3)])
        task = wait_for(lambda: next((t for t in batch.list_tasks(job_id) if t.state == "running"
                                      and t.node_info.node_id in spot), None), 30, "a Spot task")
        preempt = [sys.executable, "-m", "localbatch", "--state-dir", str(state.path),
                   "preempt-node", pool_id]
        done = subprocess.run([*preempt, task.node_info.node_id], capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert batch.get_node(pool_id, task.node_info.node_id).state == "preempted"
        assert batch.get_pool(pool_id).current_low_priority_nodes == 2   # still counted
        again = wait_for(lambda: (t := batch.get_task(job_id, task.id)).state == "completed"
                         and t, 60, "the requeued task")
        assert again.execution_info.result == "success"
        wait_for(lambda: batch.get_node(pool_id, task.node_info.node_id).state == "idle", 60,
                 "the preempted node to come back")
        assert sorted(n.id for n in batch.list_nodes(pool_id) if not n.is_dedicated) == spot
        refusal = subprocess.run([*preempt, dedicated], capture_output=True, text=True,
                                 check=False)
        assert refusal.returncode == 1 and "NodeNotSpot" in refusal.stderr
        assert "Traceback" not in refusal.stderr
    finally:
        delete_pool(batch, pool_id)


def test_the_preempted_count_is_sampled(fast: tuple[StateDir, BatchClient]) -> None:
    state, batch = fast
    pool_id = unique("count")
    batch.create_pool(autoscale_pool(pool_id, "$TargetLowPriorityNodes = 1;"))
    try:
        node = wait_for(lambda: next((n for n in batch.list_nodes(pool_id)
                                      if n.state == "idle"), None), 60, "a Spot node")
        subprocess.run([sys.executable, "-m", "localbatch", "--state-dir", str(state.path),
                        "preempt-node", pool_id, node.id], check=True, capture_output=True)

        def counted():
            run = batch.evaluate_pool_auto_scale(pool_id, models.BatchPoolEvaluateAutoScaleOptions(
                auto_scale_formula="$preempted = max($PreemptedNodeCount.GetSample(1));"))
            return "$preempted=1" in run.results
        wait_for(counted, 30, "a sample with the preempted node")
    finally:
        delete_pool(batch, pool_id)


def test_a_bad_time_scale_is_said_before_anything_starts(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LOCALBATCH_TIME_SCALE", "fast")
    with pytest.raises(LocalBatchError, match="LOCALBATCH_TIME_SCALE is 'fast'"):
        up(StateDir(tmp_path / "state"))


def test_active_tasks_leave_out_those_whose_dependencies_wait(
        fast: tuple[StateDir, BatchClient]) -> None:
    """Learn: $ActiveTasks counts the tasks ready to run, not those whose dependencies are not
    satisfied; $PendingTasks is $ActiveTasks plus $RunningTasks."""
    _, batch = fast
    pool_id, job_id = unique("ready"), unique("deps")
    batch.create_pool(autoscale_pool(pool_id, "$TargetDedicatedNodes = 0;"))
    try:
        batch.create_job(models.BatchJobCreateOptions(
            id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id),
            uses_task_dependencies=True))
        batch.create_tasks(job_id, [
            models.BatchTaskCreateOptions(id="free", command_line="/bin/true"),
            models.BatchTaskCreateOptions(id="waits", command_line="/bin/true",
                                          depends_on=models.BatchTaskDependencies(
                                              task_ids=["free"]))])

        def sampled():
            return batch.evaluate_pool_auto_scale(pool_id, models.BatchPoolEvaluateAutoScaleOptions(
                auto_scale_formula="$a = max($ActiveTasks.GetSample(1)); "
                                   "$p = max($PendingTasks.GetSample(1));")).results
        assert "$a=1;$p=1" in wait_for(lambda: "$a=1" in (r := sampled()) and r, 30,
                                       "a sample of the two tasks")
    finally:
        delete_pool(batch, pool_id)
