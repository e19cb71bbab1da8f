"""The suite's one headless run of the tutorial (`make tutorial`'s runner, 00 onwards), on a
learner's own awkward inputs: hostile file names and broken media side by side, signed in with
Microsoft Entra ID (the English edition's nbval run signs in with Shared Key).

Every test that needs an end-to-end run reads this one (the `tutorial_run` fixture) instead of
starting its own: a run costs a minute, and each new notebook joins it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.media import find_ffmpeg, make_sample_video
from localbatch.statedir import StateDir

ROOT = Path(__file__).resolve().parent.parent
GOOD = ["my talk (final).v2.mp4", "$(touch pwned).mp4", "it's \"quoted\".mp4", "[1] `tick`.mp4",
        "-leading dash.mp4", "noext.mp4", "sub/clip.mp4", "other/clip.mp4"]
"""Inputs that must each become one MP3 of the same name."""
INVALID = "Invalid data found when processing input"
BROKEN = {"corrupt.mp4": INVALID, "empty.mp4": INVALID, "notes.mp4": INVALID,
          "silent.mp4": "Output file does not contain any stream"}
"""Inputs that must each fail one task, and what its stderr says."""


@dataclass
class TutorialRun:
    work: Path
    executed: Path
    state: StateDir
    keys: dict[str, str]
    run: subprocess.CompletedProcess

    def task_ids(self) -> dict[str, str]:
        """Input name -> task id: 05 numbers the tasks in the sorted order of the blob names."""
        return {name: f"Task{i}" for i, name in enumerate(sorted([*GOOD, *BROKEN]))}

    def text(self, notebook: str) -> str:
        """What a learner reads in an executed notebook: stream output and plain-text results."""
        parts = []
        for cell in json.loads((self.executed / notebook).read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = output.get("text") or output.get("data", {}).get("text/plain", "")
                parts.append(text if isinstance(text, str) else "".join(text))
        return "\n".join(parts)


def make_silent_video(path: Path) -> Path:
    """A picture-only MP4 (lavfi testsrc, -an): nothing for `-vn out.mp3` to convert."""
    subprocess.run([find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc=size=160x120:rate=25", "-t", "1", "-an", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(path)], check=True, capture_output=True)
    return path


def seed_inputs(inputs: Path, scratch: Path) -> None:
    """The learner's folder: the good names share one clip; each broken file is broken its way."""
    clip = make_sample_video(scratch / "clip.mp4", seconds=1.0).read_bytes()
    for name in GOOD:
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)
        (inputs / name).write_bytes(clip)
    (inputs / "corrupt.mp4").write_bytes(clip[:3000])   # the moov atom is at the end
    (inputs / "empty.mp4").write_bytes(b"")
    (inputs / "notes.mp4").write_text("These are my notes, not a video.\n")
    (inputs / "silent.mp4").write_bytes(make_silent_video(scratch / "silent.mp4").read_bytes())


def run_tutorial(folder: Path) -> TutorialRun:
    """Run every numbered notebook in fresh kernels against a localbatch of the run's own."""
    work, executed = folder / "work", folder / "executed"
    seed_inputs(work / "inputs", folder)
    state = StateDir(folder / "localbatch")
    env = {**os.environ, "LOCALBATCH_HOME": str(state.path), "BATCH_TARGET": "local",
           "BATCH_AUTH": "entra",   # Microsoft Entra ID, all the way: localbatch's own tokens
           "BATCH_NOTEBOOKS_WORKDIR": str(work),
           "BATCH_NOTEBOOKS_ENV_FILE": str(folder / "settings.env")}
    try:
        run = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"),
                              "--out", str(executed)], env=env, capture_output=True, text=True,
                             timeout=900, check=False)
        keys = state.keys() if (state.path / "keys.json").exists() else {}
    finally:
        subprocess.run([sys.executable, "-m", "localbatch", "down"], env=env, check=False,
                       capture_output=True)
    return TutorialRun(work, executed, state, keys, run)
