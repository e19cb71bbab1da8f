"""The committed notebooks: no secret in their outputs, clean metadata, few unchecked outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
KEY_LIKE = re.compile(r"[A-Za-z0-9+/]{86}==")  # a 64-byte account key in base64, as both use
MAX_IGNORED = 3


def outputs(path: Path) -> str:
    """The text of every output (images left out: their base64 is not text a key could hide in)."""
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [v for k, v in output.get("data", {}).items() if not k.startswith("image/")]
    return json.dumps(texts, ensure_ascii=False)


def test_there_are_notebooks() -> None:
    assert [p.name[:2] for p in NOTEBOOKS][:9] == [f"0{i}" for i in range(9)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_hold_no_key_or_sas_signature(path: Path) -> None:
    text = outputs(path)
    assert "sig=" not in text
    assert not KEY_LIKE.search(text)
    assert "AccountKey=" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_metadata_is_clean(path: Path) -> None:
    notebook = json.loads(path.read_text())
    assert set(notebook["metadata"]) <= {"kernelspec", "language_info"}
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    for cell in notebook["cells"]:
        assert "execution" not in cell.get("metadata", {})
        for output in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {})


def test_every_code_cell_was_executed() -> None:
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code" and "".join(cell["source"]).strip() != "# Your code here":
                assert cell["execution_count"], f"{path.name}: a cell was not run"


def test_unchecked_outputs_are_few_and_explained() -> None:
    ignored = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if "NBVAL_IGNORE_OUTPUT" in source:
                first = source.splitlines()[0]
                assert re.match(r"# NBVAL_IGNORE_OUTPUT: \w", first), f"{path.name}: no reason"
                ignored.append(path.name)
            assert "NBVAL_SKIP" not in source, f"{path.name}: a skipped cell"
    assert 0 < len(ignored) <= MAX_IGNORED, ignored


def test_the_key_pattern_finds_a_real_key() -> None:
    from localbatch.statedir import _random_key
    assert KEY_LIKE.search(f'"text": ["key {_random_key()} here"]')
