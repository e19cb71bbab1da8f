"""Start and stop a localbatch instance: Azurite and the Batch service, in the background."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import tls
from .settings import retry_seconds, time_scale
from .statedir import (
    PROJECT_ROOT,
    STORAGE_ACCOUNT,
    UMASK,
    StateDir,
    exited,
    free_port,
    port_open,
)

START_TIMEOUT = 60
PROCESSES = (("azurite", "blob"), ("service", "batch"))   # name, port; started in this order


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


def up(state: StateDir, scheme: str | None = None) -> dict[str, str]:
    """Start whatever is not running yet (idempotent) and return the endpoints.

    `scheme` is https (the default) or http (`up --http`); None keeps what the folder served
    last, and a folder made before localbatch served https moves to https. LOCALBATCH_TIME_SCALE,
    when set, is the autoscale clock's speed (unset: what the folder ran last, else 1). An
    instance that serves another scheme or speed, or an old certificate, is restarted: Azurite flushes its blobs on
    SIGTERM, and the service requeues what was running.

    Azurite first, and the service only once Azurite answers: the service's recovery restarts
    the nodes at once, and their tasks upload. What runs already is left alone, so a crashed
    service never takes a healthy Azurite (and the uploads in flight to it) down with it."""
    try:
        retry_seconds()   # a bad value: said here, not as every task's failure
        scale = time_scale()
    except ValueError as exc:
        raise LocalBatchError(str(exc)) from None
    try:
        state.ensure()
    except PermissionError as exc:
        raise LocalBatchError(f"Cannot make the state folder private: {exc}. Make it yours "
                              "(chown) or pick another with --state-dir.") from None
    served = state.scheme()
    scheme = scheme or served or "https"
    renewed = scheme == "https" and certificates(state)[1]
    now = running(state)
    scale = scale or state.time_scale()
    if (served or "http") != scheme or renewed or scale != state.time_scale():
        down(state)
        now = dict.fromkeys(now, False)
    if all(now.values()):
        return state.endpoints()
    ports = {**state.ports(), "scheme": scheme, "time_scale": scale}
    for name, key in PROCESSES:
        if not now[key]:
            _stop(state, name)   # a process that lives but does not listen, if any
            ports[key] = _usable_port(ports[key])
    state.save_ports(ports)
    started = []
    try:
        for name, key in PROCESSES:
            if not now[key]:
                started.append(name)
                _wait_listening(state, name, _spawn(state, name, _command(state, name)),
                                ports[key])
    except LocalBatchError:
        for name in started:
            _stop(state, name)
        raise
    return state.endpoints()


def certificates(state: StateDir) -> tuple[tls.Files, bool]:
    """The folder's local CA and server certificate (made if missing), and whether they are new."""
    try:
        return tls.ensure(state.path / "tls")
    except tls.TLSError as exc:
        raise LocalBatchError(str(exc)) from None


def trust_variables(state: StateDir, environ: dict[str, str]) -> dict[str, str]:
    """REQUESTS_CA_BUNDLE and SSL_CERT_FILE, naming a bundle that adds the local CA to what
    `environ` trusts (nothing over http)."""
    if state.scheme() != "https":
        return {}
    try:
        bundle = str(tls.trust_bundle(certificates(state)[0], environ))
    except tls.TLSError as exc:
        raise LocalBatchError(str(exc)) from None
    return dict.fromkeys(tls.BUNDLE_VARIABLES, bundle)


def _command(state: StateDir, name: str) -> list[str]:
    https = state.scheme() == "https"
    if name == "azurite":
        files = tls.Files(state.path / "tls")   # up() made them, or found them sound
        secure = ["--cert", str(files.cert), "--key", str(files.key), "--oauth", "basic"]
        return [azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort",
                str(state.ports()["blob"]), "--location", str(state.path / "azurite"),
                *(secure if https else []),
                "--skipApiVersionCheck", "--disableTelemetry", "--silent"]
    return [sys.executable, "-m", "localbatch.server", "--state-dir", str(state.path)]


def _usable_port(port: int) -> int:
    """The port again, once a process killed a moment ago has let it go; else a free one (it
    was taken by another program since)."""
    deadline = time.monotonic() + 3
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return free_port() if port_open(port) else port


def _spawn(state: StateDir, name: str, argv: list[str]) -> subprocess.Popen:
    """Start one process in its own session, logging to logs/NAME.log, writing owner-only
    files (the nodes and tasks the service starts inherit the umask)."""
    env = dict(os.environ)
    if name == "azurite":
        env["AZURITE_ACCOUNTS"] = f"{STORAGE_ACCOUNT}:{state.keys()['storage_key']}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.update(trust_variables(state, env))   # the nodes' downloads and uploads trust the CA
    log = state.open_log(name)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                start_new_session=True, cwd=state.path, umask=UMASK)
    finally:
        os.close(log)
    state.save_pid(name, proc.pid)
    return proc


def _wait_listening(state: StateDir, name: str, proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            log = state.logs / f"{name}.log"
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            what = "exited" if proc.poll() is not None else f"did not listen within {START_TIMEOUT} s"
            hint = ""
            if name == "azurite" and state.scheme() == "https":
                hint = ("\nAzurite could not start with HTTPS and OAuth (--cert, --key, --oauth "
                        "basic): run `make setup` for the pinned Azurite 3.37, or start "
                        "localbatch with `python -m localbatch up --http` (no Microsoft Entra ID "
                        "then).")
            raise LocalBatchError(f"{name} {what} (port {port}); its log is {log}:\n{tail}{hint}")
        time.sleep(0.05)


def down(state: StateDir, timeout: float = 15) -> list[str]:
    """Stop the service (its nodes and their tasks with it) and Azurite; return what stopped."""
    return [name for name in ("service", "azurite") if _stop(state, name, timeout)]


def _stop(state: StateDir, name: str, timeout: float = 15) -> bool:
    """Stop one of them, if it runs; forget its pid either way."""
    pid = state.pid(name)
    if pid is not None:
        _terminate_group(pid, timeout)
    state.save_pid(name, None)
    return pid is not None


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
