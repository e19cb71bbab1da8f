"""A node's uploads, in isolation: what reaches the container, and what the task's failureInfo
and fileuploadout.txt say when it does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions

from localbatch import transfers
from localbatch.transfers import Failure
from tests.conftest import container_url

WRITE = ContainerSasPermissions(write=True, create=True)
READ = ContainerSasPermissions(read=True, list=True)
NOWHERE = "http://127.0.0.1:9/account/out?sv=2021-12-02&sig=SECRET"   # port 9: nothing listens


def outputs(pattern: str, container: str = NOWHERE, path: str = "") -> list[dict]:
    """One output file spec, as the service passes it to the node."""
    return [{"filePattern": pattern, "destination": {"container": {
        "containerUrl": container, "path": path}},
        "uploadOptions": {"uploadCondition": "tasksuccess"}}]


@pytest.mark.parametrize("limit", [1 << 30, 10], ids=["plain request", "through the SDK"])
def test_upload_writes_the_blob_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           blobs: BlobServiceClient, endpoints: dict,
                                           containers: dict, limit: int) -> None:
    """Up to PUT_BLOB_LIMIT one plain request; above it the SDK, which sends big files in blocks."""
    monkeypatch.setattr(transfers, "PUT_BLOB_LIMIT", limit)
    (tmp_path / "out.mp3").write_bytes(b"0123456789" * 3)
    url = container_url(blobs, endpoints, containers["output"], WRITE)
    log: list[str] = []
    name = f"{limit}/out.mp3"
    transfers.upload_output_files(outputs("out.mp3", url, name), tmp_path, 0, log)
    blob = blobs.get_blob_client(containers["output"], name)
    assert blob.download_blob().readall() == b"0123456789" * 3
    assert log == [f"uploaded out.mp3 to {url.split('?')[0]}/{name}"]


@pytest.mark.parametrize("limit", [1 << 30, 10], ids=["plain request", "through the SDK"])
def test_a_read_only_sas_is_access_denied_either_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blobs: BlobServiceClient,
        endpoints: dict, containers: dict, limit: int) -> None:
    monkeypatch.setattr(transfers, "PUT_BLOB_LIMIT", limit)
    (tmp_path / "out.mp3").write_bytes(b"0123456789" * 3)
    url = container_url(blobs, endpoints, containers["output"], READ)
    with pytest.raises(Failure) as caught:
        transfers.upload_output_files(outputs("out.mp3", url), tmp_path, 0, [])
    assert caught.value.code == "FileUploadAccessDenied"
    assert "HTTP 403" in caught.value.message and "sig=" not in caught.value.message


def test_an_unreachable_destination_names_the_file_and_hides_the_sas(tmp_path: Path) -> None:
    (tmp_path / "out.mp3").write_bytes(b"mp3")
    log: list[str] = []
    with pytest.raises(Failure) as caught:
        transfers.upload_output_files(outputs("out.mp3"), tmp_path, 0, log)
    assert caught.value.code == "FileUploadMiscError"
    assert "out.mp3 to http://127.0.0.1:9/account/out/out.mp3" in caught.value.message
    assert "SECRET" not in caught.value.message + "".join(log)
    assert log == ["upload of out.mp3 to http://127.0.0.1:9/account/out/out.mp3 failed: URLError"]


def test_a_failed_task_skips_success_only_uploads(tmp_path: Path) -> None:
    (tmp_path / "out.mp3").write_bytes(b"mp3")
    log: list[str] = []
    transfers.upload_output_files(outputs("out.mp3"), tmp_path, 1, log)   # nothing sent
    assert log == []


def test_an_unreachable_container_fails_the_download_naming_it(tmp_path: Path) -> None:
    with pytest.raises(Failure) as caught:
        transfers.download_resource_files([{"storageContainerUrl": NOWHERE}], tmp_path)
    assert caught.value.code == "ResourceContainerListMiscError"
    assert "http://127.0.0.1:9/account/out failed: ServiceRequestError" in caught.value.message
    assert "SECRET" not in caught.value.message


def test_an_unreachable_destination_through_the_sdk_is_a_misc_upload_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfers, "PUT_BLOB_LIMIT", 1)
    (tmp_path / "out.mp3").write_bytes(b"mp3")
    log: list[str] = []
    with pytest.raises(Failure) as caught:
        transfers.upload_output_files(outputs("out.mp3"), tmp_path, 0, log)
    assert caught.value.code == "FileUploadMiscError"
    assert "SECRET" not in caught.value.message + "".join(log)
