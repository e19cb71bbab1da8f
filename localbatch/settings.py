"""Settings from the environment that more than one process reads: `localbatch up` checks them
before it starts anything, so a bad value is said once, there, and not as every task's failure;
the node agents, which inherit the environment, read them where they apply."""

from __future__ import annotations

import os

RETRY_VARIABLE = "LOCALBATCH_TRANSFER_RETRY_SECONDS"
RETRY_SECONDS = 120.0   # how long a transfer keeps retrying, about as long as the Storage SDKs


def retry_seconds() -> float:
    """A transfer's retry window: LOCALBATCH_TRANSFER_RETRY_SECONDS, else RETRY_SECONDS (0: no
    retries)."""
    raw = os.environ.get(RETRY_VARIABLE, "").strip()
    if not raw:
        return RETRY_SECONDS
    seconds = _number(raw)
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{RETRY_VARIABLE} must be a number of seconds, 0 or more (it is {raw!r}).")
    return seconds


SCALE_VARIABLE = "LOCALBATCH_TIME_SCALE"


def time_scale() -> float | None:
    """How many times faster the autoscale clock runs (LOCALBATCH_TIME_SCALE, 1 to 1000), or
    None when the variable is not set (`up` then keeps what the instance runs)."""
    raw = os.environ.get(SCALE_VARIABLE, "").strip()
    if not raw:
        return None
    scale = _number(raw)
    if not 1 <= scale <= 1000:
        raise ValueError(f"{SCALE_VARIABLE} is {raw!r}: give a number from 1 (as on Azure) to "
                         "1000, for example 10 (a 5-minute autoscale interval then lasts 30 s).")
    return scale


def _number(raw: str) -> float:
    """The value as a float; NaN (outside every range) when it is not a number."""
    try:
        return float(raw)
    except ValueError:
        return float("nan")
