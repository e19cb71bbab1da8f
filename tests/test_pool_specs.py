"""Pool specs that programs written for Azure send: the ones a local node can honour are kept
and come back on get_pool; the ones it cannot (containers, mounts, a subnet) are refused with a
400 that names the property and says why."""

from __future__ import annotations

import logging

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError

from tests.conftest import (
    delete_pool,
    job_on,
    nodes_ready,
    pool_options,
    unique,
    wait_for,
    wait_tasks,
)
from tests.raw_rest import values_of

PASSWORD = "Pa55-word-never-shown"


def refusal(call) -> dict[str, str]:
    with pytest.raises(HttpResponseError) as info:
        call()
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidPropertyValue"
    return values_of(info.value)


def test_user_accounts_are_kept_without_their_passwords(
        batch: BatchClient, caplog: pytest.LogCaptureFixture) -> None:
    pool_id = unique("users")
    options = pool_options(pool_id, 1)
    options.user_accounts = [
        models.UserAccount(name="worker", password=PASSWORD),
        models.UserAccount(name="boss", password=PASSWORD,
                           elevation_level=models.ElevationLevel.ADMIN)]
    caplog.set_level(logging.DEBUG)
    batch.create_pool(options)
    try:
        pool = batch.get_pool(pool_id)
        assert [(a.name, a.elevation_level, a.password) for a in pool.user_accounts] == [
            ("worker", "nonadmin", None), ("boss", "admin", None)]
        wait_for(lambda: nodes_ready(batch, pool_id, 1), what="the node")
        with job_on(batch, pool_id) as job_id:
            for name in ("worker", "boss"):
                batch.create_task(job_id, models.BatchTaskCreateOptions(
                    id=name, command_line="/bin/bash -c 'apt-get install -y ffmpeg'",
                    user_identity=models.UserIdentity(username=name)))
            tasks = wait_tasks(batch, job_id)
        assert tasks["worker"].execution_info.exit_code == 100   # not root: no apt-get
        assert tasks["boss"].execution_info.exit_code == 0       # an admin account
    finally:
        delete_pool(batch, pool_id)
    assert PASSWORD not in caplog.text


def test_network_configuration_without_a_subnet_is_kept(batch: BatchClient) -> None:
    pool_id = unique("net")
    options = pool_options(pool_id, 0)
    options.network_configuration = models.NetworkConfiguration(
        endpoint_configuration=models.BatchPoolEndpointConfiguration(inbound_nat_pools=[
            models.BatchInboundNatPool(name="ssh", protocol="tcp", backend_port=22,
                                       frontend_port_range_start=15000,
                                       frontend_port_range_end=15099)]))
    batch.create_pool(options)
    try:
        nat = batch.get_pool(pool_id).network_configuration.endpoint_configuration
        assert [(p.name, p.backend_port) for p in nat.inbound_nat_pools] == [("ssh", 22)]
    finally:
        delete_pool(batch, pool_id)


def test_a_subnet_is_refused_as_one_the_account_cannot_use(batch: BatchClient) -> None:
    options = pool_options(unique("subnet"), 0)
    options.network_configuration = models.NetworkConfiguration(
        subnet_id="/subscriptions/0/resourceGroups/g/providers/Microsoft.Network/"
                  "virtualNetworks/v/subnets/s")
    values = refusal(lambda: batch.create_pool(options))
    assert values["PropertyName"] == "subnetId"
    assert "virtual networks" in values["Reason"]


def test_containers_are_refused_and_say_why(batch: BatchClient, idle_job: str) -> None:
    options = pool_options(unique("docker"), 0)
    options.virtual_machine_configuration.container_configuration = \
        models.BatchContainerConfiguration(type=models.ContainerType.DOCKER_COMPATIBLE,
                                           container_image_names=["ubuntu"])
    values = refusal(lambda: batch.create_pool(options))
    assert values["PropertyName"] == "containerConfiguration"
    assert "does not run containers" in values["Reason"]
    values = refusal(lambda: batch.create_task(idle_job, models.BatchTaskCreateOptions(
        id="in-a-box", command_line="/bin/true",
        container_settings=models.BatchTaskContainerSettings(image_name="ubuntu"))))
    assert values["PropertyName"] == "containerSettings"
    assert "does not run containers" in values["Reason"]


def test_a_mount_is_refused_and_says_why(batch: BatchClient) -> None:
    options = pool_options(unique("mount"), 0)
    options.mount_configuration = [models.MountConfiguration(
        nfs_mount_configuration=models.NfsMountConfiguration(source="10.0.0.4:/x",
                                                             relative_mount_path="x"))]
    values = refusal(lambda: batch.create_pool(options))
    assert values["PropertyName"] == "mountConfiguration"
    assert "does not mount file systems" in values["Reason"]
