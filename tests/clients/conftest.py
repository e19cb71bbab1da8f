"""Virtual environments for other Batch clients, made once and cached outside the project.

Each client's packages are pinned in requirements-<name>.txt here; they cannot live in .venv,
whose constraints.txt pins azure-batch 15.1. A venv is kept in
~/.cache/batch-notebooks/clients/<name>-<hash>/ (or under $XDG_CACHE_HOME), keyed on the
requirements file and the Python version, so a changed pin makes a new one. With wheelhouse/python
present, azure-batch 14's venv installs from it alone, as `make setup` does (`make wheelhouse`
downloads its packages); the Azure CLI's packages are not there, so its venv needs the network.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
WHEELHOUSE = HERE.parent.parent / "wheelhouse" / "python"
CLIENTS_FLAG = "BATCH_NOTEBOOKS_CLIENTS"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "batch-notebooks" / "clients"


def client_venv(name: str, in_wheelhouse: bool) -> Path:
    """The venv for requirements-<name>.txt, made (under a lock) if not cached yet."""
    requirements = HERE / f"requirements-{name}.txt"
    digest = hashlib.sha256(requirements.read_bytes() + sys.version.encode()).hexdigest()[:12]
    venv = cache_root() / f"{name}-{digest}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # another test run may be making the same one
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            offline = in_wheelhouse and WHEELHOUSE.is_dir()
            links = ["--no-index", "--find-links", str(WHEELHOUSE)] if offline else []
            pip = subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 "--disable-pip-version-check", "-r", str(requirements), *links],
                capture_output=True, text=True, check=False)
            if pip.returncode:
                pytest.fail(f"could not install {requirements.name} into {venv}:\n"
                            f"{pip.stderr[-3000:]}", pytrace=False)
            (venv / ".complete").write_text(requirements.name + "\n")
    return venv


@pytest.fixture(scope="session")
def sdk14_venv() -> Path:
    return client_venv("azure-batch-14", in_wheelhouse=True)


@pytest.fixture(scope="session")
def azure_cli_venv() -> Path:
    if os.environ.get(CLIENTS_FLAG) != "1":
        pytest.skip(f"the Azure CLI needs a venv of its own of about 700 MB: set {CLIENTS_FLAG}=1 "
                    "to build it and run this test (.ci/run does)")
    return client_venv("azure-cli", in_wheelhouse=False)
