"""A node's file transfers: resource files in, output files out, through their SAS URLs only."""

from __future__ import annotations

import glob
import http.client
import os
import random
import time
import urllib.error
import urllib.request
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
    """A plain request's failure that may pass: no answer (refused, reset, timed out, cut off)
    or a transient status. A local file error or a 403/404 is final."""
    if isinstance(exc, urllib.error.HTTPError):
        return transient_status(exc.code)
    if isinstance(exc, _Refused):
        return transient_status(exc.status)
    return isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError,
                            http.client.HTTPException))


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
        with urllib.request.urlopen(url, timeout=300) as response, open(target, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)

    try:
        retrying(attempt, transient, f"downloading {redact(url)}", stopped=stopped)
    except urllib.error.HTTPError as exc:
        code, category = {404: ("BlobNotFound", "usererror"),
                          403: ("BlobAccessDenied", "usererror")}.get(
            exc.code, ("BlobDownloadMiscError", "servererror"))
        raise Failure(category, code, f"Downloading {redact(url)} failed: HTTP {exc.code}.",
                      {"FilePath": relative, "HttpStatusCode": str(exc.code)}) from None
    except (OSError, http.client.HTTPException) as exc:
        raise Failure("servererror", "BlobDownloadMiscError",
                      f"Downloading {redact(url)} failed: {exc.__class__.__name__}.",
                      {"FilePath": relative}) from None
    _set_mode(target, spec)


def _download_container(spec: dict, wd: Path, stopped: Callable[[], bool]) -> None:
    from azure.core.exceptions import (
        AzureError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )
    from azure.storage.blob import ContainerClient  # here, not at the top: nodes start faster

    def sdk_transient(exc: BaseException) -> bool:
        if isinstance(exc, HttpResponseError):
            return transient_status(exc.status_code or 0)
        return isinstance(exc, (ServiceRequestError, ServiceResponseError))

    url = spec["storageContainerUrl"]
    folder = inside(wd, spec["filePath"]) if spec.get("filePath") else wd
    try:
        container = ContainerClient.from_container_url(url, retry_total=0)   # retried here
        names = retrying(lambda: [blob.name for blob in container.list_blobs(
            name_starts_with=spec.get("blobPrefix") or None)], sdk_transient,
            f"listing {redact(url)}", stopped=stopped)
        for name in names:
            target = inside(folder, name)
            target.parent.mkdir(parents=True, exist_ok=True)

            def attempt(name: str = name, target: Path = target) -> None:
                with open(target, "wb") as out:
                    container.download_blob(name).readinto(out)

            retrying(attempt, sdk_transient, f"downloading {name} from {redact(url)}",
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


class _Refused(Exception):
    """The storage service answered an upload with an error status."""

    def __init__(self, status: int, error_code: str):
        super().__init__(status, error_code)
        self.status, self.error_code = status, error_code


def _put_blob(url: str, path: Path, size: int) -> None:
    """One Put Blob request in plain HTTP, like the downloads: importing the storage SDK would
    cost each node half a CPU-second, taken from the tasks beside it."""
    with open(path, "rb") as data:
        request = urllib.request.Request(url, data=data, method="PUT", headers={
            "x-ms-blob-type": "BlockBlob", "x-ms-version": STORAGE_VERSION,
            "Content-Length": str(size), "Content-Type": "application/octet-stream"})
        try:
            urllib.request.urlopen(request, timeout=300).close()
        except urllib.error.HTTPError as exc:
            raise _Refused(exc.code, exc.headers.get("x-ms-error-code", "")) from None


def _put_blocks(url: str, path: Path) -> None:
    """A file too big for one request goes in blocks, through the SDK."""
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.storage.blob import BlobClient

    try:
        with open(path, "rb") as data:
            BlobClient.from_blob_url(url, retry_total=0).upload_blob(data, overwrite=True)
    except HttpResponseError as exc:
        raise _Refused(exc.status_code or 0, getattr(exc, "error_code", None) or "") from None
    except AzureError as exc:   # no answer at all: reported as the plain request's would be
        raise ConnectionError(exc.__class__.__name__) from None


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

    try:
        retrying(attempt, transient, f"upload of {path.name} to {where}", log, stopped)
    except _Refused as exc:
        if exc.status == 403:
            code = "FileUploadAccessDenied"
        elif exc.status == 404 or exc.error_code == "ContainerNotFound":
            code = "FileUploadContainerNotFound"
        elif exc.status == 409:
            code = "FileUploadConflict"
        else:
            code = "FileUploadMiscError"
        log.append(f"upload of {path.name} to {where} failed: HTTP {exc.status} {exc.error_code}")
        raise Failure("usererror", code,
                      f"One or more output files failed to upload: {path.name} to {where} "
                      f"(HTTP {exc.status} {exc.error_code}).") from None
    except (OSError, http.client.HTTPException) as exc:
        log.append(f"upload of {path.name} to {where} failed: {exc.__class__.__name__}")
        raise Failure("usererror", "FileUploadMiscError",
                      f"Uploading {path.name} to {where} failed: {exc.__class__.__name__}.") from None
    log.append(f"uploaded {path.name} to {where}")
