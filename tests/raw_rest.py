"""Raw REST for the tests of what the service answers: requests signed with the SDK's own
BatchSharedKeyAuthPolicy (for requests the SDK cannot make), and the parts of an error answer."""

from __future__ import annotations

import re

import requests
from azure.batch._patch import BatchSharedKeyAuthPolicy
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

API = "2025-06-01"
ETAG = re.compile(r"^0x[0-9A-F]{15}$")


def signed_headers(endpoints: dict[str, str], method: str, url: str,
                   headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers with the Authorization the SDK's own shared-key policy computes."""
    request = HttpRequest(method, url, headers=dict(headers or {}))
    policy = BatchSharedKeyAuthPolicy(AzureNamedKeyCredential(
        endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_KEY"]))
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    return dict(request.headers)


def raw_get(endpoints: dict[str, str], path_and_query: str, headers: dict[str, str] | None = None,
            sign: bool = True) -> requests.Response:
    url = endpoints["BATCH_ACCOUNT_URL"].rstrip("/") + path_and_query
    headers = dict(headers or {})
    if sign:
        headers = signed_headers(endpoints, "GET", url, headers)
    return requests.get(url, headers=headers, timeout=30)


def error_code(response: requests.Response) -> str:
    return response.json()["code"]


def values_of(error: HttpResponseError) -> dict[str, str]:
    return {v.key: v.value for v in (error.model.error_values or [])}
