"""Run All in JupyterLab does not solve the exercises: a kernel that imported helpers runs a
closed solution cell (tagged `solution`, its code hidden, as JupyterLab's execute request says)
as a hint, and an opened one as written. A request without cell metadata (nbval, the headless
runs) runs the solution."""

from __future__ import annotations

import queue

import pytest
from jupyter_client.manager import start_new_kernel

from helpers.solutions import closed_solution, hint
from tests.tutorial_run import ROOT

SOLUTION = "print('the answer: 42')"
CLOSED = {"tags": ["solution"], "jupyter": {"source_hidden": True, "outputs_hidden": True}}


@pytest.fixture(scope="module")
def kernel():
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(ROOT / "notebooks"))
    try:
        assert run(client, "import helpers") == ""
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client, code: str, metadata: dict | None = None) -> str:
    """Send one execute request, as JupyterLab does (cell metadata in the message's metadata);
    return what it printed."""
    msg = client.session.msg("execute_request", {"code": code, "silent": False,
                                                 "store_history": True, "user_expressions": {},
                                                 "allow_stdin": False, "stop_on_error": True},
                             metadata=metadata or {})
    client.shell_channel.send(msg)
    printed = []
    while True:
        try:
            reply = client.get_iopub_msg(timeout=30)
        except queue.Empty:
            pytest.fail(f"no answer to {code!r}")
        if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        if reply["msg_type"] == "stream":
            printed.append(reply["content"]["text"])
        if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            return "".join(printed)


def test_a_closed_solution_runs_as_the_hint(kernel) -> None:
    assert run(kernel, SOLUTION, {**CLOSED, "cellId": "ex-01-wrong-key-solution"}) == hint() + "\n"


def test_an_opened_solution_runs_as_written(kernel) -> None:
    opened = {"tags": ["solution"], "jupyter": {"source_hidden": False, "outputs_hidden": True}}
    assert run(kernel, SOLUTION, opened) == "the answer: 42\n"


def test_other_cells_and_headless_requests_run(kernel) -> None:
    assert run(kernel, SOLUTION, {"jupyter": {"source_hidden": True}}) == "the answer: 42\n"
    assert run(kernel, SOLUTION) == "the answer: 42\n"


@pytest.mark.parametrize(("metadata", "closed"), [
    (CLOSED, True), ({"tags": ["solution"]}, False), ({"tags": ["x"], **CLOSED["jupyter"]}, False),
    ({"tags": None, "jupyter": None}, False), ({}, False)])
def test_closed_means_tagged_and_hidden(metadata: dict, closed: bool) -> None:
    assert closed_solution(metadata) is closed
