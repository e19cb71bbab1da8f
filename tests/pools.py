"""The tutorial's pool options, for the tests and the benchmarks (bench/ imports it from here);
the notebooks keep theirs in plain view, and helpers/ holds only what the notebooks import."""

from __future__ import annotations

from azure.batch import models


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
