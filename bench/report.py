"""The results table, on the terminal and in bench/RESULTS.md, with the machine it was measured on.

Numbers only mean something beside the machine, the load on it and the code they measured,
so the file records the date, CPU, cores, RAM, OS, Python and commit with them.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import psutil

from .common import Row

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
MARK = {True: "yes", False: "NO", None: ""}


def machine() -> dict[str, str]:
    # the CPU's model name from /proc/cpuinfo: psutil has no equivalent
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor() or "unknown")
    mem_kib = psutil.virtual_memory().total / 1024   # /proc/meminfo's MemTotal
    os_name = platform.platform()
    if Path("/etc/os-release").exists():
        release = dict(line.split("=", 1) for line in
                       Path("/etc/os-release").read_text().splitlines() if "=" in line)
        os_name = f"{release.get('PRETTY_NAME', '').strip(chr(34))} ({platform.release()})"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           check=False, cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu, "cores": str(os.cpu_count()), "ram": f"{mem_kib / 1024 ** 2:.1f} GiB",
            "os": os_name, "python": platform.python_version(),
            "commit": commit + (" (with uncommitted changes)" if dirty else ""),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def table(rows: list[Row]) -> str:
    """A Markdown table: figure | value | target | met?"""
    lines = ["| figure | value | target | met? |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.figure.replace('|', '/')} | {r.value} | {r.target} | {MARK[r.met]} |"
              for r in rows]
    return "\n".join(lines)


def write(rows: list[Row], args: str, notes: list[str], info: dict[str, str]) -> str:
    """The table with its context, written to bench/RESULTS.md; returns the text."""
    text = "\n".join([
        "# Benchmark results",
        "",
        (f"Made by `make bench{' BENCH_ARGS=' + repr(args) if args else ''}` on {info['date']}, "
        f"commit {info['commit']}."),
        "",
        (f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['os']}, "
        f"Python {info['python']}. Load average when the run ended: {info['load']} "
        "(other work shared the machine: times are noisy, ratios measured side by side in "
        "one run are the figures to trust)."),
        "",
        table(rows),
        "",
        *notes,
        "",
    ])
    RESULTS.write_text(text)
    return text
