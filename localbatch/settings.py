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
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{RETRY_VARIABLE} must be a number of seconds, 0 or more (it is {raw!r}).")
    return seconds
