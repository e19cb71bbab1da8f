"""A node's file transfers: resource files in, output files out, through their SAS URLs only."""

from __future__ import annotations

import glob
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit, urlunsplit

WILDCARDS = set("*?[")
STORAGE_VERSION = "2021-12-02"   # Blob REST version of the uploads
PUT_BLOB_LIMIT = 256 * 1024 * 1024   # larger outputs go in blocks


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


def redact(url: str) -> str:
    """The URL without its query (a SAS signature must never reach a log or an error)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def download_resource_files(resource_files: list[dict], wd: Path) -> None:
    for spec in resource_files:
        if spec.get("httpUrl"):
            _download_http(spec, wd)
        else:
            _download_container(spec, wd)


def _set_mode(path: Path, spec: dict) -> None:
    path.chmod(int(spec.get("fileMode") or "0770", 8))


def _download_http(spec: dict, wd: Path) -> None:
    url, relative = spec["httpUrl"], spec["filePath"]
    target = inside(wd, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=300) as response, open(target, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        code, category = {404: ("BlobNotFound", "usererror"),
                          403: ("BlobAccessDenied", "usererror")}.get(
            exc.code, ("BlobDownloadMiscError", "servererror"))
        raise Failure(category, code, f"Downloading {redact(url)} failed: HTTP {exc.code}.",
                      {"FilePath": relative, "HttpStatusCode": str(exc.code)}) from None
    except OSError as exc:
        raise Failure("servererror", "BlobDownloadMiscError",
                      f"Downloading {redact(url)} failed: {exc.__class__.__name__}.",
                      {"FilePath": relative}) from None
    _set_mode(target, spec)


def _download_container(spec: dict, wd: Path) -> None:
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
    from azure.storage.blob import ContainerClient  # here, not at the top: nodes start faster

    url = spec["storageContainerUrl"]
    folder = inside(wd, spec["filePath"]) if spec.get("filePath") else wd
    try:
        container = ContainerClient.from_container_url(url, retry_total=0)   # as the plain requests
        for blob in container.list_blobs(name_starts_with=spec.get("blobPrefix") or None):
            target = inside(folder, blob.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                container.download_blob(blob.name).readinto(out)
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
                        log: list[str]) -> None:
    """Upload each matching file by its condition; raise the first upload failure."""
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
            _upload(destination["containerUrl"], name, path, log)


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


def _upload(container_url: str, name: str, path: Path, log: list[str]) -> None:
    where = f"{redact(container_url)}/{name}"
    url = _blob_url(container_url, name)
    try:
        size = path.stat().st_size
        if size > PUT_BLOB_LIMIT:
            _put_blocks(url, path)
        else:
            _put_blob(url, path, size)
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
    except OSError as exc:
        log.append(f"upload of {path.name} to {where} failed: {exc.__class__.__name__}")
        raise Failure("usererror", "FileUploadMiscError",
                      f"Uploading {path.name} to {where} failed: {exc.__class__.__name__}.") from None
    log.append(f"uploaded {path.name} to {where}")
