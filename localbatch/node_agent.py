"""One compute node: a process that runs the start task and tasks it is sent, one process group each.

The service talks to it over stdin/stdout, one JSON object per line. Killing this process is
losing the node: the service then kills the process groups the node reported as started (no
pre-exec hook here, so Python starts task processes the fast way).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import traceback
from pathlib import Path

from . import transfers
from .transfers import Failure

_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux; a no-op elsewhere)."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


async def exited(process: subprocess.Popen) -> int:
    """Wait for a process to end without a thread per child: on Linux its pidfd turns readable
    when it exits, so a burst of exits is seen in one turn of the event loop."""
    if not hasattr(os, "pidfd_open"):
        return await asyncio.to_thread(process.wait)
    loop = asyncio.get_running_loop()
    ended = loop.create_future()
    fd = os.pidfd_open(process.pid)
    loop.add_reader(fd, lambda: ended.done() or ended.set_result(None))
    try:
        await ended
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    return process.wait()


class Agent:
    def __init__(self, args: argparse.Namespace):
        self.root = Path(args.root)
        self.base_env = {
            "PATH": os.pathsep.join(filter(None, [args.bin_dir, os.environ.get("PATH", "")])),
            "HOME": os.environ.get("HOME", str(self.root)),
            "AZ_BATCH_ACCOUNT_NAME": args.account_name,
            "AZ_BATCH_ACCOUNT_URL": args.account_url,
            "AZ_BATCH_POOL_ID": args.pool_id,
            "AZ_BATCH_NODE_ID": args.node_id,
            "AZ_BATCH_NODE_IS_DEDICATED": "true" if args.dedicated else "false",
            "AZ_BATCH_NODE_ROOT_DIR": str(self.root),
            "AZ_BATCH_NODE_SHARED_DIR": str(self.root / "shared"),
            "AZ_BATCH_NODE_STARTUP_DIR": str(self.root / "startup"),
            "AZ_BATCH_NODE_MOUNTS_DIR": str(self.root / "fsmounts"),
        }
        self.running: dict[str, subprocess.Popen] = {}
        self.spawning = asyncio.Lock()   # one spawn per turn of the event loop
        self.active: set[str] = set()   # tasks between "run" and "done"
        self.killed: set[str] = set()
        self.jobs: set[asyncio.Task] = set()

    def emit(self, event: dict) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    async def main(self) -> None:
        for sub in ("shared", "startup", "fsmounts", "workitems", "volatile", "applications"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        reader = asyncio.StreamReader(limit=1 << 24)
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        self.emit({"ev": "ready"})
        while line := await reader.readline():
            message = json.loads(line)
            op = message["op"]
            if op == "run":
                self.spawn(self.run_task(message["key"], message["spec"]))
            elif op == "start_task":
                self.spawn(self.run_start_task(message["spec"]))
            elif op == "kill":
                self.kill(message["key"])
            elif op == "shutdown":
                break
        for key in list(self.running):
            self.kill(key)

    def spawn(self, coro) -> None:
        job = asyncio.ensure_future(coro)
        self.jobs.add(job)
        job.add_done_callback(self.jobs.discard)

    def kill(self, key: str) -> None:
        """End a task: its process group if it runs, else it never starts (still downloading)."""
        if key in self.active:
            self.killed.add(key)
        process = self.running.get(key)
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    async def execute(self, key: str, spec: dict, task_dir: Path, env: dict[str, str]
                      ) -> int | None:
        """Download, run and return the exit code (None if the process never started).

        Whatever breaks on the node becomes the task's failure ("Unknown", as the service says
        when it cannot tell), never a task left running; the node's log gets the frames, not
        the message (it may hold a SAS)."""
        try:
            return await self._execute(key, spec, task_dir, env)
        except Failure:
            raise
        except Exception as exc:  # noqa: BLE001 (see the docstring)
            sys.stderr.write(f"task {key} failed on the node: {exc.__class__.__name__}\n" + "".join(
                f"  {f.filename}:{f.lineno} in {f.name}\n"
                for f in traceback.extract_tb(exc.__traceback__)))
            sys.stderr.flush()
            raise Failure("servererror", "Unknown",
                          f"The node could not run the task ({exc.__class__.__name__}); the "
                          "node's log has where it failed.") from None

    async def _execute(self, key: str, spec: dict, task_dir: Path, env: dict[str, str]
                       ) -> int | None:
        wd = task_dir / "wd"
        wd.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(transfers.download_resource_files,
                                spec.get("resourceFiles") or [], wd)
        try:
            argv = shlex.split(spec["commandLine"])
        except ValueError as exc:
            raise Failure("usererror", "CommandLineInvalid",
                          f"The command line could not be split into words: {exc}.") from None
        program = argv[0] if argv else ""
        if "/" not in program:
            program = shutil.which(program, path=env["PATH"]) or ""
        if not program or not os.access(program, os.X_OK):
            raise Failure("usererror", "CommandProgramNotFound",
                          f"The program '{argv[0] if argv else ''}' was not found or is not "
                          "executable.")
        async with self.spawning:
            if key in self.killed:   # ended while its files downloaded
                return None
            with open(task_dir / "stdout.txt", "wb") as out, \
                    open(task_dir / "stderr.txt", "wb") as err:
                try:
                    process = subprocess.Popen(  # noqa: ASYNC220 (asyncio does the same, plus a thread)
                        [program, *argv[1:]], cwd=wd, env=env, stdin=subprocess.DEVNULL,
                        stdout=out, stderr=err, start_new_session=True)
                except OSError as exc:   # e.g. a script without a #! line: Exec format error
                    raise Failure("usererror", "CommandLaunchFailed",
                                  f"The program '{argv[0]}' could not be started: "
                                  f"{exc.strerror}.") from None
            self.running[key] = process
            self.emit({"ev": "started", "key": key, "pid": process.pid})
            await asyncio.sleep(0)   # let the loop see other tasks' exits before the next spawn
        limit = spec.get("maxWallClockSeconds")
        try:
            code = await asyncio.wait_for(exited(process), timeout=limit)
        except asyncio.TimeoutError:
            self.kill(key)
            self.killed.discard(key)  # ended by its constraint, not by the service
            await exited(process)
            raise Failure("usererror", "MaxWallClockTimeExpiry",
                          "The task ran longer than its maxWallClockTime constraint and was "
                          "terminated.") from None
        finally:
            self.running.pop(key, None)
        return code if code >= 0 else 128 - code

    async def run_task(self, key: str, spec: dict) -> None:
        self.active.add(key)
        try:
            await self._run_task(key, spec)
        finally:
            self.active.discard(key)

    async def _run_task(self, key: str, spec: dict) -> None:
        task_dir = self.root / spec["taskDir"]
        env = {**self.base_env, "AZ_BATCH_TASK_DIR": str(task_dir),
               "AZ_BATCH_TASK_WORKING_DIR": str(task_dir / "wd"), **spec.get("env", {})}
        exit_code, failure = None, None
        try:
            exit_code = await self.execute(key, spec, task_dir, env)
        except Failure as exc:
            failure = exc
        if key in self.killed:
            self.killed.discard(key)
            self.emit({"ev": "done", "key": key, "killed": True, "exitCode": exit_code})
            return
        if failure is None and exit_code not in (None, 0):
            failure = Failure("usererror", "FailureExitCode",
                              "The task process exited with an unexpected exit code",
                              {"Message": f"The task process exited with an unexpected exit code "
                                          f"{exit_code}"})
        if exit_code is not None and spec.get("outputFiles"):
            log: list[str] = []
            try:
                await asyncio.to_thread(transfers.upload_output_files, spec["outputFiles"],
                                        task_dir / "wd", exit_code, log)
            except Failure as exc:
                failure = exc
            (task_dir / "fileuploadout.txt").write_text("\n".join(log) + "\n")
            (task_dir / "fileuploaderr.txt").write_text(
                (failure.message + "\n") if failure and failure.code.startswith("FileUpload")
                else "")
        self.emit({"ev": "done", "key": key, "exitCode": exit_code,
                   "failure": failure.as_info() if failure else None})

    async def run_start_task(self, spec: dict) -> None:
        task_dir = self.root / "startup"
        env = {**self.base_env, "AZ_BATCH_TASK_DIR": str(task_dir),
               "AZ_BATCH_TASK_WORKING_DIR": str(task_dir / "wd"), **spec.get("env", {})}
        retries = spec.get("maxTaskRetryCount", 0)
        attempt = 0
        while True:
            self.emit({"ev": "starttask", "state": "running", "retryCount": attempt})
            exit_code, failure = None, None
            try:
                exit_code = await self.execute("startup", spec, task_dir, env)
            except Failure as exc:
                failure = exc.as_info()
            if exit_code == 0 or failure or (retries != -1 and attempt >= retries):
                break
            attempt += 1
        self.emit({"ev": "starttask", "state": "completed", "retryCount": attempt,
                   "exitCode": exit_code, "failure": failure})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("root", "node-id", "pool-id", "account-name", "account-url", "bin-dir"):
        parser.add_argument(f"--{name}", required=name != "bin-dir", default="")
    parser.add_argument("--dedicated", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(Agent(args).main())


if __name__ == "__main__":
    main()
