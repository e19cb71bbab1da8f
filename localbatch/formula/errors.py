"""How a formula fails: FormulaError when it is checked, so that the request that carries it is
rejected; RunError while it is evaluated, which evaluate() turns into autoScaleRun.error.

Codes (https://learn.microsoft.com/rest/api/batchservice/batch-status-and-error-codes):
AutoScalingFormulaSyntaxError, "The specified auto-scaling formula has a syntax error.", and
AutoScalingFormulaTooLong, "... exceeds lengths limit." The SDKs spell the latter's constant
AutoScaleFormulaTooLong ("The maximum length is 8192 characters": BatchErrorCodeStrings of
Microsoft.Azure.Batch); the REST table's spelling is kept. A run that fails carries
AutoScalingFormulaEvaluationError (Azure/azure-sdk-for-js, sdk/batch/batch/test/
poolScaling.spec.ts, recorded against the service) or InsufficientSampleData, with the message
"Autoscale evaluation failed due to insufficient sample data" and a value named "Message" that
reads "Line 15, Col 44: Insufficient data from data set: $RunningTasks wanted 70%, received 50%"
(https://learn.microsoft.com/azure/batch/batch-pool-autoscale-event). The message of the other
codes is not documented: "Autoscale evaluation failed" and "Line L, Col C: <what>" are chosen
to match.
"""

from __future__ import annotations

SYNTAX_ERROR = "AutoScalingFormulaSyntaxError"
TOO_LONG = "AutoScalingFormulaTooLong"
EVALUATION_ERROR = "AutoScalingFormulaEvaluationError"
INSUFFICIENT_SAMPLES = "InsufficientSampleData"

MESSAGES = {
    SYNTAX_ERROR: "The specified auto-scaling formula has a syntax error.",
    TOO_LONG: "The specified auto-scaling formula exceeds lengths limit.",
    EVALUATION_ERROR: "Autoscale evaluation failed",
    INSUFFICIENT_SAMPLES: "Autoscale evaluation failed due to insufficient sample data",
}


def where(line: int | None, column: int | None, detail: str) -> str:
    """The service's "Line L, Col C: detail" (1-based), or the detail alone."""
    return detail if line is None else f"Line {line}, Col {column}: {detail}"


class FormulaError(Exception):
    """A formula the service would refuse: code, message, and values as (name, value) pairs,
    the first named "Message" and saying where (line, column, 1-based) and what went wrong."""

    def __init__(self, code: str, detail: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.code = code
        self.message = MESSAGES[code]
        self.line = line
        self.column = column
        self.values = [("Message", where(line, column, detail))]
        super().__init__(f"{self.code}: {self.values[0][1]}")


class RunError(Exception):
    """A failure while evaluating; the innermost node that sees it gives it a position."""

    def __init__(self, detail: str, code: str = EVALUATION_ERROR) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.line: int | None = None
        self.column: int | None = None

    def locate(self, line: int, column: int) -> None:
        if self.line is None:
            self.line, self.column = line, column

    def as_dict(self) -> dict:
        """autoScaleRun.error: an AutoScaleRunError of the Batch REST API (code, message,
        values[] of name/value)."""
        return {"code": self.code, "message": MESSAGES[self.code],
                "values": [{"name": "Message",
                            "value": where(self.line, self.column, self.detail)}]}
