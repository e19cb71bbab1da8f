"""The tutorial's pool options, for the tests and the benchmarks (bench/ imports it from here);
the notebooks keep theirs in plain view, and helpers/ holds only what the notebooks import."""

from __future__ import annotations

from azure.batch import models

# Notebook 03's start task, the same on Azure and here: a node has no ffmpeg until it runs.
INSTALL_FFMPEG = ("/bin/bash -c 'export DEBIAN_FRONTEND=noninteractive && "
                  "apt-get -o DPkg::Lock::Timeout=300 update && "
                  "apt-get -o DPkg::Lock::Timeout=300 install -y ffmpeg'")


def install_ffmpeg(command_line: str = INSTALL_FFMPEG, retries: int = 3) -> models.BatchStartTask:
    """Notebook 03's start task (or another command line): as root, an admin auto-user."""
    return models.BatchStartTask(
        command_line=command_line, wait_for_success=True, max_task_retry_count=retries,
        user_identity=models.UserIdentity(auto_user=models.AutoUserSpecification(
            scope=models.AutoUserScope.POOL, elevation_level=models.ElevationLevel.ADMIN)))


def tutorial_pool(pool_id: str, nodes: int, slots: int = 1,
                  start_task: models.BatchStartTask | None = None
                  ) -> models.BatchPoolCreateOptions:
    """The tutorial's pool: Ubuntu 24.04 nodes of size Standard_A1_v2, all dedicated."""
    return models.BatchPoolCreateOptions(
        id=pool_id, vm_size="Standard_A1_v2",
        virtual_machine_configuration=models.VirtualMachineConfiguration(
            image_reference=models.BatchVmImageReference(
                publisher="canonical", offer="ubuntu-24_04-lts", sku="server-gen1",
                version="latest"),
            node_agent_sku_id="batch.node.ubuntu 24.04"),
        target_dedicated_nodes=nodes, task_slots_per_node=slots, start_task=start_task)
