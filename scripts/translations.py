"""The Czech edition: gettext catalogs of the notebooks' text, and the notebooks built from them.

One catalog per notebook, `locale/cs/<notebook>.po`, keyed by cell id (msgctxt) with the English
text as msgid: a markdown cell whole, and in a code cell each comment and each string literal a
learner reads (the code itself is never translated, so both editions run the same code).

    python scripts/translations.py update   # English changed: add new texts, mark changed ones
                                            # fuzzy (stale), with the old English kept beside them
    python scripts/translations.py build    # write notebooks/cs/ from the catalogs; report what
                                            # is missing or stale (it stays English there)
    python scripts/translations.py check    # exit 1 if anything is missing or stale

`make translations` runs update and build. The build applies the Czech typography rule
(helpers/language.py: one-letter words bound to the next) to the notebooks it writes and to
docs/cs/, in place. What the kit's helpers print (the credentials form,
its one-sentence errors) is in locale/<language>/helpers.po, from the texts passed to tr().
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from helpers.language import bind, bind_markdown  # the kit's one typography rule

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "notebooks"
LOCALES = ROOT / "locale"
LANGUAGES = ("cs",)
WORDS = re.compile(r"[^\W\d_]{2,}.*\s.*[^\W\d_]{2,}", re.DOTALL)  # two words: text, not a name
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)  # fixed header dates: no churn in git


@dataclass(frozen=True)
class Piece:
    """A translatable part of a cell: where it is in the source, and its text."""

    start: int
    end: int
    text: str


def _offsets(source: str) -> list[int]:
    starts, total = [], 0
    for line in source.splitlines(keepends=True) or [""]:
        starts.append(total)
        total += len(line)
    return starts + [total]


SHOWN = {"print", "set_title", "set_xlabel", "set_ylabel"}  # calls whose strings are shown
LABELS = {"label", "title", "xlabel", "ylabel", "desc", "unit"}  # keywords that are shown


def _table_columns(tree: ast.Module) -> list[ast.expr]:
    """The column names of a table the cell shows as its result, `pd.DataFrame(rows)` with rows
    built by `rows.append({...})`: the learner reads them, and no code reads them back."""
    last = tree.body[-1] if tree.body else None
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and getattr(last.value.func, "attr", None) == "DataFrame" and last.value.args
            and isinstance(last.value.args[0], ast.Name)):
        return []
    rows = last.value.args[0].id
    return [key for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "append"
            and getattr(node.func.value, "id", None) == rows
            and node.args and isinstance(node.args[0], ast.Dict)
            for key in node.args[0].keys if key is not None]


def _printed(source: str, at) -> set[int]:
    """Where the strings that are shown start (printed, plot titles and labels, a progress
    bar's words): text, even when a single word."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    shown = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in SHOWN:
                shown += node.args
            shown += [k.value for k in node.keywords if k.arg in LABELS]
    shown += _table_columns(tree)
    found: set[int] = set()
    while shown:  # the strings themselves, through + and `a if c else b`, not deeper
        node = shown.pop()
        if isinstance(node, ast.JoinedStr) or isinstance(node, ast.Constant) \
                and isinstance(node.value, str):
            found.add(at((node.lineno, node.col_offset)))
        elif isinstance(node, ast.BinOp):
            shown += [node.left, node.right]
        elif isinstance(node, ast.IfExp):
            shown += [node.body, node.orelse]
    return found


def code_pieces(source: str) -> list[Piece]:
    """Comments, and string literals (f-strings whole) that read as words or are printed, in
    source order."""
    lines = _offsets(source)
    at = lambda pos: lines[pos[0] - 1] + pos[1]  # (row, col) to an offset
    pieces, fstring_start, depth = [], None, 0
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    printed = _printed(source, at)
    text = lambda token_text, start: WORDS.search(token_text) or (  # a word, printed
        start in printed and re.search(r"[^\W\d_]{2}", re.sub(r"\{[^{}]*\}|^\w*['\"]", "",
                                                            token_text)))
    for token in tokens:
        kind = tokenize.tok_name[token.type]
        if kind == "FSTRING_START":  # Python 3.12+: an f-string is many tokens
            depth += 1
            fstring_start = fstring_start if depth > 1 else at(token.start)
        elif kind == "FSTRING_END":
            depth -= 1
            if depth == 0:
                whole = source[fstring_start:at(token.end)]
                if text(whole, fstring_start):
                    pieces.append(Piece(fstring_start, at(token.end), whole))
        elif depth == 0 and kind == "COMMENT" or depth == 0 and kind == "STRING" \
                and text(token.string, at(token.start)):
            pieces.append(Piece(at(token.start), at(token.end), token.string))
    return pieces


def masked(source: str) -> list[tuple[int, str]]:
    """A cell's tokens with every comment and string literal masked: the code a learner runs."""
    out = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = tokenize.tok_name[token.type]
        if kind in ("COMMENT", "STRING", "FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END"):
            out.append((token.type, "…"))
        elif kind not in ("NL", "NEWLINE", "INDENT", "DEDENT"):
            out.append((token.type, token.string))
    return [t for i, t in enumerate(out) if not (t[1] == "…" and i and out[i - 1][1] == "…")]


def texts(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """(cell id, English text) for every translatable text of the notebook, in order."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found.append((cell.id, cell.source))
        elif cell.cell_type == "code":
            found += [(cell.id, piece.text) for piece in code_pieces(cell.source)]
    return found


def template(notebook_path: Path) -> Catalog:
    catalog = Catalog(project="Batch Notebooks", creation_date=EPOCH)
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell_id, text in texts(notebook):
        catalog.add(text, context=cell_id)
    return catalog


def catalog_path(language: str, notebook_path: Path, locales: Path = LOCALES) -> Path:
    return locales / language / f"{notebook_path.stem}.po"


def load(path: Path, language: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, project="Batch Notebooks", creation_date=EPOCH,
                       revision_date=EPOCH)
    with open(path, "rb") as handle:
        return read_po(handle, locale=language)


def save(catalog: Catalog, path: Path) -> None:
    catalog.creation_date = catalog.revision_date = EPOCH
    catalog.fuzzy = False  # the header is not a stale translation
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, include_previous=True, sort_output=False,
             omit_header=False, ignore_obsolete=True)
    path.write_bytes(buffer.getvalue())


def english_notebooks(folder: Path = ENGLISH) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def helpers_template() -> Catalog:
    """What the kit prints in the notebook's language: the texts passed to tr() in helpers/ and
    to translate() in the handouts' build, and the README's screenshot descriptions (a
    handout's alt text)."""
    catalog = Catalog(project="Batch Notebooks", creation_date=EPOCH)
    modules = sorted((ROOT / "helpers").glob("*.py")) + [ROOT / "scripts" / "build_handouts.py"]
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("tr", "translate") \
                    and node.args and isinstance(node.args[0], ast.Constant):
                catalog.add(node.args[0].value, context=module.stem)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for alt in re.findall(r"!\[([^\]]+)\]\(docs/[^)\s]+\.png\)", readme):
        catalog.add(alt, context="README")
    return catalog


def _update(path: Path, language: str, english: Catalog) -> None:
    catalog = load(path, language)
    catalog.update(english, no_fuzzy_matching=False, update_header_comment=False)
    save(catalog, path)


def update(language: str, folder: Path = ENGLISH, locales: Path = LOCALES) -> None:
    """Bring each catalog up to the English notebooks: new texts empty, changed ones fuzzy."""
    for path in english_notebooks(folder):
        _update(catalog_path(language, path, locales), language, template(path))
    if folder == ENGLISH:
        _update(locales / language / "helpers.po", language, helpers_template())


def untranslated_helpers(language: str) -> Report:
    catalog = load(LOCALES / language / "helpers.po", language)
    report = Report([], [])
    for message in list(catalog)[1:]:
        where = f"{message.context}: {message.id[:50]!r}"
        (report.stale if message.fuzzy else report.missing if not message.string else []
         ).append(where)
    return report


@dataclass
class Report:
    missing: list[str]
    stale: list[str]


def translated(path: Path, language: str, locales: Path = LOCALES
               ) -> tuple[nbformat.NotebookNode, Report]:
    """The notebook in `language`, and what is missing or stale (left in English)."""
    notebook = nbformat.read(path, as_version=4)
    catalog = load(catalog_path(language, path, locales), language)
    report = Report([], [])

    def lookup(cell_id: str, text: str, typeset=None) -> str:
        message = catalog.get(text, context=cell_id)
        if message is None or not message.string:
            report.missing.append(f"{path.stem} cell {cell_id}: {text[:50]!r}")
            return text
        if message.fuzzy:
            report.stale.append(f"{path.stem} cell {cell_id}: {text[:50]!r}")
            return text
        if typeset is None or message.string == text:   # a command line, say: code
            return message.string
        return typeset(message.string)

    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = lookup(cell.id, cell.source, bind_markdown)
        elif cell.cell_type == "code":
            source = cell.source
            for piece in reversed(code_pieces(source)):
                # a string's words are typeset (its fields are code); a comment is left as it is
                typeset = None if piece.text.startswith("#") else bind
                source = source[:piece.start] + lookup(cell.id, piece.text, typeset) + \
                    source[piece.end:]
            cell.source = source
            cell.outputs, cell.execution_count = [], None
    return notebook, report


def build(language: str, folder: Path = ENGLISH, locales: Path = LOCALES) -> Report:
    """Write notebooks/<language>/ from the catalogs, keeping outputs of an unchanged cell."""
    total = Report([], [])
    for path in english_notebooks(folder):
        notebook, report = translated(path, language, locales)
        target = folder / language / path.name
        if target.exists():  # keep the outputs of cells whose source did not change
            old = {c.id: c for c in nbformat.read(target, as_version=4).cells}
            for cell in notebook.cells:
                if cell.id in old and old[cell.id].source == cell.source \
                        and cell.cell_type == "code":
                    cell.outputs = old[cell.id].outputs
                    cell.execution_count = old[cell.id].execution_count
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        total.missing += report.missing
        total.stale += report.stale
    return total


def typeset_docs(language: str, write: bool) -> list[str]:
    """docs/<language>/*.md with the typography rule applied (written when `write`); returns the
    pages that were not typeset yet."""
    changed = []
    for page in sorted((ROOT / "docs" / language).glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if (typeset := bind_markdown(text)) != text:
            changed.append(str(page.relative_to(ROOT)))
            if write:
                page.write_text(typeset, encoding="utf-8")
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("update", "build", "check"))
    parser.add_argument("--language", default="cs", choices=LANGUAGES)
    args = parser.parse_args()
    if args.command == "update":
        update(args.language)
        print(f"locale/{args.language}/: catalogs brought up to the English notebooks")
        return 0
    report = untranslated_helpers(args.language)
    untypeset = typeset_docs(args.language, write=args.command == "build")
    if args.command == "build":
        built = build(args.language)
        report.missing += built.missing
        report.stale += built.stale
    else:
        for path in english_notebooks():
            found = translated(path, args.language)[1]
            report.missing += found.missing
            report.stale += found.stale
    for what, items in (("missing (shown in English)", report.missing),
                        ("stale: the English changed (shown in English)", report.stale)):
        if items:
            print(f"{len(items)} translation(s) {what}:", *items, sep="\n  ")
    if args.command == "build":
        print(f"notebooks/{args.language}/ written" +
              (f"; typography applied to {', '.join(untypeset)}" if untypeset else ""))
    elif untypeset:
        print("not typeset (run make translations):", *untypeset, sep="\n  ")
    return 1 if args.command == "check" and (report.missing or report.stale or untypeset) else 0


if __name__ == "__main__":
    sys.exit(main())
