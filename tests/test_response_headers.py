"""Response headers as the real Batch service sends them: request ids, client request ids,
and the entity headers of a create.

Through the real SDK.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest

from tests.conftest import unique
from tests.raw_rest import API, ETAG

pytestmark = pytest.mark.conformance   # only the REST API: `make test-live` runs it on Azure


def headers_of(pipeline_response, deserialized, response_headers):
    """A `cls` callback for SDK calls: hand back the raw HTTP response."""
    return pipeline_response.http_response


# -- response headers ----------------------------------------------------------------------


def test_client_request_id_echoed_only_when_asked(batch: BatchClient, empty_pool: str) -> None:
    client_id = "0f2b8f7e-1111-4222-8333-123456789abc"
    asked = batch.get_pool(empty_pool, cls=headers_of, headers={
        "client-request-id": client_id, "return-client-request-id": "true"})
    assert asked.status_code == 200
    assert asked.headers["client-request-id"] == client_id
    not_asked = batch.get_pool(empty_pool, cls=headers_of,
                               headers={"client-request-id": client_id})
    assert "client-request-id" not in not_asked.headers
    plain = batch.get_pool(empty_pool, cls=headers_of)
    assert "client-request-id" not in plain.headers


def test_every_response_has_request_id_and_data_service_version(
        batch: BatchClient, empty_pool: str) -> None:
    responses = [batch.get_pool(empty_pool, cls=headers_of)]
    responses.append(batch.send_request(
        HttpRequest("GET", "/pools", params={"api-version": API})))
    with pytest.raises(ResourceNotFoundError) as info:
        batch.get_job(unique("nojob"))
    responses.append(info.value.response)
    request_ids = []
    for response in responses:
        assert response.headers["DataServiceVersion"] == "3.0"
        assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["request-id"])
        request_ids.append(response.headers["request-id"])
    assert len(set(request_ids)) == len(request_ids)


def test_create_answers_201_with_entity_headers_and_no_body(
        batch: BatchClient, empty_pool: str) -> None:
    job_id = unique("hdrjob")
    response = batch.create_job(models.BatchJobCreateOptions(
        id=job_id, pool_info=models.BatchPoolInfo(pool_id=empty_pool)), cls=headers_of)
    try:
        assert response.status_code == 201
        assert ETAG.match(response.headers["ETag"]), response.headers["ETag"]
        modified = parsedate_to_datetime(response.headers["Last-Modified"])
        assert abs((datetime.now(timezone.utc) - modified).total_seconds()) < 600
        assert response.headers["DataServiceId"].endswith(f"/jobs/{job_id}")
        assert response.headers["Location"].endswith(f"/jobs/{job_id}")
        assert response.headers["request-id"]
        assert response.headers["DataServiceVersion"] == "3.0"
        assert response.body() == b""
        job = batch.get_job(job_id)
        assert job.etag == response.headers["ETag"]
    finally:
        batch.begin_delete_job(job_id, polling_interval=0.1).result()
