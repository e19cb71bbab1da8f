"""The notebook's language, for what the kit itself prints: Czech in notebooks/cs/ (the kernel
runs in its notebook's folder), else English. Translations: locale/cs/helpers.po.

Czech typography is applied by rule, never by hand: a one-letter word (k, s, v, z, o, u, a, i)
is bound to the next word with a no-break space, and numbers take the language's own form
(`0,5`, `67 %`) through Babel. The Czech edition's build (scripts/translations.py) and tr() use
the same functions."""

from __future__ import annotations

import functools
import re
from pathlib import Path

CATALOG = Path(__file__).resolve().parent.parent / "locale" / "cs" / "helpers.po"
NBSP = "\u00a0"
# A one-letter Czech word (preposition or conjunction) at a word's start, then a plain space, or
# a line break before a line that goes on with a word: the break a Czech typesetter never allows.
ONE_LETTER = re.compile(r"(?<![^\s(„\[\"'])([kKsSvVzZoOuUaAiI])(?: (?=\S)|\n[ \t]*(?=[^\W\d_]|[„(`]))")
UNBOUND = re.compile(r"(?<![^\s(„\[\"'])[kKsSvVzZoOuUaAiI] (?=\S)")
"""What the tests look for: a one-letter word still followed by a plain space."""
# Markdown that stays as it is: code blocks and spans, links and pictures, HTML tags.
MARKDOWN_KEPT = re.compile(r"```.*?```|`[^`\n]*`|!?\[[^\]\n]*\]\([^)\n]*\)|<[^>\n]+>", re.DOTALL)
FIELDS = re.compile(r"\{[^{}]*\}")   # a format string's fields: code, never touched


@functools.cache
def _czech() -> dict[str, str]:
    from babel.messages.pofile import read_po
    with open(CATALOG, "rb") as po:
        return {m.id: bind(m.string) for m in read_po(po) if m.id and m.string and not m.fuzzy}


def language() -> str:
    """"cs" in a Czech notebook (its kernel runs in notebooks/cs/), else "en"."""
    return "cs" if Path.cwd().name == "cs" else "en"


def translate(text: str, to: str) -> str:
    """`text` in the language `to` ("en" or "cs"; English where no translation exists)."""
    return _czech().get(text, text) if to == "cs" and CATALOG.exists() else text


def tr(text: str) -> str:
    """`text` in the language of the running notebook."""
    return translate(text, language())


def _outside(text: str, kept: re.Pattern) -> str:
    spans = [m.span() for m in kept.finditer(text)]

    def one(match: re.Match) -> str:
        inside = any(start <= match.start() < end for start, end in spans)
        return match.group(0) if inside else match.group(1) + NBSP
    return ONE_LETTER.sub(one, text)


def bind(text: str) -> str:
    """A Czech sentence with each one-letter word bound to the next (format fields untouched)."""
    return _outside(text, FIELDS)


def bind_markdown(text: str) -> str:
    """As bind(), for a markdown cell or page: code, links and HTML stay as they are, and a
    line that ends in a one-letter word is joined to the next (a soft break is a space too)."""
    return _outside(text, MARKDOWN_KEPT)


def number(value: float, digits: int = 1) -> str:
    """A decimal as the notebook's language writes it: 0.5 in English, 0,5 in Czech."""
    from babel.numbers import format_decimal
    pattern = "0." + "0" * digits if digits else "0"
    return format_decimal(value, format=pattern, locale=language())


def percent(share: float) -> str:
    """A share as a percentage in the notebook's language: 67% in English, 67 % in Czech."""
    from babel.numbers import format_percent
    return format_percent(share, locale=language())
