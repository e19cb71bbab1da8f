"""The local image's apt-get, apt and sudo, as a node's tasks call them.

A start task on Azure installs what its tasks need with apt-get, as root. A local node is a
process on the learner's computer, so its apt-get never touches the host: `install` links a
package's programs from the kit (image.PACKAGES) into the node's own folder, which is first on
that node's PATH, and `update` has nothing to fetch. Without the admin elevation both fail as
apt does for a user who is not root. apt's messages are Debian 12's apt 2.6, as it printed them
here (run as root and as nobody); sudo's are sudo 1.9's wording, not checked here (no sudo).

Started by the image's shims as `python image_apt.py IMAGE_DIR ROLE PROGRAM ARGS...`: a script
by its path, with the standard library only, so a task's environment cannot break it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

FAILED = 100   # apt's exit code for every error
APT_WARNING = "\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n"
NO_OP = {"upgrade", "dist-upgrade", "full-upgrade", "clean", "autoclean", "autoremove"}
FLAGS = {"-y", "--yes", "--assume-yes", "-q", "-qq", "--quiet", "--no-install-recommends",
         "--install-recommends", "-f", "--fix-broken", "--fix-missing", "-m",
         "--allow-unauthenticated", "--allow-downgrades", "--allow-change-held-packages",
         "--no-upgrade", "--only-upgrade", "-s", "--simulate", "--dry-run", "--reinstall"}
LOCK_DENIED = {
    "update": ("E: Could not open lock file /var/lib/apt/lists/lock - open "
               "(13: Permission denied)\nE: Unable to lock directory /var/lib/apt/lists/\n"),
    "other": ("E: Could not open lock file /var/lib/dpkg/lock-frontend - open "
              "(13: Permission denied)\nE: Unable to acquire the dpkg frontend lock "
              "(/var/lib/dpkg/lock-frontend), are you root?\n"),
}


def packages_dir(node_root: str | os.PathLike[str]) -> Path:
    """Where a node keeps what its apt-get installed: beside the node's folder, so its file
    listing does not show it, and gone with the node."""
    return Path(f"{os.fspath(node_root)}.packages")


class AptError(Exception):
    """An apt error line (without its "E: "), after what apt printed before it."""

    def __init__(self, message: str, out: str = ""):
        super().__init__(message)
        self.out = out


class Aborted(Exception):
    """apt asked whether to go on, and a task cannot answer: exit 1, as apt does."""


def parse(args: list[str]) -> tuple[list[str], bool]:
    """The words that are not options, and whether the answer is yes (-y, or -o
    APT::Get::Assume-Yes=true)."""
    words, yes, rest = [], False, iter(args)
    for arg in rest:
        if arg in ("-o", "--option"):
            value = next(rest, "")
            yes |= value.lower() in ("apt::get::assume-yes=true", "apt::get::assume-yes=1")
        elif arg.startswith("-o") and not arg.startswith("--"):
            yes |= arg[2:].lower() in ("apt::get::assume-yes=true", "apt::get::assume-yes=1")
        elif arg.startswith("-"):
            if arg not in FLAGS:
                raise AptError(f"Command line option {arg} is not understood in combination "
                               "with the other options" if arg.startswith("--") else
                               f"Command line option '{arg[1:]}' [from {arg}] is not "
                               "understood in combination with the other options.")
            yes |= arg in ("-y", "--yes", "--assume-yes")
        else:
            words.append(arg)
    return words, yes


def install(names: list[str], yes: bool, packages: dict[str, dict[str, str]], into: Path) -> str:
    """Link each package's programs into the node's folder; what apt prints."""
    out = "Reading package lists...\nBuilding dependency tree...\nReading state information...\n"
    for name in names:
        if name not in packages:
            raise AptError(f"Unable to locate package {name}", out)
    bin_dir = into / "bin"
    new = [n for n in names if not all((bin_dir / p).exists() for p in packages[n])]
    for name in sorted(set(names) - set(new)):
        out += f"{name} is already the newest version (local).\n"
    if new:
        out += "The following NEW packages will be installed:\n  " + " ".join(new) + "\n"
    out += f"0 upgraded, {len(new)} newly installed, 0 to remove and 0 not upgraded.\n"
    if new and not yes:   # a real ffmpeg brings dependencies, so apt asks, and a task has no stdin
        raise Aborted(out + "Do you want to continue? [Y/n] Abort.\n")
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in new:
        for program, target in packages[name].items():
            link = bin_dir / program
            link.unlink(missing_ok=True)
            link.symlink_to(target)
        out += f"Setting up {name} (local) ...\n"
    return out


def remove(names: list[str], packages: dict[str, dict[str, str]], into: Path) -> str:
    for name in names:
        if name not in packages:
            raise AptError(f"Unable to locate package {name}")
        for program in packages[name]:
            (into / "bin" / program).unlink(missing_ok=True)
    return f"Removing {' '.join(names)} (local) ...\n" if names else ""


def apt(program: str, args: list[str], admin: bool, packages: dict[str, dict[str, str]],
        into: Path) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `program args` (apt-get or apt)."""
    err = APT_WARNING if program == "apt" else ""
    try:
        words, yes = parse(args)
        if not words:
            usage = f"{program}: the local image's {program}: {program} update | install PACKAGE"
            return 1, usage + "\n", err
        command, names = words[0], words[1:]
        if command not in ("update", "install", "remove", "purge", *NO_OP):
            raise AptError(f"Invalid operation {command}")
        if not admin:
            return FAILED, "Reading package lists...\n" if command == "update" else "", \
                err + LOCK_DENIED["update" if command == "update" else "other"]
        if command == "update":
            return 0, "Reading package lists... Done\n", err
        if command == "install":
            return 0, install(names, yes, packages, into), err
        if command in ("remove", "purge"):
            return 0, remove(names, packages, into), err
        return 0, "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n", err
    except AptError as exc:
        return FAILED, exc.out, err + f"E: {exc}\n"
    except Aborted as exc:
        return 1, str(exc), err


def sudo(args: list[str], admin: bool) -> None:
    """Run the command (an admin task is root already); a user without the elevation is asked
    for a password it cannot give."""
    while args and args[0].startswith("-"):
        args = args[2:] if args[0] in ("-u", "-g") else args[1:]
    if not admin:
        sys.stderr.write("sudo: a terminal is required to read the password; either use the -S "
                         "option to read from standard input or configure an askpass helper\n"
                         "sudo: a password is required\n")
        sys.exit(1)
    if not args:
        sys.stderr.write("usage: sudo command\n")
        sys.exit(1)
    try:
        os.execvp(args[0], args)
    except OSError:
        sys.stderr.write(f"sudo: {args[0]}: command not found\n")
        sys.exit(1)


def main(argv: list[str]) -> None:
    image, role, program, *args = argv
    admin = role == "admin"
    if program == "sudo":
        sudo(args, admin)
    packages = json.loads((Path(image) / "packages.json").read_text())
    code, out, err = apt(program, args, admin, packages,
                         packages_dir(os.environ.get("AZ_BATCH_NODE_ROOT_DIR", ".")))
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
