"""The tutorial's flow through azure-batch 14.x (BatchServiceClient), which sends an older
api-version, run in a venv of its own against the tests' localbatch and Azurite."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from localbatch.statedir import StateDir
from tests.conftest import unique

SCRIPT = Path(__file__).with_name("tutorial_sdk14.py")


def test_tutorial_flow_through_azure_batch_14(sdk14_venv: Path, state: StateDir) -> None:
    env = {**os.environ, **state.endpoints()}
    run = subprocess.run([str(sdk14_venv / "bin" / "python"), str(SCRIPT), unique("pool14"),
                          unique("job14")], env=env, capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.splitlines()[-1])
    assert seen["api_version"] == "2024-02-01.19.0"
    assert seen["duplicate_pool"] == "PoolExists"
    assert seen["start_tasks"] == ["success", "success"]
    assert seen["added"] == ["success"] * 3
    assert seen["results"] == {f"upper-{i}": ["success", 0] for i in range(3)}
    assert seen["succeeded"] == 3
    assert seen["stdout"] == "HELLO FROM BATCH 14\n"
    assert seen["outputs"] == {f"upper-{i}.txt": "HELLO FROM BATCH 14\n" for i in range(3)}
