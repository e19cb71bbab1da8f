"""Grade a learner's practice copies: `make grade NOTEBOOKS=DIR` (scripts/grade.py DIR).

Runs the folder's numbered notebooks headless, in order, against a fresh local service of its
own (no account, no keys: collect notebooks, never .env files), then reads every exercise's
check cell (id `ex-NN-NAME-check`) and prints one line per exercise and the total. A cell that
fails does not stop the run, so one broken cell fails its own exercise, not the rest. Exits 0
only when every exercise is done.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

import localbatch.lean_imports  # noqa: F401 (before nbformat: jsonschema without the IRI grammar)

# isort: split
import nbformat
from nbclient import NotebookClient

CHECK_ID = re.compile(r"ex-(\d\d)-.+-check")
PRACTICE = "[0-9][0-9]_*.ipynb"


class GradeError(RuntimeError):
    """The folder cannot be graded; the message says why and what to do."""


def practice_copies(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise GradeError(f"{folder} is not a folder: put one learner's practice copies (the "
                         "NN_name.ipynb files from outputs/handouts/practice/, filled in) in a "
                         "folder of their own, and give that folder.")
    found = sorted(folder.glob(PRACTICE))
    if not found:
        raise GradeError(f"{folder} holds no practice copy (no NN_name.ipynb file): collect the "
                         "learner's notebooks from their outputs/handouts/practice/ folder.")
    return found


def checks(notebook: nbformat.NotebookNode, number: str) -> list[tuple[bool, str]]:
    """(done, line) for each check cell of an executed notebook, in order."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or not CHECK_ID.fullmatch(cell.get("id", "")):
            continue
        lines = [line for output in cell.get("outputs", []) if output.get("name") == "stdout"
                 for line in output.get("text", "").splitlines()]
        verdict = next((line for line in lines if line[:1] in ("✓", "✗")), None)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if verdict is None:
            why = f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else "it printed nothing"
            verdict = f"✗ {cell['id']}: the check did not run ({why})"
        found.append((verdict.startswith("✓"), f"{verdict[0]} {number} {verdict[2:]}"))
    return found


def run(path: Path, timeout: int) -> nbformat.NotebookNode:
    """The notebook executed in its own folder's stead (a temp copy's), errors kept in cells."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def grade(folder: Path, timeout: int = 600) -> tuple[list[tuple[bool, str]], int]:
    """Every exercise's (done, line), after running the copies against a fresh service."""
    from localbatch.control import down, state_dir
    results = []
    with tempfile.TemporaryDirectory(prefix="batch-notebooks-grade-") as scratch:
        os.environ.update(LOCALBATCH_HOME=str(Path(scratch) / "localbatch"), BATCH_TARGET="local",
                          BATCH_NOTEBOOKS_WORKDIR=str(Path(scratch) / "work"),
                          BATCH_NOTEBOOKS_ENV_FILE=str(Path(scratch) / "settings.env"),
                          # 11's pool scales itself: its own service's clock, 60 times Azure's
                          LOCALBATCH_TIME_SCALE="60")
        for name in ("BATCH_AUTH", "BATCH_LEARNER_ID"):
            os.environ.pop(name, None)
        try:
            for path in practice_copies(folder):
                results += checks(run(path, timeout), path.name[:2])
        finally:
            down(state_dir(Path(scratch) / "localbatch"))
    return results, sum(done for done, _ in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path, help="one learner's folder of practice copies")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    try:
        results, done = grade(args.folder, args.timeout)
    except GradeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for _, line in results:
        print(line)
    print(f"{done} of {len(results)} exercises done")
    return 0 if results and done == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
