"""The api-versions localbatch accepts, where each string comes from, and what each lacks.

Each is the default api_version of a released azure-batch for Python (read from its wheel's
source). Within localbatch's subset, a version's answers are the newest one's less the properties
it does not have yet: those are left out (LACKS, from the models of the azure-batch release that
speaks it, which are generated from that version's BatchService.json). Requests are the same.
Older versions keep the 400: before 2020-09-01.12.0 a node ran tasks by maxTasksPerNode, not
task slots, a different shape.
"""

from __future__ import annotations

from typing import Any

from . import API_VERSION, errors

ACCEPTED: dict[str, str] = {
    API_VERSION: "azure-batch 15.1.0",
    "2024-07-01.20.0": "azure-batch 15.0.0b2 and 15.1.0b1",
    "2024-02-01.19.0": "azure-batch 14.2.0 and 15.0.0b1, so the Azure CLI's az batch",
    "2023-11-01.18.0": "azure-batch 14.1.0",
    "2023-05-01.17.0": "azure-batch 14.0.0",
    "2022-10-01.16.0": "azure-batch 13.0.0",
    "2022-01-01.15.0": "azure-batch 12.0.0",
    "2021-06-01.14.0": "azure-batch 11.0.0",
    "2020-09-01.12.0": "azure-batch 10.0.0",
}
_PREEMPTION = frozenset({"allowTaskPreemption"})   # a job's; new in 2022-01-01.15.0
LACKS: dict[str, frozenset[str]] = {
    "2021-06-01.14.0": _PREEMPTION,
    # a job's maxParallelTasks and a node's virtualMachineInfo: new in 2021-06-01.14.0
    "2020-09-01.12.0": _PREEMPTION | {"maxParallelTasks", "virtualMachineInfo"},
}


def check(version: str | None) -> str:
    """The request's api-version if localbatch speaks it, else the service's 400 naming it."""
    if not version:
        raise errors.MissingRequiredQueryParameter(values={"QueryParameterName": "api-version"})
    if version not in ACCEPTED:
        raise errors.UnsupportedRequestVersion(values={
            "QueryParameterName": "api-version", "QueryParameterValue": version,
            "Reason": f"localbatch speaks api-versions {', '.join(ACCEPTED)}."})
    return version


def shape(body: Any, version: str) -> Any:
    """A reply body as this version has it: a copy without the properties it lacks (their names
    are unique in localbatch's answers, so they go wherever they are)."""
    lacks = LACKS.get(version)
    return _without(body, lacks) if lacks else body


def _without(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_without(v, names) for v in value]
    return value
