"""Benchmark 4: the whole tutorial, notebooks 01 to 08, headless, as `make tutorial` runs it.

This is what a learner (or nbval in CI) waits for. scripts/run_notebooks.py --fresh runs them
in a subprocess with its own localbatch, work folder and settings, and stops the service after;
its temp folders and executed copies go to a folder of ours, removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Row

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [f"{n:02d}_" for n in range(1, 9)]
TARGET_S = 60


def one_run() -> tuple[float, dict[str, float]]:
    """Wall time of the run, and each notebook's own time as run_notebooks prints it."""
    names = [p.name for prefix in NOTEBOOKS for p in sorted((ROOT / "notebooks").glob(prefix + "*.ipynb"))]
    scratch = Path(tempfile.mkdtemp(prefix="bench-tutorial-"))
    try:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "run_notebooks.py"), "--fresh",
             "--out", str(scratch / "executed"), *names],
            check=False, cwd=ROOT, env={**os.environ, "TMPDIR": str(scratch)},
            capture_output=True, text=True)
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.returncode != 0:
        raise RuntimeError(f"run_notebooks failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    each = {m[1]: float(m[2]) for m in re.finditer(r"✓ (\S+)\s+([\d.]+) s", result.stdout)}
    return wall, each


def run(repeats: int = 1) -> list[Row]:
    runs = []
    for r in range(repeats):
        runs.append(one_run())
        print(f"  repeat {r + 1}: {runs[-1][0]:.1f} s")
    walls = sorted(w for w, _ in runs)
    wall = walls[len(walls) // 2]
    _, each = next(run for run in runs if run[0] == wall)
    slowest = sorted(each.items(), key=lambda kv: -kv[1])
    inside = sum(each.values())
    return [
        Row(f"Tutorial 01→08 headless (run_notebooks --fresh), wall, n={repeats}",
            f"{wall:.1f} s", f"< {TARGET_S} s", wall < TARGET_S),
        Row("… in the notebooks (each with its kernel's start) / around them",
            f"{inside:.1f} s / {wall - inside:.1f} s"),
        Row("… slowest notebooks", ", ".join(f"{n[:2]} {s:.1f} s" for n, s in slowest[:4])),
    ]
