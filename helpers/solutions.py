"""Run All must not solve the exercises: a solution cell that is still closed runs as a hint.

JupyterLab sends a cell's metadata with each execute request, its tags and whether its code is
hidden (`jupyter.source_hidden`) among them. A cell tagged `solution` whose code is hidden is
one the learner has not opened, so the kernel runs a one-line hint in its place and shows no
answer. Opened (its code shown), it runs as written. Headless runs (nbval, `make tutorial`, the
grader) send no cell metadata, so they run every solution.
"""

from __future__ import annotations

import sys

from .language import tr


def hint() -> str:
    return tr("Solution closed: click its ••• to open it, then run this cell to see it.")


def closed_solution(metadata: dict) -> bool:
    hidden = (metadata.get("jupyter") or {}).get("source_hidden")
    return "solution" in (metadata.get("tags") or []) and bool(hidden)


def _hold_closed_solution(lines: list[str]) -> list[str]:
    kernel = getattr(sys.modules["IPython"].get_ipython(), "kernel", None)
    parent = kernel.get_parent("shell") if kernel is not None else {}
    if closed_solution(parent.get("metadata") or {}):
        return [f"print({hint()!r})\n"]
    return lines


def hold_closed_solutions() -> None:
    """In a Jupyter kernel, once: closed solution cells run as the hint. Elsewhere (a script,
    the tests) nothing, and IPython is not imported."""
    if "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    if _hold_closed_solution not in shell.input_transformers_post:
        shell.input_transformers_post.append(_hold_closed_solution)
