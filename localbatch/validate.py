"""The request-body rules the schema does not hold, answered with the service's 400 naming the
property: what localbatch does not emulate, and the formats the spec states only in words (ids,
URLs, image ids, file modes, paths that stay in the task's folder). The schema (schema/) has
checked the body's types, required properties, enums and ranges before a manager calls these."""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import urlsplit

from . import errors
from .secrecy import redact, without_signatures

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def require(body: dict, name: str, where: str = "") -> Any:
    """A property the schema leaves optional that localbatch needs (see its callers)."""
    value = body.get(name)
    if value is None or value == "":
        raise errors.MissingRequiredProperty(values={"PropertyName": where + name})
    return value


def invalid(prop: str, value: Any, reason: str) -> errors.BatchError:
    return errors.InvalidPropertyValue(
        values={"PropertyName": prop, "PropertyValue": str(value), "Reason": reason})


def url(value: str, prop: str) -> None:
    """An absolute http(s) URL; the refusal shows it without its query (it may hold a SAS)."""
    parts = urlsplit(value)
    try:
        parts.port   # noqa: B018 (raises ValueError for a port that is not a number)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable:
        raise invalid(prop, without_signatures(redact(value)),
                      "Give an http or https URL, such as a blob or container URL with a SAS.")


def ident(value: str) -> str:
    """A pool, job or task id (spec: 'any combination of alphanumeric characters including
    hyphens and underscores, and cannot contain more than 64 characters')."""
    if not _ID.match(value):
        raise invalid("id", value, "An id may hold letters, digits, hyphens and underscores, "
                                   "at most 64 characters.")
    return value


def enum(value: str | None, default: str) -> str:
    """An enum value in the spec's spelling (the service takes any case), or the default."""
    return value.lower() if value else default


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


# What a local node cannot do, with why: a 400 that names the property (never silently ignored).
NOT_LOCAL = {
    "containerConfiguration": "localbatch does not run containers: its nodes are processes on "
                              "this computer. Run container workloads against Azure Batch.",
    "containerSettings": "localbatch does not run containers: its nodes are processes on this "
                         "computer. Run the task's command line without a container.",
    "mountConfiguration": "localbatch does not mount file systems on its nodes. Use resource "
                          "files and output files, or run this part against Azure Batch.",
}


def not_local(body: dict, names: tuple[str, ...]) -> None:
    for name in names:
        if body.get(name):
            raise invalid(name, "(set)", NOT_LOCAL[name])


def subnet(value: str | None) -> None:
    """A pool cannot join a virtual network here: localbatch has none, so every subnet is one
    it cannot use, answered as Azure answers a subnet of another subscription (a recording)."""
    if value:
        raise invalid("subnetId", value, "localbatch has no virtual networks: leave out "
                                         "networkConfiguration.subnetId to run locally.")


def user_identity(value: dict | None) -> dict:
    """The task's user: an auto-user, or a named user account of the pool (which runs as the
    local user: elevation comes from the account, see protocol.admin)."""
    if value and value.get("username"):
        return {"username": value["username"]}
    auto = (value or {}).get("autoUser") or {}
    return {"autoUser": {"scope": enum(auto.get("scope"), "pool"),
                         "elevationLevel": enum(auto.get("elevationLevel"), "nonadmin")}}


def user_accounts(accounts: list | None) -> list[dict]:
    """A pool's userAccounts as kept: without their passwords, which are never stored,
    returned or logged (a local user account has no password to check)."""
    kept = []
    for account in accounts or []:
        kept.append({"name": account["name"],
                     "elevationLevel": enum(account.get("elevationLevel"), "nonadmin"),
                     **{k: v for k, v in account.items()
                        if k in ("linuxUserConfiguration", "windowsUserConfiguration")}})
    return kept


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
        if mode is not None and not re.fullmatch(r"0?[0-7]{3}", mode):
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
        pattern = spec["filePattern"]
        if pattern.startswith("/") or posixpath.normpath(f"wd/{pattern}").startswith(".."):
            raise invalid(where + "filePattern", pattern,
                          "The pattern must stay in the task's folder: its working directory, "
                          "or ../ for the task's own stdout.txt and stderr.txt.")
        url(spec["destination"]["container"]["containerUrl"],
            where + "destination.container.containerUrl")
        options = spec["uploadOptions"]
        out.append({**spec, "uploadOptions": {
            **options, "uploadCondition": options["uploadCondition"].lower()}})
    return out
