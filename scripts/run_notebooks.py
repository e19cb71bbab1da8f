"""Run the tutorial's notebooks headless, in order, each in a fresh kernel (`make tutorial`).

Executed copies go to outputs/executed/ (the notebooks in notebooks/ are left as they are),
unless --in-place, which refreshes the committed outputs with clean metadata. If a notebook
fails, 08_cleanup still runs, so no pool is left behind.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import tempfile
import time
from pathlib import Path

import localbatch.lean_imports  # noqa: F401 (before nbformat: jsonschema without the IRI grammar)

# isort: split
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from notebook_metadata import normalise

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CLEANUP = "08_cleanup.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def clean(notebook: nbformat.NotebookNode) -> None:
    """Metadata as JupyterLab writes it (less the Python version), and no widget state: a
    widget shows as its text, a progress bar as its final line."""
    states = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    notebook.metadata = {}
    normalise(notebook)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).pop(WIDGET_VIEW, None)
            output.get("metadata", {}).pop(WIDGET_VIEW, None)
            final = progress_text(states, view["model_id"]) if view else None
            if final:
                output["data"]["text/plain"] = final


def progress_text(states: dict, model_id: str) -> str | None:
    """A tqdm bar's last state as tqdm prints it ("completed: 100%|██████████| 5/5"), from the
    widget state the kernel saved: the text output holds only the bar's first state."""
    children = states.get(model_id, {}).get("state", {}).get("children", [])
    parts = [states.get(c.removeprefix("IPY_MODEL_"), {}) for c in children]
    bars = [p["state"] for p in parts if p.get("model_name") == "FloatProgressModel"]
    texts = [html.unescape(p["state"].get("value", "")).replace("\u2007", " ").strip()
             for p in parts if p.get("model_name") == "HTMLModel"]
    if not bars or len(texts) < 2:
        return None
    done, total = bars[0].get("value", 0), bars[0].get("max", 0)
    filled = round(10 * done / total) if total else 0
    return f"{texts[0]}|{'█' * filled}{' ' * (10 - filled)}| {texts[1].split()[0]}"


def run(path: Path, target: Path, timeout: int) -> float:
    notebook = nbformat.read(path, as_version=4)
    started = time.monotonic()
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       # the kernel's own start-up notices are not the learner's business
                       extra_arguments=["--IPKernelApp.log_level=ERROR"],
                       # the kernel runs in the notebook's folder (its edition's language)
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        clean(notebook)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all, in order)")
    parser.add_argument("--in-place", action="store_true",
                        help="write the outputs into notebooks/ (to refresh committed outputs)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "executed")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--edition", choices=("en", "cs"), default="en",
                        help="the English notebooks, or the Czech ones in notebooks/cs")
    parser.add_argument("--fresh", action="store_true",
                        help="use a new localbatch, work folder and settings file, and stop the "
                             "service at the end (how the committed outputs are made)")
    args = parser.parse_args()
    if args.fresh:
        scratch = Path(tempfile.mkdtemp(prefix="batch-notebooks-"))
        os.environ.update(LOCALBATCH_HOME=str(scratch / "localbatch"), BATCH_TARGET="local",
                          BATCH_NOTEBOOKS_WORKDIR=str(scratch / "work"),
                          BATCH_NOTEBOOKS_ENV_FILE=str(scratch / "settings.env"))
    try:
        return run_all(args)
    finally:
        if args.fresh:
            from localbatch.control import down, state_dir
            down(state_dir())


def run_all(args: argparse.Namespace) -> int:
    folder = NOTEBOOKS / "cs" if args.edition == "cs" else NOTEBOOKS
    args.out = args.out / "cs" if args.edition == "cs" else args.out
    paths = [folder / name for name in args.names] if args.names else \
        sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    failed = None
    for path in paths:
        target = path if args.in_place else args.out / path.name
        try:
            seconds = run(path, target, args.timeout)
            print(f"✓ {path.stem:22} {seconds:6.1f} s")
        except CellExecutionError as exc:
            failed = path.name
            print(f"✗ {path.stem} failed: {exc.ename}: {exc.evalue}\n"
                  f"  The executed copy, with the whole error, is {target}", file=sys.stderr)
            break
    if failed and failed != CLEANUP and (folder / CLEANUP).exists():
        print("Running 08_cleanup so that nothing is left running…", file=sys.stderr)
        try:
            run(folder / CLEANUP, args.out / CLEANUP, args.timeout)
        except CellExecutionError as exc:
            print(f"✗ cleanup failed too: {exc.ename}: {exc.evalue}", file=sys.stderr)
    if failed:
        return 1
    from helpers.settings import workdir
    print(f"\nMP3 files:          {workdir() / 'mp3'}\n"
          f"Timing table (CSV): {workdir() / 'timings.csv'}\n"
          f"Executed notebooks: {folder if args.in_place else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
