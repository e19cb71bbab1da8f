"""Pools and their nodes: resizing, a node's files, and the
environment its start task sees.

Only the REST API and blobs: `make test-live` runs these against Azure.
"""

from __future__ import annotations

import pytest
from azure.batch import BatchClient, models

from localbatch.control import down, up
from localbatch.statedir import StateDir
from tests.conftest import (
    START_ONLY,
    batch_client,
    delete_pool,
    nodes_ready,
    pool_options,
    trusted,
    unique,
    wait_for,
)
from tests.task_helpers import assert_no_service_secrets, parse_env

# -- pools and nodes ----------------------------------------------------------------------------

@pytest.mark.conformance
def test_resize_pool_up_and_down(batch: BatchClient) -> None:
    pool_id = unique("resize")
    start = models.BatchStartTask(command_line="/bin/echo ready", wait_for_success=True)
    batch.create_pool(pool_options(pool_id, 1, start))
    try:
        wait_for(lambda: nodes_ready(batch, pool_id, 1), what="one idle node")
        wait_for(lambda: batch.get_pool(pool_id).allocation_state == "steady", 60,
                 "the new pool to be steady")

        batch.begin_resize_pool(pool_id, models.BatchPoolResizeOptions(target_dedicated_nodes=2),
                                polling_interval=0.1).result()
        wait_for(lambda: nodes_ready(batch, pool_id, 2) and all(
            n.state == "idle" for n in batch.list_nodes(pool_id)), 60, "two idle nodes")
        pool = batch.get_pool(pool_id)
        assert pool.allocation_state == "steady"
        assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (2, 2)
        for listed in batch.list_nodes(pool_id):
            node = batch.get_node(pool_id, listed.id)
            assert node.state == "idle"
            assert node.is_dedicated is True
            info = node.start_task_info
            assert (info.state, info.result, info.exit_code) == ("completed", "success", 0)
            assert node.start_task.command_line == "/bin/echo ready"

        batch.begin_resize_pool(pool_id, models.BatchPoolResizeOptions(target_dedicated_nodes=1),
                                polling_interval=0.1).result()
        # steady means no change in the number of nodes is still in progress
        pool = batch.get_pool(pool_id)
        assert pool.allocation_state == "steady"
        assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (1, 1)
        assert len(list(batch.list_nodes(pool_id))) == 1
        wait_for(lambda: nodes_ready(batch, pool_id, 1), 60, "one idle node after shrinking")
    finally:
        delete_pool(batch, pool_id)


@pytest.mark.conformance
def test_node_files_show_the_node_layout(batch: BatchClient, start_pool: str) -> None:
    node = next(iter(batch.list_nodes(start_pool)))
    entries = {f.name: f for f in batch.list_node_files(start_pool, node.id, recursive=False)}
    assert {"shared", "startup", "workitems"} <= set(entries)
    assert all(entries[name].is_directory for name in ("shared", "startup", "workitems"))
    assert not any("/" in name for name in entries)  # not recursive
    props = batch.get_node_file_properties(start_pool, node.id, "startup/stdout.txt")
    stdout = b"".join(batch.download_node_file(start_pool, node.id, "startup/stdout.txt"))
    assert props.is_directory is False
    assert int(props.content_length) == len(stdout) > 0


@pytest.mark.conformance
def test_start_task_environment(batch: BatchClient, start_pool: str, endpoints: dict) -> None:
    node = next(iter(batch.list_nodes(start_pool)))
    raw = b"".join(batch.download_node_file(start_pool, node.id, "startup/stdout.txt")).decode()
    env = parse_env(raw)
    assert env["AZ_BATCH_NODE_ID"] == node.id
    assert env["AZ_BATCH_POOL_ID"] == start_pool
    assert env[START_ONLY] == "start"
    assert "AZ_BATCH_JOB_ID" not in env
    assert "AZ_BATCH_TASK_ID" not in env
    assert_no_service_secrets(env, raw, endpoints)


@pytest.mark.parametrize(("dedicated", "spot", "code"), [
    (2, 0, "AccountCoreQuotaReached"), (0, 2, "AccountLowPriorityCoreQuotaReached")])
def test_the_local_quota_names_dedicated_or_spot_cores(
        tmp_path, monkeypatch: pytest.MonkeyPatch, dedicated: int, spot: int, code: str) -> None:
    """Over LOCALBATCH_MAX_NODES, the pool stops short with the code Azure's table
    (PoolResizeErrorCodes) gives that kind of core quota."""
    monkeypatch.setenv("LOCALBATCH_MAX_NODES", "1")
    state = StateDir(tmp_path / "state")
    up(state)
    try:
        batch = batch_client(trusted(state).endpoints())
        options = pool_options("quota", 0)
        options.target_dedicated_nodes, options.target_low_priority_nodes = dedicated, spot
        batch.create_pool(options)
        wait_for(lambda: batch.get_pool("quota").allocation_state == "steady", 60, "a steady pool")
        pool = batch.get_pool("quota")
        assert [error.code for error in pool.resize_errors] == [code]
        assert pool.current_dedicated_nodes + pool.current_low_priority_nodes == 1
    finally:
        down(state)
