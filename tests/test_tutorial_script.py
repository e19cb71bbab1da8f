"""`make tutorial`'s script end to end: hostile names and a corrupt input, as a learner runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers.media import is_valid_mp3, make_sample_video
from localbatch.statedir import StateDir

ROOT = Path(__file__).resolve().parent.parent
GOOD = ["my talk (final).v2.mp4", "$(touch pwned).mp4", "it's \"quoted\".mp4"]


def test_script_converts_good_inputs_and_reports_the_corrupt_one(state: StateDir,
                                                                tmp_path: Path) -> None:
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    clip = make_sample_video(tmp_path / "clip.mp4", seconds=1.0)
    inputs.mkdir()
    for name in GOOD:
        (inputs / name).write_bytes(clip.read_bytes())
    (inputs / "corrupt.mp4").write_bytes(clip.read_bytes()[:3000])
    env = {**os.environ, "LOCALBATCH_HOME": str(state.path), "BATCH_TARGET": "local"}
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "tutorial.py"),
                          "--inputs", str(inputs), "--outputs", str(outputs), "--nodes", "2"],
                         env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         check=False)
    assert run.returncode == 1, run.stdout + run.stderr  # one input failed, and it says so
    assert "4 succeeded" not in run.stdout
    assert "All tasks done: 3 succeeded, 1 failed" in run.stdout
    failed = [line for line in run.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "exit=" in failed[0] and "exit=0" not in failed[0]
    assert "stderr:" in run.stdout and "Invalid data" in run.stdout
    made = sorted(p.name for p in outputs.iterdir())
    assert made == sorted(os.path.splitext(n)[0] + ".mp3" for n in GOOD)
    assert all(is_valid_mp3(outputs / name) for name in made)
    assert not (tmp_path / "pwned").exists()
    assert "Deleted pool LinuxFFmpegPool" in run.stdout
    keys = state.keys()
    assert keys["batch_key"] not in run.stdout + run.stderr
    assert keys["storage_key"] not in run.stdout + run.stderr
