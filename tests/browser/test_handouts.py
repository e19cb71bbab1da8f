"""The HTML handouts (`make handouts`) in a real browser: the index links a page per notebook,
every page loads, its plots are images that render with alt text, no page shows an account key
or a SAS signature, and none asks for anything outside this machine (the handouts are meant to
open offline, from a USB stick). Each page shows what the learner saw: the credentials form as a
picture, the progress bar at its final count, no widget's text form, solutions closed; the
practice copies download.

The handouts are built from the committed notebooks by scripts/build_handouts.py, as `make
handouts` does, into a temp folder, and opened from file: URLs; any request that would leave the
machine is blocked and recorded.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
# A 64-byte account key in base64 (localbatch's and Azure's), standing on its own: not the
# tail of a longer base64 run such as an embedded image or audio clip.
KEY_LIKE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])")
# What a widget looks like when nothing could draw it: its Python repr.
# (`CredentialsForm()` in a code cell is fine: a repr names fields, `CredentialsForm(children=`.)
WIDGET_REPR = re.compile(r"\w\((children|value|description|layout|options)=|\bWidget\(")


def a_plot_png() -> str:
    """A small matplotlib plot, as the notebooks' outputs hold one (base64 PNG)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1.5))
    figure.subplots().plot([0, 1, 2], [2, 0, 1])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def images_in(notebook: Path) -> int:
    """How many images the notebook's outputs and markdown hold (each becomes an <img>)."""
    cells = json.loads(notebook.read_text())["cells"]
    outputs = sum(any(kind in output.get("data", {}) for kind in IMAGE_TYPES)
                  for cell in cells for output in cell.get("outputs", []))
    markdown = sum(len(re.findall(r"!\[[^\]]*\]\(|<img\b", "".join(cell["source"])))
                   for cell in cells if cell["cell_type"] == "markdown")
    return outputs + markdown


def solutions_in(notebook: Path) -> int:
    """Solution cells: tagged `solution`, or a code cell whose first line is '# Solution'."""
    return sum(cell["cell_type"] == "code" and (
        "solution" in cell.get("metadata", {}).get("tags", [])
        or "".join(cell["source"]).lstrip().startswith("# Solution"))
        for cell in json.loads(notebook.read_text())["cells"])


def title_of(notebook: Path) -> str:
    for cell in json.loads(notebook.read_text())["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if cell["cell_type"] == "markdown" and line.startswith("# "):
                return line[2:].strip()
    pytest.fail(f"{notebook.name} has no '# ' title")


def unrendered_images(page) -> list[str]:
    """The images on the page that did not load or have no pixels, by the start of their src."""
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)")
    return page.evaluate("""() => Array.from(document.images)
        .filter(img => !(img.naturalWidth > 0 && img.naturalHeight > 0))
        .map(img => img.getAttribute('src').slice(0, 60))""")


def secrets_shown(text: str) -> list[str]:
    found = [f"SAS signature at …{text[max(0, m.start() - 40):m.start() + 8]}…"
             for m in re.finditer("sig=", text)]
    found += ["something shaped like an account key" for _ in KEY_LIKE.finditer(text)]
    found += ["an AccountKey= connection string" for _ in re.finditer("AccountKey=", text)]
    return found


def widget_reprs(text: str) -> list[str]:
    """Widgets shown as their Python text, which no learner saw, with a little context."""
    return [text[max(0, m.start() - 20):m.end() + 20] for m in WIDGET_REPR.finditer(text)]


def images_without_alt(page) -> list[str]:
    return page.evaluate("""() => Array.from(document.images)
        .filter(img => !(img.getAttribute('alt') || '').trim())
        .map(img => img.getAttribute('src').slice(0, 40))""")


def open_page(page, html: Path) -> list[str]:
    """Open a handout page; the script errors it raises, collected as they come."""
    assert html.is_file(), f"no {html.name} in the handouts"
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(html.as_uri(), wait_until="load")
    return errors


def check_page(page, html: Path, errors: list[str], outside) -> None:
    """What every handout page must be: rendered images, no secret, offline, no script error."""
    broken = unrendered_images(page)
    assert not broken, f"{html.name}: images that do not render: {broken}"
    text = page.locator("body").inner_text()
    assert not secrets_shown(text), f"{html.name} shows: {secrets_shown(text)}"
    source = page.content()
    assert not secrets_shown(source), f"{html.name} holds: {secrets_shown(source)}"
    assert not widget_reprs(text), f"{html.name} shows a widget's repr: {widget_reprs(text)}"
    assert not images_without_alt(page), \
        f"{html.name}: images without alt text: {images_without_alt(page)}"
    assert not errors, f"{html.name}: script errors: {errors}"
    assert not outside.urls, f"{html.name} asks for things outside this machine: {outside.urls}"


def test_the_index_links_a_page_per_notebook(handouts: Path, page, outside) -> None:
    index = handouts / "index.html"
    errors = open_page(page, index)
    links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    missing = [f"{nb.stem}.html" for nb in NOTEBOOKS if f"{nb.stem}.html" not in links]
    assert not missing, f"index.html does not link {missing}"
    dead = [href for href in links if "://" not in href and not href.startswith("data:")
            and not (handouts / href).is_file()]
    assert not dead, f"index.html links files that are not there: {dead}"
    check_page(page, index, errors, outside)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_page_loads_renders_its_plots_and_shows_no_secret(
        notebook: Path, handouts: Path, page, outside, artifacts: Path) -> None:
    from playwright.sync_api import expect

    html = handouts / f"{notebook.stem}.html"
    errors = open_page(page, html)
    expect(page.locator("h1").first).to_contain_text(title_of(notebook))
    expected, shown = images_in(notebook), page.locator("img").count()
    assert shown >= expected, f"{html.name}: {expected} images in the notebook, {shown} on the page"
    check_page(page, html, errors, outside)
    if shown:
        page.locator("img").first.screenshot(path=artifacts / f"handout-{notebook.stem}-image.png")


def test_the_other_pages_load_and_show_no_secret(handouts: Path, page, outside) -> None:
    others = sorted(set(handouts.glob("*.html")) - {handouts / "index.html"}
                    - {handouts / f"{nb.stem}.html" for nb in NOTEBOOKS})
    for html in others:
        errors = open_page(page, html)
        assert page.locator("body").inner_text().strip(), f"{html.name} is empty"
        check_page(page, html, errors, outside)


def test_the_checks_catch_a_broken_image_a_secret_and_a_call_out(
        page, outside, tmp_path: Path) -> None:
    """The checks above, on a page with a good image, a broken one, two secrets and a script
    from outside this machine."""
    from localbatch.statedir import _random_key

    key = _random_key()
    html = tmp_path / "bad.html"
    html.write_text(f"""<html><body><h1>Bad handout</h1>
        <img src="data:image/png;base64,{a_plot_png()}">
        <img src="data:image/png;base64,bm90IGEgcG5n">
        <p>key {key}</p><p>https://x.invalid/c/b.mp4?sv=2025&amp;sig=abc%3D</p>
        <script src="https://cdn.invalid/require.min.js"></script>
        </body></html>""")
    open_page(page, html)
    assert unrendered_images(page) == ["data:image/png;base64,bm90IGEgcG5n"]
    assert len(images_without_alt(page)) == 2
    assert len(widget_reprs("CredentialsForm(children=(ToggleButtons(description='Target'"
                            " and a Widget(…)")) == 3
    assert not widget_reprs("form = CredentialsForm()")
    assert not widget_reprs("The form has children: a toggle, fields and a button.")
    found = secrets_shown(page.locator("body").inner_text())
    assert len(found) == 2 and "SAS" in found[0] and "account key" in found[1], found
    assert not secrets_shown(f"data:audio/mpeg;base64,{'A' * 200}{key}")  # inside a long run
    assert outside.urls == ["https://cdn.invalid/require.min.js"]


def test_the_form_is_a_picture_and_the_progress_its_final_count(
        handouts: Path, page, outside, artifacts: Path) -> None:
    """01's credentials form appears as the screenshot of the form after Connect, and 06's
    progress bar as a bar at its final count, next to the count it ended at."""
    from playwright.sync_api import expect

    html = handouts / "01_authenticate.html"
    errors = open_page(page, html)
    form = page.locator("img[alt^='The credentials form']")
    expect(form).to_have_count(1)
    expect(form).to_be_visible()
    assert form.evaluate("img => img.naturalWidth") > 300, "the form's picture is too small"
    form.screenshot(path=artifacts / "handout-01-credentials-form.png")
    check_page(page, html, errors, outside)

    html = handouts / "06_monitor_tasks.html"
    errors = open_page(page, html)
    bar = page.locator("progress")
    expect(bar).to_have_count(1)
    done, total = bar.evaluate("bar => [bar.value, bar.max]")
    tasks = int(re.search(r"(\d+) tasks completed", page.locator("body").inner_text())[1])
    assert (done, total) == (tasks, tasks), f"the bar shows {done}/{total} of {tasks} tasks"
    expect(page.locator("p.progress")).to_contain_text(f"100% {tasks}/{tasks}")
    page.locator("p.progress").screenshot(path=artifacts / "handout-06-progress.png")
    check_page(page, html, errors, outside)


@pytest.mark.parametrize("notebook", [nb for nb in NOTEBOOKS if solutions_in(nb)],
                         ids=lambda p: p.stem)
def test_solutions_are_closed_until_opened(notebook: Path, handouts: Path, page, outside,
                                           artifacts: Path) -> None:
    from playwright.sync_api import expect

    html = handouts / f"{notebook.stem}.html"
    errors = open_page(page, html)
    blocks = page.locator("details.solution")
    expect(blocks).to_have_count(solutions_in(notebook))
    for index in range(blocks.count()):
        block = blocks.nth(index)
        expect(block.locator("summary")).to_have_text("Solution")
        assert block.evaluate("d => d.open") is False, f"solution {index + 1} is open"
        expect(block.locator(".jp-Cell-inputWrapper")).to_be_hidden()
    first = blocks.first
    first.scroll_into_view_if_needed()
    first.screenshot(path=artifacts / f"handout-{notebook.stem}-solution-closed.png")
    first.locator("summary").click()
    expect(first.locator(".jp-Cell-inputWrapper")).to_be_visible()
    check_page(page, html, errors, outside)


def test_practice_copies_download(handouts: Path, page, outside, artifacts: Path,
                                  tmp_path: Path) -> None:
    """Each practice link downloads its notebook (not a page of raw JSON), and the zip all."""
    index = handouts / "index.html"
    errors = open_page(page, index)
    page.screenshot(path=artifacts / "handout-index.png", full_page=True)
    for notebook in NOTEBOOKS:
        # Chromium asks before a page's second download; headless, nobody answers: reload.
        page.goto(index.as_uri(), wait_until="load")
        with page.expect_download() as caught:
            page.locator(f"a[download='{notebook.name}']").click()
        download = caught.value
        assert download.suggested_filename == notebook.name
        saved = tmp_path / notebook.name
        download.save_as(saved)
        cells = json.loads(saved.read_text())["cells"]
        assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")
        assert page.url == index.as_uri(), f"{notebook.name} opened as a page"
    page.goto(index.as_uri(), wait_until="load")
    with page.expect_download() as caught:
        page.locator("a[href='practice.zip']").click()
    saved = tmp_path / "practice.zip"
    caught.value.save_as(saved)
    with zipfile.ZipFile(saved) as bundle:
        assert sorted(bundle.namelist()) == [f"practice/{nb.name}" for nb in NOTEBOOKS]
    check_page(page, index, errors, outside)


def test_the_cheat_sheet_prints_on_one_page(handouts: Path, page, outside) -> None:
    html = handouts / "cheat-sheet.html"
    errors = open_page(page, html)
    pdf = page.pdf(format="A4", margin={side: "10mm" for side in ("top", "bottom", "left",
                                                                   "right")})
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert pages == 1, f"the cheat sheet prints on {pages} A4 pages"
    check_page(page, html, errors, outside)
