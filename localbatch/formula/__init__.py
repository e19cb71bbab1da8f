"""The Azure Batch autoscale formula language: a parser and an evaluator.

    formula = parse(text)     # FormulaError(code, message, values) if the service would refuse it
    ev = evaluate(formula, variables, now, rng=None)   # never raises
    ev.assignments, ev.targets, ev.results, ev.error   # error: autoScaleRun.error, or None

`variables` maps "$Name" to a float or a Samples (the pool's current targets, its node counts,
its sampled metrics); `now` is the evaluation time. Pure: no I/O but reading grammar.lark, no
other localbatch module; lark is imported and the parser built on the first parse.

Sources, and what each module takes from them:
- Learn, "Create a formula to automatically scale compute nodes in a Batch pool":
  https://learn.microsoft.com/azure/batch/batch-automatic-scaling (limits, variables, types,
  operators, functions, sample methods, examples). It gives no grammar and no precedence:
  operators take C's precedence and associativity, and parse.py lists what else is chosen.
- Learn, "Pool autoscale event": https://learn.microsoft.com/azure/batch/batch-pool-autoscale-event
  (the error of a run that had too few samples).
- Batch REST API 2025-06-01 (Azure/azure-rest-api-specs, specification/batch): AutoScaleRun
  {timestamp, results, error}, AutoScaleRunError {code, message, values[] of name/value}, and
  https://learn.microsoft.com/rest/api/batchservice/batch-status-and-error-codes (the codes).
- Runs recorded against the service: the SDKs' tests (azure-sdk-for-python, test_batch.py
  test_batch_scale_pools; azure-sdk-for-js, sdk/batch/batch/test/poolScaling.spec.ts) and
  published autoScaleRun results, for the format of results and what a failed run reports.
Each module's docstring marks what no source settles as "not documented", with the choice made.
"""

from __future__ import annotations

from .errors import FormulaError
from .evaluate import Evaluation, evaluate
from .nodes import Formula
from .parse import check, parse
from .samples import Samples
from .values import Interval

__all__ = ["Evaluation", "Formula", "FormulaError", "Interval", "Samples", "check", "evaluate",
           "parse"]
