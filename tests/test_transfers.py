"""A node's transfers, in isolation: what reaches the container, what the task's failureInfo
and fileuploadout.txt say when it does not, and which failures are retried."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions

from localbatch import transfers
from localbatch.settings import RETRY_VARIABLE
from localbatch.statedir import free_port
from localbatch.transfers import Failure
from tests.conftest import container_url

WRITE = ContainerSasPermissions(write=True, create=True)
READ = ContainerSasPermissions(read=True, list=True)
NOWHERE = "http://127.0.0.1:9/account/out?sv=2021-12-02&sig=SECRET"   # port 9: nothing listens


@pytest.fixture(autouse=True)
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failures here are meant to be final at once; the retry tests set their own window."""
    monkeypatch.setenv(RETRY_VARIABLE, "0")


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
    assert log == ["upload of out.mp3 to http://127.0.0.1:9/account/out/out.mp3 failed: ServiceRequestError"]


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


# -- transient failures are retried, final ones are not ---------------------------------------

class Storage(http.server.ThreadingHTTPServer):
    """A loopback blob endpoint that answers each request with the next of its scripted
    answers: an HTTP status, or "drop" (the connection closed without an answer)."""

    def __init__(self, answers: list, port: int = 0):
        self.answers, self.requests = list(answers), []
        super().__init__(("127.0.0.1", port), _Answer)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}?sv=2021-12-02&sig=SECRET"


class _Answer(http.server.BaseHTTPRequestHandler):
    def answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.command, self.path.split("?")[0], body))
        status = self.server.answers.pop(0) if self.server.answers else 201
        if status == "drop":
            self.close_connection = True
            return
        data = b"blob data" if self.command == "GET" and status == 200 else b""
        self.send_response(status)
        if status == 403:
            self.send_header("x-ms-error-code", "AuthorizationPermissionMismatch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = answer

    def log_message(self, *args) -> None:
        pass


@contextmanager
def storage(answers: list, port: int = 0, after: float = 0) -> Iterator[Storage]:
    """A Storage server, listening at once or only `after` seconds (nothing there before)."""
    ready = threading.Event()
    servers: list[Storage] = []

    def serve() -> None:
        time.sleep(after)
        servers.append(Storage(answers, port))
        ready.set()
        servers[0].serve_forever()

    threading.Thread(target=serve, daemon=True).start()
    if not after:
        ready.wait(5)
    try:
        yield servers[0] if servers else None
    finally:
        ready.wait(after + 5)
        servers[0].shutdown()
        servers[0].server_close()


@pytest.mark.parametrize("limit", [1 << 30, 1], ids=["plain request", "through the SDK"])
def test_an_upload_retries_a_dropped_connection_and_a_500_then_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(transfers, "PUT_BLOB_LIMIT", limit)
    monkeypatch.setenv(RETRY_VARIABLE, "30")
    (tmp_path / "out.txt").write_bytes(b"t1\n")
    log: list[str] = []
    with storage(["drop", 500]) as server:
        transfers.upload_output_files(outputs("out.txt", server.url("/acct/out")), tmp_path, 0,
                                      log)
    assert [(m, p, b) for m, p, b in server.requests] == [("PUT", "/acct/out/out.txt", b"t1\n")] * 3
    where = server.url("/acct/out/out.txt").split("?")[0]
    assert len(log) == 3 and log[2] == f"uploaded out.txt to {where}"
    assert all(line.startswith(f"upload of out.txt to {where} failed: ") and "retrying in" in line
               for line in log[:2])
    assert "SECRET" not in "".join(log)


def test_an_upload_waits_for_storage_that_is_not_listening_yet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection refused (Azurite restarting) until the server starts, a second later."""
    monkeypatch.setenv(RETRY_VARIABLE, "30")
    (tmp_path / "out.txt").write_bytes(b"t2\n")
    port = free_port()
    log: list[str] = []
    with storage([], port=port, after=1.0):
        url = f"http://127.0.0.1:{port}/acct/out?sig=SECRET"
        transfers.upload_output_files(outputs("out.txt", url), tmp_path, 0, log)
    assert log[-1] == f"uploaded out.txt to http://127.0.0.1:{port}/acct/out/out.txt"
    assert any("failed: ServiceRequestError; retrying in" in line for line in log[:-1])


@pytest.mark.parametrize(("status", "code"), [(403, "FileUploadAccessDenied"),
                                              (404, "FileUploadContainerNotFound")])
def test_a_403_or_404_upload_fails_at_once_with_its_own_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int, code: str) -> None:
    monkeypatch.setenv(RETRY_VARIABLE, "120")
    (tmp_path / "out.txt").write_bytes(b"t3\n")
    start = time.monotonic()
    with storage([status]) as server, pytest.raises(Failure) as caught:
        transfers.upload_output_files(outputs("out.txt", server.url("/acct/out")), tmp_path, 0,
                                      [])
    assert time.monotonic() - start < 5
    assert len(server.requests) == 1
    assert caught.value.code == code
    assert f"HTTP {status}" in caught.value.message


def test_an_upload_still_failing_after_the_window_is_a_misc_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRY_VARIABLE, "1.5")
    (tmp_path / "out.txt").write_bytes(b"t4\n")
    log: list[str] = []
    start = time.monotonic()
    with storage([503] * 100) as server, pytest.raises(Failure) as caught:
        transfers.upload_output_files(outputs("out.txt", server.url("/acct/out")), tmp_path, 0,
                                      log)
    assert 1.5 <= time.monotonic() - start < 5
    assert len(server.requests) >= 2
    assert caught.value.code == "FileUploadMiscError"
    assert "HTTP 503" in caught.value.message
    assert "SECRET" not in caught.value.message + "".join(log)


def test_a_download_retries_503s_and_a_404_fails_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRY_VARIABLE, "30")
    with storage([503, 503, 200]) as server:
        transfers.download_resource_files(
            [{"httpUrl": server.url("/acct/in/clip.mp4"), "filePath": "in.mp4"}], tmp_path)
    assert (tmp_path / "in.mp4").read_bytes() == b"blob data"
    assert len(server.requests) == 3
    with storage([404]) as server, pytest.raises(Failure) as caught:
        transfers.download_resource_files(
            [{"httpUrl": server.url("/acct/in/gone.mp4"), "filePath": "gone.mp4"}], tmp_path)
    assert len(server.requests) == 1
    assert caught.value.code == "BlobNotFound"


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_a_retry_window_that_is_not_seconds_is_named(monkeypatch: pytest.MonkeyPatch,
                                                    value: str) -> None:
    monkeypatch.setenv(RETRY_VARIABLE, value)
    with pytest.raises(ValueError, match="LOCALBATCH_TRANSFER_RETRY_SECONDS must be a number of "
                                         "seconds, 0 or more"):
        transfers.retry_seconds()


def test_an_ended_task_stops_retrying_at_once(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The task is terminated while storage answers 503: no waiting out the window."""
    monkeypatch.setenv(RETRY_VARIABLE, "120")
    ended = threading.Timer(1.0, lambda: None)
    ended.start()
    start = time.monotonic()
    with storage([503] * 1000) as server, pytest.raises(Failure) as caught:
        transfers.download_resource_files(
            [{"httpUrl": server.url("/acct/in/clip.mp4"), "filePath": "in.mp4"}], tmp_path,
            lambda: not ended.is_alive())
    assert 1.0 <= time.monotonic() - start < 3
    assert caught.value.code == "BlobDownloadMiscError"
    assert len(server.requests) >= 2


def test_an_empty_output_file_is_uploaded_as_an_empty_blob(
        tmp_path: Path, blobs: BlobServiceClient, endpoints: dict, containers: dict) -> None:
    """A task's empty stderr.txt: one Put Blob of 0 bytes, not a chunked body Azurite refuses."""
    (tmp_path / "empty.txt").write_bytes(b"")
    url = container_url(blobs, endpoints, containers["output"], WRITE)
    transfers.upload_output_files(outputs("empty.txt", url, "empty/empty.txt"), tmp_path, 0, [])
    blob = blobs.get_blob_client(containers["output"], "empty/empty.txt")
    assert blob.download_blob().readall() == b""
