"""The image catalogue `GET /supportedimages` answers with: a dated copy of the Linux images
Batch supports, each row with where it was read. Azure's own list changes; an account's
`list_supported_images` is the one to trust. Retired node agents (Ubuntu 18.04 in 2023,
20.04 on 2025-04-23) are not listed, as Batch no longer lists them."""

from __future__ import annotations

READ_ON = "2026-12-02"
# (publisher, offer, sku, node agent SKU, end of Batch support or None, source)
IMAGES: list[tuple[str, str, str, str, str | None, str]] = [
    ("canonical", "ubuntu-24_04-lts", "server", "batch.node.ubuntu 24.04", None,
     "Learn, Use Spot VMs with Batch workloads (batch-spot-vms, 2026-04-14): its pool example"),
    ("canonical", "ubuntu-24_04-lts", "server-gen1", "batch.node.ubuntu 24.04", None,
     "Azure-Samples/azure-batch-samples PR #327 (2026-07): the tutorial's sample, Gen1 VMs"),
    ("microsoft-dsvm", "ubuntu-hpc", "2404", "batch.node.ubuntu 24.04", None,
     "Azure/Batch#200: the migration target it names for microsoft-dsvm images"),
    ("canonical", "0001-com-ubuntu-server-jammy", "22_04-lts", "batch.node.ubuntu 22.04",
     "2027-06-30T00:00:00Z",
     ("Azure/Batch#200: support for batch.node.ubuntu 22.04 ends 2027-06-30 (unverified here: "
     "the offer and SKU, Canonical's Marketplace names)")),
]


def supported_images() -> list[tuple[str, dict]]:
    """The catalogue as the service lists it (key, BatchSupportedImage), in the table's order;
    every row is listed as verified (not checked row by row against an account)."""
    rows = []
    for number, (publisher, offer, sku, agent, end, _source) in enumerate(IMAGES):
        doc = {"nodeAgentSKUId": agent,
               "imageReference": {"publisher": publisher, "offer": offer, "sku": sku,
                                  "version": "latest"},
               "verificationType": "verified", "osType": "linux"}
        if end:
            doc["batchSupportEndOfLife"] = end
        rows.append((f"{number:04d}", doc))
    return rows
