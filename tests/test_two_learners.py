"""A class on one account: two learners run 00–08 at the same time against one local service,
each with a learner id, a work folder and a settings file of their own. Each gets their own
MP3s, and 08 leaves neither learner's pool, job or input container behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from helpers.media import make_sample_video
from localbatch.control import down, up
from localbatch.statedir import StateDir
from tests.conftest import batch_client, trusted
from tests.tutorial_run import ROOT


def start(learner: str, folder: Path, state: StateDir) -> subprocess.Popen:
    env = {**os.environ, "LOCALBATCH_HOME": str(state.path), "BATCH_TARGET": "local",
           "BATCH_AUTH": "key", "BATCH_LEARNER_ID": learner,
           "BATCH_NOTEBOOKS_WORKDIR": str(folder / "work"),
           "BATCH_NOTEBOOKS_ENV_FILE": str(folder / "settings.env")}
    names = sorted(p.name for p in (ROOT / "notebooks").glob("0[0-8]_*.ipynb"))
    return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"),
                             "--out", str(folder / "executed"), *names], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_learners_on_one_account_keep_to_their_own(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "localbatch")
    up(state)
    try:
        own = tmp_path / "bo" / "work" / "inputs"   # bo brought two videos of his own, as 02 invites
        for name in ("talk.mp4", "demo.mp4"):
            make_sample_video(own / name, seconds=1)
        runs = {learner: start(learner, tmp_path / learner, state) for learner in ("ana", "bo")}
        done = {learner: run.communicate(timeout=600) for learner, run in runs.items()}
        for learner, run in runs.items():
            assert run.returncode == 0, f"{learner}: {done[learner][1][-3000:]}"
        mp3s = {learner: sorted(p.name for p in (tmp_path / learner / "work" / "mp3").rglob("*.mp3"))
                for learner in runs}
        assert mp3s["ana"] == [f"LowPriVMs-{i}.mp3" for i in range(1, 6)]
        assert mp3s["bo"] == ["demo.mp3", "talk.mp3"]
        batch = batch_client(trusted(state).endpoints())
        assert list(batch.list_pools()) == [] and list(batch.list_jobs()) == []
        endpoints = state.endpoints()
        store = BlobServiceClient(endpoints["STORAGE_BLOB_URL"], credential={
            "account_name": endpoints["STORAGE_ACCOUNT_NAME"],
            "account_key": endpoints["STORAGE_ACCOUNT_KEY"]})
        assert sorted(c.name for c in store.list_containers()) == ["ana-output", "bo-output"]
    finally:
        down(state)
