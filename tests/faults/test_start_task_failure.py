"""A start task that fails: notebook 03 stops waiting, shows the node's state and its stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from azure.batch import models

from localbatch.control import down
from localbatch.statedir import StateDir
from tests.conftest import batch_client, pool_options, trusted

ROOT = Path(__file__).resolve().parents[2]


def test_notebook_03_shows_a_failed_start_task(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "localbatch")
    env = {**os.environ, "LOCALBATCH_HOME": str(state.path), "BATCH_TARGET": "local",
           "BATCH_NOTEBOOKS_WORKDIR": str(tmp_path / "work"),
           "BATCH_NOTEBOOKS_ENV_FILE": str(tmp_path / "settings.env")}
    run = [sys.executable, str(ROOT / "scripts" / "run_notebooks.py"), "--out",
           str(tmp_path / "executed")]
    try:
        first = subprocess.run([*run, "01_authenticate.ipynb"], env=env, capture_output=True,
                               text=True, timeout=300, check=False)
        assert first.returncode == 0, first.stderr
        # the learner's pool already exists, and its start task fails (say, apt-get's lock)
        batch = batch_client(trusted(state).endpoints())
        batch.create_pool(pool_options("LinuxFFmpegPool", 1, models.BatchStartTask(
            command_line="/bin/bash -c 'echo E: Could not get lock /var/lib/dpkg/lock >&2; "
                         "exit 100'", wait_for_success=True)))
        second = subprocess.run([*run, "03_create_pool.ipynb", "08_cleanup.ipynb"], env=env,
                                capture_output=True, text=True, timeout=300, check=False)
        assert second.returncode == 0, second.stderr
    finally:
        down(state)
    cells = json.loads((tmp_path / "executed" / "03_create_pool.ipynb").read_text())["cells"]
    printed = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
    assert "Pool 'LinuxFFmpegPool' exists: reusing it" in printed
    assert "is starttaskfailed; its start task's stderr:\nE: Could not get lock" in printed
    assert "✗ nodes not ready: ['starttaskfailed']" in printed
