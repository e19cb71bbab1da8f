"""The notebook's language, for what the kit itself prints: Czech in notebooks/cs/ (the kernel
runs in its notebook's folder), else English. Translations: locale/cs/helpers.po."""

from __future__ import annotations

import functools
from pathlib import Path

CATALOG = Path(__file__).resolve().parent.parent / "locale" / "cs" / "helpers.po"


@functools.cache
def _czech() -> dict[str, str]:
    from babel.messages.pofile import read_po
    with open(CATALOG, "rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id and m.string and not m.fuzzy}


def tr(text: str) -> str:
    """`text` in the language of the running notebook (English where no translation exists)."""
    return _czech().get(text, text) if Path.cwd().name == "cs" and CATALOG.exists() else text
