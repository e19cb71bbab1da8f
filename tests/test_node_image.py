"""The local node image: no ffmpeg until a start task installs it with apt-get, as on a fresh
Ubuntu VM, and nothing of the host's changes (localbatch/image.py, image_apt.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from azure.batch import BatchClient, models

from localbatch import image, image_apt
from localbatch.control import down, up
from localbatch.statedir import StateDir
from tests.conftest import (
    batch_client,
    job_on,
    nodes_ready,
    pool_on,
    pool_options,
    trusted,
    unique,
    wait_for,
    wait_tasks,
)
from tests.pools import INSTALL_FFMPEG, install_ffmpeg


def fake_host(tmp_path: Path) -> str:
    """A host PATH whose first folder has its own ffmpeg and apt-get beside a tool of its own."""
    host_bin = tmp_path / "host-bin"
    host_bin.mkdir()
    for name, text in (("ffmpeg", "echo HOST FFMPEG"), ("apt-get", "echo HOST APT; exit 3"),
                       ("mytool", "echo my tool")):
        (host_bin / name).write_text(f"#!/bin/sh\n{text}\n")
        (host_bin / name).chmod(0o755)
    return os.pathsep.join([str(host_bin), "/usr/bin", "/bin"])


def on_node(built: image.Image, root: Path, script: str, admin: bool = True
            ) -> subprocess.CompletedProcess:
    """Run a shell script as a task of the node at root would (its PATH, APT_CONFIG, root)."""
    path = os.pathsep.join([str(image_apt.packages_dir(root) / "bin"),
                            built.path["admin" if admin else "user"]])
    env = {"PATH": path, "APT_CONFIG": built.apt_config, "AZ_BATCH_NODE_ROOT_DIR": str(root),
           "HOME": str(root)}
    return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture
def node(tmp_path: Path) -> tuple[image.Image, Path]:
    root = tmp_path / "nodes" / "pool" / "node1"
    root.mkdir(parents=True)
    return image.build(tmp_path / "image", fake_host(tmp_path)), root


def test_a_host_ffmpeg_does_not_show_through_but_its_other_tools_do(node) -> None:
    built, root = node
    run = on_node(built, root, "command -v ffmpeg || echo none; mytool; command -v apt-get")
    assert run.stdout.splitlines()[:2] == ["none", "my tool"]
    assert run.stdout.splitlines()[2].endswith("/image/admin/apt-get")


def test_the_start_task_installs_the_kits_ffmpeg_for_that_node_only(node, tmp_path: Path) -> None:
    built, root = node
    run = on_node(built, root, INSTALL_FFMPEG.removeprefix("/bin/bash -c ").strip("'"))
    assert run.returncode == 0, run.stderr
    assert "Setting up ffmpeg (local) ..." in run.stdout
    assert on_node(built, root, "ffmpeg -version").stdout.startswith("ffmpeg version")
    again = on_node(built, root, "apt-get install -y ffmpeg")
    assert "ffmpeg is already the newest version" in again.stdout
    other = tmp_path / "nodes" / "pool" / "node2"
    other.mkdir()
    assert on_node(built, other, "command -v ffmpeg || echo none").stdout == "none\n"


@pytest.mark.parametrize("command", [
    "apt-get update && apt-get install -y ffmpeg",
    "apt-get install -y -q --no-install-recommends ffmpeg",
    "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 -qq install -y ffmpeg",
    "sudo apt-get update && sudo apt-get install -y ffmpeg",
    "sudo -E apt install -y ffmpeg",
])
def test_what_real_start_tasks_write_is_accepted(node, command: str) -> None:
    built, root = node
    run = on_node(built, root, f"{command} && ffmpeg -version")
    assert run.returncode == 0, run.stderr
    assert "ffmpeg version" in run.stdout


def test_apt_warns_as_apt_does(node) -> None:
    run = on_node(*node, "apt install -y ffmpeg")
    assert run.returncode == 0
    assert "WARNING: apt does not have a stable CLI interface" in run.stderr


def test_a_package_the_image_does_not_carry_fails_as_apt_does(node) -> None:
    run = on_node(*node, "apt-get install -y imagemagick")
    assert run.returncode == 100
    assert run.stderr == "E: Unable to locate package imagemagick\n"
    assert run.stdout.endswith("Reading state information...\n")


def test_without_yes_apt_asks_and_a_task_cannot_answer(node) -> None:
    run = on_node(*node, "apt-get install ffmpeg")
    assert run.returncode == 1
    assert run.stdout.endswith("Do you want to continue? [Y/n] Abort.\n")


def test_an_option_apt_does_not_know_is_refused(node) -> None:
    run = on_node(*node, "apt-get --frobnicate install ffmpeg; apt-get -z install ffmpeg")
    assert run.stderr == (
        "E: Command line option --frobnicate is not understood in combination with the other "
        "options\nE: Command line option 'z' [from -z] is not understood in combination with "
        "the other options.\n")


@pytest.mark.parametrize(("command", "says"), [
    ("apt-get update", "lists/lock - open (13: Permission denied)"),
    ("apt-get install -y ffmpeg", "are you root?"),
    ("sudo apt-get install -y ffmpeg", "sudo: a password is required"),
])
def test_without_the_admin_elevation_apt_fails_as_for_a_user(node, command: str, says: str) -> None:
    built, root = node
    run = on_node(built, root, command, admin=False)
    assert run.returncode in (100, 1)
    assert says in run.stderr
    assert on_node(built, root, "command -v ffmpeg || echo none").stdout == "none\n"


@pytest.mark.skipif(not os.access("/usr/bin/apt-get", os.X_OK), reason="the host has no apt-get")
def test_the_hosts_apt_get_by_its_full_path_changes_nothing(node) -> None:
    built, root = node
    status = Path("/var/lib/dpkg/status")
    before = status.stat().st_mtime_ns if status.exists() else None
    update = on_node(built, root, "/usr/bin/apt-get update")
    install = on_node(built, root, "/usr/bin/apt-get install -y ffmpeg")
    assert update.returncode == 0, update.stderr
    assert install.returncode == 100
    assert "(13: Permission denied)" in install.stderr and "are you root?" in install.stderr
    assert (status.stat().st_mtime_ns if status.exists() else None) == before


def test_the_image_folder_is_the_owners_alone(node, tmp_path: Path) -> None:
    for shim in (tmp_path / "image").glob("*/apt-get"):
        assert shim.stat().st_mode & 0o077 == 0


@pytest.mark.conformance
def test_a_task_that_calls_ffmpeg_without_the_start_task_fails(batch: BatchClient) -> None:
    """No start task: the program is not there (CommandProgramNotFound, Learn's
    TaskFailureInformationCodes), and a shell says `command not found` (exit 127)."""
    with pool_on(batch, "bare", 1) as pool_id, job_on(batch, pool_id) as job_id:
        batch.create_tasks(job_id, [
            models.BatchTaskCreateOptions(id="direct", command_line="ffmpeg -version"),
            models.BatchTaskCreateOptions(id="shell", command_line="/bin/bash -c 'ffmpeg -version'"),
        ])
        tasks = wait_tasks(batch, job_id)
    assert tasks["direct"].execution_info.failure_info.code == "CommandProgramNotFound"
    assert tasks["shell"].execution_info.exit_code == 127


@pytest.mark.conformance
def test_a_start_task_without_admin_cannot_apt_get(batch: BatchClient) -> None:
    pool_id = unique("nonadmin")
    start = models.BatchStartTask(command_line=INSTALL_FFMPEG, wait_for_success=True)
    batch.create_pool(pool_options(pool_id, 1, start))
    try:
        wait_for(lambda: all(n.state == "starttaskfailed" for n in batch.list_nodes(pool_id))
                 and list(batch.list_nodes(pool_id)), what="a node whose start task failed")
        node = next(iter(batch.list_nodes(pool_id)))
        assert node.start_task_info.exit_code == 100
        stderr = b"".join(batch.download_node_file(pool_id, node.id, "startup/stderr.txt"))
        assert b"Permission denied" in stderr
    finally:
        batch.begin_delete_pool(pool_id, polling_interval=0.1).result()


AZURE_PROGRAM_START = install_ffmpeg(   # as a program written for Azure has it
    '/bin/bash -c "apt-get update && apt-get install -y ffmpeg"', retries=0)


@pytest.mark.conformance
@pytest.mark.parametrize("start", [install_ffmpeg(), AZURE_PROGRAM_START],
                         ids=["notebook 03's", "a program written for Azure"])
def test_a_start_task_that_installs_ffmpeg_then_ffmpeg_tasks(batch: BatchClient,
                                                              start: models.BatchStartTask) -> None:
    with pool_on(batch, "install", 1, start_task=start) as pool_id, \
            job_on(batch, pool_id) as job_id:
        batch.create_task(job_id, models.BatchTaskCreateOptions(
            id="version", command_line="/bin/bash -c 'ffmpeg -version | head -n 1'"))
        task = wait_tasks(batch, job_id)["version"]
        assert task.execution_info.exit_code == 0
        stdout = b"".join(batch.download_task_file(job_id, "version", "stdout.txt"))
        assert stdout.startswith(b"ffmpeg version")


def test_a_service_on_a_host_with_ffmpeg_hides_it_until_the_start_task(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's own PATH has an ffmpeg (as a host with `apt install ffmpeg` has); a node
    sees none, and after the start task sees the kit's."""
    monkeypatch.setenv("PATH", os.pathsep.join([fake_host(tmp_path), os.environ["PATH"]]))
    state = StateDir(tmp_path / "state")
    up(state)
    try:
        batch = batch_client(trusted(state).endpoints())
        with pool_on(batch, "hostff", 1) as bare, job_on(batch, bare) as job_id:
            batch.create_task(job_id, models.BatchTaskCreateOptions(
                id="which", command_line="/bin/bash -c 'command -v ffmpeg || echo none'"))
            wait_tasks(batch, job_id)
            assert b"".join(batch.download_task_file(job_id, "which", "stdout.txt")) == b"none\n"
        pool_id = unique("hostff")
        batch.create_pool(pool_options(pool_id, 1, install_ffmpeg()))
        wait_for(lambda: nodes_ready(batch, pool_id, 1), what="the node after its start task")
        with job_on(batch, pool_id) as job_id:
            batch.create_task(job_id, models.BatchTaskCreateOptions(
                id="version", command_line="ffmpeg -version"))
            wait_tasks(batch, job_id)
            out = b"".join(batch.download_task_file(job_id, "version", "stdout.txt"))
            assert out.startswith(b"ffmpeg version") and b"HOST" not in out
    finally:
        down(state)
