"""Batch service errors as data: each carries the HTTP status and the service's error code."""

from __future__ import annotations


class BatchError(Exception):
    """An error the service answers with a BatchError body (code, message, values). Every code
    localbatch answers with is a subclass below, with its status and message: no other module
    makes one up."""

    status = 500
    code = "InternalError"
    message = "Server encountered an internal error. Please try again after some time."

    def __init__(self, message: str | None = None, values: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None):
        self.message = message or type(self).message
        self.values = values or {}
        self.headers = headers or {}   # e.g. a 401's WWW-Authenticate challenge
        super().__init__(f"{self.code}: {self.message}")


def _error(name: str, status: int, message: str) -> type[BatchError]:
    return type(name, (BatchError,), {"status": status, "code": name, "message": message})


# The service's own wording (Learn: "Batch status and error codes").
InvalidAuthenticationInfo = _error(
    "InvalidAuthenticationInfo", 400,
    "Authentication information is not given in the correct format. "
    "Check the value of Authorization header.")
AuthenticationFailed = _error(
    "AuthenticationFailed", 403,
    "Server failed to authenticate the request. Make sure the value of Authorization header "
    "is formed correctly including the signature.")
# A bearer token Batch does not accept: 401, and the message without "including the
# signature" (as AzureAD/microsoft-authentication-library-for-js#1735 quotes Batch's answer).
TokenAuthenticationFailed = type("TokenAuthenticationFailed", (BatchError,), {
    "status": 401, "code": "AuthenticationFailed",
    "message": "Server failed to authenticate the request. Make sure the value of "
               "Authorization header is formed correctly."})
MissingRequiredQueryParameter = _error(
    "MissingRequiredQueryParameter", 400,
    "A query parameter that's mandatory for this request is not specified.")
UnsupportedRequestVersion = _error(
    "UnsupportedRequestVersion", 400, "The specified Request Version is not supported.")
InvalidQueryParameterValue = _error(
    "InvalidQueryParameterValue", 400,
    "Value for one of the query parameters specified in the request URI is invalid.")
# Learn's table, common REST API error codes: 400, "A query parameter specified in the request
# URI is outside the permissible range." (maxresults, BatchService.json: "A maximum of 1000").
OutOfRangeQueryParameterValue = _error(
    "OutOfRangeQueryParameterValue", 400,
    "A query parameter specified in the request URI is outside the permissible range.")
InvalidRequestBody = _error(
    "InvalidRequestBody", 400,
    "The specified Request Body is not syntactically valid.")
MissingRequiredProperty = _error(
    "MissingRequiredProperty", 400,
    "A required property was not specified in the request body.")
InvalidPropertyValue = _error(
    "InvalidPropertyValue", 400,
    "The value provided for one of the properties in the request body is invalid.")
InvalidUri = _error("InvalidUri", 400, "The requested URI does not represent any resource on the server.")
UnsupportedHttpVerb = _error(
    "UnsupportedHttpVerb", 405, "The resource doesn't support the specified HTTP verb.")
PoolNotFound = _error("PoolNotFound", 404, "The specified pool does not exist.")
JobNotFound = _error("JobNotFound", 404, "The specified job does not exist.")
TaskNotFound = _error("TaskNotFound", 404, "The specified task does not exist.")
NodeNotFound = _error("NodeNotFound", 404, "The specified node does not exist.")
FileNotFound = _error("FileNotFound", 404, "The specified file does not exist.")
PoolExists = _error("PoolExists", 409, "The specified pool already exists.")
JobExists = _error("JobExists", 409, "The specified job already exists.")
TaskExists = _error("TaskExists", 409, "The specified task already exists.")
PoolBeingDeleted = _error(
    "PoolBeingDeleted", 409, "The specified pool has been marked for deletion and is being reclaimed.")
# Learn's table, Batch service error codes: 409, "The specified pool is being resized"; and
# BatchService.json on Pool_Resize: "If the Pool is already resizing, the request fails with
# status code 409".
PoolBeingResized = _error("PoolBeingResized", 409, "The specified pool is being resized.")
JobBeingDeleted = _error(
    "JobBeingDeleted", 409, "The specified job has been marked for deletion and is being reclaimed.")
JobBeingTerminated = _error(
    "JobBeingTerminated", 409, "The specified job is being terminated.")
JobCompleted = _error("JobCompleted", 409, "The specified job is already in a completed state.")
TaskCompleted = _error("TaskCompleted", 409, "The specified task is already completed.")
TaskNotCompleted = _error(
    "TaskNotCompleted", 409, "The specified task is not in a completed state, and the requested "
                             "operation can be performed only on completed tasks.")
TaskSucceeded = _error(
    "TaskSucceeded", 409, "The specified task has already completed successfully, and the "
                          "requested operation cannot be performed on successful tasks.")
NodeBeingCreated = _error("NodeBeingCreated", 409, "The specified node is being created.")
NodeBeingStarted = _error("NodeBeingStarted", 409, "The specified node is being started.")
NodeBeingRebooted = _error("NodeBeingRebooted", 409, "The specified node is being rebooted.")
NodeStateUnusable = _error("NodeStateUnusable", 409, "The state of the specified node is unusable.")
OperationNotValidOnNode = _error(
    "OperationNotValidOnNode", 409, "The specified operation is not valid on the node.")
RequestBodyTooLarge = _error(
    "RequestBodyTooLarge", 413, "The request body is too large and exceeds the maximum permissible limit.")
# Learn's table, common REST API error codes: 416, "The range specified is invalid for the
# current size of the resource." (the ocp-range header of Get Task File and Get Node File).
InvalidRange = _error(
    "InvalidRange", 416, "The range specified is invalid for the current size of the resource.")
ConditionNotMet = _error(
    "ConditionNotMet", 412, "The condition specified using HTTP conditional header(s) is not met.")
InvalidHeaderValue = _error(
    "InvalidHeaderValue", 400, "The value provided for one of the HTTP headers was not in the "
                               "correct format.")
# Autoscale: the codes of Learn's "Batch status and error codes" (its general table), where it
# has one. The 409s of a resize while autoscale is on ("the Batch service returns an error 409",
# Resize Pool) and of evaluating without autoscale have no documented code: these two names are
# localbatch's.
AutoScalingFormulaSyntaxError = _error(
    "AutoScalingFormulaSyntaxError", 400, "The specified auto-scaling formula has a syntax error.")
AutoScalingFormulaTooLong = _error(
    "AutoScalingFormulaTooLong", 400, "The specified auto-scaling formula exceeds lengths limit.")
# 503, which azure-core's retry policy retries by itself (the .NET SDK names the code
# AutoScaleTooManyRequestsToEnable: "must be separated by at least 30 seconds")
TooManyEnableAutoScaleRequests = _error(
    "TooManyEnableAutoScaleRequests", 503,
    "Too many Enable Pool AutoScale requests are issued on the pool.")
AutoScalingEnabled = _error(
    "AutoScalingEnabled", 409, "The specified pool has automatic scaling enabled: disable it to "
                               "resize the pool by hand.")
AutoScalingNotEnabled = _error(
    "AutoScalingNotEnabled", 409, "The specified pool does not have automatic scaling enabled.")
# Update Job: "You may change the Pool for a Job only when the Job is disabled" (status and code
# not documented: JobNotDisabled is localbatch's name).
JobNotDisabled = _error(
    "JobNotDisabled", 409, "The pool of a job can change only while the job is disabled, and "
                           "localbatch does not emulate job disable.")
# Task dependencies: Learn's "Batch status and error codes", all three Bad Request (400).
TaskDependenciesNotSpecifiedOnJob = _error(
    "TaskDependenciesNotSpecifiedOnJob", 400,
    "A task was specified as depending on other tasks, but the job did not specify that it "
    "would use task dependencies.")
TaskDependencyListTooLong = _error(
    "TaskDependencyListTooLong", 400,
    "A task was specified as depending on other tasks, but the list of dependencies was too "
    "long to be stored.")
TaskDependencyRangesTooLong = _error(
    "TaskDependencyRangesTooLong", 400,
    "A task was specified as depending on multiple ranges of task ids, and the list of ranges "
    "was too long to be stored.")
# The spec (BatchJobPreparationTask, BatchJobReleaseTask, List Job Preparation and Release Task
# Status): a task with the id of its job's preparation or release task is refused with these
# 409s, and the list for a job without a preparation task with the last one.
TaskIdSameAsJobPreparationTask = _error(
    "TaskIdSameAsJobPreparationTask", 409,
    "The specified task id is the id of the job's job preparation task.")
TaskIdSameAsJobReleaseTask = _error(
    "TaskIdSameAsJobReleaseTask", 409,
    "The specified task id is the id of the job's job release task.")
JobPreparationTaskNotSpecified = _error(
    "JobPreparationTaskNotSpecified", 409,
    "The specified job does not have a job preparation task.")
NodeNotSpot = _error(
    "NodeNotSpot", 409, "The specified node is a dedicated node: only a Spot (low-priority) "
                        "node can be preempted.")


def formula_error(code: str, message: str, values: dict[str, str]) -> BatchError:
    """A formula the parser refused, as the service's 400."""
    kind = AutoScalingFormulaTooLong if code == AutoScalingFormulaTooLong.code \
        else AutoScalingFormulaSyntaxError
    return kind(message, values)
