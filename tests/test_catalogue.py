"""The image catalogue (GET /supportedimages) and node counts (GET /nodecounts), through the SDK."""

from __future__ import annotations

import pytest
from azure.batch import BatchClient, models

from localbatch import catalogue
from tests.conftest import pool_on, wait_for


@pytest.mark.conformance
def test_the_catalogue_lists_the_tutorials_image(batch: BatchClient) -> None:
    images = list(batch.list_supported_images(filter="osType eq 'linux'"))
    assert images and all(image.os_type == "linux" for image in images)
    tutorial = [image for image in images if image.image_reference.offer == "ubuntu-24_04-lts"
                and image.image_reference.sku == "server-gen1"]
    assert [image.node_agent_sku_id for image in tutorial] == ["batch.node.ubuntu 24.04"]


@pytest.mark.conformance
def test_the_catalogue_filters_on_the_node_agent_and_verification(batch: BatchClient) -> None:
    agent = list(batch.list_supported_images(filter="nodeAgentSKUId eq 'batch.node.ubuntu 22.04'"))
    assert agent and {image.node_agent_sku_id for image in agent} == {"batch.node.ubuntu 22.04"}
    assert all(image.batch_support_end_of_life is not None for image in agent)
    verified = list(batch.list_supported_images(filter="verificationType eq 'verified'"))
    assert verified and all(image.verification_type == "verified" for image in verified)
    assert list(batch.list_supported_images(filter="osType eq 'windows'")) == []


def test_every_catalogue_row_says_where_it_was_read() -> None:
    assert catalogue.READ_ON == "2026-12-02"
    for *_, source in catalogue.IMAGES:
        assert len(source) > 20
    retired = {"batch.node.ubuntu 18.04", "batch.node.ubuntu 20.04"}
    assert not retired & {agent for _, _, _, agent, _, _ in catalogue.IMAGES}


def test_the_catalogue_pages(batch: BatchClient) -> None:
    pages = batch.list_supported_images(max_results=2).by_page()
    first = list(next(pages))
    assert len(first) == 2
    assert len(first) + sum(len(list(page)) for page in pages) == len(catalogue.IMAGES)


@pytest.mark.conformance
def test_node_counts_count_each_pools_nodes_by_state(batch: BatchClient) -> None:
    with pool_on(batch, "counts", 2) as pool_id:
        counts = list(batch.list_pool_node_counts(filter=f"poolId eq '{pool_id}'"))
        assert [c.pool_id for c in counts] == [pool_id]
        dedicated, spot = counts[0].dedicated, counts[0].low_priority
        assert (dedicated.idle, dedicated.total) == (2, 2)
        assert (spot.total, spot.idle) == (0, 0)
        assert dedicated.start_task_failed == dedicated.running == 0


def test_node_counts_keep_spot_nodes_apart(batch: BatchClient) -> None:
    """Spot nodes are counted under lowPriority, the wire name the recordings show."""
    with pool_on(batch, "spotcount", 0) as pool_id:
        batch.begin_resize_pool(pool_id, models.BatchPoolResizeOptions(
            target_dedicated_nodes=0, target_low_priority_nodes=1), polling_interval=0.1).result()

        def counts() -> models.BatchPoolNodeCounts:
            return next(iter(batch.list_pool_node_counts(filter=f"poolId eq '{pool_id}'")))

        wait_for(lambda: counts().low_priority.idle == 1, what="one idle Spot node")
        assert (counts().dedicated.total, counts().low_priority.total) == (0, 1)
