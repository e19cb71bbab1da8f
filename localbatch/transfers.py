"""A node's file transfers: resource files in, output files out, through their SAS URLs only."""

from __future__ import annotations

import functools
import glob
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit, urlunsplit

import tenacity  # the retry loop: attempts, stop and wait conditions, hooks

from .secrecy import redact
from .settings import retry_seconds

WILDCARDS = set("*?[")
STORAGE_VERSION = "2021-12-02"   # Blob REST version of the uploads
PUT_BLOB_LIMIT = 256 * 1024 * 1024   # larger outputs go in blocks
FIRST_DELAY, MAX_DELAY = 0.5, 5.0   # back-off between attempts, doubling up to MAX_DELAY


@dataclass
class Failure(Exception):
    """A task failure as the service reports it in failureInfo."""

    category: str
    code: str
    message: str
    details: dict[str, str] | None = None

    def as_info(self) -> dict:
        info = {"category": self.category, "code": self.code, "message": self.message}
        if self.details:
            info["details"] = [{"name": k, "value": v} for k, v in self.details.items()]
        return info


def inside(base: Path, relative: str) -> Path:
    """base/relative, refusing a path that would leave base (absolute, '..')."""
    target = (base / relative).resolve()
    if not relative or os.path.isabs(relative) or not target.is_relative_to(base.resolve()):
        raise Failure("usererror", "ResourceFileCreateFailed",
                      f"The file path '{relative}' is outside the task's working directory.",
                      {"FilePath": relative})
    return target


def transient_status(status: int) -> bool:
    """An answer worth trying again: a timeout, throttling, or a server error (5xx) other than
    "not implemented" and "version not supported", as the Storage SDKs retry."""
    return status in (408, 429) or (500 <= status < 600 and status not in (501, 505))


def transient(exc: BaseException) -> bool:
    """A request's failure that may pass: no answer (refused, reset, timed out), an answer cut
    off, or a transient status. A local file error, a 403/404 or an untrusted certificate is
    final. The errors are
    azure-core's, whichever path sent the request."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        return status < 400 or transient_status(status)   # < 400: the body was cut off
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return False   # an untrusted certificate stays untrusted
    return isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError,
                            TimeoutError))


@functools.cache
def _pipeline():
    """azure-core's pipeline on its requests transport: the HTTP stack the Storage SDK sends
    its own requests with, so every transfer has one stack and one set of errors. No retry
    policy: retrying() retries. Imported on first use (0.06 s), as the SDK is (0.19 s)."""
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.transport import RequestsTransport

    return Pipeline(transport=RequestsTransport())


def _send(method: str, url: str, **request):
    """One request (a resource file's httpUrl, any web server; a Put Blob); an error status
    is raised as HttpResponseError, with the storage service's error code if it gave one."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest

    response = _pipeline().run(HttpRequest(method, url, **request), stream=method == "GET",
                               connection_timeout=300, read_timeout=300).http_response
    if response.status_code >= 400:
        error = HttpResponseError(response=response)
        error.error_code = response.headers.get("x-ms-error-code", "")
        response.close()
        raise error
    return response


def never() -> bool:
    return False


class _Ended(Exception):
    """stopped() said so during a pause between attempts."""


def retrying(attempt: Callable[[], object], is_transient: Callable[[BaseException], bool],
             what: str, log: list[str] | None = None, stopped: Callable[[], bool] = never):
    """attempt() until it succeeds, a failure is not transient, the retry window is over or
    stopped() (the task was ended): then its last failure is raised. Back-off doubles from
    FIRST_DELAY up to MAX_DELAY, with jitter, so that nodes retrying together do not hit a
    storage service that is starting up in step. tenacity runs the loop; the window, the
    jitter and the pause that stopped() cuts short are ours."""
    deadline = time.monotonic() + retry_seconds()
    backoff = tenacity.wait_exponential(multiplier=FIRST_DELAY, max=MAX_DELAY)
    failures: list[BaseException] = []

    def remaining() -> float:
        return deadline - time.monotonic()

    def give_up(state: tenacity.RetryCallState) -> bool:
        return remaining() <= 0 or stopped()

    def wait(state: tenacity.RetryCallState) -> float:
        return max(0.0, min(backoff(state) * random.uniform(0.8, 1.2), remaining()))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception()
        failures.append(exc)
        if log is not None:
            log.append(f"{what} failed: {exc.__class__.__name__}; "
                       f"retrying in {state.next_action.sleep:.1f} s")

    def pause(seconds: float) -> None:
        resume = time.monotonic() + seconds
        while time.monotonic() < resume and not stopped():
            time.sleep(min(0.1, seconds))
        if stopped():
            raise _Ended

    try:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient), stop=give_up, wait=wait,
            sleep=pause, before_sleep=before_sleep, reraise=True)(attempt)
    except _Ended:
        raise failures[-1] from None


def download_resource_files(resource_files: list[dict], wd: Path,
                            stopped: Callable[[], bool] = never) -> None:
    """Download each resource file, retrying transient failures until stopped() says the task
    was ended."""
    for spec in resource_files:
        if spec.get("httpUrl"):
            _download_http(spec, wd, stopped)
        else:
            _download_container(spec, wd, stopped)


def _set_mode(path: Path, spec: dict) -> None:
    path.chmod(int(spec.get("fileMode") or "0770", 8))


def _download_http(spec: dict, wd: Path, stopped: Callable[[], bool]) -> None:
    url, relative = spec["httpUrl"], spec["filePath"]
    target = inside(wd, relative)
    target.parent.mkdir(parents=True, exist_ok=True)

    def attempt() -> None:
        response = _send("GET", url)
        with open(target, "wb") as out:
            out.writelines(response.iter_bytes())

    from azure.core.exceptions import AzureError, HttpResponseError

    try:
        retrying(attempt, transient, f"downloading {redact(url)}", stopped=stopped)
    except HttpResponseError as exc:
        status = exc.status_code or 0
        if status < 400:   # cut off, for the whole retry window
            raise Failure("servererror", "BlobDownloadMiscError",
                          f"Downloading {redact(url)} failed: the answer was cut off.",
                          {"FilePath": relative}) from None
        code, category = {404: ("BlobNotFound", "usererror"),
                          403: ("BlobAccessDenied", "usererror")}.get(
            status, ("BlobDownloadMiscError", "servererror"))
        raise Failure(category, code, f"Downloading {redact(url)} failed: HTTP {status}.",
                      {"FilePath": relative, "HttpStatusCode": str(status)}) from None
    except (AzureError, OSError) as exc:
        raise Failure("servererror", "BlobDownloadMiscError",
                      f"Downloading {redact(url)} failed: {exc.__class__.__name__}.",
                      {"FilePath": relative}) from None
    _set_mode(target, spec)


def _download_container(spec: dict, wd: Path, stopped: Callable[[], bool]) -> None:
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
    from azure.storage.blob import ContainerClient  # here, not at the top: nodes start faster

    url = spec["storageContainerUrl"]
    folder = inside(wd, spec["filePath"]) if spec.get("filePath") else wd
    try:
        container = ContainerClient.from_container_url(url, retry_total=0)   # retried here
        names = retrying(lambda: [blob.name for blob in container.list_blobs(
            name_starts_with=spec.get("blobPrefix") or None)], transient,
            f"listing {redact(url)}", stopped=stopped)
        for name in names:
            target = inside(folder, name)
            target.parent.mkdir(parents=True, exist_ok=True)

            def attempt(name: str = name, target: Path = target) -> None:
                with open(target, "wb") as out:
                    container.download_blob(name).readinto(out)

            retrying(attempt, transient, f"downloading {name} from {redact(url)}",
                     stopped=stopped)
            _set_mode(target, spec)
    except ResourceNotFoundError:
        raise Failure("usererror", "ResourceContainerNotFound",
                      f"The container {redact(url)} does not exist.") from None
    except HttpResponseError as exc:
        code = "ResourceContainerAccessDenied" if exc.status_code == 403 else \
            "ResourceContainerListMiscError"
        raise Failure("usererror", code,
                      f"Listing {redact(url)} failed: HTTP {exc.status_code}.") from None
    except AzureError as exc:   # no answer at all: refused, reset, timed out
        raise Failure("usererror", "ResourceContainerListMiscError",
                      f"Listing {redact(url)} failed: {exc.__class__.__name__}.") from None


def should_upload(condition: str, exit_code: int | None) -> bool:
    condition = condition.lower()
    success = exit_code == 0
    return condition == "taskcompletion" or (condition == "tasksuccess") == success


def _matches(pattern: str, wd: Path) -> tuple[list[Path], Path]:
    """Files matching a pattern relative to wd, and the folder their blob names are relative to.

    A match that resolves outside the task's folder (a symbolic link out of it) is refused.
    """
    absolute = str(wd / pattern)
    parts = PurePosixPath(absolute).parts
    first_wild = next((i for i, p in enumerate(parts) if WILDCARDS & set(p)), len(parts) - 1)
    base = Path(*parts[:first_wild])
    files = [Path(p) for p in glob.glob(absolute, recursive=True) if os.path.isfile(p)]
    task_dir = wd.resolve().parent
    for path in files:
        if not path.resolve().is_relative_to(task_dir):
            raise Failure("usererror", "FileUploadMiscError",
                          f"{path.name} leads outside the task's folder; it was not uploaded.")
    return sorted(files), base


def upload_output_files(output_files: list[dict], wd: Path, exit_code: int | None,
                        log: list[str], stopped: Callable[[], bool] = never) -> None:
    """Upload each matching file by its condition, retrying transient failures until stopped();
    raise the first upload failure."""
    for spec in output_files:
        condition = (spec.get("uploadOptions") or {}).get("uploadCondition", "taskcompletion")
        if not should_upload(condition, exit_code):
            continue
        pattern = spec["filePattern"]
        destination = spec["destination"]["container"]
        files, base = _matches(pattern, wd)
        literal = not (WILDCARDS & set(pattern))
        for path in files:
            if literal:
                name = destination.get("path") or path.name
            else:
                relative = path.relative_to(base).as_posix()
                prefix = (destination.get("path") or "").strip("/")
                name = f"{prefix}/{relative}" if prefix else relative
            _upload(destination["containerUrl"], name, path, log, stopped)


def _blob_url(container_url: str, name: str) -> str:
    parts = urlsplit(container_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/" + quote(name),
                       parts.query, ""))


def _put_blob(url: str, path: Path, size: int) -> None:
    """One Put Blob request: up to PUT_BLOB_LIMIT, the whole file in one go."""
    with open(path, "rb") as data:   # an empty file object would go chunked: send b""
        _send("PUT", url, content=data if size else b"", headers={
            "x-ms-blob-type": "BlockBlob", "x-ms-version": STORAGE_VERSION,
            "Content-Length": str(size), "Content-Type": "application/octet-stream"}).close()


def _put_blocks(url: str, path: Path) -> None:
    """A file too big for one request goes in blocks, through the SDK."""
    from azure.storage.blob import BlobClient

    with open(path, "rb") as data:
        BlobClient.from_blob_url(url, retry_total=0).upload_blob(data, overwrite=True)


def _upload(container_url: str, name: str, path: Path, log: list[str],
            stopped: Callable[[], bool]) -> None:
    where = f"{redact(container_url)}/{name}"
    url = _blob_url(container_url, name)

    def attempt() -> None:
        size = path.stat().st_size
        if size > PUT_BLOB_LIMIT:
            _put_blocks(url, path)
        else:
            _put_blob(url, path, size)

    from azure.core.exceptions import AzureError, HttpResponseError

    try:
        retrying(attempt, transient, f"upload of {path.name} to {where}", log, stopped)
    except HttpResponseError as exc:
        status, error_code = exc.status_code or 0, getattr(exc, "error_code", None) or ""
        if status == 403:
            code = "FileUploadAccessDenied"
        elif status == 404 or error_code == "ContainerNotFound":
            code = "FileUploadContainerNotFound"
        elif status == 409:
            code = "FileUploadConflict"
        else:
            code = "FileUploadMiscError"
        log.append(f"upload of {path.name} to {where} failed: HTTP {status} {error_code}")
        raise Failure("usererror", code,
                      f"One or more output files failed to upload: {path.name} to {where} "
                      f"(HTTP {status} {error_code}).") from None
    except (AzureError, OSError) as exc:
        log.append(f"upload of {path.name} to {where} failed: {exc.__class__.__name__}")
        raise Failure("usererror", "FileUploadMiscError",
                      f"Uploading {path.name} to {where} failed: {exc.__class__.__name__}.") from None
    log.append(f"uploaded {path.name} to {where}")
