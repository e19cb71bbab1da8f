"""Errors as the real Batch service answers them: conflicts, missing entities (with the
request id in the message) and request validation.

Through the real SDK.
"""

from __future__ import annotations

import re

import pytest
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from tests.conftest import delete_pool, pool_options, unique
from tests.raw_rest import values_of

pytestmark = pytest.mark.conformance   # only the REST API: `make test-live` runs it on Azure

TIME_SUFFIX = r"\nTime:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$"


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
    """Ids are case-insensitively unique across the account (spec: "you may not have two IDs
    within an Account that differ only by case")."""
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
