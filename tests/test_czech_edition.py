"""The Czech edition as a Czech reader sees it: Czech typography (one-letter words bound to the
next word, decimal commas), one word per term (docs/cs/glosar.md's list of words not to use), and
nothing English in the sentences the kit itself prints. The notebooks' outputs are those
committed (the last `make notebooks`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from helpers.language import NBSP, UNBOUND, bind, bind_markdown, number, percent

ROOT = Path(__file__).resolve().parent.parent
CZECH_NOTEBOOKS = sorted((ROOT / "notebooks" / "cs").glob("[0-9][0-9]_*.ipynb"))
CZECH_DOCS = sorted((ROOT / "docs" / "cs").glob("*.md"))
CATALOGS = sorted((ROOT / "locale" / "cs").glob("*.po"))
CODE = re.compile(r"```.*?```|`[^`\n]*`|!?\[[^\]\n]*\]\([^)\n]*\)|<[^>\n]+>|https?://\S+", re.DOTALL)
CZECH = re.compile(r"[áčďéěíňóřšťúůýž]", re.IGNORECASE)
# What a local service or a program says, which stays as it said it (Azure's messages are
# English too): after an error code ("FailureExitCode: …"), ffmpeg's and a shell's own lines.
SERVICE = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+\b(?: - |: ).*|\[in#\d.*|^\s*\d\. \w+\.txt: .*"
                     r"|/bin/\w+: .*|Error opening .*|Exiting with .*|^(killed|preempted) node .*")


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def prose(markdown: str) -> str:
    """Markdown without its code, links and HTML: the text a reader reads."""
    return CODE.sub(" ", markdown)


def output_lines(path: Path) -> list[str]:
    """The Czech lines of the notebook's outputs (stream text and plain results), each without
    what a service or a program said."""
    found = []
    for cell in cells(path):
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            for line in ("".join(text) if isinstance(text, list) else text).splitlines():
                own = SERVICE.sub("", line)
                if CZECH.search(own):
                    found.append(own)
    return found


def markdown_of(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in cells(path) if c["cell_type"] == "markdown"]


def test_the_rule_binds_one_letter_words_and_never_touches_code() -> None:
    assert bind("Úkol v kontejneru a {x} k {a b}") == \
        f"Úkol v{NBSP}kontejneru a{NBSP}{{x}} k{NBSP}{{a b}}"
    assert bind_markdown("soubor `a b` a [k odkazu](http://a b) i\n  dál\n* v\n1. o") == \
        f"soubor `a b` a{NBSP}[k odkazu](http://a b) i{NBSP}dál\n* v\n1. o"
    assert bind_markdown("```\nls -a b\n```") == "```\nls -a b\n```"


def test_numbers_take_the_notebooks_language(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (number(3.4712, 2), number(0.5), percent(0.67)) == ("3.47", "0.5", "67%")
    monkeypatch.chdir(ROOT / "notebooks" / "cs")
    assert (number(3.4712, 2), number(0.5), percent(0.67)) == ("3,47", "0,5", f"67{NBSP}%")


@pytest.mark.parametrize("path", CZECH_NOTEBOOKS + CZECH_DOCS, ids=lambda p: p.name)
def test_no_plain_space_after_a_one_letter_word(path: Path) -> None:
    texts = [path.read_text(encoding="utf-8")] if path.suffix == ".md" else \
        markdown_of(path) + output_lines(path)
    unbound = [m.group(0) + text[m.end():m.end() + 20] for text in texts
               for m in UNBOUND.finditer(prose(text))]
    assert not unbound, f"{path.name}: run make translations; unbound: {unbound[:5]}"


@pytest.mark.parametrize("path", CZECH_NOTEBOOKS, ids=lambda p: p.name)
def test_no_decimal_point_in_a_czech_sentence(path: Path) -> None:
    """helpers.language.number() writes 0,5 in Czech; a version (Ubuntu 24.04, azure-batch 15.1,
    16.04-LTS, 1.2.3) is a name, not a number."""
    decimals = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.-])")
    versions = re.compile(r"\b(ubuntu|python|azure-[a-z-]+|api-version|verze) \d+\.\d+",
                          re.IGNORECASE)
    found = [line for line in output_lines(path) + [prose(m) for m in markdown_of(path)]
             if decimals.search(versions.sub("", line))]
    assert not found, f"{path.name}: {found[:3]}"


def forbidden_words() -> dict[str, str]:
    """The glossary's words not to use, each with the word to use instead."""
    glossary = (ROOT / "docs" / "cs" / "glosar.md").read_text(encoding="utf-8")
    table = glossary.split("## Slova, která nepoužíváme", 1)[1]
    words = {}
    for row in re.findall(r"^\| (?!nepoužívat|---)(.+?) \| (.+?) \|$", table, re.MULTILINE):
        for word in row[0].split(", "):
            words[word.lower()] = row[1]
    return words


def czech_texts() -> list[tuple[str, str]]:
    """(where, text) for everything Czech the kit writes: notebooks, catalogs, docs, the README's
    Czech section (the glossary's own list of words not to use aside)."""
    found = []
    for path in CZECH_NOTEBOOKS:
        found += [(path.name, prose(text)) for text in markdown_of(path)]
        found += [(path.name, line) for line in output_lines(path)]
    for path in CATALOGS:
        with open(path, "rb") as handle:
            found += [(f"{path.name} {m.context}", prose(m.string)) for m in read_po(handle)
                      if m.id and m.string]
    for path in CZECH_DOCS:   # the glossary's tables give the English terms and these words
        text = path.read_text(encoding="utf-8").split("## Slova, která nepoužíváme")[0]
        if path.name == "glosar.md":
            text = re.sub(r"^\|.*$", "", text, flags=re.MULTILINE)
        found.append((path.name, prose(text)))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found.append(("README.md", prose(readme.split("## Česky", 1)[1].split("\n## ", 1)[0])))
    return found


def test_the_glossary_lists_words_not_to_use() -> None:
    words = forbidden_words()
    assert words["notebook"] == words["sešit"] == "poznámkový blok" and len(words) > 20


def test_no_word_the_glossary_forbids() -> None:
    words = forbidden_words()
    pattern = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, words)) + r")(?![\w/.-])",
                         re.IGNORECASE)
    found = [f"{where}: „{m.group(1)}“ (use „{words[m.group(1).lower()]}“)"
             for where, text in czech_texts()
             for m in pattern.finditer(text.replace("Batch Notebooks", ""))]
    assert not found, "\n".join(found[:20])


ENGLISH = re.compile(r"\b(the|is|are|was|and|of|for|with|at|to|not|has|after|waited|deleted|"
                     r"ready|node|nodes|tasks|done|running|seconds|characters|hidden|target|"
                     r"account|key)\b")


@pytest.mark.parametrize("path", CZECH_NOTEBOOKS, ids=lambda p: p.name)
def test_no_english_in_what_the_kit_prints(path: Path) -> None:
    """The kit's own printed sentences are Czech; a service's message, a program's output and a
    name (a pool id, a blob, a command line) stay as they are, and so do a data table's column
    names, which the code reads (`summary(table)["job_wall_s"]`)."""
    found = []
    for cell in cells(path):
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output["output_type"] == "stream" else ""
            for line in ("".join(text) if isinstance(text, list) else text).splitlines():
                own = re.sub(r"'[^']*'|\"[^\"]*\"|\S*[/_.]\S*|\b[A-Z]\w*[A-Z]\w*\b", " ",
                             SERVICE.sub("", line))
                header = re.fullmatch(r"[\w ]+", line.strip()) and "_" in line   # a printed table's
                if ENGLISH.search(own) and not own.lstrip().startswith("<") and not header:
                    found.append(line.strip())
    assert not found, f"{path.name}: {found[:5]}"
