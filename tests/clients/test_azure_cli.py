"""The Azure CLI's `az batch` driving localbatch with --account-endpoint, --account-name and
--account-key: it sends api-version 2024-02-01.19.0 and whole numbers as JSON strings.
Only with BATCH_NOTEBOOKS_CLIENTS=1 (the CLI's venv is about 700 MB); otherwise it skips."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from localbatch.statedir import StateDir
from tests.conftest import unique, wait_for


class Az:
    """`az batch …` against one account, with a config folder of its own and no telemetry."""

    def __init__(self, venv: Path, endpoints: dict[str, str], config: Path):
        self.program = str(venv / "bin" / "az")
        self.key = endpoints["BATCH_ACCOUNT_KEY"]
        self.flags = ["--account-endpoint", endpoints["BATCH_ACCOUNT_URL"],
                      "--account-name", endpoints["BATCH_ACCOUNT_NAME"], "--account-key", self.key]
        self.env = {**os.environ, "AZURE_CONFIG_DIR": str(config),
                    "AZURE_CORE_COLLECT_TELEMETRY": "no", "AZURE_CORE_SURVEY_MESSAGE": "no",
                    "AZURE_CORE_NO_COLOR": "yes"}
        self.account_env = {"AZURE_BATCH_ENDPOINT": endpoints["BATCH_ACCOUNT_URL"],
                            "AZURE_BATCH_ACCOUNT": endpoints["BATCH_ACCOUNT_NAME"],
                            "AZURE_BATCH_ACCESS_KEY": self.key}

    def run(self, *args: str, debug: bool = False) -> subprocess.CompletedProcess:
        """`az batch ARGS` with the account in flags or, with --debug (which logs the command
        line), in the CLI's environment variables. Failures show the command, never the key."""
        if debug:
            command, env = [*args, "--debug"], {**self.env, **self.account_env}
        else:
            command, env = [*args, *self.flags], self.env
        done = subprocess.run([self.program, "batch", *command], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        if self.key in done.stdout + done.stderr:
            pytest.fail(f"az batch {' '.join(args)} printed the account key", pytrace=False)
        if done.returncode:
            pytest.fail(f"az batch {' '.join(args)} failed: {done.stderr[-2000:]}", pytrace=False)
        return done

    def json(self, *args: str):
        return json.loads(self.run(*args, "--output", "json").stdout)


@pytest.fixture
def az(azure_cli_venv: Path, state: StateDir, tmp_path: Path) -> Az:
    return Az(azure_cli_venv, state.endpoints(), tmp_path / "azure-config")


def test_az_batch_runs_a_task_and_downloads_its_stdout(az: Az, tmp_path: Path) -> None:
    pool_id, job_id, task_id = unique("azpool"), unique("azjob"), "hello"
    az.run("pool", "create", "--id", pool_id, "--vm-size", "Standard_A1_v2",
           "--target-dedicated-nodes", "1",
           "--image", "canonical:ubuntu-24_04-lts:server-gen1:latest",
           "--node-agent-sku-id", "batch.node.ubuntu 24.04",
           "--start-task-command-line", "/bin/bash -c 'echo node ready'",
           "--start-task-wait-for-success")
    listed = az.run("pool", "list", debug=True)
    assert "api-version=2024-02-01.19.0" in listed.stderr
    assert pool_id in [p["id"] for p in json.loads(listed.stdout)]
    wait_for(lambda: az.json("pool", "show", "--pool-id", pool_id)["allocationState"] == "steady",
             what="the pool to be steady")
    pool = az.json("pool", "show", "--pool-id", pool_id)
    assert (pool["targetDedicatedNodes"], pool["currentDedicatedNodes"]) == (1, 1)
    assert pool["startTask"]["commandLine"] == "/bin/bash -c 'echo node ready'"

    az.run("job", "create", "--id", job_id, "--pool-id", pool_id)
    az.run("task", "create", "--job-id", job_id, "--task-id", task_id,
           "--command-line", "/bin/bash -c 'echo hello from az batch'")
    task = wait_for(lambda: (t := az.json("task", "show", "--job-id", job_id, "--task-id",
                                          task_id))["state"] == "completed" and t,
                    what="the task to complete")
    assert task["executionInfo"]["exitCode"] == 0
    assert task["executionInfo"]["result"] == "success"

    stdout = tmp_path / "stdout.txt"
    az.run("task", "file", "download", "--job-id", job_id, "--task-id", task_id,
           "--file-path", "stdout.txt", "--destination", str(stdout))
    assert stdout.read_text() == "hello from az batch\n"

    az.run("job", "delete", "--job-id", job_id, "--yes")
    az.run("pool", "delete", "--pool-id", pool_id, "--yes")
    wait_for(lambda: job_id not in [j["id"] for j in az.json("job", "list")],
             what="the job to go")
    wait_for(lambda: pool_id not in [p["id"] for p in az.json("pool", "list")],
             what="the pool to go")
