"""`python -m localbatch preempt-node POOL NODE`: take a Spot node back, as Azure may at any time.

Not a Batch API operation, and Azure offers none (eviction cannot be forced there): a request
to localbatch's own path /localbatch/pools/{pool}/nodes/{node}/preempt, signed with the
account key as the SDK signs its requests. The service then moves the node to `preempted` and
requeues its running tasks (localbatch/pools.py).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from . import API_VERSION, auth, tls, wire
from .control import LocalBatchError
from .killnode import check_node_command
from .statedir import StateDir


def preempt_node(state: StateDir, pool_id: str, node_id: str) -> None:
    """Preempt one Spot node, or LocalBatchError with the service's reason."""
    check_node_command(state, pool_id, node_id)
    endpoints = state.endpoints()
    url = (f"{endpoints['BATCH_ACCOUNT_URL']}/localbatch/pools/{quote(pool_id)}/nodes/"
           f"{quote(node_id)}/preempt?api-version={API_VERSION}")
    parts = urlsplit(url)
    headers = {"ocp-date": wire.rfc1123(wire.now()), "content-length": "0",
               "content-type": "application/json; odata=minimalmetadata"}
    text = auth.string_to_sign("POST", parts.path, parts.query, headers,
                               endpoints["BATCH_ACCOUNT_NAME"])
    headers["Authorization"] = (f"SharedKey {endpoints['BATCH_ACCOUNT_NAME']}:"
                                f"{auth.sign(endpoints['BATCH_ACCOUNT_KEY'], text)}")
    context = None
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=str(tls.Files(state.path / "tls").ca))
    request = urllib.request.Request(url, method="POST", headers=headers, data=b"")
    try:
        with urllib.request.urlopen(request, timeout=30, context=context):
            return
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read())
            reason = f"{error['code']}: {error['message']['value']}"
        except (ValueError, KeyError, TypeError):
            reason = f"HTTP {exc.code}"
        raise LocalBatchError(f"localbatch refused to preempt node {node_id!r} of pool "
                              f"{pool_id!r} ({reason}); `batch.list_nodes({pool_id!r})` lists "
                              "its nodes.") from None
    except OSError as exc:
        raise LocalBatchError(f"localbatch did not answer ({exc}).") from None
