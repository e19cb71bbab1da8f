"""The live check: the conformance tests against an account named only by its settings.

`pytest --live` (make test-live) runs them on Azure; here a localbatch plays the account, so the
harness itself is tested. `make test` runs the real thing only when asked: it creates pools.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.settings import AZURE_NAMES, KEY_NAMES, save_settings

ROOT = Path(__file__).resolve().parent.parent
LEARNER_NAMES = (*AZURE_NAMES, *KEY_NAMES, "BATCH_TARGET", "BATCH_AUTH", "STORAGE_BLOB_URL",
                 "BATCH_NOTEBOOKS_ENV_FILE")


def run_live(tmp_path: Path, settings: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """pytest --live in a child, with `settings` in a .env file and none in the environment."""
    env = {k: v for k, v in os.environ.items() if k not in LEARNER_NAMES}
    env["BATCH_NOTEBOOKS_ENV_FILE"] = str(save_settings(settings, tmp_path / "live.env"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--live", "-p", "no:cacheprovider", "-p", "no:nbval",
         "-p", "no:xdist", "-q", "-rs", *args],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)


def test_without_an_account_live_stops_at_once_saying_what_to_set(tmp_path: Path) -> None:
    result = run_live(tmp_path, {}, "tests/test_lists.py")
    assert result.returncode == 4, result.stdout + result.stderr   # a usage error, no test run
    assert "--live needs an Azure account. The Azure target needs BATCH_ACCOUNT_NAME, " \
           "BATCH_ACCOUNT_URL, STORAGE_ACCOUNT_NAME, BATCH_ACCOUNT_KEY, STORAGE_ACCOUNT_KEY" \
           in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_entra_id_settings_are_refused_with_the_reason(tmp_path: Path) -> None:
    result = run_live(tmp_path, {"BATCH_AUTH": "entra", "BATCH_ACCOUNT_NAME": "a",
                                 "BATCH_ACCOUNT_URL": "https://a.westeurope.batch.azure.com",
                                 "STORAGE_ACCOUNT_NAME": "s"}, "tests/test_lists.py")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "--live signs requests with Shared Key: set BATCH_AUTH=key" in result.stderr


def test_live_run_drives_the_account_in_the_settings(tmp_path: Path,
                                                      endpoints: dict[str, str]) -> None:
    """The tests' own localbatch plays the Azure account: only its settings reach the child,
    and the tests that look at this machine's processes and files are left out."""
    result = run_live(tmp_path, {**endpoints, "BATCH_AUTH": "key"}, "tests/test_lists.py",
                      "tests/test_errors.py", "tests/test_auth.py", "tests/test_task_failures.py",
                      "tests/test_jobs.py",
                      "-k", "filter_combining_two_terms or create_pool_twice or wrong_key "
                            "or retried or terminate_job_records")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "4 passed" in out and "skipped" not in out, out
    assert "deselected" in out, out   # the retry test reads files the task wrote locally
    for secret in (endpoints["BATCH_ACCOUNT_KEY"], endpoints["STORAGE_ACCOUNT_KEY"]):
        assert secret not in out + result.stderr


def test_conformance_against_a_real_azure_account(tmp_path: Path,
                                                  azure_values: dict[str, str]) -> None:
    """The live check itself, when asked for: it creates pools in that account."""
    if os.environ.get("BATCH_LIVE_CHECK") != "1":
        pytest.skip("the live check against Azure was not asked for: set BATCH_LIVE_CHECK=1 "
                    "and the account's settings, or run `make test-live` (it creates pools in "
                    "that account, which costs money)")
    result = run_live(tmp_path, azure_values)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
