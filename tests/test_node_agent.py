"""The node agent on its own: whatever breaks while it runs a task becomes that task's failure."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from localbatch import node_agent, transfers
from localbatch.transfers import Failure


def agent(root: Path) -> node_agent.Agent:
    return node_agent.Agent(argparse.Namespace(
        root=str(root), node_id="node1", pool_id="pool", account_name="acct",
        account_url="http://127.0.0.1:9", path_admin="/usr/bin:/bin", path_user="/usr/bin:/bin",
        apt_config="", dedicated=True))


def test_an_unexpected_error_is_an_unknown_server_failure_without_its_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    def broken(resource_files: list, wd: Path, stopped: object) -> None:
        raise RuntimeError("http://store/c/b?sig=SECRET")   # a bug, with a SAS in its message

    monkeypatch.setattr(transfers, "download_resource_files", broken)
    node = agent(tmp_path)
    with pytest.raises(Failure) as caught:
        asyncio.run(node.execute("job/task", {"commandLine": "/bin/true", "resourceFiles": []},
                                 tmp_path / "task", dict(node.base_env)))
    assert (caught.value.category, caught.value.code) == ("servererror", "Unknown")
    assert "RuntimeError" in caught.value.message
    log = capsys.readouterr().err
    assert "task job/task failed on the node: RuntimeError" in log
    assert "broken" in log   # where it failed
    assert "SECRET" not in caught.value.message + log


def test_a_command_runs_and_reports_its_exit_code(tmp_path: Path) -> None:
    node = agent(tmp_path)
    code = asyncio.run(node.execute("job/t", {"commandLine": "/bin/bash -c 'exit 7'"},
                                    tmp_path / "task", dict(node.base_env)))
    assert code == 7
    assert (tmp_path / "task" / "stdout.txt").exists()


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line holds marker (zombies have none)."""
    return [process.pid for process in psutil.process_iter(["cmdline"])
            if marker in "\0".join(process.info["cmdline"] or [])]   # None: gone, or not ours


def background(marker: str, flag: Path, then: str = "", leave_group: bool = False) -> str:
    """A task whose shell starts a marked child in the background (in a session of its own if
    leave_group) and goes on once it runs."""
    child = (f"{'setsid ' if leave_group else ''}{sys.executable} -c 'import pathlib, sys, time; "
             "pathlib.Path(sys.argv[1]).touch(); time.sleep(600)'")
    return (f"/bin/sh -c \"{child} {flag} {marker} & "
            f"while [ ! -e {flag} ]; do sleep 0.02; done; {then}\"")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through /proc")
@pytest.mark.parametrize("missing", [(), ("pidfd_open",), ("pidfd_open", "waitid")],
                         ids=["pidfd", "waitid", "wait"])   # Linux, other Unixes, older macOS
def test_a_background_child_ends_when_its_task_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: tuple[str, ...]) -> None:
    for name in missing:
        monkeypatch.delattr(os, name, raising=False)
    node = agent(tmp_path)
    marker = f"marker-{uuid.uuid4().hex}"
    code = asyncio.run(node.execute("job/bg", {"commandLine": background(
        marker, tmp_path / "flag", "echo started")}, tmp_path / "task", dict(node.base_env)))
    assert code == 0 and (tmp_path / "flag").exists()   # the child ran
    deadline = time.monotonic() + 5
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through /proc")
def test_sigterm_ends_the_running_tasks_and_their_children(tmp_path: Path) -> None:
    """What `localbatch down` sends: the agent kills every task's group before it exits."""
    marker = f"marker-{uuid.uuid4().hex}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "localbatch.node_agent", "--root", str(tmp_path),
         "--node-id", "n", "--pool-id", "p", "--account-name", "a", "--account-url", "u",
         "--path-admin", "/usr/bin:/bin", "--path-user", "/usr/bin:/bin", "--apt-config", ""],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(proc.stdout.readline()) == {"ev": "ready"}
        proc.stdin.write(json.dumps({"op": "run", "key": "j/t/1", "spec": {
            "taskDir": "t", "commandLine": background(marker, tmp_path / "flag", "sleep 600")}})
            + "\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["ev"] == "started"
        deadline = time.monotonic() + 10
        while len(processes_with(marker)) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_with(marker)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        deadline = time.monotonic() + 5
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_with(marker) == []
    finally:
        proc.kill()
        proc.wait()


SPLIT_CASES = ["", "a b", "  a\tb\n", "'a b' c", '"a \\" b"', "a\\ b", "'' x", '""',
               'a"b"\'c\'', '"\\x"', "\\\\", "a'b\"c'd", '"$HOME"']


def test_command_lines_split_as_shlex_does() -> None:
    rnd = random.Random(13)
    alphabet = " \t\n'\"\\ab$"
    texts = SPLIT_CASES + ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
                           for _ in range(20000)]
    for text in texts:
        try:
            expected: list[str] | str = shlex.split(text)
        except ValueError:
            expected = "ValueError"
        try:
            got: list[str] | str = node_agent.split_command_line(text)
        except ValueError:
            got = "ValueError"
        assert got == expected, text


def test_a_megabyte_command_line_splits_in_linear_time() -> None:
    """shlex took about 16 s on this; a linear split takes milliseconds."""
    word = "a" * (1 << 20)
    start = time.perf_counter()
    words = node_agent.split_command_line(f"/bin/echo {word} '{word}' \"{word}\"")
    assert words == ["/bin/echo", word, word, word]
    assert time.perf_counter() - start < 2


def test_an_unclosed_quote_is_a_command_line_failure(tmp_path: Path) -> None:
    node = agent(tmp_path)
    with pytest.raises(Failure) as caught:
        asyncio.run(node.execute("job/q", {"commandLine": "/bin/echo 'open"},
                                 tmp_path / "task", dict(node.base_env)))
    assert (caught.value.category, caught.value.code) == ("usererror", "CommandLineInvalid")
    assert "No closing quotation" in caught.value.message


def test_a_failure_after_the_process_ran_still_reports_the_task_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    def broken(*args) -> None:
        raise OSError("disk full while writing the upload log")

    monkeypatch.setattr(transfers, "upload_output_files", broken)
    asyncio.run(agent(tmp_path).run_task("job/t/1", {
        "taskDir": "t", "commandLine": "/bin/true", "outputFiles": [{"filePattern": "x"}]}))
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["ev"] for e in events] == ["started", "done"]
    assert events[-1]["failure"]["code"] == "Unknown"
    assert events[-1]["failure"]["category"] == "servererror"


def test_a_megabyte_command_line_fails_at_once_as_too_long_to_launch(tmp_path: Path) -> None:
    """No commandLine limit is documented; Linux refuses a single argument over 128 KiB."""
    node = agent(tmp_path)
    start = time.perf_counter()
    with pytest.raises(Failure) as caught:
        asyncio.run(node.execute("job/long", {"commandLine": "/bin/echo " + "a" * (1 << 20)},
                                 tmp_path / "task", dict(node.base_env)))
    assert time.perf_counter() - start < 2
    assert (caught.value.category, caught.value.code) == ("usererror", "CommandLaunchFailed")
    assert "Argument list too long" in caught.value.message
