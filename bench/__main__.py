"""Run the benchmarks (`make bench`, or `python -m bench [--quick] [--only NAME ...]`).

Each benchmark starts its own localbatch in a temp folder and stops it after, so a learner's
running tutorial (.localbatch) is never touched. Nothing asserts a time: the run prints one
table (figure, value, target, met?) and writes it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import latency, pool_vs_ffmpeg, report, scale, tutorial

NOTES = [
    "How each figure is measured:",
    ("- *b / a*: (a) the notebooks' ffmpeg command, K at a time from a thread pool; (b) through "
    "localbatch with K one-slot nodes: upload to Azurite, pool start, one task per file with a "
    "SAS resource file and output files (as notebook 05), notebook 06's monitor, download. The "
    "service's own start (`localbatch up`) is not counted. Runs interleave a and b; the ratio "
    "is the median of each repeat's b/a."),
    ("- *where b's time goes*: wall-clock phases of (b); *tasks* runs from the tasks' creation "
    "to the last task's endTime, *monitor lag* from there to when the monitor saw it. *one "
    "task* splits executionInfo start→end by the task's files on the node: in.mp4 written "
    "(download), stdout.txt created (spawn), out.mp3 last written (ffmpeg), fileuploadout.txt "
    "written (upload), endTime (report). File times have the kernel's tick granularity (~4 ms)."),
    ("- *latency*: creationTime → executionInfo.startTime, and the task's own exit time "
    "(`date +%s.%N`, its last act, read back from stdout.txt) → endTime."),
    ("- *scale*: each run on a fresh localbatch; requests and bytes counted by a "
    "raw_response_hook on the watcher's client; peak RSS is the service's VmHWM."),
]

BENCHMARKS = ("pool", "latency", "scale", "tutorial")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer, shorter clips, fewer tasks and one repeat (development)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=BENCHMARKS)
    args = parser.parse_args()
    quick = args.quick
    plan = {
        "pool": lambda: pool_vs_ffmpeg.run(count=6 if quick else 20, seconds=20 if quick else 120,
                                           repeats=1 if quick else 5),
        "latency": lambda: latency.run(count=200, repeats=1 if quick else 3),
        "scale": lambda: scale.run(count=200 if quick else 1000, repeats=1 if quick else 3),
        "tutorial": lambda: tutorial.run(repeats=1),
    }
    rows = []
    for name in args.only:
        started = time.perf_counter()
        print(f"▶ {name}", flush=True)
        rows += plan[name]()
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    given = " ".join(sys.argv[1:])
    print("\n" + report.table(rows))
    report.write(rows, given, NOTES, report.machine())
    print(f"\nWritten to {report.RESULTS.relative_to(report.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
