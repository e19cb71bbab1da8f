"""The state folder: keys, ports, pids and logs of one localbatch instance."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

BATCH_ACCOUNT = "localbatch"
STORAGE_ACCOUNT = "localstore"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
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
        """Create the folder, its random keys (owner-only) and its ports, once."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        if not (self.path / "keys.json").exists():
            keys = {"batch_key": _random_key(), "storage_key": _random_key()}
            _write_private(self.path / "keys.json", keys)
        if not (self.path / "ports.json").exists():
            self.save_ports({"batch": free_port(), "blob": free_port()})

    def keys(self) -> dict:
        return json.loads((self.path / "keys.json").read_text())

    def ports(self) -> dict:
        return json.loads((self.path / "ports.json").read_text())

    def save_ports(self, ports: dict) -> None:
        (self.path / "ports.json").write_text(json.dumps(ports))

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
            target.write_text(str(pid))

    def endpoints(self) -> dict[str, str]:
        """The variables a client needs, named as the notebooks and the Azure samples read them."""
        keys, ports = self.keys(), self.ports()
        return {
            "BATCH_ACCOUNT_NAME": BATCH_ACCOUNT,
            "BATCH_ACCOUNT_URL": f"http://127.0.0.1:{ports['batch']}",
            "BATCH_ACCOUNT_KEY": keys["batch_key"],
            "STORAGE_ACCOUNT_NAME": STORAGE_ACCOUNT,
            "STORAGE_ACCOUNT_KEY": keys["storage_key"],
            "STORAGE_BLOB_URL": f"http://127.0.0.1:{ports['blob']}/{STORAGE_ACCOUNT}",
        }


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


def _write_private(path: Path, data: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
