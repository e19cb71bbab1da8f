"""Hostile file names and broken media, as learners bring them, through the kit's task.

Why: a learner's own videos have names with spaces, quotes, `$(...)`, unicode or no extension,
and some files are broken. Every good one must become exactly one MP3 with the right name; every
bad one exactly one failed task whose exit code and stderr say why; and no name ever runs.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.batch import BatchClient
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from helpers.media import is_valid_mp3, make_sample_video
from helpers.timings import timing_table
from localbatch.statedir import StateDir
from tests.conftest import blob_read_url as read_url
from tests.conftest import container_url, wait_tasks
from tests.test_flow import WRITE, convert_task, download, upload
from tests.tutorial_run import INVALID, make_silent_video

ROOT = Path(__file__).resolve().parents[2]
MARKER = f"pwned-{uuid.uuid4().hex[:8]}"
GOOD = ["with  spaces (final).mp4", "it's \"both\" quotes.mp4", f"$(touch {MARKER}).mp4",
        f"`touch {MARKER}`.mp4", "café – naïve 🎵.mp4", "-leading dash.mp4",
        "several.dots.v2.final.mp4", "noext", "[1] take.mp4", "a/clip.mp4", "b/clip.mp4"]
BAD = {"truncated.mp4": INVALID, "zero-byte.mp4": INVALID, "text-as-video.mp4": INVALID,
       "no audio.mp4": "Output file does not contain any stream"}
"""Each broken input and what this ffmpeg's stderr says about it."""


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One good clip and the four broken files, by the name each is uploaded as."""
    folder = tmp_path_factory.mktemp("media")
    clip = make_sample_video(folder / "clip.mp4", seconds=1.0)
    files = {name: clip for name in GOOD}
    files["truncated.mp4"] = folder / "truncated.mp4"
    files["truncated.mp4"].write_bytes(clip.read_bytes()[:3000])  # the moov atom is at the end
    files["zero-byte.mp4"] = folder / "zero-byte.mp4"
    files["zero-byte.mp4"].write_bytes(b"")
    files["text-as-video.mp4"] = folder / "notes.mp4"
    files["text-as-video.mp4"].write_text("These are my notes, not a video.\n")
    files["no audio.mp4"] = make_silent_video(folder / "silent.mp4")
    return files


def mp3_name(name: str) -> str:
    return os.path.splitext(name)[0] + ".mp3"


def test_names_and_media(batch: BatchClient, blobs: BlobServiceClient, endpoints: dict,
                         containers: dict, job: str, media: dict[str, Path], state: StateDir,
                         tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """All inputs in one job, as a learner's folder arrives: each ends as it should, alone."""
    names = upload(blobs, containers["input"], list(media.values()), list(media))
    output_url = container_url(blobs, endpoints, containers["output"], WRITE)
    by_id = {f"Task{i}": name for i, name in enumerate(names)}
    batch.create_tasks(job, [
        convert_task(task_id, read_url(blobs, endpoints, containers["input"], name),
                     output_url, f"{job}/{mp3_name(name)}") for task_id, name in by_id.items()])
    tasks = wait_tasks(batch, job, timeout=300)
    assert sorted(tasks) == sorted(by_id), "exactly one task per input"

    for task_id, name in by_id.items():
        info = tasks[task_id].execution_info
        stderr = b"".join(batch.download_task_file(job, task_id, "stderr.txt")).decode()
        if name in BAD:
            assert info.result == "failure" and info.exit_code not in (None, 0), name
            assert info.failure_info.code == "FailureExitCode", name
            assert BAD[name] in stderr, f"{name}: {stderr!r}"
            log = blobs.get_blob_client(containers["output"], f"logs/{task_id}/stderr.txt")
            assert log.download_blob().readall().decode() == stderr, "the kept copy of stderr"
        else:
            assert (info.result, info.exit_code, stderr) == ("success", 0, ""), name
        wd = {f.name for f in batch.list_task_files(job, task_id, recursive=True)
              if f.name.startswith("wd/")}
        assert wd <= {"wd/in.mp4", "wd/out.mp3"}, f"{name!r} left {wd}"

    made = sorted(b.name for b in blobs.get_container_client(containers["output"])
                  .list_blobs(name_starts_with=f"{job}/"))
    assert made == sorted(f"{job}/{mp3_name(n)}" for n in GOOD), "one MP3 per good input only"
    for name in made:
        assert is_valid_mp3(download(blobs, containers["output"], name, tmp_path)), name

    table = timing_table(batch.list_tasks(job)).set_index("task")
    for task_id, name in by_id.items():
        row, info = table.loc[task_id], tasks[task_id].execution_info
        assert row["result"] == ("failure" if name in BAD else "success"), name
        assert row["exit_code"] == info.exit_code, name

    ran = [*tmp_path_factory.getbasetemp().rglob(MARKER), *state.path.rglob(MARKER),
           *[folder / MARKER for folder in (ROOT, ROOT / "notebooks", Path.cwd())
             if (folder / MARKER).exists()]]
    assert not ran, "a file name ran as a command"


def test_expired_read_sas_is_blob_access_denied(batch: BatchClient, blobs: BlobServiceClient,
                                                endpoints: dict, containers: dict, job: str,
                                                media: dict[str, Path]) -> None:
    """A task that starts after its input's SAS expired fails clearly, without leaking it."""
    name = upload(blobs, containers["input"], [media["noext"]], [f"{job}/late.mp4"])[0]
    now = datetime.now(timezone.utc)
    sas = generate_blob_sas(endpoints["STORAGE_ACCOUNT_NAME"], containers["input"], name,
                            account_key=endpoints["STORAGE_ACCOUNT_KEY"],
                            permission=BlobSasPermissions(read=True),
                            start=now - timedelta(hours=2), expiry=now - timedelta(hours=1))
    expired = blobs.get_blob_client(containers["input"], name).url + "?" + sas
    output_url = container_url(blobs, endpoints, containers["output"], WRITE)
    batch.create_task(job, convert_task("late", expired, output_url, f"{job}/late.mp3"))
    info = wait_tasks(batch, job)["late"].execution_info
    assert info.result == "failure"
    failure = info.failure_info
    assert (failure.category, failure.code) == ("usererror", "BlobAccessDenied")
    told = failure.message + "".join(f"{d.name}={d.value}" for d in failure.details or [])
    assert "sig=" not in told and sas not in told, told
