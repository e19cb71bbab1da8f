"""pytest set-up for the notebooks (nbval): their kernels use a localbatch of their own.

The variables are set before any kernel starts, so every notebook runs against a fresh state
folder, work folder and settings file, never a learner's running tutorial.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SCRATCH = Path(tempfile.mkdtemp(prefix="batch-notebooks-tests-"))
os.environ.update(LOCALBATCH_HOME=str(SCRATCH / "localbatch"), BATCH_TARGET="local",
                  BATCH_NOTEBOOKS_WORKDIR=str(SCRATCH / "work"),
                  BATCH_NOTEBOOKS_ENV_FILE=str(SCRATCH / "settings.env"))
for name in ("BATCH_AUTH", "BATCH_ACCOUNT_NAME", "BATCH_ACCOUNT_URL", "BATCH_ACCOUNT_KEY",
             "STORAGE_ACCOUNT_NAME", "STORAGE_ACCOUNT_KEY", "STORAGE_BLOB_URL"):
    os.environ.pop(name, None)


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the notebooks' localbatch, if they started one."""
    from localbatch.control import down, state_dir
    down(state_dir())
