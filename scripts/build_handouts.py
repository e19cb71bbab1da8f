"""Workshop handouts (`make handouts`): the executed notebooks as HTML with an index page, and
practice copies with outputs cleared and the exercises' solutions taken out.

Every page is a single file (plots are embedded images), so the handouts open from a file
manager or a USB stick with no server and no network.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

import mistune
import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
PITFALLS = ROOT / "docs" / "what-the-original-sample-got-wrong.md"
CDN_SCRIPT = re.compile(r'<script src="https://[^"]*"[^>]*>\s*</script>')
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.3rem .5rem;
vertical-align:top}} code{{background:#f3f3f3;padding:0 .2rem}}</style></head>
<body>{body}</body></html>
"""


def title_and_summary(notebook: nbformat.NotebookNode) -> tuple[str, str]:
    """The first heading, and the first sentence of the paragraph under it."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            heading, _, rest = cell.source.strip().partition("\n")
            paragraph = re.split(r"\n\s*\n", rest.strip())[0].replace("\n", " ")
            sentence = re.split(r"(?<=[.!?])\s", paragraph)[0].rstrip(":")
            return heading.lstrip("# ").strip(), re.sub(r"[*`]", "", sentence)
    return "", ""


def practice_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Outputs cleared; solution cells (first line '# Solution') taken out."""
    copy = nbformat.from_dict(notebook)
    copy.cells = [c for c in copy.cells
                  if not (c.cell_type == "code" and c.source.lstrip().startswith("# Solution"))]
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return copy


def build(source: Path, out: Path) -> Path:
    paths = sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise SystemExit(f"No notebooks in {source}: run `make tutorial` first.")
    (out / "practice").mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    rows = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(notebook)
        body = CDN_SCRIPT.sub("", body)  # require.js and MathJax: not needed, and offline
        (out / f"{path.stem}.html").write_text(body, encoding="utf-8")
        nbformat.write(practice_copy(notebook), out / "practice" / path.name)
        title, summary = title_and_summary(notebook)
        rows.append(f'<li><a href="{path.stem}.html">{html.escape(title)}</a>: '
                    f'{html.escape(summary)} (<a href="practice/{path.name}">practice copy</a>)</li>')
    pitfalls = mistune.html(PITFALLS.read_text(encoding="utf-8"))
    (out / "what-the-original-sample-got-wrong.html").write_text(
        PAGE.format(title="What the original sample got wrong", body=pitfalls), encoding="utf-8")
    index = ("<h1>Batch Notebooks: handouts</h1><p>Convert videos in parallel with Azure Batch, "
             "one notebook per step. Each page is the notebook as it ran; the practice copies "
             "have their outputs cleared and the exercises' solutions taken out.</p>"
             f"<ol start=\"0\">{''.join(rows)}</ol>"
             '<p><a href="what-the-original-sample-got-wrong.html">What the original sample got '
             "wrong, and what these notebooks do instead</a></p>")
    (out / "index.html").write_text(PAGE.format(title="Batch Notebooks: handouts", body=index),
                                    encoding="utf-8")
    return out / "index.html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=ROOT / "notebooks",
                        help="executed notebooks (default: the committed ones)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "handouts")
    args = parser.parse_args()
    print(f"Handouts: {build(args.source, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
