"""Authentication, errors and response headers as the real Batch service answers them.

Through the real SDK wherever it can send the request; raw HTTP (signed with the SDK's own
BatchSharedKeyAuthPolicy) only for requests the SDK cannot make.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests
from azure.batch import BatchClient, models
from azure.batch._patch import BatchSharedKeyAuthPolicy
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from tests.conftest import batch_client, delete_pool, job_on, pool_options, unique

pytestmark = pytest.mark.conformance   # only the REST API: `make test-live` runs it on Azure

API = "2025-06-01"
ETAG = re.compile(r"^0x[0-9A-F]{15}$")
TIME_SUFFIX = r"\nTime:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$"


# -- helpers -------------------------------------------------------------------------------


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


def headers_of(pipeline_response, deserialized, response_headers):
    """A `cls` callback for SDK calls: hand back the raw HTTP response."""
    return pipeline_response.http_response


@pytest.fixture(scope="module")
def empty_pool(batch: BatchClient) -> Iterator[str]:
    """A pool with no nodes: tasks added to its jobs stay active and cost nothing."""
    pool_id = unique("errpool")
    batch.create_pool(pool_options(pool_id, 0))
    yield pool_id
    delete_pool(batch, pool_id)


@pytest.fixture
def idle_job(batch: BatchClient, empty_pool: str) -> Iterator[str]:
    with job_on(batch, empty_pool, "errjob") as job_id:
        yield job_id


def trivial_task(task_id: str) -> models.BatchTaskCreateOptions:
    return models.BatchTaskCreateOptions(id=task_id, command_line="/bin/true")


# -- conflicts and missing entities ---------------------------------------------------------


def test_create_pool_twice_is_pool_exists(batch: BatchClient) -> None:
    pool_id = unique("dup")
    batch.create_pool(pool_options(pool_id, 0))
    try:
        with pytest.raises(ResourceExistsError) as info:
            batch.create_pool(pool_options(pool_id, 0))
        assert info.value.status_code == 409
        assert info.value.error.code == "PoolExists"
    finally:
        delete_pool(batch, pool_id)


def test_create_pool_differing_only_by_case_is_pool_exists(batch: BatchClient) -> None:
    """Ids are case-insensitively unique across the account (fidelity reference, 2.3)."""
    pool_id = unique("case")
    batch.create_pool(pool_options(pool_id, 0))
    try:
        with pytest.raises(ResourceExistsError) as info:
            batch.create_pool(pool_options(pool_id.upper(), 0))
        assert info.value.error.code == "PoolExists"
    finally:
        delete_pool(batch, pool_id)


def test_create_job_twice_is_job_exists(batch: BatchClient, idle_job: str, empty_pool: str) -> None:
    with pytest.raises(ResourceExistsError) as info:
        batch.create_job(models.BatchJobCreateOptions(
            id=idle_job, pool_info=models.BatchPoolInfo(pool_id=empty_pool)))
    assert info.value.status_code == 409
    assert info.value.error.code == "JobExists"
    assert info.value.error.message.startswith("The specified job already exists.\nRequestId:")


@pytest.mark.parametrize("what", ["job", "pool", "task"])
def test_missing_entity_is_not_found_with_request_id_in_message(
        batch: BatchClient, idle_job: str, what: str) -> None:
    """The message ends with the response's request-id and a 7-digit time, as Azure's does."""
    calls = {"job": (lambda: batch.get_job(unique("nojob")), "JobNotFound",
                     "The specified job does not exist."),
             "pool": (lambda: batch.get_pool(unique("nopool")), "PoolNotFound",
                      "The specified pool does not exist."),
             "task": (lambda: batch.get_task(idle_job, "no-such-task"), "TaskNotFound",
                      "The specified task does not exist.")}
    call, code, text = calls[what]
    with pytest.raises(ResourceNotFoundError) as info:
        call()
    error = info.value
    assert error.status_code == 404
    assert error.error.code == code
    request_id = error.response.headers["request-id"]
    message = error.model.message.value
    assert error.model.message.lang == "en-US"
    assert message.startswith(text)
    assert re.search(r"\nRequestId:" + re.escape(request_id) + TIME_SUFFIX, message), message


def test_get_task_of_missing_job_is_job_not_found(batch: BatchClient) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        batch.get_task(unique("nojob"), "t1")
    assert info.value.error.code == "JobNotFound"


# -- authentication ------------------------------------------------------------------------


def test_wrong_key_is_403_authentication_failed(endpoints: dict[str, str]) -> None:
    wrong_key = base64.b64encode(os.urandom(64)).decode()
    client = batch_client(endpoints, key=wrong_key)
    with pytest.raises(HttpResponseError) as info:
        client.get_pool(unique("any"))
    error = info.value
    assert error.status_code == 403
    assert error.error.code == "AuthenticationFailed"
    assert error.model.error_values[0].key == "AuthenticationErrorDetail"
    assert error.error.details[0].code == "AuthenticationErrorDetail"
    real_key = endpoints["BATCH_ACCOUNT_KEY"]
    texts = [str(error), error.message, error.response.text(), error.model.message.value,
             *(v.value for v in error.model.error_values)]
    assert not any(real_key in text for text in texts)
    assert not any(wrong_key in text for text in texts)


def test_no_authorization_header_is_400_invalid_authentication_info(
        endpoints: dict[str, str]) -> None:
    response = raw_get(endpoints, f"/pools?api-version={API}",
                       {"ocp-date": datetime.now(timezone.utc).strftime(
                           "%a, %d %b %Y %H:%M:%S GMT")}, sign=False)
    assert response.status_code == 400
    assert error_code(response) == "InvalidAuthenticationInfo"
    assert response.headers["DataServiceVersion"] == "3.0"
    assert response.headers["request-id"]


def test_bearer_authorization_is_400_invalid_authentication_info(
        endpoints: dict[str, str]) -> None:
    response = raw_get(endpoints, f"/pools?api-version={API}",
                       {"Authorization": "Bearer x", "ocp-date": datetime.now(
                           timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")}, sign=False)
    assert response.status_code == 400
    assert error_code(response) == "InvalidAuthenticationInfo"


def test_correctly_signed_raw_request_is_accepted(endpoints: dict[str, str]) -> None:
    """The raw-HTTP signing used below is right: the same request, fresh, succeeds."""
    response = raw_get(endpoints, f"/pools?api-version={API}")
    assert response.status_code == 200, response.text
    assert "value" in response.json()


def test_stale_ocp_date_is_403_authentication_failed(batch: BatchClient) -> None:
    """A correctly signed request whose ocp-date is 20 minutes old (the SDK keeps a given date)."""
    stale = datetime.now(timezone.utc) - timedelta(minutes=20)
    with pytest.raises(HttpResponseError) as info:
        batch.get_pool(unique("any"), ocp_date=stale)
    assert info.value.status_code == 403
    assert info.value.error.code == "AuthenticationFailed"


def test_stale_ocp_date_raw_is_403(endpoints: dict[str, str]) -> None:
    stale = (datetime.now(timezone.utc) - timedelta(minutes=20)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT")
    response = raw_get(endpoints, f"/pools?api-version={API}", {"ocp-date": stale})
    assert response.status_code == 403
    assert error_code(response) == "AuthenticationFailed"


def test_unknown_api_version_is_400_unsupported_request_version(
        endpoints: dict[str, str]) -> None:
    client = BatchClient(endpoints["BATCH_ACCOUNT_URL"], AzureNamedKeyCredential(
        endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_KEY"]),
        api_version="2099-01-01", retry_total=0)
    with pytest.raises(HttpResponseError) as info:
        client.get_pool(unique("any"))
    assert info.value.status_code == 400
    assert info.value.error.code == "UnsupportedRequestVersion"


def test_unknown_api_version_raw_is_400(endpoints: dict[str, str]) -> None:
    response = raw_get(endpoints, "/pools?api-version=2001-01-01.1")
    assert response.status_code == 400
    assert error_code(response) == "UnsupportedRequestVersion"


def test_missing_api_version_is_400(endpoints: dict[str, str]) -> None:
    response = raw_get(endpoints, "/pools")
    assert response.status_code == 400
    assert error_code(response) == "MissingRequiredQueryParameter"


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


# -- request validation --------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["has space", "x" * 65])
def test_bad_pool_id_is_invalid_property_value(batch: BatchClient, bad_id: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        batch.create_pool(pool_options(bad_id, 0))
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidPropertyValue"
    assert values_of(info.value)["PropertyName"] == "id"
    with pytest.raises(ResourceNotFoundError):
        batch.get_pool(bad_id)


def test_pool_id_of_64_characters_is_accepted(batch: BatchClient) -> None:
    """The boundary: 64 characters is the documented maximum."""
    pool_id = unique("p").ljust(64, "x")
    batch.create_pool(pool_options(pool_id, 0))
    try:
        assert batch.get_pool(pool_id).id == pool_id
    finally:
        delete_pool(batch, pool_id)


def test_task_without_command_line_is_missing_required_property(
        batch: BatchClient, idle_job: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        batch.create_task(idle_job, models.BatchTaskCreateOptions(id="nocmd"))
    assert info.value.status_code == 400
    assert info.value.error.code == "MissingRequiredProperty"
    assert values_of(info.value)["PropertyName"] == "commandLine"
    assert list(batch.list_tasks(idle_job)) == []


@pytest.mark.parametrize(("field", "bad_url"), [
    ("httpUrl", "input/clip.mp4"),
    ("httpUrl", "ftp://store.example/input/clip.mp4?sig=SECRET"),
    ("storageContainerUrl", "https:///input?sig=SECRET"),
    ("containerUrl", "http://store.example:port/output?sig=SECRET")])
def test_a_url_that_is_not_http_is_invalid_property_value_without_its_sas(
        batch: BatchClient, idle_job: str, field: str, bad_url: str) -> None:
    """A path or a typo where a SAS URL belongs is refused when the task is added, not left
    to fail on the node; the answer never repeats the SAS."""
    resource = models.ResourceFile(http_url=bad_url, file_path="in.mp4") \
        if field == "httpUrl" else models.ResourceFile(storage_container_url=bad_url)
    good = "https://store.example/output?sig=SECRET"
    output = models.OutputFile(
        file_pattern="out.mp3", upload_options=models.OutputFileUploadConfiguration(
            upload_condition="tasksuccess"),
        destination=models.OutputFileDestination(container=models.OutputFileBlobContainerDestination(
            container_url=bad_url if field == "containerUrl" else good)))
    task = models.BatchTaskCreateOptions(
        id="badurl", command_line="/bin/true", output_files=[output],
        resource_files=[] if field == "containerUrl" else [resource])
    with pytest.raises(HttpResponseError) as info:
        batch.create_task(idle_job, task)
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidPropertyValue"
    values = values_of(info.value)
    assert values["PropertyName"].endswith(field)
    assert "http or https URL" in values["Reason"]
    assert "SECRET" not in str(info.value) + str(values)
    assert list(batch.list_tasks(idle_job)) == []


def test_a_file_mode_that_is_not_octal_is_invalid_property_value(batch: BatchClient,
                                                                 idle_job: str) -> None:
    task = models.BatchTaskCreateOptions(id="badmode", command_line="/bin/true", resource_files=[
        models.ResourceFile(http_url="https://store.example/input/a.mp4?sig=x",
                            file_path="a.mp4", file_mode="rwx")])
    with pytest.raises(HttpResponseError) as info:
        batch.create_task(idle_job, task)
    assert info.value.error.code == "InvalidPropertyValue"
    assert values_of(info.value)["PropertyName"] == "resourceFiles[0].fileMode"
    assert list(batch.list_tasks(idle_job)) == []


# -- task collections ----------------------------------------------------------------------


def test_collection_of_101_tasks_is_413_request_body_too_large(
        batch: BatchClient, idle_job: str) -> None:
    group = models.BatchTaskGroup(task_values=[trivial_task(f"t{i:03}") for i in range(101)])
    with pytest.raises(HttpResponseError) as info:
        batch.create_task_collection(idle_job, group)
    assert info.value.status_code == 413
    assert info.value.error.code == "RequestBodyTooLarge"
    assert list(batch.list_tasks(idle_job)) == []


def test_collection_of_100_tasks_is_accepted(batch: BatchClient, idle_job: str) -> None:
    group = models.BatchTaskGroup(task_values=[trivial_task(f"t{i:03}") for i in range(100)])
    result = batch.create_task_collection(idle_job, group)
    assert len(result.result_values) == 100
    assert {r.status for r in result.result_values} == {"success"}


def test_collection_with_existing_id_reports_task_exists_for_that_task_only(
        batch: BatchClient, idle_job: str) -> None:
    batch.create_task(idle_job, trivial_task("dup"))
    group = models.BatchTaskGroup(task_values=[
        trivial_task("new1"), trivial_task("dup"), trivial_task("new2")])
    result = batch.create_task_collection(idle_job, group)
    by_id = {r.task_id: r for r in result.result_values}
    assert set(by_id) == {"new1", "dup", "new2"}
    assert by_id["dup"].status == "clienterror"
    assert by_id["dup"].error.code == "TaskExists"
    for task_id in ("new1", "new2"):
        assert by_id[task_id].status == "success"
        assert by_id[task_id].error is None
        assert ETAG.match(by_id[task_id].etag)
        assert by_id[task_id].location.endswith(f"/jobs/{idle_job}/tasks/{task_id}")
    assert {t.id for t in batch.list_tasks(idle_job)} == {"dup", "new1", "new2"}


def test_create_tasks_helper_adds_250_tasks(batch: BatchClient, idle_job: str) -> None:
    """The SDK's chunking helper splits 250 tasks into collections of at most 100."""
    tasks = [trivial_task(f"bulk{i:03}") for i in range(250)]
    result = batch.create_tasks(idle_job, tasks)
    assert len(result.result_values) == 250
    assert {r.status for r in result.result_values} == {"success"}
    ids = [t.id for t in batch.list_tasks(idle_job)]
    assert len(ids) == 250
    assert set(ids) == {t.id for t in tasks}
