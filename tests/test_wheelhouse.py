"""`make wheelhouse`, then `make setup` with no network: everything comes from the wheelhouse."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dead_url() -> str:
    """A loopback URL where nothing listens: any attempt to download fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("BATCH_NOTEBOOKS_WHEELHOUSE") != "1", reason=(
    "`make wheelhouse` downloads every package (minutes): set BATCH_NOTEBOOKS_WHEELHOUSE=1 to "
    "run this test (.ci/run does)"))
def test_setup_installs_offline_from_a_wheelhouse(tmp_path: Path) -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    copy = tmp_path / "kit"
    for name in tracked:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    built = subprocess.run(["make", "wheelhouse"], cwd=copy, capture_output=True, text=True,
                           check=False, timeout=1200)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    shutil.rmtree(copy / "node_modules")
    dead = dead_url()
    # pip gets a dead index on top of --no-index; npm's --offline forbids any request (its
    # cache is keyed on the registry's address, so that one must stay as it was).
    offline = {**os.environ, "PIP_INDEX_URL": dead, "PIP_EXTRA_INDEX_URL": "",
               "PIP_CONFIG_FILE": os.devnull}
    setup = subprocess.run(["make", "setup"], cwd=copy, env=offline, capture_output=True,
                           text=True, check=False, timeout=1200)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert "setup: installed .venv node_modules" in setup.stdout
    check = subprocess.run([str(copy / ".venv" / "bin" / "python"), "-c",
                            "import azure.batch, azure.storage.blob, localbatch, helpers.media"],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    assert (copy / "node_modules" / ".bin" / "azurite-blob").exists()
