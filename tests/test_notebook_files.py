"""The committed notebooks: no secret or temporary path in their outputs, stable metadata, a
check and an exercise with a hidden solution in every step, nbval directives as tags."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from notebook_metadata import KERNELSPEC, LANGUAGE_INFO, normalise

from tests.pools import INSTALL_FFMPEG

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KEY_LIKE = re.compile(r"[A-Za-z0-9+/]{86}==")  # a 64-byte account key in base64, as both use
TOKEN_LIKE = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")  # a JWT: an Entra token


def outputs(path: Path) -> str:
    """The text of every output (images and embedded media left out: their base64 is not text
    a key could hide in)."""
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [v for k, v in output.get("data", {}).items() if not k.startswith("image/")]
    # An embedded player's data: URI is media, not text (its base64 may end in "==" too).
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,…", json.dumps(texts, ensure_ascii=False))


def test_there_are_notebooks() -> None:
    assert [p.name[:2] for p in NOTEBOOKS][:9] == [f"0{i}" for i in range(9)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_hold_no_key_or_sas_signature(path: Path) -> None:
    text = outputs(path)
    assert "sig=" not in text
    assert not KEY_LIKE.search(text)
    assert not TOKEN_LIKE.search(text)
    assert "AccountKey=" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_metadata_is_what_jupyterlab_writes_less_the_python_version(path: Path) -> None:
    notebook = json.loads(path.read_text())
    assert notebook["metadata"] == {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    for cell in notebook["cells"]:
        assert "execution" not in cell.get("metadata", {})
        for output in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_git_filter_leaves_a_committed_notebook_as_it_is(path: Path) -> None:
    cleaned = subprocess.run([sys.executable, str(ROOT / "scripts" / "notebook_metadata.py")],
                             input=path.read_text(), capture_output=True, text=True, check=True)
    assert cleaned.stdout == path.read_text()


def test_the_git_filter_drops_what_jupyterlab_adds_on_open() -> None:
    notebook = json.loads(NOTEBOOKS[0].read_text())
    notebook["metadata"]["language_info"]["version"] = "3.12.1"
    notebook["metadata"]["kernelspec"]["display_name"] = "Python 3"
    notebook["cells"][0]["metadata"]["execution"] = {"iopub.status.idle": "2026-01-01"}
    assert normalise(notebook) == json.loads(NOTEBOOKS[0].read_text())


def test_every_code_cell_was_executed() -> None:
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code" and "".join(cell["source"]).strip() != "# Your code here":
                assert cell["execution_count"], f"{path.name}: a cell was not run"


def test_nbval_directives_are_tags_and_few() -> None:
    """Outputs that differ from run to run and cannot be sanitised: the progress bar (it redraws
    as tasks finish), the audio player (it embeds the MP3) and the tasks per node, in 06's
    exercise and 09's first answer (which node runs which task is up to the scheduler); in 11,
    the pool's size over time and its plot (when an evaluation falls against the queue), the
    working-hours answer (it depends on the hour it runs) and the share of samples the failing
    formula found. Nothing is skipped."""
    ignored = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            assert "NBVAL" not in "".join(cell["source"]).upper(), f"{path.name}: a comment"
            tags = cell["metadata"].get("tags", [])
            assert "nbval-skip" not in tags, f"{path.name}: a skipped cell"
            if "nbval-ignore-output" in tags:
                ignored.append(path.stem)
    assert sorted(ignored) == ["06_monitor_tasks", "06_monitor_tasks", "07_download_outputs",
                               "09_explore_timings", *["11_autoscale"] * 4]


def solutions(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"]
            if "solution" in c["metadata"].get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_step_ends_with_a_check_and_an_exercise_with_a_hidden_solution(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    assert any(c["cell_type"] == "code" and "✓" in s for c, s in zip(cells, sources)), "no check"
    assert any(s.startswith("### Exercise") for s in sources), "no exercise"
    assert "# Your code here" in sources
    assert solutions(path), "no solution"
    for cell in solutions(path):
        assert cell["cell_type"] == "code"
        assert cell["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
        assert "".join(cell["source"]).startswith(("# Solution", "# Answer"))
        assert cell["execution_count"] and cell["outputs"], "solutions run under nbval too"


def test_every_solution_like_cell_is_tagged() -> None:
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if "".join(cell["source"]).startswith(("# Solution", "# Answer")):
                assert "solution" in cell["metadata"].get("tags", []), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_hold_no_temporary_path(path: Path) -> None:
    assert not re.search(r"/tmp/|/var/folders/|batch-notebooks-", outputs(path))


def test_the_key_pattern_finds_a_real_key() -> None:
    from localbatch.statedir import _random_key
    assert KEY_LIKE.search(f'"text": ["key {_random_key()} here"]')


def test_the_token_pattern_finds_a_jwt() -> None:
    """The shape of an access token from Microsoft Entra ID (header.payload.signature)."""
    import base64

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    token = ".".join([part(b'{"alg":"RS256","typ":"JWT"}'),
                      part(b'{"aud":"https://batch.core.windows.net/","exp":1}'), part(b"x" * 64)])
    assert TOKEN_LIKE.search(f'"text": ["Bearer {token}"]')
    assert not TOKEN_LIKE.search('"text": ["eyJ is how a JWT starts"]')


def helpers_imported(source: str, package: str = "helpers") -> set[str]:
    """The helpers modules a piece of code imports (`from helpers.x import`, `from .x import`)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:   # relative, inside helpers
                name = f"{package}.{name}" if name else package
            if name.startswith("helpers."):
                found.add(name.split(".")[1])
            elif name == "helpers":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("helpers."))
    return found


def test_helpers_holds_only_what_the_notebooks_import() -> None:
    """helpers/ is the notebooks' plumbing: each module is imported by a notebook, or by a
    module they import, the package's own __init__ (which every import runs) included (what
    only the tests or benchmarks use lives with them)."""
    wanted = helpers_imported((ROOT / "helpers" / "__init__.py").read_text())
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                code = "\n".join(line for line in "".join(cell["source"]).splitlines()
                                 if not line.lstrip().startswith(("%", "!")))
                wanted |= helpers_imported(code)
    todo = set(wanted)
    while todo:
        module = ROOT / "helpers" / f"{todo.pop()}.py"
        more = helpers_imported(module.read_text()) - wanted
        wanted |= more
        todo |= more
    assert {p.stem for p in (ROOT / "helpers").glob("*.py")} - {"__init__"} == wanted


TARGET_BRANCH = re.compile(r'settings\.target|RUN_ON_AZURE|==\s*"(azure|local)"|"(azure|local)"\s*==')
# 10's lost node and quota cases, and 11's preemption, which Azure cannot force: said in the text
BRANCH_LIMIT = {"10_when_things_go_wrong": 4, "11_autoscale": 1}


def code_lines(path: Path) -> list[str]:
    return [line for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines()]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS + sorted((ROOT / "notebooks" / "cs")
                                                           .glob("*.ipynb"))),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_one_program_on_both_targets(path: Path) -> None:
    """A learner reads one program: no code line asks which target it runs on, but in 10's two
    cases and 11's one that cannot be made on Azure."""
    branches = [line.strip() for line in code_lines(path) if TARGET_BRANCH.search(line)]
    assert len(branches) <= BRANCH_LIMIT.get(path.stem, 0), branches


def test_the_start_task_is_one_literal_on_both_targets() -> None:
    """03's start task, and 09's and 10's pools, install ffmpeg with the same command line."""
    for stem in ("03_create_pool", "09_explore_timings", "10_when_things_go_wrong"):
        source = "\n".join(code_lines(ROOT / "notebooks" / f"{stem}.ipynb"))
        literal = "".join(ast.literal_eval(part) for part in re.findall(
            r'"/bin/bash -c \'export DEBIAN_FRONTEND[^"]*"\s*(?:"[^"]*"\s*)*', source)[0].split("\n")
            if part.strip())
        assert literal == INSTALL_FFMPEG, stem
