"""The autoscale formula language (localbatch.formula), against its sources.

Learn = "Create a formula to automatically scale compute nodes in a Batch pool",
https://learn.microsoft.com/azure/batch/batch-automatic-scaling; its section is named in each
test. Recorded = runs of the real service: the SDK tests' recordings (azure-sdk-for-python
test_batch.py test_batch_scale_pools, azure-sdk-for-js sdk/batch/batch/test/poolScaling.spec.ts)
and published autoScaleRun results. Where no source settles a behaviour, the test says "choice"
and the module docstrings say why.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localbatch.formula import Evaluation, FormulaError, Interval, Samples, check, evaluate, parse
from localbatch.formula.parse import parser

UTC = timezone.utc
NOW = datetime(2025, 3, 19, 18, 29, 54, tzinfo=UTC)   # the recorded evaluation's time, a Wednesday
PERIOD = timedelta(seconds=30)
CODES = {"AutoScalingFormulaEvaluationError", "InsufficientSampleData",
         "AutoScalingFormulaSyntaxError", "AutoScalingFormulaTooLong"}


def history(*values: float, end: datetime = NOW, period: timedelta = PERIOD) -> Samples:
    """A sample every `period`, the last at `end`."""
    count = len(values)
    return Samples([(end - (count - 1 - i) * period, v) for i, v in enumerate(values)], period)


def run(text: str, variables: dict | None = None, now: datetime = NOW,
        rng: random.Random | None = None) -> Evaluation:
    return evaluate(parse(text), variables or {}, now, rng)


def value(expression: str, variables: dict | None = None, now: datetime = NOW,
          rng: random.Random | None = None) -> object:
    ev = run(f"$x = {expression};", variables, now, rng)
    assert ev.error is None, ev.error
    return ev.assignments["$x"]


def failure(text: str, variables: dict | None = None, now: datetime = NOW) -> str:
    """The failed run's "Message" value."""
    ev = run(text, variables, now)
    assert ev.error is not None, ev
    assert ev.error["values"][0]["name"] == "Message"
    return ev.error["values"][0]["value"]


def syntax_error(text: str) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        parse(text)
    return info.value


V = {"$v": history(1, 2, 3)}


# -- types (Learn, "Types") ------------------------------------------------------------------


@pytest.mark.parametrize(("literal", "expected"), [
    ("1", 1.0), ("2.5", 2.5), (".5", 0.5), ("7.", 7.0), ("1e3", 1000.0), ("2.5E-3", 0.0025),
    ("1e999", math.inf),   # choice: C's decimal literals, IEEE doubles
])
def test_double(literal: str, expected: float) -> None:
    assert value(literal) == expected


def test_double_vec_is_what_get_sample_returns() -> None:
    assert value("$v.GetSample(3)", V) == (1.0, 2.0, 3.0)


def test_double_vec_list_flattens() -> None:
    # Learn, "Functions": with v = [1,2,3], avg(v, 7) is avg(1,2,3,7)
    assert value("avg($v.GetSample(3), 7)", V) == value("avg(1, 2, 3, 7)") == 3.25


def test_string() -> None:
    assert value('"taskcompletion"') == "taskcompletion"


MOMENT = datetime(2016, 10, 13, 19, 18, 47, 805000, tzinfo=UTC)   # Learn's sample run, a Thursday


@pytest.mark.parametrize(("name", "expected"), [
    ("year", 2016), ("month", 10), ("day", 13), ("weekday", 4), ("hour", 19), ("minute", 18),
    ("second", 47),
])
def test_timestamp_members(name: str, expected: float) -> None:
    assert value(f"time().{name}", now=MOMENT) == expected


def test_weekday_counts_from_sunday() -> None:
    # Learn: "1 for Monday"; Sunday 0 is a choice (.NET's DayOfWeek)
    assert value("time().weekday", now=datetime(2025, 3, 16, tzinfo=UTC)) == 0
    assert value("time().weekday", now=datetime(2025, 3, 17, tzinfo=UTC)) == 1


@pytest.mark.parametrize(("name", "seconds"), [
    ("TimeInterval_Zero", 0.0), ("TimeInterval_100ns", 1e-7), ("TimeInterval_Microsecond", 1e-6),
    ("TimeInterval_Millisecond", 1e-3), ("TimeInterval_Second", 1.0),
    ("TimeInterval_Minute", 60.0), ("TimeInterval_Hour", 3600.0), ("TimeInterval_Day", 86400.0),
    ("TimeInterval_Week", 604800.0),
    ("TimeInterval_Year", 365 * 86400.0),   # choice: 365 days
])
def test_timeinterval_constants(name: str, seconds: float) -> None:
    assert value(name) == Interval(seconds)


# -- operators (Learn, "Operations": every row of its table) ----------------------------------


@pytest.mark.parametrize(("expression", "expected"), [
    # double op double: + - * / -> double
    ("1 + 2", 3.0), ("7 - 2", 5.0), ("3 * 4", 12.0), ("1 / 4", 0.25),
    # double * timeinterval -> timeinterval
    ("2 * TimeInterval_Minute", Interval(120.0)),
    # doubleVec op double -> doubleVec
    ("$v.GetSample(3) + 1", (2.0, 3.0, 4.0)), ("$v.GetSample(3) - 1", (0.0, 1.0, 2.0)),
    ("$v.GetSample(3) * 2", (2.0, 4.0, 6.0)), ("$v.GetSample(3) / 2", (0.5, 1.0, 1.5)),
    # doubleVec op doubleVec -> doubleVec
    ("$v.GetSample(3) + $v.GetSample(3)", (2.0, 4.0, 6.0)),
    ("$v.GetSample(3) - $v.GetSample(3)", (0.0, 0.0, 0.0)),
    ("$v.GetSample(3) * $v.GetSample(3)", (1.0, 4.0, 9.0)),
    ("$v.GetSample(3) / $v.GetSample(3)", (1.0, 1.0, 1.0)),
    # timeinterval * / double -> timeinterval
    ("TimeInterval_Hour * 2", Interval(7200.0)), ("TimeInterval_Hour / 4", Interval(900.0)),
    # timeinterval + - timeinterval -> timeinterval
    ("TimeInterval_Hour + TimeInterval_Minute", Interval(3660.0)),
    ("TimeInterval_Hour - TimeInterval_Minute", Interval(3540.0)),
    # timeinterval + timestamp, timestamp + timeinterval -> timestamp
    ("TimeInterval_Hour + time()", NOW + timedelta(hours=1)),
    ("time() + TimeInterval_Hour", NOW + timedelta(hours=1)),
    ("time() + (-6 * TimeInterval_Hour)", NOW - timedelta(hours=6)),   # Learn's MDT example
    # timestamp - timestamp -> timeinterval
    ('time() - time("2025-03-19T18:00:00Z")', Interval(1794.0)),
    # -double, !double -> double; -timeinterval -> timeinterval
    ("-2", -2.0), ("!0", 1.0), ("!3", 0.0), ("-TimeInterval_Minute", Interval(-60.0)),
    # comparisons of doubles, strings, timestamps, timeintervals -> double
    ("1 < 2", 1.0), ("2 <= 1", 0.0), ("1 == 1", 1.0), ("2 >= 3", 0.0), ("3 > 2", 1.0),
    ("1 != 1", 0.0), ('"a" < "b"', 1.0), ('"a" == "a"', 1.0), ('"b" != "a"', 1.0),
    ('time() > time("2025-01-01")', 1.0), ("time() == time()", 1.0),
    ("TimeInterval_Minute < TimeInterval_Hour", 1.0),
    ("TimeInterval_Minute * 60 == TimeInterval_Hour", 1.0),
    # double && || double -> double
    ("1 && 0", 0.0), ("1 && 2", 1.0), ("0 || 0", 0.0), ("0 || 3", 1.0),
    # the ternary: nonzero is true
    ("1 ? 2 : 3", 2.0), ("0 ? 2 : 3", 3.0), ("0.5 ? 2 : 3", 2.0),
])
def test_operators(expression: str, expected: object) -> None:
    assert value(expression, V) == expected


@pytest.mark.parametrize("expression", [
    "1 + TimeInterval_Minute", "2 + $v.GetSample(3)", "time() - TimeInterval_Hour",
    "TimeInterval_Hour / TimeInterval_Minute", '"a" + "b"', '1 < "a"', '!"a"',
    "-$v.GetSample(3)", "$v.GetSample(2) + $v.GetSample(3)", '"a" && 1', "time() ? 1 : 2",
    "time() * 2", "TimeInterval_Minute + time() + time()",
])
def test_operators_outside_the_table_fail_the_run(expression: str) -> None:
    # Learn lists what is allowed; the rest is an evaluation error (choice)
    message = failure(f"$x = {expression};", V)
    assert any(why in message for why in ("no operator", "a condition must", "do not combine"))


@pytest.mark.parametrize(("expression", "expected"), [
    ("1 / 0", math.inf), ("-1 / 0", -math.inf),   # choice: IEEE, as C
])
def test_division_by_zero_is_ieee(expression: str, expected: float) -> None:
    assert value(expression) == expected


def test_zero_by_zero_is_nan() -> None:
    assert math.isnan(value("0 / 0"))


def test_and_or_stop_at_the_deciding_operand() -> None:
    # choice: C's short-circuit
    assert value("0 && $undefined") == 0.0
    assert value("1 || $undefined") == 1.0


# -- precedence and grouping: C's (Learn gives none) -----------------------------------------


@pytest.mark.parametrize(("expression", "expected"), [
    ("1 + 2 * 3", 7.0), ("(1 + 2) * 3", 9.0), ("10 - 2 - 3", 5.0), ("8 / 4 / 2", 1.0),
    ("2 - -1", 3.0), ("- -2", 2.0), ("--2", 2.0), ("-2 * 3", -6.0), ("!1 + 1", 1.0),
    ("!!5", 1.0), ("1 || 0 && 0", 1.0), ("!0 || 0 && 0", 1.0),
    ("0 ? 1 : 0 ? 2 : 3", 3.0), ("1 ? 2 : 0 ? 3 : 4", 2.0), ("0 ? 1 : 1 ? 2 : 3", 2.0),
    ("1 ? 0 ? 5 : 6 : 7", 6.0), ("0 || 1 ? 5 : 6", 5.0), ("1 ? 2 : 3 + 4", 2.0),
    ("3 > 2 > 1", 0.0), ("1 < 2 < 3", 1.0), ("0 == 1 < 2", 0.0), ("1 + 2 < 4", 1.0),
    ("2 * 3 == 6", 1.0), ("1 < 2 && 3 < 4", 1.0), ("1 == 1 && 0", 0.0), ("-2 < -1", 1.0),
    ("2 * TimeInterval_Minute + TimeInterval_Second == TimeInterval_Second * 121", 1.0),
])
def test_precedence(expression: str, expected: float) -> None:
    assert value(expression) == expected


def test_not_binds_tighter_than_or_and_and() -> None:
    # !a || b && c is (!a) || (b && c)
    ev = run("a = 0; b = 0; c = 0; $x = !a || b && c;")
    assert ev.assignments["$x"] == 1.0


def test_long_chains_are_flat() -> None:
    # 2000 terms: no recursion limit, no nesting limit
    assert value(" + ".join(["1"] * 2000)) == 2000.0


# -- functions (Learn, "Functions": one case or more per row) ---------------------------------


R = {"$v": history(1, 2, 4), "$d": history(1, 10, 100), "$p": history(50, 15, 40, 20, 35)}


@pytest.mark.parametrize(("expression", "expected"), [
    ("avg(1, 2, 3)", 2.0), ("avg($v.GetSample(3), 7)", 3.5),
    ("len($v.GetSample(3), 7)", 4.0), ("len()", 0.0),
    ("lg(8)", 3.0), ("lg($v.GetSample(3))", (0.0, 1.0, 2.0)), ("lg(2, 4)", (1.0, 2.0)),
    ("ln(1)", 0.0), ("ln($v.GetSample(1))", (math.log(4),)),
    ("log(100)", 2.0), ("log($d.GetSample(3))", (0.0, 1.0, 2.0)),
    ("max(1, 5, 3)", 5.0), ("max($v.GetSample(3), 3)", 4.0),
    ("min(4, 2, 8)", 2.0), ("min($v.GetSample(3), 3)", 1.0),
    ("norm(3, 4)", 5.0), ("norm($v.GetSample(2))", math.hypot(2, 4)),
    # choice: nearest rank
    ("percentile($p.GetSample(5), 40)", 20.0), ("percentile($p.GetSample(5), 0)", 15.0),
    ("percentile($p.GetSample(5), 100)", 50.0), ("percentile($p.GetSample(5), 50)", 35.0),
    ("range(1, 5, 3)", 4.0), ("range($v.GetSample(3))", 3.0),
    ("std(2, 4, 4, 4, 5, 5, 7, 9)", math.sqrt(32 / 7)),   # the sample standard deviation
    ("sum(1, 2, 3)", 6.0), ("sum($v.GetSample(3), 1)", 8.0), ("sum()", 0.0),
    ("val($v.GetSample(3), 0)", 1.0), ("val($v.GetSample(3), 2)", 4.0),
    ("time()", NOW),
    ('time("")', NOW),
    # W3C-DTF and RFC 1123
    ('time("2016-10-13T19:18:47.805Z")', MOMENT),
    ('time("2016-10-13T21:18:47.805+02:00")', MOMENT),
    ('time("2016-10-13T19:18Z")', datetime(2016, 10, 13, 19, 18, tzinfo=UTC)),
    ('time("2016-10-13")', datetime(2016, 10, 13, tzinfo=UTC)),
    ('time("2016")', datetime(2016, 1, 1, tzinfo=UTC)),
    ('time("Thu, 13 Oct 2016 19:18:47 GMT")', MOMENT.replace(microsecond=0)),
])
def test_functions(expression: str, expected: object) -> None:
    assert value(expression, R) == expected


def test_logarithms_of_zero_and_below_are_c_s() -> None:
    # choice: -inf and nan, as C's log
    assert value("log(0)") == -math.inf
    assert math.isnan(value("ln(-1)"))


def test_rand_uses_the_given_generator() -> None:
    drawn = value("rand()", rng=random.Random(7))
    assert drawn == random.Random(7).random() and 0.0 <= drawn < 1.0
    assert 0.0 <= value("rand()") < 1.0


def test_stop_ends_the_evaluation_with_what_was_set() -> None:
    # Learn: "Stops evaluation of the autoscaling expression." Choice: a success
    ev = run("$TargetDedicatedNodes = 3; stop(); $TargetDedicatedNodes = 5; $y = 1;")
    assert ev.error is None
    assert ev.targets["targetDedicatedNodes"] == 3
    assert ev.results == ("$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;"
                          "$NodeDeallocationOption=requeue")


def test_stop_in_a_branch() -> None:
    ev = run("$TargetDedicatedNodes = 2; $x = 1 ? stop() : 0; $TargetDedicatedNodes = 9;")
    assert ev.error is None and ev.targets["targetDedicatedNodes"] == 2 and "$x" not in ev.results


@pytest.mark.parametrize(("expression", "says"), [
    ("avg()", "no value"), ("max($empty.GetSample(1))", "no value"), ("min()", "no value"),
    ("range()", "no value"), ("std(1)", "at least two"), ("val($v.GetSample(3), 3)", "index"),
    ("val($v.GetSample(3), 0.5)", "index"), ("val(1, 0)", "doubleVec"),
    ("percentile($v.GetSample(3), 101)", "0 to 100"), ("percentile($empty.GetSample(1), 5)",
                                                       "no value"),
    ('time("yesterday")', "cannot read"), ('time("2016-13-01")', "cannot read"),
    ("time(1)", "string"), ('avg("a")', "doubles"), ("lg(time())", "doubles"),
    ("max($v)", "sampled metric"),
])
def test_function_errors_fail_the_run(expression: str, says: str) -> None:
    # choice: these have no answer, so the run fails
    assert says in failure(f"$x = {expression};", {**R, "$empty": Samples()})


@pytest.mark.parametrize("text", [
    "foo(1)", "Avg(1)", "rand(1)", "stop(1)", "val(1)", "percentile(1, 2, 3)", "time(1, 2)",
    "lg()", "ln()", "log()",
])
def test_unknown_functions_and_wrong_arity_are_syntax_errors(text: str) -> None:
    # choice: known before the formula runs
    assert syntax_error(text).code == "AutoScalingFormulaSyntaxError"


# -- sample methods (Learn, "Obtain sample data") --------------------------------------------


FIVE = {"$m": history(1, 2, 3, 4, 5)}


@pytest.mark.parametrize(("expression", "expected"), [
    ("$m.GetSample(1)", (5.0,)), ("$m.GetSample(3)", (3.0, 4.0, 5.0)),
    ("$m.GetSample(10)", (1.0, 2.0, 3.0, 4.0, 5.0)),   # choice: fewer when there are fewer
    ("$m.GetSample(0)", ()), ("$m.GetSample(2.7)", (4.0, 5.0)),   # choice: truncated
])
def test_get_sample_count(expression: str, expected: tuple) -> None:
    # GetSample(double count): "the number of samples to obtain from the most recent"
    assert value(expression, FIVE) == expected


def test_get_sample_interval_is_the_last_window() -> None:
    # Learn: GetSample(TimeInterval_Minute * 10) "would return 20 samples if all samples for the
    # last 10 minutes are present"
    forty = {"$CPUPercent": history(*range(40))}
    assert value("$CPUPercent.GetSample(TimeInterval_Minute * 10)", forty) == tuple(
        float(i) for i in range(20, 40))
    assert value("len($CPUPercent.GetSample(TimeInterval_Minute * 10))", forty) == 20.0


# Learn's example: the last minute of history missing, 18 of the 20 samples of ten minutes.
MISSING_LAST_MINUTE = {"$CPUPercent": history(*[0.5] * 30, end=NOW - timedelta(minutes=1))}


def test_get_sample_percent_learns_example() -> None:
    assert value("len($CPUPercent.GetSample(TimeInterval_Minute * 10))",
                 MISSING_LAST_MINUTE) == 18.0
    assert value("$CPUPercent.GetSamplePercent(TimeInterval_Minute * 10)",
                 MISSING_LAST_MINUTE) == 90.0
    # "$CPUPercent.GetSample(TimeInterval_Minute * 10, 80) would succeed"
    assert len(value("$CPUPercent.GetSample(TimeInterval_Minute * 10, 80)",
                     MISSING_LAST_MINUTE)) == 18


def test_get_sample_with_too_few_samples_is_insufficient_sample_data() -> None:
    # Learn: "$CPUPercent.GetSample(TimeInterval_Minute * 10, 95) would fail"; the error as in
    # Learn's "Pool autoscale event"
    ev = run("$x = 1;\n$y = $CPUPercent.GetSample(TimeInterval_Minute * 10, 95);",
             MISSING_LAST_MINUTE)
    assert ev.error == {
        "code": "InsufficientSampleData",
        "message": "Autoscale evaluation failed due to insufficient sample data",
        "values": [{"name": "Message", "value": "Line 2, Col 18: Insufficient data from data "
                    "set: $CPUPercent wanted 95%, received 90%"}]}


def test_get_sample_between_two_look_backs() -> None:
    # Learn, "GetSample() and sample ranges": GetSample(1 * TimeInterval_Minute,
    # 6 * TimeInterval_Minute) gives "$runningTasksSample=[1,1,1,1,1,1,1,1,1,1]"
    ev = run("$runningTasksSample = $RunningTasks.GetSample(1 * TimeInterval_Minute, "
             "6 * TimeInterval_Minute);", {"$RunningTasks": history(*[1] * 40)})
    assert ev.results.endswith(";$runningTasksSample=[1,1,1,1,1,1,1,1,1,1]")


def test_get_sample_window_with_a_percent() -> None:
    # Learn: GetSample(60 * TimeInterval_Second, 120 * TimeInterval_Second, 75)
    full = {"$RunningTasks": history(*range(10))}
    assert value("$RunningTasks.GetSample(60 * TimeInterval_Second, 120 * TimeInterval_Second, "
                 "75)", full) == (6.0, 7.0)
    assert "wanted 75%, received 0%" in failure(
        "$x = $RunningTasks.GetSample(60 * TimeInterval_Second, 120 * TimeInterval_Second, 75);",
        {"$RunningTasks": history(*range(10), end=NOW - timedelta(minutes=5))})


def test_get_sample_bounds_may_be_timestamps_in_either_order() -> None:
    # Learn: "(timestamp or timeinterval) startTime"; the order of the bounds is a choice
    full = {"$m": history(*range(10))}
    since = 'time("2025-03-19T18:28:00Z")'
    assert value(f"$m.GetSample({since})", full) == (6.0, 7.0, 8.0, 9.0)
    assert value(f"$m.GetSample({since}, TimeInterval_Minute * 0)", full) == (6.0, 7.0, 8.0,
                                                                              9.0)
    assert value(f"$m.GetSample(TimeInterval_Zero, {since})", full) == (6.0, 7.0, 8.0, 9.0)
    assert value(f"$m.GetSample({since}, 100)", full) == (6.0, 7.0, 8.0, 9.0)


def test_get_sample_percent_of_a_window() -> None:
    # Learn: GetSamplePercent((timestamp or timeinterval) startTime [, endTime]); the
    # Enable-AzBatchAutoScale example passes TimeInterval_Minute*0, TimeInterval_Minute*10
    assert value("$CPUPercent.GetSamplePercent(TimeInterval_Minute*0, TimeInterval_Minute*10)",
                 MISSING_LAST_MINUTE) == 90.0
    assert value("$CPUPercent.GetSamplePercent(TimeInterval_Minute, TimeInterval_Minute*10)",
                 MISSING_LAST_MINUTE) == 100.0


def test_get_sample_period_count_and_history_begin_time() -> None:
    metric = {"$m": history(1, 2, 3, 4, 5)}
    assert value("$m.GetSamplePeriod()", metric) == Interval(30.0)
    assert value("$m.Count()", metric) == 5.0
    assert value("$m.HistoryBeginTime()", metric) == NOW - 4 * PERIOD


def test_a_scaled_clock_passes_its_own_period() -> None:
    fast = {"$m": history(*[1] * 200, period=timedelta(seconds=3))}
    assert value("$m.GetSamplePeriod()", fast) == Interval(3.0)
    assert value("$m.GetSamplePercent(TimeInterval_Minute * 10)", fast) == 100.0
    assert value("len($m.GetSample(TimeInterval_Minute))", fast) == 20.0


def test_samples_are_sorted_and_immutable() -> None:
    samples = Samples([(NOW, 2.0), (NOW - PERIOD, 1.0)])
    assert samples.points == ((NOW - PERIOD, 1.0), (NOW, 2.0))
    with pytest.raises(AttributeError):
        samples.points = ()   # type: ignore[misc]
    with pytest.raises(ValueError):
        Samples(period=timedelta(0))


def test_an_unsupplied_sampled_metric_has_no_samples() -> None:
    # choice: a metric the caller does not supply has recorded nothing
    assert value("$CPUPercent.Count()") == 0.0
    assert value("$NetworkInBytes.GetSamplePercent(TimeInterval_Minute)") == 0.0
    assert "no samples" in failure("$x = $DiskBytes.HistoryBeginTime();")


@pytest.mark.parametrize(("text", "says"), [
    ("$x = $CurrentDedicatedNodes.GetSample(1);", "not a sampled metric"),
    ("$x = $CPUPercent;", "cannot be stored"), ("$x = $CPUPercent + 1;", "no operator"),
    ("$x = $m.GetSample(-1);", "zero or more"), ("$x = $m.GetSample(1, 50);", "no other"),
    ('$x = $m.GetSample("a");', "timestamp or a timeinterval"),
    ("$x = $m.GetSample(TimeInterval_Minute, TimeInterval_Zero, time());",
     "percent must be a double"),
])
def test_sample_method_errors_fail_the_run(text: str, says: str) -> None:
    assert says in failure(text, {"$CurrentDedicatedNodes": 2, "$m": history(1)})


@pytest.mark.parametrize("text", [
    "$m.getsample(1)", "$m.Foo()", "$m.Count(1)", "$m.GetSample()",
    "$m.GetSample(1, 2, 3, 4)", "$m.GetSamplePercent(1, 2, 3)", "time().hours",
])
def test_unknown_methods_and_members_are_syntax_errors(text: str) -> None:
    assert syntax_error(text).code == "AutoScalingFormulaSyntaxError"


# -- variables (Learn, "Variables") and results (recorded) ------------------------------------


def test_recorded_evaluation() -> None:
    # recorded: evaluateautoscale "$TargetDedicatedNodes=3" on a pool with no low-priority target
    ev = run("$TargetDedicatedNodes=3", {"$TargetDedicatedNodes": 0, "$TargetLowPriorityNodes": 0})
    assert ev.error is None
    assert ev.results == ("$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;"
                          "$NodeDeallocationOption=requeue")
    assert ev.targets == {"targetDedicatedNodes": 3, "targetLowPriorityNodes": 0,
                          "nodeDeallocationOption": None}
    assert ev.assignments == {"$TargetDedicatedNodes": 3.0}


def test_recorded_failed_evaluation_reports_the_current_targets() -> None:
    # recorded (azure-sdk-for-js poolScaling.spec.ts): "$something_useless" on a pool whose
    # formula set 2 nodes gives AutoScalingFormulaEvaluationError and these results
    ev = evaluate("$something_useless", {"$TargetDedicatedNodes": 2}, NOW)
    assert ev.error is not None and ev.error["code"] == "AutoScalingFormulaEvaluationError"
    assert ev.error["values"] == [{"name": "Message",
                                   "value": "Line 1, Col 1: $something_useless is not defined"}]
    assert ev.results == ("$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;"
                          "$NodeDeallocationOption=requeue")
    assert ev.targets["targetDedicatedNodes"] == 2


RECORDED_FORMULA = """// Get pending tasks for the past 15 minutes.
$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
// If we have fewer than 70 percent data points, we use the last sample point, otherwise we use the maximum of last sample point and the history average.
$tasks = $samples < 70 ? max(0, $ActiveTasks.GetSample(1)) : 
max( $ActiveTasks.GetSample(1), avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
// If number of pending tasks is not 0, set targetVM to pending tasks, otherwise half of current dedicated.
$targetVMs = $tasks > 0 ? $tasks : max(0, $TargetDedicatedNodes / 2);
// The pool size is capped at 20, if target VM value is more than that, set it to 20. This value should be adjusted according to your use case.
cappedPoolSize = 3;
$TargetDedicatedNodes = max(1, min($targetVMs, cappedPoolSize));
// Set node deallocation mode - keep nodes active only until tasks finish
$NodeDeallocationOption = taskcompletion;"""


def test_recorded_results_of_a_published_pool() -> None:
    # a pool's published autoScaleRun (2025-04-24, pool h100-arc-pool, a GitHub README of the
    # HASTE project): 29 of the 30 samples of 15 minutes, no active task, target 1
    ev = run(RECORDED_FORMULA, {"$ActiveTasks": history(*[0] * 29), "$TargetDedicatedNodes": 1})
    assert ev.results == ("$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;"
                          "$NodeDeallocationOption=taskcompletion;$samples=96.6667;"
                          "$targetVMs=0.5;$tasks=0;cappedPoolSize=3")


def test_no_formula_keeps_the_targets() -> None:
    assert run("", {"$TargetDedicatedNodes": -3}).targets["targetDedicatedNodes"] == 0
    ev = run("", {"$TargetDedicatedNodes": 4, "$TargetLowPriorityNodes": 2})
    assert ev.targets == {"targetDedicatedNodes": 4, "targetLowPriorityNodes": 2,
                          "nodeDeallocationOption": None}
    assert ev.results == ("$TargetDedicatedNodes=4;$TargetLowPriorityNodes=2;"
                          "$NodeDeallocationOption=requeue")
    assert run("").targets["targetDedicatedNodes"] == 0   # choice: 0 when not given


@pytest.mark.parametrize("option", ["requeue", "terminate", "taskcompletion", "retaineddata"])
def test_node_deallocation_options(option: str) -> None:
    for written in (option, f'"{option}"'):
        ev = run(f"$NodeDeallocationOption = {written};")
        assert ev.targets["nodeDeallocationOption"] == option
        assert f"$NodeDeallocationOption={option}" in ev.results


def test_node_deallocation_option_reads_requeue_by_default() -> None:
    # Learn: requeue is "the default value"
    assert value("$NodeDeallocationOption") == "requeue"
    assert "is one of requeue" in failure('$NodeDeallocationOption = "later";')
    assert "is one of requeue" in failure("$NodeDeallocationOption = 1;")


def test_aliases_set_the_targets() -> None:
    # Learn's note: $TargetDedicated and $TargetLowPriority; the full name wins over its alias
    ev = run("$TargetDedicated = 5; $TargetLowPriority = 2;")
    assert ev.targets["targetDedicatedNodes"] == 5 and ev.targets["targetLowPriorityNodes"] == 2
    assert ev.results == ("$TargetDedicatedNodes=5;$TargetLowPriorityNodes=2;"
                          "$NodeDeallocationOption=requeue")
    for text in ("$TargetDedicatedNodes = 3; $TargetDedicated = 7;",
                 "$TargetDedicated = 7; $TargetDedicatedNodes = 3;"):
        assert run(text).targets["targetDedicatedNodes"] == 3
    assert value("$TargetDedicated", {"$TargetDedicatedNodes": 6}) == 6.0


def test_current_dedicated_alias() -> None:
    # Enable-AzBatchAutoScale's example reads $CurrentDedicated (Azure's acceptance unverified)
    assert value("$CurrentDedicated * 2", {"$CurrentDedicatedNodes": 3}) == 6.0


@pytest.mark.parametrize("name", [
    "$CPUPercent", "$WallClockSeconds", "$MemoryBytes", "$DiskBytes", "$DiskReadBytes",
    "$DiskWriteBytes", "$DiskReadOps", "$DiskWriteOps", "$NetworkInBytes", "$NetworkOutBytes",
    "$SampleNodeCount", "$ActiveTasks", "$RunningTasks", "$PendingTasks", "$SucceededTasks",
    "$FailedTasks", "$TaskSlotsPerNode", "$CurrentDedicatedNodes", "$CurrentLowPriorityNodes",
    "$UsableNodeCount", "$PreemptedNodeCount", "$CurrentDedicated",
])
def test_read_only_variables_cannot_be_set(name: str) -> None:
    assert "read-only" in failure(f"{name} = 1;")


def test_plain_read_only_variables_are_the_callers() -> None:
    given = {"$TaskSlotsPerNode": 4, "$CurrentLowPriorityNodes": 1, "$UsableNodeCount": 2}
    assert value("$TaskSlotsPerNode * $UsableNodeCount + $CurrentLowPriorityNodes", given) == 9.0
    assert "is not defined" in failure("$x = $TaskSlotsPerNode;")


def test_constants_cannot_be_set() -> None:
    assert "constant" in failure("TimeInterval_Second = 2;")
    assert "constant" in failure("requeue = 2;")


def test_user_variables_with_and_without_dollar_are_two() -> None:
    # recorded results print "cappedPoolSize=3" and "$samples=..." as written, sorted by code
    # point
    ev = run("b = 1; $a = 2; a = 3; $Z = 4;")
    assert ev.results.split(";")[3:] == ["$Z=4", "$a=2", "a=3", "b=1"]
    assert list(ev.assignments) == ["b", "$a", "a", "$Z"]


def test_results_print_each_type() -> None:
    # Learn: a timestamp "2016-10-13T19:18:47.805Z", a vector "[1,1,1]"; an interval's form
    # is a choice (ISO 8601)
    ev = run('$t = time(); $v = $m.GetSample(2); $i = TimeInterval_Minute * 10; '
             '$j = TimeInterval_Day * 1.5; $k = TimeInterval_Zero; $s = "x"; $d = 1 / 3;',
             {"$m": history(1, 2.5)}, now=MOMENT)
    assert ev.results.split(";")[3:] == ["$d=0.333333", "$i=PT10M", "$j=P1DT12H", "$k=PT0S",
                                         "$s=x", "$t=2016-10-13T19:18:47.805Z", "$v=[1,2.5]"]


@pytest.mark.parametrize(("text", "dedicated"), [
    ("$TargetDedicatedNodes = 2.7;", 2), ("$TargetDedicatedNodes = 0.2;", 0),
])
def test_targets_are_truncated(text: str, dedicated: int) -> None:
    # choice: truncated, as Learn's "(($tasks - $cores) + 3) / 4" assumes
    assert run(text).targets["targetDedicatedNodes"] == dedicated


@pytest.mark.parametrize("expression", ["-1", "0 / 0", "1 / 0", "1e10", '"x"', "time()"])
def test_impossible_targets_fail_the_run(expression: str) -> None:
    # choice: a node count is from 0 to 2^31 - 1
    ev = run(f"$a = 1;\n$TargetLowPriorityNodes = {expression};", {"$TargetLowPriorityNodes": 3})
    assert ev.error is not None and ev.error["code"] == "AutoScalingFormulaEvaluationError"
    assert ev.error["values"][0]["value"].startswith("Line 2, Col 1: $TargetLowPriorityNodes")
    assert ev.targets["targetLowPriorityNodes"] == 3
    assert ev.results == ("$TargetDedicatedNodes=0;$TargetLowPriorityNodes=3;"
                          "$NodeDeallocationOption=requeue")
    assert ev.assignments["$a"] == 1.0


# -- Learn's formulas, golden (as published, long lines included) ------------------------------


PENDING = """startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;"""


@pytest.mark.parametrize(("pending", "dedicated"), [
    (None, 1), (history(4, 4, 5, 5, 6, 6), 5), (history(*[30] * 6), 25),
    (history(9, end=NOW - timedelta(minutes=10)), 1),
])
def test_learn_pending_tasks(pending: Samples | None, dedicated: int) -> None:
    # Learn, "Sample autoscale formulas", "Pending tasks"
    ev = run(PENDING, {} if pending is None else {"$PendingTasks": pending})
    assert ev.error is None
    assert ev.targets == {"targetDedicatedNodes": dedicated, "targetLowPriorityNodes": 0,
                          "nodeDeallocationOption": "taskcompletion"}


def test_learn_preempted_nodes() -> None:
    # Learn, "Preempted nodes"
    ev = run("""maxNumberofVMs = 25;
$TargetDedicatedNodes = min(maxNumberofVMs, $PreemptedNodeCount.GetSample(180 * TimeInterval_Second));
$TargetLowPriorityNodes = min(maxNumberofVMs , maxNumberofVMs - $TargetDedicatedNodes);
$NodeDeallocationOption = taskcompletion;""", {"$PreemptedNodeCount": history(*[3] * 6)})
    assert ev.targets == {"targetDedicatedNodes": 3, "targetLowPriorityNodes": 22,
                          "nodeDeallocationOption": "taskcompletion"}


CPU = """$totalDedicatedNodes =
    (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes =
    (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes)"""


@pytest.mark.parametrize(("cpu", "dedicated"), [(0.9, 11), (0.1, 9), (0.5, 10)])
def test_learn_cpu_formula(cpu: float, dedicated: int) -> None:
    # Learn, "Write an autoscale formula": the complete formula (its last ";" left out)
    ev = run(CPU, {"$CPUPercent": history(*[cpu] * 120), "$CurrentDedicatedNodes": 10})
    assert ev.error is None and ev.targets["targetDedicatedNodes"] == dedicated


WORKING_HOURS = """$curTime = time();
$workHours = $curTime.hour >= 8 && $curTime.hour < 18;
$isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
$isWorkingWeekdayHour = $workHours && $isWeekday;
$TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;
$NodeDeallocationOption = taskcompletion;"""


@pytest.mark.parametrize(("now", "dedicated"), [
    (MOMENT, 10), (datetime(2025, 3, 17, 9, tzinfo=UTC), 20),
    (datetime(2025, 3, 22, 10, tzinfo=UTC), 10), (datetime(2025, 3, 21, 17, 59, tzinfo=UTC), 20),
])
def test_learn_time_based_adjustment(now: datetime, dedicated: int) -> None:
    # Learn, "Example 1: Time-based adjustment"
    assert run(WORKING_HOURS, now=now).targets["targetDedicatedNodes"] == dedicated


def test_learn_evaluation_results() -> None:
    # Learn, "Evaluate an autoscale formula": its sample output, with the low-priority target the
    # service prints since (recorded)
    ev = run(WORKING_HOURS.replace("taskcompletion", "requeue"), now=MOMENT)
    assert ev.results == ("$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;"
                          "$NodeDeallocationOption=requeue;$curTime=2016-10-13T19:18:47.805Z;"
                          "$isWeekday=1;$isWorkingWeekdayHour=0;$workHours=0")


def test_learn_python_sdk_formula_with_the_old_name() -> None:
    # Learn's Python example sets $TargetDedicated
    text = WORKING_HOURS.replace("$TargetDedicatedNodes", "$TargetDedicated")
    assert run(text, now=datetime(2025, 3, 17, 9, tzinfo=UTC)).targets[
        "targetDedicatedNodes"] == 20


@pytest.mark.parametrize(("day", "dedicated"), [(17, 5), (18, 1), (16, 1)])
def test_learn_monday_formula(day: int, dedicated: int) -> None:
    # Learn's .NET example: 5 nodes on Mondays, 1 otherwise
    ev = run("$TargetDedicatedNodes = (time().weekday == 1 ? 5:1);",
             now=datetime(2025, 3, day, 12, tzinfo=UTC))
    assert ev.targets["targetDedicatedNodes"] == dedicated


TASK_BASED = """// Get pending tasks for the past 15 minutes.
$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
// If we have fewer than 70 percent data points, we use the last sample point,
// otherwise we use the maximum of last sample point and the history average.
$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
// If number of pending tasks is not 0, set targetVM to pending tasks, otherwise
// half of current dedicated.
$targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);
// The pool size is capped at 20, if target VM value is more than that, set it
// to 20. This value should be adjusted according to your use case.
$TargetDedicatedNodes = max(0, min($targetVMs, 20));
// Set node deallocation mode - let running tasks finish before removing a node
$NodeDeallocationOption = taskcompletion;"""


@pytest.mark.parametrize(("pending", "current", "dedicated"), [
    (history(*[8] * 30), 2, 8), (history(*[0] * 30), 6, 3), (history(*[50] * 30), 2, 20),
    (history(7), 0, 7),
])
def test_learn_task_based_adjustment(pending: Samples, current: int, dedicated: int) -> None:
    # Learn, "Example 2: Task-based adjustment" (comments and line breaks)
    ev = run(TASK_BASED, {"$PendingTasks": pending, "$TargetDedicatedNodes": current})
    assert ev.error is None and ev.targets["targetDedicatedNodes"] == dedicated


PARALLEL = """// Determine whether 70 percent of the samples have been recorded in the past
// 15 minutes; if not, use last sample
$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1),avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
// Set the number of nodes to add to one-fourth the number of active tasks (the
// MaxTasksPerComputeNode property on this pool is set to 4, adjust this number
// for your use case)
$cores = $TargetDedicatedNodes * 4;
$extraVMs = (($tasks - $cores) + 3) / 4;
$targetVMs = ($TargetDedicatedNodes + $extraVMs);
// Attempt to grow the number of compute nodes to match the number of active
// tasks, with a maximum of 3
$TargetDedicatedNodes = max(0,min($targetVMs,3));
// Keep the nodes active until the tasks finish
$NodeDeallocationOption = taskcompletion;"""


@pytest.mark.parametrize(("active", "dedicated"), [(6, 2), (0, 0), (40, 3)])
def test_learn_parallel_tasks(active: float, dedicated: int) -> None:
    # Learn, "Example 3: Accounting for parallel tasks", from one node
    ev = run(PARALLEL, {"$ActiveTasks": history(*[active] * 30), "$TargetDedicatedNodes": 1})
    assert ev.error is None and ev.targets["targetDedicatedNodes"] == dedicated


INITIAL = """
    $TargetDedicatedNodes = 4;
    lifespan         = time() - time("Wed, 19 Mar 2025 18:00:00 GMT");
    span             = TimeInterval_Minute * 60;
    startup          = TimeInterval_Minute * 10;
    ratio            = 50;

    $TargetDedicatedNodes = (lifespan > startup ? (max($RunningTasks.GetSample(span, ratio), $ActiveTasks.GetSample(span, ratio)) == 0 ? 0 : $TargetDedicatedNodes) : 4);
    """


def test_learn_initial_pool_size() -> None:
    # Learn, "Example 4: Setting an initial pool size"
    idle = {"$RunningTasks": history(*[0] * 120), "$ActiveTasks": history(*[0] * 120)}
    assert run(INITIAL, idle).targets["targetDedicatedNodes"] == 0
    busy = {**idle, "$RunningTasks": history(*[2] * 120)}
    assert run(INITIAL, busy).targets["targetDedicatedNodes"] == 4
    early = datetime(2025, 3, 19, 18, 5, tzinfo=UTC)
    assert run(INITIAL, idle, now=early).targets["targetDedicatedNodes"] == 4
    sparse = {"$RunningTasks": history(*[0] * 10), "$ActiveTasks": history(*[0] * 120)}
    assert run(INITIAL, sparse).error["code"] == "InsufficientSampleData"


def test_enable_az_batch_autoscale_example() -> None:
    # Enable-AzBatchAutoScale (Az.Batch), Example 1: old names, no spaces
    text = ("totalNodes=($CPUPercent.GetSamplePercent(TimeInterval_Minute*0,"
            "TimeInterval_Minute*10)<0.7?5:(min($CPUPercent.GetSample(TimeInterval_Minute*0, "
            "TimeInterval_Minute*10))>0.8?($CurrentDedicated*1.1):$CurrentDedicated));"
            "$TargetDedicated=min(100,totalNodes);")
    assert run(text, {"$CurrentDedicatedNodes": 10}).targets["targetDedicatedNodes"] == 5
    busy = {"$CPUPercent": history(*[0.9] * 20), "$CurrentDedicatedNodes": 10}
    assert run(text, busy).targets["targetDedicatedNodes"] == 11


def test_azure_cli_sample() -> None:
    # Azure-Samples/azure-cli-samples, batch/manage-pool/manage-pool-windows.sh
    text = ("$averageActiveTaskCount = avg($ActiveTasks.GetSample(TimeInterval_Minute * 15));"
            "$TargetDedicated = min(10, $averageActiveTaskCount);")
    assert run(text, {"$ActiveTasks": history(*[4] * 30)}).targets["targetDedicatedNodes"] == 4
    assert run(text, {"$ActiveTasks": history(*[99] * 30)}).targets["targetDedicatedNodes"] == 10


# -- syntax and limits (Learn, "Autoscale formulas"; the REST API's error codes) ---------------


def test_syntax_error_names_line_column_and_what_was_expected() -> None:
    error = syntax_error("$a = 1;\n$b = 2 +;\n")
    assert (error.code, error.line, error.column) == ("AutoScalingFormulaSyntaxError", 2, 9)
    assert error.message == "The specified auto-scaling formula has a syntax error."
    assert error.values == [("Message", ("Line 2, Col 9: unexpected ';'; expected '!', '(', "
                                         "'-', a name, a number, a string"))]


@pytest.mark.parametrize(("text", "line", "column"), [
    ("$a = 1 % 2", 1, 8), ('$t = time("abc)', 1, 11), ("$a = (1", 1, 8), ("$a = 1 2", 1, 8),
    ("1.hour", 1, 3), ("$a == 1 = 2", 1, 9), ("$ = 1", 1, 1), ("[1, 2]", 1, 1),
    ("x = y = 1", 1, 7), ("$a = 1 +\n", 2, 1), ("/* no */ 1", 1, 1),
])
def test_syntax_errors(text: str, line: int, column: int) -> None:
    error = syntax_error(text)
    assert (error.code, error.line, error.column) == ("AutoScalingFormulaSyntaxError", line,
                                                      column)
    assert error.values[0][1].startswith(f"Line {line}, Col {column}: ")


def test_comments_line_breaks_and_semicolons() -> None:
    # Learn: "can include line breaks and comments"; the last ";" is optional; empty statements
    # are a choice
    formula = parse("// a comment\n;; $a = 1; // another\n\n$b = 2 ;;")
    assert len(formula.statements) == 2
    assert len(parse("$a = 1").statements) == 1 and parse("").statements == ()
    assert check("$a = 1") == parse("$a = 1")


def test_eight_kilobytes() -> None:
    # Learn: "cannot exceed 8 KB"; the SDKs: "The maximum length is 8192 characters"
    fits = "$a = 1;" + " " * (8192 - 7)
    assert len(parse(fits).statements) == 1
    error = syntax_error(fits + " ")
    assert error.code == "AutoScalingFormulaTooLong"
    assert error.message == "The specified auto-scaling formula exceeds lengths limit."


def test_a_hundred_statements() -> None:
    # Learn: "up to 100 statements"; the 101st is AutoScalingFormulaTooLong (choice)
    hundred = ";".join(f"$v{i} = {i}" for i in range(100))
    assert len(parse(hundred).statements) == 100
    assert syntax_error(hundred + "; $w = 1").code == "AutoScalingFormulaTooLong"


@pytest.mark.parametrize("text", [
    "$a = " + "(" * 150 + "1" + ")" * 150 + " + " + "max(" * 120 + "1" + ")" * 120,
    "$a = " + "-" * 500 + "1", "$a = " + "1 ? " * 300 + "1" + " : 1" * 300,
    "$a = time()" + ".hour" * 200,
])
def test_deep_nesting_is_a_clean_syntax_error(text: str) -> None:
    # choice: 100 levels
    assert "nests deeper than 100" in syntax_error(text).values[0][1]


def test_not_a_string() -> None:
    assert syntax_error(42).code == "AutoScalingFormulaSyntaxError"   # type: ignore[arg-type]


def test_run_time_errors_name_their_place() -> None:
    ev = run('$a = 1;\n$b = $a + "x";')
    assert ev.error["values"][0]["value"] == ("Line 2, Col 9: no operator + for a double and a "
                                              "string")


def test_evaluate_takes_text_and_never_raises() -> None:
    assert evaluate("$TargetDedicatedNodes = 1", {}, NOW).targets["targetDedicatedNodes"] == 1
    bad = evaluate("$TargetDedicatedNodes = ", {"$TargetDedicatedNodes": 5}, NOW)
    assert bad.error["code"] == "AutoScalingFormulaSyntaxError" and bad.targets[
        "targetDedicatedNodes"] == 5
    naive = evaluate("$x = time();", {}, datetime(2025, 1, 1))
    assert naive.assignments["$x"] == datetime(2025, 1, 1, tzinfo=UTC)
    junk = {"$TargetDedicatedNodes": "3", "$y": object()}
    wrong = evaluate("$x = 1;", junk, "now")  # type: ignore[arg-type]
    assert wrong.error["code"] == "AutoScalingFormulaEvaluationError"


def test_the_parser_is_built_lazily_and_once() -> None:
    code = "import sys, localbatch.formula; assert 'lark' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert parser() is parser()


# -- never raising: random formulas (Hypothesis) ----------------------------------------------


TOKENS = ["$TargetDedicatedNodes", "$TargetLowPriorityNodes", "$NodeDeallocationOption", "$x",
          "x", "$CPUPercent", "$ActiveTasks", "$CurrentDedicatedNodes", "TimeInterval_Minute",
          "taskcompletion", "GetSample", "GetSamplePercent", "Count", "HistoryBeginTime",
          "hour", "weekday", "avg", "max", "min", "val", "percentile", "time", "rand", "stop",
          "lg", "std", "1", "0", "2.5", "1e308", "-1e308", ".5", '"a"', '"2025-01-01"', "=", "==",
          "+", "-", "*", "/", "!", "&&", "||", "<", ">=", "?", ":", "(", ")", ",", ".", ";",
          "//", "\n", "%", "$", "[", "]"]
VARIABLES = st.fixed_dictionaries({
    "$CPUPercent": st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=30).map(
        lambda values: history(*values)),
    "$ActiveTasks": st.lists(st.floats(0, 1e6), max_size=30).map(lambda values: history(*values)),
    "$CurrentDedicatedNodes": st.floats(allow_nan=True, allow_infinity=True),
    "$TargetDedicatedNodes": st.floats(-5, 1e12),
})
RANDOM = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def evaluates_cleanly(text: str, variables: dict) -> None:
    """parse() returns or raises FormulaError; evaluate() returns an Evaluation, its error
    None or a known code, never an internal one."""
    try:
        formula = parse(text)
    except FormulaError as error:
        assert error.code in CODES
        return
    ev = evaluate(formula, variables, NOW, random.Random(0))
    assert isinstance(ev, Evaluation)
    if ev.error is not None:
        assert ev.error["code"] in CODES
        assert "internal error" not in ev.error["values"][0]["value"], ev.error
    assert all(isinstance(n, int) and n >= 0 for n in (ev.targets["targetDedicatedNodes"],
                                                        ev.targets["targetLowPriorityNodes"]))


@RANDOM
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join), VARIABLES)
def test_random_tokens_never_break_it(text: str, variables: dict) -> None:
    evaluates_cleanly(text, variables)


@RANDOM
@given(st.text(max_size=60))
def test_random_text_never_breaks_it(text: str) -> None:
    evaluates_cleanly(text, {})


LEAVES = st.sampled_from([
    "1", "0", "2.5", "-3", "1e308", "TimeInterval_Minute", "TimeInterval_Zero", "time()",
    '"a"', '"2016-10-13T19:18:47Z"', "$CPUPercent.GetSample(3)",
    "$CPUPercent.GetSample(TimeInterval_Minute * 5)",
    "$ActiveTasks.GetSample(TimeInterval_Minute, 50)",
    "$CPUPercent.GetSamplePercent(TimeInterval_Minute * 5)", "$ActiveTasks.Count()",
    "$CPUPercent.HistoryBeginTime()", "$CPUPercent.GetSamplePeriod()", "$CurrentDedicatedNodes",
    "$TargetDedicatedNodes", "rand()", "x", "$NodeDeallocationOption", "taskcompletion",
])
FUNCTION_ARITY = {"avg": 2, "len": 1, "lg": 1, "ln": 1, "log": 1, "max": 2, "min": 2, "norm": 2,
                  "percentile": 2, "range": 2, "std": 2, "sum": 3, "time": 1, "val": 2}


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "<", "<=", "==", "!=",
                                                  ">", ">=", "&&", "||"]), children)
    calls = st.sampled_from(sorted(FUNCTION_ARITY)).flatmap(
        lambda name: st.lists(children, min_size=FUNCTION_ARITY[name],
                              max_size=FUNCTION_ARITY[name]).map(
            lambda args: f"{name}({', '.join(args)})"))
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "!"]), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        children.map(lambda c: f"({c}).{random.Random(len(c)).choice(['hour', 'weekday'])}"),
        calls,
    )


EXPRESSIONS = st.recursive(LEAVES, _combine, max_leaves=12)
STATEMENTS = st.lists(st.tuples(st.sampled_from(["$TargetDedicatedNodes", "$TargetLowPriority",
                                                 "$NodeDeallocationOption", "x", "$y", ""]),
                                EXPRESSIONS), min_size=1, max_size=4)


@RANDOM
@given(STATEMENTS, VARIABLES)
def test_well_formed_formulas_parse_and_never_break_it(statements: list, variables: dict) -> None:
    text = ";\n".join(f"{name} = {expression}" if name else expression
                      for name, expression in statements)
    parse(text)   # well formed: it must parse
    evaluates_cleanly(text, variables)
