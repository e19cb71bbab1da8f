"""One compute node: a process that runs the start task and tasks it is sent, one process group each.

The service talks to it over stdin/stdout, one JSON object per line. A task's process group is
killed when its first process exits, when the task is terminated, and when the node stops (a
shutdown message or SIGTERM), so background children (`cmd &`) end with their task. A child
that leaves its group (`setsid`) lives until the node stops, where it is found by the node's
root in its environment (Linux; one that also clears its environment escapes). Killing this
process with SIGKILL is losing the node: the service then kills the process groups the node
reported as started (no pre-exec hook here, so Python starts task processes the fast way).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil  # every pid, to find what tasks left behind

from . import image_apt, protocol, transfers
from .secrecy import frames
from .transfers import Failure

WORD_PART = re.compile(r"""
    (?P<space>[ \t\r\n]+)
  | '(?P<single>[^']*)'
  | "(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"
  | \\(?P<escaped>.)
  | (?P<plain>[^ \t\r\n'"\\]+)""", re.VERBOSE | re.DOTALL)
ESCAPE_IN_DOUBLE = re.compile(r'\\(.)', re.DOTALL)


def split_command_line(text: str) -> list[str]:
    """Split a command line into words as shlex.split does (POSIX rules), in linear time:
    shlex grows each word a character at a time, so a 1 MB word took seconds."""
    words: list[str] = []
    word: list[str] | None = None   # None between words; [] is an empty quoted word
    pos = 0
    while pos < len(text):
        part = WORD_PART.match(text, pos)
        if part is None:
            raise ValueError("No escaped character" if text[pos] == "\\" else
                             "No closing quotation")
        pos = part.end()
        kind = part.lastgroup
        if kind == "space":
            if word is not None:
                words.append("".join(word))
            word = None
            continue
        piece = part.group(kind)
        if kind == "double":
            piece = ESCAPE_IN_DOUBLE.sub(
                lambda m: m.group(1) if m.group(1) in '"\\' else m.group(0), piece)
        if word is None:
            word = []
        word.append(piece)
    if word is not None:
        words.append("".join(word))
    return words


def end_strays(root: Path) -> None:
    """Kill what this node's tasks left outside their groups (`setsid cmd &`): every process
    whose environment names this node's root (where psutil can read other processes'
    environments: Linux). Run as the node stops."""
    for pid in psutil.pids():
        if pid != os.getpid() and protocol.carries(pid, f"AZ_BATCH_NODE_ROOT_DIR={root}"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def unknown_failure(key: str, exc: Exception) -> Failure:
    """A task's failure for a bug on the node ("Unknown", as the service says when it cannot
    tell); the node's log gets where it happened, never the message (it may hold a SAS)."""
    sys.stderr.write(f"task {key} failed on the node: {frames(exc)}\n")
    sys.stderr.flush()
    return Failure("servererror", "Unknown", f"The node could not run the task "
                   f"({exc.__class__.__name__}); the node's log has where it failed.")


def end_group(pgid: int) -> None:
    """Kill a task's whole process group (it may be gone already)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


async def reap_task(process: subprocess.Popen) -> int:
    """Wait for a task's first process to end, kill what it left in its group, and reap it.

    The group is killed while the first process is a zombie, so its pid (the group's id) cannot
    have been reused. On Linux its pidfd turns readable when it exits, so a burst of exits is
    seen in one turn of the event loop; elsewhere a thread waits without reaping (WNOWAIT), or,
    without waitid (macOS before Python 3.13), reaps first: a group id stays reserved while the
    group has members, so only an empty group's id could have been taken meanwhile."""
    if hasattr(os, "pidfd_open"):
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        fd = os.pidfd_open(process.pid)
        loop.add_reader(fd, lambda: ended.done() or ended.set_result(None))
        try:
            await ended
        finally:
            loop.remove_reader(fd)
            os.close(fd)
    elif hasattr(os, "waitid"):
        if process.returncode is None:
            await asyncio.to_thread(os.waitid, os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    else:
        await asyncio.to_thread(process.wait)
    end_group(process.pid)
    return process.wait()


class Agent:
    """This node's agent process: runs what the service sends it and reports back (the
    service's side is nodes.NodeManager, which starts it with nodes.AgentSettings)."""

    def __init__(self, args: argparse.Namespace):
        self.root = Path(args.root)
        own = str(image_apt.packages_dir(self.root) / "bin")
        self.paths = {True: os.pathsep.join([own, args.path_admin]),
                      False: os.pathsep.join([own, args.path_user])}
        self.base_env = {
            "HOME": os.environ.get("HOME", str(self.root)),
            "APT_CONFIG": args.apt_config,
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
        self.pending: set[asyncio.Task] = set()   # asyncio tasks (runs, the start task)

    def task_env(self, spec: dict, task_dir: Path) -> dict[str, str]:
        """A task's environment: the image's PATH for its elevation, then its own settings."""
        env = {**self.base_env, "PATH": self.paths[bool(spec.get("admin"))],
               "AZ_BATCH_TASK_DIR": str(task_dir), "AZ_BATCH_TASK_WORKING_DIR": str(task_dir / "wd")}
        if spec.get("jobPrepDir"):   # a task of a job with a preparation task (Learn's variables)
            env.update(AZ_BATCH_JOB_PREP_DIR=str(self.root / spec["jobPrepDir"]),
                       AZ_BATCH_JOB_PREP_WORKING_DIR=str(self.root / spec["jobPrepDir"] / "wd"))
        return {**env, **spec.get("env", {})}

    def emit(self, event: dict) -> None:
        sys.stdout.write(protocol.encode(event).decode())
        sys.stdout.flush()

    async def main(self) -> None:
        for sub in ("shared", "startup", "fsmounts", "workitems", "volatile", "applications"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        reader = asyncio.StreamReader(limit=1 << 24)
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
        self.emit(protocol.ready())
        try:
            while line := await reader.readline():
                message = protocol.decode(line)
                op = message["op"]
                if op == protocol.RUN:
                    self.spawn(self.run_task(message["key"], message["spec"]))
                elif op == protocol.START_TASK:
                    self.spawn(self.run_start_task(message["spec"]))
                elif op == protocol.KILL:
                    self.kill(message["key"])
                elif op == protocol.SHUTDOWN:
                    break
        except asyncio.CancelledError:   # SIGTERM (`localbatch down`): stop as on shutdown
            pass
        finally:
            self.killed.update(self.active)   # still downloading: never start
            for key in list(self.running):
                self.kill(key)
            end_strays(self.root)

    def spawn(self, coro) -> None:
        work = asyncio.ensure_future(coro)
        self.pending.add(work)
        work.add_done_callback(self.pending.discard)

    def kill(self, key: str) -> None:
        """End a task: its process group if it runs, else it never starts (still downloading)."""
        if key in self.active:
            self.killed.add(key)
        process = self.running.get(key)
        if process is not None and process.returncode is None:   # reaped: its pid may be reused
            end_group(process.pid)

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
            raise unknown_failure(key, exc) from None

    async def _execute(self, key: str, spec: dict, task_dir: Path, env: dict[str, str]
                       ) -> int | None:
        wd = task_dir / "wd"
        wd.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(transfers.download_resource_files,
                                spec.get("resourceFiles") or [], wd, lambda: key in self.killed)
        try:
            argv = split_command_line(spec["commandLine"])
        except ValueError as exc:
            raise Failure("usererror", "CommandLineInvalid",
                          f"The command line could not be split into words: {exc}.") from None
        program = argv[0] if argv else ""
        if "/" not in program:
            program = shutil.which(program, path=env["PATH"]) or ""
        elif not os.path.isabs(program):   # ./run.sh: in the task's working directory
            program = str(wd / program)
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
            self.emit(protocol.started(key, process.pid))
            await asyncio.sleep(0)   # let the loop see other tasks' exits before the next spawn
        limit = spec.get("maxWallClockSeconds")
        try:
            code = await asyncio.wait_for(reap_task(process), timeout=limit)
        except asyncio.TimeoutError:
            self.kill(key)
            self.killed.discard(key)  # ended by its constraint, not by the service
            await reap_task(process)
            raise Failure("usererror", "MaxWallClockTimeExpiry",
                          "The task ran longer than its maxWallClockTime constraint and was "
                          "terminated.") from None
        finally:
            self.running.pop(key, None)
        return code if code >= 0 else 128 - code

    async def run_task(self, key: str, spec: dict) -> None:
        """Run a task and always report its end: a failure outside the process's run (writing
        the upload logs, say) ends it as Unknown instead of leaving it running forever."""
        self.active.add(key)
        try:
            await self._run_task(key, spec)
        except Exception as exc:  # noqa: BLE001 (see the docstring)
            self.emit(protocol.done(key, None, unknown_failure(key, exc).as_info()))
        finally:
            self.active.discard(key)

    async def _run_task(self, key: str, spec: dict) -> None:
        task_dir = self.root / spec["taskDir"]
        env = self.task_env(spec, task_dir)
        exit_code, failure = None, None
        try:
            exit_code = await self.execute(key, spec, task_dir, env)
        except Failure as exc:
            failure = exc
        if key in self.killed:
            self.killed.discard(key)
            self.emit(protocol.done(key, exit_code, killed=True))
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
                                        task_dir / "wd", exit_code, log,
                                        lambda: key in self.killed)
            except Failure as exc:
                failure = exc
            (task_dir / "fileuploadout.txt").write_text("\n".join(log) + "\n")
            (task_dir / "fileuploaderr.txt").write_text(
                (failure.message + "\n") if failure and failure.code.startswith("FileUpload")
                else "")
        self.emit(protocol.done(key, exit_code, failure.as_info() if failure else None))

    async def run_start_task(self, spec: dict) -> None:
        task_dir = self.root / "startup"
        env = self.task_env(spec, task_dir)
        retries = spec.get("maxTaskRetryCount", 0)
        attempt = 0
        while True:
            self.emit(protocol.start_task_state("running", attempt))
            exit_code, failure = None, None
            try:
                exit_code = await self.execute(protocol.START_TASK_KEY, spec, task_dir, env)
            except Failure as exc:
                failure = exc.as_info()
            if exit_code == 0 or failure or (retries != -1 and attempt >= retries):
                break
            attempt += 1
        self.emit(protocol.start_task_state("completed", attempt, exit_code, failure))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("root", "node-id", "pool-id", "account-name", "account-url", "path-admin",
                 "path-user", "apt-config"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--dedicated", action="store_true")
    args = parser.parse_args(argv)
    asyncio.run(Agent(args).main())


if __name__ == "__main__":
    main()
