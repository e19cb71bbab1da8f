"""Request bodies and stored documents checked against the service's own schema.

The types, required properties and enums come from batch-2025-06-01.json (generated from the
azure-batch SDK's models, themselves generated from the service's BatchService.json: see
generate.py). The documented ranges the schema does not carry are in RANGES, the required
properties it does not mark in REQUIRED, each with its source. This is the only check of a
request body's types, required properties, enums and ranges: the managers apply defaults, and
refuse only what localbatch does not emulate (validate.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from .. import lean_imports  # noqa: F401 (first: jsonschema without the IRI grammar)

# isort: split
import jsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from .. import errors, wire
from ..lenient import whole_numbers
from ..secrecy import redact, without_signatures

SOURCE = Path(__file__).with_name("batch-2025-06-01.json")
INT32 = {"minimum": -2**31, "maximum": 2**31 - 1}
"""BatchService.json gives every integer of these bodies "format": "int32"."""

_RETRIES = "'-1 ... retries without limit' (maxTaskRetryCount)"
_NAME = "displayName: 'up to a maximum length of 1024'"
_RESIZE = "resizeTimeout: 'The minimum value is 5 minutes'"
_INTERVAL = ("autoScaleEvaluationInterval: 'The minimum and maximum value are 5 minutes and 168 "
             "hours respectively ... an invalid property value error'")
_NODES = "a node count; beyond the quota the service answers with resizeErrors, not a 400"
RANGES: dict[tuple[str, str], tuple[dict, str]] = {
    # (definition, property): (JSON Schema keywords, where the limit is documented: the
    # descriptions in BatchService.json, which the SDK's docstrings repeat)
    ("BatchJobCreateOptions", "priority"): (
        {"minimum": -1000, "maximum": 1000}, "priority: 'can range from -1000 to 1000'"),
    ("BatchJobCreateOptions", "maxParallelTasks"): (
        {"minimum": -1, "not": {"const": 0}, "x-reason": "Give -1 (no limit) or more than 0."},
        "maxParallelTasks: 'must be -1 or greater than 0 if specified'"),
    ("BatchJobConstraints", "maxTaskRetryCount"): ({"minimum": -1}, _RETRIES),
    ("BatchTaskConstraints", "maxTaskRetryCount"): ({"minimum": -1}, _RETRIES),
    ("BatchStartTask", "maxTaskRetryCount"): ({"minimum": -1}, _RETRIES),
    ("BatchPoolCreateOptions", "taskSlotsPerNode"): (
        {"minimum": 1, "maximum": 256},
        ("taskSlotsPerNode: 'the smaller of 4 times the number of cores of the vmSize of the pool "
         "or 256' (a deliberate difference: localbatch keeps no VM size table, so only 256)")),
    ("BatchPoolCreateOptions", "targetDedicatedNodes"): ({"minimum": 0}, _NODES),
    ("BatchPoolCreateOptions", "targetLowPriorityNodes"): ({"minimum": 0}, _NODES),
    ("BatchPoolResizeOptions", "targetDedicatedNodes"): ({"minimum": 0}, _NODES),
    ("BatchPoolResizeOptions", "targetLowPriorityNodes"): ({"minimum": 0}, _NODES),
    ("BatchPoolCreateOptions", "resizeTimeout"): ({"x-min-seconds": 300}, _RESIZE),
    ("BatchPoolResizeOptions", "resizeTimeout"): ({"x-min-seconds": 300}, _RESIZE),
    ("BatchTaskCreateOptions", "requiredSlots"): (
        {"minimum": 1}, "requiredSlots: 'The default is 1'; a task needs at least one slot"),
    ("BatchPoolCreateOptions", "autoScaleEvaluationInterval"): (
        {"x-min-seconds": 300, "x-max-seconds": 168 * 3600}, _INTERVAL),
    ("BatchPoolEnableAutoScaleOptions", "autoScaleEvaluationInterval"): (
        {"x-min-seconds": 300, "x-max-seconds": 168 * 3600}, _INTERVAL),
    ("BatchPoolCreateOptions", "displayName"): ({"maxLength": 1024}, _NAME),
    ("BatchJobCreateOptions", "displayName"): ({"maxLength": 1024}, _NAME),
    ("BatchTaskCreateOptions", "displayName"): ({"maxLength": 1024}, _NAME),
}
REQUIRED: dict[str, tuple[tuple[str, ...], str]] = {
    # definition: (properties required beyond the schema's own, and why)
    "BatchPoolCreateOptions": (
        ("virtualMachineConfiguration",),
        "virtualMachineConfiguration: 'This property must be specified'"),
    "OutputFileDestination": (
        ("container",),
        ("container is the spec's only kind of destination: a destination without it names "
         "nowhere to upload to (localbatch's reading; the spec does not mark it required)")),
}
MAX_COLLECTION_TASKS = 100
MAX_COLLECTION_BYTES = 1024 * 1024
"""BatchTaskGroup.value: 'The maximum count of Tasks is 100. The total serialized size of this
collection must be less than 1MB ... the request will fail with code RequestBodyTooLarge'."""


def _absent(instance: dict, name: str) -> bool:
    """A required property not given, or given as "" (an empty id or command line names
    nothing)."""
    return name not in instance or instance[name] == ""


def _required(validator, names, instance, schema):
    """JSON Schema's required, with _absent."""
    if isinstance(instance, dict):
        for name in names:
            if _absent(instance, name):
                yield ValidationError(f"{name!r} is a required property")


def _enum(validator, allowed, instance, schema):
    """Enum values in any case, as the service accepts them."""
    if isinstance(instance, str) and instance.lower() not in {value.lower() for value in allowed}:
        yield ValidationError(f"Allowed values: {', '.join(allowed)}.")


def _min_seconds(validator, minimum, instance, schema):
    if isinstance(instance, str) and _is_duration(instance) and \
            wire.duration_seconds(instance, "") < minimum:
        yield ValidationError(f"The minimum is {minimum // 60} minutes.")


def _max_seconds(validator, maximum, instance, schema):
    if isinstance(instance, str) and _is_duration(instance) and \
            wire.duration_seconds(instance, "") > maximum:
        yield ValidationError(f"The maximum is {maximum // 3600} hours.")


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("duration")
def _is_duration(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        wire.duration_seconds(value, "")
    except errors.BatchError:
        return False
    return True


def _is_integer(checker, instance: object) -> bool:
    """Whole numbers only: 2.0 is refused, where plain JSON Schema would take it as an integer."""
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(
    Draft202012Validator,
    {"required": _required, "x-enum": _enum, "x-min-seconds": _min_seconds,
     "x-max-seconds": _max_seconds},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer))


def _with_limits(spec: dict) -> dict:
    """The generated schema with RANGES and REQUIRED merged in and int32 bounds on every other
    integer."""
    spec = copy.deepcopy(spec)
    for (definition, prop), (keywords, _source) in RANGES.items():
        spec["$defs"][definition]["properties"][prop].update(keywords)
    for definition, (names, _source) in REQUIRED.items():
        spec["$defs"][definition]["required"] = [
            *spec["$defs"][definition].get("required", []), *names]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer":
                for bound, value in INT32.items():
                    node.setdefault(bound, value)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(spec)
    return spec


SPEC = _with_limits(json.loads(SOURCE.read_text()))
ENVELOPE = "BatchTaskGroup (without its items)"
SPEC["$defs"][ENVELOPE] = copy.deepcopy(SPEC["$defs"]["BatchTaskGroup"])
SPEC["$defs"][ENVELOPE]["properties"]["value"].pop("items")
_validators: dict[str, Any] = {}


def _validator(definition: str) -> Any:
    if definition not in _validators:
        if definition not in SPEC["$defs"]:
            raise KeyError(f"no definition {definition} in {SOURCE.name}")
        schema = {"$defs": SPEC["$defs"], "$ref": f"#/$defs/{definition}"}
        _validators[definition] = _Validator(schema, format_checker=_FORMATS)
    return _validators[definition]


def property_path(path: Any) -> str:
    """A property's path as the service names it: resourceFiles[0].httpUrl."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def shown(value: Any) -> str:
    """A refused value as an error may show it: short, and never a URL's query (a SAS)."""
    if isinstance(value, (dict, list)):
        return "(an object)" if isinstance(value, dict) else "(an array)"
    text = redact(value) if isinstance(value, str) and "://" in value else str(value)
    text = without_signatures(text)
    return text if len(text) <= 200 else text[:200] + "..."


def _reason(error: ValidationError) -> str:
    if "x-reason" in error.schema:
        return error.schema["x-reason"]
    if error.validator == "type":
        return f"The value must be of type {error.validator_value}."
    if error.validator in ("minimum", "maximum"):
        return f"The value must be between {error.schema.get('minimum')} and " \
               f"{error.schema.get('maximum')}."
    if error.validator == "format":
        return "Give an ISO 8601 duration, such as PT15M." \
            if error.validator_value == "duration" else f"Give a {error.validator_value}."
    if error.validator == "maxLength":
        return f"At most {error.validator_value} characters."
    return error.message


def problems(definition: str, doc: Any, required: bool = True) -> list[ValidationError]:
    """Every way doc breaks the definition's schema, most relevant first."""
    found = _validator(definition).iter_errors(doc)
    if not required:
        found = (e for e in found if e.validator != "required")
    return sorted(found, key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))


def to_batch_error(error: ValidationError) -> errors.BatchError:
    """The service's 400 for a schema violation, naming the property's path."""
    path = property_path(error.absolute_path)
    if error.validator == "required":
        missing = next(name for name in error.validator_value if _absent(error.instance, name))
        return errors.MissingRequiredProperty(
            values={"PropertyName": f"{path}.{missing}" if path else missing})
    if not path:
        return errors.InvalidRequestBody(values={"Reason": "The body must be a JSON object."})
    return errors.InvalidPropertyValue(values={
        "PropertyName": path, "PropertyValue": shown(error.instance), "Reason": _reason(error)})


def refusal(definition: str, body: Any) -> errors.BatchError | None:
    """The service's 400 for the first way a request body breaks its schema, if it does."""
    whole_numbers(SPEC["$defs"], SPEC["$defs"][definition], body)
    found = problems(definition, body)
    return to_batch_error(found[0]) if found else None


def check(definition: str, body: Any) -> None:
    """Raise the service's 400 for the first way a request body breaks its schema."""
    error = refusal(definition, body)
    if error is not None:
        raise error


def check_collection(body: Any) -> list:
    """A task collection's items: 413 beyond the documented count and size, 400 for a body that
    is not a collection. Each item is checked on its own, as each task gets its own result."""
    check(ENVELOPE, body)
    size = len(json.dumps(body, separators=(",", ":")).encode())
    if len(body["value"]) > MAX_COLLECTION_TASKS or size >= MAX_COLLECTION_BYTES:
        raise errors.RequestBodyTooLarge(values={
            "MaxTaskCount": str(MAX_COLLECTION_TASKS), "ActualTaskCount": str(len(body["value"])),
            "MaxSizeInBytes": str(MAX_COLLECTION_BYTES), "ActualSizeInBytes": str(size)})
    return body["value"]


def reject_constant(name: str) -> float:
    """json.loads(parse_constant=...): NaN and Infinity are not JSON, and never stored."""
    raise errors.InvalidRequestBody(values={
        "Reason": f"{name} is not a JSON number: give a finite number."})


ENTITIES = {"pool": "BatchPool", "node": "BatchNode", "job": "BatchJob", "task": "BatchTask"}
SIDE = {   # the service's own fields, kept beside a job's and a task's documents (registry.py)
    "job-side": {"type": "object", "additionalProperties": False,
                 "properties": {
                     "terminateReason": {"type": "string"},
                     # node id -> its BatchJobPreparationAndReleaseTaskStatus (jobprep.py), and
                     # the node's lastBootTime when the preparation task ran there
                     "prepStatus": {"type": "object", "additionalProperties": {
                         "type": "object", "required": ["poolId", "nodeId", "nodeUrl"],
                         "properties": {
                             **{name: {"type": "string"}
                                for name in ("poolId", "nodeId", "nodeUrl")},
                             "bootTime": {"type": ["string", "null"]},
                             **{name: {"type": "object", "required": ["state", "startTime"]}
                                for name in ("jobPreparationTaskExecutionInfo",
                                             "jobReleaseTaskExecutionInfo")}}}}}},
    "task-side": {"type": "object", "additionalProperties": False,
                  "properties": {"pgid": {"type": "integer", "minimum": 1}}},
}


def stored_problem(kind: str, doc: Any) -> str | None:
    """What makes a stored document unusable, or None if it is sound. Types and values only: the
    spec's required properties are what the real service answers with (a node's ipv6Address,
    say), more than localbatch writes; a wrong type is what breaks the service."""
    if kind in SIDE:
        found = sorted(Draft202012Validator(SIDE[kind]).iter_errors(doc), key=str)
    else:
        found = problems(ENTITIES[kind], doc, required=False)
    if not found:
        return None
    error = to_batch_error(found[0])
    return "; ".join(f"{k}: {v}" for k, v in error.values.items()) or error.message
