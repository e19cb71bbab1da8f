"""The Czech edition: complete and current catalogs, notebooks built from them, the same code.

The mechanism is also tested on a notebook of its own: a changed English text is flagged as
stale, a missing one is reported with its cell id, and both fall back to English.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import translations

ENGLISH = translations.english_notebooks()
PAIRS = [(path, ROOT / "notebooks" / "cs" / path.name) for path in ENGLISH]


@pytest.mark.parametrize("english, czech", PAIRS, ids=lambda p: p.stem)
def test_every_text_is_translated_and_current(english: Path, czech: Path) -> None:
    report = translations.translated(english, "cs")[1]
    assert not report.missing, report.missing
    assert not report.stale, report.stale


@pytest.mark.parametrize("english, czech", PAIRS, ids=lambda p: p.stem)
def test_the_czech_notebook_is_built_from_the_catalog(english: Path, czech: Path) -> None:
    expected = translations.translated(english, "cs")[0]
    committed = nbformat.read(czech, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in expected.cells]
    assert [c.metadata for c in committed.cells] == [c.metadata for c in expected.cells]


@pytest.mark.parametrize("english, czech", PAIRS, ids=lambda p: p.stem)
def test_both_editions_run_the_same_code(english: Path, czech: Path) -> None:
    ours = nbformat.read(english, as_version=4).cells
    theirs = nbformat.read(czech, as_version=4).cells
    assert [c.id for c in ours] == [c.id for c in theirs]
    for a, b in zip(ours, theirs):
        if a.cell_type == "code":
            assert translations.masked(a.source) == translations.masked(b.source), a.id


@pytest.mark.parametrize("english, czech", PAIRS, ids=lambda p: p.stem)
def test_no_english_paragraph_is_left(english: Path, czech: Path) -> None:
    ours = nbformat.read(english, as_version=4).cells
    theirs = nbformat.read(czech, as_version=4).cells
    same = [a.id for a, b in zip(ours, theirs)
            if a.cell_type == "markdown" and a.source == b.source]
    assert not same, f"markdown cells left in English: {same}"


def test_translated_strings_in_code_keep_their_quotes_and_fields() -> None:
    """A translated f-string must keep the same {fields}: the code around it uses them."""
    for english, _ in PAIRS:
        catalog = translations.load(translations.catalog_path("cs", english), "cs")
        for message in catalog:
            if message.id and message.string and not message.id.startswith(("#", "\n")) \
                    and message.id[:2] in ('f"', "f'", '"', "'"):
                assert message.string[:2] == message.id[:2], (message.context, message.string)
                fields = sorted(translations.re.findall(r"\{[^{}]*\}", message.id))
                assert sorted(translations.re.findall(r"\{[^{}]*\}", message.string)) == fields, \
                    (english.stem, message.context, message.string)


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with one English notebook (a markdown cell and a code cell) and its catalogs."""
    folder, locales = tmp_path / "notebooks", tmp_path / "locale"
    folder.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("## Check", id="m1"),
                      nbformat.v4.new_code_cell('x = 1  # one thing\nprint(f"{x} tasks done")',
                                                id="c1")]
    nbformat.write(notebook, folder / "00_tiny.ipynb")
    translations.update("cs", folder, locales)
    return folder, locales


def _translate(locales: Path, texts: dict[str, str]) -> None:
    path = locales / "cs" / "00_tiny.po"
    catalog = translations.load(path, "cs")
    for message in catalog:
        if message.id in texts:
            message.string = texts[message.id]
    translations.save(catalog, path)


def test_a_missing_translation_is_reported_with_its_cell_and_stays_english(tiny) -> None:
    folder, locales = tiny
    _translate(locales, {"## Check": "## Kontrola"})
    report = translations.build("cs", folder, locales)
    assert [m.split(":")[0] for m in report.missing] == ["00_tiny cell c1", "00_tiny cell c1"]
    cells = nbformat.read(folder / "cs" / "00_tiny.ipynb", as_version=4).cells
    assert cells[0].source == "## Kontrola"
    assert cells[1].source == 'x = 1  # one thing\nprint(f"{x} tasks done")'


def test_a_changed_english_text_is_stale_until_translated_again(tiny) -> None:
    folder, locales = tiny
    _translate(locales, {"## Check": "## Kontrola", "# one thing": "# jedna věc",
                         'f"{x} tasks done"': 'f"{x} úkolů hotovo"'})
    assert not translations.build("cs", folder, locales).missing
    cells = nbformat.read(folder / "cs" / "00_tiny.ipynb", as_version=4).cells
    assert cells[1].source == 'x = 1  # jedna věc\nprint(f"{x} úkolů hotovo")'

    notebook = nbformat.read(folder / "00_tiny.ipynb", as_version=4)
    notebook.cells[0].source = "## Check the pool"
    nbformat.write(notebook, folder / "00_tiny.ipynb")
    translations.update("cs", folder, locales)
    report = translations.build("cs", folder, locales)
    assert report.stale == ["00_tiny cell m1: '## Check the pool'"]
    assert nbformat.read(folder / "cs" / "00_tiny.ipynb", as_version=4).cells[0].source \
        == "## Check the pool"  # English until the translation is checked again
    po = (locales / "cs" / "00_tiny.po").read_text()
    assert '#| msgid "## Check"' in po and "#, fuzzy" in po  # the translator sees what changed


def test_masking_ignores_comments_and_strings_but_not_code() -> None:
    a = 'print(f"{n} done")  # count'
    assert translations.masked(a) == translations.masked('print(f"{n} hotovo")  # počet')
    assert translations.masked(a) != translations.masked('print(f"{n} done", n)')


def test_the_catalogs_are_gettext_files_keyed_by_cell_id() -> None:
    text = (ROOT / "locale" / "cs" / "00_start_here.po").read_text()
    assert 'msgctxt "13307d09"' in text and "Language: cs" in text
    assert json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text())["cells"][0]["id"] \
        == "13307d09"


@pytest.mark.parametrize("folder, expected", [("notebooks", "Connect|Target"),
                                              ("notebooks/cs", "Připojit|Cíl")])
def test_the_kit_speaks_the_language_of_the_notebooks_folder(folder: str, expected: str,
                                                            tmp_path: Path) -> None:
    """Decided per kernel by its working folder, so both editions run in one pytest session."""
    code = ("from helpers.credentials import CredentialsForm\n"
            "form = CredentialsForm()\n"
            "print(form.connect.description + '|' + form.target.description)")
    env = {**os.environ, "BATCH_NOTEBOOKS_ENV_FILE": str(tmp_path / "none.env")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / folder, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == expected


def test_every_helper_text_is_translated() -> None:
    report = translations.untranslated_helpers("cs")
    assert not report.missing and not report.stale, report
