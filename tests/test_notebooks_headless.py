"""`make tutorial`'s runner end to end (00 onwards, fresh kernels), on a learner's own inputs:
hostile file names and broken media. One run (tests/tutorial_run.py) serves every check."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pandas as pd

from helpers.media import is_valid_mp3
from helpers.timings import read_timings
from tests.test_grade import check_cells
from tests.test_notebook_files import TOKEN_LIKE
from tests.tutorial_run import BROKEN, GOOD, ROOT, TutorialRun

sys.path.insert(0, str(ROOT / "scripts"))
from grade import checks


def test_the_run_completes_and_says_where_the_results_are(tutorial_run: TutorialRun) -> None:
    run = tutorial_run.run
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert f"MP3 files:          {tutorial_run.work / 'mp3'}" in run.stdout
    ran = {line.split()[1] for line in run.stdout.splitlines() if line.startswith("✓ ")}
    numbered = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert ran == numbered, "every numbered notebook ran"


def test_every_good_name_becomes_one_mp3_and_no_name_runs(tutorial_run: TutorialRun) -> None:
    mp3 = tutorial_run.work / "mp3"
    made = sorted(p.relative_to(mp3).as_posix() for p in mp3.rglob("*.mp3"))
    assert made == sorted(os.path.splitext(name)[0] + ".mp3" for name in GOOD)
    assert all(is_valid_mp3(mp3 / name) for name in made)
    folder = tutorial_run.work.parent
    assert not list(folder.rglob("pwned")) and not (ROOT / "notebooks" / "pwned").exists()


def test_06_names_every_failed_task_with_its_stderr(tutorial_run: TutorialRun) -> None:
    """The learner's view: each broken input is one failed task, its exit code in 06's table
    and its stderr printed under it; no good input is reported failed."""
    monitor = tutorial_run.text("06_monitor_tasks.ipynb")
    total = len(GOOD) + len(BROKEN)
    assert f"{total} tasks completed: {len(GOOD)} succeeded, {len(BROKEN)} failed" in monitor
    assert f"✗ {len(BROKEN)} task(s) failed" in monitor
    table = read_timings(tutorial_run.work / "timings.csv")   # what 06 displayed, as it saved it
    ids = tutorial_run.task_ids()
    for name, says in BROKEN.items():
        task_id = ids[name]
        shown = re.search(rf"✗ {task_id} failed; its stderr:\n(.*?)(?=\n✗ |\Z)", monitor,
                          re.DOTALL)
        assert shown and says in shown.group(1), f"{name} ({task_id}): {monitor}"
        row = table.index[table["task"] == task_id][0]
        exit_code = table.loc[row, "exit_code"]
        assert table.loc[row, "result"] == "failure", name
        assert pd.notna(exit_code) and exit_code != 0, name
        assert re.search(rf"^{row}\s+{task_id}\s+completed\s+{exit_code}\s+failure\b", monitor,
                         re.MULTILINE), f"06's table shows {task_id}'s exit code and failure"
    for name in GOOD:
        assert f"✗ {ids[name]} failed" not in monitor, name


def test_08_cleans_up_after_failures(tutorial_run: TutorialRun) -> None:
    cleanup = tutorial_run.text("08_cleanup.ipynb")
    assert ("job 'LinuxFFmpegJob', job 'PreviewJob', pool 'LinuxFFmpegPool', container 'input', "
            "container 'preview'") in cleanup
    assert "✓ no pool left" in cleanup


def test_the_run_signs_in_with_microsoft_entra_id(tutorial_run: TutorialRun) -> None:
    settings = tutorial_run.text("01_authenticate.ipynb")
    assert "authentication:  Microsoft Entra ID" in settings
    assert "https://127.0.0.1:" in settings and "Batch key" not in settings


def test_no_key_token_or_signature_in_any_executed_notebook(tutorial_run: TutorialRun) -> None:
    keys = tutorial_run.keys
    secrets = [keys[name] for name in ("batch_key", "storage_key", "token_key",
                                       "identity_header")]
    assert all(secrets)
    notebooks = list(tutorial_run.executed.glob("*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        text = Path(notebook).read_text()
        assert not [secret for secret in secrets if secret in text], notebook.name
        assert "sig=" not in text, notebook.name
        assert not TOKEN_LIKE.search(text), notebook.name


def test_11_the_pool_follows_its_queue_and_a_preempted_task_runs_again(
        tutorial_run: TutorialRun) -> None:
    autoscale = tutorial_run.text("11_autoscale.ipynb")
    assert "times as fast as Azure's" in autoscale   # the faster clock is said
    assert "✓ the pool grew to 3 node(s) for its queue and shrank back to 0" in autoscale
    assert "Long0 is completed (success), on " in autoscale
    assert "400 AutoScalingFormulaSyntaxError: Line 1, Col 34" in autoscale


def test_12_the_podcast_waits_for_its_parts_and_a_failed_part_blocks(
        tutorial_run: TutorialRun) -> None:
    dependencies = tutorial_run.text("12_task_dependencies.ipynb")
    assert "podcast is active while the parts run" in dependencies
    assert "completed, success  completed, success" in dependencies   # prepared and released
    assert re.search(r"✓ one podcast of 5 parts \((\d+) s of \1\)", dependencies)
    assert "podcast is active and the job is active" in dependencies
    assert "✓ a podcast blocked by a failed part, and a job ended on purpose" in dependencies
    assert "podcast: success" in dependencies


def test_the_kits_own_solutions_pass_every_exercise(tutorial_run: TutorialRun) -> None:
    """The run executed the committed notebooks, solutions included: `make grade` finds every
    exercise done (scripts/grade.py reads the check cells)."""
    results = [result for path in sorted(tutorial_run.executed.glob("[0-9][0-9]_*.ipynb"))
               for result in checks(nbformat.read(path, as_version=4), path.name[:2])]
    assert len(results) == len(check_cells())
    assert [line for done, line in results if not done] == []
