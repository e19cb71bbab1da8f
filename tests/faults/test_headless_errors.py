"""A headless run (`make tutorial`) with wrong settings stops at 01 with one sentence."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from localbatch.statedir import StateDir

ROOT = Path(__file__).resolve().parents[2]
WRONG_KEY = "V3Jvbmcga2V5IGZvciB0aGUgdGVzdHMgb25seSwgbm90IGEgcmVhbCBvbmUuLi4="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_01(tmp_path: Path, settings: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "BATCH_TARGET": "azure", "BATCH_AUTH": "key",
           "BATCH_NOTEBOOKS_WORKDIR": str(tmp_path / "work"),
           "BATCH_NOTEBOOKS_ENV_FILE": str(tmp_path / "settings.env"), **settings}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"),
                           "01_authenticate.ipynb", "--out", str(tmp_path / "executed")],
                          env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("case, expected", [
    ("wrong batch key", "ConnectionError: The Batch account at "),
    ("nothing listening", "ConnectionError: Nothing answered at http://127.0.0.1:"),
])
def test_wrong_settings_stop_at_01_with_one_sentence(state: StateDir, tmp_path: Path,
                                                    case: str, expected: str) -> None:
    endpoints = state.endpoints()
    settings = {name: endpoints[name] for name in (
        "BATCH_ACCOUNT_NAME", "BATCH_ACCOUNT_URL", "BATCH_ACCOUNT_KEY", "STORAGE_ACCOUNT_NAME",
        "STORAGE_ACCOUNT_KEY", "STORAGE_BLOB_URL")}
    if case == "wrong batch key":
        settings["BATCH_ACCOUNT_KEY"] = WRONG_KEY
    else:
        settings["BATCH_ACCOUNT_URL"] = f"http://127.0.0.1:{free_port()}"
    run = run_01(tmp_path, settings)
    assert run.returncode == 1
    first = run.stderr.splitlines()
    failure = next(line for line in first if line.startswith("✗ 01_authenticate failed"))
    assert expected in failure
    assert "Traceback" not in run.stderr
    for secret in (WRONG_KEY, endpoints["BATCH_ACCOUNT_KEY"], endpoints["STORAGE_ACCOUNT_KEY"]):
        assert secret not in run.stdout + run.stderr
