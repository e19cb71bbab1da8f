"""Whole numbers sent as JSON strings, which the Batch service takes.

The Azure CLI (`az batch pool create --target-dedicated-nodes 1`, through azure-batch 15.0.0b1)
sends `"targetDedicatedNodes": "1"`, `"maxTaskRetryCount": "1"`; the service creates the pool
all the same. So, before a body is checked, a string of digits where the schema has an integer
becomes that integer; anything else is left for the check to refuse.
"""

from __future__ import annotations

import re
from typing import Any

_WHOLE = re.compile(r"-?[0-9]{1,10}")


def whole_numbers(defs: dict, node: dict, value: Any) -> Any:
    """value with digit strings at the schema's integer places made ints (dicts and lists in place)."""
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    if node.get("type") == "integer" and isinstance(value, str) and _WHOLE.fullmatch(value):
        return int(value)
    if isinstance(value, dict):
        for name, sub in node.get("properties", {}).items():
            if name in value:
                value[name] = whole_numbers(defs, sub, value[name])
    elif isinstance(value, list) and "items" in node:
        value[:] = [whole_numbers(defs, node["items"], item) for item in value]
    return value
