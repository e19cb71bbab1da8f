"""An exercise's check: one line, ✓ and what was done, or ✗ and the one thing that is missing.
`make grade` (scripts/grade.py) reads these lines from the cells whose id ends in -check.

The checks that need more than a comparison find what is missing here, so that the notebook's
check cell stays one line a learner can read."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError

from helpers.language import tr
from helpers.media import probe

WAIT = 180  # seconds a check waits for a task the learner just added, before it says so


def check(done: str, ok: bool, missing: str) -> None:
    print(f"✓ {done}" if ok else f"✗ {done}: {missing}")


def wrong_answers(function: Callable | None, name: str, cases: dict[tuple, object]) -> str:
    """What is wrong with the learner's `function` on `cases` (arguments: answer), or ""."""
    if not callable(function):
        return tr("define the function {name}").format(name=name)
    for arguments, answer in cases.items():
        call = f"{name}({', '.join(map(repr, arguments))})"
        try:
            got = function(*arguments)
        except Exception as error:  # noqa: BLE001 (the learner's code: any error is an answer)
            return tr("{call} raised {error}").format(call=call, error=type(error).__name__)
        if got != answer:
            return tr("{call} gives {got!r}, not {answer!r}").format(call=call, got=got,
                                                                    answer=answer)
    return ""


def preview_problem(batch, blobs, settings, video: str, seconds: float) -> str:
    """What 05's preview still lacks, or "". Its task may still wait behind the tutorial's five:
    the check waits a while for it (not when the pool has no node to run it), then compares its
    MP3 with the video's first seconds."""
    job, container, task_id = settings.name("PreviewJob"), settings.name("preview"), "Preview0"
    try:
        task = batch.get_task(job, task_id)
        pool_id = batch.get_job(job).pool_info.pool_id
    except ResourceNotFoundError:
        return tr("add the task {task} to the job {job!r} (create the job first)").format(
            task=task_id, job=job)
    deadline = time.monotonic() + min(WAIT, settings.pace.task_timeout)
    while task.state != "completed" and time.monotonic() < deadline and _has_nodes(batch, pool_id):
        time.sleep(settings.pace.poll)
        task = batch.get_task(job, task_id)
    if task.state != "completed":
        return tr("{task} is still {state}: run this check again when the pool {pool!r} has run "
                  "it (03_create_pool shows its nodes)").format(task=task_id,
                                                                state=task.state.value,
                                                                pool=pool_id)
    if task.execution_info.result != "success":
        return tr("{task} failed with exit code {code}: read its stderr.txt "
                  "(batch.get_task_file)").format(task=task_id,
                                                  code=task.execution_info.exit_code)
    name = os.path.splitext(video)[0] + ".mp3"
    with tempfile.TemporaryDirectory() as folder:
        mp3, original = Path(folder) / "preview.mp3", Path(folder) / "video"
        try:
            mp3.write_bytes(blobs.get_blob_client(container, name).download_blob().readall())
        except ResourceNotFoundError:
            return tr("upload out.mp3 on success to the container {container!r} as {name!r}"
                      ).format(container=container, name=name)
        original.write_bytes(
            blobs.get_blob_client(settings.name("input"), video).download_blob().readall())
        got, whole = probe(mp3).duration, probe(original).duration
    expected = min(seconds, whole or seconds)  # a video shorter than the preview: all of it
    if got is None or abs(got - expected) > 0.5:
        return tr("the MP3 lasts {got} s, not {seconds:g}: put -t {seconds:g} before out.mp3"
                  ).format(got="?" if got is None else f"{got:.1f}", seconds=expected)
    return ""


def _has_nodes(batch, pool_id: str) -> bool:
    """Whether the pool has a node that runs tasks, or one on its way."""
    return any(node.state not in ("unusable", "starttaskfailed", "leavingpool", "offline")
               for node in batch.list_nodes(pool_id, select=["state"]))


def run_targets(run) -> dict[str, float]:
    """The numbers an AutoScaleRun's results set ("$TargetLowPriorityNodes=2;…"), by name."""
    values = {}
    for part in (getattr(run, "results", None) or "").split(";"):
        name, _, value = part.partition("=")
        try:
            values[name] = float(value)
        except ValueError:
            pass   # a vector, a time or a word: not a target
    return values
