"""Request-body checks that answer with the service's 400 errors, naming the property."""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import urlsplit

from . import errors, wire
from .transfers import redact

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def require(body: dict, name: str, where: str = "") -> Any:
    value = body.get(name) if isinstance(body, dict) else None
    if value is None or value == "":
        raise errors.MissingRequiredProperty(values={"PropertyName": where + name})
    return value


def invalid(prop: str, value: Any, reason: str) -> errors.BatchError:
    return errors.InvalidPropertyValue(
        values={"PropertyName": prop, "PropertyValue": str(value), "Reason": reason})


def url(value: Any, prop: str) -> str:
    """An absolute http(s) URL; the refusal shows it without its query (it may hold a SAS)."""
    text = value if isinstance(value, str) else ""
    parts = urlsplit(text)
    try:
        parts.port   # noqa: B018 (raises ValueError for a port that is not a number)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable:
        raise invalid(prop, redact(text) or value,
                      "Give an http or https URL, such as a blob or container URL with a SAS.")
    return text


def ident(body: dict, name: str = "id") -> str:
    value = require(body, name)
    if not isinstance(value, str) or not _ID.match(value):
        raise invalid(name, value, "An id may hold letters, digits, hyphens and underscores, "
                                   "at most 64 characters.")
    return value


def count(body: dict, name: str, default: int = 0, minimum: int = 0) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise invalid(name, value, f"{name} must be a whole number of at least {minimum}.")
    return value


def enum(value: Any, allowed: tuple[str, ...], prop: str, default: str | None = None) -> str:
    """An enum value in the spec's spelling; the service accepts any case."""
    if value is None and default is not None:
        return default
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    raise invalid(prop, value, "Allowed values: " + ", ".join(allowed) + ".")


def duration(value: Any, prop: str, default: str) -> str:
    if value is None:
        return default
    wire.duration_seconds(value, prop)
    return value


_IMAGE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/"
    r"(images/[^/]+|galleries/[^/]+/images/[^/]+(/versions/[^/]+)?)$", re.IGNORECASE)


def image_id(value: str | None) -> None:
    """A custom image's ARM id must have one of the forms the service accepts."""
    if value and not _IMAGE_ID.match(value):
        raise invalid("virtualMachineImageId", value,
                      "The specified resource id must be of the format /subscriptions/"
                      "{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
                      "Microsoft.Compute/images/{imageName}, or /subscriptions/{subscriptionId}/"
                      "resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/galleries/"
                      "{galleryName}/images/{imageDefinitionName}/versions/{versionId}, or "
                      "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/"
                      "providers/Microsoft.Compute/galleries/{galleryName}/images/"
                      "{imageDefinitionName}")


def unsupported(body: dict, names: tuple[str, ...]) -> None:
    """Features localbatch does not emulate are refused, never silently ignored."""
    for name in names:
        if body.get(name):
            raise invalid(name, "(set)", f"localbatch does not emulate {name}; "
                                         "run this part against Azure Batch.")


def user_identity(value: dict | None) -> dict:
    if not value:
        return {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}
    auto = value.get("autoUser")
    if value.get("username") or not auto:
        raise invalid("userIdentity", value, "localbatch runs tasks as an auto-user only.")
    return {"autoUser": {
        "scope": enum(auto.get("scope"), ("task", "pool"), "userIdentity.autoUser.scope", "pool"),
        "elevationLevel": enum(auto.get("elevationLevel"), ("nonadmin", "admin"),
                               "userIdentity.autoUser.elevationLevel", "nonadmin")}}


def resource_files(files: list | None) -> list[dict]:
    out = []
    for index, spec in enumerate(files or []):
        where = f"resourceFiles[{index}]."
        sources = [s for s in ("httpUrl", "storageContainerUrl", "autoStorageContainerName")
                   if spec.get(s)]
        if len(sources) != 1:
            raise invalid(where + "httpUrl", "", "Give exactly one of httpUrl, "
                          "storageContainerUrl or autoStorageContainerName.")
        if sources[0] == "autoStorageContainerName":
            raise invalid(where + "autoStorageContainerName", spec[sources[0]],
                          "localbatch has no linked storage account: use storageContainerUrl.")
        url(spec[sources[0]], where + sources[0])
        if sources[0] == "httpUrl":
            require(spec, "filePath", where)
        mode = spec.get("fileMode")
        if mode is not None and not re.fullmatch(r"0?[0-7]{3}", str(mode)):
            raise invalid(where + "fileMode", mode, "Give the mode in octal, such as 0770.")
        path = spec.get("filePath") or ""
        if path.startswith("/") or ".." in path.replace("\\", "/").split("/"):
            raise invalid(where + "filePath", path, "The path must stay inside the working "
                                                     "directory: no leading '/' and no '..'.")
        out.append(spec)
    return out


def output_files(files: list | None) -> list[dict]:
    out = []
    for index, spec in enumerate(files or []):
        where = f"outputFiles[{index}]."
        pattern = require(spec, "filePattern", where)
        if pattern.startswith("/") or posixpath.normpath(f"wd/{pattern}").startswith(".."):
            raise invalid(where + "filePattern", pattern,
                          "The pattern must stay in the task's folder: its working directory, "
                          "or ../ for the task's own stdout.txt and stderr.txt.")
        container = require(require(spec, "destination", where), "container",
                            where + "destination.")
        url(require(container, "containerUrl", where + "destination.container."),
            where + "destination.container.containerUrl")
        options = require(spec, "uploadOptions", where)
        condition = enum(require(options, "uploadCondition", where + "uploadOptions."),
                         ("tasksuccess", "taskfailure", "taskcompletion"),
                         where + "uploadOptions.uploadCondition")
        out.append({**spec, "uploadOptions": {**options, "uploadCondition": condition}})
    return out


def environment(settings: list | None, prop: str) -> list[dict]:
    for index, item in enumerate(settings or []):
        require(item, "name", f"{prop}[{index}].")
    return list(settings or [])
