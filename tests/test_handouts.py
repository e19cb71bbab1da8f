"""`make handouts`: one self-contained page per notebook, an index, practice copies."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def handouts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("handouts")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_handouts.py"),
                          "--out", str(out)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert f"Handouts: {out / 'index.html'}" in run.stdout
    return out


def test_index_links_every_page_and_practice_copy(handouts: Path) -> None:
    index = (handouts / "index.html").read_text()
    links = re.findall(r'href="([^"]+)"', index)
    assert len(links) == 2 * len(NOTEBOOKS) + 1
    for link in links:
        assert (handouts / link).is_file(), link
    assert "00 · Start here" in index and "Explore the task timings" in index
    assert "what-the-original-sample-got-wrong.html" in links


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_page_embeds_every_plot_and_no_secret(handouts: Path, notebook: Path) -> None:
    images = sum("image/png" in output.get("data", {})
                 for cell in json.loads(notebook.read_text())["cells"]
                 for output in cell.get("outputs", []))
    page = (handouts / f"{notebook.stem}.html").read_text()
    assert page.count("data:image/png;base64,") >= images
    assert not re.search(r'<(img|script)[^>]+src="https?://', page)  # works offline
    assert "sig=" not in page


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_practice_copy_has_no_outputs_and_no_solutions(handouts: Path, notebook: Path) -> None:
    original = json.loads(notebook.read_text())["cells"]
    practice = json.loads((handouts / "practice" / notebook.name).read_text())["cells"]
    solutions = [c for c in original if "".join(c["source"]).startswith("# Solution")]
    assert len(practice) == len(original) - len(solutions)
    for cell in practice:
        assert not "".join(cell["source"]).startswith("# Solution")
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_the_pitfalls_page_lists_the_twelve(handouts: Path) -> None:
    page = (handouts / "what-the-original-sample-got-wrong.html").read_text()
    assert page.count("<tr>") == 13  # a header and twelve pitfalls
