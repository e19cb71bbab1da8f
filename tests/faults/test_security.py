"""The service's boundaries: loopback only, signed requests only, files stay in their folders,
and no key or SAS signature in any log."""

from __future__ import annotations

import time

import psutil
import pytest
import requests
from azure.batch import BatchClient, models
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions

from localbatch import tokens
from localbatch.statedir import StateDir
from tests.conftest import container_url, output_file, wait_tasks
from tests.test_notebook_files import TOKEN_LIKE

WRITE = ContainerSasPermissions(write=True, create=True)


def listeners(port: int) -> list[str]:
    """The addresses with a TCP socket listening on this port (IPv4 and IPv6)."""
    return [c.laddr.ip for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port]


def test_both_services_listen_on_loopback_only(state: StateDir) -> None:
    ports = state.ports()
    for port in (ports["batch"], ports["blob"]):
        assert listeners(port) == ["127.0.0.1"], f"port {port}: {listeners(port)}"


def test_unsigned_requests_are_refused(endpoints: dict) -> None:
    url = endpoints["BATCH_ACCOUNT_URL"] + "/pools?api-version=2025-06-01"
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidAuthenticationInfo"
    forged = requests.get(url, timeout=10, headers={
        "Authorization": f"SharedKey {endpoints['BATCH_ACCOUNT_NAME']}:AAAA",
        "ocp-date": "Wed, 25 Nov 2026 00:00:00 GMT"})
    assert forged.status_code == 403


@pytest.fixture
def finished_task(batch: BatchClient, job: str) -> str:
    """A task that left a file in wd and a symbolic link from wd to a file outside it."""
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="files", command_line="/bin/bash -c 'echo inside > inside.txt; "
                                 "ln -s /etc/hostname outside.txt'"))
    assert wait_tasks(batch, job)["files"].execution_info.result == "success"
    return "files"


@pytest.mark.parametrize("path", ["../../../../etc/hostname", "/etc/hostname",
                                  "wd/../../../../../etc/hostname", "wd/outside.txt",
                                  "..%2F..%2F..%2Fetc%2Fhostname"])
def test_task_file_paths_cannot_leave_the_task_folder(batch: BatchClient, job: str,
                                                      finished_task: str, path: str) -> None:
    assert b"".join(batch.download_task_file(job, finished_task, "wd/inside.txt")) == b"inside\n"
    with pytest.raises(ResourceNotFoundError) as caught:  # a streamed download: no body read
        b"".join(batch.download_task_file(job, finished_task, path))
    assert caught.value.status_code == 404


@pytest.mark.parametrize("path", ["../../../etc/hostname", "/etc/hostname",
                                  "startup/../../../../etc/hostname"])
def test_node_file_paths_cannot_leave_the_node_folder(batch: BatchClient,
                                                      shared_pool: str, path: str) -> None:
    node = next(iter(batch.list_nodes(shared_pool))).id
    with pytest.raises(ResourceNotFoundError) as caught:
        b"".join(batch.download_node_file(shared_pool, node, path))
    assert caught.value.status_code == 404


@pytest.mark.parametrize("file_path", ["../escape.mp4", "/tmp/escape.mp4", "a/../../escape.mp4"])
def test_resource_file_path_cannot_leave_the_working_dir(batch: BatchClient, job: str,
                                                         file_path: str) -> None:
    task = models.BatchTaskCreateOptions(id="escape", command_line="/bin/true", resource_files=[
        models.ResourceFile(http_url="http://127.0.0.1:9/x", file_path=file_path)])
    with pytest.raises(HttpResponseError) as caught:
        batch.create_task(job, task)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidPropertyValue"
    assert any(d.value == "resourceFiles[0].filePath" for d in caught.value.model.error_values)


@pytest.mark.parametrize("pattern", ["/etc/hostname", "../../*", "../../../etc/hostname"])
def test_output_pattern_cannot_reach_outside_the_task(batch: BatchClient, blobs, endpoints,
                                                      containers, job: str, pattern: str) -> None:
    url = container_url(blobs, endpoints, containers["output"], WRITE)
    task = models.BatchTaskCreateOptions(id="exfiltrate", command_line="/bin/true",
                                         output_files=[output_file(pattern, url, "taskcompletion")])
    with pytest.raises(HttpResponseError) as caught:
        batch.create_task(job, task)
    assert caught.value.status_code == 400
    assert any(d.value == "outputFiles[0].filePattern" for d in caught.value.model.error_values)


def test_output_through_a_link_out_of_the_task_is_refused(
        batch: BatchClient, blobs: BlobServiceClient, endpoints: dict, containers: dict,
        job: str) -> None:
    url = container_url(blobs, endpoints, containers["output"], WRITE)
    batch.create_task(job, models.BatchTaskCreateOptions(
        id="link", command_line="/bin/ln -s /etc/hostname stolen.txt",
        output_files=[output_file("*.txt", url, "taskcompletion", f"{job}/")]))
    info = wait_tasks(batch, job)["link"].execution_info
    assert (info.exit_code, info.result) == (0, "failure")
    assert info.failure_info.code == "FileUploadMiscError"
    assert not list(blobs.get_container_client(containers["output"])
                    .list_blobs(name_starts_with=f"{job}/"))


def test_no_key_token_or_sas_signature_in_any_log(state: StateDir, batch: BatchClient, job: str,
                                            blobs, endpoints, containers) -> None:
    """After tasks that moved files by SAS (and one whose upload was refused), tokens issued and
    refused, the logs of the service, Azurite and every node hold no key, token, SAS signature,
    IDENTITY_HEADER or the CA's private key."""
    url = container_url(blobs, endpoints, containers["output"], WRITE)
    read_only = container_url(blobs, endpoints, containers["output"],
                              ContainerSasPermissions(read=True))
    batch.create_tasks(job, [
        models.BatchTaskCreateOptions(id="ok", command_line="/bin/bash -c 'echo x > a.txt'",
                                      output_files=[output_file("a.txt", url, "tasksuccess")]),
        models.BatchTaskCreateOptions(id="refused", command_line="/bin/bash -c 'echo x > b.txt'",
                                      output_files=[output_file("b.txt", read_only,
                                                                "tasksuccess")])])
    wait_tasks(batch, job)
    keys = state.keys()
    identity = state.identity()
    token = requests.get(endpoints["IDENTITY_ENDPOINT"], timeout=30,
                         params={"resource": tokens.BATCH_AUDIENCE},
                         headers={"X-IDENTITY-HEADER": keys["identity_header"]}).json()
    assert requests.get(endpoints["IDENTITY_ENDPOINT"], headers={"X-IDENTITY-HEADER": "wrong"},
                        params={"resource": tokens.BATCH_AUDIENCE}, timeout=30).status_code == 401
    expired = tokens.issue(identity, tokens.BATCH_AUDIENCE, now=time.time() - 7200)[0]
    for bearer in (token["access_token"], expired):
        requests.get(f"{endpoints['BATCH_ACCOUNT_URL']}/pools?api-version=2025-06-01",
                     headers={"Authorization": f"Bearer {bearer}"}, timeout=30)
    ca_key = (state.path / "tls" / "ca-key.pem").read_text().splitlines()[1]
    secrets = [keys[name] for name in ("batch_key", "storage_key", "token_key", "identity_header")]
    logs = list(state.logs.glob("*.log"))
    assert len(logs) >= 3  # service, azurite, nodes
    for log in logs:
        text = log.read_text(errors="replace")
        assert not [secret for secret in [*secrets, ca_key] if secret in text], log.name
        assert "sig=" not in text, log.name
        assert not TOKEN_LIKE.search(text), log.name
    for name in ("fileuploadout.txt", "fileuploaderr.txt"):
        text = b"".join(batch.download_task_file(job, "refused", name)).decode()
        assert "sig=" not in text
