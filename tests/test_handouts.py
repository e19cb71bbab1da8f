"""`make handouts`: one self-contained page per notebook showing what the learner saw, the
instructor's kit, an index, and practice copies to download."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DOC_PAGES = ("what-the-original-sample-got-wrong", "cheat-sheet", "troubleshooting",
             "instructor-notes", "workshop", "before-the-class", "feedback")
WIDGET_TEXT = re.compile(r"\w\((children|value|description|layout|options)=|\bWidget\(")

spec = importlib.util.spec_from_file_location("build_handouts",
                                              ROOT / "scripts" / "build_handouts.py")
build_handouts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_handouts)


def is_solution(cell: dict) -> bool:
    return cell["cell_type"] == "code" and (
        "solution" in cell.get("metadata", {}).get("tags", [])
        or "".join(cell["source"]).lstrip().startswith("# Solution"))


def test_index_links_every_page_the_kit_and_practice_downloads(handouts: Path) -> None:
    index = (handouts / "index.html").read_text()
    links = [link for link in re.findall(r'href="([^"]+)"', index)
             if not link.startswith("data:")]
    for link in links:
        assert (handouts / link).is_file(), link
    downloads = {name: base64.b64decode(data) for data, name in re.findall(
        r'<a href="data:application/x-ipynb\+json;base64,([^"]+)" download="([^"]+)">', index)}
    for notebook in NOTEBOOKS:
        assert f"{notebook.stem}.html" in links
        assert downloads[notebook.name] == (handouts / "practice" / notebook.name).read_bytes()
    assert '<a href="practice.zip" download>' in index
    assert [f"{name}.html" for name in DOC_PAGES] == [ln for ln in links if ln.endswith(".html")
                                                      and not ln[:2].isdigit()]
    assert "00 · Start here" in index and "Explore the task timings" in index
    assert "Cheat sheet" in index and "Troubleshooting" in index and "Instructor notes" in index
    assert "Workshop plan" in index and "Before the class" in index and "Feedback form" in index


def test_the_workshop_agenda_adds_up_to_three_hours(handouts: Path) -> None:
    """The agenda's minutes, breaks included, sum to 180, and each row starts where the one
    before ended."""
    rows = re.findall(r"^\| (\d):(\d\d) \| *(\d*) *\|",
                      (ROOT / "docs" / "workshop.md").read_text(), re.MULTILINE)
    starts = [60 * int(h) + int(m) for h, m, _ in rows]
    minutes = [int(n) for *_, n in rows[:-1]]
    assert rows[-1][2] == "" and sum(minutes) == 180 and starts[-1] == 180
    assert all(start + length == after for start, length, after in
               zip(starts, minutes, starts[1:]))
    assert "<td>0:45</td>" in (handouts / "workshop.html").read_text()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_page_embeds_every_plot_with_alt_text_and_no_secret(handouts: Path,
                                                            notebook: Path) -> None:
    images = sum("image/png" in output.get("data", {})
                 for cell in json.loads(notebook.read_text())["cells"]
                 for output in cell.get("outputs", []))
    page = (handouts / f"{notebook.stem}.html").read_text()
    assert page.count("data:image/png;base64,") >= images
    assert not re.search(r'<(img|script)[^>]+src="https?://', page)  # works offline
    assert "sig=" not in page
    for img in re.findall(r"<img\b[^>]*>", page):
        assert re.search(r"""\balt=(["'])\s*[^"'\s]""", img), f"no alt text: {img[:80]}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_page_shows_no_widget_repr_and_closes_its_solutions(handouts: Path,
                                                            notebook: Path) -> None:
    page = (handouts / f"{notebook.stem}.html").read_text()
    assert not WIDGET_TEXT.search(page)
    solutions = sum(map(is_solution, json.loads(notebook.read_text())["cells"]))
    assert page.count('<details class="solution"><summary>Solution</summary>') == solutions
    assert "<details open" not in page


def test_the_form_is_its_screenshot_and_the_bar_its_final_count(handouts: Path) -> None:
    form = base64.b64encode((ROOT / "docs" / "credentials-form.png").read_bytes()).decode()
    assert form in (handouts / "01_authenticate.html").read_text()
    monitor = (handouts / "06_monitor_tasks.html").read_text()
    assert re.search(r'completed: <progress max="5" value="5"></progress> 100% 5/5', monitor)
    assert "0/5" not in monitor


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_practice_copy_has_no_outputs_and_no_solutions(handouts: Path, notebook: Path) -> None:
    original = json.loads(notebook.read_text())["cells"]
    practice = json.loads((handouts / "practice" / notebook.name).read_text())["cells"]
    assert len(practice) == len(original) - sum(map(is_solution, original))
    for cell in practice:
        assert not is_solution(cell)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_the_zip_holds_every_practice_copy(handouts: Path) -> None:
    with zipfile.ZipFile(handouts / "practice.zip") as bundle:
        assert sorted(bundle.namelist()) == [f"practice/{nb.name}" for nb in NOTEBOOKS]
        for notebook in NOTEBOOKS:
            assert bundle.read(f"practice/{notebook.name}") == \
                (handouts / "practice" / notebook.name).read_bytes()


def test_the_kit_pages_render_their_tables_and_links(handouts: Path) -> None:
    for name in DOC_PAGES:
        markdown = (ROOT / "docs" / f"{name}.md").read_text()
        page = (handouts / f"{name}.html").read_text()
        rows = [line for line in markdown.splitlines()
                if line.startswith("|") and not re.match(r"^\|[\s:|-]+\|$", line)]
        assert page.count("<tr>") == len(rows), name
        assert not re.search(r'href="(?!https?:)[^"]*\.md"', page), f"{name} links markdown"
        assert f"<title>{markdown.splitlines()[0].lstrip('# ')}</title>" in page


def a_notebook(cells: list) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}}
    return notebook


def bar_output(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/plain": text})


def test_tagged_solutions_stopped_bars_and_other_widgets(tmp_path: Path) -> None:
    """The course's conventions: a `solution` tag (hidden source and outputs) as well as a
    '# Solution' first line; a bar that stopped early shows where it stopped; an unknown widget
    becomes a note, not its repr."""
    tagged = nbformat.v4.new_code_cell(
        "print(42)", metadata={"tags": ["solution"],
                               "jupyter": {"source_hidden": True, "outputs_hidden": True}},
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="42\n")])
    failed_bar = nbformat.v4.new_code_cell("bar()", outputs=[
        bar_output("done:  40%|####      | 2/5 [00:01<00:02, 1.0task/s]"),
        nbformat.v4.new_output("error", ename="TimeoutError", evalue="late", traceback=[])])
    slider = nbformat.v4.new_code_cell("w", outputs=[
        nbformat.v4.new_output("execute_result", execution_count=1,
                               data={"text/plain": "IntSlider(value=3)",
                                     build_handouts.WIDGET_VIEW: {"model_id": "abc"}})])
    source, out = tmp_path / "source", tmp_path / "out"
    source.mkdir()
    nbformat.write(a_notebook([nbformat.v4.new_markdown_cell("# 00 · Try\n\nA test."),
                               nbformat.v4.new_code_cell("# Your code here"), tagged,
                               failed_bar, slider]), source / "00_try.ipynb")
    build_handouts.build(source, out)
    page = (out / "00_try.html").read_text()
    solution = page.split('<details class="solution"><summary>Solution</summary>')[1]
    assert "print" in solution.split("</details>")[0] and "42" in solution.split("</details>")[0]
    assert 'done: <progress max="5" value="2"></progress> 40% 2/5' in page
    assert "IntSlider(" not in page and "open the notebook in JupyterLab" in page
    assert build_handouts.WIDGET_VIEW not in page
    practice = nbformat.read(out / "practice" / "00_try.ipynb", as_version=4)
    assert [c.source for c in practice.cells if c.cell_type == "code"] == \
        ["# Your code here", "bar()", "w"]


def test_no_readme_form_picture_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build_handouts, "readme_pictures", dict)
    with pytest.raises(SystemExit, match="README.md no longer shows docs/credentials-form.png"):
        build_handouts.build(ROOT / "notebooks", tmp_path)


def test_the_czech_handouts_list_every_czech_page(handouts: Path) -> None:
    czech = handouts / "cs"
    index = (czech / "index.html").read_text()
    assert '<html lang="cs">' in index and "Pro lekci" in index
    for notebook in sorted((ROOT / "notebooks" / "cs").glob("[0-9][0-9]_*.ipynb")):
        assert f'href="{notebook.stem}.html"' in index, notebook.name
        assert (czech / f"{notebook.stem}.html").exists()
        assert f'download="{notebook.name}"' in index
    for page in ("tahak", "reseni-problemu", "glosar", "pred-kurzem", "zpetna-vazba"):
        assert f'href="{page}.html"' in index and (czech / f"{page}.html").exists()
    assert "<summary>Řešení</summary>" in (czech / "01_authenticate.html").read_text()
    assert 'href="../instructor-notes.html"' in (czech / "tahak.html").read_text()


def test_the_czech_handouts_show_the_czech_form_in_czech_words(handouts: Path) -> None:
    """The Czech form's screenshot (docs/cs/credentials-form.png), its caption and alt text in
    Czech, from the catalog (locale/cs/helpers.po), and the build's own words bound by the rule."""
    czech = handouts / "cs"
    form = base64.b64encode((ROOT / "docs" / "cs" / "credentials-form.png").read_bytes()).decode()
    english = base64.b64encode((ROOT / "docs" / "credentials-form.png").read_bytes()).decode()
    page = (czech / "01_authenticate.html").read_text()
    assert form in page and english not in page
    assert "Formulář po stisknutí <b>Připojit</b>" in page and "The form after" not in page
    assert 'alt="Formulář přihlašovacích údajů' in page and "The credentials form" not in page
    index = (czech / "index.html").read_text()
    assert form in index and "Snímky obrazovky" in index and "A Gantt chart" not in index
    assert "a\u00a0nemají řešení cvičení" in index   # the build's own words, typeset
    assert 'alt="Plot:' not in (czech / "09_explore_timings.html").read_text()
