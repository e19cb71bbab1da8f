"""Handlers for task files and node files, read from the node's directory on this machine."""

from __future__ import annotations

import mimetypes
import os
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from .. import errors, wire
from .http import Call, Reply, listing


def _task_root(call: Call) -> tuple[Path | None, str]:
    task = call.svc.tasks.get(call.params["job_id"], call.params["task_id"])
    url = f"{call.base_url}/jobs/{call.params['job_id']}/tasks/{task['id']}/files"
    return call.svc.tasks.folder(task), url


def _node_root(call: Call) -> tuple[Path | None, str]:
    pool = call.svc.pools.get(call.params["pool_id"])
    node_id = call.params["node_id"]
    url = f"{call.base_url}/pools/{pool['id']}/nodes/{node_id}/files"
    return call.svc.pools.node_folder(pool["id"], node_id), url


def _resolve(root: Path | None, relative: str) -> Path:
    """The file under root; a path that leaves root is treated as not there."""
    if root is None:
        raise errors.FileNotFound()
    target = (root / relative).resolve()
    if os.path.isabs(relative) or not target.is_relative_to(root.resolve()) or \
            not target.exists():
        raise errors.FileNotFound()
    return target


def _stamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _describe(path: Path, name: str, url: str) -> dict:
    entry: dict = {"name": name, "url": f"{url}/{quote(name, safe='')}",
                   "isDirectory": path.is_dir()}
    if not path.is_dir():
        info = path.stat()
        entry["properties"] = {
            "creationTime": wire.iso(_stamp(info.st_ctime)),
            "lastModified": wire.iso(_stamp(info.st_mtime)),
            "contentLength": str(info.st_size),
            "contentType": _content_type(path), "fileMode": f"0{info.st_mode:o}"}
    return entry


def _content_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _listable(item: Path, root: Path) -> bool:
    """Whether a listing shows item: a link that dangles or leads out of root is left out, as
    reading it would be FileNotFound (and a file can go while the folder is being listed)."""
    try:
        return item.resolve(strict=True).is_relative_to(root.resolve())
    except (OSError, RuntimeError):   # gone, dangling, or a loop of links
        return False


def _list(call: Call, root: Path | None, url: str, path: str) -> Reply:
    entries: list[tuple[str, dict]] = []
    if root is not None and root.is_dir():
        recursive = call.query.get("recursive", "false").lower() == "true"
        found = sorted(root.rglob("*") if recursive else root.iterdir())
        for item in found:
            name = item.relative_to(root).as_posix()
            try:
                if _listable(item, root):
                    entries.append((name, _describe(item, name, url)))
            except FileNotFoundError:   # removed between the listing and its stat
                continue
    return listing(call, entries, "files", path)


def _file(call: Call, root: Path | None, url: str, head: bool) -> Reply:
    relative = call.params["file_path"]
    target = _resolve(root, relative)
    info = target.stat()
    headers = {
        "ocp-creation-time": wire.rfc1123(_stamp(info.st_ctime)),
        "Last-Modified": wire.rfc1123(_stamp(info.st_mtime)),
        "ocp-batch-file-isdirectory": str(target.is_dir()),
        "ocp-batch-file-mode": f"0{info.st_mode:o}",
        "ocp-batch-file-url": quote(f"{url}/{quote(relative, safe='')}", safe=""),
        "Content-Type": "application/octet-stream" if target.is_dir() else _content_type(target),
    }
    if target.is_dir():
        if not head:
            raise errors.FileNotFound()
        return Reply(200, None, {**headers, "Content-Length": "0"})
    if head:
        return Reply(200, None, {**headers, "Content-Length": str(info.st_size)})
    data = target.read_bytes()
    wanted = call.headers.get("ocp-range")
    if wanted:
        data = _range(data, wanted)
    return Reply(200, data, headers)


def _range(data: bytes, wanted: str) -> bytes:
    try:
        unit, _, span = wanted.partition("=")
        first, _, last = span.partition("-")
        start = int(first)
        end = int(last) + 1 if last else len(data)
        if unit.strip() != "bytes" or start < 0 or end <= start:
            raise ValueError
    except ValueError:
        raise errors.InvalidRange() from None
    return data[start:end]


def list_task_files(call: Call) -> Reply:
    root, url = _task_root(call)
    return _list(call, root, url, url.split(call.base_url, 1)[1])


def get_task_file(call: Call) -> Reply:
    return _file(call, *_task_root(call), head=False)


def task_file_properties(call: Call) -> Reply:
    return _file(call, *_task_root(call), head=True)


def list_node_files(call: Call) -> Reply:
    root, url = _node_root(call)
    return _list(call, root, url, url.split(call.base_url, 1)[1])


def get_node_file(call: Call) -> Reply:
    return _file(call, *_node_root(call), head=False)


def node_file_properties(call: Call) -> Reply:
    return _file(call, *_node_root(call), head=True)
