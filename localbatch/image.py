"""The local node image: what a node of an Ubuntu or Debian pool finds on its PATH.

A fresh VM of such an image has the shell tools and Python, but no ffmpeg: its start task
installs one with apt-get. A local node runs on the host, so its image is a PATH, in this order:
the packages the node's apt-get installed (image_apt.packages_dir), the image's apt-get, apt and
sudo (one set for admin tasks, one for the others), then the host's PATH with every program of
PACKAGES hidden, so a host's own /usr/bin/ffmpeg does not show through. APT_CONFIG points a
host apt-get called by its full path at empty folders of the image, where `update` finds
nothing to do and `install` cannot take dpkg's lock: the host's packages are never changed.
The image is made again at each service start, from the host as it is then.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import image_apt
from .ffmpeg import find_ffmpeg

# The packages the image's apt-get can install: name -> {program: where the kit has it}.
PACKAGES: dict[str, dict[str, Callable[[], str]]] = {
    "ffmpeg": {"ffmpeg": find_ffmpeg},
}
SHIMS = ("apt-get", "apt", "sudo")
ROLES = ("admin", "user")
# A host apt-get run by its full path reads this (APT_CONFIG): nothing of the host's is written.
# dpkg's lock is looked for in /sys, where even root cannot create it.
APT_CONF = """\
Dir::Etc "{etc}";
Dir::Etc::sourcelist "{etc}/sources.list";
Dir::Etc::sourceparts "{etc}/sources.list.d";
Dir::Etc::parts "{etc}/apt.conf.d";
Dir::Etc::preferencesparts "{etc}/preferences.d";
Dir::Etc::trustedparts "{etc}/trusted.gpg.d";
Dir::State "{state}";
Dir::State::Lists "{state}/lists";
Dir::State::status "/sys/localbatch-dpkg-status";
Dir::Cache "{cache}";
Dir::Log "{log}";
"""


@dataclass(frozen=True)
class Image:
    """A built image: the PATH that follows a node's own packages, by role, and APT_CONFIG."""
    path: dict[str, str]
    apt_config: str


def hidden_programs() -> set[str]:
    return {program for programs in PACKAGES.values() for program in programs} | set(SHIMS)


def host_path(folder: Path, host: str) -> list[str]:
    """The host's PATH, each folder that holds a hidden program replaced by a folder of links
    to the rest of what it holds."""
    hidden, out = hidden_programs(), []
    for number, entry in enumerate(filter(None, host.split(os.pathsep))):
        source = Path(entry)
        try:
            names = {p.name for p in source.iterdir()}
        except OSError:   # not there, or not a folder: the host's shell skips it too
            continue
        if not names & hidden:
            out.append(entry)
            continue
        view = folder / f"host-{number}"
        view.mkdir()
        for name in sorted(names - hidden):
            (view / name).symlink_to(source / name)
        out.append(str(view))
    return out


def _shim(path: Path, role: str, program: str) -> None:
    script = Path(image_apt.__file__).resolve()
    path.write_text(f"#!/bin/sh\nexec '{sys.executable}' -I '{script}' '{path.parent.parent}' "
                    f"{role} {program} \"$@\"\n")
    path.chmod(0o700)   # the state folder is the owner's alone


def build(folder: Path, host: str | None = None) -> Image:
    """Make the image in folder (emptied first) from the host's PATH."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "packages.json").write_text(json.dumps(
        {name: {program: os.path.abspath(find()) for program, find in programs.items()}
         for name, programs in PACKAGES.items()}))
    for role in ROLES:
        (folder / role).mkdir()
        for program in SHIMS:
            _shim(folder / role / program, role, program)
    rest = host_path(folder, os.environ.get("PATH", "") if host is None else host)
    apt = folder / "apt"
    dirs = {"etc": apt / "etc", "state": apt / "state", "cache": apt / "cache", "log": apt / "log"}
    for sub in ("apt.conf.d", "sources.list.d", "preferences.d", "trusted.gpg.d"):
        (dirs["etc"] / sub).mkdir(parents=True)
    (dirs["etc"] / "sources.list").write_text("")
    (dirs["state"] / "lists" / "partial").mkdir(parents=True)
    dirs["cache"].mkdir()
    dirs["log"].mkdir()
    (apt / "apt.conf").write_text(APT_CONF.format(**dirs))
    return Image({role: os.pathsep.join([str(folder / role), *rest]) for role in ROLES},
                 str(apt / "apt.conf"))
