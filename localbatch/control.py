"""Start and stop a localbatch instance: Azurite and the Batch service, in the background."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .statedir import PROJECT_ROOT, STORAGE_ACCOUNT, StateDir, exited, free_port, port_open

START_TIMEOUT = 60


class LocalBatchError(RuntimeError):
    """Something the user can fix; the message says what."""


def azurite_binary() -> str:
    """Azurite's blob server: AZURITE_BIN, the project's node_modules, else PATH."""
    candidates = [os.environ.get("AZURITE_BIN"),
                  str(PROJECT_ROOT / "node_modules" / ".bin" / "azurite-blob"),
                  shutil.which("azurite-blob")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise LocalBatchError("Azurite is not installed: run `make setup` (or `npm ci` in the "
                          "project folder), or set AZURITE_BIN to azurite-blob.")


def running(state: StateDir) -> dict[str, bool]:
    if not (state.path / "ports.json").exists():
        return {"batch": False, "blob": False}
    ports = state.ports()
    return {"batch": bool(state.pid("service")) and port_open(ports["batch"]),
            "blob": bool(state.pid("azurite")) and port_open(ports["blob"])}


def up(state: StateDir) -> dict[str, str]:
    """Start whatever is not running yet (idempotent) and return the endpoints."""
    state.ensure()
    now = running(state)
    if all(now.values()):
        return state.endpoints()
    down(state)
    ports = state.ports()
    for name in ports:   # a port taken by another program since last time: pick a new one
        deadline = time.monotonic() + 3  # (after a crash, give the dying process a moment)
        while port_open(ports[name]) and time.monotonic() < deadline:
            time.sleep(0.05)
        if port_open(ports[name]):
            ports[name] = free_port()
    state.save_ports(ports)
    blob = _spawn(state, "azurite", [
        azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(ports["blob"]),
        "--location", str(state.path / "azurite"), "--skipApiVersionCheck",
        "--disableTelemetry", "--silent"],
        {"AZURITE_ACCOUNTS": f"{STORAGE_ACCOUNT}:{state.keys()['storage_key']}"})
    service = _spawn(state, "service",
                     [sys.executable, "-m", "localbatch.server", "--state-dir", str(state.path)])
    try:
        _wait_listening(state, "azurite", blob, ports["blob"])
        _wait_listening(state, "service", service, ports["batch"])
    except LocalBatchError:
        down(state)
        raise
    return state.endpoints()


def _spawn(state: StateDir, name: str, argv: list[str], extra_env: dict | None = None
           ) -> subprocess.Popen:
    env = {**os.environ, **(extra_env or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    with open(state.logs / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                start_new_session=True, cwd=state.path)
    state.save_pid(name, proc.pid)
    return proc


def _wait_listening(state: StateDir, name: str, proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            log = state.logs / f"{name}.log"
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            what = "exited" if proc.poll() is not None else f"did not listen within {START_TIMEOUT} s"
            raise LocalBatchError(f"{name} {what} (port {port}); its log is {log}:\n{tail}")
        time.sleep(0.05)


def down(state: StateDir, timeout: float = 15) -> list[str]:
    """Stop the service (its nodes and their tasks with it) and Azurite; return what stopped."""
    stopped = []
    for name in ("service", "azurite"):
        pid = state.pid(name)
        if pid is None:
            state.save_pid(name, None)
            continue
        _terminate_group(pid, timeout)
        state.save_pid(name, None)
        stopped.append(name)
    return stopped


def _terminate_group(pid: int, timeout: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        if _reaped(pid) or exited(pid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reaped(pid: int) -> bool:
    """Reap our own child if it exited (a zombie still answers kill 0)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def state_dir(path: str | Path | None = None) -> StateDir:
    from .statedir import default_path
    return StateDir(Path(path) if path else default_path())
