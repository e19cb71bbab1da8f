"""The node agent on its own: whatever breaks while it runs a task becomes that task's failure."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from localbatch import node_agent, transfers
from localbatch.transfers import Failure


def agent(root: Path) -> node_agent.Agent:
    return node_agent.Agent(argparse.Namespace(
        root=str(root), node_id="node1", pool_id="pool", account_name="acct",
        account_url="http://127.0.0.1:9", bin_dir="", dedicated=True))


def test_an_unexpected_error_is_an_unknown_server_failure_without_its_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    def broken(resource_files: list, wd: Path) -> None:
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
