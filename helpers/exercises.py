"""An exercise's check: one line, ✓ and what was done, or ✗ and the one thing that is missing.
`make grade` (scripts/grade.py) reads these lines from the cells whose id ends in -check."""

from __future__ import annotations


def check(done: str, ok: bool, missing: str) -> None:
    print(f"✓ {done}" if ok else f"✗ {done}: {missing}")
