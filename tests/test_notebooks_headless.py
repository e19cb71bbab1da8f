"""`make tutorial`'s runner end to end: hostile file names and a corrupt video, as a learner's
own inputs, through notebooks 00-08 in fresh kernels."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from helpers.media import is_valid_mp3, make_sample_video
from localbatch.statedir import StateDir

ROOT = Path(__file__).resolve().parent.parent
GOOD = ["my talk (final).v2.mp4", "$(touch pwned).mp4", "it's \"quoted\".mp4", "[1] `tick`.mp4",
        "-leading dash.mp4", "noext", "sub/clip.mp4", "other/clip.mp4"]


def outputs_text(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join(json.dumps(cell.get("outputs", []), ensure_ascii=False) for cell in cells)


def test_hostile_inputs_through_the_notebooks(tmp_path: Path) -> None:
    work, executed = tmp_path / "work", tmp_path / "executed"
    clip = make_sample_video(tmp_path / "clip.mp4", seconds=1.0)
    for name in GOOD:
        target = work / "inputs" / (name if name != "noext" else "noext.mp4")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(clip.read_bytes())
    (work / "inputs" / "corrupt.mp4").write_bytes(clip.read_bytes()[:3000])
    state = StateDir(tmp_path / "localbatch")
    env = {**os.environ, "LOCALBATCH_HOME": str(state.path), "BATCH_TARGET": "local",
           "BATCH_NOTEBOOKS_WORKDIR": str(work),
           "BATCH_NOTEBOOKS_ENV_FILE": str(tmp_path / "settings.env")}
    try:
        run = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"),
                              "--out", str(executed)], env=env, capture_output=True, text=True,
                             timeout=600, check=False)
    finally:
        subprocess.run([sys.executable, "-m", "localbatch", "down"], env=env, check=False,
                       capture_output=True)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert f"MP3 files:          {work / 'mp3'}" in run.stdout

    monitor = outputs_text(executed / "06_monitor_tasks.ipynb")
    assert "8 succeeded, 1 failed" in monitor
    assert re.search(r"✗ Task\d+ failed; its stderr:\\n.*Invalid data found", monitor)
    mp3s = sorted(p.relative_to(work / "mp3").as_posix() for p in (work / "mp3").rglob("*.mp3"))
    expected = sorted(os.path.splitext(n if n != "noext" else "noext.mp4")[0] + ".mp3"
                      for n in GOOD)
    assert mp3s == expected
    assert all(is_valid_mp3(work / "mp3" / name) for name in mp3s)
    assert not list(tmp_path.rglob("pwned")) and not (ROOT / "notebooks" / "pwned").exists()
    cleanup = outputs_text(executed / "08_cleanup.ipynb")
    assert "job 'LinuxFFmpegJob', pool 'LinuxFFmpegPool'" in cleanup
    keys = state.keys()
    for notebook in executed.glob("*.ipynb"):
        text = notebook.read_text()
        assert keys["batch_key"] not in text and keys["storage_key"] not in text, notebook.name
        assert "sig=" not in text, notebook.name
