"""`localbatch env`: the kit's names, and the same values under the names Microsoft's SDK
snippets and the Azure CLI read, so a program written for those runs after one eval."""

from __future__ import annotations

import json
import subprocess
import sys

from localbatch.statedir import StateDir

SNIPPET = """
import os
from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
batch = BatchClient(os.environ["AZURE_BATCH_ACCOUNT_URL"], AzureNamedKeyCredential(
    os.environ["AZURE_BATCH_ACCOUNT_NAME"], os.environ["AZURE_BATCH_ACCOUNT_KEY"]))
print(sum(1 for _ in batch.list_pools()) >= 0, os.environ["AZURE_BATCH_ENDPOINT"])
"""


def localbatch_env(state: StateDir, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localbatch", "--state-dir", str(state.path),
                           "env", *options], capture_output=True, text=True, check=True)


def test_env_gives_the_sdks_and_the_clis_names_the_same_values(state: StateDir) -> None:
    values = json.loads(localbatch_env(state, "--json").stdout)
    same = {"AZURE_BATCH_ACCOUNT_NAME": "BATCH_ACCOUNT_NAME",
            "AZURE_BATCH_ACCOUNT_URL": "BATCH_ACCOUNT_URL",
            "AZURE_BATCH_ACCOUNT_KEY": "BATCH_ACCOUNT_KEY",
            "AZURE_STORAGE_ACCOUNT_NAME": "STORAGE_ACCOUNT_NAME",
            "AZURE_STORAGE_ACCOUNT_KEY": "STORAGE_ACCOUNT_KEY",
            "AZURE_BATCH_ENDPOINT": "BATCH_ACCOUNT_URL", "AZURE_BATCH_ACCOUNT": "BATCH_ACCOUNT_NAME",
            "AZURE_BATCH_ACCESS_KEY": "BATCH_ACCOUNT_KEY"}
    for alias, name in same.items():
        assert values[alias] == values[name], alias


def test_a_snippet_that_reads_the_sdks_names_runs_after_one_eval(state: StateDir) -> None:
    exports = localbatch_env(state).stdout
    run = subprocess.run(["/bin/bash", "-c", f'{exports}\nexec "{sys.executable}" -c "$0"',
                          SNIPPET], capture_output=True, text=True, check=False,
                         env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"True {state.endpoints()['BATCH_ACCOUNT_URL']}\n"
