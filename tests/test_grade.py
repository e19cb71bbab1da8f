"""`make grade NOTEBOOKS=DIR`: a learner's practice copies run headless against a fresh local
service, one line per exercise and the total, read from the exercises' check cells."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.tutorial_run import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from build_handouts import practice_copy
from grade import CHECK_ID

GRADE = ROOT / "scripts" / "grade.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def check_cells() -> list[str]:
    return [cell["id"] for path in NOTEBOOKS for cell in json.loads(path.read_text())["cells"]
            if CHECK_ID.fullmatch(cell.get("id", ""))]


def practice(folder: Path, numbers: str, answers: dict[str, str] | None = None) -> Path:
    """Practice copies of the notebooks whose number is in `numbers`, as make handouts writes
    them, with `answers` typed into the learners' cells (by cell id)."""
    folder.mkdir()
    for path in NOTEBOOKS:
        if path.name[:2] in numbers:
            copy = practice_copy(nbformat.read(path, as_version=4))
            for cell in copy.cells:
                if cell.get("id") in (answers or {}):
                    cell.source = answers[cell["id"]]
            nbformat.write(copy, folder / path.name)
    return folder


def grade(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GRADE), str(folder)], capture_output=True,
                          text=True, timeout=600, check=False)


def solution(cell_id: str) -> str:
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell.get("id") == cell_id:
                return "".join(cell["source"])
    raise KeyError(cell_id)


def test_every_exercise_has_its_cells_named_together() -> None:
    found = check_cells()
    assert found, "no exercise has a check cell yet"
    ids = {cell.get("id") for path in NOTEBOOKS for cell in json.loads(path.read_text())["cells"]}
    for check in found:
        exercise = check.removesuffix("-check")
        assert {exercise, f"{exercise}-solution"} <= ids, check


def test_empty_copies_fail_each_exercise_with_what_is_missing(tmp_path: Path) -> None:
    done = grade(practice(tmp_path / "ana", ("00", "01")))
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "✗ 00 the rounds of a job: define the function rounds",
        ("✗ 01 a wrong key is refused: keep the error list_pools raised in wrong_key_error "
         "(status 403, AuthenticationFailed)"), "0 of 2 exercises done"]


def test_a_broken_cell_fails_its_own_exercise_and_the_rest_are_graded(tmp_path: Path) -> None:
    answers = {"ex-00-rounds": "def rounds(tasks, nodes, slots_per_node=1):\n    return 3",
               "ex-01-wrong-key": "raise RuntimeError('not yet')",
               "ex-04-auto-job": solution("ex-04-auto-job-solution")}
    done = grade(practice(tmp_path / "bo", ("00", "01", "02", "03", "04"), answers))
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "✗ 00 the rounds of a job: rounds(12, 4, 2) gives 3, not 2"
    assert lines[1].startswith("✗ 01 a wrong key is refused: keep the error")
    assert [line.split(":")[0] for line in lines[2:5]] == [
        "✗ 02 the videos still to upload", "✗ 03 the nodes listed with select",
        "✗ 03 a pool of dedicated nodes"]
    assert lines[5:] == ["✓ 04 a job that ends by itself", "1 of 6 exercises done"]


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_a_folder_without_practice_copies_gets_one_sentence(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "nothing"
    if kind == "empty":
        folder.mkdir()
        (folder / "notes.txt").write_text("my notes")
    done = grade(folder)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: {folder} ")
    assert ("is not a folder" if kind == "missing" else "holds no practice copy") in done.stderr
    assert "Traceback" not in done.stderr
