"""The state folder: keys, ports, pids and logs of one localbatch instance.

It holds SAS URLs, keys and the learner's blobs, so it is the owner's only: 0700 folders,
files without group or other permissions (UMASK for every process that writes in it).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil  # whether a pid is a zombie, portably (no /proc on macOS)

from . import tokens

BATCH_ACCOUNT = "localbatch"
STORAGE_ACCOUNT = "localstore"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
UMASK = 0o077


def default_path() -> Path:
    """LOCALBATCH_HOME, else .localbatch in the project (or the current folder if installed)."""
    if os.environ.get("LOCALBATCH_HOME"):
        return Path(os.environ["LOCALBATCH_HOME"])
    base = PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()
    return base / ".localbatch"


def exited(pid: int) -> bool:
    """Exited but not yet reaped (a zombie): not running, though `kill 0` still finds it.

    A killed process's threads may still be closing its sockets for a moment after this.
    """
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:   # gone (or reaped), or not ours to look at
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    """Whether something listens on this loopback port.

    A connect to a free port in the ephemeral range can, now and then, connect the socket to
    itself (TCP simultaneous open); that is not a listener, and it would hold the port.
    """
    with socket.socket() as sock:
        sock.settimeout(0.5)
        if sock.connect_ex(("127.0.0.1", port)) != 0:
            return False
        return sock.getsockname() != sock.getpeername()


@dataclass
class StateDir:
    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path).absolute()

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    def ensure(self) -> None:
        """Create the folder, its random keys and its ports, once; make it all owner-only."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs.mkdir(mode=0o700, exist_ok=True)
        self.tighten()
        keys = self.keys() if (self.path / "keys.json").exists() else {}
        missing = {name: make() for name, make in KEYS.items() if name not in keys}
        if missing:   # a new folder, or one made before the kit signed its own tokens
            write_private(self.path / "keys.json", json.dumps({**keys, **missing}))
        if not (self.path / "ports.json").exists():
            self.save_ports({"batch": free_port(), "blob": free_port()})

    def tighten(self) -> None:
        """Take group and other permissions off the folder and everything in it (a folder made
        before localbatch kept it private). Symbolic links are left alone: their targets may
        be anywhere (the ffmpeg in bin/ is the kit's). The folder itself goes last, so a
        private folder means a finished walk, and the next `up` need not walk again."""
        if not self.path.stat().st_mode & 0o077:
            return
        for folder, subfolders, files in os.walk(self.path):
            for name in [*subfolders, *files]:
                _owner_only(os.path.join(folder, name))
        _owner_only(str(self.path))

    def open_log(self, name: str) -> int:
        """A log file descriptor to append to, owner-only."""
        return os.open(self.logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def keys(self) -> dict:
        return json.loads((self.path / "keys.json").read_text())

    def ports(self) -> dict:
        return json.loads((self.path / "ports.json").read_text())

    def identity(self) -> tokens.Identity:
        keys = self.keys()
        return tokens.Identity(keys["tenant_id"], keys["object_id"], keys["token_key"])

    def scheme(self) -> str | None:
        """What the instance serves (or last served): https, http by `up --http`, or None for
        a folder made before localbatch served https (its instance, if any, serves http)."""
        return self.ports().get("scheme") if (self.path / "ports.json").exists() else None

    def time_scale(self) -> float:
        """How many times faster the instance's autoscale clock runs (`up` with
        LOCALBATCH_TIME_SCALE; 1 as on Azure)."""
        if not (self.path / "ports.json").exists():
            return 1.0
        return float(self.ports().get("time_scale", 1))

    def save_ports(self, ports: dict) -> None:
        write_private(self.path / "ports.json", json.dumps(ports))

    def pid(self, name: str) -> int | None:
        try:
            pid = int((self.path / f"{name}.pid").read_text())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return None if exited(pid) else pid

    def save_pid(self, name: str, pid: int | None) -> None:
        target = self.path / f"{name}.pid"
        if pid is None:
            target.unlink(missing_ok=True)
        else:
            write_private(target, str(pid))

    def endpoints(self) -> dict[str, str]:
        """The variables a client needs, named as the notebooks read them, then as the Azure
        SDKs' snippets (AZURE_BATCH_ACCOUNT_*, AZURE_STORAGE_ACCOUNT_*) and the Azure CLI
        (AZURE_BATCH_ENDPOINT, _ACCOUNT, _ACCESS_KEY) read them, with the same values; over
        https also where ManagedIdentityCredential asks for a token (App Service's protocol)."""
        keys, ports = self.keys(), self.ports()
        scheme = ports.get("scheme") or "http"
        kit = {
            "BATCH_ACCOUNT_NAME": BATCH_ACCOUNT,
            "BATCH_ACCOUNT_URL": f"{scheme}://127.0.0.1:{ports['batch']}",
            "BATCH_ACCOUNT_KEY": keys["batch_key"],
            "STORAGE_ACCOUNT_NAME": STORAGE_ACCOUNT,
            "STORAGE_ACCOUNT_KEY": keys["storage_key"],
            "STORAGE_BLOB_URL": f"{scheme}://127.0.0.1:{ports['blob']}/{STORAGE_ACCOUNT}",
        }
        aliases = {alias: kit[name] for alias, name in ALIASES.items()}
        if scheme != "https":
            return {**kit, **aliases}
        return {**kit, **aliases,
                "IDENTITY_ENDPOINT": f"{kit['BATCH_ACCOUNT_URL']}{tokens.IDENTITY_PATH}",
                "IDENTITY_HEADER": keys["identity_header"]}

ALIASES = {   # another program's name for one of the kit's variables
    "AZURE_BATCH_ACCOUNT_NAME": "BATCH_ACCOUNT_NAME", "AZURE_BATCH_ACCOUNT_URL": "BATCH_ACCOUNT_URL",
    "AZURE_BATCH_ACCOUNT_KEY": "BATCH_ACCOUNT_KEY", "AZURE_STORAGE_ACCOUNT_NAME": "STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY": "STORAGE_ACCOUNT_KEY",
    "AZURE_BATCH_ENDPOINT": "BATCH_ACCOUNT_URL", "AZURE_BATCH_ACCOUNT": "BATCH_ACCOUNT_NAME",
    "AZURE_BATCH_ACCESS_KEY": "BATCH_ACCOUNT_KEY",
}


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


KEYS = {   # the folder's secrets and ids, each made once
    "batch_key": _random_key, "storage_key": _random_key,
    "token_key": _random_key, "identity_header": lambda: secrets.token_urlsafe(32),
    "tenant_id": lambda: str(uuid.uuid4()), "object_id": lambda: str(uuid.uuid4()),
}


def write_private(path: Path, data: str | bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)   # a file made before, with wider permissions
        out.write(data.encode() if isinstance(data, str) else data)


def _owner_only(path: str) -> None:
    """chmod go-rwx, unless it is a link or is gone already (a task's file, deleted meanwhile)."""
    try:
        mode = os.lstat(path).st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            os.chmod(path, stat.S_IMODE(mode) & 0o700)
    except FileNotFoundError:
        pass
