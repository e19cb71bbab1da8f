"""A service killed outright loses nothing it acknowledged, and finishes its work after `up`;
`up` starts only what is down, Azurite before the service."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from azure.batch import BatchClient, models

from localbatch import control
from localbatch.control import LocalBatchError, down, up
from localbatch.statedir import StateDir, port_open
from tests.conftest import (
    alive,
    batch_client,
    nodes_ready,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)


def kill_service(state: StateDir) -> None:
    pid = state.pid("service")
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: state.pid("service") is None or not alive(pid), 10, "the service to die")


def test_job_survives_sigkill_between_create_job_and_create_tasks(own_state: StateDir) -> None:
    batch: BatchClient = batch_client(own_state.endpoints())
    pool_id, job_id = unique("pool"), unique("job")
    batch.create_pool(pool_options(pool_id, 1))
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    kill_service(own_state)
    up(own_state)
    assert batch.get_job(job_id).state == "active"
    assert batch.get_pool(pool_id).id == pool_id
    batch.create_tasks(job_id, [models.BatchTaskCreateOptions(id="t", command_line="/bin/true")])
    assert wait_tasks(batch, job_id)["t"].execution_info.result == "success"


def test_running_tasks_run_again_after_a_crash_and_complete_once(own_state: StateDir,
                                                                 tmp_path) -> None:
    """Tasks that were running go back to active without a retry counted; none runs twice to
    completion, and no process from before the crash is left."""
    batch = batch_client(own_state.endpoints())
    pool_id, job_id = unique("pool"), unique("job")
    batch.create_pool(pool_options(pool_id, 2))
    wait_for(lambda: nodes_ready(batch, pool_id, 2), what="two idle nodes")
    batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=pool_id)))
    runs = tmp_path / "runs"
    runs.mkdir()
    batch.create_tasks(job_id, [models.BatchTaskCreateOptions(
        id=f"t{i}", command_line=f"/bin/bash -c 'echo $$ >> {runs}/t{i}; sleep 2'")
        for i in range(2)])
    wait_for(lambda: batch.get_job_task_counts(job_id).task_counts.running == 2,
             what="two running tasks")
    wait_for(lambda: len(list(runs.iterdir())) == 2, what="both task processes to start")
    first_pids = [int((runs / f"t{i}").read_text().split()[0]) for i in range(2)]
    kill_service(own_state)
    wait_for(lambda: not any(alive(p) for p in first_pids), 10,
             "the killed service's task processes to end")
    up(own_state)
    tasks = wait_tasks(batch, job_id)
    for i in range(2):
        info = tasks[f"t{i}"].execution_info
        assert (info.result, info.retry_count) == ("success", 0)
        assert len((runs / f"t{i}").read_text().split()) == 2  # ran again, once
    counts = batch.get_job_task_counts(job_id).task_counts
    assert (counts.completed, counts.succeeded) == (2, 2)


def kill(state: StateDir, name: str) -> None:
    pid = state.pid(name)
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), 10, f"{name} to die")


def test_up_starts_only_what_is_down(own_state: StateDir) -> None:
    before = {name: own_state.pid(name) for name in ("service", "azurite")}
    kill(own_state, "service")
    up(own_state)
    assert own_state.pid("azurite") == before["azurite"]
    assert own_state.pid("service") not in (None, before["service"])
    service = own_state.pid("service")
    kill(own_state, "azurite")
    up(own_state)
    assert own_state.pid("service") == service
    assert own_state.pid("azurite") not in (None, before["azurite"])
    assert control.running(own_state) == {"batch": True, "blob": True}


def test_the_service_starts_once_azurite_answers(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Its recovery restarts the nodes at once, and their tasks upload: Azurite must be up."""
    state = StateDir(tmp_path / "state")
    spawned: list[tuple[str, bool]] = []
    spawn = control._spawn

    def recording(state: StateDir, name: str, argv: list[str]):
        spawned.append((name, port_open(state.ports()["blob"])))
        return spawn(state, name, argv)

    monkeypatch.setattr(control, "_spawn", recording)
    try:
        up(state)
    finally:
        down(state)
    assert spawned == [("azurite", False), ("service", True)]


def test_a_retry_window_that_is_not_seconds_stops_up_before_anything_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALBATCH_TRANSFER_RETRY_SECONDS", "2 minutes")
    state = StateDir(tmp_path / "state")
    with pytest.raises(LocalBatchError, match="LOCALBATCH_TRANSFER_RETRY_SECONDS must be a "
                                              "number of seconds, 0 or more .it is '2 minutes'"):
        up(state)
    assert not state.path.exists()
