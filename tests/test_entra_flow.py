"""Microsoft Entra ID on the local target, as a program that knows only the SDKs signs in:
DefaultAzureCredential() after `eval "$(python -m localbatch env)"`, user delegation SAS URLs,
and the tutorial's flow to the MP3s. No key is in the program's environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers.media import make_sample_video
from localbatch.statedir import StateDir
from tests.conftest import unique
from tests.pools import INSTALL_FFMPEG

PROGRAM = Path(__file__).with_name("entra_program.py")
KEYS = ("BATCH_ACCOUNT_KEY", "STORAGE_ACCOUNT_KEY", "AZURE_BATCH_ACCOUNT_KEY",
        "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_BATCH_ACCESS_KEY")


def test_a_program_that_knows_only_entra_does_the_tutorial(state: StateDir,
                                                          tmp_path: Path) -> None:
    videos = [make_sample_video(tmp_path / f"clip{i}.mp4", seconds=1) for i in range(2)]
    exports = subprocess.run([sys.executable, "-m", "localbatch", "--state-dir",
                              str(state.path), "env"], capture_output=True, text=True,
                             check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    script = f'{exports}\nunset {" ".join(KEYS)}\nexec "{sys.executable}" "$0" "$@"'
    run = subprocess.run(["/bin/bash", "-c", script, str(PROGRAM), unique("entra"),
                          unique("entra"), INSTALL_FFMPEG, *map(str, videos)],
                         capture_output=True, text=True, timeout=300, check=False,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.splitlines()[-1])
    assert seen["delegation"] == [True, True]
    assert seen["results"] == {"convert-0": ["success", 0], "convert-1": ["success", 0]}
    assert sorted(seen["mp3s"]) == ["clip0.mp3", "clip1.mp3"]
    assert all(size > 1000 for size in seen["mp3s"].values())
    assert seen["read_only_write"] == "403 AuthorizationPermissionMismatch"
