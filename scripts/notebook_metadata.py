"""The notebooks' metadata as JupyterLab writes it, minus what differs between machines.

Opening a notebook in JupyterLab rewrites its kernelspec and language_info from the running
kernel, Python's version included. The committed notebooks carry the same fields without that
version, and `make setup` installs this script as a git clean filter (see .gitattributes), so a
notebook that was only opened and saved shows no change in `git status`.

As a filter: `python scripts/notebook_metadata.py < notebook.ipynb > normalised.ipynb`.
"""

from __future__ import annotations

import json
import sys

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}


def normalise(notebook: dict) -> dict:
    """Set the stable metadata, drop per-run cell metadata (execution timings), and mark a cell
    whose outputs are hidden `collapsed`, as JupyterLab does when it saves."""
    notebook["metadata"] = {**notebook.get("metadata", {}), "kernelspec": dict(KERNELSPEC),
                            "language_info": dict(LANGUAGE_INFO)}
    for cell in notebook.get("cells", []):
        metadata = cell.setdefault("metadata", {})
        metadata.pop("execution", None)
        if metadata.get("jupyter", {}).get("outputs_hidden"):
            metadata["collapsed"] = True
    return notebook


def main() -> int:
    text = sys.stdin.read()
    try:
        notebook = json.loads(text)
    except ValueError:  # not a notebook we can read: leave it to git as it is
        sys.stdout.write(text)
        return 0
    sys.stdout.write(json.dumps(normalise(notebook), sort_keys=True, indent=1,
                                ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
